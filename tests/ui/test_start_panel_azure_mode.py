"""In Azure mode the start panel's reset and scenario calls change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from akv_helpers.connection import SimulatorEndpoint, stop_simulator
from akv_helpers.profile import Profile, save_profile
from akv_helpers.ui import set_text_mode
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.start import StartPanel

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
AZURE_PROFILE = Profile(
    mode="azure", subscription_id=SUBSCRIPTION, resource_group="rg-union-dp"
)


@pytest.fixture
def text_mode() -> Iterator[None]:
    set_text_mode(True)
    yield None
    set_text_mode(False)


@pytest.fixture
def scenario_applied(
    fresh_sim: SimulatorEndpoint, profile_home: Path
) -> SimulatorEndpoint:
    """Return the simulator with one scenario applied and an empty request log."""
    fresh_sim.apply_scenario("secret-disabled")
    fresh_sim.clear_requests()
    return fresh_sim


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the kit at a home where no simulator runs, and stop any started there."""
    home = tmp_path / "kit-home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("AKV_ONBOARD_HOME", str(home))
    yield home
    stop_simulator(home)


def status_text(panel: StartPanel) -> str:
    return html_to_text(panel._w_status.value)


@pytest.mark.usefixtures("text_mode")
def test_reset_in_azure_profile_changes_nothing(
    scenario_applied: SimulatorEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(AZURE_PROFILE)
    panel = StartPanel()

    panel.reset()

    printed = capsys.readouterr().out
    assert "Failed: The saved profile uses Azure mode" in printed
    assert "switch to Simulator mode in notebook 00" in printed
    assert "akv-onboard simulator reset" in printed
    assert "OK:" not in printed
    assert scenario_applied.state()["scenarios"] == ["secret-disabled"]
    assert scenario_applied.requests() == []


@pytest.mark.usefixtures("text_mode")
def test_apply_scenario_in_azure_profile_changes_nothing(
    scenario_applied: SimulatorEndpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(AZURE_PROFILE)
    panel = StartPanel()

    panel.apply_scenario("grant-reader-role")

    printed = capsys.readouterr().out
    assert "Failed: The saved profile uses Azure mode" in printed
    assert "akv-onboard simulator scenario --reset grant-reader-role" in printed
    assert "applied the scenario" not in printed
    assert scenario_applied.state()["scenarios"] == ["secret-disabled"]
    assert scenario_applied.requests() == []


def test_azure_mode_starts_no_simulator(empty_home: Path) -> None:
    save_profile(AZURE_PROFILE)
    panel = StartPanel()

    panel.reset()
    reset_status = status_text(panel)
    panel.apply_scenario("secret-disabled")
    scenario_status = status_text(panel)

    assert reset_status.startswith("Failed:"), reset_status
    assert scenario_status.startswith("Failed:"), scenario_status
    assert not (empty_home / "simulator").exists()


def test_panel_azure_mode_unsaved(scenario_applied: SimulatorEndpoint) -> None:
    save_profile(Profile(mode="simulator"))
    panel = StartPanel()
    # Chosen in the panel but not saved yet: the buttons are hidden.
    panel._w_mode.value = "azure"

    panel.reset()
    reset_status = status_text(panel)
    panel.apply_scenario("grant-reader-role")
    scenario_status = status_text(panel)

    for status in (reset_status, scenario_status):
        assert status.startswith("Failed: This panel is in Azure mode"), status
        assert "choose Simulator as the Mode" in status
    assert scenario_applied.state()["scenarios"] == ["secret-disabled"]
    assert scenario_applied.requests() == []


def test_hidden_buttons_in_azure_mode(scenario_applied: SimulatorEndpoint) -> None:
    save_profile(AZURE_PROFILE)
    panel = StartPanel()
    panel._w_scenario.options = (("grant-reader-role", "grant-reader-role"),)
    panel._w_scenario.value = "grant-reader-role"

    panel._w_reset.click()
    reset_status = status_text(panel)
    panel._w_apply_scenario.click()
    scenario_status = status_text(panel)

    assert panel._w_reset.layout.display == "none"
    assert reset_status.startswith("Failed: The saved profile uses Azure mode")
    assert scenario_status.startswith("Failed: The saved profile uses Azure mode")
    assert scenario_applied.state()["scenarios"] == ["secret-disabled"]
    assert scenario_applied.requests() == []
