"""Tests of the Flyte test task: rendering, layout, scrubbing and real pyflyte runs."""

from __future__ import annotations

import ast
import base64
import errno
import logging
import os
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from akv_helpers import assignments, flyte_task
from akv_helpers.clouds import PUBLIC
from akv_helpers.connection import Connection, SimulatorEndpoint, connect
from akv_helpers.errors import InvalidNameError, TaskRunError
from akv_helpers.flyte_task import (
    Fingerprint,
    LocalRunResult,
    check_task_code,
    fingerprint,
    flytekit_lookup,
    lay_out_secret,
    remote_run_commands,
    render_task_module,
    run_task_locally,
    scrub,
    write_task_module,
)
from akv_helpers.identifiers import SecretIdentifier, parse_secret_identifier
from akv_helpers.profile import Profile
from akv_helpers.vaults import find_vault

LATEST = "https://kv-demo.vault.azure.net/secrets/db-pass"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PINNED = f"{LATEST}/{VERSION}"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"


def module_constants(tree: ast.Module) -> dict[str, object]:
    constants: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                assert isinstance(target, ast.Name)
                constants[target.id] = node.value.value
    return constants


def resolve(node: ast.expr, constants: dict[str, object]) -> object:
    if isinstance(node, ast.Name):
        return constants[node.id]
    if isinstance(node, ast.Attribute):
        return ast.unparse(node)
    assert isinstance(node, ast.Constant)
    return node.value


def secret_requests(tree: ast.Module) -> list[dict[str, object]]:
    """Return the keyword arguments of every Secret(...) call, resolved."""
    constants = module_constants(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Secret"
        ):
            assert not node.args
            found.append(
                {item.arg: resolve(item.value, constants) for item in node.keywords}
            )
    return found


def get_calls(tree: ast.Module) -> list[tuple[list[object], dict[str, object]]]:
    constants = module_constants(tree)
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
        ):
            arguments = [resolve(item, constants) for item in node.args]
            keywords = {
                str(item.arg): resolve(item.value, constants) for item in node.keywords
            }
            calls.append((arguments, keywords))
    return calls


def imported_modules(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.module is not None
            names.add(node.module.split(".")[0])
    return names


def test_render_latest_requests_group_only() -> None:
    source = render_task_module(parse_secret_identifier(LATEST), pinned=False)
    compile(source, "check_db_pass_secret.py", "exec")
    tree = ast.parse(source)

    assert secret_requests(tree) == [
        {"group": LATEST, "mount_requirement": "Secret.MountType.FILE"}
    ]
    assert get_calls(tree) == [(["db-pass"], {})]
    assert "SECRET_VERSION" not in module_constants(tree)


def test_render_pinned_passes_group_version() -> None:
    source = render_task_module(parse_secret_identifier(PINNED), pinned=True)
    compile(source, "check_db_pass_secret.py", "exec")
    tree = ast.parse(source)

    assert secret_requests(tree) == [
        {
            "group": LATEST,
            "group_version": VERSION,
            "mount_requirement": "Secret.MountType.FILE",
        }
    ]
    assert get_calls(tree) == [(["db-pass"], {"group_version": VERSION})]


def test_render_versioned_identifier_latest() -> None:
    source = render_task_module(parse_secret_identifier(PINNED), pinned=False)
    tree = ast.parse(source)

    assert secret_requests(tree)[0]["group"] == LATEST
    assert "group_version" not in secret_requests(tree)[0]
    assert VERSION not in source


def test_render_pinned_without_version_rejected() -> None:
    with pytest.raises(ValueError, match="version"):
        render_task_module(parse_secret_identifier(LATEST), pinned=True)


def test_render_module_is_standalone() -> None:
    source = render_task_module(parse_secret_identifier(PINNED), pinned=True)
    tree = ast.parse(source)

    assert imported_modules(tree) == {"hashlib", "flytekit"}
    docstring = ast.get_docstring(tree)
    assert docstring is not None
    assert "pyflyte run --remote check_db_pass_secret.py check_secret" in docstring
    assert "union run --remote check_db_pass_secret.py check_secret" in docstring
    assert f"secrets/db-pass/{VERSION}" in docstring
    assert "FLYTE_SECRETS_FILE_PREFIX= \\\n" in docstring
    workflows = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) == "workflow" for d in node.decorator_list)
    ]
    assert workflows == ["check_secret"]


