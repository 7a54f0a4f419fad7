"""The start and identity panels in text mode, driven against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.profile import load_profile
from akv_helpers.ui import (
    IdentityPanel,
    StartPanel,
    _render_check,
    set_text_mode,
    text_mode,
)

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = "rg-union-dp"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def profile_home(fresh_sim: SimulatorEndpoint, kit_home: Path) -> Iterator[Path]:
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield kit_home
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture
def text_mode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", True)


@pytest.fixture
def text_mode_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", False)


def test_text_mode_from_environment(monkeypatch):
    monkeypatch.setattr(_render_check, "_text_mode_setting", None)
    monkeypatch.setenv("AKV_ONBOARD_TEXT_MODE", "1")
    assert text_mode() is True

    monkeypatch.setenv("AKV_ONBOARD_TEXT_MODE", "0")
    assert text_mode() is False


def test_set_text_mode_overrides_environment(monkeypatch):
    monkeypatch.setattr(_render_check, "_text_mode_setting", None)
    monkeypatch.setenv("AKV_ONBOARD_TEXT_MODE", "1")

    set_text_mode(False)

    assert text_mode() is False


def test_start_connect_save_prints_text(profile_home, text_mode_on, capsys):
    panel = StartPanel()

    panel.connect()
    connected = capsys.readouterr().out
    panel.save()
    saved = capsys.readouterr().out

    assert connected.startswith("Step 0: start here\n")
    assert "OK: Signed in (simulator mode)." in connected
    assert f"data-plane resource group: {GROUP}" in connected
    assert f"Subscription: {SUBSCRIPTION}" in connected
    assert "OK: Profile saved to" in saved
    assert load_profile().resource_group == GROUP
    assert "<" not in saved


def test_start_save_sets_given_values(profile_home, text_mode_on, capsys):
    panel = StartPanel()
    panel.connect()

    panel.save(subscription_id=SUBSCRIPTION.upper(), resource_group="rg-other")

    assert load_profile().resource_group == "rg-other"
    assert "data-plane resource group: rg-other" in capsys.readouterr().out


def test_identity_find_use_prints_ids(profile_home, text_mode_on, capsys):
    start = StartPanel()
    start.connect()
    start.save()
    capsys.readouterr()
    panel = IdentityPanel()

    panel.find()
    found = capsys.readouterr().out
    panel.use("UserFlyteRole")
    used = capsys.readouterr().out

    assert "Note: One matching identity in resource group rg-union-dp." in found
    # The table is wider than a terminal, so each row is a block of fields.
    lines = found.splitlines()
    row = lines.index("name: userflyterole")
    assert lines[row + 1 : row + 4] == [
        f"resource group: {GROUP}",
        f"client ID: {CLIENT}",
        f"principal ID: {PRINCIPAL}",
    ]
    assert "Copy" not in found
    assert "OK: Identity userflyterole saved to" in used
    assert f"principal ID (used in the role assignment): {PRINCIPAL}" in used
    assert f"client ID (used by workload identity): {CLIENT}" in used
    assert load_profile().identity.principal_id == PRINCIPAL


def test_identity_use_lists_first(profile_home, text_mode_off):
    start = StartPanel()
    start.connect()
    start.save()
    panel = IdentityPanel()

    panel.use("userflyterole")

    assert load_profile().identity.client_id == CLIENT
    assert "OK: Identity userflyterole saved" in panel.text()


def test_identity_use_unknown_name(profile_home, text_mode_off):
    start = StartPanel()
    start.connect()
    start.save()
    panel = IdentityPanel()

    panel.use("no-such-identity")

    text = panel.text()
    assert "Failed: No listed identity is named 'no-such-identity'." in text
    assert "userflyterole (rg-union-dp)" in text
    assert load_profile().identity is None


def test_identity_copy_buttons(profile_home, text_mode_off):
    start = StartPanel()
    start.connect()
    start.save()
    panel = IdentityPanel()

    panel.find()
    table = panel._w_table.value
    panel.use("userflyterole")
    status = panel._w_status.value

    for fragment in (table, status):
        assert f'data-copy="{CLIENT}"' in fragment
        assert f'data-copy="{PRINCIPAL}"' in fragment


def test_no_print_outside_text_mode(profile_home, text_mode_off, capsys):
    panel = StartPanel()

    panel.connect()

    assert capsys.readouterr().out == ""
    assert "OK: Signed in (simulator mode)." in panel.text()


def test_repr_text_mode_plain_only(profile_home, text_mode_on):
    bundle = StartPanel()._repr_mimebundle_()

    assert set(bundle) == {"text/plain"}
    assert bundle["text/plain"].startswith("Step 0: start here")
    assert "Calls of this panel in text mode:" in bundle["text/plain"]
    assert "    start_panel.connect()" in bundle["text/plain"]


def test_repr_widgets_with_text(profile_home, text_mode_off):
    panel = IdentityPanel()

    bundle = panel._repr_mimebundle_()

    assert WIDGET_VIEW in bundle
    plain = bundle["text/plain"]
    assert plain.startswith("IdentityPanel: this panel needs Jupyter widgets.")
    assert "Step 1: find the data-plane identity" in plain
    assert 'identity_panel.use("<identity name>")' in plain


def test_text_leaves_out_hidden_and_buttons(profile_home, text_mode_off):
    text = StartPanel().text()

    # The Azure-only cloud and sign-in choices are hidden in simulator mode.
    assert "Cloud:" not in text
    assert "Sign in with:" not in text
    assert "Connect to simulator" not in text
    assert "Mode: Simulator" in text
