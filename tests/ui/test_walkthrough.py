"""The walk-through's tabs, built in-process against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import pytest

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.profile import IdentityRef, Profile, save_profile
from akv_helpers.ui import (
    GrantPanel,
    IdentityPanel,
    StartPanel,
    TaskPanel,
    TroubleshootPanel,
    set_text_mode,
)
from akv_helpers.ui.walkthrough import TAB_TITLES, Walkthrough

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def saved_identity() -> IdentityRef:
    return IdentityRef(
        name="userflyterole",
        resource_group="rg-union-dp",
        resource_id=(
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
        ),
        client_id=CLIENT,
        principal_id=PRINCIPAL,
    )


@pytest.fixture
def walkthrough(fresh_sim: SimulatorEndpoint, kit_home: Path) -> Iterator[Walkthrough]:
    """Build the walk-through without a saved profile, and remove it afterwards."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield Walkthrough()
    (kit_home / "profile.json").unlink(missing_ok=True)
    set_text_mode(False)


def test_walkthrough_tabs_and_titles(walkthrough: Walkthrough) -> None:
    tab = walkthrough.tab
    kinds = [type(panel) for panel in walkthrough.panels]

    assert isinstance(tab, widgets.Tab)
    assert tab.titles == (
        "0 · Start",
        "1 · Identity",
        "2 · Grant",
        "3 · Test task",
        "Troubleshoot",
    )
    assert tab.titles == TAB_TITLES
    assert kinds == [
        StartPanel,
        IdentityPanel,
        GrantPanel,
        TaskPanel,
        TroubleshootPanel,
    ]
    assert list(tab.children) == [panel.widget for panel in walkthrough.panels]
    assert walkthrough.widget.children[-1] is tab


def test_walkthrough_header_names_mode(walkthrough: Walkthrough) -> None:
    header = walkthrough.widget.children[0].value

    assert "Simulator mode" in header
    assert "akv-mode-simulator" in header


def test_walkthrough_header_follows_profile(walkthrough: Walkthrough) -> None:
    save_profile(Profile(mode="azure", subscription_id=SUBSCRIPTION))
    walkthrough.select(2)
    header = walkthrough.widget.children[0].value

    assert "Azure mode" in header
    assert "Simulator mode" not in header


def test_tab_select_refreshes_saved_profile(walkthrough: Walkthrough) -> None:
    grant = walkthrough.panels[2]
    assert isinstance(grant, GrantPanel)
    assert grant._w_secret.value == ""
    assert grant._profile.identity is None

    save_profile(
        Profile(
            mode="simulator",
            subscription_id=SUBSCRIPTION,
            identity=saved_identity(),
            secret_identifier=SECRET,
        )
    )
    selected = walkthrough.select(2)

    assert selected is grant
    assert walkthrough.tab.selected_index == 2
    assert walkthrough.selected_panel is grant
    assert grant._profile.identity is not None
    assert grant._profile.identity.principal_id == PRINCIPAL
    assert grant._w_secret.value == SECRET


def test_tab_click_refreshes_only_that_panel(walkthrough: Walkthrough) -> None:
    task, troubleshoot = walkthrough.panels[3], walkthrough.panels[4]
    save_profile(Profile(mode="simulator", identity=saved_identity()))

    # Setting selected_index is what a click on a tab title does.
    walkthrough.tab.selected_index = 3

    assert task._profile.identity is not None
    assert task._profile.identity.principal_id == PRINCIPAL
    assert troubleshoot._profile.identity is None


def test_select_current_tab_refreshes(walkthrough: Walkthrough) -> None:
    assert walkthrough.tab.selected_index == 0
    start = walkthrough.panels[0]
    save_profile(Profile(mode="simulator", subscription_id=SUBSCRIPTION))

    walkthrough.select(0)

    assert start._profile.subscription_id == SUBSCRIPTION


def test_grant_after_refresh_uses_new_identity(walkthrough: Walkthrough) -> None:
    grant = walkthrough.panels[2]
    assert isinstance(grant, GrantPanel)
    save_profile(
        Profile(
            mode="simulator",
            subscription_id=SUBSCRIPTION,
            identity=saved_identity(),
            secret_identifier=SECRET,
        )
    )
    walkthrough.select(2)

    grant.check()

    assert "Failed:" not in grant._w_status.value
    assert PRINCIPAL in grant.text()


def test_unreadable_profile_shown_in_header(
    walkthrough: Walkthrough, kit_home: Path
) -> None:
    (kit_home / "profile.json").write_text("{not json")
    walkthrough.select(1)
    header = walkthrough.widget.children[0].value

    assert "cannot be read" in header
    assert "Failed:" in walkthrough.panels[1]._w_status.value


def test_mimebundle_delegates_to_widget(walkthrough: Walkthrough) -> None:
    bundle = walkthrough._repr_mimebundle_()

    assert bundle[WIDGET_VIEW]["model_id"] == walkthrough.widget.model_id
    for title in TAB_TITLES:
        assert f"[{title}]" in bundle["text/plain"]


def test_mimebundle_text_mode_plain_only(walkthrough: Walkthrough) -> None:
    set_text_mode(True)
    bundle = walkthrough._repr_mimebundle_()

    assert list(bundle) == ["text/plain"]
    assert "Simulator mode" in bundle["text/plain"]
    assert "[2 · Grant]" in bundle["text/plain"]