def test_render_uses_only_parsed_values() -> None:
    # The parser lowercases, so text as typed never reaches the module.
    identifier = parse_secret_identifier(
        "  HTTPS://KV-Demo.Vault.Azure.Net/secrets/DB-Pass/"
        "0F1E2D3C4B5A69788796A5B4C3D2E1F0/ "
    )
    source = render_task_module(identifier, pinned=True)
    tree = ast.parse(source)

    assert secret_requests(tree)[0]["group"] == LATEST
    assert get_calls(tree) == [(["db-pass"], {"group_version": VERSION})]
    assert "DB-Pass" not in source
    assert "KV-Demo" not in source


@pytest.mark.parametrize(
    ("vault_name", "name"),
    [
        ("kv-demo", "a"),
        ("kv-demo", "9-lives"),
        ("a1-b2-c3", "x" * 127),
        ("kvdemo", "db--pass-"),
    ],
)
def test_render_unusual_names(vault_name: str, name: str) -> None:
    identifier = SecretIdentifier(vault_name=vault_name, name=name, version=VERSION)
    source = render_task_module(identifier, pinned=True)
    compile(source, "module.py", "exec")
    tree = ast.parse(source)

    assert secret_requests(tree)[0]["group"] == identifier.group_uri
    assert get_calls(tree) == [([name], {"group_version": VERSION})]
    file_name = flyte_task.module_file_name(identifier)
    assert file_name.removesuffix(".py").isidentifier()


def test_render_rejects_quote_in_name() -> None:
    # A hand-built identifier that bypassed parsing still cannot inject code.
    identifier = SecretIdentifier(vault_name="kv-demo", name="db-pass")
    object.__setattr__(identifier, "name", 'x"""\nimport os\n"""')
    with pytest.raises(ValueError, match="unexpected character"):
        render_task_module(identifier, pinned=False)


def test_write_module_file_name(tmp_path: Path) -> None:
    identifier = parse_secret_identifier(PINNED)
    path = write_task_module(identifier, tmp_path / "out", pinned=True)

    assert path == (tmp_path / "out" / "check_db_pass_secret.py").resolve()
    assert path.read_text(encoding="utf-8") == render_task_module(
        identifier, pinned=True
    )
    assert [p.name for p in path.parent.iterdir()] == ["check_db_pass_secret.py"]


def test_write_module_replaces_file(tmp_path: Path) -> None:
    identifier = parse_secret_identifier(PINNED)
    write_task_module(identifier, tmp_path, pinned=True)
    path = write_task_module(identifier, tmp_path, pinned=False)

    requests = secret_requests(ast.parse(path.read_text(encoding="utf-8")))
    assert requests == [{"group": LATEST, "mount_requirement": "Secret.MountType.FILE"}]


