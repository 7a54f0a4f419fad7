"""``akv-onboard doctor`` and the simulator's scenario commands, on the simulator."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from support import flat, run_cli_unprivileged, shared_temp_folder, state_canaries
from support import run_cli as run

from akv_helpers.connection import SimulatorEndpoint

pytestmark = pytest.mark.usefixtures("no_profile")

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
H12_TASK = (
    "from flytekit import Secret, current_context, task\n"
    "@task(secret_requests=[Secret(\n"
    f'    group="{SECRET}",\n'
    "    mount_requirement=Secret.MountType.FILE)])\n"
    "def t() -> str:\n"
    f'    return current_context().secrets.get("{SECRET}")\n'
)


def canaries(kit_home: Path) -> list[str]:
    """Return every canary value in the simulator's state file."""
    found = state_canaries(kit_home)
    assert found, "the state file holds no canary"
    return found


def doctor_json(*arguments: str) -> tuple[Result, dict[str, Any]]:
    result = run("doctor", SECRET, "--json", *arguments)
    return result, json.loads(result.stdout)


def findings_by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in data["findings"]}


def test_doctor_healthy_exit_zero(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("healthy")
    result = run("doctor", SECRET)

    assert result.exit_code == 0, result.output
    assert "No check failed." in result.stdout
    assert "FAILED" not in result.stdout
    assert "identifier.format" in result.stdout


def test_doctor_access_policies_exit_one(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    _, data = doctor_json()
    result = run("doctor", SECRET)
    finding = findings_by_id(data)["vault.permission-model"]

    assert result.exit_code == 1
    assert finding["status"] == "failed"
    assert finding["fix"]
    assert "[FAILED] vault.permission-model" in result.stdout
    assert flat(finding["fix"]) in flat(result.stdout)


def test_doctor_reader_role_exit_one(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("grant-reader-role")
    result, data = doctor_json("--identity", PRINCIPAL)
    finding = findings_by_id(data)["grant.role-cannot-read"]
    text = run("doctor", SECRET, "--identity", PRINCIPAL)

    assert result.exit_code == 1
    assert finding["status"] == "failed"
    assert "Key Vault Reader" in finding["observed"]
    assert "grant.role-cannot-read" in text.stdout
    assert flat(finding["fix"]) in flat(text.stdout)


def test_doctor_failures_listed_first(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    result = run("doctor", SECRET)
    table = result.stdout.split("\n\n")[1].splitlines()[1:]
    statuses = [row.split("  ")[0] for row in table]

    assert statuses[0] == "FAILED"
    assert statuses.index("OK") > statuses.index("FAILED")
    assert "OK" not in statuses[: statuses.count("FAILED")]


def test_doctor_json_parses(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("healthy")
    result, data = doctor_json()
    findings = findings_by_id(data)

    assert result.exit_code == 0
    assert data["failed"] is False
    assert data["mode"] == "simulator"
    assert data["inputs"]["identifier_text"] == SECRET
    assert findings["identifier.format"]["status"] == "ok"
    assert findings["task.get-with-uri"]["status"] == "not applicable"
    assert data["resolved"]["secret URI"] == SECRET


def test_doctor_json_failed_flag(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("secret-disabled")
    result, data = doctor_json()

    assert result.exit_code == 1
    assert data["failed"] is True
    assert findings_by_id(data)["secret.disabled"]["status"] == "failed"


def test_doctor_bad_identifier_finding(fresh_sim: SimulatorEndpoint) -> None:
    result = run("doctor", "http://kv-demo.vault.azure.net/secrets/db-pass")

    assert result.exit_code == 1
    assert "[FAILED] identifier.format" in result.stdout
    assert "https://" in result.stdout


def test_doctor_task_file(fresh_sim: SimulatorEndpoint, tmp_path: Path) -> None:
    fresh_sim.apply_scenario("healthy")
    task_file = tmp_path / "my_task.py"
    task_file.write_text(H12_TASK, encoding="utf-8")
    result = run("doctor", SECRET, "--task", str(task_file))

    assert result.exit_code == 1
    assert "[FAILED] task.get-with-uri" in result.stdout
    assert 'secrets.get("db-pass")' in flat(result.stdout)


def test_doctor_report_without_canary(
    fresh_sim: SimulatorEndpoint, kit_home: Path, tmp_path: Path
) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    report_dir = tmp_path / "reports"
    result = run("doctor", SECRET, "--report", str(report_dir))
    written = sorted(report_dir.iterdir())

    assert result.exit_code == 1
    assert [path.suffix for path in written] == [".json", ".md"]
    for path in written:
        assert str(path) in flat(result.stdout)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text(encoding="utf-8")
        assert "vault.permission-model" in text
        for canary in canaries(kit_home):
            assert canary not in text
    for canary in canaries(kit_home):
        assert canary not in result.output


def test_doctor_json_report_paths_on_stderr(
    fresh_sim: SimulatorEndpoint, tmp_path: Path
) -> None:
    fresh_sim.apply_scenario("healthy")
    result = run("doctor", SECRET, "--json", "--report", str(tmp_path))

    assert json.loads(result.stdout)["failed"] is False
    assert "Report written to" in result.stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["--wait-for-propagation", "-1"],
        ["--wait-for-propagation", "soon"],
        ["--task", "/nonexistent/task.py"],
        ["--unknown"],
    ],
    ids=["negative-wait", "text-wait", "missing-task", "unknown-option"],
)
def test_doctor_bad_params_exit_two(arguments: list[str]) -> None:
    result = run("doctor", SECRET, *arguments)

    assert result.exit_code == 2


def test_doctor_needs_secret_id() -> None:
    assert run("doctor").exit_code == 2


def test_scenario_command_applies(fresh_sim: SimulatorEndpoint) -> None:
    result = run("simulator", "scenario", "secret-disabled", "grant-reader-role")
    status = run("simulator", "status")

    assert result.exit_code == 0, result.output
    assert fresh_sim.state()["scenarios"] == ["secret-disabled", "grant-reader-role"]
    assert "Active scenarios: secret-disabled, grant-reader-role" in status.stdout


def test_scenario_command_reset_first(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("secret-disabled")
    result = run("simulator", "scenario", "--reset", "firewall-deny")

    assert result.exit_code == 0, result.output
    assert fresh_sim.state()["scenarios"] == ["firewall-deny"]


def test_scenario_command_unknown_exit_two(fresh_sim: SimulatorEndpoint) -> None:
    result = run("simulator", "scenario", "no-such-case")

    assert result.exit_code == 2
    assert "no-such-case" in result.output
    assert "grant-reader-role" in result.output
    assert fresh_sim.state()["scenarios"] == []


def test_scenarios_listed(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("healthy")
    listed = run("simulator", "scenarios", "--json")
    table = run("simulator", "scenarios")
    entries = {item["name"]: item for item in json.loads(listed.stdout)}

    assert entries["healthy"]["active"] is True
    assert entries["grant-reader-role"]["active"] is False
    assert "Key Vault Reader" in entries["grant-reader-role"]["description"]
    assert set(entries) == set(fresh_sim.scenarios())
    assert "demo-vault-access-policies" in table.stdout


def test_start_with_scenario(fresh_sim: SimulatorEndpoint) -> None:
    result = run(
        "simulator", "start", "--scenario", "secret-expired", "--scenario", "healthy"
    )

    assert result.exit_code == 0, result.output
    assert f"pid {fresh_sim.pid}" in result.stdout
    assert fresh_sim.state()["scenarios"] == ["secret-expired", "healthy"]
    assert "Active scenarios: secret-expired, healthy" in result.stdout


def test_start_foreground_scenario_rejected() -> None:
    result = run("simulator", "start", "--foreground", "--scenario", "healthy")

    assert result.exit_code == 2


CI_DEPLOYER_CLIENT = "aaaaaaaa-0000-4000-8000-000000000011"
CI_DEPLOYER_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000012"
CI_DEPLOYER_RESOURCE_ID = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-tools/"
    "providers/Microsoft.ManagedIdentity/userAssignedIdentities/ci-deployer"
)


@pytest.mark.parametrize(
    "typed",
    [CI_DEPLOYER_CLIENT, CI_DEPLOYER_RESOURCE_ID, "ci-deployer"],
    ids=["client-id", "resource-id", "name"],
)
def test_doctor_identity_resolved_across_subscription(
    fresh_sim: SimulatorEndpoint, typed: str
) -> None:
    result, data = doctor_json("--identity", typed)

    assert data["resolved"]["principal ID"] == CI_DEPLOYER_PRINCIPAL
    assert f"principal ID {CI_DEPLOYER_PRINCIPAL}" in result.stderr
    assert findings_by_id(data)["grant.missing"]["status"] == "failed"


def test_doctor_identity_union_client_id_reported(
    fresh_sim: SimulatorEndpoint,
) -> None:
    _, data = doctor_json("--identity", "aaaaaaaa-0000-4000-8000-000000000001")

    assert data["resolved"]["principal ID"] == PRINCIPAL
    assert findings_by_id(data)["identity.wrong-id-kind"]["status"] == "warning"


@pytest.mark.parametrize(
    "typed",
    ["bbbbbbbb-0000-4000-8000-00000000000", "not an/identity"],
    ids=["short-guid", "bad-name"],
)
def test_doctor_identity_bad_value_exit_two(typed: str) -> None:
    result = run("doctor", SECRET, "--identity", typed)

    assert result.exit_code == 2
    assert "principal ID" in result.stderr


def test_doctor_several_identities_exit_one(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("several-identities")
    result = run("doctor", SECRET)

    assert result.exit_code == 1, result.output
    assert "No check failed" not in result.stdout
    assert "could not be checked" in flat(result.stdout)
    assert "several identities match" in flat(result.stdout)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--identity", "not_a_name"],
        [f"{SECRET}/{'0' * 32}"],
    ],
    ids=["unknown-name", "missing-pinned-version"],
)
def test_doctor_unchecked_exit_one(
    fresh_sim: SimulatorEndpoint, arguments: list[str]
) -> None:
    secret = arguments[0] if arguments[0].startswith("https://") else SECRET
    options = arguments if secret == SECRET else arguments[1:]
    result = run("doctor", secret, *options)

    assert result.exit_code == 1, result.output
    assert "No check failed" not in result.stdout


def test_doctor_task_syntax_error_exit_one(
    fresh_sim: SimulatorEndpoint, tmp_path: Path
) -> None:
    fresh_sim.apply_scenario("healthy")
    task = tmp_path / "task.py"
    task.write_text("def t(:\n", encoding="utf-8")
    result = run("doctor", SECRET, "--task", str(task))

    assert result.exit_code == 1, result.output
    assert "No check failed" not in result.stdout


def test_doctor_help_states_exit_codes() -> None:
    result = run("doctor", "--help")

    assert "Exit code 0 only when every check" in flat(result.stdout)


def test_doctor_admin_handoff_lines_kept(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("operator-reader")
    result = run("doctor", SECRET, "--identity", PRINCIPAL)
    lines = result.stdout.splitlines()

    assert any(
        line.strip() == 'resource "azurerm_role_assignment" "secret_read" {'
        for line in lines
    )
    assert any(line.strip() == '"principalType": "ServicePrincipal"' for line in lines)
    assert any(line.strip() == "Terraform:" for line in lines)


def test_doctor_private_link_note_shown(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenarios(["healthy", "public-access-disabled"])
    result = run("doctor", SECRET)

    assert "[WARNING] vault.private-link" in result.stdout
    assert "private network" in flat(result.stdout)


@pytest.mark.parametrize(
    ("make_path", "problem"),
    [
        (lambda tmp: tmp / "missing.py", "does not exist"),
        (lambda tmp: tmp, "is a folder, not a file"),
    ],
    ids=["missing", "folder"],
)
def test_doctor_task_file_rule(tmp_path: Path, make_path, problem: str) -> None:  # type: ignore[no-untyped-def]
    result = run("doctor", SECRET, "--task", str(make_path(tmp_path)))

    assert result.exit_code == 2
    assert problem in result.stderr
    assert "Expected the path of an existing, readable Python file" in result.stderr


def test_doctor_task_file_unreadable() -> None:
    # Run as a user that the file's mode applies to, which root is not.
    folder = shared_temp_folder()
    task_file = folder / "task.py"
    task_file.write_text("from flytekit import task\n", encoding="utf-8")
    task_file.chmod(0o000)
    home = folder / "home"
    home.mkdir()
    try:
        result = run_cli_unprivileged(
            "doctor", SECRET, "--task", str(task_file), home=home
        )
    finally:
        shutil.rmtree(folder)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot be read (permission denied)" in result.stderr
    assert "Make the file readable" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
