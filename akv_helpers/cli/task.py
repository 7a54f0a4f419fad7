"""The ``task`` commands: generate, run and check the Flyte task that reads a secret."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from akv_helpers._text_checks import end_sentence
from akv_helpers.cli._output import kit_errors
from akv_helpers.cli._steps import open_connection, resolve_principal
from akv_helpers.cli._types import SECRET_ID, principal_option
from akv_helpers.identifiers import SecretIdentifier, require_cloud
from akv_helpers.profile import kit_home, load_profile

__all__ = [
    "COMMANDS",
    "OUT_OPTION",
    "choose_pinned",
    "task",
    "task_check",
    "task_generate",
    "task_run",
]


@click.group()
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
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the generated module; default: <kit home>/tasks, so a run "
    "leaves nothing in the current folder.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    help="Seconds pyflyte may run.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    default=600,
    show_default=True,
    help="Seconds to wait for a grant the kit made recently to take effect.",
)
@click.pass_context
@kit_errors
def task_run(
    ctx: click.Context,
    secret_id: SecretIdentifier,
    principal_id: str | None,
    out: Path | None,
    timeout: float,
    wait_timeout: float,
) -> None:
    """Run the task locally with the secret laid out as Union's injector does.

    In simulator mode the value is read as the identity, so a missing grant
    fails here as it would on Union. A grant the kit made within the last 10
    minutes may not have taken effect yet: the run then waits for it, with
    progress on stderr. Exit code 1 when the run failed.
    """
    from akv_helpers.flyte_task import run_task_locally, write_task_module

    profile = load_profile()
    require_cloud(secret_id, profile.cloud)
    connection = open_connection(profile)
    if connection.mode == "simulator" or principal_id is not None:
        principal, profile = resolve_principal(connection, profile, principal_id)
    else:
        identity = profile.identity
        principal = identity.principal_id if identity else ""
    directory = out if out is not None else kit_home() / "tasks"
    path = write_task_module(secret_id, directory, pinned=secret_id.version is not None)
    result = run_task_locally(
        connection,
        secret_id,
        principal,
        path,
        timeout=timeout,
        wait_timeout=wait_timeout,
        progress=_echo_progress,
    )

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
        click.echo(end_sentence(f"Passed: {result.message}"))
    else:
        click.echo(
            end_sentence(f"Failed at the {result.stage} stage: {result.message}")
        )
    if result.fix:
        click.echo(result.fix)
    click.echo(f"Took {result.duration_seconds:.1f} s.")
    if not result.ok:
        sys.exit(1)


def _echo_progress(line: str) -> None:
    click.echo(line, err=True)


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


COMMANDS: tuple[click.Command, ...] = (task,)