def test_write_module_rejects_file_as_directory(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    with pytest.raises(TaskRunError, match="is not a directory"):
        write_task_module(
            parse_secret_identifier(LATEST), not_a_directory, pinned=False
        )


def test_write_module_rejects_symlinked_directory(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(TaskRunError, match="is not a directory"):
        write_task_module(
            parse_secret_identifier(LATEST), tmp_path / "link", pinned=False
        )


def test_lay_out_latest(tmp_path: Path) -> None:
    directory = tmp_path / "secrets"
    path = lay_out_secret(directory, parse_secret_identifier(LATEST), "value-1\n")

    assert path == directory.resolve() / "db-pass"
    assert path.read_text(encoding="utf-8") == "value-1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_lay_out_pinned_lowercased(tmp_path: Path) -> None:
    identifier = parse_secret_identifier(
        "https://kv-demo.vault.azure.net/secrets/DB-PASS/0F1E2D3C4B5A69788796A5B4C3D2E1F0"
    )
    directory = tmp_path / "secrets"
    directory.mkdir(mode=0o755)
    path = lay_out_secret(directory, identifier, "value-2")

    assert path == directory.resolve() / "db-pass" / VERSION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_lay_out_latest_and_pinned_collide(tmp_path: Path) -> None:
    lay_out_secret(tmp_path, parse_secret_identifier(LATEST), "value")
    with pytest.raises(TaskRunError, match="a file and a pinned version a folder"):
        lay_out_secret(tmp_path, parse_secret_identifier(PINNED), "value")


@pytest.fixture
def flytekit_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Import flytekit with the temporary directory in `tmp_path`.

    flytekit creates a ``flyte-*`` folder in the temporary directory on first
    import and never removes it.
    """
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    import flytekit  # noqa: F401


@pytest.mark.usefixtures("flytekit_imported")
def test_lay_out_matches_flytekit_lookup(tmp_path: Path) -> None:
    from flytekit.configuration import SecretsConfig
    from flytekit.core.context_manager import SecretsManager

    for text, version in ((LATEST, None), (PINNED, VERSION)):
        identifier = parse_secret_identifier(text)
        directory = tmp_path / ("pinned" if version else "latest")
        manager = SecretsManager(
            SecretsConfig(default_dir=str(directory), file_prefix="")
        )
        path = lay_out_secret(directory, identifier, "value")

        assert str(path) == manager.get_secrets_file("db-pass", group_version=version)
        assert manager.get("db-pass", group_version=version) == "value"


@pytest.mark.usefixtures("flytekit_imported")
def test_h13_flytekit_env_var_and_file() -> None:
    from flytekit.configuration import SecretsConfig
    from flytekit.core.context_manager import SecretsManager

    manager = SecretsManager(
        SecretsConfig(default_dir="/etc/flyte/secrets", file_prefix="")
    )
    lookup = flytekit_lookup(parse_secret_identifier(LATEST))

    assert lookup.env_vars == ("_FSEC_DB-PASS", "DB-PASS")
    assert manager.get_secrets_env_var("db-pass") == "_FSEC_DB-PASS"
    assert lookup.file_path == "/etc/flyte/secrets/db-pass"
    assert manager.get_secrets_file("db-pass") == lookup.file_path
    assert lookup.exportable is False


def test_h13_bash_cannot_export_hyphen() -> None:
    result = subprocess.run(
        ["bash", "-c", "export _FSEC_DB-PASS=x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "not a valid identifier" in result.stderr


def test_h13_pinned_lookup() -> None:
    lookup = flytekit_lookup(parse_secret_identifier(PINNED), "/s")

    assert lookup.env_vars[0] == f"_FSEC_DB-PASS_{VERSION.upper()}"
    assert lookup.file_path == f"/s/db-pass/{VERSION}"


def test_fingerprint_value() -> None:
    # sha256(b"hello") starts with 2cf24dba5fb0a30e (the well-known test vector).
    assert fingerprint("hello") == Fingerprint(5, "2cf24dba5fb0")
    assert str(fingerprint("hello")) == "length=5 sha256=2cf24dba5fb0"
    assert fingerprint("héllo").length == 5


def test_fingerprint_parse_last() -> None:
    text = "length=1 sha256=aaaaaaaaaaaa\nnoise\n  length=5 sha256=2cf24dba5fb0\n"
    assert Fingerprint.parse(text) == Fingerprint(5, "2cf24dba5fb0")
    assert Fingerprint.parse("no fingerprint") is None


def test_scrub_forms() -> None:
    value = "AKVSIM-CANARY-abc123_XYZ"
    data = value.encode()
    text = "\n".join(
        [
            f"plain {value}",
            f"hex {data.hex()} {data.hex().upper()}",
            f"b64 {base64.b64encode(data).decode()}",
            f"url {base64.urlsafe_b64encode(data).decode().rstrip('=')}",
        ]
    )
    scrubbed = scrub(text, value)

    assert value not in scrubbed
    assert data.hex() not in scrubbed
    assert data.hex().upper() not in scrubbed
    assert base64.b64encode(data).decode() not in scrubbed
    assert scrubbed.count("[redacted]") == 5


def test_scrub_stripped_and_escaped() -> None:
    value = ' pa"ss\n'
    scrubbed = scrub(f"read 'pa\"ss' and {value!r}", value)

    assert 'pa"ss' not in scrubbed
    assert 'pa\\"ss' not in scrubbed


def test_remote_run_commands(tmp_path: Path) -> None:
    path = write_task_module(parse_secret_identifier(LATEST), tmp_path, pinned=False)
    commands = remote_run_commands(path, project="my-project", domain="production")

    assert commands == [
        f"pyflyte run --remote --project my-project --domain production {path} "
        "check_secret",
        f"union run --remote --project my-project --domain production {path} "
        "check_secret",
    ]


def test_remote_run_commands_bad_project(tmp_path: Path) -> None:
    path = write_task_module(parse_secret_identifier(LATEST), tmp_path, pinned=False)
    with pytest.raises(InvalidNameError, match="project"):
        remote_run_commands(path, project="x; rm -rf /")


def test_h12_get_with_uri() -> None:
    source = (
        "from flytekit import Secret, current_context, task\n"
        "@task(secret_requests=[Secret(\n"
        '    group="https://kv-demo.vault.azure.net/secrets/db-pass",\n'
        "    mount_requirement=Secret.MountType.FILE)])\n"
        "def t() -> str:\n"
        '    return current_context().secrets.get("https://kv-demo.vault.azure.net/secrets/db-pass")\n'
    )
    findings = check_task_code(source)

    assert len(findings) == 1
    assert findings[0].line == 6
    assert 'secrets.get("db-pass")' in findings[0].fix


def test_check_code_problems() -> None:
    source = (
        "import flytekit\n"
        "from flytekit import Secret\n"
        f'GROUP = "{PINNED}"\n'
        "a = Secret(group=GROUP)\n"
        'b = Secret(group="db-pass", mount_requirement=Secret.MountType.ENV_VAR)\n'
        f'c = Secret(group="{LATEST}", env_var="DB")\n'
        f'd = Secret(group="{LATEST}", group_version="{VERSION}")\n'
        'flytekit.current_context().secrets.get("other")\n'
        '{"x": 1}.get("x")\n'
    )
    messages = [(f.line, f.message) for f in check_task_code(source)]

    assert any(
        line == 4 and "puts the version in the group" in m for line, m in messages
    )
    assert any(line == 5 and "not a Key Vault secret URI" in m for line, m in messages)
    assert any(line == 6 and "ignores env_var" in m for line, m in messages)
    assert any(line == 7 and "latest and a pinned version" in m for line, m in messages)
    assert any(line == 8 and "no Secret request" in m for line, m in messages)
    assert all(line != 9 for line, _ in messages)


def test_check_code_generated_module_clean() -> None:
    for text, pinned in ((LATEST, False), (PINNED, True)):
        source = render_task_module(parse_secret_identifier(text), pinned=pinned)
        assert check_task_code(source) == []


def pyflyte_run(module: Path, secrets_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("_FSEC_", "FLYTE_"))
    }
    environment["FLYTE_SECRETS_DEFAULT_DIR"] = str(secrets_dir)
    environment["FLYTE_SECRETS_FILE_PREFIX"] = ""
    environment["COLUMNS"] = "500"
    # flytekit leaves flyte-* folders in the temporary directory.
    environment["TMPDIR"] = str(secrets_dir.parent)
    return subprocess.run(
        flyte_task.pyflyte_command(module, "check_secret"),
        cwd=module.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.flyte
@pytest.mark.parametrize(("text", "pinned"), [(LATEST, False), (PINNED, True)])
def test_pyflyte_reads_laid_out_secret(tmp_path: Path, text: str, pinned: bool) -> None:
    identifier = parse_secret_identifier(text)
    module = write_task_module(identifier, tmp_path / "module", pinned=pinned)
    value = "laid-out-value-" + os.urandom(6).hex()
    lay_out_secret(tmp_path / "secrets", identifier, value + "\n")

    result = pyflyte_run(module, tmp_path / "secrets")

    assert result.returncode == 0, result.stdout + result.stderr
    assert Fingerprint.parse(result.stdout) == fingerprint(value)
    assert value not in result.stdout + result.stderr


@pytest.mark.flyte
def test_pyflyte_missing_file_fails(tmp_path: Path) -> None:
    identifier = parse_secret_identifier(PINNED)
    module = write_task_module(identifier, tmp_path / "module", pinned=True)
    # The latest version's file does not satisfy a pinned request.
    lay_out_secret(tmp_path / "secrets", parse_secret_identifier(LATEST), "value")

    result = pyflyte_run(module, tmp_path / "secrets")

    assert result.returncode != 0
    assert f"db-pass/{VERSION}" in result.stdout + result.stderr
    assert Fingerprint.parse(result.stdout) is None


def test_pyflyte_command_uses_this_interpreter() -> None:
    command = flyte_task.pyflyte_command(Path("/m/check.py"), "check_secret")

    assert command[0] in (
        str(Path(sys.executable).with_name("pyflyte")),
        sys.executable,
    )
    assert command[-3:] == ["run", "/m/check.py", "check_secret"]


# --- runs against the simulator ----------------------------------------------------


def simulator_canaries(kit_home: Path) -> list[str]:
    """Return every canary value in the simulator's state file."""
    text = (kit_home / "simulator" / "state.json").read_text(encoding="utf-8")
    found = re.findall(r"AKVSIM-CANARY-[A-Za-z0-9_-]+", text)
    assert found, "the state file holds no canary"
    return found


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> SimulatorEndpoint:
    """Return the reseeded simulator of the shared `fresh_sim` fixture."""
    try:
        return request.getfixturevalue("fresh_sim")  # type: ignore[no-any-return]
    except pytest.FixtureLookupError:
        pytest.skip("the fresh_sim fixture is not defined in tests/conftest.py")


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return a folder for the run's private folder, to see what a run leaves."""
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def result_text(result: LocalRunResult) -> str:
    return "\n".join(
        [repr(result), result.message, result.fix, result.output, *result.command]
    )


@pytest.mark.flyte
def test_run_before_and_after_grant(
    simulator: SimulatorEndpoint,
    tmp_path: Path,
    kit_home: Path,
    private_tempdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="akv_helpers")
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path / "module", pinned=False)

    before = run_task_locally(connection, identifier, PRINCIPAL, module)
    assert before.ok is False
    assert before.stage == "fetch"
    assert before.message.startswith(f"access denied: the identity {PRINCIPAL}")
    assert "02-grant-access" in before.fix
    assert before.command == []

    vault = find_vault(connection, identifier.vault_name)
    plan = assignments.plan_grant(
        connection.subscription_id, vault, identifier.name, PRINCIPAL
    )
    assert assignments.grant(connection, plan).status == "granted"

    # flytekit reads these before the file; the run must not pass them on.
    monkeypatch.setenv("_FSEC_DB-PASS", "from-the-environment")
    monkeypatch.setenv("DB-PASS", "from-the-environment")
    monkeypatch.setenv("DB_PASS", "from-the-environment")
    after = run_task_locally(
        connection, identifier, PRINCIPAL, module, work_dir=private_tempdir
    )
    assert after.ok is True, after.output
    assert after.stage == "done"
    assert after.matched is True
    assert after.fingerprint == after.expected_fingerprint
    assert after.access_checked is True
    assert after.command[-2:] == [str(module), "check_secret"]
    assert list(private_tempdir.iterdir()) == []

    assert after.fingerprint != fingerprint("from-the-environment")
    for canary in simulator_canaries(kit_home):
        assert canary not in result_text(before)
        assert canary not in result_text(after)
        assert canary not in caplog.text


@pytest.mark.flyte
def test_run_pinned_version(
    simulator: SimulatorEndpoint, tmp_path: Path, kit_home: Path
) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(PINNED)
    module = write_task_module(identifier, tmp_path, pinned=True)
    vault = find_vault(connection, identifier.vault_name)
    plan = assignments.plan_grant(
        connection.subscription_id, vault, identifier.name, PRINCIPAL
    )
    assignments.grant(connection, plan)

    result = run_task_locally(connection, identifier, PRINCIPAL, module)

    assert result.ok is True, result.output
    assert f"<secrets dir>/db-pass/{VERSION}" in result.message
    fingerprints = {fingerprint(c) for c in simulator_canaries(kit_home)}
    assert result.fingerprint in fingerprints


def test_run_access_policy_vault(simulator: SimulatorEndpoint, tmp_path: Path) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(
        "https://kv-legacy.vault.azure.net/secrets/api-key"
    )
    module = write_task_module(identifier, tmp_path, pinned=False)

    result = run_task_locally(connection, identifier, PRINCIPAL, module)

    assert result.ok is False
    assert result.stage == "fetch"
    assert "access policies" in result.message
    assert "RBAC" in result.fix


def test_run_firewall_denies(simulator: SimulatorEndpoint, tmp_path: Path) -> None:
    simulator.admin("POST", "/_simulator/scenario", {"name": "firewall-deny"})
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path, pinned=False)

    result = run_task_locally(connection, identifier, PRINCIPAL, module)

    assert result.ok is False
    assert result.stage == "fetch"
    assert "firewall" in result.message


