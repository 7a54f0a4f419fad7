"""Fixes for the error codes of the grant's PUT, injected in the simulator.

Each case sends the real role-assignment PUT through the Azure SDK to the
simulator, which returns the injected status and error code.
"""

from __future__ import annotations

from typing import Any

import pytest

from akv_helpers.assignments import grant, plan_grant
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.errors import (
    AccessDeniedError,
    AzureRequestError,
    BadRequestError,
    ConflictError,
)
from akv_helpers.grant_plan import GrantPlan
from akv_helpers.vaults import find_vault

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
SECRET_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
# The message the simulator sends with an injected status fault.
INJECTED = "(injected fault)"


@pytest.fixture
def plan(fresh_sim: SimulatorEndpoint, connection: Connection) -> GrantPlan:
    vault = find_vault(connection, "kv-demo")
    return plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID)


def _kit_assignments(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if item["scope"].lower() == SECRET_SCOPE.lower()
    ]


def _grant_error(
    sim: SimulatorEndpoint,
    connection: Connection,
    plan: GrantPlan,
    status: int,
    code: str,
) -> AzureRequestError:
    # One fault only: a retry of the PUT would succeed and raise nothing.
    sim.inject_fault(
        "role_assignments.put", "status", status=status, code=code, count=1
    )
    with pytest.raises(AzureRequestError) as caught:
        grant(connection, plan)
    return caught.value


# Each code with its status, the error class the kit raises, and words of the
# fix: what to do, and the command that helps where there is one.
EXPLAINED = {
    "ScopeLocked": (
        409,
        ConflictError,
        ("lock", "az lock list --resource-group rg-union-dp"),
    ),
    "RequestDisallowedByPolicy": (
        403,
        AccessDeniedError,
        ("administrator", "policy exemption", "policy assignment"),
    ),
    "LinkedAuthorizationFailed": (
        403,
        AccessDeniedError,
        ("linked scope", "az role assignment create"),
    ),
    "RoleAssignmentLimitExceeded": (
        400,
        BadRequestError,
        (
            "remove role assignments",
            f"az role assignment list --all --subscription {SUBSCRIPTION} "
            "--query 'length(@)'",
        ),
    ),
    "InvalidPrincipalId": (
        400,
        BadRequestError,
        ("principal ID (object ID)", "akv-onboard find-identity"),
    ),
}


@pytest.mark.parametrize("code", EXPLAINED, ids=EXPLAINED.keys())
def test_grant_error_code_has_fix(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    plan: GrantPlan,
    code: str,
) -> None:
    status, error_class, fix_words = EXPLAINED[code]

    error = _grant_error(fresh_sim, connection, plan, status, code)

    assert type(error) is error_class
    assert error.status == status
    assert error.code == code
    assert f"{status} {code}" in error.message
    assert INJECTED in error.message
    assert "nothing was created" in error.message
    for words in fix_words:
        assert words in error.fix, words
    assert _kit_assignments(fresh_sim) == []


def test_scope_locked_names_scope(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    error = _grant_error(fresh_sim, connection, plan, 409, "ScopeLocked")

    assert SECRET_SCOPE in error.message
    assert f"--subscription {SUBSCRIPTION}" in error.fix
    assert "Owner" in error.fix


def test_unknown_code_hands_off(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    error = _grant_error(fresh_sim, connection, plan, 400, "SomeFutureCode")

    assert type(error) is BadRequestError
    assert error.message.startswith(
        "Azure rejected the request to create the role assignment (400 SomeFutureCode)"
    )
    assert error.request_id
    assert "SomeFutureCode" in error.fix
    assert error.request_id in error.fix
    assert "administrator" in error.fix
    assert _kit_assignments(fresh_sim) == []


def test_unknown_conflict_keeps_class(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    error = _grant_error(fresh_sim, connection, plan, 409, "Conflict")

    assert type(error) is ConflictError
    assert error.code == "Conflict"
    assert "error code Conflict" in error.fix


def test_handled_code_keeps_own_fix(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    error = _grant_error(fresh_sim, connection, plan, 403, "AuthorizationFailed")

    assert type(error) is AccessDeniedError
    assert "Key Vault Data Access Administrator" in error.fix
    assert "no specific fix" not in error.fix
