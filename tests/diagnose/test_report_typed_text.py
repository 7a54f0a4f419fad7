"""Typed text in the doctor's shared reports: an invalid identifier is withheld.

People paste secret values into the identifier or identity box by mistake, so
the Markdown and JSON reports, ``doctor --json`` and the panel's exported
report show such text only by its length and SHA-256 prefix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support import run_cli as run

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import Diagnosis, DiagnosisInputs, Finding, Status, diagnose
from akv_helpers.diagnose.report import export_report, render_json, render_markdown
from akv_helpers.diagnose.typed_text import describe_withheld, withhold_typed_text
from akv_helpers.ui.troubleshoot import TroubleshootPanel

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PASTED = "hunter2-MySecretPassw0rd"
IDENTITY_ID = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/"
    "rg-union-dp/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
    "userflyterole"
)
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
# The part of each bad identifier below that a report must not repeat.
MARK = "Hunter2"


def _fingerprint(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"length={len(text)} sha256={digest[:12]}"


def _reports(diagnosis: Diagnosis) -> dict[str, str]:
    return {
        "json": render_json(diagnosis),
        "markdown": render_markdown(diagnosis),
    }


def test_cli_report_withholds_pasted_value(
    fresh_sim: SimulatorEndpoint, tmp_path: Path
) -> None:
    result = run("doctor", PASTED, "--report", str(tmp_path))
    written = sorted(tmp_path.iterdir())
    data = json.loads(written[0].read_text(encoding="utf-8"))
    markdown = written[1].read_text(encoding="utf-8")

    assert result.exit_code == 1
    assert [path.suffix for path in written] == [".json", ".md"]
    for path in written:
        assert PASTED not in path.read_text(encoding="utf-8"), path.name
    assert data["inputs"]["identifier_text"] == (
        f"[not a valid secret identifier, not shown: {_fingerprint(PASTED)}]"
    )
    assert data["inputs"]["withheld"] == ["identifier_text"]
    assert f"not a valid secret identifier, not shown: {_fingerprint(PASTED)}" in (
        markdown
    )


def test_cli_json_withholds_pasted_value(fresh_sim: SimulatorEndpoint) -> None:
    result = run("doctor", PASTED, "--json")
    data = json.loads(result.stdout)
    finding = next(
        item for item in data["findings"] if item["id"] == "identifier.format"
    )

    assert result.exit_code == 1
    assert PASTED not in result.stdout
    assert finding["status"] == "failed"
    assert _fingerprint(PASTED) in finding["observed"]
    assert "not a valid secret identifier" in finding["observed"]


def test_cli_json_shows_valid_identifier(fresh_sim: SimulatorEndpoint) -> None:
    fresh_sim.apply_scenario("healthy")

    data = json.loads(run("doctor", SECRET, "--json").stdout)

    assert data["inputs"]["identifier_text"] == SECRET
    assert data["inputs"]["withheld"] == []


# Bad identifiers whose parser message or fix quotes the text, a part of it,
# or a corrected or decoded form of it.
QUOTED_BY_PARSER = {
    "not-a-url": "Hunter2MySecretPassw0rd",
    "slash": "Hunter2/Passw0rd+Xyz==",
    "no-scheme": "p.Hunter2Passw0rd",
    "http": "http://kv-demo.vault.azure.net/secrets/Hunter2-pass",
    "secret-name": "https://kv-demo.vault.azure.net/secrets/Hunter2_Passw0rd",
    "version": "https://kv-demo.vault.azure.net/secrets/db-pass/Hunter2Passw0rd",
    "percent": "https://kv-demo.vault.azure.net/secrets/Hunter2%41Passw0rd",
    "lookalike": "https://kv-demo.vault.azure.net/secrets/Hunter2-pаss",
}


@pytest.mark.parametrize("text", QUOTED_BY_PARSER.values(), ids=QUOTED_BY_PARSER.keys())
def test_report_withholds_bad_identifier(connection: Connection, text: str) -> None:
    diagnosis = diagnose(connection, DiagnosisInputs(text))

    for name, report in _reports(diagnosis).items():
        assert MARK.lower() not in report.lower(), name
        assert _fingerprint(text) in report, name
    assert diagnosis.finding("identifier.format").status is Status.FAILED


def test_screen_finding_keeps_parser_message() -> None:
    text = QUOTED_BY_PARSER["secret-name"]

    diagnosis = diagnose(None, DiagnosisInputs(text))
    finding = diagnosis.finding("identifier.format")

    assert "Hunter2_Passw0rd" in finding.observed
    assert finding.redacted is not None
    assert "Hunter2" not in finding.redacted.observed
    assert "Hunter2" not in finding.redacted.fix


def test_unchecked_findings_do_not_copy_parser_fix() -> None:
    diagnosis = diagnose(None, DiagnosisInputs(QUOTED_BY_PARSER["no-scheme"]))

    unchecked = [
        item
        for item in diagnosis.findings
        if item.status is Status.COULD_NOT_CHECK and "identifier" in item.observed
    ]

    assert unchecked
    for item in unchecked:
        assert MARK not in item.fix, item.id


def test_report_withholds_unknown_identity_name(connection: Connection) -> None:
    diagnosis = diagnose(connection, DiagnosisInputs(SECRET, identity_text=PASTED))
    data = json.loads(render_json(diagnosis))

    for name, report in _reports(diagnosis).items():
        assert PASTED not in report, name
    assert data["inputs"]["identity_text"] == (
        f"[not an identity the doctor found, not shown: {_fingerprint(PASTED)}]"
    )
    assert data["inputs"]["withheld"] == ["identity_text"]
    assert _fingerprint(PASTED) in data["verdict"]


@pytest.mark.parametrize(
    "identity",
    ["userflyterole", "UserFlyteRole", IDENTITY_ID, PRINCIPAL_ID],
    ids=["name", "name-other-case", "resource-id", "principal-id"],
)
def test_report_shows_found_identity(connection: Connection, identity: str) -> None:
    diagnosis = diagnose(connection, DiagnosisInputs(SECRET, identity_text=identity))
    data = json.loads(render_json(diagnosis))

    assert data["inputs"]["identity_text"] == identity
    assert data["inputs"]["withheld"] == []
    assert f"`{identity}`" in render_markdown(diagnosis)


def test_report_withholds_task_constants(
    connection: Connection, tmp_path: Path
) -> None:
    task = tmp_path / "task.py"
    task.write_text(
        "from flytekit import Secret, current_context, task\n"
        f'FALLBACK = "{PASTED}"\n'
        "@task(secret_requests=[Secret(\n"
        f'    group="{SECRET}",\n'
        "    mount_requirement=Secret.MountType.FILE)])\n"
        "def t() -> str:\n"
        '    return current_context().secrets.get("db-pass") or FALLBACK\n',
        encoding="utf-8",
    )

    diagnosis = diagnose(connection, DiagnosisInputs(SECRET, task_path=str(task)))

    for name, report in _reports(diagnosis).items():
        assert PASTED not in report, name


def test_panel_export_withholds_pasted_value(
    fresh_sim: SimulatorEndpoint, connection: Connection, tmp_path: Path
) -> None:
    panel = TroubleshootPanel(connection, tmp_path)

    panel.run(PASTED)
    panel._w_export.click()
    written = sorted(tmp_path.iterdir())

    assert [path.suffix for path in written] == [".json", ".md"]
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert PASTED not in text, path.name
        assert _fingerprint(PASTED) in text, path.name


# --- withhold_typed_text, on diagnoses built by hand ------------------------------


def _diagnosis(identity: str, observed: str) -> Diagnosis:
    finding = Finding("identity.x", "Identity", Status.FAILED, observed, "expected")
    return Diagnosis(
        DiagnosisInputs(SECRET, identity_text=identity), findings=[finding]
    )


def test_withhold_leaves_longer_names() -> None:
    diagnosis = _diagnosis("demo", "The vault kv-demo has no identity 'demo'.")

    data = withhold_typed_text(diagnosis.to_dict(), diagnosis)
    observed = data["findings"][0]["observed"]

    replacement = describe_withheld("demo", "not an identity the doctor found")
    assert observed == f"The vault kv-demo has no identity {replacement}."


def test_withhold_short_text_only_quoted() -> None:
    diagnosis = _diagnosis("vault", "The vault has no identity named 'vault'.")

    data = withhold_typed_text(diagnosis.to_dict(), diagnosis)
    observed = data["findings"][0]["observed"]

    assert observed.startswith("The vault has no identity named [")


def test_withhold_long_text_unquoted() -> None:
    diagnosis = _diagnosis(PASTED, f"{PASTED} matches no identity.")

    data = withhold_typed_text(diagnosis.to_dict(), diagnosis)

    assert PASTED not in json.dumps(data)
    assert data["inputs"]["identity_text"].startswith("[not an identity")


def test_withhold_escaped_text() -> None:
    typed = "line one\nHunter2 two"
    diagnosis = Diagnosis(
        DiagnosisInputs(typed),
        findings=[
            Finding("x.y", "X", Status.FAILED, "The text 'line one\\nHunter2 two'.", "")
        ],
    )

    data = withhold_typed_text(diagnosis.to_dict(), diagnosis)

    assert MARK not in json.dumps(data)


def test_export_report_withholds(tmp_path: Path) -> None:
    diagnosis = Diagnosis(DiagnosisInputs(PASTED))

    paths = export_report(diagnosis, tmp_path)

    for path in paths:
        assert PASTED not in path.read_text(encoding="utf-8"), path.name
