"""The grant and task panels driven in-process against the simulator."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from support import visible_text

from akv_helpers.connection import Connection, RetrySettings, SimulatorEndpoint, connect
from akv_helpers.profile import IdentityRef, Profile, save_profile
from akv_helpers.simulator_client import SimulatorCredential

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
CURRENT_VERSION = "7c4a8d09ca3762af61e59520943dc264"
OLDER_VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
FAST = RetrySettings(backoff_factor=0.01, principal_not_found_backoff=0.02)
TAGS = re.compile(r"<[^>]+>")


def text_of(html_text: str) -> str:
    return visible_text(html_text)


def identity(principal_id: str) -> IdentityRef:
    return IdentityRef(
        name="userflyterole",
        resource_group="rg-union-dp",
        resource_id=(
            "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/"
            "rg-union-dp/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
            "userflyterole"
        ),
        client_id=CLIENT,
        principal_id=principal_id,
    )


@pytest.fixture
def profile_home(kit_home: Path) -> Iterator[Path]:
    """Remove the profile after the test, so other tests start without one."""
    yield kit_home
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture
def fast_connection(fresh_sim: SimulatorEndpoint) -> Connection:
    return connect(Profile(mode="simulator"), retry=FAST)


def assignment_puts(sim: SimulatorEndpoint) -> list[str | None]:
    return [
        entry["error_code"]
        for entry in sim.requests()
        if entry["method"] == "PUT" and "roleassignments/" in entry["path"].lower()
    ]


def grant_panel(connection: Connection, principal_id: str, secret: str = SECRET):  # type: ignore[no-untyped-def]
    from akv_helpers.ui.grant import GrantPanel

    save_profile(
        Profile(
            mode="simulator",
            subscription_id=connection.subscription_id,
            identity=identity(principal_id),
        )
    )
    panel = GrantPanel(connection)
    panel._w_secret.value = secret
    return panel


@pytest.mark.usefixtures("profile_home")
def test_grant_panel_young_identity_retried(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    fresh_sim.apply_scenario("identity-replicating")
    panel = grant_panel(fast_connection, PRINCIPAL)
    fresh_sim.clear_requests()

    panel._w_grant.click()

    status = text_of(panel._w_status.value)
    assert status.startswith("OK: Granted"), status
    assert assignment_puts(fresh_sim) == ["PrincipalNotFound"] * 2 + [None]


@pytest.mark.usefixtures("profile_home")
def test_grant_panel_old_identity_not_retried(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    fresh_sim.apply_scenario("identity-old-wrong-id")
    # The profile contains the client ID where the principal ID belongs.
    panel = grant_panel(fast_connection, CLIENT)
    fresh_sim.clear_requests()

    panel._w_grant.click()

    status = text_of(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "30 days old" in status
    assert "did not retry" in status
    assert "client ID" in status
    assert assignment_puts(fresh_sim) == ["PrincipalNotFound"]


@pytest.mark.usefixtures("profile_home")
@pytest.mark.parametrize(
    ("scenario", "secret", "expected"),
    [
        ("firewall-deny", SECRET, "Note: The vault kv-demo has a firewall"),
        ("secret-expired", SECRET, "Note: The secret db-pass has expired."),
        (
            "healthy",
            f"{SECRET}/{OLDER_VERSION}",
            f"Note: version {OLDER_VERSION} of db-pass could not be checked",
        ),
    ],
    ids=["firewall", "expired", "pinned-older"],
)
def test_grant_panel_shows_notes(
    fresh_sim: SimulatorEndpoint,
    fast_connection: Connection,
    scenario: str,
    secret: str,
    expected: str,
) -> None:
    fresh_sim.apply_scenario(scenario)
    panel = grant_panel(fast_connection, PRINCIPAL, secret)

    panel._w_check.click()

    plan = text_of(panel._w_plan.value)
    assert expected in plan, plan
    assert assignment_puts(fresh_sim) == []


@pytest.mark.usefixtures("profile_home")
def test_grant_panel_rejects_disabled_secret(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    fresh_sim.apply_scenario("secret-disabled")
    panel = grant_panel(fast_connection, PRINCIPAL)

    panel._w_grant.click()

    status = text_of(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "disabled" in status
    assert assignment_puts(fresh_sim) == []


@pytest.mark.usefixtures("profile_home")
def test_task_panel_renders_wait_progress(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection, tmp_path: Path
) -> None:
    from akv_helpers.ui.task import TaskPanel

    fresh_sim.apply_scenario("grant-propagating")
    fresh_sim.configure(propagation_seconds=2)
    save_profile(
        Profile(
            mode="simulator", secret_identifier=SECRET, identity=identity(PRINCIPAL)
        )
    )
    panel = TaskPanel(fast_connection, tmp_path)
    shown: list[str] = []
    panel._progress._label.observe(
        lambda change: shown.append(text_of(change["new"])), names="value"
    )

    panel._w_run.click()

    status = text_of(panel._w_status.value)
    assert status.startswith("OK: Passed"), status
    assert any(
        line.startswith(
            "Working: Running check_db_pass_secret.py locally. Last step: "
            "Waiting for the grant to take effect"
        )
        for line in shown
    ), shown
    assert assignment_puts(fresh_sim) == []


class HeldCredential:
    """The operator's credential; while `armed`, token requests wait for `release`."""

    def __init__(self, inner: SimulatorCredential) -> None:
        self.inner = inner
        self.armed = threading.Event()
        self.entered = threading.Event()
        self.release = threading.Event()

    def _wait(self) -> None:
        if self.armed.is_set():
            self.entered.set()
            assert self.release.wait(20), "the test never released the request"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self._wait()
        return self.inner.get_token(*scopes, **kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self._wait()
        return self.inner.get_token_info(*scopes, options=options)


def send_click(button: Any) -> threading.Thread:
    """Deliver a click message as the front end does, on its own thread."""
    thread = threading.Thread(
        target=button._handle_button_msg, args=(None, {"event": "click"}, [])
    )
    thread.start()
    return thread


def identity_listings(sim: SimulatorEndpoint) -> list[str]:
    return [
        entry["path"]
        for entry in sim.requests()
        if "userassignedidentities" in entry["path"].lower()
    ]


@pytest.mark.usefixtures("profile_home")
def test_identity_panel_double_click_one_listing(fresh_sim: SimulatorEndpoint) -> None:
    from akv_helpers.ui.identity import IdentityPanel

    held = HeldCredential(
        SimulatorCredential(fresh_sim, fresh_sim.operator_principal_id)
    )
    connection = connect(Profile(mode="simulator"), credential=held)
    save_profile(Profile(mode="simulator", resource_group="rg-union-dp"))
    panel = IdentityPanel(connection)
    held.armed.set()

    first = send_click(panel._w_search)
    assert held.entered.wait(20)
    assert panel._w_search.disabled
    second = send_click(panel._w_search)
    second.join(20)
    assert not second.is_alive()
    held.armed.clear()
    held.release.set()
    first.join(20)

    assert len(identity_listings(fresh_sim)) == 1
    assert "userflyterole" in text_of(panel._w_table.value)
    assert not panel._w_search.disabled


@pytest.mark.usefixtures("profile_home")
def test_grant_panel_revoke_ignored_while_granting(
    fresh_sim: SimulatorEndpoint,
) -> None:
    from akv_helpers.ui.grant import GrantPanel

    held = HeldCredential(
        SimulatorCredential(fresh_sim, fresh_sim.operator_principal_id)
    )
    connection = connect(Profile(mode="simulator"), credential=held)
    panel = grant_panel(connection, PRINCIPAL)
    assert isinstance(panel, GrantPanel)
    panel._w_check.click()
    fresh_sim.clear_requests()
    held.armed.set()

    granting = send_click(panel._w_grant)
    assert held.entered.wait(20)
    assert [button.disabled for button in panel._buttons()] == [True] * 3
    revoking = send_click(panel._w_revoke)
    revoking.join(20)
    assert not revoking.is_alive()
    held.armed.clear()
    held.release.set()
    granting.join(20)

    writes = [
        entry["method"]
        for entry in fresh_sim.requests()
        if "roleassignments/" in entry["path"].lower()
        and entry["method"] in ("PUT", "DELETE")
    ]
    assert writes == ["PUT"]
    assert text_of(panel._w_status.value).startswith("OK: Granted")
    assert [button.disabled for button in panel._buttons()] == [False] * 3


@pytest.mark.usefixtures("profile_home")
def test_grant_panel_shows_grant_when_verify_fails(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection
) -> None:
    panel = grant_panel(fast_connection, PRINCIPAL)
    fresh_sim.inject_fault("role_assignments.list", "503", count=50)

    panel._w_grant.click()

    status = text_of(panel._w_status.value)
    assert status.startswith("OK: Granted"), status
    assert "Not verified: listing the identity" in status, status
    assert assignment_puts(fresh_sim) == [None]