@pytest.mark.flyte
def test_run_timeout_cleans_up(
    simulator: SimulatorEndpoint, tmp_path: Path, private_tempdir: Path
) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path / "module", pinned=False)
    vault = find_vault(connection, identifier.vault_name)
    assignments.grant(
        connection,
        assignments.plan_grant(
            connection.subscription_id, vault, identifier.name, PRINCIPAL
        ),
    )

    result = run_task_locally(
        connection,
        identifier,
        PRINCIPAL,
        module,
        timeout=0.01,
        work_dir=private_tempdir,
    )

    assert result.ok is False
    assert result.stage == "run"
    assert "did not finish" in result.message
    assert list(private_tempdir.iterdir()) == []


@pytest.mark.flyte
def test_run_azure_mode_checks_shape(tmp_path: Path, private_tempdir: Path) -> None:
    from azure.identity import AzureCliCredential

    # An Azure-mode connection that sends no request: the local run only needs
    # its mode, because the kit cannot read as the workload identity there.
    connection = Connection(
        mode="azure",
        cloud=PUBLIC,
        tenant_id=None,
        subscription_id="00000000-1111-2222-3333-444444444444",
        credential=AzureCliCredential(),
        arm_url="https://management.azure.com",
        connection_verify=True,
    )
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path / "module", pinned=False)

    result = run_task_locally(
        connection, identifier, PRINCIPAL, module, work_dir=private_tempdir
    )

    assert result.ok is True, result.output
    assert result.access_checked is False
    assert result.message.startswith("only the code's shape was checked, not access")
    assert "pyflyte run --remote" in result.fix
    assert list(private_tempdir.iterdir()) == []


