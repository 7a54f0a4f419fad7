"""Tests for the session profile in akv_helpers.profile."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from akv_helpers.errors import InvalidInputError, NotConfiguredError
from akv_helpers.profile import (
    IdentityRef,
    Profile,
    load_profile,
    profile_path,
    save_profile,
)
from akv_helpers.profile import kit_home as resolve_kit_home

TENANT = "11111111-1111-4111-8111-111111111111"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
IDENTITY_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-union-dp/providers"
    "/Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)
ASSIGNMENT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers"
    "/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass/providers"
    "/Microsoft.Authorization/roleAssignments/2d4f8a5e-2b55-5b9c-9d0a-6f3c1e2b7a10"
)
SECRET_ID = "https://kv-demo.vault.azure.net/secrets/db-pass"


def full_profile() -> Profile:
    return Profile(
        mode="simulator",
        cloud="AzureCloud",
        tenant_id=TENANT,
        subscription_id=SUBSCRIPTION,
        resource_group="rg-union-dp",
        identity=IdentityRef(
            name="userflyterole",
            resource_group="rg-union-dp",
            resource_id=IDENTITY_ID,
            client_id=CLIENT,
            principal_id=PRINCIPAL,
        ),
        secret_identifier=SECRET_ID,
        assignment_id=ASSIGNMENT_ID,
        assignment_created_by_kit=True,
    )


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- kit home ------------------------------------------------------------------------


def test_kit_home_uses_environment(kit_home: Path) -> None:
    assert resolve_kit_home() == kit_home


def test_kit_home_creates_private_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "nested" / "home"
    monkeypatch.setenv("AKV_ONBOARD_HOME", str(target))
    previous = os.umask(0o022)
    try:
        home = resolve_kit_home()
    finally:
        os.umask(previous)

    assert home == target
    assert home.is_dir()
    assert mode_of(home) == 0o700


def test_kit_home_default_under_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AKV_ONBOARD_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))

    home = resolve_kit_home()

    assert home == tmp_path / ".akv-onboard"
    assert mode_of(home) == 0o700


def test_kit_home_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AKV_ONBOARD_HOME", "~/kit")

    assert resolve_kit_home() == tmp_path / "kit"


def test_profile_path_in_kit_home(kit_home: Path) -> None:
    assert profile_path() == kit_home / "profile.json"


# --- load and save -------------------------------------------------------------------


def test_load_profile_missing_file_gives_defaults(tmp_path: Path) -> None:
    profile = load_profile(tmp_path / "absent.json")

    assert profile == Profile()
    assert profile.mode == "simulator"
    assert profile.cloud == "AzureCloud"
    assert profile.identity is None
    assert profile.assignment_created_by_kit is False


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"

    written = save_profile(full_profile(), path)
    loaded = load_profile(path)

    assert written == path
    assert loaded == full_profile()
    assert loaded.identity is not None
    assert loaded.identity.principal_id == PRINCIPAL
    assert loaded.updated_at is not None


def test_save_profile_default_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AKV_ONBOARD_HOME", str(tmp_path))

    path = save_profile(Profile(tenant_id=TENANT))

    assert path == tmp_path / "profile.json"
    assert load_profile().tenant_id == TENANT


def test_save_profile_file_is_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = save_profile(full_profile(), tmp_path / "profile.json")
    finally:
        os.umask(previous)

    assert mode_of(path) == 0o600


def test_save_profile_sorted_keys_json(tmp_path: Path) -> None:
    path = save_profile(full_profile(), tmp_path / "profile.json")

    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == sorted(data)
    assert list(data["identity"]) == sorted(data["identity"])
    assert data["identity"]["client_id"] == CLIENT


def test_save_profile_leaves_no_temporary_file(tmp_path: Path) -> None:
    save_profile(full_profile(), tmp_path / "profile.json")
    save_profile(Profile(), tmp_path / "profile.json")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile.json"]


def test_save_profile_replaces_previous(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    save_profile(full_profile(), path)

    save_profile(Profile(mode="azure"), path)

    loaded = load_profile(path)
    assert loaded.mode == "azure"
    assert loaded.identity is None


def test_save_profile_creates_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "profile.json"

    save_profile(Profile(), path)

    assert path.exists()
    assert mode_of(path.parent) == 0o700


def test_save_profile_does_not_change_argument(tmp_path: Path) -> None:
    profile = full_profile()

    save_profile(profile, tmp_path / "profile.json")

    assert profile.updated_at is None


def test_save_profile_canonicalizes_ids(tmp_path: Path) -> None:
    profile = Profile(
        tenant_id=TENANT.upper(),
        subscription_id=SUBSCRIPTION.replace("-", ""),
        cloud="azurechinacloud",
        secret_identifier=f"  {SECRET_ID.upper().replace('HTTPS', 'https')}/ ",
    )

    loaded = load_profile(save_profile(profile, tmp_path / "profile.json"))

    assert loaded.tenant_id == TENANT
    assert loaded.subscription_id == SUBSCRIPTION
    assert loaded.cloud == "AzureChinaCloud"
    assert loaded.secret_identifier == SECRET_ID


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        pytest.param({"tenant_id": "contoso"}, "tenant ID 'contoso'", id="tenant"),
        pytest.param(
            {"subscription_id": "x' or 1 eq 1"}, "subscription ID", id="subscription"
        ),
        pytest.param({"mode": "production"}, "mode 'production'", id="mode"),
        pytest.param({"cloud": "AzureGermanCloud"}, "AzureGermanCloud", id="cloud"),
        pytest.param({"resource_group": "rg/x"}, "resource group name", id="rg"),
        pytest.param(
            {"secret_identifier": "http://kv-demo.vault.azure.net/secrets/db-pass"},
            "uses http://",
            id="secret-identifier",
        ),
        pytest.param(
            {"assignment_id": "not-an-id"}, "role assignment ID", id="assignment-id"
        ),
        pytest.param(
            {"assignment_id": ASSIGNMENT_ID.replace("2d4f8a5e", "zzzzzzzz")},
            "role assignment name",
            id="assignment-name",
        ),
    ],
)
def test_save_profile_rejects_bad_field(
    tmp_path: Path, changes: dict[str, str], fragment: str
) -> None:
    path = tmp_path / "profile.json"
    profile = Profile(**changes)  # type: ignore[arg-type]

    with pytest.raises(InvalidInputError, match=fragment.replace("/", ".")):
        save_profile(profile, path)

    assert not path.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("client_id", "not-a-guid", id="client-id"),
        pytest.param(
            "principal_id", "AKVSIM-CANARY-abcdefghijklmnopqrstuvwx", id="canary"
        ),
        pytest.param("name", "x", id="name"),
        pytest.param("resource_id", "userflyterole", id="resource-id"),
    ],
)
def test_save_profile_rejects_bad_identity(
    tmp_path: Path, field: str, value: str
) -> None:
    identity = full_profile().identity
    assert identity is not None
    setattr(identity, field, value)

    with pytest.raises(InvalidInputError):
        save_profile(Profile(identity=identity), tmp_path / "profile.json")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("AKVSIM-CANARY-abcdefghijklmnopqrstuvwx", id="simulator-canary"),
        pytest.param("eyJ0eXAiOiJKV1QiLCJhbGciOi", id="jwt"),
    ],
)
def test_save_profile_never_writes_secret_like_name(tmp_path: Path, value: str) -> None:
    identity = full_profile().identity
    assert identity is not None
    identity.name = value
    path = tmp_path / "profile.json"

    with pytest.raises(InvalidInputError) as caught:
        save_profile(Profile(identity=identity), path)

    assert value not in str(caught.value)
    assert value not in repr(caught.value)
    assert not path.exists()


def test_profile_with_updates_validates() -> None:
    profile = Profile().with_updates(tenant_id=TENANT.upper(), mode="azure")

    assert profile.tenant_id == TENANT
    assert profile.mode == "azure"
    with pytest.raises(InvalidInputError):
        profile.with_updates(subscription_id="nope")
    with pytest.raises(TypeError):
        profile.with_updates(access_token="x")


# --- unreadable files ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(
            "{not json", "is not valid JSON (line 1, column 2)", id="broken-json"
        ),
        pytest.param("", "is not valid JSON", id="empty-file"),
        pytest.param("[1, 2]", "does not contain a JSON object", id="list"),
        pytest.param(
            '{"tenant_id": "contoso"}', "tenant ID 'contoso'", id="bad-tenant"
        ),
        pytest.param('{"tenant_id": 42}', "tenant_id must be a string", id="number"),
        pytest.param(
            '{"identity": "userflyterole"}', "identity must be an object", id="id"
        ),
        pytest.param(
            '{"assignment_created_by_kit": "yes"}',
            "must be true or false",
            id="bool-as-text",
        ),
        pytest.param('{"mode": "prod"}', "mode 'prod'", id="bad-mode"),
    ],
)
def test_load_profile_corrupt_file(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "profile.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(NotConfiguredError) as caught:
        load_profile(path)

    assert str(path) in caught.value.message
    assert fragment in caught.value.message
    assert f"delete {path}" in caught.value.fix
    assert "Press Save profile in notebook 00-start-here" in caught.value.fix
    # Only a file that parses has a field to name.
    names_field = "Or correct the field named above." in caught.value.fix
    assert names_field == ("JSON" not in caught.value.message)


def test_load_profile_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_bytes(b"\xff\xfe{")

    with pytest.raises(NotConfiguredError, match="not UTF-8"):
        load_profile(path)


def test_load_profile_directory_in_place(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.mkdir()

    with pytest.raises(NotConfiguredError) as caught:
        load_profile(path)

    assert str(path) in caught.value.message


def test_load_profile_ignores_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"tenant_id": TENANT, "future": 1}), encoding="utf-8")

    profile = load_profile(path)

    assert profile.tenant_id == TENANT
    assert not hasattr(profile, "future")
