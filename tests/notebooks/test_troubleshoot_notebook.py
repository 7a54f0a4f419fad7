"""Notebook 04 run headless against simulator scenarios, and 00's scenario selector."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from nbrun import NOTEBOOKS, probe, text_of

from akv_helpers.profile import IdentityRef, Profile, save_profile

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

NOTEBOOK = "04-troubleshoot.ipynb"
TENANT = "11111111-1111-4111-8111-111111111111"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = "rg-union-dp"
CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
H12_TASK = (
    "from flytekit import Secret, current_context, task\n"
    "@task(secret_requests=[Secret(\n"
    f'    group="{SECRET}",\n'
    "    mount_requirement=Secret.MountType.FILE)])\n"
    "def t() -> str:\n"
    f'    return current_context().secrets.get("{SECRET}")\n'
)
PANEL = "troubleshoot_panel"
STATE = {
    "status": f"{PANEL}._w_status.value",
    "findings": f"{PANEL}._w_findings.value",
    "busy": f"[button.disabled for button in {PANEL}._buttons()]",
    "steps": f"len({PANEL}._steps)",
}


def save_session_profile() -> None:
    save_profile(
        Profile(
            mode="simulator",
            tenant_id=TENANT,
            subscription_id=SUBSCRIPTION,
            resource_group=GROUP,
            identity=IdentityRef(
                name="userflyterole",
                resource_group=GROUP,
                resource_id=(
                    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/"
                    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
                ),
                client_id=CLIENT_ID,
                principal_id=PRINCIPAL_ID,
            ),
            secret_identifier=SECRET,
        )
    )


def rows(findings_html: str) -> list[tuple[str, str]]:
    """Return (status name, row text) of each findings table row, in order."""
    found = re.findall(
        r'<tr class="akv-finding" data-status="([A-Z_]+)">(.*?)</tr>', findings_html
    )
    return [(status, text_of(row)) for status, row in found]


def canaries(home: Path) -> list[str]:
    state = (home / "simulator" / "state.json").read_text(encoding="utf-8")
    found = sorted(set(re.findall(r"AKVSIM-CANARY-[A-Za-z0-9_\-]+", state)))
    assert found, "the state file holds no canary"
    return found


def test_troubleshoot_failure_then_healthy(
    notebook_runner, notebook_home, fresh_sim
) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    save_session_profile()
    executed = notebook_runner(
        NOTEBOOK,
        notebook_home,
        [
            probe(
                "",
                {
                    "identifier": f"{PANEL}._w_identifier.value",
                    "identity": f"{PANEL}._w_identity.value",
                    "busy": STATE["busy"],
                },
            ),
            probe(
                f"{PANEL}._w_task_source.value = {H12_TASK!r}\n{PANEL}._w_run.click()",
                STATE,
            ),
            probe(
                "from akv_helpers.connection import ensure_simulator\n"
                "ensure_simulator().reset()\n"
                "ensure_simulator().apply_scenario('healthy')\n"
                f"{PANEL}._w_task_source.value = ''\n"
                f"{PANEL}._w_run.click()",
                STATE,
            ),
            probe(
                f"{PANEL}._w_export.click()",
                {"report": f"{PANEL}._w_report.value", "busy": STATE["busy"]},
            ),
        ],
    )
    before, failing, healthy, exported = executed.results

    assert before["identifier"] == SECRET
    assert before["identity"] == PRINCIPAL_ID
    assert before["busy"] == [False, True, True]

    failing_rows = rows(failing["findings"])
    assert failing_rows[0][0] == "FAILED"
    assert failing["busy"] == [False, False, False]
    assert failing["steps"] > 0
    permission = [text for _, text in failing_rows if "vault.permission-model" in text]
    assert permission and permission[0].startswith("✗ Failed")
    assert "access polic" in permission[0]
    get_call = [text for _, text in failing_rows if "task.get-with-uri" in text]
    assert get_call and 'secrets.get("db-pass")' in get_call[0]
    assert re.search(r"\b\d+ checks? failed: ", text_of(failing["status"]))
    statuses = [status for status, _ in failing_rows]
    assert statuses.index("OK") > max(
        index for index, status in enumerate(statuses) if status == "FAILED"
    )

    assert all(status != "FAILED" for status, _ in rows(healthy["findings"]))
    assert "No check failed" in text_of(healthy["status"])
    assert 'data-status="OK"' in healthy["findings"]

    report_text = text_of(exported["report"])
    assert "Report exported" in report_text
    written = sorted((notebook_home / "reports").glob("akv-doctor-*"))
    assert {path.suffix for path in written} == {".md", ".json"}
    for path in written:
        assert str(path) in report_text
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        content = path.read_text(encoding="utf-8")
        for canary in canaries(notebook_home):
            assert canary not in content
    latest_json = max(
        (path for path in written if path.suffix == ".json"),
        key=lambda path: path.stat().st_mtime,
    )
    assert json.loads(latest_json.read_text(encoding="utf-8"))["failed"] is False


def test_troubleshoot_escapes_and_falls_back(
    notebook_runner, notebook_home, fresh_sim
) -> None:
    save_session_profile()
    executed = notebook_runner(
        NOTEBOOK,
        notebook_home,
        [
            probe(
                f"{PANEL}._w_identifier.value = '<b>kv</b><script>x</script>'\n"
                f"{PANEL}._w_run.click()",
                STATE,
            ),
        ],
    )
    (escaped,) = executed.results
    panel_cell = next(
        cell
        for cell in executed.notebook.cells
        if cell.cell_type == "code" and "TroubleshootPanel()" in cell.source
    )
    plain = panel_cell.outputs[0]["data"]["text/plain"]

    assert "<script>" not in escaped["findings"]
    assert "&lt;script&gt;" in escaped["findings"]
    format_row = [
        text
        for status, text in rows(escaped["findings"])
        if "identifier.format" in text
    ]
    assert format_row and format_row[0].startswith("✗ Failed")
    assert "application/vnd.jupyter.widget-view+json" in panel_cell.outputs[0]["data"]
    assert "Widgets do not render" in plain
    assert "jupyterlab_widgets" in plain
    assert "doctor_text()" in plain


def test_start_notebook_applies_scenario(
    notebook_runner, notebook_home, fresh_sim
) -> None:
    executed = notebook_runner(
        "00-start-here.ipynb",
        notebook_home,
        [
            probe(
                "start_panel._w_sign_in.click()",
                {
                    "options": (
                        "[value for _, value in start_panel._w_scenario.options]"
                    ),
                    "apply_disabled": "start_panel._w_apply_scenario.disabled",
                },
            ),
            probe(
                "start_panel._w_scenario.value = 'demo-vault-access-policies'\n"
                "start_panel._w_apply_scenario.click()",
                {
                    "status": "start_panel._w_status.value",
                    "apply_disabled": "start_panel._w_apply_scenario.disabled",
                },
            ),
            probe(
                "start_panel._w_mode.value = 'azure'",
                {"display": "start_panel._w_scenario_box.layout.display"},
            ),
        ],
    )
    connected, applied, azure = executed.results

    assert set(connected["options"]) == set(fresh_sim.scenarios())
    assert "grant-reader-role" in connected["options"]
    assert connected["apply_disabled"] is False
    assert "applied the scenario demo-vault-access-policies" in text_of(
        applied["status"]
    )
    assert applied["apply_disabled"] is False
    assert fresh_sim.state()["scenarios"] == ["demo-vault-access-policies"]
    assert azure["display"] == "none"


def test_troubleshoot_imports_from_ui() -> None:
    notebook = json.loads((NOTEBOOKS / NOTEBOOK).read_text(encoding="utf-8"))
    code = "".join(
        "".join(cell["source"])
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
    )

    assert "from akv_helpers.ui import TroubleshootPanel, doctor_text" in code
    assert "akv_helpers.ui.troubleshoot" not in code
    assert all(
        cell.get("outputs", []) == [] and cell.get("execution_count") is None
        for cell in notebook["cells"]
    )


def _text_report_printed(executed) -> str:
    """Return what the notebook's text-report cell printed."""
    text_cell = next(
        cell
        for cell in executed.notebook.cells
        if cell.cell_type == "code" and "print(doctor_text())" in cell.source
    )
    return "".join(
        output.get("text", "")
        for output in text_cell.outputs
        if output.get("output_type") == "stream"
    )


def test_troubleshoot_widgets_print_no_report(
    notebook_runner, notebook_home, fresh_sim
) -> None:
    # With widgets, the panel shows the checks, so the text report is not
    # printed under it as well.
    save_session_profile()
    executed = notebook_runner(NOTEBOOK, notebook_home, [])

    assert _text_report_printed(executed) == ""


def test_troubleshoot_headless_prints_findings(
    notebook_runner, notebook_home, fresh_sim, monkeypatch
) -> None:
    fresh_sim.apply_scenario("demo-vault-access-policies")
    save_session_profile()
    monkeypatch.setenv("AKV_ONBOARD_TEXT_MODE", "1")
    executed = notebook_runner(NOTEBOOK, notebook_home, [])
    printed = _text_report_printed(executed)

    assert "vault.permission-model" in printed
    assert "Fix:" in printed
    assert "az keyvault update" in printed
    assert "Widgets do not render" not in printed
