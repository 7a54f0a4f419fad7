"""The troubleshoot panel: check count, fix commands with copy, text mode."""

from __future__ import annotations

import base64
import dataclasses
import re
import threading
from pathlib import Path

import pytest
from panel_support import PRINCIPAL, SECRET, copied_values, identity, timer_threads

from akv_helpers.connection import Connection, SimulatorEndpoint, connect
from akv_helpers.diagnose import REGISTRY, DiagnosisInputs, Status, diagnose
from akv_helpers.profile import Profile, save_profile
from akv_helpers.ui import _render_check
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.troubleshoot import TroubleshootPanel, counted_registry


@pytest.fixture
def sim_connection(fresh_sim: SimulatorEndpoint, profile_home: Path) -> Connection:
    save_profile(
        Profile(mode="simulator", secret_identifier=SECRET, identity=identity())
    )
    return connect(Profile(mode="simulator"))


def test_progress_counts_every_check(
    sim_connection: Connection, tmp_path: Path
) -> None:
    panel = TroubleshootPanel(sim_connection, tmp_path)
    values: list[int] = []
    panel._progress._bar.observe(lambda change: values.append(change["new"]), "value")
    labels: list[str] = []
    panel._progress._label.observe(
        lambda change: labels.append(html_to_text(change["new"])), names="value"
    )

    panel._w_run.click()

    total = len(REGISTRY)
    assert panel._progress._bar.max == total
    assert values[-1] == total
    assert values == sorted(values)
    assert any(
        label.endswith(f"{total} of {total} done (0 s elapsed)")
        or f"{total} of {total} done" in label
        for label in labels
    ), labels
    assert all(label.startswith("Working:") for label in labels if label)
    assert panel._progress.widget.layout.display == "none"
    assert timer_threads() == []


def test_fix_commands_have_copy_buttons(
    sim_connection: Connection, tmp_path: Path
) -> None:
    # The fresh tenant has no grant, so the grant checks fail with commands.
    panel = TroubleshootPanel(sim_connection, tmp_path)

    panel._w_run.click()

    diagnosis = panel.diagnosis
    assert diagnosis is not None
    commands = [command for item in diagnosis.findings for command in item.commands]
    assert commands, "expected at least one finding with a fix command"
    copied = copied_values(panel._w_findings.value)
    assert set(commands) <= set(copied)
    # The other copy buttons sit beside commands quoted inside a fix.
    quoted = {
        span
        for item in diagnosis.findings
        for span in re.findall(r"`([^`\n]+)`", item.fix)
        if " " in span and "<" not in span
    }
    # A command with a <placeholder> cannot run as pasted, so it has no button.
    assert not [value for value in copied if re.search(r"<[^<>]+>", value)]
    assert set(copied) - set(commands) <= quoted
    assert 'data-status="FAILED"' in panel._w_findings.value


def test_counted_registry_same_findings(sim_connection: Connection) -> None:
    inputs = DiagnosisInputs(identifier_text=SECRET, identity_text=PRINCIPAL)
    done: list[str] = []
    lock = threading.Lock()

    def count(check_id: str) -> None:
        with lock:
            done.append(check_id)

    plain = diagnose(sim_connection, inputs)
    counted = diagnose(
        sim_connection, inputs, registry=counted_registry(REGISTRY, count)
    )

    assert [(f.id, f.status) for f in counted.findings] == [
        (f.id, f.status) for f in plain.findings
    ]
    assert sorted(done) == sorted(REGISTRY.ids())


def test_counted_registry_offline_could_not_check() -> None:
    inputs = DiagnosisInputs(identifier_text=SECRET, identity_text=PRINCIPAL)
    done: list[str] = []

    plain = diagnose(None, inputs)
    counted = diagnose(None, inputs, registry=counted_registry(REGISTRY, done.append))

    assert [(f.id, f.status, f.observed) for f in counted.findings] == [
        (f.id, f.status, f.observed) for f in plain.findings
    ]
    assert any(f.status is Status.COULD_NOT_CHECK for f in counted.findings)
    assert len(done) == len(REGISTRY)


def test_text_run_prints_findings(
    sim_connection: Connection,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", True)
    panel = TroubleshootPanel(sim_connection, tmp_path)

    panel.run("https://kv-demo.vault.azure.net/keys/db-pass")

    printed = capsys.readouterr().out
    assert panel._w_identifier.value == "https://kv-demo.vault.azure.net/keys/db-pass"
    assert "Failed:" in printed
    assert "identifier.format" in printed
    assert "Copy" not in printed


def test_text_help_lists_run(sim_connection: Connection, tmp_path: Path) -> None:
    panel = TroubleshootPanel(sim_connection, tmp_path)

    calls = panel._text_help()

    assert calls[0].startswith('troubleshoot_panel.run("https://')
    assert "print(doctor_text())" in calls


def test_refresh_fills_boxes(
    fresh_sim: SimulatorEndpoint, profile_home: Path, tmp_path: Path
) -> None:
    save_profile(Profile(mode="simulator"))
    panel = TroubleshootPanel(None, tmp_path)
    assert panel._w_identifier.value == ""

    save_profile(
        Profile(mode="simulator", secret_identifier=SECRET, identity=identity())
    )
    panel.refresh()

    assert panel._w_identifier.value == SECRET
    assert panel._w_identity.value == PRINCIPAL


def test_refresh_keeps_typed_identity(
    fresh_sim: SimulatorEndpoint, profile_home: Path, tmp_path: Path
) -> None:
    save_profile(Profile(mode="simulator", identity=identity()))
    panel = TroubleshootPanel(None, tmp_path)
    panel._w_identity.value = "someone-else"

    other = dataclasses.replace(
        identity(), principal_id="cccccccc-0000-4000-8000-000000000003"
    )
    save_profile(Profile(mode="simulator", identity=other))
    panel.refresh()

    assert panel._w_identity.value == "someone-else"


def test_scenario_named_with_reset(
    fresh_sim: SimulatorEndpoint, sim_connection: Connection, tmp_path: Path
) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    panel = TroubleshootPanel(sim_connection, tmp_path)

    panel._w_run.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "runs the scenario demo-vault-access-policies" in status
    assert "akv-onboard simulator reset" in status


def test_no_scenario_note_without_scenario(
    sim_connection: Connection, tmp_path: Path
) -> None:
    # The fresh tenant has no grant, so checks fail without any scenario.
    panel = TroubleshootPanel(sim_connection, tmp_path)

    panel._w_run.click()

    status = html_to_text(panel._w_status.value)
    assert status.startswith("Failed:"), status
    assert "scenario" not in status


def test_export_offers_downloads(sim_connection: Connection, tmp_path: Path) -> None:
    panel = TroubleshootPanel(sim_connection, tmp_path)
    panel._w_run.click()

    panel._w_export.click()

    link = r'<a class="akv-download" download="([^"]+)" '
    link += r'href="data:([^;]+);base64,([^"]+)"'
    links = re.findall(link, panel._w_report.value)
    assert [(name.rsplit(".", 1)[1], kind) for name, kind, _ in links] == [
        ("md", "text/markdown"),
        ("json", "application/json"),
    ]
    for name, _, data in links:
        assert base64.b64decode(data) == (tmp_path / name).read_bytes()
    # Text mode shows the paths, not links it cannot follow.
    assert "Download" not in html_to_text(panel._w_report.value)
