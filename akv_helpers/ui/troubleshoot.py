"""Troubleshooting: run the doctor's checks and show each finding with its fix.

While the checks run, a progress bar counts the checks done of the total. The
runner reports step names only, so the panel runs the registered checks through
a registry of its own whose entries count each check as it ends.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import ipywidgets as widgets

from akv_helpers import connection as connections
from akv_helpers._task_file import check_task_file
from akv_helpers._text_checks import count_noun
from akv_helpers.diagnose import (
    REGISTRY,
    CheckContext,
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    diagnose,
    sort_findings,
)
from akv_helpers.diagnose.report import export_report, render_markdown
from akv_helpers.diagnose.runner import CheckRegistry, RegisteredCheck
from akv_helpers.errors import KitError
from akv_helpers.identifiers import SECRET_IDENTIFIER_SHAPE
from akv_helpers.identities import validate_identity_reference
from akv_helpers.profile import kit_home, load_profile
from akv_helpers.steps import step_place

from ._panel import Panel, text_argument
from ._progress import ProgressLine
from ._render import command_block, definition_list, fix_html, status_line
from ._text import SCREEN_ONLY_CLASS

__all__ = [
    "STATUS_STYLES",
    "TroubleshootPanel",
    "doctor_text",
    "findings_html",
    "validate_task_path",
]

logger = logging.getLogger(__name__)

# Each status as a word, a symbol and a colour: the word and the symbol carry
# the meaning, so the table reads the same without colour.
STATUS_STYLES: dict[Status, tuple[str, str, str]] = {
    Status.FAILED: ("Failed", "✗", "#cf222e"),
    Status.WARNING: ("Warning", "!", "#9a6700"),
    Status.COULD_NOT_CHECK: ("Could not check", "?", "#6e7781"),
    Status.OK: ("OK", "✓", "#1a7f37"),
    Status.NOT_APPLICABLE: ("Not applicable", "–", "#6e7781"),
}

_CELL = (
    'style="text-align:left;vertical-align:top;padding:4px 8px;'
    'border:1px solid #d0d7de;overflow-wrap:anywhere"'
)
_HEADERS = ("Status", "Check", "Observed", "Expected", "Fix")
# Fixed column widths keep the table inside the panel; long text wraps.
_COLUMNS = (
    '<colgroup><col style="width:8em"><col style="width:13%"><col style="width:23%">'
    '<col style="width:16%"><col></colgroup>'
)
_WIDE = widgets.Layout(width="95%")
_LABELS = {"description_width": "10em"}


def _status_cell(status: Status) -> str:
    word, symbol, colour = STATUS_STYLES[status]
    return f'<b style="color:{colour}">{symbol} {html.escape(word)}</b>'


def _fix_cell(finding: Finding) -> str:
    fix = finding.fix
    # A command that the fix quotes and that also has its own block below is
    # shown once, in the block with its Copy button.
    for command in finding.commands:
        fix = fix.replace(f"`{command}`", "the command below")
    parts = [fix_html(fix)] if fix else []
    for command in finding.commands:
        parts.append(command_block(command, "fix command"))
    return "".join(parts)


def counted_registry(
    registry: CheckRegistry, on_done: Callable[[str], None]
) -> CheckRegistry:
    """Return a copy of `registry` whose checks call `on_done(check_id)` as they end.

    A copied check fetches the facts its original needs inside the function.
    So it raises the same `FactUnavailableError`, and the runner reports the
    same "could not check" finding. `on_done` runs whatever the outcome.

    Parameters
    ----------
    registry
        The checks to run, such as `REGISTRY`.
    on_done
        Called with the check's ID from the runner's worker threads.

    Returns
    -------
    CheckRegistry
        The same checks, in the same order, with the same IDs and titles.
    """
    counted = CheckRegistry()
    for entry in registry:
        counted.check(entry.id, title=entry.title)(_counted_check(entry, on_done))
    return counted


def _counted_check(
    entry: RegisteredCheck, on_done: Callable[[str], None]
) -> Callable[[CheckContext], Finding]:
    def run(context: CheckContext) -> Finding:
        try:
            for name in entry.needs:
                context.fact(name)
            return entry.function(context)
        finally:
            on_done(entry.id)

    run.__qualname__ = f"counted.{entry.id}"
    return run


# Statuses whose rows stay in view; the others are folded under a summary line,
# so the fixes are not lost among dozens of passed checks.
_ATTENTION = (Status.FAILED, Status.WARNING, Status.COULD_NOT_CHECK)


def findings_html(findings: list[Finding]) -> str:
    """Render findings as HTML tables, failures first, every cell escaped.

    Parameters
    ----------
    findings
        Findings in any order.

    Returns
    -------
    str
        A ``table`` of the findings that need attention (failed, warning,
        could not check), then the passed and not applicable ones in a folded
        ``details`` element. Each row shows the status (word, symbol and colour),
        the check, what was observed, what is expected and the fix.
    """
    ordered = sort_findings(findings)
    attention = [item for item in ordered if item.status in _ATTENTION]
    others = [item for item in ordered if item.status not in _ATTENTION]
    parts = [_findings_table(attention)] if attention else []
    if others:
        passed = sum(1 for item in others if item.status is Status.OK)
        summary = f"{passed} checks passed, {len(others) - passed} not applicable"
        parts.append(
            f"<details><summary>{html.escape(summary)}"
            f' <span class="{SCREEN_ONLY_CLASS}">(show them)</span></summary>'
            f"{_findings_table(others)}</details>"
        )
    return "".join(parts)


def _findings_table(findings: list[Finding]) -> str:
    head = "".join(f"<th {_CELL}>{html.escape(name)}</th>" for name in _HEADERS)
    rows = []
    for finding in findings:
        cells = (
            _status_cell(finding.status),
            f"{html.escape(finding.title)}<br><code>{html.escape(finding.id)}</code>",
            html.escape(finding.observed),
            html.escape(finding.expected),
            _fix_cell(finding),
        )
        row = "".join(f"<td {_CELL}>{cell}</td>" for cell in cells)
        rows.append(
            f'<tr class="akv-finding" data-status="{finding.status.name}">{row}</tr>'
        )
    return (
        '<table class="akv-findings" style="border-collapse:collapse;'
        'table-layout:fixed;width:100%">'
        f"{_COLUMNS}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        "</table>"
    )


def _download_link(path: Path, media_type: str) -> str:
    """Render a link that downloads the file at `path` from the page itself."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name, quote=True)
    return (
        f'<a class="akv-download" download="{name}" '
        f'href="data:{media_type};base64,{data}" '
        'style="color:#0969da;text-decoration:underline">'
        f"Download {name}</a>"
    )


