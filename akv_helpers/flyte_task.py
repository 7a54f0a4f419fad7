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

import ast
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from akv_helpers._secret_layout import (
    DEFAULT_SECRETS_DIR,
    FLYTEKIT_ENV_PREFIX,
    Fingerprint,
    SecretLookup,
    check_directory,
    fingerprint,
    flytekit_lookup,
    lay_out_secret,
    scrub,
    scrub_output,
    write_error,
)
from akv_helpers._task_source import (
    TASK_NAME,
    WORKFLOW_NAME,
    TaskCodeFinding,
    check_task_code,
    module_file_name,
    render_task_module,
)
from akv_helpers.errors import InvalidNameError, TaskRunError
from akv_helpers.propagation import PROPAGATION_WINDOW_SECONDS

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient

    from akv_helpers.connection import Connection
    from akv_helpers.identifiers import SecretIdentifier
    from akv_helpers.vaults import VaultInfo

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

_FLYTE_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")

Stage = Literal["fetch", "run", "done"]
ProgressCallback = Callable[[str], None]


def write_task_module(
    identifier: SecretIdentifier, directory: Path, *, pinned: bool
) -> Path:
    """Write the test task module for the secret into `directory`.

    Parameters
    ----------
    identifier
        Parsed secret identifier.
    directory
        Destination directory, created if missing.
    pinned
        Request the identifier's version instead of the latest.

    Returns
    -------
    Path
        Path of ``check_<name>_secret.py`` inside `directory`.

    Raises
    ------
    TaskRunError
        If `directory` is not a directory or the file would land outside it.
    """
    source = render_task_module(identifier, pinned=pinned)
    directory = check_directory(Path(directory), "output directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        root = directory.resolve()
    except OSError as error:
        raise write_error(directory, error, "create the output directory") from None
    target = (root / module_file_name(identifier)).resolve()
    if target.parent != root:
        raise TaskRunError(
            f"The module path {target} is outside {root}.",
            "Choose another output directory.",
        )

    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=root
        )
    except OSError as error:
        raise write_error(target, error, "write the test task module") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(source)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise write_error(target, error, "write the test task module") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("Wrote the test task module %s", target)
    return target


def remote_run_commands(
    module_path: Path,
    project: str = "flytesnacks",
    domain: str = "development",
) -> list[str]:
    """Return the commands that run the test task on Flyte or Union.

    Parameters
    ----------
    module_path
        Path of the generated module.
    project
        Flyte project.
    domain
        Flyte domain.

    Returns
    -------
    list[str]
        The ``pyflyte run --remote`` and the ``union run --remote`` command lines,
        quoted for a POSIX shell.

    Raises
    ------
    InvalidNameError
        If `project` or `domain` is not a Flyte project or domain name.
    """
    for kind, name in (("project", project), ("domain", domain)):
        if not _FLYTE_NAME.fullmatch(name):
            raise InvalidNameError(
                f"The Flyte {kind} name {name!r} is invalid.",
                "Use lowercase letters, digits, hyphens and underscores.",
                value=name,
                expected="lowercase letters, digits, '-' and '_', at most 63",
            )
    entity = _entity_to_run(Path(module_path))
    arguments = ["--project", project, "--domain", domain, str(module_path), entity]
    return [
        shlex.join(["pyflyte", "run", "--remote", *arguments]),
        shlex.join(["union", "run", "--remote", *arguments]),
    ]


