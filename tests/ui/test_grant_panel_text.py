"""The grant panel's text-mode calls and its reload of the saved profile."""

from __future__ import annotations

import dataclasses

import pytest
from panel_support import SECRET, identity

from akv_helpers.connection import Connection
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.ui import _render_check
from akv_helpers.ui.grant import GrantPanel

OTHER_SECRET = "https://kv-demo.vault.azure.net/secrets/api-key"


@pytest.fixture
def text_mode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", True)


def base_profile(connection: Connection, **fields: object) -> Profile:
    profile = Profile(
        mode="simulator",
        subscription_id=connection.subscription_id,
        identity=identity(),
    )
    return dataclasses.replace(profile, **fields)


@pytest.mark.usefixtures("text_mode_on")
def test_text_grant_prints_result(
    fast_connection: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(base_profile(fast_connection))
    panel = GrantPanel(fast_connection)

    panel.grant(SECRET)

    printed = capsys.readouterr().out
    assert "OK: Granted: the role assignment was created." in printed
    assert "OK: Readable as the identity" in printed
    assert "Copy" not in printed
    assert load_profile().secret_identifier == SECRET


@pytest.mark.usefixtures("text_mode_on")
def test_text_check_then_revoke(
    fast_connection: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    save_profile(base_profile(fast_connection))
    panel = GrantPanel(fast_connection)

    panel.check(SECRET)
    checked = capsys.readouterr().out
    panel.grant()
    panel.revoke()
    revoked = capsys.readouterr().out

    assert "Review the plan" in checked
    assert "az role assignment create" in checked
    assert "OK: Revoked:" in revoked
    assert "az role assignment delete --ids" in revoked


@pytest.mark.usefixtures("text_mode_on")
def test_text_display_lists_calls(fast_connection: Connection) -> None:
    save_profile(base_profile(fast_connection))
    panel = GrantPanel(fast_connection)

    bundle = panel._repr_mimebundle_()

    assert list(bundle) == ["text/plain"]
    assert "grant_panel.grant()" in bundle["text/plain"]
    assert "grant_panel.revoke()" in bundle["text/plain"]
    assert 'grant_panel.check("https://' in bundle["text/plain"]


def test_check_without_text_mode_prints_nothing(
    fast_connection: Connection,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", False)
    save_profile(base_profile(fast_connection))
    panel = GrantPanel(fast_connection)

    panel.check(SECRET)

    assert capsys.readouterr().out == ""
    assert panel._plan is not None


def test_refresh_takes_saved_secret(fast_connection: Connection) -> None:
    save_profile(base_profile(fast_connection))
    panel = GrantPanel(fast_connection)
    assert panel._w_secret.value == ""

    save_profile(base_profile(fast_connection, secret_identifier=SECRET))
    panel.refresh()

    assert panel._w_secret.value == SECRET


def test_refresh_keeps_typed_secret(fast_connection: Connection) -> None:
    save_profile(base_profile(fast_connection, secret_identifier=SECRET))
    panel = GrantPanel(fast_connection)
    typed = f"{SECRET}/7c4a8d09ca3762af61e59520943dc264"
    panel._w_secret.value = typed

    save_profile(base_profile(fast_connection, secret_identifier=OTHER_SECRET))
    panel.refresh()

    assert panel._w_secret.value == typed


def test_refresh_new_identity_drops_plan(fast_connection: Connection) -> None:
    save_profile(base_profile(fast_connection, secret_identifier=SECRET))
    panel = GrantPanel(fast_connection)
    panel.check()
    assert panel._plan is not None

    other = identity("cccccccc-0000-4000-8000-000000000003")
    save_profile(
        base_profile(fast_connection, secret_identifier=SECRET, identity=other)
    )
    panel.refresh()

    assert panel._plan is None
    assert panel._w_plan.value == ""


def test_grant_uses_profile_saved_later(fast_connection: Connection) -> None:
    # The panel is built before the identity step saved the profile, as after
    # running the notebooks out of order.
    save_profile(Profile(mode="simulator"))
    panel = GrantPanel(fast_connection)
    save_profile(base_profile(fast_connection, secret_identifier=SECRET))

    panel._w_grant.click()

    assert panel._w_status.value.count("Granted:") == 1
    assert panel._w_secret.value == SECRET
