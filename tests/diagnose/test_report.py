"""Tests of the doctor's Markdown and JSON reports."""

from __future__ import annotations

import html
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import state_canaries

from akv_helpers.connection import ARM_SCOPE, Connection, SimulatorEndpoint
from akv_helpers.diagnose import Diagnosis, DiagnosisInputs, Status, diagnose
from akv_helpers.diagnose.findings import Finding
from akv_helpers.diagnose.report import (
    export_report,
    redact,
    render_json,
    render_markdown,
)
from akv_helpers.identifiers import role_assignment_name
from akv_helpers.profile import IdentityRef, Profile, profile_path, save_profile
from akv_helpers.roles import SECRETS_USER_ROLE_ID

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
SECRET_SCOPE = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
ASSIGNMENT_ID = (
    f"{SECRET_SCOPE}/providers/Microsoft.Authorization/roleAssignments/"
    f"{role_assignment_name(SECRET_SCOPE, SECRETS_USER_ROLE_ID, PRINCIPAL_ID)}"
)
FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJkZGRkIn0.c2lnbmF0dXJl"


@pytest.fixture
def kit_profile(kit_home: Path) -> Iterator[Profile]:
    """Save a profile that records the kit's grant, and restore the old one."""
    path = profile_path()
    saved = path.read_bytes() if path.exists() else None
    profile = Profile(
        mode="simulator",
        identity=IdentityRef(
            name="userflyterole",
            resource_group="rg-union-dp",
            resource_id=(
                "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/"
                "rg-union-dp/providers/Microsoft.ManagedIdentity/"
                "userAssignedIdentities/userflyterole"
            ),
            client_id="aaaaaaaa-0000-4000-8000-000000000001",
            principal_id=PRINCIPAL_ID,
        ),
        secret_identifier=SECRET,
        assignment_id=ASSIGNMENT_ID,
        assignment_created_by_kit=True,
    )
    save_profile(profile)
    yield profile
    if saved is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(saved)


def _canaries(kit_home: Path) -> list[str]:
    """Return every canary value in the simulator's state file."""
    found = state_canaries(kit_home)
    return found


def _broken_diagnosis(connection: Connection) -> Diagnosis:
    return diagnose(
        connection, DiagnosisInputs("https://kv-legacy.vault.azure.net/secrets/api-key")
    )


def test_markdown_sections(
    fresh_sim: SimulatorEndpoint, connection: Connection, kit_profile: Profile
) -> None:
    fresh_sim.apply_scenario("healthy")

    text = render_markdown(diagnose(connection, DiagnosisInputs(SECRET)))

    assert text.startswith("# Key Vault secret doctor report\n")
    for heading in (
        "## Inputs",
        "## Resolved IDs",
        "## Findings",
        "## What to do",
        "## Changes the kit made",
    ):
        assert f"\n{heading}\n" in text, heading
    assert f"`{SECRET}`" in text
    assert SECRET_SCOPE in text
    assert "No check failed." in text


def test_markdown_changes_from_profile(
    fresh_sim: SimulatorEndpoint, connection: Connection, kit_profile: Profile
) -> None:
    fresh_sim.apply_scenario("healthy")

    diagnosis = diagnose(connection, DiagnosisInputs(SECRET))
    text = render_markdown(diagnosis)

    change = diagnosis.changes[0]
    assert change["assignment_id"] == ASSIGNMENT_ID
    assert change["created_by_kit"] is True
    assert change["scope"] == SECRET_SCOPE
    assert change["role"] == "Key Vault Secrets User"
    assert ASSIGNMENT_ID in text
    assert (
        f"az role assignment create --name {ASSIGNMENT_ID.rsplit('/', 1)[1]} "
        f"--assignee-object-id {PRINCIPAL_ID} "
        "--assignee-principal-type ServicePrincipal "
        f"--role {SECRETS_USER_ROLE_ID} --scope {SECRET_SCOPE}"
    ) in text
    assert f"az role assignment delete --ids {ASSIGNMENT_ID}" in text


