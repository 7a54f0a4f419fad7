"""The ``doctor`` command: every check between a secret and the task, in one run."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import click

from akv_helpers.cli._output import kit_errors
from akv_helpers.cli._steps import open_connection
from akv_helpers.errors import KitError
from akv_helpers.profile import load_profile

if TYPE_CHECKING:
    from akv_helpers.connection import Connection
    from akv_helpers.diagnose import Diagnosis, Finding

__all__ = ["COMMANDS", "doctor", "echo_diagnosis", "status_word"]

# Maximum of --wait-for-propagation, in seconds. Azure documents up to 10 minutes
# for a role assignment to take effect, and some of its pages say longer.
MAX_PROPAGATION_WAIT = 1800.0
_WIDTH = 88


def status_word(finding: Finding) -> str:
    """Return the finding's status in capitals, such as ``FAILED``."""
    return finding.status.value.upper()


def _wrapped(label: str, text: str) -> list[str]:
    prefix = f"  {label}: "
    return textwrap.wrap(
        text,
        width=_WIDTH,
        initial_indent=prefix,
        subsequent_indent=" " * len(prefix),
        break_on_hyphens=False,
        break_long_words=False,
    ) or [prefix.rstrip()]


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
    if not diagnosis.failed:
        lines += ["", "No check failed."]
    click.echo(redact("\n".join(lines)))


def _connect() -> Connection | None:
    """Connect in the profile's mode, or return None with a note when that fails."""
    try:
        return open_connection(load_profile())
    except KitError as error:
        click.echo(
            f"Note: could not connect ({error.message}); only the checks that send "
            "no request ran.",
            err=True,
        )
        return None


def _progress(step: str) -> None:
    click.echo(f"... {step}", err=True)


@click.command("doctor")
@click.argument("secret_id", metavar="SECRET_ID")
@click.option(
    "--identity",
    default=None,
    metavar="ID_OR_NAME",
    help="The data-plane identity: principal ID, client ID, resource ID or name. "
    "Default: the profile's identity, or the only one named like Union's.",
)
@click.option(
    "--task",
    "task_path",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
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
    come first. Exit code 0 when no check failed, 1 otherwise. SECRET_ID is the
    portal's Secret Identifier; a malformed one is reported as a finding.
    """
    from akv_helpers.diagnose import DiagnosisInputs, diagnose
    from akv_helpers.diagnose.report import export_report, render_json

    inputs = DiagnosisInputs(
        identifier_text=secret_id,
        identity_text=identity.strip() if identity and identity.strip() else None,
        task_path=str(task_path) if task_path is not None else None,
    )
    interactive = sys.stderr.isatty()
    diagnosis = diagnose(
        _connect(),
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
    if diagnosis.failed:
        click.get_current_context().exit(1)


COMMANDS: tuple[click.Command, ...] = (doctor,)
