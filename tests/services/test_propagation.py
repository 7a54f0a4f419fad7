"""Waiting for a fresh grant to take effect, against the simulator."""

from __future__ import annotations

import pytest

from akv_helpers.assignments import grant, plan_grant
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.propagation import PROPAGATION_WINDOW_SECONDS, wait_for_access
from akv_helpers.vaults import find_vault

PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"


def _plan(connection: Connection):  # type: ignore[no-untyped-def]
    vault = find_vault(connection, "kv-demo")
    return plan_grant(connection.subscription_id, vault, "db-pass", PRINCIPAL), vault


def _assignment_count(sim: SimulatorEndpoint) -> int:
    return len(sim.state()["role_assignments"])


def test_propagation_window_is_ten_minutes() -> None:
    assert PROPAGATION_WINDOW_SECONDS == 600.0


def test_wait_until_readable(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("grant-propagating")
    fresh_sim.configure(propagation_seconds=1.0)
    plan, vault = _plan(connection)
    before = _assignment_count(fresh_sim)
    lines: list[str] = []

    result = wait_for_access(
        connection,
        plan,
        timeout=10,
        progress=lines.append,
        vault_url=vault.vault_uri,
        first_delay=0.2,
    )

    assert result.status == "readable"
    assert result.attempts >= 2
    assert any("Waiting for the grant to take effect" in line for line in lines)
    assert _assignment_count(fresh_sim) == before
    assert "AKVSIM-CANARY" not in repr(result)


def test_wait_times_out(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    fresh_sim.apply_scenario("grant-propagating")
    plan, _ = _plan(connection)
    before = _assignment_count(fresh_sim)

    result = wait_for_access(connection, plan, timeout=0.5, first_delay=0.1)

    assert result.status == "timed out"
    assert result.inner_code == "ForbiddenByRbac"
    assert result.assignment_age_seconds is not None
    assert result.assignment_age_seconds < PROPAGATION_WINDOW_SECONDS
    assert "do not create another assignment" in result.message
    assert _assignment_count(fresh_sim) == before


def test_wait_without_grant(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    plan, _ = _plan(connection)

    result = wait_for_access(connection, plan, timeout=5, first_delay=0.1)

    assert result.status == "denied"
    assert result.attempts == 1
    assert "grant the role first" in result.message


def test_wait_healthy_reads_at_once(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("healthy")
    plan, _ = _plan(connection)

    result = wait_for_access(connection, plan, timeout=5)

    assert result.readable
    assert result.attempts == 1


def test_wait_azure_mode_unknown(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("grant-propagating")
    plan, _ = _plan(connection)
    # The same connection without the simulator is what Azure mode looks like
    # to wait_for_access: it may list assignments but not act as the identity.
    connection.simulator, saved = None, connection.simulator
    try:
        result = wait_for_access(connection, plan, timeout=5)
    finally:
        connection.simulator = saved

    assert result.status == "unknown"
    assert result.attempts == 0
    assert result.assignment_age_seconds is not None
    assert "cannot sign in as the identity" in result.message


@pytest.mark.parametrize("timeout", [0.0])
def test_wait_zero_timeout(
    fresh_sim: SimulatorEndpoint, connection: Connection, timeout: float
) -> None:
    fresh_sim.apply_scenario("grant-propagating")
    plan, _ = _plan(connection)
    assert wait_for_access(connection, plan, timeout=timeout).attempts == 1


def test_wait_vault_wide_grant_propagating(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.configure(propagation_seconds=PROPAGATION_WINDOW_SECONDS)
    vault = find_vault(connection, "kv-demo")
    plan = plan_grant(
        connection.subscription_id, vault, "db-pass", PRINCIPAL, scope="vault"
    )
    grant(connection, plan)

    result = wait_for_access(connection, plan, timeout=0.5, first_delay=0.1)

    assert result.status == "timed out"
    assert result.assignment_age_seconds is not None


def test_wait_vault_wide_grant_readable(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault = find_vault(connection, "kv-demo")
    plan = plan_grant(
        connection.subscription_id, vault, "db-pass", PRINCIPAL, scope="vault"
    )
    grant(connection, plan)

    result = wait_for_access(connection, plan, timeout=5, first_delay=0.1)

    assert result.status == "readable"