@pytest.mark.flyte
def test_run_wrong_module_fails(
    simulator: SimulatorEndpoint, tmp_path: Path, private_tempdir: Path
) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    vault = find_vault(connection, identifier.vault_name)
    assignments.grant(
        connection,
        assignments.plan_grant(
            connection.subscription_id, vault, identifier.name, PRINCIPAL
        ),
    )
    # A module for another secret reads a file that the run did not lay out.
    other = parse_secret_identifier("https://kv-demo.vault.azure.net/secrets/other")
    module = write_task_module(other, tmp_path / "module", pinned=False)

    result = run_task_locally(
        connection, identifier, PRINCIPAL, module, work_dir=private_tempdir
    )

    assert result.ok is False
    assert result.stage == "run"
    assert result.message.startswith("pyflyte failed with exit code")
    assert f"{private_tempdir}/akv-onboard-run-" in result.output
    assert "/secrets/other" in result.output
    assert list(private_tempdir.iterdir()) == []


# --- scrubbing case variants -------------------------------------------------------


def test_scrub_case_variants() -> None:
    value = "AKVSIM-CANARY-abc123_XYZ"
    variants = [value.upper(), value.lower(), value.swapcase(), value.title()]
    encoded = []
    for variant in (value.upper(), value.lower()):
        data = variant.encode()
        encoded += [
            data.hex(),
            data.hex().upper(),
            base64.b64encode(data).decode(),
            base64.urlsafe_b64encode(data).decode().rstrip("="),
        ]
    text = "\n".join(f"line {form} end" for form in [*variants, *encoded])

    scrubbed = scrub(text, value)

    for form in [*variants, *encoded]:
        assert form not in scrubbed
    assert scrubbed.count("[redacted]") == len(variants) + len(encoded)
    assert scrubbed.count("line ") == len(variants) + len(encoded)


