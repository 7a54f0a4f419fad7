"""The ``doctor`` command: every check between a secret and the task, in one run."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from akv_helpers.cli._output import kit_errors
from akv_helpers.cli._steps import open_connection
from akv_helpers.cli._types import PrincipalReferenceType, TaskFileType
from akv_helpers.errors import InvalidInputError, KitError
from akv_helpers.profile import Profile, load_profile

if TYPE_CHECKING:
    from akv_helpers.connection import Connection
    from akv_helpers.diagnose import Diagnosis, Finding

__all__ = [
    "COMMANDS",
    "IDENTITY_REFERENCE",
    "IdentityReferenceType",
    "doctor",
    "echo_diagnosis",
    "status_word",
]

# Maximum of --wait-for-propagation, in seconds. Azure documents up to 10 minutes
# for a role assignment to take effect, and some of its pages say longer.
MAX_PROPAGATION_WAIT = 1800.0
_WIDTH = 88


def status_word(finding: Finding) -> str:
    """Return the finding's status in capitals, such as ``FAILED``."""
    return finding.status.value.upper()


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [first.rstrip()]


def _wrapped(label: str, text: str) -> list[str]:
    """Wrap the paragraphs of `text`, and keep its list items and code lines."""
    from akv_helpers.diagnose.report import text_blocks

    prefix = f"  {label}: "
    indent = " " * len(prefix)
    lines: list[str] = []
    for block in text_blocks(text):
        first = prefix if not lines else indent
        if block.kind == "prose":
            lines += _wrap(block.lines[0], first, indent)
        elif block.kind == "list":
            for item in block.lines:
                lines += _wrap(item, first, indent + "  ")
                first = indent
        else:
            if lines:
                lines.append("")
            lines += [f"{indent}{line}".rstrip() for line in block.lines]
            lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return lines or [prefix.rstrip()]


def _finding_lines(finding: Finding) -> list[str]:
    lines = [f"[{status_word(finding)}] {finding.id}: {finding.title}"]
    lines += _wrapped("Observed", finding.observed)
    lines += _wrapped("Expected", finding.expected)
    if finding.fix:
        lines += _wrapped("Fix", finding.fix)
    lines += [f"  Run: {command}" for command in finding.commands]
    return lines


def _summary(diagnosis: Diagnosis) -> str:
    counts = ", ".join(
        f"{count} {status}" for status, count in diagnosis.counts().items() if count
    )
    return (
        f"{len(diagnosis.findings)} checks ({diagnosis.mode} mode, "
        f"{diagnosis.duration_seconds:.1f} s): {counts}."
    )


def echo_diagnosis(diagnosis: Diagnosis) -> None:
    """Print the findings as a table, failures first, then each problem's fix.

    Every line passes through the report's redaction, so nothing that looks like
    a token or a secret value is printed.
    """
    from akv_helpers.diagnose import Status
    from akv_helpers.diagnose.report import redact

    rows = [(status_word(item), item.id, item.title) for item in diagnosis.findings]
    status_width = max([len("STATUS"), *(len(row[0]) for row in rows)])
    check_width = max([len("CHECK"), *(len(row[1]) for row in rows)])
    lines = [_summary(diagnosis), ""]
    lines.append(f"{'STATUS':<{status_width}}  {'CHECK':<{check_width}}  FINDING")
    for status, check_id, title in rows:
        lines.append(f"{status:<{status_width}}  {check_id:<{check_width}}  {title}")

    needs_action = (Status.FAILED, Status.WARNING, Status.COULD_NOT_CHECK)
    for finding in diagnosis.findings:
        if finding.status not in needs_action:
            continue
        lines += ["", *_finding_lines(finding)]
    lines += ["", *_wrap(diagnosis.verdict, "", "")]
    click.echo(redact("\n".join(lines)))


