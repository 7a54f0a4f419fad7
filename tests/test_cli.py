"""Tests of the `akv-onboard` command line, with click's CliRunner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from akv_helpers.cli import main, running_simulator, several_identities_error
from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.identities import IdentityCandidate
from akv_helpers.profile import load_profile

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
ASSIGNMENT_SUFFIX = "/providers/Microsoft.Authorization/roleAssignments/"


def canaries(kit_home: Path) -> list[str]:
    """Return every canary value in the simulator's state file."""
    state = json.loads((kit_home / "simulator" / "state.json").read_text())
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith("AKVSIM-CANARY-"):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(state)
    assert found, "the state file holds no canary"
    return found


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> SimulatorEndpoint:
    """Return the reseeded simulator of the shared `fresh_sim` fixture."""
    try:
        return request.getfixturevalue("fresh_sim")  # type: ignore[no-any-return]
    except pytest.FixtureLookupError:
        pytest.skip("the fresh_sim fixture is not defined in tests/conftest.py")


@pytest.fixture(autouse=True)
def empty_profile(kit_home: Path) -> Iterator[None]:
    """Start and end every test without a profile file."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield
    (kit_home / "profile.json").unlink(missing_ok=True)


def run(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


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
