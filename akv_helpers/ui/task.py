"""Step 3: generate the Flyte test task, run it locally, show how to run it on Union."""

from __future__ import annotations

import html
import logging
import platform
import re
from pathlib import Path
from typing import ClassVar

import ipywidgets as widgets

from akv_helpers import connection as connections
from akv_helpers import flyte_task, vaults
from akv_helpers._text_checks import end_sentence
from akv_helpers.errors import KitError, NotConfiguredError
from akv_helpers.identifiers import SecretIdentifier, parse_secret_identifier
from akv_helpers.profile import kit_home
from akv_helpers.steps import step_place

from ._panel import Panel, bool_argument
from ._progress import ProgressLine
from ._render import code_block, command_block, definition_list, id_html, status_line

__all__ = ["ACCESS_WAIT_SECONDS", "TaskPanel", "highlight_python"]

logger = logging.getLogger(__name__)

# Maximum number of pyflyte output lines shown under a failed run (the last ones).
# The whole output goes to the panel's log.
SHOWN_OUTPUT_LINES = 30

# How long a run waits, by default, for a new grant to take effect before it
# reports that the grant is still propagating. Azure can take up to 10 minutes,
# so the panel waits less and its message asks for another run later.
ACCESS_WAIT_SECONDS = 60.0

# Colour and cursor sequences that rich writes into pyflyte's output.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def highlight_python(source: str) -> str:
    """Render Python source as syntax-highlighted HTML with inline styles.

    Falls back to an escaped ``pre`` block when Pygments is not installed.

    Parameters
    ----------
    source
        Python code.

    Returns
    -------
    str
        HTML fragment.
    """
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return code_block(source)
    return str(highlight(source, PythonLexer(), HtmlFormatter(noclasses=True)))


