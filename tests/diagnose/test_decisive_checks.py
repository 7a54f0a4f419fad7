"""Doctor findings on the checks that decide whether the task can read the secret."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from azure.identity import AzureCliCredential, ChainedTokenCredential

from akv_helpers.connection import Connection, SimulatorEndpoint, connect
from akv_helpers.diagnose import Diagnosis, DiagnosisInputs, Status, diagnose
from akv_helpers.diagnose.report import render_markdown, text_blocks
from akv_helpers.profile import Profile
from akv_helpers.roles import SECRETS_USER_ROLE_ID, role_definition_id

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
OLDER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
OPERATOR = "dddddddd-0000-4000-8000-000000000004"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
SECRET_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
IDENTITY_RESOURCE_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)


def run(
    connection: Connection | None, secret: str = SECRET, identity: str | None = None
) -> Diagnosis:
    return diagnose(connection, DiagnosisInputs(secret, identity_text=identity))


@pytest.mark.parametrize(
    ("scenarios", "identity", "secret"),
    [
        pytest.param(["several-identities"], None, SECRET, id="several-identities"),
        pytest.param([], "not_a_name", SECRET, id="unknown-name"),
        pytest.param(
            [],
            None,
            f"{SECRET}/{'0' * 32}",
            id="missing-pinned-version-unlisted",
        ),
    ],
)
def test_unchecked_decisive_exit_one(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    scenarios: list[str],
    identity: str | None,
    secret: str,
) -> None:
    if scenarios:
        fresh_sim.apply_scenarios(scenarios)
    diagnosis = run(connection, secret, identity)

    assert diagnosis.unchecked
    assert diagnosis.exit_code == 1
    assert "No check failed" not in diagnosis.verdict
    count = len(diagnosis.unchecked)
    assert f"{count} check{'' if count == 1 else 's'} that decide" in diagnosis.verdict
    assert "No check failed" not in render_markdown(diagnosis)


def test_healthy_exit_zero(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("healthy")
    diagnosis = run(connection)

    assert diagnosis.exit_code == 0
    assert diagnosis.verdict == "No check failed."


def test_identity_outside_union_naming_used(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    diagnosis = run(connection, identity="ci-deployer")

    assert diagnosis.resolved["principal ID"] == "bbbbbbbb-0000-4000-8000-000000000012"
    assert diagnosis.finding("grant.missing").status is Status.FAILED
    assert not diagnosis.unchecked
    assert diagnosis.finding("identity.wrong-id-kind").status is Status.OK


def test_pinned_enabled_current_disabled(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenarios(["healthy", "secret-disabled"])
    pinned = run(connection, f"{SECRET}/{OLDER}").finding("secret.disabled")
    latest = run(connection).finding("secret.disabled")

    assert pinned.status is Status.OK
    assert "current version" in pinned.observed
    assert latest.status is Status.FAILED


@pytest.mark.parametrize(
    "typed", [CLIENT_ID, IDENTITY_RESOURCE_ID], ids=["client-id", "resource-id"]
)
def test_wrong_id_kind_resolved_warns(
    fresh_sim: SimulatorEndpoint, connection: Connection, typed: str
) -> None:
    fresh_sim.apply_scenario("healthy")
    diagnosis = run(connection, identity=typed)
    finding = diagnosis.finding("identity.wrong-id-kind")

    assert finding.status is Status.WARNING
    assert typed in finding.observed
    assert PRINCIPAL in finding.observed
    assert not diagnosis.failed


def test_not_replicated_after_grant_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenarios(["identity-not-replicated", "healthy"])
    finding = run(connection).finding("grant.principal-not-found")

    assert finding.status is Status.OK
    assert "assignment" in finding.observed


def test_access_policy_reader_warns(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    with_policy = run(connection, identity=OPERATOR)
    without = run(connection, identity=PRINCIPAL)

    assert with_policy.finding("vault.permission-model").status is Status.WARNING
    assert with_policy.finding("grant.missing").status is Status.NOT_APPLICABLE
    assert without.finding("vault.permission-model").status is Status.FAILED
    assert without.finding("grant.missing").status is Status.FAILED


def test_expired_secret_warns(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenarios(["healthy", "secret-expired"])
    finding = run(connection).finding("secret.validity")

    assert finding.status is Status.WARNING
    assert "Key Vault may still serve it" in finding.observed


@pytest.mark.parametrize(
    "host", ["kv-demo.vault.azure.cn", "kv-demo.vault.usgovcloudapi.net"]
)
def test_other_cloud_vault_not_checked(
    fresh_sim: SimulatorEndpoint, connection: Connection, host: str
) -> None:
    fresh_sim.apply_scenario("healthy")
    diagnosis = run(connection, f"https://{host}/secrets/db-pass")

    assert diagnosis.finding("identifier.cloud").status is Status.FAILED
    for check_id in ("vault.not-found", "secret.not-found", "grant.missing"):
        finding = diagnosis.finding(check_id)
        assert finding.status is Status.COULD_NOT_CHECK, check_id
        assert "names another cloud" in finding.observed, check_id


def test_private_link_warns(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenarios(["healthy", "public-access-disabled"])
    finding = run(connection).finding("vault.private-link")

    assert finding.status is Status.WARNING
    assert "private network" in finding.fix
    assert "local" in finding.fix


def test_equivalent_young_assignment_propagating(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.configure(propagation_seconds=600)
    connection.authorization().role_assignments.create(
        SECRET_SCOPE,
        str(uuid.uuid4()),
        {
            "role_definition_id": role_definition_id(
                SECRETS_USER_ROLE_ID, SUBSCRIPTION
            ),
            "principal_id": PRINCIPAL,
            "principal_type": "ServicePrincipal",
        },
    )
    finding = run(connection).finding("grant.propagating")

    assert finding.status is Status.WARNING
    assert "Waiting for the grant" in finding.observed
    assert "does not exist" not in finding.observed


def test_broader_scope_creates_then_deletes(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("grant-vault-scope")
    finding = run(connection).finding("grant.broader-scope")

    assert finding.status is Status.WARNING
    assert finding.commands[0].startswith("az role assignment create")
    assert SECRET_SCOPE in finding.commands[0]
    assert finding.commands[1].startswith("az role assignment delete")
    assert "in that order" in finding.fix


def test_unknown_guid_not_granted(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    unknown = "bbbbbbbb-0000-4000-8000-00000000ffff"
    diagnosis = run(connection, identity=unknown)
    not_found = diagnosis.finding("grant.principal-not-found")
    missing = diagnosis.finding("grant.missing")

    assert not_found.status is Status.FAILED
    assert "matches no identity the kit can see" in not_found.observed
    assert "not new" not in not_found.observed
    assert "client ID" not in not_found.fix
    assert not any("role assignment create" in c for c in missing.commands)


def test_not_signed_in_could_not_check(
    fresh_sim: SimulatorEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    chain = ChainedTokenCredential(AzureCliCredential())
    diagnosis = run(connect(Profile(mode="simulator"), credential=chain))

    for check_id in ("operator.tenant", "identifier.cloud"):
        finding = diagnosis.finding(check_id)
        assert finding.status is Status.COULD_NOT_CHECK, check_id
        assert "not signed in" in finding.observed, check_id


def test_admin_handoff_keeps_code_blocks(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("operator-reader")
    diagnosis = run(connection)
    finding = diagnosis.finding("operator.cannot-assign")
    kinds = [block.kind for block in text_blocks(finding.fix)]
    markdown = render_markdown(diagnosis)

    assert "code" in kinds
    assert '  resource "azurerm_role_assignment" "secret_read" {' in markdown
    assert '    "properties": {' in markdown or '"properties"' in markdown
    assert "  ```\n" in markdown
    assert "Azure CLI: az role assignment create" not in markdown
