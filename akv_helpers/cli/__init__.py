"""The ``akv-onboard`` command line: the kit's steps without Jupyter.

Each command calls the same services as the notebooks. Parameter types reject bad
values before any request (exit code 2); the kit's errors print as ``Error:`` with
the fix on stderr (exit code 1). No command prints a secret value or a token.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from akv_helpers import __version__
from akv_helpers.cli._output import (
    KitCommandError,
    as_dict,
    echo_json,
    echo_table,
    kit_errors,
)
from akv_helpers.cli._steps import (
    IDENTITY_HEADERS,
    MODE_VARIABLE,
    effective_mode,
    identity_rows,
    open_connection,
    remember_identity,
    resolve_principal,
    several_identities_error,
)
from akv_helpers.cli._types import (
    MODES,
    PRINCIPAL_ID,
    SECRET_ID,
    GuidType,
    ResourceGroupType,
    SecretIdType,
    principal_option,
)
from akv_helpers.cli.access import echo_plan, grant, plan_for, revoke, verify
from akv_helpers.cli.identity import find_identity
from akv_helpers.cli.profile import lab_prepare, profile, profile_set, profile_show
from akv_helpers.cli.simulator import (
    echo_simulator,
    running_simulator,
    simulator,
    simulator_command,
    simulator_directory,
    simulator_environment,
    simulator_requests,
    simulator_reset,
    simulator_start,
    simulator_status,
    simulator_stop,
    start_on_port,
)
from akv_helpers.cli.task import (
    OUT_OPTION,
    choose_pinned,
    task,
    task_check,
    task_generate,
    task_run,
)

__all__ = [
    "COMMAND_MODULES",
    "IDENTITY_HEADERS",
    "MODES",
    "MODE_VARIABLE",
    "OUT_OPTION",
    "PRINCIPAL_ID",
    "SECRET_ID",
    "GuidType",
    "KitCommandError",
    "ResourceGroupType",
    "SecretIdType",
    "as_dict",
    "choose_pinned",
    "configure_logging",
    "echo_json",
    "echo_plan",
    "echo_simulator",
    "echo_table",
    "effective_mode",
    "find_identity",
    "grant",
    "identity_rows",
    "kit_errors",
    "lab_prepare",
    "main",
    "open_connection",
    "plan_for",
    "principal_option",
    "profile",
    "profile_set",
    "profile_show",
    "remember_identity",
    "resolve_principal",
    "revoke",
    "running_simulator",
    "several_identities_error",
    "simulator",
    "simulator_command",
    "simulator_directory",
    "simulator_environment",
    "simulator_requests",
    "simulator_reset",
    "simulator_start",
    "simulator_status",
    "simulator_stop",
    "start_on_port",
    "task",
    "task_check",
    "task_generate",
    "task_run",
    "verify",
]

# Modules of this package whose COMMANDS the group adds. A new command module
# takes one more name here.
COMMAND_MODULES = (
    "access",
    "app",
    "doctor",
    "identity",
    "profile",
    "simulator",
    "task",
)


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


for _module_name in COMMAND_MODULES:
    for _command in importlib.import_module(f"{__name__}.{_module_name}").COMMANDS:
        main.add_command(_command)