class TaskPanel(Panel):
    """Panel of step 3: write the test task module and run it with pyflyte.

    Parameters
    ----------
    connection
        An existing connection; by default the panel connects from the profile.
    directory
        Folder the module is written to; defaults to ``<kit home>/tasks``.
    access_timeout
        Maximum time, in seconds, a run waits for a new grant to take effect;
        `ACCESS_WAIT_SECONDS` by default.
    """

    _BUTTON_CALLS: ClassVar[dict[str, str]] = {
        "Generate task": "task_panel.generate()",
        "Run locally": "task_panel.run()",
    }

    def __init__(
        self,
        connection: connections.Connection | None = None,
        directory: Path | None = None,
        access_timeout: float = ACCESS_WAIT_SECONDS,
    ) -> None:
        super().__init__("Step 3: run the test task")
        self._connection = connection
        # A connection made from the profile is dropped when the profile's mode or
        # subscription changes. A connection given to the panel is kept.
        self._own_connection = connection is None
        self._access_timeout = access_timeout
        self._directory = directory or kit_home() / "tasks"
        self._module_path: Path | None = None
        self._identifier: SecretIdentifier | None = None
        # What this panel last wrote to `_module_path`, and whether it pinned.
        self._module_source: str | None = None
        self._module_pinned = False
        self._w_secret = widgets.HTML("")
        self._w_version = widgets.ToggleButtons(
            options=(("Latest version", "latest"), ("Pinned version", "pinned")),
            value=self._default_version(),
            description="Read",
        )
        self._w_generate = widgets.Button(description="Generate task", icon="code")
        self._w_run = widgets.Button(
            description="Run locally", icon="play", button_style="primary"
        )
        self._w_code = widgets.HTML("")
        self._w_remote = widgets.HTML("")
        self._progress = ProgressLine()
        self._w_version.observe(self._on_version_change, names="value")
        self._w_generate.on_click(self._on_generate_click)
        self._w_run.on_click(self._on_run_click)
        self._show_secret()

    def _controls(self) -> list[widgets.Widget]:
        return [
            self._w_secret,
            self._w_version,
            widgets.HBox([self._w_generate, self._w_run]),
            self._progress.widget,
            self._w_status,
            self._w_code,
            self._w_remote,
        ]

    def _buttons(self) -> list[widgets.Button]:
        return [self._w_generate, self._w_run]

    def _connect(self) -> connections.Connection:
        if self._connection is None:
            self._connection = connections.connect(self._profile)
        return self._connection

    # Text mode and profile ---------------------------------------------------

    def generate(self, pinned: bool = False) -> None:
        """Write the test task module, as the "Generate task" button does.

        Parameters
        ----------
        pinned
            Whether the task reads a pinned version instead of the latest one.

        Raises
        ------
        InvalidInputError
            If `pinned` is not ``True`` or ``False`` (a string such as ``"no"``
            is rejected), before anything is changed or written.
        """
        version = "pinned" if bool_argument(pinned, "pinned") else "latest"

        def set_version() -> None:
            self._w_version.value = version

        self._action(
            "Generating the task",
            self._buttons(),
            self._generate,
            set_inputs=set_version,
        )

    def run(self) -> None:
        """Run the test task locally, as the "Run locally" button does."""
        self._action("Running the task", self._buttons(), self._run)

    def _text_help(self) -> list[str]:
        return ["task_panel.generate(pinned=False)", "task_panel.run()"]

    def _profile_loaded(self) -> None:
        old, new = self._previous_profile, self._profile
        if self._own_connection and (
            old.mode != new.mode or old.subscription_id != new.subscription_id
        ):
            self._connection = None
        if old.secret_identifier != new.secret_identifier:
            # The module reads the old secret: the next run writes it again.
            self._module_path = None
            self._identifier = None
            self._w_code.value = ""
            self._w_remote.value = ""
            # A newly pasted identifier with a version requests that version.
            self._w_version.value = self._default_version()
        self._show_secret()

    def _show_secret(self) -> None:
        profile = self._profile
        identity = profile.identity.name if profile.identity else None
        self._w_secret.value = definition_list(
            [
                ("secret identifier", profile.secret_identifier),
                ("identity", identity),
            ]
        )

    def _default_version(self) -> str:
        # Pin when the pasted identifier names a version, as the user asked for it.
        text = self._profile.secret_identifier
        if text and _ends_with_version(text):
            return "pinned"
        return "latest"

    def _require_identifier(self) -> SecretIdentifier:
        text = self._require(
            self._profile.secret_identifier, "secret identifier", step_place("grant")
        )
        return parse_secret_identifier(text)

    def _on_version_change(self, _change: object) -> None:
        self._module_path = None
        self._w_code.value = ""
        self._w_remote.value = ""

    # Generate --------------------------------------------------------------

    def _on_generate_click(self, _button: widgets.Button) -> None:
        self._action("Generating the task", self._buttons(), self._generate)

    def _generate(self) -> Path:
        identifier = self._require_identifier()
        pinned = self._w_version.value == "pinned"
        # The local run lays the value out by the identifier's version, so the
        # identifier must match what the module requests.
        if not pinned:
            identifier = identifier.with_version(None)
        elif identifier.version is None:
            identifier = self._current_version(identifier)
        path = flyte_task.write_task_module(identifier, self._directory, pinned=pinned)
        self._identifier = identifier
        self._module_path = path
        self._module_pinned = pinned
        self._module_source = path.read_text(encoding="utf-8")
        # The code is folded, so that the run's result stays in view below it.
        self._w_code.value = (
            f"<div><b>Module</b> {id_html(str(path), 'module path')}</div>"
            "<details><summary>Show the task's code</summary>"
            + highlight_python(path.read_text(encoding="utf-8"))
            + "</details>"
        )
        pyflyte_command, union_command = flyte_task.remote_run_commands(path)
        # One block each, so that a copy pastes one command, not both.
        self._w_remote.value = (
            "<b>Run the same file on Union</b> (set <code>--project</code> and "
            "<code>--domain</code> to yours; the image needs Python "
            f"{html.escape(platform.python_version())}, which this kernel runs). "
            "With flytekit's CLI:"
            + command_block(pyflyte_command, "pyflyte command")
            + "Or with Union's CLI:"
            + command_block(union_command, "union command")
        )
        version = f"version {identifier.version}" if pinned else "the latest version"
        self._show(status_line("ok", f"Task written to {path}; it reads {version}."))
        return path

    def _restore_module(self, path: Path, identifier: SecretIdentifier) -> None:
        """Write the module again if it changed on disk since this panel wrote it.

        Every panel and notebook of a kit home writes the same file for a secret.
        Another page's Generate task may have replaced it with other code, so the
        file is written again, and the run is of the code this panel shows.
        """
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current == self._module_source:
            return
        logger.info("%s changed on disk since it was generated; writing it again", path)
        flyte_task.write_task_module(
            identifier, self._directory, pinned=self._module_pinned
        )

    def _current_version(self, identifier: SecretIdentifier) -> SecretIdentifier:
        # The profile's identifier has no version: pin the secret's current one.
        connection = self._connect()
        vault = vaults.find_vault(connection, identifier.vault_name)
        info = vaults.get_secret_info(connection, vault, identifier.name)
        if info.current_version is None:
            raise NotConfiguredError(
                f"Azure reports no current version of the secret {identifier.name}.",
                "Choose Latest version, or paste a versioned secret identifier in "
                f"{step_place('grant')}.",
            )
        return identifier.with_version(info.current_version)

    # Run -------------------------------------------------------------------

    def _on_run_click(self, _button: widgets.Button) -> None:
        self._action("Running the task", self._buttons(), self._run)

    def _run(self) -> None:
        path = self._module_path or self._generate()
        identifier = self._identifier or self._require_identifier()
        self._restore_module(path, identifier)
        identity = self._require_identity()
        self._working(f"Running {path.name} locally with pyflyte…")
        running = f"Running {path.name} locally"
        self._progress.start(running)

        def report(step: str) -> None:
            # run_task_locally reports only the steps of waiting for a grant, and
            # pyflyte runs after them. So the label calls the step the last one.
            self._progress.update(f"{running}. Last step: {step}")

        try:
            result = flyte_task.run_task_locally(
                self._connect(),
                identifier,
                identity.principal_id,
                path,
                wait_timeout=self._access_timeout,
                progress=report,
            )
        finally:
            self._progress.finish()
        table = _result_html(result, identifier)
        if result.ok:
            self._show(
                status_line("ok", end_sentence(f"Passed: {result.message}"), result.fix)
                + table
            )
            return
        detail = f"What to do: {result.fix}" if result.fix else ""
        output_html = ""
        if result.output:
            # run_task_locally has already replaced the value in the output.
            output = _ANSI_ESCAPE.sub("", result.output)
            self._w_log.append_stdout(output)
            lines = output.splitlines()[-SHOWN_OUTPUT_LINES:]
            output_html = code_block("\n".join(lines))
        message = end_sentence(result.message)
        self._show(status_line("error", message, detail) + table + output_html)


def _result_html(
    result: flyte_task.LocalRunResult, identifier: SecretIdentifier
) -> str:
    """Render a local run as a table: status, fingerprint, version, duration."""
    if result.ok:
        status = "passed" if result.access_checked else "passed (code shape only)"
    else:
        status = f"failed at the {result.stage} stage"
    version = identifier.version or "latest (the current version)"
    return definition_list(
        [
            ("status", status),
            ("fingerprint", result.fingerprint),
            ("version read", version),
            ("duration", f"{result.duration_seconds:.1f} s"),
        ]
    )


def _ends_with_version(text: str) -> bool:
    try:
        return parse_secret_identifier(text).version is not None
    except KitError:
        return False