def _scenario_note(connection: connections.Connection) -> str:
    """Name the simulator's active scenarios, which a reset clears.

    The fixes of the findings are ``az`` commands for real Azure, so in
    simulator mode the way out of a scenario is a reset. Returns an empty
    string in Azure mode, with no scenario, or when the simulator does not
    respond.
    """
    if connection.simulator is None:
        return ""
    try:
        active = connection.simulator.state().get("scenarios", [])
    except KitError as error:
        logger.warning("Could not read the simulator's scenarios: %s", error.message)
        return ""
    if not active:
        return ""
    names = ", ".join(str(name) for name in active)
    return status_line(
        "info",
        f"The simulator runs the scenario {names}, which causes what failed here.",
        "The fixes below are for real Azure. In the simulator, press Reset the "
        f"simulator in {step_place('start')} (or run `akv-onboard simulator "
        "reset`) to clear the scenario, then grant again.",
    )


def _summary_html(diagnosis: Diagnosis) -> str:
    """Render the headline of a run; it reads OK only when its exit code is 0.

    The exit code and the verdict are the diagnosis' own, so the panel, the
    ``doctor`` command and the report agree: a run in which a decisive check
    could not check is not OK.
    """
    counts = ", ".join(
        f"{count} {status}" for status, count in diagnosis.counts().items() if count
    )
    detail = (
        f"{len(diagnosis.findings)} checks in {diagnosis.duration_seconds:.1f} s "
        f"({diagnosis.mode} mode): {counts}."
    )
    if diagnosis.failed:
        failed = [item for item in diagnosis.findings if item.status is Status.FAILED]
        if diagnosis.unchecked:
            detail = f"{diagnosis.verdict} {detail}"
        return status_line(
            "error",
            f"{count_noun(len(failed), 'check')} failed: "
            f"{', '.join(item.id for item in failed)}. "
            "Each row below says what to do.",
            detail,
        )
    if diagnosis.exit_code:
        return status_line("warning", diagnosis.verdict, detail)
    if any(item.status is Status.WARNING for item in diagnosis.findings):
        return status_line("warning", "No check failed, but some need a look.", detail)
    return status_line("ok", diagnosis.verdict, detail)