def test_markdown_without_changes(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    text = render_markdown(diagnose(connection, DiagnosisInputs(SECRET)))

    assert "records no change made by the kit" in text


def test_markdown_failures_first(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    text = render_markdown(_broken_diagnosis(connection))

    table = text.split("## Findings", 1)[1].split("## What to do", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    statuses = [row.split("|")[1].strip() for row in rows]
    assert statuses[0] == "failed"
    assert statuses.index("ok") > statuses.index("failed")
    details = text.split("## What to do", 1)[1]
    assert "### Failed: Vault permission model (`vault.permission-model`)" in details
    assert "**Fix:**" in details
    assert "az keyvault update --name kv-legacy" in details


def test_json_round_trip(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    diagnosis = _broken_diagnosis(connection)

    data = json.loads(render_json(diagnosis))

    assert data["failed"] is True
    assert data["findings"][0]["status"] == "failed"
    ids = [item["id"] for item in data["findings"]]
    assert "vault.permission-model" in ids
    assert data["resolved"]["permission model"] == "access policies"
    assert data["inputs"]["identifier_text"].endswith("/secrets/api-key")


def test_report_has_no_canary(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    kit_home: Path,
    tmp_path: Path,
) -> None:
    fresh_sim.apply_scenario("healthy")
    canaries = _canaries(kit_home)
    assert canaries
    # A secret value pasted into the identity box reaches the findings.
    inputs = DiagnosisInputs(SECRET, identity_text=canaries[0])

    diagnosis = diagnose(connection, inputs)
    markdown_path, json_path = export_report(diagnosis, tmp_path / "reports")

    for path in (markdown_path, json_path):
        text = path.read_text()
        for canary in canaries:
            assert canary not in text, path.name
        assert "AKVSIM-CANARY-" not in text, path.name
    # Markdown escapes the marker's brackets where a finding quotes it.
    assert "redacted secret value" in markdown_path.read_text()


def test_report_has_no_token(
    fresh_sim: SimulatorEndpoint, connection: Connection, tmp_path: Path
) -> None:
    token = connection.credential.get_token(ARM_SCOPE).token
    inputs = DiagnosisInputs(f"https://kv-demo.vault.azure.net/secrets/{FAKE_JWT}")

    diagnosis = diagnose(connection, inputs)
    markdown_path, json_path = export_report(diagnosis, tmp_path)

    for path in (markdown_path, json_path):
        text = path.read_text()
        assert token not in text, path.name
        assert "eyJ" not in text, path.name
    assert diagnosis.finding("identifier.format").status is Status.FAILED


def test_export_files_private(tmp_path: Path) -> None:
    diagnosis = Diagnosis(
        DiagnosisInputs(SECRET), started_at="2026-12-04T17:01:13Z", mode="offline"
    )

    markdown_path, json_path = export_report(diagnosis, tmp_path / "new" / "dir")

    assert markdown_path.name == "akv-doctor-20261204T170113Z.md"
    assert json_path.name == "akv-doctor-20261204T170113Z.json"
    for path in (markdown_path, json_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(markdown_path.parent.stat().st_mode) == 0o700
    names = sorted(path.name for path in markdown_path.parent.iterdir())
    assert names == [json_path.name, markdown_path.name]


def test_export_overwrites_private(tmp_path: Path) -> None:
    diagnosis = Diagnosis(DiagnosisInputs(SECRET), started_at="2026-12-04T17:01:13Z")
    existing = tmp_path / "akv-doctor-20261204T170113Z.md"
    existing.write_text("old")
    existing.chmod(0o644)

    markdown_path, _ = export_report(diagnosis, tmp_path)

    assert stat.S_IMODE(markdown_path.stat().st_mode) == 0o600
    assert "old" not in markdown_path.read_text()


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"token {FAKE_JWT} end", "eyJ"),
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("authorization=opaque-value-1", "opaque-value-1"),
        ('{"access_token": "opaque-value-2"}', "opaque-value-2"),
        ("value AKVSIM-CANARY-AbCdEf_12-34 end", "AKVSIM-CANARY-"),
        ("PoP opaque-value-3", "opaque-value-3"),
    ],
    ids=["jwt", "bearer-header", "authorization", "access-token", "canary", "pop"],
)
def test_redact_patterns(text: str, hidden: str) -> None:
    redacted = redact(text)

    assert hidden not in redacted
    assert "redacted" in redacted


def test_render_redacts_findings() -> None:
    finding = Finding(
        "test.leak",
        "Leak",
        Status.FAILED,
        f"Saw Authorization: Bearer {FAKE_JWT}",
        "nothing",
        fix="value AKVSIM-CANARY-xyz",
        evidence={"header": f"Bearer {FAKE_JWT}"},
        commands=(f"curl -H 'Authorization: Bearer {FAKE_JWT}'",),
    )
    diagnosis = Diagnosis(DiagnosisInputs(SECRET), findings=[finding])

    for text in (render_markdown(diagnosis), render_json(diagnosis)):
        assert "eyJ" not in text
        assert "AKVSIM-CANARY-" not in text


def test_markdown_details_skip_plain_not_applicable(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("public-access-disabled")

    text = render_markdown(diagnose(connection, DiagnosisInputs(SECRET)))

    details = text.split("## What to do", 1)[1]
    assert "(`vault.private-link`)" in details
    assert "az network private-endpoint-connection list" in details
    assert "(`secret.version-missing`)" not in details


# Markup a task path or a finding text may carry: a table pipe, an HTML tag,
# code-span backticks, a Markdown link and emphasis, and a newline.
MARKUP = "a|b <b>bold</b> `tick` ``two`` [link](x) *em* &amp;\n1. next line"
FLAT_MARKUP = " ".join(MARKUP.split())
# Typed into the identity box. It differs from MARKUP because the report
# withholds typed text that names no identity, wherever the text appears.
IDENTITY_MARKUP = "id|<i>x</i> `t` [l](y) *e*\n2. line"
TASK_PATH = "/work/task|<b>x</b>`y`\n.py"


def _markup_diagnosis() -> Diagnosis:
    finding = Finding(
        "task.markup",
        f"Title {MARKUP}",
        Status.FAILED,
        f"Observed {MARKUP}",
        f"Expected {FLAT_MARKUP}",
        fix=f"Fix {MARKUP}\n\nRun this:\n- item {MARKUP.splitlines()[0]}",
        evidence={"task file": TASK_PATH, f"key {MARKUP}": f"{MARKUP} {FAKE_JWT}"},
        commands=("echo '```' | cat", f"echo {FAKE_JWT}"),
    )
    return Diagnosis(
        DiagnosisInputs(
            identifier_text=f"{SECRET}`|<b>",
            identity_text=IDENTITY_MARKUP,
            task_path=TASK_PATH,
        ),
        resolved={f"vault {MARKUP}": f"{MARKUP} Bearer {FAKE_JWT}"},
        findings=[finding],
        changes=[{"kind": MARKUP, "scope": MARKUP, "role": MARKUP}],
    )


def _unescaped_pipes(line: str) -> int:
    """Count the pipes GFM reads as cell borders: those without a backslash."""
    return sum(
        1
        for position, character in enumerate(line)
        if character == "|" and (position == 0 or line[position - 1] != "\\")
    )


def test_markdown_tables_keep_columns() -> None:
    text = render_markdown(_markup_diagnosis())

    tables: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    tables = [table for table in tables if table]
    assert len(tables) == 4
    for table in tables:
        columns = _unescaped_pipes(table[0])
        for row in table:
            assert _unescaped_pipes(row) == columns, row


def test_markdown_escapes_raw_html() -> None:
    text = render_markdown(_markup_diagnosis())

    outside_code = re.sub(r"(?ms)^ *```.*?^ *```$", "", text)
    assert "<b>" not in re.sub(r"(`+).*?\1", "", outside_code)
    assert "\\<b\\>" in text
    assert "eyJ" not in text
    assert "AKVSIM-CANARY-" not in text


def _html_cells(html: str) -> list[list[str]]:
    rows = re.findall(r"(?s)<tr>(.*?)</tr>", html)
    return [re.findall(r"(?s)<t[dh]>(.*?)</t[dh]>", row) for row in rows]


def _html_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_markdown_renders_values_as_written() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    renderer = markdown_it.MarkdownIt("commonmark").enable("table")

    rendered = renderer.render(render_markdown(_markup_diagnosis()))

    assert "<b>" not in rendered
    assert "<a " not in rendered
    assert "<em>" not in rendered
    assert "<ol" not in rendered
    tables = re.findall(r"(?s)<table>.*?</table>", rendered)
    assert len(tables) == 4
    for table in tables:
        cells = _html_cells(table)
        assert {len(row) for row in cells} == {len(cells[0])}, cells
    inputs = dict(
        (_html_text(left), _html_text(right)) for left, right in _html_cells(tables[0])
    )
    assert inputs["Task"] == " ".join(TASK_PATH.split())
    # Typed text that is not a valid identifier is withheld from the report.
    withheld = r"\[not a[a-z ]+, not shown: length=\d+ sha256=[0-9a-f]{12}\]"
    assert re.fullmatch(withheld, inputs["Secret identifier"])
    assert re.fullmatch(withheld, inputs["Identity given"])
    findings_row = _html_cells(tables[2])[1]
    assert _html_text(findings_row[2]) == f"Title {FLAT_MARKUP}"
    change_rows = {_html_text(left): right for left, right in _html_cells(tables[3])}
    assert _html_text(change_rows["Scope"]) == FLAT_MARKUP
    assert (
        f"<code>{html.escape(FLAT_MARKUP, quote=False)}</code>"
        in (change_rows["Scope"])
    )
    heading = re.search(r"<h3>(.*?)</h3>", rendered)
    assert heading is not None
    assert _html_text(heading.group(1)) == f"Failed: Title {FLAT_MARKUP} (task.markup)"
    text = _html_text(rendered)
    assert f"Expected: Expected {FLAT_MARKUP}" in text
    # Text on several lines is shown as a code block, line for line.
    assert f"Fix {MARKUP}\n" in text
    assert f"item {MARKUP.splitlines()[0]}" in text
    assert "echo '```' | cat" in text
    assert "eyJ" not in rendered
