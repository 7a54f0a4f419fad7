"""Troubleshooting: run the doctor's checks and show each finding with its fix."""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from akv_helpers import connection as connections
from akv_helpers.diagnose import (
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    diagnose,
    sort_findings,
)
from akv_helpers.diagnose.report import export_report, render_markdown
from akv_helpers.errors import KitError
from akv_helpers.identifiers import SECRET_IDENTIFIER_SHAPE
from akv_helpers.profile import kit_home, load_profile

from ._panel import Panel
from ._render import definition_list, status_line
from .start import WIDGETS_FALLBACK_TEXT

__all__ = ["STATUS_STYLES", "TroubleshootPanel", "doctor_text", "findings_html"]

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
    'border:1px solid #d0d7de"'
)
_HEADERS = ("Status", "Check", "Observed", "Expected", "Fix")
_WIDE = widgets.Layout(width="95%")
_LABELS = {"description_width": "10em"}


def _status_cell(status: Status) -> str:
    word, symbol, colour = STATUS_STYLES[status]
    return f'<b style="color:{colour}">{symbol} {html.escape(word)}</b>'


def _fix_cell(finding: Finding) -> str:
    parts = [html.escape(finding.fix)] if finding.fix else []
    for command in finding.commands:
        parts.append(f"<pre style='margin:2px 0'>{html.escape(command)}</pre>")
    return "".join(parts)


def findings_html(findings: list[Finding]) -> str:
    """Render findings as an HTML table, failures first, every cell escaped.

    Parameters
    ----------
    findings
        Findings in any order.

    Returns
    -------
    str
        An HTML ``table`` with the status (word, symbol and colour), the check,
        what was observed, what is expected and the fix of each finding.
    """
    head = "".join(f"<th {_CELL}>{html.escape(name)}</th>" for name in _HEADERS)
    rows = []
    for finding in sort_findings(findings):
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
        '<table class="akv-findings" style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _summary_html(diagnosis: Diagnosis) -> str:
    counts = ", ".join(
        f"{count} {status}" for status, count in diagnosis.counts().items() if count
    )
    detail = (
        f"{len(diagnosis.findings)} checks in {diagnosis.duration_seconds:.1f} s "
        f"({diagnosis.mode} mode): {counts}."
    )
    if diagnosis.failed:
        failed = [item for item in diagnosis.findings if item.status is Status.FAILED]
        return status_line(
            "error",
            f"{len(failed)} check(s) failed: {', '.join(item.id for item in failed)}. "
            "Each row below says what to do.",
            detail,
        )
    if any(item.status is Status.WARNING for item in diagnosis.findings):
        return status_line("warning", "No check failed, but some need a look.", detail)
    return status_line("ok", "No check failed.", detail)


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

    def __init__(
        self,
        connection: connections.Connection | None = None,
        report_directory: Path | None = None,
    ) -> None:
        super().__init__("Troubleshoot: from the secret to the task")
        self._connection = connection
        self._report_directory = report_directory or kit_home() / "reports"
        self._diagnosis: Diagnosis | None = None
        self._last_inputs: DiagnosisInputs | None = None
        self._progress_lock = threading.Lock()
        self._steps: list[str] = []
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
        self._w_progress = widgets.HTML("")
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
            self._w_progress,
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

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = (
            f"{WIDGETS_FALLBACK_TEXT} Until then, run the same checks as text with "
            "`print(doctor_text())` in a new cell, or `akv-onboard doctor "
            "<secret identifier>` in a terminal."
        )
        return bundle

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
            self._w_progress.value = status_line(
                "working", f"{step}…", f"Step {len(self._steps)}"
            )

    def _run(self, inputs: DiagnosisInputs) -> None:
        self._steps = []
        self._w_report.value = ""
        self._working("Running the checks…")
        connection, reason = self._connect()
        diagnosis = diagnose(connection, inputs, progress=self._report_progress)
        self._diagnosis = diagnosis
        self._last_inputs = inputs
        self._w_progress.value = ""
        self._w_findings.value = findings_html(diagnosis.findings)
        note = ""
        if connection is None:
            note = status_line(
                "warning",
                "Could not connect, so only the checks that send no request ran.",
                reason,
            )
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
        self._w_report.value = status_line(
            "ok",
            "Report exported. It holds no secret value or token, and reads "
            "without the kit.",
        ) + definition_list([("Markdown", markdown_path), ("JSON", json_path)])