def validate_task_path(text: str) -> str:
    """Check the task file's path before the doctor runs, as ``--task`` does.

    The rules are those of ``akv-onboard doctor --task``: the file exists, is
    not a folder and is readable. A leading ``~`` is expanded, as the doctor
    expands it when it reads the file.

    Returns
    -------
    str
        `text` as given.

    Raises
    ------
    InvalidInputError
        If the file does not exist, is a folder or cannot be read.
    """
    check_task_file(
        text, "Or clear the Task file box and paste the task's code instead."
    )
    return text


def _checked_inputs(inputs: DiagnosisInputs) -> DiagnosisInputs:
    """Check the identity and the task file before any request.

    Raises
    ------
    InvalidInputError
        If the identity is not a principal ID, client ID, resource ID or
        identity name, or the task file cannot be read.
    """
    identity = inputs.identity_text
    if identity is not None:
        identity = validate_identity_reference(identity)
    if inputs.task_path is not None:
        validate_task_path(inputs.task_path)
    return dataclasses.replace(inputs, identity_text=identity)


def doctor_text(
    identifier_text: str | None = None,
    identity_text: str | None = None,
    task_path: str | None = None,
) -> str:
    """Run the doctor without widgets and return its report as Markdown text.

    Parameters
    ----------
    identifier_text
        Secret identifier; default: the session profile's.
    identity_text
        Principal ID, client ID, resource ID or name; default: the profile's
        identity.
    task_path
        Path of a task file to check, or ``None``.

    Returns
    -------
    str
        The same report that the panel's Export button writes, redacted.
    """
    profile = load_profile()
    if identity_text is None and profile.identity is not None:
        identity_text = profile.identity.principal_id
    inputs = DiagnosisInputs(
        identifier_text=identifier_text or profile.secret_identifier or "",
        identity_text=identity_text,
        task_path=task_path,
    )
    try:
        connection: connections.Connection | None = connections.connect(profile)
    except KitError:
        connection = None
    return render_markdown(diagnose(connection, inputs))


