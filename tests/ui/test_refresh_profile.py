"""Panels reload the saved profile before each action."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.ui import IdentityPanel, StartPanel, _render_check

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "72f988bf-0000-4000-8000-000000000000"
GROUP = "rg-union-dp"


@pytest.fixture
def profile_home(fresh_sim: SimulatorEndpoint, kit_home: Path) -> Iterator[Path]:
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield kit_home
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def text_mode_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", False)


def start_profile(**fields: object) -> Profile:
    profile = Profile(
        mode="simulator", subscription_id=SUBSCRIPTION, resource_group=GROUP
    )
    return dataclasses.replace(profile, **fields)


def test_identity_built_before_profile_saved(profile_home):
    panel = IdentityPanel()
    assert "(no resource group in the profile)" in panel.text()

    save_profile(start_profile())
    panel.find()

    text = panel.text()
    assert "Note: One matching identity in resource group rg-union-dp." in text
    assert f"Data-plane resource group: {GROUP}" in text
    assert panel._w_whole_subscription.value is False


def test_identity_keeps_ticked_box(profile_home):
    save_profile(start_profile(resource_group=None))
    panel = IdentityPanel()
    panel._w_whole_subscription.value = False

    save_profile(start_profile(resource_group="rg-other"))
    panel.refresh()

    # The user unticked the box; the new group does not tick it again.
    assert panel._w_whole_subscription.value is False
    assert "rg-other" in panel._w_where.value


def test_start_takes_saved_values(profile_home):
    panel = StartPanel()

    save_profile(start_profile(tenant_id=TENANT))
    panel.refresh()

    assert panel._w_tenant.value == TENANT
    assert panel._w_subscription.value == SUBSCRIPTION
    assert panel._w_resource_group.value == GROUP


def test_start_keeps_typed_values(profile_home):
    save_profile(start_profile())
    panel = StartPanel()
    panel._w_resource_group.value = "rg-typed"

    save_profile(start_profile(resource_group="rg-saved-elsewhere", tenant_id=TENANT))
    panel.save()

    assert panel._w_resource_group.value == "rg-typed"
    assert panel._w_tenant.value == TENANT
    assert load_profile().resource_group == "rg-typed"


def test_start_save_keeps_identity_saved_later(profile_home):
    start = StartPanel()
    start.connect()
    start.save()
    IdentityPanel().use("userflyterole")

    # The start panel was built before the identity was saved.
    start.save()

    assert load_profile().identity is not None
    assert load_profile().identity.name == "userflyterole"


def test_unreadable_profile_keeps_old(profile_home):
    save_profile(start_profile())
    panel = IdentityPanel()
    (profile_home / "profile.json").write_text("{not json")

    panel.refresh()

    assert panel._profile.resource_group == GROUP
    assert panel.text().count("Failed:") == 1
