"""Tests of the doctor's checks of the vault and the secret, against the simulator."""

from __future__ import annotations

import uuid

import pytest
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import Diagnosis, DiagnosisInputs, Status, diagnose
from akv_helpers.roles import KEY_VAULT_READER_ROLE_ID, role_definition_id

SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
OPERATOR_ID = "dddddddd-0000-4000-8000-000000000004"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo"
)
SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
OLDER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CURRENT = "7c4a8d09ca3762af61e59520943dc264"
MISSING = "ffffffffffffffffffffffffffffffff"


def _run(connection: Connection, text: str = SECRET) -> Diagnosis:
    return diagnose(connection, DiagnosisInputs(text))


def _let_operator_read_metadata(connection: Connection) -> None:
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=role_definition_id(
            KEY_VAULT_READER_ROLE_ID, SUBSCRIPTION_ID
        ),
        principal_id=OPERATOR_ID,
        principal_type="User",
    )
    connection.authorization().role_assignments.create(
        VAULT_SCOPE, str(uuid.uuid4()), parameters
    )


def test_vault_not_found_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(
        connection, "https://kv-missing.vault.azure.net/secrets/db-pass"
    ).finding("vault.not-found")

    assert finding.status is Status.FAILED
    assert "kv-missing" in finding.observed
    assert SUBSCRIPTION_ID in finding.fix
    assert any("az keyvault list" in command for command in finding.commands)


def test_vault_not_found_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection).finding("vault.not-found")

    assert finding.status is Status.OK
    assert finding.evidence["vault resource ID"] == VAULT_SCOPE


@pytest.mark.parametrize("variant", ["scenario", "legacy-vault"])
def test_permission_model_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection, variant: str
) -> None:
    if variant == "scenario":
        fresh_sim.apply_scenario("demo-vault-access-policies")
        text = SECRET
    else:
        text = "https://kv-legacy.vault.azure.net/secrets/api-key"

    finding = _run(connection, text).finding("vault.permission-model")

    assert finding.status is Status.FAILED
    assert "access policy" in finding.observed
    assert "--enable-rbac-authorization true" in finding.fix
    assert "az keyvault set-policy" in finding.fix
    assert "--secret-permissions get" in finding.fix
    assert finding.evidence["enableRbacAuthorization"] == "false"
    assert len(finding.commands) == 3


def test_permission_model_fix_names_principal(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")

    finding = _run(connection).finding("vault.permission-model")

    assert "bbbbbbbb-0000-4000-8000-000000000002" in finding.fix


def test_permission_model_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    assert _run(connection).finding("vault.permission-model").status is Status.OK


def test_firewall_failed(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    fresh_sim.apply_scenario("firewall-deny")

    finding = _run(connection).finding("vault.firewall")

    assert finding.status is Status.FAILED
    assert "ForbiddenByFirewall" in finding.observed
    assert finding.evidence["client address"] == "127.0.0.1"
    assert "--ip-address 127.0.0.1" in finding.fix
    assert "Union's cluster egress" in finding.fix


def test_firewall_ok(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    finding = _run(connection).finding("vault.firewall")

    assert finding.status is Status.OK
    assert finding.fix == ""


def test_private_link_warning(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("public-access-disabled")

    diagnosis = _run(connection)
    finding = diagnosis.finding("vault.private-link")

    assert finding.status is Status.WARNING
    assert "ForbiddenByConnection" in finding.observed
    assert "private network" in finding.expected
    assert finding.evidence["publicNetworkAccess"] == "Disabled"
    assert diagnosis.finding("vault.firewall").status is Status.NOT_APPLICABLE
    assert not any(
        f.id.startswith("vault.") and f.status is Status.FAILED
        for f in diagnosis.findings
    )


def test_private_link_ok(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    assert _run(connection).finding("vault.private-link").status is Status.OK


def test_secret_not_found_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    diagnosis = _run(connection, "https://kv-demo.vault.azure.net/secrets/db-pas")
    finding = diagnosis.finding("secret.not-found")

    assert finding.status is Status.FAILED
    assert "db-pas" in finding.observed
    assert "db-pass" in finding.fix
    assert diagnosis.finding("secret.disabled").status is Status.COULD_NOT_CHECK


def test_secret_not_found_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    assert _run(connection).finding("secret.not-found").status is Status.OK


def test_secret_disabled_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("secret-disabled")

    diagnosis = _run(connection)
    finding = diagnosis.finding("secret.disabled")

    assert finding.status is Status.FAILED
    assert "--enabled true" in finding.fix
    assert finding.evidence["attributes.enabled"] == "false"
    assert diagnosis.finding("secret.not-found").status is Status.OK


def test_secret_disabled_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    assert _run(connection).finding("secret.disabled").status is Status.OK


@pytest.mark.parametrize(
    ("scenario", "attribute", "option"),
    [
        ("secret-expired", "exp", "--expires"),
        ("secret-not-yet-valid", "nbf", "--not-before"),
    ],
)
def test_secret_validity_warning(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    scenario: str,
    attribute: str,
    option: str,
) -> None:
    fresh_sim.apply_scenario(scenario)

    finding = _run(connection).finding("secret.validity")

    assert finding.status is Status.WARNING
    assert f"({attribute})" in finding.observed
    assert option in finding.fix
    assert attribute in finding.evidence


def test_secret_validity_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    assert _run(connection).finding("secret.validity").status is Status.OK


def test_version_missing_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    _let_operator_read_metadata(connection)

    finding = _run(connection, f"{SECRET}/{MISSING}").finding("secret.version-missing")

    assert finding.status is Status.FAILED
    assert MISSING in finding.observed
    assert OLDER in finding.observed
    assert CURRENT in finding.observed
    assert SECRET in finding.fix


def test_version_missing_older_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    _let_operator_read_metadata(connection)

    finding = _run(connection, f"{SECRET}/{OLDER}").finding("secret.version-missing")

    assert finding.status is Status.OK
    assert "older" in finding.observed


def test_version_missing_current_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection, f"{SECRET}/{CURRENT}").finding("secret.version-missing")

    assert finding.status is Status.OK


def test_version_missing_could_not_check(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection, f"{SECRET}/{MISSING}").finding("secret.version-missing")

    assert finding.status is Status.COULD_NOT_CHECK
    assert "ForbiddenByRbac" in finding.observed
    assert "az keyvault secret list-versions" in finding.commands[0]


def test_version_missing_latest_not_applicable(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection).finding("secret.version-missing")

    assert finding.status is Status.NOT_APPLICABLE


def test_healthy_run_has_no_failure(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("healthy")

    diagnosis = _run(connection)

    failed = [f.id for f in diagnosis.findings if f.status is Status.FAILED]
    assert failed == []
    assert not diagnosis.failed
    assert diagnosis.resolved["secret scope"] == f"{VAULT_SCOPE}/secrets/db-pass"
    assert diagnosis.mode == "simulator"


def test_firewall_warning_default_deny(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("firewall-allow-client")

    finding = _run(connection).finding("vault.firewall")

    assert finding.status is Status.WARNING
    assert "defaultAction Deny" in finding.observed
    assert "Union's cluster egress" in finding.fix