class TroubleshootPanel(Panel):
    """Panel that runs the troubleshooting doctor and exports its report.

    Parameters
    ----------
    connection
        An existing connection. By default the panel connects from the profile
        when a run starts. When that fails, it runs only the checks that send no
        request.
    report_directory
        Folder of exported reports; defaults to ``<kit home>/reports``.
    """

    _BUTTON_CALLS: ClassVar[dict[str, str]] = {
        "Run the checks": "troubleshoot_panel.run()",
        "Re-run": "troubleshoot_panel.run()",
    }

    def __init__(
        self,
        connection: connections.Connection | None = None,
        report_directory: Path | None = None,
    ) -> None:
        super().__init__("Troubleshoot: from the secret to the task")
        self._connection = connection
        # A connection made from the profile is dropped when the profile's mode or
        # subscription changes. A connection given to the panel is kept.
        self._own_connection = connection is None
        self._report_directory = report_directory or kit_home() / "reports"
        self._diagnosis: Diagnosis | None = None
        self._last_inputs: DiagnosisInputs | None = None
        self._progress_lock = threading.Lock()
        self._steps: list[str] = []
        self._checks_done = 0
        self._progress = ProgressLine()
        profile = self._profile
        identity = profile.identity.principal_id if profile.identity else ""

        self._w_identifier = widgets.Text(
            value=profile.secret_identifier or "",
            description="Secret identifier",
            placeholder=SECRET_IDENTIFIER_SHAPE,
            layout=_WIDE,
            style=_LABELS,
        )
        self._w_identity = widgets.Text(
            value=identity,
            description="Identity",
            placeholder="principal ID, client ID, resource ID or name",
            layout=_WIDE,
            style=_LABELS,
        )
        self._w_task_path = widgets.Text(
            description="Task file",
            placeholder="optional: path of your task's .py file",
            layout=_WIDE,
            style=_LABELS,
        )
        self._w_task_source = widgets.Textarea(
            description="or task code",
            placeholder="optional: paste your task's code; it is read, never run",
            layout=widgets.Layout(width="95%", height="8em"),
            style=_LABELS,
        )
        self._w_run = widgets.Button(
            description="Run the checks", icon="stethoscope", button_style="primary"
        )
        self._w_rerun = widgets.Button(description="Re-run", icon="redo", disabled=True)
        self._w_export = widgets.Button(
            description="Export report", icon="download", disabled=True
        )
        self._w_findings = widgets.HTML("")
        self._w_report = widgets.HTML("")

        self._w_run.on_click(self._on_run_click)
        self._w_rerun.on_click(self._on_rerun_click)
        self._w_export.on_click(self._on_export_click)

    def _controls(self) -> list[widgets.Widget]:
        return [
            self._w_identifier,
            self._w_identity,
            self._w_task_path,
            self._w_task_source,
            widgets.HBox([self._w_run, self._w_rerun, self._w_export]),
            self._progress.widget,
            self._w_status,
            self._w_findings,
            self._w_report,
        ]

    def _buttons(self) -> list[widgets.Button]:
        return [self._w_run, self._w_rerun, self._w_export]

    def _button_usable(self, button: widgets.Button) -> bool:
        if button is self._w_rerun:
            return self._last_inputs is not None
        if button is self._w_export:
            return self._diagnosis is not None
        return True

    # Text mode and profile ---------------------------------------------------

    def run(
        self,
        secret_identifier: str | None = None,
        identity: str | None = None,
        task_path: str | None = None,
    ) -> None:
        """Run the checks, as the "Run the checks" button does.

        Parameters
        ----------
        secret_identifier, identity, task_path
            Values to put in the boxes first, after the saved profile is
            reloaded; ``None`` keeps a box as it is. Surrounding spaces are
            ignored, and `task_path` may be a ``pathlib.Path``.

        The identity and the task file are checked before any request, as for
        the button. An invalid one is shown in the status line and no check
        runs.

        Raises
        ------
        InvalidInputError
            If an argument is neither ``None`` nor text, before anything is
            changed or sent.
        """
        values = (
            (
                self._w_identifier,
                text_argument(
                    secret_identifier,
                    "secret_identifier",
                    f"a Key Vault secret identifier such as {SECRET_IDENTIFIER_SHAPE}",
                ),
            ),
            (
                self._w_identity,
                text_argument(
                    identity,
                    "identity",
                    "a principal ID, client ID, resource ID or name",
                ),
            ),
            (
                self._w_task_path,
                text_argument(
                    task_path, "task_path", "the path of a task's .py file", path=True
                ),
            ),
        )

        def set_boxes() -> None:
            for widget, value in values:
                if value is not None:
                    widget.value = value

        self._action(
            "Running the doctor",
            self._buttons(),
            lambda: self._run(self._inputs_from_widgets()),
            set_inputs=set_boxes,
        )

    def _text_help(self) -> list[str]:
        return [
            f'troubleshoot_panel.run("{SECRET_IDENTIFIER_SHAPE}", identity="<name '
            'or principal ID>", task_path="<task .py file>")',
            "print(doctor_text())",
        ]

    def _profile_loaded(self) -> None:
        old, new = self._previous_profile, self._profile
        if self._own_connection and (
            old.mode != new.mode or old.subscription_id != new.subscription_id
        ):
            self._connection = None
        self._update_field(
            self._w_identifier, old.secret_identifier, new.secret_identifier
        )
        self._update_field(
            self._w_identity,
            old.identity.principal_id if old.identity else None,
            new.identity.principal_id if new.identity else None,
        )

    @property
    def diagnosis(self) -> Diagnosis | None:
        """The result of the last run, or ``None`` before the first."""
        return self._diagnosis

    # Run ---------------------------------------------------------------------

    def _inputs_from_widgets(self) -> DiagnosisInputs:
        source = self._w_task_source.value
        path = self._w_task_path.value.strip()
        identity = self._w_identity.value.strip()
        return DiagnosisInputs(
            identifier_text=self._w_identifier.value,
            identity_text=identity or None,
            task_source=source if source.strip() else None,
            task_path=path or None,
        )

    def _on_run_click(self, _button: widgets.Button) -> None:
        self._action(
            "Running the doctor",
            self._buttons(),
            lambda: self._run(self._inputs_from_widgets()),
        )

    def _on_rerun_click(self, _button: widgets.Button) -> None:
        inputs = self._last_inputs or self._inputs_from_widgets()
        self._action(
            "Running the doctor again", self._buttons(), lambda: self._run(inputs)
        )

    def _connect(self) -> tuple[connections.Connection | None, str]:
        """Return the connection, or None and the reason it failed."""
        connection = self._connection
        if self._own_connection and connection and connection.mode == "simulator":
            # A reset or a scenario changes the operator the simulator's tokens
            # name, such as its tenant, and the checks read those tokens, so
            # each run signs in again. Signing in to the simulator is free,
            # unlike an Azure sign-in, which is kept.
            self._connection = None
        if self._connection is not None:
            return self._connection, ""
        try:
            self._connection = connections.connect(self._profile)
        except KitError as error:
            reason = error.message + (f" {error.fix}" if error.fix else "")
            return None, reason
        return self._connection, ""

    def _report_progress(self, step: str) -> None:
        # The runner calls this from its worker threads.
        with self._progress_lock:
            self._steps.append(step)
            self._progress.update(step)

    def _count_check(self, check_id: str) -> None:
        # Called from the runner's worker threads as each check ends.
        with self._progress_lock:
            self._checks_done += 1
            self._progress.update(f"Checked {check_id}", done=self._checks_done)

    def _run(self, inputs: DiagnosisInputs) -> None:
        inputs = _checked_inputs(inputs)
        self._steps = []
        self._checks_done = 0
        self._w_report.value = ""
        self._working("Running the checks…")
        registry = counted_registry(REGISTRY, self._count_check)
        self._progress.start("Running the checks", total=len(registry))
        try:
            connection, reason = self._connect()
            diagnosis = diagnose(
                connection,
                inputs,
                progress=self._report_progress,
                registry=registry,
            )
        finally:
            self._progress.finish()
        self._diagnosis = diagnosis
        self._last_inputs = inputs
        self._w_findings.value = findings_html(diagnosis.findings)
        note = ""
        if connection is None:
            note = status_line(
                "warning",
                "Could not connect, so only the checks that send no request ran.",
                reason,
            )
        elif diagnosis.failed or diagnosis.exit_code:
            note = _scenario_note(connection)
        self._show(_summary_html(diagnosis) + note)

    # Export ------------------------------------------------------------------

    def _on_export_click(self, _button: widgets.Button) -> None:
        self._action("Exporting the report", self._buttons(), self._export)

    def _export(self) -> None:
        if self._diagnosis is None:
            self._show(status_line("info", "Run the checks first, then export."))
            return
        markdown_path, json_path = export_report(
            self._diagnosis, self._report_directory
        )
        # The files lie beside the kernel, which may run on another machine
        # than the browser, as under Voilà, so the page offers them too.
        downloads = (
            f'<div class="{SCREEN_ONLY_CLASS}">'
            f"{_download_link(markdown_path, 'text/markdown')} · "
            f"{_download_link(json_path, 'application/json')}</div>"
        )
        self._w_report.value = (
            status_line(
                "ok",
                "Report exported. It holds no secret value or token, and reads "
                "without the kit.",
            )
            + definition_list([("Markdown", markdown_path), ("JSON", json_path)])
            + downloads
        )
