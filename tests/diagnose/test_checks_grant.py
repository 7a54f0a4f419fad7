"""Grant checks of the doctor, each against its simulator scenario."""

from __future__ import annotations

import pytest

from akv_helpers.assignments import grant, plan_grant
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose
from akv_helpers.vaults import find_vault

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"


def _run(connection: Connection, principal: str = PRINCIPAL, wait: float = 0.0):  # type: ignore[no-untyped-def]
    return diagnose(
        connection,
        DiagnosisInputs(SECRET, principal_id=principal),
        wait_for_propagation=wait,
    )


# (scenario, finding id, status, words expected in observed or fix)
CASES = [
    ("healthy", "grant.missing", Status.OK, "Key Vault Secrets User"),
    (None, "grant.missing", Status.FAILED, "az role assignment create"),
    ("grant-reader-role", "grant.role-cannot-read", Status.FAILED, "Key Vault Reader"),
    (
        "grant-contributor-role",
        "grant.role-cannot-read",
        Status.FAILED,
        "control-plane",
    ),
    ("grant-other-secret", "grant.other-resource", Status.FAILED, "api-token"),
    ("grant-other-vault", "grant.other-resource", Status.FAILED, "kv-demo-2"),
    ("grant-vault-scope", "grant.broader-scope", Status.WARNING, "every secret"),
    ("healthy", "grant.broader-scope", Status.OK, "secret itself"),
    ("grant-other-secret", "grant.below-scope", Status.WARNING, "api-token"),
    ("grant-orphaned", "grant.orphaned", Status.WARNING, "eeeeeeee-0000"),
    ("healthy", "grant.orphaned", Status.OK, "none orphaned"),
    ("grant-propagating", "grant.propagating", Status.WARNING, "Waiting for the grant"),
    ("healthy", "grant.propagating", Status.OK, "older than"),
    ("identity-replicating", "grant.principal-not-found", Status.WARNING, "retries"),
    ("healthy", "grant.principal-not-found", Status.OK, "the principal exists"),
    (
        "grant-update-not-permitted",
        "grant.update-not-permitted",
        Status.FAILED,
        "az role assignment delete",
    ),
    ("healthy", "grant.update-not-permitted", Status.OK, "kit's grant"),
]


@pytest.mark.parametrize(
    ("scenario", "finding_id", "status", "words"),
    CASES,
    ids=[f"{case[1]}-{case[0] or 'none'}" for case in CASES],
)
def test_grant_check(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    scenario: str | None,
    finding_id: str,
    status: Status,
    words: str,
) -> None:
    if scenario:
        fresh_sim.apply_scenario(scenario)
    before = len(fresh_sim.state()["role_assignments"])

    finding = _run(connection).finding(finding_id)

    assert finding.status is status, finding.observed
    text = " ".join((finding.observed, finding.fix, *finding.commands))
    assert words in text
    if status in (Status.FAILED, Status.WARNING):
        assert finding.fix
    assert len(fresh_sim.state()["role_assignments"]) == before


def test_principal_not_found_unknown_guid(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("identity-old-wrong-id")
    finding = _run(connection, "bbbbbbbb-0000-4000-8000-0000000000ff").finding(
        "grant.principal-not-found"
    )
    assert finding.status is Status.FAILED
    assert "matches no identity the kit can see" in finding.observed


def test_propagating_wait_succeeds(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("grant-propagating")
    fresh_sim.configure(propagation_seconds=1.0)
    finding = _run(connection, wait=8.0).finding("grant.propagating")
    assert finding.status is Status.OK
    assert "taken effect" in finding.observed


def test_extra_reader_role_with_read_grant(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenarios(["healthy", "grant-reader-role"])

    finding = _run(connection).finding("grant.role-cannot-read")

    assert finding.status is Status.WARNING, finding.observed
    assert "through another assignment" in finding.observed
    assert "Nothing is needed for the task" in finding.fix
    assert "Assign Key Vault Secrets User" not in finding.fix
    assert finding.commands
    assert all(
        command.startswith("az role assignment delete --ids ")
        for command in finding.commands
    )
    assert set(finding.evidence) == {
        command.rsplit(" ", 1)[-1] for command in finding.commands
    }


def test_young_grant_denied_otherwise_no_wait(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault = find_vault(connection, "kv-demo")
    grant(
        connection, plan_grant(connection.subscription_id, vault, "db-pass", PRINCIPAL)
    )
    fresh_sim.apply_scenario("secret-disabled")

    diagnosis = _run(connection, wait=1.0)
    propagating = diagnosis.finding("grant.propagating")

    assert propagating.status is Status.NOT_APPLICABLE, propagating.observed
    assert "denied for another reason" in propagating.observed
    assert "Wait" not in propagating.fix
    assert diagnosis.finding("secret.disabled").status is Status.FAILED
