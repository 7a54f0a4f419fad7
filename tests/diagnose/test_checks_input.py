"""Tests of the doctor's checks of the secret identifier."""

from __future__ import annotations

import pytest

from akv_helpers.connection import Connection
from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose
from akv_helpers.diagnose.findings import Finding
from akv_helpers.errors import InvalidSecretIdentifierError
from akv_helpers.identifiers import parse_secret_identifier

VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _finding(
    text: str, finding_id: str, connection: Connection | None = None
) -> Finding:
    return diagnose(connection, DiagnosisInputs(text)).finding(finding_id)


def _parser_fix(text: str) -> str:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)
    return caught.value.fix


BAD_IDENTIFIERS = {
    "malformed": "kv-demo/secrets/db-pass",
    "http": "http://kv-demo.vault.azure.net/secrets/db-pass",
    "keys-path": "https://kv-demo.vault.azure.net/keys/db-pass",
    "extra-segment": f"https://kv-demo.vault.azure.net/secrets/db-pass/{VERSION}/x",
    "short-version": "https://kv-demo.vault.azure.net/secrets/db-pass/0f1e2d3c",
    "underscore": "https://kv-demo.vault.azure.net/secrets/db_password",
    "percent-encoded": "https://kv-demo.vault.azure.net/secrets/db%2Dpass",
    "cyrillic-lookalike": "https://kv-dеmo.vault.azure.net/secrets/db-pass",
}


@pytest.mark.parametrize("text", BAD_IDENTIFIERS.values(), ids=BAD_IDENTIFIERS.keys())
def test_format_failed(text: str) -> None:
    finding = _finding(text, "identifier.format")

    assert finding.status is Status.FAILED
    assert finding.fix == _parser_fix(text)
    assert finding.fix


def test_format_failed_names_input() -> None:
    text = BAD_IDENTIFIERS["underscore"]

    finding = _finding(text, "identifier.format")

    assert "db_password" in finding.observed
    assert "db-password" in finding.fix


def test_format_ok_with_version(connection: Connection) -> None:
    text = f"https://kv-demo.vault.azure.net/secrets/db-pass/{VERSION}"

    finding = _finding(text, "identifier.format", connection)

    assert finding.status is Status.OK
    assert VERSION in finding.observed
    assert finding.fix == ""


def test_managed_hsm_failed() -> None:
    text = "https://hsm-demo.managedhsm.azure.net/secrets/db-pass"

    diagnosis = diagnose(None, DiagnosisInputs(text))
    finding = diagnosis.finding("identifier.managed-hsm")

    assert finding.status is Status.FAILED
    assert "Managed HSM" in finding.observed
    assert "vault.azure.net" in finding.fix
    assert diagnosis.finding("identifier.format").status is Status.NOT_APPLICABLE


def test_managed_hsm_ok() -> None:
    finding = _finding(
        "https://kv-demo.vault.azure.net/secrets/db-pass", "identifier.managed-hsm"
    )

    assert finding.status is Status.OK


def test_cloud_failed(connection: Connection) -> None:
    text = "https://kv-demo.vault.azure.cn/secrets/db-pass"

    finding = _finding(text, "identifier.cloud", connection)

    assert finding.status is Status.FAILED
    assert "AzureChinaCloud" in finding.observed
    assert "AzureCloud" in finding.observed
    assert "az cloud set --name AzureChinaCloud" in finding.fix
    assert finding.evidence["signed-in cloud"] == "AzureCloud"


def test_cloud_ok(connection: Connection) -> None:
    text = "https://kv-demo.vault.azure.net/secrets/db-pass"

    finding = _finding(text, "identifier.cloud", connection)

    assert finding.status is Status.OK


def test_cloud_offline_could_not_check() -> None:
    finding = _finding(
        "https://kv-demo.vault.azure.net/secrets/db-pass", "identifier.cloud"
    )

    assert finding.status is Status.COULD_NOT_CHECK
    assert "not signed in" in finding.observed


def test_case_warning_name() -> None:
    finding = _finding(
        "https://kv-demo.vault.azure.net/secrets/DB-Pass", "identifier.case"
    )

    assert finding.status is Status.WARNING
    assert "DB-Pass" in finding.observed
    assert "/etc/flyte/secrets/db-pass" in finding.observed
    assert 'secrets.get("db-pass")' in finding.fix


def test_case_warning_version() -> None:
    text = f"https://kv-demo.vault.azure.net/secrets/db-pass/{VERSION.upper()}"

    finding = _finding(text, "identifier.case")

    assert finding.status is Status.WARNING
    assert f'group_version="{VERSION}"' in finding.fix


def test_case_ok_uppercase_host() -> None:
    finding = _finding(
        "https://KV-DEMO.vault.azure.net/secrets/db-pass", "identifier.case"
    )

    assert finding.status is Status.OK
    assert "host" in finding.observed
