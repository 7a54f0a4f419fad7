"""The Flyte test task: generate it, lay its secret out, run it locally with pyflyte.

The generated module reads one Key Vault secret the way a task on Union does and
returns its fingerprint (length and SHA-256 prefix), never the value. A local run
imitates Union's Azure secret injector. In simulator mode it fetches the value as
the data-plane identity, so the simulator really evaluates the role assignment.
It then writes the value to ``<dir>/<name>`` (or ``<dir>/<name>/<version>``) in a
private temporary folder and runs ``pyflyte run`` with ``FLYTE_SECRETS_DEFAULT_DIR``
pointing there.

The source of the module comes from `akv_helpers._task_source`, and the layout,
fingerprint and scrubbing helpers from `akv_helpers._secret_layout`. None of them
imports flytekit, because pyflyte runs in a subprocess.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from akv_helpers._secret_layout import (
    DEFAULT_SECRETS_DIR,
    FLYTEKIT_ENV_PREFIX,
    Fingerprint,
    SecretLookup,
    fingerprint,
    flytekit_lookup,
    lay_out_secret,
    scrub,
    scrub_output,
    write_error,
)
from akv_helpers._task_fetch import _fetch_value
from akv_helpers._task_module import (
    _entity_to_run,
    remote_run_commands,
    write_task_module,
)
from akv_helpers._task_result import LocalRunResult, ProgressCallback
from akv_helpers._task_source import (
    TASK_NAME,
    WORKFLOW_NAME,
    TaskCodeFinding,
    check_task_code,
    module_file_name,
    render_task_module,
)
from akv_helpers.identifiers import require_cloud
from akv_helpers.propagation import PROPAGATION_WINDOW_SECONDS

if TYPE_CHECKING:
    from akv_helpers.connection import Connection
    from akv_helpers.identifiers import SecretIdentifier

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "TASK_NAME",
    "WORKFLOW_NAME",
    "Fingerprint",
    "LocalRunResult",
    "SecretLookup",
    "TaskCodeFinding",
    "check_task_code",
    "fingerprint",
    "flytekit_lookup",
    "lay_out_secret",
    "module_file_name",
    "remote_run_commands",
    "render_task_module",
    "run_task_locally",
    "scrub",
    "write_task_module",
]

logger = logging.getLogger(__name__)

RUN_DIRECTORY_PREFIX = "akv-onboard-run-"
# Stands in for the value in Azure mode, where the kit cannot read as the identity.
PLACEHOLDER_VALUE = "akv-onboard-placeholder-not-the-secret"


def pyflyte_command(module_path: Path, entity: str) -> list[str]:
    """Return the command that runs `entity` of the module locally with pyflyte."""
    console_script = Path(sys.executable).with_name("pyflyte")
    if console_script.is_file() and os.access(console_script, os.X_OK):
        program = [str(console_script)]
    else:
        program = [sys.executable, "-m", "flytekit.clis.sdk_in_container.pyflyte"]
    return [*program, "run", str(module_path), entity]


def _child_environment(
    identifier: SecretIdentifier, secrets_dir: Path
) -> dict[str, str]:
    """Return the environment of pyflyte: the injector's variables and no shortcut.

    Variables that flytekit would read before the file (``_FSEC_*`` and, during
    local execution, the unprefixed name) are dropped, so the task reads the file
    that was laid out.
    """
    lookup = flytekit_lookup(identifier)
    dropped = {name.upper() for name in lookup.env_vars}
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith((FLYTEKIT_ENV_PREFIX, "FLYTE_SECRETS_"))
        and name.upper() not in dropped
    }
    environment["FLYTE_SECRETS_DEFAULT_DIR"] = str(secrets_dir)
    environment["FLYTE_SECRETS_FILE_PREFIX"] = ""
    environment["PYTHONUTF8"] = "1"
    # Wide, plain output: rich wraps tracebacks at the terminal width, and a value
    # split across lines would escape `scrub`.
    environment["COLUMNS"] = "500"
    environment["NO_COLOR"] = "1"
    return environment


def _run_pyflyte(
    command: list[str],
    environment: dict[str, str],
    cwd: Path,
    timeout: float,
) -> tuple[int | None, str]:
    """Run pyflyte in its own process group; return its exit code and output.

    The exit code is None when the run timed out and the group was killed.
    """
    process = subprocess.Popen(  # noqa: S603 (fixed program, no shell)
        command,
        cwd=cwd,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output or ""
    return process.returncode, output or ""


def run_task_locally(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    module_path: Path,
    *,
    timeout: float = 300,
    work_dir: Path | None = None,
    wait_timeout: float = PROPAGATION_WINDOW_SECONDS,
    progress: ProgressCallback | None = None,
) -> LocalRunResult:
    """Run the test task with pyflyte, with the secret laid out as on Union.

    In simulator mode the value is read as the data-plane identity first. When
    that read is denied, the task does not start: on Union the injector's init
    container fails the same way, before the task container starts. When the
    denial is ``ForbiddenByRbac`` and the kit's role assignment is younger than
    Azure's propagation window, the run waits for at most `wait_timeout`
    seconds and reads again. It never creates an assignment. In Azure mode the
    kit cannot act as the identity, so it lays out a placeholder and checks
    only the shape of the code.

    Parameters
    ----------
    connection
        Connection from `akv_helpers.connection.connect`.
    identifier
        Parsed secret identifier the module reads.
    principal_id
        Principal ID of the data-plane identity.
    module_path
        Generated module.
    timeout
        Seconds pyflyte may run before it is killed.
    work_dir
        Folder in which the run's private folder is created and removed. The
        default is ``/dev/shm`` where it is writable, so the value stays in
        memory as it does on Union, else the system's temporary directory.
    wait_timeout
        Maximum time to wait for a new grant to take effect, in seconds;
        defaults to the propagation window, 600 s.
    progress
        Called with a plain-words line at each step of that wait.

    Returns
    -------
    LocalRunResult
        The outcome; the value itself is in none of its fields.
    """
    require_cloud(identifier, connection.cloud.name)
    started = time.monotonic()
    module_path = Path(module_path).resolve()
    entity = _entity_to_run(module_path)
    simulated = connection.mode == "simulator"

    if simulated:
        fetched = _fetch_value(
            connection, identifier, principal_id, wait_timeout, progress
        )
        if isinstance(fetched, LocalRunResult):
            return _with_duration(fetched, started)
        value = fetched
    else:
        value = PLACEHOLDER_VALUE

    expected = fingerprint(value.strip())
    command = pyflyte_command(module_path, entity)
    parent = work_dir or _memory_dir()
    try:
        root = Path(tempfile.mkdtemp(prefix=RUN_DIRECTORY_PREFIX, dir=parent))
    except OSError as error:
        where = Path(parent or tempfile.gettempdir())
        raise write_error(where, error, "create the run's private folder") from None
    try:
        root.chmod(0o700)
        secrets_dir = root / "secrets"
        scratch = root / "tmp"
        scratch.mkdir(mode=0o700)
        laid_out = lay_out_secret(secrets_dir, identifier, value)
        environment = _child_environment(identifier, secrets_dir)
        environment["TMPDIR"] = str(scratch)
        logger.info("Running %s", shlex.join(command))
        returncode, output = _run_pyflyte(
            command, environment, module_path.parent, timeout
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)

    output = scrub_output(output, value)
    relative = laid_out.relative_to(secrets_dir).as_posix()
    printed = Fingerprint.parse(output)
    matched = printed == expected
    base = LocalRunResult(
        ok=False,
        stage="run",
        message="",
        fingerprint=printed,
        expected_fingerprint=expected,
        matched=matched,
        command=command,
        output=output,
        access_checked=simulated,
    )
    if returncode is None:
        result = replace(
            base,
            message=f"pyflyte did not finish within {timeout:g} seconds",
            fix="Run the command by hand to see where it stops.",
        )
    elif returncode != 0 or printed is None:
        result = replace(
            base,
            message=f"pyflyte failed with exit code {returncode}",
            fix="Read the output; `akv-onboard task generate` rewrites the module.",
        )
    elif not matched:
        result = replace(
            base,
            message=(
                f"the task printed the fingerprint {printed}, but the value laid "
                f"out has {expected}"
            ),
            fix="Check that the module reads the requested secret and version.",
        )
    elif simulated:
        result = replace(
            base,
            ok=True,
            stage="done",
            message=(
                f"the task read {identifier.name} (fingerprint {printed}): the "
                f"identity {principal_id} was allowed to read it, and the value was "
                f"laid out as <secrets dir>/{relative}, as Union's Azure injector "
                "does. Workload identity on Union was not exercised."
            ),
        )
    else:
        result = replace(
            base,
            ok=True,
            stage="done",
            message=(
                "only the code's shape was checked, not access: the kit cannot act "
                "as the data-plane identity, so it laid out a placeholder as "
                f"<secrets dir>/{relative} and the task read it"
            ),
            fix="Run the task on Union to check access: "
            + " or ".join(remote_run_commands(module_path)),
        )
    logger.info("Local run of %s: %s", module_path.name, result.stage)
    return _with_duration(result, started)


def _memory_dir() -> str | None:
    """Return ``/dev/shm`` if it is a writable folder, else None."""
    shared_memory = "/dev/shm"  # noqa: S108 (mkdtemp makes a private folder in it)
    if os.path.isdir(shared_memory) and os.access(shared_memory, os.W_OK | os.X_OK):
        return shared_memory
    return None


def _with_duration(result: LocalRunResult, started: float) -> LocalRunResult:
    return replace(result, duration_seconds=round(time.monotonic() - started, 3))
