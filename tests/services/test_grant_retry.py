"""Retry of PrincipalNotFound for a young identity, through azure-core's policy."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from akv_helpers.assignments import grant, plan_grant
from akv_helpers.connection import Connection, RetrySettings, SimulatorEndpoint, connect
from akv_helpers.errors import BadRequestError
from akv_helpers.profile import Profile
from akv_helpers.retry_policies import PrincipalNotFoundRetryPolicy
from akv_helpers.vaults import find_vault

PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
FAST = RetrySettings(backoff_factor=0.01, principal_not_found_backoff=0.02)


def _connect() -> Connection:
    return connect(Profile(mode="simulator"), retry=FAST)


def _created_at(connection: Connection) -> datetime:
    identity = connection.msi().user_assigned_identities.get(
        "rg-union-dp", "userflyterole"
    )
    assert identity.system_data is not None
    created = identity.system_data.created_at
    assert isinstance(created, datetime)
    return created


def _puts(sim: SimulatorEndpoint) -> list[dict[str, object]]:
    return [
        entry
        for entry in sim.requests()
        if entry["method"] == "PUT" and "roleassignments" in str(entry["path"]).lower()
    ]


def _kit_assignments(sim: SimulatorEndpoint, principal: str) -> list[dict[str, object]]:
    state = sim.state()
    return [
        item
        for item in state["role_assignments"]
        if str(item["principal_id"]).lower() == principal and not item.get("seeded")
    ]


@pytest.mark.parametrize("scenario", ["identity-replicating", "identity-young"])
def test_grant_young_identity_retries(
    fresh_sim: SimulatorEndpoint, scenario: str
) -> None:
    fresh_sim.apply_scenario(scenario)
    connection = _connect()
    created = _created_at(connection)
    assert (datetime.now(timezone.utc) - created).total_seconds() < 3600
    vault = find_vault(connection, "kv-demo")
    plan = plan_grant(
        connection.subscription_id,
        vault,
        "db-pass",
        PRINCIPAL,
        principal_created_at=created,
    )
    fresh_sim.clear_requests()

    result = grant(connection, plan)

    assert result.status == "granted"
    puts = _puts(fresh_sim)
    failed = [entry for entry in puts if entry["error_code"] == "PrincipalNotFound"]
    expected_failures = 2 if scenario == "identity-replicating" else 0
    assert len(failed) == expected_failures
    assert len(puts) == expected_failures + 1
    assert len(_kit_assignments(fresh_sim, PRINCIPAL)) == 1


def test_grant_young_identity_bounded(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("identity-replicating")
    fresh_sim.configure(replication_attempts_remaining=50)
    connection = _connect()
    vault = find_vault(connection, "kv-demo")
    plan = plan_grant(
        connection.subscription_id,
        vault,
        "db-pass",
        PRINCIPAL,
        principal_created_at=_created_at(connection),
    )
    fresh_sim.clear_requests()

    with pytest.raises(BadRequestError) as caught:
        grant(connection, plan)

    assert caught.value.code == "PrincipalNotFound"
    assert "retried" in caught.value.message
    assert len(_puts(fresh_sim)) == 1 + FAST.principal_not_found
    assert _kit_assignments(fresh_sim, PRINCIPAL) == []


def test_grant_old_identity_no_retry(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("identity-old-wrong-id")
    connection = _connect()
    created = _created_at(connection)
    vault = find_vault(connection, "kv-demo")
    # The client ID typed where the principal ID belongs.
    plan = plan_grant(
        connection.subscription_id,
        vault,
        "db-pass",
        CLIENT_ID,
        principal_created_at=created,
    )
    fresh_sim.clear_requests()

    with pytest.raises(BadRequestError) as caught:
        grant(connection, plan)

    assert caught.value.code == "PrincipalNotFound"
    assert "did not retry" in caught.value.message
    assert "client ID" in caught.value.fix
    assert "principal ID" in caught.value.fix
    assert len(_puts(fresh_sim)) == 1


def test_grant_unknown_age_no_retry(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("identity-replicating")
    connection = _connect()
    vault = find_vault(connection, "kv-demo")
    plan = plan_grant(connection.subscription_id, vault, "db-pass", PRINCIPAL)
    fresh_sim.clear_requests()

    with pytest.raises(BadRequestError):
        grant(connection, plan)

    assert len(_puts(fresh_sim)) == 1


def test_authorization_client_policy(connection: Connection) -> None:
    policy = connection.authorization()._config.retry_policy
    assert isinstance(policy, PrincipalNotFoundRetryPolicy)
    assert policy.total_retries == connection.retry.total
