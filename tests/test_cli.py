"""Tests of the `akv-onboard` command line, with click's CliRunner."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from support import run_cli as run
from support import run_cli_unprivileged, shared_temp_folder, state_canaries

from akv_helpers.cli import main, running_simulator, several_identities_error
from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.identities import IdentityCandidate
from akv_helpers.profile import Profile, load_profile, save_profile

pytestmark = pytest.mark.usefixtures("no_profile")

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
ASSIGNMENT_SUFFIX = "/providers/Microsoft.Authorization/roleAssignments/"


def canaries(kit_home: Path) -> list[str]:
    """Return every canary value in the simulator's state file."""
    found = state_canaries(kit_home)
    assert found, "the state file holds no canary"
    return found


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> SimulatorEndpoint:
    """Return the reseeded simulator of the shared `fresh_sim` fixture."""
    try:
        return request.getfixturevalue("fresh_sim")  # type: ignore[no-any-return]
    except pytest.FixtureLookupError:
        pytest.skip("the fresh_sim fixture is not defined in tests/conftest.py")


def all_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


COMMANDS = sorted(all_commands(main))


def test_commands_cover_the_steps() -> None:
    expected = {
        ("simulator", "start"),
        ("simulator", "stop"),
        ("simulator", "status"),
        ("simulator", "reset"),
        ("simulator", "requests"),
        ("find-identity",),
        ("grant",),
        ("verify",),
        ("revoke",),
        ("task", "generate"),
        ("task", "run"),
        ("task", "check"),
        ("profile", "show"),
        ("profile", "set"),
        ("lab-prepare",),
    }
    assert expected <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")

    assert result.exit_code == 0, result.output
    assert "Usage: " in result.stdout
    assert result.stderr == ""


def test_version() -> None:
    result = run("--version")

    assert result.exit_code == 0
    assert "0.1.0" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["grant", "http://kv-demo.vault.azure.net/secrets/db-pass"], "http://"),
        (["grant", "https://kv-demo.vault.azure.net/keys/db-pass"], "keys"),
        (["verify", "https://kv-demo.vault.azure.net/secrets/db_pass"], "db_pass"),
        (["revoke", SECRET, "--principal-id", "not-a-guid"], "not-a-guid"),
        (["grant", SECRET, "--principal-id", "bbbb"], "bbbb"),
        (["find-identity", "--resource-group", "bad group!"], "bad group!"),
        (["task", "generate", SECRET, "--pinned"], "--pinned"),
        (["task", "generate", "not a url"], "not a url"),
        (["task", "run", SECRET, "--timeout", "0"], "--timeout"),
        (["profile", "set", "--mode", "cloud"], "cloud"),
        (["profile", "set", "--subscription", "sub-1"], "sub-1"),
        (["profile", "set", "--tenant", "11111111"], "11111111"),
        (["profile", "set"], "at least one"),
        (["simulator", "start", "--port", "70000"], "70000"),
        (["task", "check", "/does/not/exist.py"], "does not exist"),
    ],
)
def test_bad_input_exit_2(arguments: list[str], expected: str) -> None:
    result = run(*arguments)

    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert result.stdout == ""


def test_bad_secret_id_shows_shape() -> None:
    result = run("grant", "https://kv-demo.vault.azure.net/secrets/db_password")

    assert result.exit_code == 2
    assert "https://<vault>.vault.azure.net/secrets/<name>" in result.stderr
    assert "db-password" in result.stderr


