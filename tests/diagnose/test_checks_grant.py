"""Grant checks of the doctor, each against its simulator scenario."""

from __future__ import annotations

import pytest

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose

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