class IdentityReferenceType(PrincipalReferenceType):
    """The commands' principal ID, client ID or resource ID, or an identity name."""

    name = "identity"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """Check `value` with `validate_identity_reference`, as the panel does."""
        from akv_helpers.identities import validate_identity_reference

        try:
            return validate_identity_reference(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


IDENTITY_REFERENCE = IdentityReferenceType()


def _identity_inputs(
    connection: Connection | None, profile: Profile, typed: str | None
) -> tuple[str | None, str | None]:
    """Resolve `typed` across the subscription; return (principal ID, identity text).

    The doctor's own identity lookup finds only the identities named like
    Union's in the profile's resource group. For those the typed text is
    passed on, so that the doctor reports a client ID or resource ID given
    where the principal ID belongs. Any other identity is passed on by its
    principal ID, with the same note on stderr as the other commands print.
    """
    from akv_helpers.identities import resolve_typed_principal
    from akv_helpers.names import is_union_identity_name

    if typed is None or connection is None:
        return None, typed
    try:
        choice = resolve_typed_principal(connection, typed, profile.identity)
    except KitError as error:
        click.echo(f"Note: {error.message} The doctor checks it as typed.", err=True)
        return None, typed
    if choice.swapped or choice.typed_kind == "name":
        click.echo(f"Note: {choice.explanation}", err=True)
    elif choice.typed_kind == "unknown":
        click.echo(f"Warning: {choice.explanation}", err=True)
    identity = choice.identity
    group = profile.resource_group
    visible = (
        identity is not None
        and is_union_identity_name(identity.name)
        and (group is None or group.lower() == identity.resource_group.lower())
    )
    if visible or identity is None:
        return None, typed
    return choice.principal_id, typed


def _connect() -> tuple[Profile, Connection | None]:
    """Load the profile and connect in its mode, or note on stderr why not.

    The connection is None when loading or connecting failed.
    """
    profile = Profile()
    try:
        profile = load_profile()
        return profile, open_connection(profile)
    except KitError as error:
        click.echo(
            f"Note: could not connect ({error.message}); only the checks that send "
            "no request ran.",
            err=True,
        )
        return profile, None


def _progress(step: str) -> None:
    click.echo(f"... {step}", err=True)


@click.command("doctor")
@click.argument("secret_id", metavar="SECRET_ID")
@click.option(
    "--identity",
    type=IDENTITY_REFERENCE,
    default=None,
    metavar="ID_OR_NAME",
    help="The data-plane identity: principal ID, client ID, resource ID or name. "
    "Default: the profile's identity, or the only one named like Union's.",
)
@click.option(
    "--task",
    "task_path",
    type=TaskFileType(),
    default=None,
    help="Python file of your Flyte task, checked without running it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the Markdown and JSON report into this folder.",
)
@click.option(
    "--wait-for-propagation",
    type=click.FloatRange(0, MAX_PROPAGATION_WAIT),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds to wait for a recent grant to take effect before reporting it.",
)
@kit_errors
def doctor(
    secret_id: str,
    identity: str | None,
    task_path: Path | None,
    as_json: bool,
    report_dir: Path | None,
    wait_for_propagation: float,
) -> None:
    """Check everything between SECRET_ID and a Flyte task reading it.

    Each finding gives what was seen, what is expected and what to do. Failures
    come first. SECRET_ID is the portal's Secret Identifier; a malformed one is
    reported as a finding.

    Exit code 0 only when every check that decides whether the task can read
    the secret (identity, vault, secret, grant and task-code checks) passed or is not
    applicable; 1 when a check failed or one of those could not be checked.
    """
    from akv_helpers.diagnose import DiagnosisInputs, diagnose
    from akv_helpers.diagnose.report import export_report, render_json

    profile, connection = _connect()
    principal_id, identity_text = _identity_inputs(connection, profile, identity)
    inputs = DiagnosisInputs(
        identifier_text=secret_id,
        principal_id=principal_id,
        identity_text=identity_text,
        task_path=str(task_path) if task_path is not None else None,
    )
    interactive = sys.stderr.isatty()
    diagnosis = diagnose(
        connection,
        inputs,
        progress=_progress if interactive else None,
        wait_for_propagation=wait_for_propagation,
    )

    if as_json:
        click.echo(render_json(diagnosis))
    else:
        echo_diagnosis(diagnosis)
    if report_dir is not None:
        markdown_path, json_path = export_report(diagnosis, report_dir)
        click.echo(f"Report written to {markdown_path} and {json_path}.", err=as_json)
    if diagnosis.exit_code:
        click.get_current_context().exit(diagnosis.exit_code)


COMMANDS: tuple[click.Command, ...] = (doctor,)