def test_scrub_unicode_case_variant() -> None:
    value = "stra\u00dfe-geheim-123"

    scrubbed = scrub(f"a {value.upper()} b {value.casefold()} c", value)

    assert value.upper() not in scrubbed
    assert value.casefold() not in scrubbed


def test_scrub_output_withholds_split_upper_case() -> None:
    value = "AKVSIM-CANARY-abcdefghijkl"
    upper = value.upper()
    output = f"start {upper[:10]}\n{upper[10:]} end"

    assert "withheld" in flyte_task.scrub_output(output, value)


# --- write errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_out",
    [
        pytest.param(lambda tmp: Path("/proc/x"), id="proc"),
        pytest.param(lambda tmp: tmp / "file" / "sub", id="file-in-the-way"),
    ],
)
def test_write_module_os_error_is_kit_error(tmp_path: Path, make_out: object) -> None:
    (tmp_path / "file").write_text("x")
    assert callable(make_out)
    out = make_out(tmp_path)

    with pytest.raises(TaskRunError) as caught:
        write_task_module(parse_secret_identifier(LATEST), out, pinned=False)

    assert str(out) in caught.value.message
    assert caught.value.message.startswith("Could not create the output directory")
    assert "folder" in caught.value.fix


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "disk space"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only"),
        (PermissionError(errno.EACCES, "Permission denied"), "permissions"),
    ],
)
def test_write_error_names_path_and_fix(
    tmp_path: Path, error: OSError, fix: str
) -> None:
    made = flyte_task.write_error(tmp_path / "x.py", error, "write the module")

    assert made.message == (
        f"Could not write the module at {tmp_path / 'x.py'}: {error.strerror}."
    )
    assert fix in made.fix