def _entity_to_run(module_path: Path) -> str:
    """Return the first workflow of the module, else its first task."""
    try:
        tree = ast.parse(module_path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise TaskRunError(
            f"Cannot read the task module {module_path}: {type(error).__name__}.",
            "Generate it again with `akv-onboard task generate`.",
        ) from None

    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = (
                    decorator.func if isinstance(decorator, ast.Call) else decorator
                )
                label = target.attr if isinstance(target, ast.Attribute) else None
                if isinstance(target, ast.Name):
                    label = target.id
                if label in ("workflow", "task"):
                    found.setdefault(label, node.name)
    for label in ("workflow", "task"):
        if label in found:
            return found[label]
    raise TaskRunError(
        f"The module {module_path} defines no Flyte workflow or task.",
        "Generate it again with `akv-onboard task generate`.",
    )


@dataclass(frozen=True)
class LocalRunResult:
    """Outcome of a local run of the test task.

    Attributes
    ----------
    ok
        Whether the task read the secret and printed the expected fingerprint.
    stage
        ``fetch`` (reading the value as the identity failed, so the task did not
        start), ``run`` (pyflyte failed or printed another fingerprint) or
        ``done``.
    message
        What happened, in plain words.
    fix
        What to do next; empty when nothing is needed.
    fingerprint
        Fingerprint the task printed.
    expected_fingerprint
        Fingerprint of the value that was laid out.
    matched
        Whether the two fingerprints are equal.
    command
        The pyflyte command line; empty when pyflyte did not start.
    output
        pyflyte's combined output, scrubbed of the value.
    duration_seconds
        Wall time of the whole run.
    access_checked
        Whether the run read the value as the data-plane identity. False in Azure
        mode, where only the code's shape is checked.
    """

    ok: bool
    stage: Stage
    message: str
    fix: str = ""
    fingerprint: Fingerprint | None = None
    expected_fingerprint: Fingerprint | None = None
    matched: bool = False
    command: list[str] = field(default_factory=list)
    output: str = ""
    duration_seconds: float = 0.0
    access_checked: bool = True


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


def _access_denied_result(
    identifier: SecretIdentifier, principal_id: str, inner_code: str | None
) -> LocalRunResult:
    if inner_code == "AccessDenied":
        return LocalRunResult(
            ok=False,
            stage="fetch",
            message=(
                f"access denied: the vault {identifier.vault_name} uses access "
                f"policies, and none lets the identity {principal_id} read "
                f"{identifier.name}"
            ),
            fix=(
                "Switch the vault to the Azure RBAC permission model and grant the "
                "role in 02-grant-access, or add an access policy with secret get "
                "for the identity."
            ),
        )
    return LocalRunResult(
        ok=False,
        stage="fetch",
        message=(
            f"access denied: the identity {principal_id} has no role assignment "
            f"that allows reading {identifier.name} yet"
        ),
        fix=(
            "Grant it the role Key Vault Secrets User on the secret in "
            "02-grant-access (or `akv-onboard grant`). If you granted it just now, "
            "wait for the assignment to take effect (Azure documents up to 10 "
            "minutes) and run again."
        ),
    )


@dataclass(frozen=True)
class _RbacDenied:
    """Key Vault denied the identity's read with ``ForbiddenByRbac``."""

    message: str


def _fetch_as_identity(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    vault: VaultInfo,
) -> str | LocalRunResult | _RbacDenied:
    """Read the value as the identity, as the injector's init container does."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from akv_helpers.http_errors import (
        describe_http_error,
        describe_transport_error,
        error_codes,
    )

    if not vault.vault_uri:
        raise TaskRunError(
            f"The vault {vault.name} has no vault URI in its properties.",
            "Check the vault in the Azure portal or the simulator's state.",
        )
    client = connection.secret_client(
        vault.vault_uri, credential=connection.identity_credential(principal_id)
    )
    try:
        with client:
            secret = client.get_secret(identifier.name, identifier.version)
    except ClientAuthenticationError as error:
        return LocalRunResult(
            ok=False,
            stage="fetch",
            message=(
                f"no token for the identity {principal_id}: "
                f"{type(error).__name__} from the sign-in"
            ),
            fix="Check the principal ID with `akv-onboard find-identity`.",
        )
    except HttpResponseError as error:
        code, inner_code = error_codes(error)
        logger.info(
            "Reading %s as %s failed: %s %s/%s",
            identifier.name,
            principal_id,
            error.status_code,
            code,
            inner_code,
        )
        if error.status_code == 403 and inner_code == "ForbiddenByRbac":
            return _RbacDenied(str(error.message or ""))
        if error.status_code == 403 and inner_code == "AccessDenied":
            return _access_denied_result(identifier, principal_id, inner_code)
        if inner_code == "ForbiddenByFirewall":
            message = (
                f"the firewall of the vault {identifier.vault_name} denies the "
                "reader's network"
            )
            fix = (
                "Allow the network of the Union cluster in the vault's firewall "
                "(Networking in the Azure portal)."
            )
        elif inner_code == "ForbiddenByConnection":
            message = (
                f"the vault {identifier.vault_name} has public network access disabled"
            )
            fix = "Reach it through a private endpoint in the cluster's network."
        elif inner_code == "SecretDisabled" or code == "SecretDisabled":
            message = f"the secret {identifier.name} is disabled"
            fix = "Enable it in the Azure portal, or choose an enabled version."
        elif code == "SecretNotFound":
            reader = connection.secret_client(
                vault.vault_uri, credential=connection.identity_credential(principal_id)
            )
            return _not_found_result(identifier, reader)
        else:
            described = describe_http_error(
                error, _fetch_action(identifier, principal_id)
            )
            message, fix = described.message, described.fix
        return LocalRunResult(ok=False, stage="fetch", message=message, fix=fix)
    except (ServiceRequestError, ServiceResponseError) as error:
        described = describe_transport_error(
            error, _fetch_action(identifier, principal_id)
        )
        return LocalRunResult(
            ok=False, stage="fetch", message=described.message, fix=described.fix
        )
    return secret.value or ""


def _fetch_action(identifier: SecretIdentifier, principal_id: str) -> str:
    return f"read {identifier.name} as the identity {principal_id}"


def _not_found_result(
    identifier: SecretIdentifier, reader: SecretClient
) -> LocalRunResult:
    """Describe a ``SecretNotFound``, naming the version and the versions seen."""
    if identifier.version is None:
        return LocalRunResult(
            ok=False,
            stage="fetch",
            message=(
                f"the secret {identifier.name} was not found in the vault "
                f"{identifier.vault_name}"
            ),
            fix="Check the secret name, or copy the identifier from the portal.",
        )
    versions = _visible_versions(reader, identifier.name)
    if versions is None:
        seen = "The identity cannot list the secret's versions"
    elif versions:
        seen = "The identity can see the versions " + ", ".join(versions)
    else:
        seen = "The identity can see no version of it"
    return LocalRunResult(
        ok=False,
        stage="fetch",
        message=(
            f"version {identifier.version} of the secret {identifier.name} was not "
            f"found in the vault {identifier.vault_name}. {seen}"
        ),
        fix=(
            "Copy the identifier of an existing version from the portal (the "
            "secret's Versions list), or run the task with the latest version: "
            f"`akv-onboard task run {identifier.group_uri}`."
        ),
    )


def _visible_versions(reader: SecretClient, name: str) -> list[str] | None:
    """List the secret's versions with the identity's client, or return None."""
    from azure.core.exceptions import AzureError

    try:
        with reader:
            listed = reader.list_properties_of_secret_versions(name)
            found = sorted(str(item.version).lower() for item in listed if item.version)
    except AzureError as error:
        logger.info("Listing the versions of %s failed: %s", name, type(error).__name__)
        return None
    return found


def _fetch_value(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    wait_timeout: float,
    progress: ProgressCallback | None,
) -> str | LocalRunResult:
    """Read the value as the identity, waiting out a grant that is propagating."""
    from akv_helpers.vaults import find_vault

    vault = find_vault(connection, identifier.vault_name)
    fetched = _fetch_as_identity(connection, identifier, principal_id, vault)
    if not isinstance(fetched, _RbacDenied):
        return fetched
    return _wait_for_grant(
        connection, identifier, principal_id, vault, fetched, wait_timeout, progress
    )


def _wait_for_grant(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    vault: VaultInfo,
    denied: _RbacDenied,
    wait_timeout: float,
    progress: ProgressCallback | None,
) -> str | LocalRunResult:
    """Wait while the kit's assignment is young, then read again.

    The age of the kit's assignment decides. Key Vault's ``Assignment:`` line
    only adds evidence to the messages.
    """
    from akv_helpers.grant_plan import plan_grant
    from akv_helpers.propagation import kit_assignment_age, wait_for_access

    subscription = vault.subscription_id or connection.subscription_id
    plan = plan_grant(subscription, vault, identifier.name, principal_id)
    age = kit_assignment_age(connection, plan)
    evidence = _assignment_evidence(denied.message)
    if age is None or age >= PROPAGATION_WINDOW_SECONDS:
        return _access_denied_result(identifier, principal_id, "ForbiddenByRbac")

    logger.info(
        "Reading %s as %s was denied (ForbiddenByRbac); the kit's assignment %s "
        "is %d s old, so the run waits for it to take effect",
        identifier.name,
        principal_id,
        plan.assignment_id,
        round(age),
    )
    if progress is not None:
        progress(
            f"Waiting for the grant to take effect: the kit's assignment is "
            f"{round(age)} s old and Azure can take up to "
            f"{int(PROPAGATION_WINDOW_SECONDS // 60)} minutes.{evidence}"
        )
    waited = wait_for_access(
        connection,
        plan,
        timeout=wait_timeout,
        progress=progress,
        vault_url=vault.vault_uri,
    )
    if waited.readable:
        again = _fetch_as_identity(connection, identifier, principal_id, vault)
        if not isinstance(again, _RbacDenied):
            return again
    elif waited.status != "timed out":
        return LocalRunResult(
            ok=False, stage="fetch", message=f"access denied: {waited.message}"
        )
    return LocalRunResult(
        ok=False,
        stage="fetch",
        message=(
            "access denied: the grant is still propagating. The identity "
            f"{principal_id} was still denied after {waited.waited_seconds:.0f} s, "
            f"and the kit's assignment is {round(waited.assignment_age_seconds or age)}"
            f" s old, within Azure's {int(PROPAGATION_WINDOW_SECONDS // 60)}-minute "
            f"propagation window.{evidence}"
        ),
        fix=(
            "Wait a few minutes and run the task again. Do not grant again: the "
            f"assignment {plan.assignment_id} exists, and another one would not "
            "take effect sooner."
        ),
    )


def _assignment_evidence(message: str) -> str:
    from akv_helpers.propagation import forbidden_assignment_line

    if forbidden_assignment_line(message) == "(not found)":
        return (
            " Key Vault's answer names no assignment (Assignment: (not found)), "
            "as it does until a new one takes effect."
        )
    return ""


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