def test_task_generate_latest(tmp_path: Path) -> None:
    result = run("task", "generate", SECRET, "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    module = tmp_path / "check_db_pass_secret.py"
    assert module.is_file()
    assert "group_version=" not in module.read_text()
    assert "pyflyte run --remote" in result.stdout
    assert "union run --remote" in result.stdout


def test_task_generate_pinned_default(tmp_path: Path) -> None:
    version = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    result = run("task", "generate", f"{SECRET}/{version}", "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    source = (tmp_path / "check_db_pass_secret.py").read_text()
    assert f"SECRET_VERSION = '{version}'" in source


def test_task_generate_latest_flag(tmp_path: Path) -> None:
    version = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    result = run(
        "task", "generate", f"{SECRET}/{version}", "--latest", "--out", str(tmp_path)
    )

    assert result.exit_code == 0, result.output
    assert version not in (tmp_path / "check_db_pass_secret.py").read_text()


def test_task_generate_out_is_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = run("task", "generate", SECRET, "--out", str(target))

    assert result.exit_code == 2
    assert "file" in result.stderr


def test_task_check_h12(tmp_path: Path) -> None:
    module = tmp_path / "user_task.py"
    module.write_text(
        "from flytekit import Secret, current_context, task\n"
        f'@task(secret_requests=[Secret(group="{SECRET}")])\n'
        "def t() -> str:\n"
        f'    return current_context().secrets.get("{SECRET}")\n'
    )
    result = run("task", "check", str(module))

    assert result.exit_code == 1
    assert f"{module}:4:" in result.stdout
    assert 'secrets.get("db-pass")' in result.stdout


def test_task_check_generated_clean(tmp_path: Path) -> None:
    run("task", "generate", SECRET, "--out", str(tmp_path))
    result = run("task", "check", str(tmp_path / "check_db_pass_secret.py"))

    assert result.exit_code == 0, result.output
    assert "no problems found" in result.stdout


def test_profile_set_and_show() -> None:
    result = run(
        "profile",
        "set",
        "--mode",
        "azure",
        "--subscription",
        "00000000111122223333444444444444",
        "--resource-group",
        "rg-union-dp",
        "--tenant",
        "11111111-1111-4111-8111-111111111111",
    )
    assert result.exit_code == 0, result.output

    shown = run("profile", "show", "--json")
    data = json.loads(shown.stdout)
    assert data["mode"] == "azure"
    assert data["subscription_id"] == "00000000-1111-2222-3333-444444444444"
    assert data["resource_group"] == "rg-union-dp"
    assert data["tenant_id"] == "11111111-1111-4111-8111-111111111111"

    text = run("profile", "show")
    assert "mode: azure" in text.stdout


def test_lab_prepare_azure_mode(
    monkeypatch: pytest.MonkeyPatch, kit_home: Path
) -> None:
    monkeypatch.setenv("AKV_ONBOARD_MODE", "azure")
    result = run("lab-prepare")

    assert result.exit_code == 0, result.output
    assert "not started" in result.stdout


def test_lab_prepare_azure_profile() -> None:
    run("profile", "set", "--mode", "azure")
    result = run("lab-prepare")

    assert result.exit_code == 0, result.output
    assert "not started" in result.stdout


def test_lab_prepare_bad_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AKV_ONBOARD_MODE", "cloud")
    result = run("lab-prepare")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: AKV_ONBOARD_MODE is 'cloud'")


def test_several_identities_listed() -> None:
    candidates = [
        IdentityCandidate(
            name=name,
            resource_group="rg-union-dp",
            resource_id=f"/subscriptions/s/resourcegroups/rg-union-dp/{name}",
            client_id=f"aaaaaaaa-0000-4000-8000-00000000000{index}",
            principal_id=f"bbbbbbbb-0000-4000-8000-00000000000{index}",
        )
        for index, name in enumerate(["flyteuser-a", "userflyterole"], start=1)
    ]
    error = several_identities_error(candidates)

    assert "2 identities" in error.message
    assert "bbbbbbbb-0000-4000-8000-000000000001" in error.message
    assert "bbbbbbbb-0000-4000-8000-000000000002" in error.message
    assert "--principal-id" in error.fix


def test_simulator_status_and_requests(simulator: SimulatorEndpoint) -> None:
    status = run("simulator", "status")
    assert status.exit_code == 0, status.output
    assert simulator.arm_url in status.stdout
    assert simulator.admin_key not in status.stdout

    run("find-identity")
    requests = run("simulator", "requests", "--json")
    entries = json.loads(requests.stdout)
    assert any("userAssignedIdentities" in entry["path"] for entry in entries)

    cleared = run("simulator", "requests", "--clear")
    assert cleared.exit_code == 0
    assert simulator.requests() == []


@pytest.mark.parametrize(("mode", "kept"), [("simulator", False), ("azure", True)])
def test_simulator_reset_forgets_assignment(
    simulator: SimulatorEndpoint, mode: str, kept: bool
) -> None:
    # A reset deletes the simulator's assignments, never a real one in Azure.
    assignment = (
        "/subscriptions/00000000-1111-2222-3333-444444444444/providers/"
        "Microsoft.Authorization/roleAssignments/b1782e9d-98d2-5dc0-b990-6e83ec885474"
    )
    save_profile(
        Profile(
            mode=mode,  # type: ignore[arg-type]
            subscription_id="00000000-1111-2222-3333-444444444444",
            assignment_id=assignment,
            assignment_created_by_kit=True,
        )
    )

    result = run("simulator", "reset")

    assert result.exit_code == 0, result.output
    assert (load_profile().assignment_id == assignment) is kept


def test_simulator_start_attaches(simulator: SimulatorEndpoint) -> None:
    result = run("simulator", "start")

    assert result.exit_code == 0, result.output
    assert f"pid {simulator.pid}" in result.stdout


def test_lab_prepare_simulator(simulator: SimulatorEndpoint) -> None:
    result = run("lab-prepare")

    assert result.exit_code == 0, result.output
    assert simulator.arm_url in result.stdout


def test_find_identity_records_single(simulator: SimulatorEndpoint) -> None:
    result = run("find-identity")

    assert result.exit_code == 0, result.output
    assert "userflyterole" in result.stdout
    assert PRINCIPAL in result.stdout
    assert "ci-deployer" not in result.stdout
    identity = load_profile().identity
    assert identity is not None
    assert identity.principal_id == PRINCIPAL


def test_find_identity_json(simulator: SimulatorEndpoint) -> None:
    result = run("find-identity", "--json")

    data = json.loads(result.stdout)
    assert [item["principal_id"] for item in data] == [PRINCIPAL]
    assert data[0]["client_id"] == CLIENT


def test_find_identity_none_in_group(simulator: SimulatorEndpoint) -> None:
    result = run("find-identity", "--resource-group", "rg-tools")

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "ci-deployer" in result.stderr


def test_grant_verify_revoke_flow(simulator: SimulatorEndpoint, kit_home: Path) -> None:
    found = run("find-identity")
    assert found.exit_code == 0, found.output

    dry = run("grant", SECRET, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "az role assignment create" in dry.stdout
    assert "--assignee-principal-type ServicePrincipal" in dry.stdout
    assert "Dry run" in dry.stdout
    assert run("verify", SECRET).exit_code == 1

    first = run("grant", SECRET)
    assert first.exit_code == 0, first.output
    assert "\ngranted: /subscriptions/" in first.stdout
    assert ASSIGNMENT_SUFFIX in first.stdout
    profile = load_profile()
    assert profile.assignment_id is not None
    assert profile.assignment_created_by_kit is True
    assert profile.secret_identifier == SECRET

    again = run("grant", SECRET)
    assert again.exit_code == 0, again.output
    assert f"already granted: {profile.assignment_id}" in again.stdout

    verified = run("verify", SECRET)
    assert verified.exit_code == 0, verified.output
    assert f"granted: {profile.assignment_id}" in verified.stdout

    revoked = run("revoke", SECRET)
    assert revoked.exit_code == 0, revoked.output
    assert "Deleted" in revoked.stdout
    assert load_profile().assignment_id is None

    after = run("verify", SECRET)
    assert after.exit_code == 1
    assert "Not granted" in after.stderr

    for result in (found, dry, first, again, verified, revoked, after):
        for canary in canaries(kit_home):
            assert canary not in result.output


def test_grant_json(simulator: SimulatorEndpoint) -> None:
    result = run("grant", SECRET, "--principal-id", PRINCIPAL, "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["result"]["status"] == "granted"
    assert data["plan"]["principal_type"] == "ServicePrincipal"
    assert data["plan"]["scope"].endswith("/vaults/kv-demo/secrets/db-pass")


def test_grant_client_id_swapped(simulator: SimulatorEndpoint) -> None:
    result = run("grant", SECRET, "--principal-id", CLIENT, "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"Principal:   {PRINCIPAL}" in result.stdout
    assert "client ID" in result.stderr


def test_grant_unknown_vault(simulator: SimulatorEndpoint) -> None:
    result = run("grant", "https://kv-nope.vault.azure.net/secrets/db-pass")

    assert result.exit_code == 1
    assert "Using the identity userflyterole" in result.stderr
    error = result.stderr[result.stderr.index("Error: ") :]
    assert error.startswith("Error: No key vault named 'kv-nope'")
    assert error.count("\n") == 2
    assert result.stdout == ""


def test_grant_access_policy_vault(simulator: SimulatorEndpoint) -> None:
    result = run(
        "grant",
        "https://kv-legacy.vault.azure.net/secrets/api-key",
        "--principal-id",
        PRINCIPAL,
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "access polic" in result.stderr


@pytest.mark.flyte
def test_task_run_before_and_after_grant(
    simulator: SimulatorEndpoint, tmp_path: Path, kit_home: Path
) -> None:
    before = run("task", "run", SECRET, "--out", str(tmp_path))
    assert before.exit_code == 1
    assert "access denied" in before.stdout
    assert "Command:" not in before.stdout

    run("grant", SECRET)
    after = run("-vv", "task", "run", SECRET, "--out", str(tmp_path))
    assert after.exit_code == 0, after.output
    assert "Passed:" in after.stdout
    assert "Running Execution on local." in after.stdout

    for canary in canaries(kit_home):
        assert canary not in before.output
        assert canary not in after.output


def test_simulator_foreground_and_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("AKV_ONBOARD_HOME", str(home))
    environment = dict(os.environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "akv_helpers.cli", "simulator", "start", "--foreground"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        endpoint = running_simulator()
        while endpoint is None and time.monotonic() < deadline:
            assert process.poll() is None
            time.sleep(0.05)
            endpoint = running_simulator()
        assert endpoint is not None
        # The simulator replaced the CLI process, so it has the CLI's pid.
        assert endpoint.pid == process.pid

        # Reap the simulator as soon as it exits, as a shell would, so that
        # `stop` does not see a zombie process that is still alive.
        reaper = threading.Thread(target=process.wait)
        reaper.start()
        stop = subprocess.run(
            [sys.executable, "-m", "akv_helpers.cli", "simulator", "stop"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert stop.returncode == 0, stop.stderr
        assert "Stopped the simulator." in stop.stdout
        reaper.join(timeout=30)
        assert process.returncode is not None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --- principal ID, client ID or resource ID -----------------------------------------

IDENTITY_RESOURCE_ID = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-union-dp"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)


def identity_list_requests(simulator: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [
        entry
        for entry in simulator.requests()
        if "userassignedidentities" in entry["path"].lower()
    ]


@pytest.mark.parametrize(
    ("typed", "principal", "name"),
    [
        pytest.param(
            "aaaaaaaa-0000-4000-8000-000000000011",
            "bbbbbbbb-0000-4000-8000-000000000012",
            "ci-deployer",
            id="ci-deployer-client",
        ),
        pytest.param(
            "aaaaaaaa-0000-4000-8000-000000000021",
            "bbbbbbbb-0000-4000-8000-000000000022",
            "aks-agentpool",
            id="agent-pool-client",
        ),
        pytest.param(IDENTITY_RESOURCE_ID, PRINCIPAL, "userflyterole", id="resource"),
        pytest.param(
            IDENTITY_RESOURCE_ID.upper(), PRINCIPAL, "userflyterole", id="resource-up"
        ),
        pytest.param(
            IDENTITY_RESOURCE_ID.replace("resourcegroups", "resourceGroups"),
            PRINCIPAL,
            "userflyterole",
            id="resource-camel",
        ),
    ],
)
@pytest.mark.parametrize("command", ["grant", "verify", "revoke"])
def test_principal_option_swaps_to_principal(
    simulator: SimulatorEndpoint, command: str, typed: str, principal: str, name: str
) -> None:
    arguments = [command, SECRET, "--principal-id", typed]
    if command == "grant":
        arguments.append("--dry-run")

    result = run(*arguments)

    assert result.exit_code in (0, 1), result.output
    assert "Error:" not in result.stderr
    assert "Note: " in result.stderr
    assert name in result.stderr
    assert f"principal ID {principal}" in result.stderr
    assert "the client ID is what workload identity uses" in result.stderr
    assert "the principal ID (object ID) is what RBAC uses" in result.stderr
    if command == "grant":
        assert f"Principal:   {principal}" in result.stdout
    if command == "verify":
        assert f"lets {principal} read" in result.stderr
    [listing] = identity_list_requests(simulator)
    assert "resourcegroups" not in listing["path"].lower()


def test_grant_principal_outside_profile_group(simulator: SimulatorEndpoint) -> None:
    assert run("profile", "set", "--resource-group", "rg-union-dp").exit_code == 0

    result = run(
        "grant",
        SECRET,
        "--principal-id",
        "aaaaaaaa-0000-4000-8000-000000000011",
        "--dry-run",
    )

    assert result.exit_code == 0, result.output
    assert "Principal:   bbbbbbbb-0000-4000-8000-000000000012" in result.stdout


def test_grant_unknown_guid_warns_and_passes(simulator: SimulatorEndpoint) -> None:
    unknown = "cccccccc-0000-4000-8000-000000000099"

    result = run("grant", SECRET, "--principal-id", unknown, "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"Principal:   {unknown}" in result.stdout
    assert "Warning: " in result.stderr
    assert "neither the principal ID nor the client ID" in result.stderr


def test_grant_typed_principal_no_note(simulator: SimulatorEndpoint) -> None:
    result = run("grant", SECRET, "--principal-id", PRINCIPAL, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Note: " not in result.stderr
    assert "Warning: " not in result.stderr


def test_principal_option_rejects_other_resource_id() -> None:
    vault_id = (
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg"
        "/providers/Microsoft.KeyVault/vaults/kv-demo"
    )

    result = run("grant", SECRET, "--principal-id", vault_id)

    assert result.exit_code == 2
    assert "resource ID" in result.stderr
    assert "Pass only" not in result.stderr


# --- grant: existing assignment, pre-flight checks ------------------------------------


def make_assignment(
    simulator: SimulatorEndpoint,
    scope: str,
    role_guid: str,
    principal_id: str,
    principal_type: str,
) -> str:
    """Create a role assignment with a random name, as another tool would."""
    import uuid

    from azure.mgmt.authorization.v2022_04_01.models import (
        RoleAssignmentCreateParameters,
    )

    from akv_helpers.connection import connect
    from akv_helpers.profile import Profile
    from akv_helpers.roles import role_definition_id

    connection = connect(Profile(mode="simulator"))
    subscription = connection.subscription_id
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=role_definition_id(role_guid, subscription),
        principal_id=principal_id,
        principal_type=principal_type,
    )
    created = connection.authorization().role_assignments.create(
        scope, str(uuid.uuid4()), parameters
    )
    return str(created.id)


SECRET_SCOPE = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
OPERATOR = "dddddddd-0000-4000-8000-000000000004"
MISSING_VERSION = "0123456789abcdef0123456789abcdef"


def test_grant_existing_other_name_reports_id(simulator: SimulatorEndpoint) -> None:
    existing = make_assignment(
        simulator, SECRET_SCOPE, SECRETS_USER, PRINCIPAL, "ServicePrincipal"
    )

    result = run("grant", SECRET, "--principal-id", PRINCIPAL)

    assert result.exit_code == 0, result.output
    assert f"already granted: {existing}" in result.stdout
    assert "None" not in result.stdout
    assert load_profile().assignment_id == existing
    assert load_profile().assignment_created_by_kit is False


def test_grant_pinned_missing_version_unchecked(simulator: SimulatorEndpoint) -> None:
    result = run(
        "grant",
        f"{SECRET}/{MISSING_VERSION}",
        "--principal-id",
        PRINCIPAL,
        "--dry-run",
    )

    assert result.exit_code == 0, result.output
    assert f"version {MISSING_VERSION} of db-pass could not be checked" in result.stderr
    assert "Key Vault Reader" in result.stderr


def test_grant_pinned_missing_version_warns(simulator: SimulatorEndpoint) -> None:
    vault_scope = SECRET_SCOPE.rsplit("/secrets/", 1)[0]
    make_assignment(simulator, vault_scope, KEY_VAULT_READER, OPERATOR, "User")

    missing = run(
        "grant",
        f"{SECRET}/{MISSING_VERSION}",
        "--principal-id",
        PRINCIPAL,
        "--dry-run",
    )
    older = run(
        "grant",
        f"{SECRET}/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "--principal-id",
        PRINCIPAL,
        "--dry-run",
    )

    assert missing.exit_code == 0, missing.output
    assert (
        f"Warning: version {MISSING_VERSION} of the secret db-pass was not found"
        in (missing.stderr)
    )
    assert "0f1e2d3c4b5a69788796a5b4c3d2e1f0" in missing.stderr
    assert "7c4a8d09ca3762af61e59520943dc264" in missing.stderr
    assert older.exit_code == 0, older.output
    assert "Warning:" not in older.stderr
    assert "not the current version 7c4a8d09ca3762af61e59520943dc264" in older.stderr


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [
        ("public-access-disabled", "public network access disabled"),
        ("firewall-deny", "firewall that denies by default"),
        ("secret-expired", "has expired"),
    ],
)
def test_grant_prints_preflight_notes(
    simulator: SimulatorEndpoint, scenario: str, expected: str
) -> None:
    simulator.apply_scenario(scenario)

    dry = run("grant", SECRET, "--principal-id", PRINCIPAL, "--dry-run")
    granted = run("grant", SECRET, "--principal-id", PRINCIPAL)

    assert dry.exit_code == 0, dry.output
    assert expected in dry.stderr
    assert granted.exit_code == 0, granted.output
    assert expected in granted.stderr
    assert "\ngranted: /subscriptions/" in granted.stdout


def test_grant_disabled_secret_rejected(simulator: SimulatorEndpoint) -> None:
    simulator.apply_scenario("secret-disabled")

    result = run("grant", SECRET, "--principal-id", PRINCIPAL, "--dry-run")

    assert result.exit_code == 1
    assert "Error: " in result.stderr
    assert "disabled" in result.stderr


def test_verify_access_policy_vault_as_grant(simulator: SimulatorEndpoint) -> None:
    legacy = "https://kv-legacy.vault.azure.net/secrets/api-key"

    verified = run("verify", legacy, "--principal-id", PRINCIPAL)
    granted = run("grant", legacy, "--principal-id", PRINCIPAL)

    assert verified.exit_code == 1
    assert "akv-onboard grant" not in verified.stderr
    assert verified.stderr.startswith("Error: ")
    assert verified.stderr == granted.stderr


# --- find-identity across the subscription -------------------------------------------


@pytest.mark.parametrize("flag", ["--subscription-wide", "--all-resource-groups"])
def test_find_identity_subscription_wide(
    simulator: SimulatorEndpoint, flag: str
) -> None:
    assert run("profile", "set", "--resource-group", "rg-tools").exit_code == 0

    result = run("find-identity", flag)

    assert result.exit_code == 0, result.output
    assert "userflyterole" in result.stdout
    [listing] = identity_list_requests(simulator)
    assert "resourcegroups" not in listing["path"].lower()


def test_find_identity_fix_names_real_option(simulator: SimulatorEndpoint) -> None:
    result = run("find-identity", "--resource-group", "rg-tools")

    assert result.exit_code == 1
    assert "--subscription-wide" in result.stderr
    assert "--subscription-wide" in all_options(("find-identity",))


def test_find_identity_group_and_wide_conflict() -> None:
    result = run("find-identity", "--resource-group", "rg-tools", "--subscription-wide")

    assert result.exit_code == 2
    assert "not both" in result.stderr


# --- commands quoted in the package's text -----------------------------------------

PACKAGE = Path(__file__).resolve().parents[1] / "akv_helpers"
_QUOTED_COMMAND = re.compile(r"akv-onboard((?: +[^\s`'\"(),;]+)*)")


def all_options(path: tuple[str, ...]) -> set[str]:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return {
        option
        for parameter in command.params
        for option in (*parameter.opts, *parameter.secondary_opts)
    } | {"--help", "-h"}


def source_texts(path: Path) -> Iterator[str]:
    """Yield the string constants of a module, with f-string fields as ``{}``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield "".join(
                part.value if isinstance(part, ast.Constant) else "{}"
                for part in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def quoted_commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for text in source_texts(path):
            for match in _QUOTED_COMMAND.finditer(text):
                words = [word.rstrip(".:") for word in match.group(1).split()]
                found.append((f"{path.relative_to(PACKAGE)}: {match.group(0)}", words))
    return found


def resolve_quoted(words: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """Split a quoted command into its command path and the words after it."""
    command: click.Command = main
    path: list[str] = []
    for index, word in enumerate(words):
        if isinstance(command, click.Group) and word in command.commands:
            command = command.commands[word]
            path.append(word)
            continue
        return tuple(path), words[index:]
    return tuple(path), []


def test_quoted_commands_found() -> None:
    texts = [text for text, _ in quoted_commands()]

    assert any("profile set --subscription" in text for text in texts)
    assert any("find-identity --subscription-wide" in text for text in texts)


@pytest.mark.parametrize(("where", "words"), quoted_commands(), ids=lambda v: "")
def test_quoted_command_options_exist(where: str, words: list[str]) -> None:
    path, rest = resolve_quoted(words)
    if not path:
        # Prose such as "the akv-onboard command line", not a command.
        assert not rest or not rest[0].startswith("-"), where
        return
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    if (
        isinstance(command, click.Group)
        and rest
        and rest[0].islower()
        and not rest[0].startswith("-")
    ):
        assert rest[0] in command.commands, f"{where}: no subcommand {rest[0]!r}"
    options = all_options(path)
    for word in rest:
        if word.startswith("-") and not word.startswith("-{"):
            assert word.split("=", 1)[0] in options, f"{where}: no option {word!r}"


def test_quoted_command_check_catches_wrong_option() -> None:
    path, rest = resolve_quoted(["profile", "set", "--subscription-id", "<id>"])

    assert path == ("profile", "set")
    assert "--subscription-id" not in all_options(path)
    assert "--subscription" in all_options(path)
    assert rest == ["--subscription-id", "<id>"]


# --- task: unwritable output, missing version ----------------------------------------


@pytest.mark.parametrize(
    ("make_out", "expected"),
    [
        pytest.param(lambda tmp: Path("/proc/x"), "/proc/x", id="proc"),
        pytest.param(
            lambda tmp: tmp / "file" / "sub", "file/sub", id="file-in-the-way"
        ),
    ],
)
def test_task_generate_unwritable_out(
    tmp_path: Path, make_out: Any, expected: str
) -> None:
    (tmp_path / "file").write_text("x")
    result = run("task", "generate", SECRET, "--out", str(make_out(tmp_path)))

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: Could not ")
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert "folder" in result.stderr.splitlines()[-1]


def test_task_generate_read_only_out() -> None:
    # Run as a user that the folder's mode applies to, which root is not.
    folder = shared_temp_folder()
    locked = folder / "locked"
    locked.mkdir(mode=0o555)
    home = folder / "home"
    home.mkdir()
    try:
        result = run_cli_unprivileged(
            "task", "generate", SECRET, "--out", str(locked / "sub"), home=home
        )
    finally:
        shutil.rmtree(folder)

    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: Could not ")
    assert "locked/sub" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "folder" in result.stderr.splitlines()[-1]


def test_task_run_missing_version_named(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    assert run("grant", SECRET, "--principal-id", PRINCIPAL).exit_code == 0

    result = run(
        "task",
        "run",
        f"{SECRET}/{MISSING_VERSION}",
        "--principal-id",
        PRINCIPAL,
        "--out",
        str(tmp_path),
    )

    assert result.exit_code == 1
    assert f"version {MISSING_VERSION} of the secret db-pass was not found" in (
        result.stdout
    )
    assert "0f1e2d3c4b5a69788796a5b4c3d2e1f0" in result.stdout
    assert "7c4a8d09ca3762af61e59520943dc264" in result.stdout
    assert f"akv-onboard task run {SECRET}`" in result.stdout


# --- simulator restarted by a command ------------------------------------------------


def test_command_says_simulator_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from akv_helpers.connection import stop_simulator

    home = tmp_path / "home"
    monkeypatch.setenv("AKV_ONBOARD_HOME", str(home))
    try:
        first = run("find-identity")
        second = run("find-identity")
    finally:
        stop_simulator(home)

    assert first.exit_code == 0, first.output
    assert "Started the simulator at https://127.0.0.1:" in first.stderr
    assert "because none was running" in first.stderr
    assert "Started the simulator" not in second.stderr


def save_identity_profile(principal_id: str) -> None:
    """Save a simulator profile whose identity has `principal_id` recorded."""
    from akv_helpers.profile import IdentityRef, Profile, save_profile

    save_profile(
        Profile(
            mode="simulator",
            identity=IdentityRef(
                name="userflyterole",
                resource_group="rg-union-dp",
                resource_id=(
                    "/subscriptions/00000000-1111-2222-3333-444444444444/"
                    "resourceGroups/rg-union-dp/providers/"
                    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
                ),
                client_id=CLIENT,
                principal_id=principal_id,
            ),
        )
    )


def assignment_puts(simulator: SimulatorEndpoint) -> list[str | None]:
    """Return the error code (or None) of each role-assignment PUT logged."""
    return [
        entry["error_code"]
        for entry in simulator.requests()
        if entry["method"] == "PUT" and "roleassignments/" in entry["path"].lower()
    ]


@pytest.mark.parametrize("typed", [None, CLIENT], ids=["profile", "typed-client-id"])
def test_grant_young_identity_retried(
    simulator: SimulatorEndpoint, typed: str | None
) -> None:
    simulator.apply_scenario("identity-replicating")
    simulator.configure(replication_attempts_remaining=1)
    save_identity_profile(PRINCIPAL)
    arguments = ["grant", SECRET]
    if typed is not None:
        arguments += ["--principal-id", typed]
    simulator.clear_requests()

    result = run(*arguments)

    assert result.exit_code == 0, result.output
    assert "\ngranted: /subscriptions/" in result.stdout
    assert assignment_puts(simulator) == ["PrincipalNotFound", None]


def test_grant_old_identity_not_retried(simulator: SimulatorEndpoint) -> None:
    simulator.apply_scenario("identity-old-wrong-id")
    # The profile contains the client ID where the principal ID belongs.
    save_identity_profile(CLIENT)
    simulator.clear_requests()

    result = run("grant", SECRET)

    assert result.exit_code == 1
    assert "PrincipalNotFound" in result.stderr
    assert "30 days old" in result.stderr
    assert "did not retry" in result.stderr
    assert "client ID" in result.stderr
    assert assignment_puts(simulator) == ["PrincipalNotFound"]


def test_task_run_waits_for_propagation(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    simulator.apply_scenario("grant-propagating")
    simulator.configure(propagation_seconds=2)

    result = run(
        "task", "run", SECRET, "--principal-id", PRINCIPAL, "--out", str(tmp_path)
    )

    assert result.exit_code == 0, result.output
    assert "Waiting for the grant to take effect" in result.stderr
    assert "Passed:" in result.stdout
    assert assignment_puts(simulator) == []


def test_task_run_wait_timeout_still_propagating(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    simulator.apply_scenario("grant-propagating")

    result = run(
        "task",
        "run",
        SECRET,
        "--principal-id",
        PRINCIPAL,
        "--out",
        str(tmp_path),
        "--wait-timeout",
        "1",
    )

    assert result.exit_code == 1
    assert "still propagating" in result.stdout
    assert "Do not grant again" in result.stdout
    assert "Waiting for the grant to take effect" in result.stderr
    assert assignment_puts(simulator) == []


def test_grant_reports_grant_when_verify_fails(simulator: SimulatorEndpoint) -> None:
    simulator.inject_fault("role_assignments.list", "503", count=50)

    result = CliRunner().invoke(
        main,
        ["grant", SECRET, "--principal-id", "bbbbbbbb-0000-4000-8000-000000000002"],
    )

    assert result.exit_code == 0, result.output
    assert "granted: /subscriptions/" in result.stdout
    assert "Warning: the grant was made" in result.stderr
    assert "do not grant again" in result.stderr
    kit_made = [
        item
        for item in simulator.state()["role_assignments"]
        if item["principal_id"] == "bbbbbbbb-0000-4000-8000-000000000002"
    ]
    assert len(kit_made) == 1


def test_grant_reports_secret_metadata_give_up(simulator: SimulatorEndpoint) -> None:
    simulator.inject_fault("secrets.get", "reset", count=50)

    result = CliRunner().invoke(
        main,
        ["grant", SECRET, "--principal-id", "bbbbbbbb-0000-4000-8000-000000000002"],
    )

    assert result.exit_code == 1
    assert "Error: Could not read the secret's metadata" in result.stderr
    assert "Traceback" not in result.output
    assert not [
        item
        for item in simulator.state()["role_assignments"]
        if item["principal_id"] == "bbbbbbbb-0000-4000-8000-000000000002"
    ]


@pytest.mark.parametrize(
    ("identifier", "cloud"),
    [
        pytest.param(
            "https://kv-demo.vault.azure.cn/secrets/db-pass", "AzureChinaCloud", id="cn"
        ),
        pytest.param(
            "https://kv-demo.vault.usgovcloudapi.net/secrets/db-pass",
            "AzureUSGovernment",
            id="usgov",
        ),
    ],
)
@pytest.mark.parametrize("command", ["grant", "verify", "revoke"])
def test_other_cloud_rejected_before_requests(
    simulator: SimulatorEndpoint, identifier: str, cloud: str, command: str
) -> None:
    simulator.clear_requests()

    result = run(command, identifier)

    assert result.exit_code == 1
    assert cloud in result.stderr
    assert "AzureCloud" in result.stderr
    assert [e for e in simulator.requests() if not e["path"].startswith("/_")] == []


def test_onboard_other_cloud_rejected(simulator: SimulatorEndpoint) -> None:
    from akv_helpers.assignments import onboard_secret
    from akv_helpers.connection import connect
    from akv_helpers.errors import InvalidSecretIdentifierError
    from akv_helpers.profile import Profile

    connection = connect(Profile(mode="simulator"))
    simulator.clear_requests()

    with pytest.raises(InvalidSecretIdentifierError, match="AzureChinaCloud"):
        onboard_secret(
            connection,
            "https://kv-demo.vault.azure.cn/secrets/db-pass",
            "bbbbbbbb-0000-4000-8000-000000000002",
        )
    assert [e for e in simulator.requests() if not e["path"].startswith("/_")] == []


def test_simulator_scenario_option_starts_and_applies(
    simulator: SimulatorEndpoint,
) -> None:
    result = run("simulator", "--scenario", "grant-reader-role")

    assert result.exit_code == 0, result.output
    assert "Applied the scenarios: grant-reader-role." in result.stdout
    assert simulator.state()["scenarios"] == ["grant-reader-role"]


def test_simulator_scenario_option_before_subcommand_rejected() -> None:
    result = CliRunner().invoke(main, ["simulator", "--scenario", "healthy", "status"])

    assert result.exit_code == 2
    assert "--scenario goes after the subcommand" in result.output


def test_task_run_leaves_current_folder_clean(
    simulator: SimulatorEndpoint, kit_home: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = run("task", "run", SECRET)

    assert list(tmp_path.iterdir()) == []
    assert (kit_home / "tasks" / "check_db_pass_secret.py").is_file()
    assert result.exit_code == 1
