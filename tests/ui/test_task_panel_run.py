"""The task panel against the simulator with real pyflyte runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from panel_support import SECRET, copied_values, identity, timer_threads

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.profile import Profile, save_profile
from akv_helpers.ui import _render_check
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.task import ACCESS_WAIT_SECONDS, TaskPanel

CURRENT_VERSION = "7c4a8d09ca3762af61e59520943dc264"
OLDER_VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def saved_profile(secret: str | None = SECRET) -> None:
    save_profile(
        Profile(mode="simulator", secret_identifier=secret, identity=identity())
    )


@pytest.mark.flyte
def test_task_run_result_table(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection, tmp_path: Path
) -> None:
    fresh_sim.apply_scenario("healthy")
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path)
    labels: list[str] = []
    panel._progress._label.observe(
        lambda change: labels.append(html_to_text(change["new"])), names="value"
    )

    panel._w_run.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("OK: Passed:"), status
    assert "status: passed" in status
    assert "version read: latest (the current version)" in status
    assert "duration: " in status
    fingerprint = [
        line for line in status.splitlines() if line.startswith("fingerprint: ")
    ]
    assert len(fingerprint) == 1
    assert fingerprint[0] != "fingerprint: (none)"
    assert panel._module_path is not None
    assert str(panel._module_path) in copied_values(panel._w_code.value)
    assert "module path" not in status
    assert labels and labels[0].startswith("Working: Running ")
    assert panel._progress.widget.layout.display == "none"
    assert timer_threads() == []


@pytest.mark.flyte
def test_task_pinned_run_in_text_mode(
    fresh_sim: SimulatorEndpoint,
    fast_connection: Connection,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", True)
    fresh_sim.apply_scenario("healthy")
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path)

    panel.generate(pinned=True)
    generated = capsys.readouterr().out
    panel.run()
    printed = capsys.readouterr().out

    assert "OK: Task written to" in generated
    assert "pyflyte run" in generated
    assert "Copy" not in generated
    assert "OK: Passed:" in printed
    assert f"version read: {CURRENT_VERSION}" in printed
    assert "fingerprint: " in printed


def test_task_generate_copy_buttons(
    fast_connection: Connection, tmp_path: Path
) -> None:
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path)

    panel.generate()

    path = panel._module_path
    assert path is not None
    assert copied_values(panel._w_code.value) == [str(path)]
    remote = copied_values(panel._w_remote.value)
    assert len(remote) == 2
    assert remote[0].startswith("pyflyte run --remote ")
    assert remote[1].startswith("union run --remote ")
    for command in remote:
        assert "\n" not in command
        assert str(path.name) in command


def test_task_version_follows_new_identifier(
    fast_connection: Connection, tmp_path: Path
) -> None:
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path)
    assert panel._w_version.value == "latest"

    # The grant panel saves a versioned identifier after the task panel exists.
    saved_profile(f"{SECRET}/{OLDER_VERSION}")
    panel.refresh()

    assert panel._w_version.value == "pinned"
    panel._w_generate.click()
    assert panel._module_path is not None
    code = panel._module_path.read_text(encoding="utf-8")
    assert f"SECRET_VERSION = '{OLDER_VERSION}'" in code

    saved_profile()
    panel.refresh()

    assert panel._w_version.value == "latest"
    assert panel._module_path is None


def test_task_denied_run_fails_fast(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection, tmp_path: Path
) -> None:
    # The fresh tenant has no grant, so the read as the identity is denied and
    # pyflyte does not start.
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path)

    panel._w_run.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "status: failed at the fetch stage" in status
    assert "fingerprint: (none)" in status
    assert timer_threads() == []


def test_task_long_propagation_bounded(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection, tmp_path: Path
) -> None:
    fresh_sim.apply_scenario("grant-propagating")
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path, access_timeout=1.0)
    started = time.monotonic()

    panel._w_run.click()

    assert time.monotonic() - started < 15
    status = html_to_text(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "still propagating" in status
    assert timer_threads() == []


def test_task_default_wait_bounded() -> None:
    assert TaskPanel.__init__.__defaults__ == (None, None, ACCESS_WAIT_SECONDS)
    assert ACCESS_WAIT_SECONDS < 600


def test_task_refresh_shows_saved_profile(
    fast_connection: Connection, tmp_path: Path
) -> None:
    save_profile(Profile(mode="simulator"))
    panel = TaskPanel(fast_connection, tmp_path)
    assert "secret identifier: (none)" in html_to_text(panel._w_secret.value)

    saved_profile()
    panel.refresh()

    shown = html_to_text(panel._w_secret.value)
    assert f"secret identifier: {SECRET}" in shown
    assert "identity: userflyterole" in shown


def test_task_refresh_new_secret_drops_module(
    fast_connection: Connection, tmp_path: Path
) -> None:
    saved_profile()
    panel = TaskPanel(fast_connection, tmp_path)
    panel.generate()
    assert panel._module_path is not None

    saved_profile("https://kv-demo.vault.azure.net/secrets/api-key")
    panel.refresh()

    assert panel._module_path is None
    assert panel._w_code.value == ""


def test_task_text_help_calls() -> None:
    panel = TaskPanel(None, Path("/nonexistent"))

    assert panel._text_help() == [
        "task_panel.generate(pinned=False)",
        "task_panel.run()",
    ]


@pytest.mark.flyte
def test_task_runs_code_it_shows(
    fresh_sim: SimulatorEndpoint, fast_connection: Connection, tmp_path: Path
) -> None:
    # Two pages of one kit home write the same module file for the secret.
    fresh_sim.apply_scenario("healthy")
    saved_profile(f"{SECRET}/{OLDER_VERSION}")
    pinned = TaskPanel(fast_connection, tmp_path)
    latest = TaskPanel(fast_connection, tmp_path)
    latest._w_version.value = "latest"
    pinned._w_generate.click()
    latest._w_generate.click()
    assert pinned._module_path == latest._module_path

    pinned._w_run.click()

    status = html_to_text(pinned._w_status.value)
    assert status.startswith("OK: Passed:"), status
    assert f"version read: {OLDER_VERSION}" in status
    assert pinned._module_path is not None
    code = pinned._module_path.read_text(encoding="utf-8")
    assert f"SECRET_VERSION = '{OLDER_VERSION}'" in code
