"""``akv-onboard grant --principal-id`` with the ID of a user, on the simulator.

The kit assigns roles with principal type ServicePrincipal, so the warning for
an ID that matches no managed identity, and the error Azure returns for a
user, both name the ID to use instead.
"""

from __future__ import annotations

import pytest
from support import flat
from support import run_cli as run

from akv_helpers.connection import SimulatorEndpoint

pytestmark = pytest.mark.usefixtures("no_profile")

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
# The seeded operator, a principal of type User in the simulator's directory.
USER_ID = "dddddddd-0000-4000-8000-000000000004"


def test_user_id_warning_names_service_principal(fresh_sim: SimulatorEndpoint) -> None:
    result = run("grant", SECRET, "--principal-id", USER_ID, "--dry-run")
    stderr = flat(result.stderr)

    assert result.exit_code == 0, result.output
    assert "Warning: " in stderr
    assert "only if it is the ID of a service principal" in stderr
    assert "managed identity's principal ID" in stderr
    assert "Azure rejects the ID of a user or group" in stderr
    assert "right for a service principal or group" not in stderr


def test_user_id_grant_error_says_what_to_use(fresh_sim: SimulatorEndpoint) -> None:
    result = run("grant", SECRET, "--principal-id", USER_ID)
    stderr = flat(result.stderr)

    assert result.exit_code == 1
    assert "UnmatchedPrincipalType" in stderr
    assert "Nothing was created." in stderr
    assert "data-plane managed identity" in stderr
    assert "`akv-onboard find-identity`" in stderr
    assert "--assignee-principal-type User" in stderr
    assert not [
        item
        for item in fresh_sim.state()["role_assignments"]
        if item["principal_id"] == USER_ID and not item.get("seeded")
    ]
