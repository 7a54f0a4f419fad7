"""Panels after the simulator restarts or the saved profile breaks mid-session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from panel_support import SECRET, identity

from akv_helpers.connection import ensure_simulator, stop_simulator
from akv_helpers.diagnose import Status
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.simulator_client import simulator_replaced
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.grant import GrantPanel
from akv_helpers.ui.identity import IdentityPanel
from akv_helpers.ui.start import StartPanel
from akv_helpers.ui.troubleshoot import TroubleshootPanel

pytestmark = pytest.mark.xdist_group("restarts")


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Return a kit home with a simulator of its own and a saved profile."""
    home = tmp_path / "home"
    monkeypatch.setenv("AKV_ONBOARD_HOME", str(home))
    ensure_simulator(home)
    save_profile(Profile(mode="simulator", identity=identity()))
    yield home
    stop_simulator(home)


def restart_simulator(home: Path) -> None:
    """Stop the kit home's simulator and start a new process in its place."""
    before = ensure_simulator(home)
    assert stop_simulator(home)
    after = ensure_simulator(home)
    assert after.pid != before.pid
    assert simulator_replaced(before, home)
    assert not simulator_replaced(after, home)


def test_grant_panel_after_simulator_restart(own_home: Path) -> None:
    panel = GrantPanel()
    panel._w_secret.value = SECRET
    panel._w_check.click()
    assert html_to_text(panel._w_status.value).startswith("OK:")

    restart_simulator(own_home)
    panel._w_check.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("OK:"), status
    assert "401" not in status


def test_identity_panel_after_simulator_stop(own_home: Path) -> None:
    panel = IdentityPanel()
    panel._w_search.click()
    assert "One matching identity" in html_to_text(panel._w_status.value)

    # A stopped simulator is started again by the next action.
    assert stop_simulator(own_home)
    panel._w_search.click()

    status = html_to_text(panel._w_status.value)
    assert "One matching identity" in status, status
    assert "401" not in status


def test_broken_profile_stops_action(own_home: Path) -> None:
    panel = GrantPanel()
    panel._w_secret.value = SECRET
    broken = '{"mode": "simulator", "broken": '
    (own_home / "profile.json").write_text(broken, encoding="utf-8")

    panel._w_grant.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "is not valid JSON" in status
    assert "Press Save profile in notebook 00-start-here" in status
    assert panel._plan is None
    # The file stays as it was, for the person to repair or remove.
    assert (own_home / "profile.json").read_text(encoding="utf-8") == broken


def test_start_panel_replaces_broken_profile(own_home: Path) -> None:
    # The panel loaded a good profile that named an assignment, then the file broke.
    save_profile(
        Profile(
            mode="simulator",
            identity=identity(),
            assignment_id="/subscriptions/x/providers/Microsoft.Authorization/"
            "roleAssignments/b1782e9d-98d2-5dc0-b990-6e83ec885474",
            assignment_created_by_kit=True,
        )
    )
    panel = StartPanel()
    (own_home / "profile.json").write_text("{broken", encoding="utf-8")

    panel._w_sign_in.click()
    panel._w_save.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("OK: Profile saved"), status
    saved = load_profile()
    assert saved.mode == "simulator"
    assert saved.subscription_id == "00000000-1111-2222-3333-444444444444"
    assert saved.resource_group == "rg-union-dp"
    # Nothing of the older copy comes back: its assignment may be gone.
    assert saved.assignment_id is None
    assert saved.identity is None


def test_doctor_sees_scenario_change(own_home: Path) -> None:
    save_profile(
        Profile(mode="simulator", secret_identifier=SECRET, identity=identity())
    )
    simulator = ensure_simulator(own_home)
    simulator.apply_scenario("operator-other-tenant")
    panel = TroubleshootPanel(report_directory=own_home / "reports")
    panel._w_run.click()
    assert "operator.tenant" in failed_checks(panel)

    # The operator's tokens of the scenario must not outlive it.
    simulator.reset()
    panel._w_run.click()
    assert "operator.tenant" not in failed_checks(panel)

    simulator.apply_scenario("operator-other-tenant")
    panel._w_run.click()
    assert "operator.tenant" in failed_checks(panel)


def failed_checks(panel: TroubleshootPanel) -> list[str]:
    """Return the IDs of the checks that failed in the panel's last run."""
    assert panel.diagnosis is not None
    return [
        finding.id
        for finding in panel.diagnosis.findings
        if finding.status is Status.FAILED
    ]
