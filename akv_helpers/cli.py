"""The ``akv-onboard`` command line: the kit's steps without Jupyter.

Each command calls the same services as the notebooks. Parameter types reject bad
values before any request (exit code 2); the kit's errors print as ``Error:`` with
the fix on stderr (exit code 1). No command prints a secret value or a token.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from akv_helpers import __version__
from akv_helpers.errors import (
    IdentityNotFoundError,
    InvalidInputError,
    KitError,
    NotConfiguredError,
    SimulatorError,
)
from akv_helpers.identifiers import (
    SecretIdentifier,
    parse_secret_identifier,
    validate_guid,
    validate_resource_group_name,
)
from akv_helpers.profile import Profile, kit_home, load_profile, save_profile

if TYPE_CHECKING:
    from akv_helpers.assignments import GrantPlan
    from akv_helpers.connection import Connection, SimulatorEndpoint
    from akv_helpers.identities import IdentityCandidate
    from akv_helpers.vaults import VaultInfo

__all__ = ["main"]

logger = logging.getLogger(__name__)

MODE_VARIABLE = "AKV_ONBOARD_MODE"
_F = TypeVar("_F", bound=Callable[..., Any])


# --- parameter types ------------------------------------------------------------------


# click 8.2 made ParamType generic; at run time the plain class works on 8.1 too.
if TYPE_CHECKING:
    _SecretIdBase = click.ParamType[SecretIdentifier, Any]
    _TextBase = click.ParamType[str, Any]
else:
    _SecretIdBase = _TextBase = click.ParamType


class SecretIdType(_SecretIdBase):
    """A Key Vault secret identifier, parsed by `parse_secret_identifier`."""

    name = "secret_id"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> SecretIdentifier:
        """Parse `value`, or fail with the parser's message and fix."""
        if isinstance(value, SecretIdentifier):
            return value
        try:
            return parse_secret_identifier(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


class GuidType(_TextBase):
    """A GUID such as a principal or subscription ID, in canonical form."""

    name = "guid"

    def __init__(self, label: str) -> None:
        self.label = label

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """Validate `value` with `validate_guid`."""
        try:
            return validate_guid(str(value), self.label)
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


class ResourceGroupType(_TextBase):
    """An Azure resource group name."""

    name = "resource_group"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """Validate `value` with `validate_resource_group_name`."""
        try:
            return validate_resource_group_name(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


SECRET_ID = SecretIdType()
PRINCIPAL_ID = GuidType("principal ID")
MODES = click.Choice(["simulator", "azure"])


# --- errors and output ----------------------------------------------------------------


class KitCommandError(click.ClickException):
    """A kit error shown as ``Error: <message>`` and its fix, with exit code 1."""

    def __init__(self, error: KitError) -> None:
        super().__init__(error.message)
        self.fix = error.fix

    def show(self, file: Any = None) -> None:
        """Print the message and the fix on stderr."""
        click.echo(f"Error: {self.format_message()}", err=True)
        if self.fix:
            click.echo(self.fix, err=True)


def kit_errors(function: _F) -> _F:
    """Turn the kit's errors raised by a command into `KitCommandError`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except KitError as error:
            logger.debug("Command failed", exc_info=True)
            raise KitCommandError(error) from None

    return cast(_F, wrapper)


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print rows as a left-aligned table with a header line."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [
        max([len(header), *(len(row[i]) for row in cells)])
        for i, header in enumerate(headers)
    ]
    lines = [headers, *cells]
    for line in lines:
        text = "  ".join(value.ljust(widths[i]) for i, value in enumerate(line))
        click.echo(text.rstrip())


def as_dict(value: Any) -> Any:
    """Convert a dataclass, list or mapping into JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: as_dict(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if item.repr
        }
    if isinstance(value, (list, tuple)):
        return [as_dict(item) for item in value]
    if isinstance(value, dict):
        return {str(key): as_dict(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def configure_logging(ctx: click.Context, verbosity: int) -> None:
    """Send the kit's log records to stderr: INFO with ``-v``, DEBUG with ``-vv``.

    The handler and the level are removed again when the command ends, so
    callers that invoke `main` in-process keep their logging set-up.
    """
    if verbosity <= 0:
        return
    package_logger = logging.getLogger("akv_helpers")
    previous_level = package_logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)

    def restore() -> None:
        package_logger.removeHandler(handler)
        package_logger.setLevel(previous_level)

    ctx.call_on_close(restore)


# --- shared steps ---------------------------------------------------------------------


def effective_mode(profile: Profile) -> str:
    """Return the mode from ``$AKV_ONBOARD_MODE``, else from the profile."""
    mode = os.environ.get(MODE_VARIABLE, "").strip().lower()
    if not mode:
        return profile.mode
    if mode not in ("simulator", "azure"):
        raise NotConfiguredError(
            f"{MODE_VARIABLE} is {mode!r}, which is not a mode.",
            f"Set {MODE_VARIABLE} to simulator or azure, or unset it.",
        )
    return mode


def open_connection(profile: Profile) -> Connection:
    """Connect in the mode that ``$AKV_ONBOARD_MODE`` or the profile sets."""
    from akv_helpers.connection import connect

    mode = effective_mode(profile)
    return connect(profile, mode="azure" if mode == "azure" else "simulator")


def identity_rows(candidates: Sequence[IdentityCandidate]) -> list[list[str]]:
    """Return the table rows of identity candidates."""
    return [[c.name, c.resource_group, c.client_id, c.principal_id] for c in candidates]


IDENTITY_HEADERS = ("NAME", "RESOURCE GROUP", "CLIENT ID", "PRINCIPAL ID")


def several_identities_error(candidates: Sequence[IdentityCandidate]) -> KitError:
    """Return the error that lists several candidates for the user to choose."""
    listed = "; ".join(
        f"{c.name} in {c.resource_group} (principal ID {c.principal_id})"
        for c in candidates
    )
    return NotConfiguredError(
        f"{len(candidates)} identities match Union's naming: {listed}.",
        "Choose one with --principal-id <principal ID>; the kit does not pick one.",
    )


def remember_identity(profile: Profile, candidate: IdentityCandidate) -> Profile:
    """Record the identity and its resource group in the profile."""
    from akv_helpers.identities import to_identity_ref

    updated = profile.with_updates(
        identity=to_identity_ref(candidate), resource_group=candidate.resource_group
    )
    save_profile(updated)
    return updated


def resolve_principal(
    connection: Connection, profile: Profile, typed: str | None
) -> tuple[str, Profile]:
    """Choose the principal ID: typed, the profile's identity, or a single match.

    A typed client ID of a known identity is replaced by its principal ID, with a
    note on stderr, because role assignments need the principal ID.
    """
    from akv_helpers.identities import find_identities, resolve_principal_id

    identity = profile.identity
    if typed is not None:
        if identity is not None and typed in (
            identity.principal_id,
            identity.client_id,
        ):
            if typed == identity.client_id:
                click.echo(
                    f"Note: {typed} is the client ID of {identity.name}; using its "
                    f"principal ID {identity.principal_id}, which RBAC uses.",
                    err=True,
                )
            return identity.principal_id, profile
        try:
            candidates = find_identities(connection, profile.resource_group)
        except IdentityNotFoundError:
            return typed, profile
        for candidate in candidates:
            if typed in (candidate.principal_id, candidate.client_id):
                choice = resolve_principal_id(candidate, typed)
                if choice.swapped:
                    click.echo(f"Note: {choice.explanation}", err=True)
                return choice.principal_id, profile
        return typed, profile

    if identity is not None:
        return identity.principal_id, profile
    candidates = find_identities(connection, profile.resource_group)
    if len(candidates) > 1:
        raise several_identities_error(candidates)
    candidate = candidates[0]
    click.echo(
        f"Using the identity {candidate.name} in {candidate.resource_group} "
        f"(principal ID {candidate.principal_id}).",
        err=True,
    )
    return candidate.principal_id, remember_identity(profile, candidate)


def plan_for(
    connection: Connection, identifier: SecretIdentifier, principal_id: str
) -> tuple[VaultInfo, GrantPlan]:
    """Find the vault and compute the grant plan for the secret."""
    from akv_helpers.assignments import plan_grant
    from akv_helpers.vaults import find_vault

    vault = find_vault(connection, identifier.vault_name)
    subscription = vault.subscription_id or connection.subscription_id
    return vault, plan_grant(subscription, vault, identifier.name, principal_id)


def echo_plan(plan: GrantPlan) -> None:
    """Print what the grant will create and the equivalent az command."""
    click.echo(f"Role:        {plan.role_name} ({plan.role_guid})")
    click.echo(f"Principal:   {plan.principal_id} ({plan.principal_type})")
    click.echo(f"Scope:       {plan.scope}")
    click.echo(f"Assignment:  {plan.assignment_id}")
    click.echo("Azure CLI equivalent:")
    click.echo(f"  {plan.az_command}")


# --- the command group ----------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log the kit's steps to stderr: -v for INFO, -vv for DEBUG.",
)
@click.version_option(__version__, "--version", prog_name="akv-onboard")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Grant a Union data-plane identity read access to one Key Vault secret.

    The steps: find-identity, grant, verify, then `task run` to prove the grant
    with a Flyte task. Without Azure configured, every command works against the
    kit's built-in simulator.
    """
    configure_logging(ctx, verbose)


# --- simulator ------------------------------------------------------------------------


@main.group()
def simulator() -> None:
    """Start, stop and inspect the built-in Azure simulator."""


def simulator_directory() -> Path:
    """Return the simulator's folder in the kit home."""
    return kit_home() / "simulator"


def running_simulator() -> SimulatorEndpoint | None:
    """Return the running simulator, or None, without starting one."""
    from akv_helpers.connection import SimulatorEndpoint

    discovery = simulator_directory() / "simulator.json"
    try:
        data = json.loads(discovery.read_text(encoding="utf-8"))
        endpoint = SimulatorEndpoint.from_discovery(data)
        answer = endpoint.health()
    except (OSError, ValueError, SimulatorError):
        return None
    if answer.get("status") != "ok" or answer.get("pid") != endpoint.pid:
        return None
    return endpoint


def echo_simulator(endpoint: SimulatorEndpoint) -> None:
    """Print where the simulator runs."""
    click.echo(f"The simulator is running at {endpoint.arm_url} (pid {endpoint.pid}).")
    click.echo(f"CA certificate: {endpoint.ca_path}")
    click.echo(f"State: {simulator_directory() / 'state.json'}")


def simulator_command(port: int | None, reset: bool) -> list[str]:
    """Return the command line that runs the simulator in the foreground."""
    command = [sys.executable, "-m", "akv_helpers.simulator", "--home", str(kit_home())]
    if port is not None:
        command += ["--port", str(port)]
    if reset:
        command.append("--reset")
    return command


def simulator_environment() -> dict[str, str]:
    """Return the environment in which the simulator imports this package."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_parent, environment.get("PYTHONPATH", "")) if part
    )
    return environment


def start_on_port(port: int, timeout: float = 30) -> SimulatorEndpoint:
    """Start the simulator in the background on `port` and wait until it is ready."""
    directory = simulator_directory()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = directory / "simulator.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (fixed program, no shell)
            simulator_command(port, reset=False),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=simulator_environment(),
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SimulatorError(
                f"The simulator exited with status {process.returncode}.",
                f"See its log at {log_path}; the port may be in use.",
            )
        endpoint = running_simulator()
        if endpoint is not None and endpoint.pid == process.pid:
            return endpoint
        time.sleep(0.05)
    raise SimulatorError(
        f"The simulator was not ready within {timeout:g} seconds.",
        f"See its log at {log_path}.",
    )


@simulator.command("start")
@click.option("--foreground", is_flag=True, help="Run in this terminal until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the ARM endpoint on 127.0.0.1; 0 or unset picks a free one.",
)
@click.option("--reset", is_flag=True, help="Reseed the demo tenant first.")
@kit_errors
def simulator_start(foreground: bool, port: int | None, reset: bool) -> None:
    """Start the simulator, in the background unless --foreground is given."""
    if foreground:
        # The simulator replaces this process, so signals and the exit code are its.
        command = simulator_command(port, reset)
        sys.stdout.flush()
        os.execve(sys.executable, command, simulator_environment())  # noqa: S606

    from akv_helpers.connection import ensure_simulator

    endpoint = running_simulator()
    if endpoint is not None and port and not endpoint.arm_url.endswith(f":{port}"):
        raise SimulatorError(
            f"The simulator is already running at {endpoint.arm_url}.",
            "Stop it with `akv-onboard simulator stop` to start it on another port.",
        )
    if endpoint is None:
        endpoint = start_on_port(port) if port else ensure_simulator(kit_home())
    if reset:
        endpoint.reset()
        click.echo("Reseeded the demo tenant.")
    echo_simulator(endpoint)


@simulator.command("stop")
@kit_errors
def simulator_stop() -> None:
    """Stop the simulator that runs for this kit home."""
    from akv_helpers.connection import stop_simulator

    if stop_simulator(kit_home()):
        click.echo("Stopped the simulator.")
    else:
        click.echo("The simulator is not running.")


@simulator.command("status")
def simulator_status() -> None:
    """Show whether the simulator runs; exit code 1 when it does not."""
    endpoint = running_simulator()
    if endpoint is None:
        click.echo("The simulator is not running.")
        sys.exit(1)
    echo_simulator(endpoint)


@simulator.command("reset")
@kit_errors
def simulator_reset() -> None:
    """Reseed the demo tenant and remove the role assignments the kit made."""
    from akv_helpers.connection import ensure_simulator

    ensure_simulator(kit_home()).reset()
    profile = load_profile()
    if profile.assignment_id is not None:
        save_profile(
            profile.with_updates(assignment_id=None, assignment_created_by_kit=False)
        )
    click.echo("Reseeded the demo tenant; role assignments made by the kit are gone.")


@simulator.command("requests")
@click.option(
    "--clear", is_flag=True, help="Clear the request log instead of showing it."
)
@click.option("--json", "as_json", is_flag=True, help="Print the log as JSON.")
@kit_errors
def simulator_requests(clear: bool, as_json: bool) -> None:
    """Show the requests the simulator served: method, path, status, principal."""
    endpoint = running_simulator()
    if endpoint is None:
        raise SimulatorError(
            "The simulator is not running.",
            "Start it with `akv-onboard simulator start`.",
        )
    if clear:
        endpoint.clear_requests()
        click.echo("Cleared the request log.")
        return
    entries = endpoint.requests()
    if as_json:
        echo_json(entries)
        return
    echo_table(
        ("TIME", "METHOD", "STATUS", "HOST", "PATH", "PRINCIPAL", "ERROR"),
        (
            [
                entry.get("time", ""),
                entry.get("method", ""),
                entry.get("status", ""),
                entry.get("host", ""),
                entry.get("path", ""),
                entry.get("principal_id") or "",
                entry.get("error_code") or "",
            ]
            for entry in entries
        ),
    )


# --- identity, grant, verify, revoke --------------------------------------------------


@main.command("find-identity")
@click.option(
    "--resource-group",
    type=ResourceGroupType(),
    default=None,
    help="Search this resource group; default: the profile's, else the subscription.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the candidates as JSON.")
@kit_errors
def find_identity(resource_group: str | None, as_json: bool) -> None:
    """Find the Union data-plane identity (userflyterole or flyteuser...)."""
    from akv_helpers.identities import find_identities

    profile = load_profile()
    connection = open_connection(profile)
    candidates = find_identities(connection, resource_group or profile.resource_group)
    if as_json:
        echo_json(as_dict(candidates))
    else:
        echo_table(IDENTITY_HEADERS, identity_rows(candidates))
    if len(candidates) == 1:
        remember_identity(profile, candidates[0])
        if not as_json:
            click.echo(f"Recorded {candidates[0].name} in the profile.")
    elif not as_json:
        click.echo(
            f"{len(candidates)} identities match. Choose one with --principal-id "
            "<principal ID> in the next command; the kit does not pick one."
        )


def principal_option(function: _F) -> _F:
    """Add ``--principal-id`` to a command."""
    return click.option(
        "--principal-id",
        type=PRINCIPAL_ID,
        default=None,
        help="Principal (object) ID of the identity; default: the profile's.",
    )(function)


@main.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@click.option("--dry-run", is_flag=True, help="Show the plan; create nothing.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan and result as JSON."
)
@kit_errors
def grant(
    secret_id: SecretIdentifier,
    principal_id: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Grant the identity Key Vault Secrets User on one secret.

    SECRET_ID is the secret's identifier from the portal, such as
    https://kv-demo.vault.azure.net/secrets/db-pass.
    """
    from akv_helpers import assignments
    from akv_helpers.vaults import get_secret_info, require_rbac

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    vault, plan = plan_for(connection, secret_id, principal)
    require_rbac(vault, principal)
    get_secret_info(connection, vault, secret_id.name)
    if dry_run:
        if as_json:
            echo_json({"plan": as_dict(plan), "dry_run": True})
        else:
            echo_plan(plan)
            click.echo("Dry run: nothing was created.")
        return

    result = assignments.grant(connection, plan)
    save_profile(
        profile.with_updates(
            subscription_id=connection.subscription_id,
            tenant_id=connection.tenant_id or profile.tenant_id,
            secret_identifier=secret_id.uri,
            assignment_id=result.assignment_id,
            assignment_created_by_kit=result.created_by_kit,
        )
    )
    if as_json:
        echo_json({"plan": as_dict(plan), "result": as_dict(result)})
        return
    echo_plan(plan)
    click.echo(f"{result.status}: {result.assignment_id}")
    if result.status == "granted":
        click.echo(
            "Azure can take up to 10 minutes to apply a new role assignment to "
            "reads; `akv-onboard verify` and `akv-onboard task run` check it."
        )


@main.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@kit_errors
def verify(secret_id: SecretIdentifier, principal_id: str | None) -> None:
    """Check that a role assignment lets the identity read the secret.

    Exit code 1 when none does.
    """
    from akv_helpers import assignments

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    _, plan = plan_for(connection, secret_id, principal)
    result = assignments.verify(connection, plan)
    if not result.granted:
        click.echo(
            f"Not granted: no role assignment lets {principal} read "
            f"{secret_id.name}. Grant it with `akv-onboard grant {secret_id.uri}`.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"granted: {result.assignment_id}")
    for item in result.covering:
        click.echo(f"  {item.role_name or item.role_guid} at {item.scope}")


@main.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@kit_errors
def revoke(secret_id: SecretIdentifier, principal_id: str | None) -> None:
    """Delete the role assignment the kit made for the secret, and nothing else."""
    from akv_helpers import assignments

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    _, plan = plan_for(connection, secret_id, principal)
    result = assignments.revoke(connection, plan)
    if result.deleted and profile.assignment_id == result.assignment_id:
        save_profile(
            profile.with_updates(assignment_id=None, assignment_created_by_kit=False)
        )
    click.echo(result.message)


# --- Flyte test task ------------------------------------------------------------------


@main.group()
def task() -> None:
    """Generate and run the Flyte task that proves the grant."""


def choose_pinned(identifier: SecretIdentifier, pinned: bool | None) -> bool:
    """Pin when asked, or by default when the identifier has a version."""
    if pinned is None:
        return identifier.version is not None
    if pinned and identifier.version is None:
        raise click.BadParameter(
            "--pinned needs a secret identifier with a version, such as "
            f"{identifier.group_uri}/<32 hex characters>.",
            param_hint="'--pinned'",
        )
    return pinned


OUT_OPTION = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for the generated module.",
)


@task.command("generate")
@click.argument("secret_id", type=SECRET_ID)
@click.option(
    "--pinned/--latest",
    default=None,
    help="Read the identifier's version, or the latest one. "
    "Default: pinned when the identifier has a version.",
)
@OUT_OPTION
@kit_errors
def task_generate(secret_id: SecretIdentifier, pinned: bool | None, out: Path) -> None:
    """Write check_<name>_secret.py, a Flyte task that reads SECRET_ID."""
    from akv_helpers.flyte_task import remote_run_commands, write_task_module

    path = write_task_module(secret_id, out, pinned=choose_pinned(secret_id, pinned))
    click.echo(f"Wrote {path}")
    click.echo("Run it locally: akv-onboard task run " + secret_id.uri)
    click.echo("Run it on Union:")
    for command in remote_run_commands(path):
        click.echo(f"  {command}")


@task.command("run")
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@OUT_OPTION
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds pyflyte may run.",
)
@click.pass_context
@kit_errors
def task_run(
    ctx: click.Context,
    secret_id: SecretIdentifier,
    principal_id: str | None,
    out: Path,
    timeout: float,
) -> None:
    """Run the task locally with the secret laid out as Union's injector does.

    In simulator mode the value is read as the identity, so a missing grant
    fails here as it would on Union. Exit code 1 when the run failed.
    """
    from akv_helpers.flyte_task import run_task_locally, write_task_module

    profile = load_profile()
    connection = open_connection(profile)
    if connection.mode == "simulator":
        principal, profile = resolve_principal(connection, profile, principal_id)
    else:
        identity = profile.identity
        principal = principal_id or (identity.principal_id if identity else "")
    path = write_task_module(secret_id, out, pinned=secret_id.version is not None)
    result = run_task_locally(connection, secret_id, principal, path, timeout=timeout)

    verbose = bool(ctx.find_root().params.get("verbose"))
    if result.command:
        click.echo("Command: " + " ".join(result.command))
    if result.output and (verbose or not result.ok):
        click.echo(result.output.rstrip())
    if result.fingerprint is not None:
        click.echo(f"Task fingerprint:     {result.fingerprint}")
    if result.expected_fingerprint is not None:
        click.echo(f"Expected fingerprint: {result.expected_fingerprint}")
    if result.ok:
        click.echo(f"Passed: {result.message}")
    else:
        click.echo(f"Failed at the {result.stage} stage: {result.message}")
    if result.fix:
        click.echo(result.fix)
    click.echo(f"Took {result.duration_seconds:.1f} s.")
    if not result.ok:
        sys.exit(1)


@task.command("check")
@click.argument("module", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def task_check(module: Path) -> None:
    """Check a task module's Key Vault secret requests and secrets.get calls.

    Exit code 1 when a problem is found.
    """
    from akv_helpers.flyte_task import check_task_code

    try:
        findings = check_task_code(module.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{module} is not valid Python: {error}") from None
    for finding in findings:
        click.echo(f"{module}:{finding.line}: {finding.message} {finding.fix}")
    if findings:
        sys.exit(1)
    click.echo(f"{module}: no problems found.")


# --- profile and lab ------------------------------------------------------------------


@main.group()
def profile() -> None:
    """Show or change the session profile shared by the notebooks and the CLI."""


@profile.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@kit_errors
def profile_show(as_json: bool) -> None:
    """Show the profile: mode, subscription, identity, secret, assignment."""
    current = load_profile()
    data = current.to_dict()
    if as_json:
        echo_json(data)
        return
    identity = data.pop("identity") or {}
    for key, value in data.items():
        click.echo(f"{key}: {'' if value is None else value}")
    for key, value in identity.items():
        click.echo(f"identity.{key}: {value}")


@profile.command("set")
@click.option("--mode", type=MODES, default=None, help="simulator or azure.")
@click.option(
    "--subscription",
    type=GuidType("subscription ID"),
    default=None,
    help="Subscription ID of the Union data plane.",
)
@click.option(
    "--resource-group",
    type=ResourceGroupType(),
    default=None,
    help="Resource group of the Union data plane.",
)
@click.option("--tenant", type=GuidType("tenant ID"), default=None, help="Tenant ID.")
@kit_errors
def profile_set(
    mode: str | None,
    subscription: str | None,
    resource_group: str | None,
    tenant: str | None,
) -> None:
    """Change profile fields; options not given keep their value."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("mode", mode),
            ("subscription_id", subscription),
            ("resource_group", resource_group),
            ("tenant_id", tenant),
        )
        if value is not None
    }
    if not changes:
        raise click.UsageError(
            "Give at least one of --mode, --subscription, --resource-group, --tenant."
        )
    path = save_profile(load_profile().with_updates(**changes))
    click.echo(f"Updated {', '.join(sorted(changes))} in {path}.")


@main.command("lab-prepare")
@kit_errors
def lab_prepare() -> None:
    """Start the simulator for `make lab`, unless Azure mode is configured."""
    from akv_helpers.connection import ensure_simulator

    mode = effective_mode(load_profile())
    if mode == "azure":
        click.echo("Azure mode: the simulator is not started.")
        return
    echo_simulator(ensure_simulator(kit_home()))


if __name__ == "__main__":  # pragma: no cover
    main(prog_name="akv-onboard")