def test_lay_out_secret_os_error_hides_value(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    identifier = parse_secret_identifier(PINNED)
    value = "AKVSIM-CANARY-not-in-the-message"

    with pytest.raises(TaskRunError) as caught:
        lay_out_secret(tmp_path / "file" / "secrets", identifier, value)

    assert "file/secrets" in caught.value.message
    assert value not in str(caught.value)
    assert caught.value.__cause__ is None


# --- missing pinned version --------------------------------------------------------

MISSING_VERSION = "0123456789abcdef0123456789abcdef"


def test_run_missing_version_names_it(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(f"{LATEST}/{MISSING_VERSION}")
    module = write_task_module(identifier, tmp_path, pinned=True)
    vault = find_vault(connection, identifier.vault_name)
    plan = assignments.plan_grant(
        connection.subscription_id, vault, identifier.name, PRINCIPAL
    )
    assignments.grant(connection, plan)

    result = run_task_locally(connection, identifier, PRINCIPAL, module)

    assert result.ok is False
    assert result.stage == "fetch"
    assert f"version {MISSING_VERSION} of the secret db-pass" in result.message
    assert "was not found in the vault kv-demo" in result.message
    assert VERSION in result.message
    assert "7c4a8d09ca3762af61e59520943dc264" in result.message
    assert LATEST in result.fix


def test_run_missing_version_without_grant_lists_nothing(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(f"{LATEST}/{MISSING_VERSION}")
    module = write_task_module(identifier, tmp_path, pinned=True)

    result = run_task_locally(connection, identifier, PRINCIPAL, module)

    assert result.ok is False
    assert "access denied" in result.message


def test_run_missing_secret_names_vault(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(
        "https://kv-demo.vault.azure.net/secrets/no-such-secret"
    )
    module = write_task_module(identifier, tmp_path, pinned=False)
    simulator.apply_scenario("grant-vault-scope")

    result = run_task_locally(connection, identifier, PRINCIPAL, module)

    assert result.ok is False
    assert result.message == (
        "the secret no-such-secret was not found in the vault kv-demo"
    )


# --- the task panel's message ------------------------------------------------------


@pytest.mark.flyte
def test_task_panel_success_single_period(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    from akv_helpers.profile import IdentityRef, save_profile
    from akv_helpers.ui.task import TaskPanel

    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    vault = find_vault(connection, identifier.vault_name)
    plan = assignments.plan_grant(
        connection.subscription_id, vault, identifier.name, PRINCIPAL
    )
    assignments.grant(connection, plan)
    identity = IdentityRef(
        "userflyterole",
        "rg-union-dp",
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/"
        "rg-union-dp/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
        "userflyterole",
        "aaaaaaaa-0000-4000-8000-000000000001",
        PRINCIPAL,
    )
    save_profile(Profile(mode="simulator", secret_identifier=LATEST, identity=identity))
    try:
        panel = TaskPanel(connection, tmp_path)
        panel._w_run.click()
        status = panel._w_status.value
    finally:
        save_profile(Profile(mode="simulator"))

    assert "Passed:" in status, status
    assert "exercised." in status
    assert ".." not in status.replace("...", "")


def kit_assignment_count(simulator: SimulatorEndpoint) -> int:
    return sum(
        1
        for item in simulator.state()["role_assignments"]
        if str(item["principal_id"]).lower() == PRINCIPAL
    )


@pytest.mark.flyte
def test_run_waits_for_propagating_grant(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    simulator.apply_scenario("grant-propagating")
    simulator.configure(propagation_seconds=2)
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path, pinned=False)
    lines: list[str] = []

    result = run_task_locally(
        connection,
        identifier,
        PRINCIPAL,
        module,
        wait_timeout=30,
        progress=lines.append,
    )

    assert result.ok is True, result.message
    assert result.stage == "done"
    assert lines
    assert lines[0].startswith("Waiting for the grant to take effect")
    assert "Assignment: (not found)" in lines[0]
    assert result.duration_seconds >= 1.0
    assert kit_assignment_count(simulator) == 1


def test_run_wait_times_out_still_propagating(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    # The scenario's grant takes far longer to propagate than the wait.
    simulator.apply_scenario("grant-propagating")
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path, pinned=False)
    lines: list[str] = []

    result = run_task_locally(
        connection, identifier, PRINCIPAL, module, wait_timeout=1, progress=lines.append
    )

    assert result.ok is False
    assert result.stage == "fetch"
    assert "still propagating" in result.message
    assert "Do not grant again" in result.fix
    assert result.command == []
    assert any("Waiting for the grant to take effect" in line for line in lines)
    assert kit_assignment_count(simulator) == 1


def test_run_old_grant_denied_not_waited(
    simulator: SimulatorEndpoint, tmp_path: Path
) -> None:
    # Without the kit's assignment, a denial is not waited for.
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(LATEST)
    module = write_task_module(identifier, tmp_path, pinned=False)
    lines: list[str] = []

    result = run_task_locally(
        connection,
        identifier,
        PRINCIPAL,
        module,
        wait_timeout=30,
        progress=lines.append,
    )

    assert result.ok is False
    assert result.message.startswith(f"access denied: the identity {PRINCIPAL}")
    assert lines == []
    assert result.duration_seconds < 10
    assert kit_assignment_count(simulator) == 0
