"""Faults injected in the simulator, survived through the kit's service functions.

Every case runs the real SDK clients against the simulator with small retry
backoffs and a short read timeout, set through the kit's own `RetrySettings`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from akv_helpers.assignments import grant, plan_grant, revoke, verify
from akv_helpers.connection import (
    Connection,
    RetrySettings,
    SimulatorEndpoint,
    azure_errors,
    connect,
)
from akv_helpers.errors import AzureRequestError, KitError
from akv_helpers.grant_plan import GrantPlan
from akv_helpers.identities import find_identities
from akv_helpers.profile import Profile
from akv_helpers.propagation import wait_for_access
from akv_helpers.vaults import find_vault, get_secret_info

pytestmark = pytest.mark.xdist_group("faults")

PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
# Every request of these tests has this read timeout, not only the slow ones,
# and several tests count attempts exactly. On a two-core machine running
# the whole suite, the simulator responded in 57 ms at most (20,000 reads),
# so 0.5 s leaves room for a stalled disk on a busy machine.
READ_TIMEOUT = 0.5
FAST = RetrySettings(
    total=3,
    status=3,
    read=3,
    connect=3,
    backoff_factor=0.01,
    backoff_max=0.05,
    read_timeout=READ_TIMEOUT,
    connection_timeout=2.0,
    retry_after_max=1.0,
)
ROUTE_PATHS = {
    "identities.list": ("arm", "GET", "userassignedidentities"),
    "vaults.list": ("arm", "GET", "/vaults"),
    "secrets.get": ("arm", "GET", "/secrets/db-pass"),
    "role_assignments.put": ("arm", "PUT", "roleassignments/"),
    "role_assignments.list": ("arm", "GET", "roleassignments"),
    "role_assignments.delete": ("arm", "DELETE", "roleassignments/"),
    "data.get_secret": ("vault", "GET", "/secrets/db-pass"),
}


@pytest.fixture
def kit(fresh_sim: SimulatorEndpoint) -> Connection:
    """Connect with fast retries to a freshly reset simulator."""
    return connect(Profile(mode="simulator"), retry=FAST)


def _plan(connection: Connection) -> GrantPlan:
    vault = find_vault(connection, "kv-demo")
    return plan_grant(connection.subscription_id, vault, "db-pass", PRINCIPAL)


def _attempts(sim: SimulatorEndpoint, route: str) -> list[dict[str, Any]]:
    host, method, fragment = ROUTE_PATHS[route]
    found = []
    for entry in sim.requests():
        on_host = (entry["host"] == "arm") == (host == "arm")
        path = str(entry["path"]).lower()
        # Key Vault's first request per vault has no token, to get the challenge.
        challenge = entry["error_code"] == "Unauthorized" and not entry["fault"]
        if challenge:
            continue
        if on_host and entry["method"] == method and fragment in path:
            if route == "role_assignments.list" and not path.endswith(
                "roleassignments"
            ):
                continue
            found.append(entry)
    return found


def _wait_for_log(sim: SimulatorEndpoint, route: str, expected: int) -> None:
    # A slow response is logged only once its delay is over.
    deadline = time.monotonic() + 3.0
    while len(_attempts(sim, route)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)


def _kit_assignments(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if str(item["principal_id"]).lower() == PRINCIPAL and not item.get("seeded")
    ]


def _run_identities(connection: Connection, plan: GrantPlan) -> object:
    found = find_identities(connection)
    assert [item.name for item in found] == ["userflyterole"]
    return found


def _run_vaults(connection: Connection, plan: GrantPlan) -> object:
    vault = find_vault(connection, "kv-demo")
    assert vault.rbac_enabled
    return vault


def _run_secret_info(connection: Connection, plan: GrantPlan) -> object:
    info = get_secret_info(connection, find_vault(connection, "kv-demo"), "db-pass")
    assert info.name == "db-pass"
    return info


def _run_grant(connection: Connection, plan: GrantPlan) -> object:
    result = grant(connection, plan)
    assert result.status in ("granted", "already granted")
    assert result.assignment_id == plan.assignment_id
    return result


def _run_verify(connection: Connection, plan: GrantPlan) -> object:
    result = verify(connection, plan)
    assert result.granted
    return result


def _run_revoke(connection: Connection, plan: GrantPlan) -> object:
    result = revoke(connection, plan)
    assert result.deleted
    return result


def _run_identity_read(connection: Connection, plan: GrantPlan) -> object:
    vault = find_vault(connection, "kv-demo")
    waited = wait_for_access(
        connection, plan, timeout=2.0, vault_url=vault.vault_uri, first_delay=0.05
    )
    assert waited.status == "readable", waited.message
    return waited


OPERATIONS: dict[str, Callable[[Connection, GrantPlan], object]] = {
    "identities.list": _run_identities,
    "vaults.list": _run_vaults,
    "secrets.get": _run_secret_info,
    "role_assignments.put": _run_grant,
    "role_assignments.list": _run_verify,
    "role_assignments.delete": _run_revoke,
    "data.get_secret": _run_identity_read,
}
# Routes whose operation needs the kit's assignment to exist first.
NEEDS_GRANT = {"role_assignments.list", "role_assignments.delete", "data.get_secret"}

RECOVERED = [
    (route, kind)
    for route in OPERATIONS
    for kind in ("429", "500", "503", "reset", "slow", "expired-token")
] + [
    ("role_assignments.put", "drop-after-commit"),
    ("role_assignments.delete", "drop-after-commit"),
]


def _inject(sim: SimulatorEndpoint, route: str, kind: str, count: int) -> None:
    extra: dict[str, Any] = {}
    if kind == "429":
        extra["retry_after"] = 0.05
    if kind == "slow":
        extra["delay"] = READ_TIMEOUT * 2.5
    sim.inject_fault(route, kind, count=count, **extra)


@pytest.mark.parametrize(
    ("route", "kind"), RECOVERED, ids=[f"{r}-{k}" for r, k in RECOVERED]
)
def test_fault_retried_then_succeeds(
    kit: Connection, fresh_sim: SimulatorEndpoint, route: str, kind: str
) -> None:
    plan = _plan(kit)
    if route in NEEDS_GRANT:
        grant(kit, plan)
    fresh_sim.clear_requests()
    _inject(fresh_sim, route, kind, count=1)

    OPERATIONS[route](kit, plan)

    _wait_for_log(fresh_sim, route, 2)
    attempts = _attempts(fresh_sim, route)
    faulted = [entry for entry in attempts if entry["fault"] == kind]
    assert len(faulted) == 1
    assert len(attempts) == 2
    granted = route in NEEDS_GRANT or route == "role_assignments.put"
    expected = 0 if route == "role_assignments.delete" or not granted else 1
    assert len(_kit_assignments(fresh_sim)) == expected
    _record(route, kind, len(attempts) - 1, "succeeded")


GIVE_UP = [
    ("identities.list", "503", "list the managed identities"),
    ("vaults.list", "429", "list the key vaults"),
    ("secrets.get", "500", "read the secret"),
    ("role_assignments.put", "503", "create the role assignment"),
    ("role_assignments.put", "reset", "create the role assignment"),
    ("role_assignments.put", "slow", "create the role assignment"),
    ("role_assignments.list", "429", "list the role assignments"),
    ("role_assignments.delete", "500", "delete the role assignment"),
    ("role_assignments.delete", "reset", "delete the role assignment"),
]


@pytest.mark.parametrize(
    ("route", "kind", "action"), GIVE_UP, ids=[f"{r}-{k}" for r, k, _ in GIVE_UP]
)
def test_fault_gives_up_with_kit_error(
    kit: Connection, fresh_sim: SimulatorEndpoint, route: str, kind: str, action: str
) -> None:
    plan = _plan(kit)
    if route in NEEDS_GRANT:
        grant(kit, plan)
    before = _kit_assignments(fresh_sim)
    fresh_sim.clear_requests()
    _inject(fresh_sim, route, kind, count=50)

    with pytest.raises(AzureRequestError) as caught:
        OPERATIONS[route](kit, plan)

    error = caught.value
    assert action in error.message
    assert "retry budget" in error.message
    assert "run the step again" in error.fix
    if kind not in ("reset", "slow"):
        assert kind in error.message
    _wait_for_log(fresh_sim, route, FAST.total + 1)
    attempts = _attempts(fresh_sim, route)
    assert len(attempts) == FAST.total + 1
    if route == "role_assignments.put" and kind == "slow":
        # Each timed-out PUT was still applied, under the same name: one
        # assignment, which the next run finds.
        assert len(_kit_assignments(fresh_sim)) == 1
        fresh_sim.clear_faults()
        assert grant(kit, plan).status == "already granted"
        outcome = "gave up; applied once, next run already granted"
    else:
        assert _kit_assignments(fresh_sim) == before
        outcome = "gave up, no change"
    _record(route, kind, len(attempts) - 1, outcome)


def test_drop_after_commit_next_run_already_granted(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    plan = _plan(kit)
    fresh_sim.clear_requests()
    fresh_sim.inject_fault(
        "role_assignments.put", "drop-after-commit", count=FAST.total + 1
    )

    with pytest.raises(AzureRequestError) as caught:
        grant(kit, plan)

    assert "retry budget" in caught.value.message
    committed = _kit_assignments(fresh_sim)
    assert [item["name"] for item in committed] == [plan.assignment_name]
    puts = _attempts(fresh_sim, "role_assignments.put")
    assert [entry["status"] for entry in puts] == [201, 200, 200, 200]

    again = grant(kit, plan)

    assert again.status == "already granted"
    assert again.assignment_id == plan.assignment_id
    assert len(_kit_assignments(fresh_sim)) == 1
    _record(
        "role_assignments.put",
        "drop-after-commit x4",
        len(puts) - 1,
        "next run: already granted",
    )


@pytest.mark.parametrize(
    ("route", "status", "code"),
    [
        ("role_assignments.put", 409, "Conflict"),
        ("role_assignments.put", 400, "InvalidRequest"),
        ("vaults.list", 403, "AuthorizationFailed"),
    ],
)
def test_final_status_not_retried(
    kit: Connection, fresh_sim: SimulatorEndpoint, route: str, status: int, code: str
) -> None:
    plan = _plan(kit)
    fresh_sim.clear_requests()
    # azure-core alone retries any status sent with Retry-After; the kit does not.
    fresh_sim.inject_fault(
        route, "status", status=status, code=code, retry_after=0.05, count=5
    )

    with pytest.raises(KitError) as caught:
        OPERATIONS[route](kit, plan)

    assert str(status) in str(caught.value)
    assert len(_attempts(fresh_sim, route)) == 1
    assert _kit_assignments(fresh_sim) == []
    _record(route, f"{status} {code}", 0, "final, not retried")


def test_retry_after_beyond_max_gives_up(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    fresh_sim.inject_fault("vaults.list", "429", retry_after=3600, count=1)
    started = time.monotonic()

    with pytest.raises(AzureRequestError) as caught:
        find_vault(kit, "kv-demo")

    assert time.monotonic() - started < 2
    assert "3600" in caught.value.message
    assert len(_attempts(fresh_sim, "vaults.list")) == 1


def test_expired_token_beyond_retry_is_sign_in_error(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    fresh_sim.inject_fault("vaults.list", "expired-token", count=2)

    with pytest.raises(KitError) as caught:
        find_vault(kit, "kv-demo")

    assert "ExpiredAuthenticationToken" in str(caught.value)
    assert "Sign in again" in caught.value.fix
    assert "already fetched a new one and retried" in caught.value.fix
    assert "akv-onboard simulator start" in caught.value.fix
    assert len(_attempts(fresh_sim, "vaults.list")) == 2
    assert find_vault(kit, "kv-demo").name == "kv-demo"


def test_fraction_fault_is_seeded(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    applied = []
    for _ in range(2):
        fresh_sim.clear_faults()
        fresh_sim.inject_fault("vaults.list", "503", fraction=0.5, seed=7)
        fresh_sim.clear_requests()
        for _ in range(4):
            with contextlib.suppress(AzureRequestError):
                find_vault(kit, "kv-demo")
        applied.append([e["fault"] for e in _attempts(fresh_sim, "vaults.list")])
    assert applied[0] == applied[1]
    assert "503" in applied[0]


def test_identity_read_gives_up_with_kit_error(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    plan = _plan(kit)
    grant(kit, plan)
    vault = find_vault(kit, "kv-demo")
    fresh_sim.clear_requests()
    fresh_sim.inject_fault("data.get_secret", "503", count=50)
    reader = kit.secret_client(str(vault.vault_uri), kit.identity_credential(PRINCIPAL))

    with (
        pytest.raises(AzureRequestError) as caught,
        reader,
        azure_errors("read the secret as the identity"),
    ):
        reader.get_secret("db-pass")

    assert "retry budget" in caught.value.message
    assert len(_attempts(fresh_sim, "data.get_secret")) == FAST.total + 1


SURVIVED: list[tuple[str, str, int, str]] = []


def _record(route: str, kind: str, retries: int, outcome: str) -> None:
    SURVIVED.append((route, kind, retries, outcome))


@pytest.fixture(scope="module", autouse=True)
def survived_table() -> Iterator[None]:
    """Print the faults survived (kind, route, retries, outcome) under ``-s``."""
    yield
    for route, kind, retries, outcome in SURVIVED:
        print(f"fault {kind:22} {route:24} retried {retries}: {outcome}")


def test_wait_for_access_gives_up_on_503(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    plan = _plan(kit)
    grant(kit, plan)
    fresh_sim.inject_fault("data.get_secret", "503", count=10)

    with pytest.raises(AzureRequestError) as caught:
        wait_for_access(kit, plan, timeout=5)

    assert caught.value.status == 503
    assert "retry budget" in str(caught.value)
    assert len(_kit_assignments(fresh_sim)) == 1


def test_wait_for_access_gives_up_on_reset(
    kit: Connection, fresh_sim: SimulatorEndpoint
) -> None:
    plan = _plan(kit)
    grant(kit, plan)
    fresh_sim.inject_fault("data.get_secret", "reset", count=10)

    with pytest.raises(AzureRequestError) as caught:
        wait_for_access(kit, plan, timeout=5)

    assert "no response from Azure" in str(caught.value)


def test_task_run_reports_data_plane_give_up(
    kit: Connection, fresh_sim: SimulatorEndpoint, tmp_path
) -> None:
    from akv_helpers.flyte_task import run_task_locally, write_task_module
    from akv_helpers.identifiers import parse_secret_identifier

    identifier = parse_secret_identifier(
        "https://kv-demo.vault.azure.net/secrets/db-pass"
    )
    grant(kit, _plan(kit))
    module = write_task_module(identifier, tmp_path, pinned=False)
    fresh_sim.inject_fault("data.get_secret", "503", count=10)

    result = run_task_locally(kit, identifier, PRINCIPAL, module)

    assert not result.ok
    assert result.stage == "fetch"
    assert "retry budget" in result.message
    assert "503" in result.message
