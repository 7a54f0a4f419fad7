"""Each notebook in JupyterLab, run from the Run menu and used through its widgets.

Every test starts from a reseeded simulator and writes the session profile that
the notebooks before it would have saved, so each test runs on its own. Every step
saves a screenshot under ``test-artifacts/screenshots/<test name>/``.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from lab_driver import (
    BIN,
    NOTEBOOKS,
    LabServer,
    Notebook,
    Screenshots,
    button,
    kit_environment,
)
from playwright.sync_api import Locator, Page, expect
from support import state_canaries

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.profile import IdentityRef, Profile, save_profile
from akv_helpers.simulator import seed

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SECRET = f"https://{seed.RBAC_VAULT}.vault.azure.net/secrets/{seed.SECRET_NAME}"
ASSIGNMENT_ID = re.compile(
    r"/providers/Microsoft\.Authorization/roleAssignments/[0-9a-f-]{36}"
)
# Widget callbacks that call the simulator finish within seconds, but a task run
# starts pyflyte, which takes longer.
ACTION_MS = 30_000
TASK_RUN_MS = 120_000
# How the task reports the value it read: its length and a SHA-256 prefix.
FINGERPRINT = re.compile(r"length=\d+ sha256=[0-9a-f]+")


def identity_ref() -> IdentityRef:
    """Return the seeded data-plane identity as the profile stores it."""
    return IdentityRef(
        name=seed.IDENTITY_NAME,
        resource_group=seed.DATA_PLANE_RESOURCE_GROUP,
        resource_id=(
            f"/subscriptions/{seed.SUBSCRIPTION_ID}/resourceGroups/"
            f"{seed.DATA_PLANE_RESOURCE_GROUP}/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/{seed.IDENTITY_NAME}"
        ),
        client_id=seed.IDENTITY_CLIENT_ID,
        principal_id=seed.IDENTITY_PRINCIPAL_ID,
    )


def write_profile(home: Path, *, identity: bool, secret: bool) -> None:
    """Save the profile that notebooks 00, 01 and 02 leave behind."""
    profile = Profile(
        mode="simulator",
        tenant_id=seed.TENANT_ID,
        subscription_id=seed.SUBSCRIPTION_ID,
        resource_group=seed.DATA_PLANE_RESOURCE_GROUP,
        identity=identity_ref() if identity else None,
        secret_identifier=SECRET if secret else None,
    )
    save_profile(profile, home / "profile.json")


def canaries(home: Path) -> list[str]:
    """Return every canary value in the simulator's state file."""
    found = state_canaries(home)
    assert found, "the state file holds no canary"
    return found


def text_box(scope: Locator, label: str) -> Locator:
    """Return the input of the text widget whose description is `label`."""
    widget = scope.locator(".widget-text, .widget-textarea").filter(
        has=scope.page.locator("label", has_text=re.compile(f"^{re.escape(label)}$"))
    )
    return widget.locator("input, textarea").first


def grant_with_cli(home: Path) -> None:
    """Grant the seeded identity read access to the seeded secret with the CLI."""
    granted = subprocess.run(
        [str(BIN / "akv-onboard"), "grant", SECRET],
        env=kit_environment(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert granted.returncode == 0, granted.stderr


def run_task_and_check(panel: Locator, home: Path) -> None:
    """Press Run locally and check the fingerprint, with no secret on the page."""
    button(panel, "Run locally").click()
    expect(panel).to_contain_text("Passed:", timeout=TASK_RUN_MS)
    row = panel.locator("tr").filter(
        has=panel.page.locator("th", has_text="fingerprint")
    )
    expect(row).to_have_count(1)
    expect(row.locator("td")).to_contain_text(FINGERPRINT)
    page_text = panel.page.content()
    for canary in canaries(home):
        assert canary not in page_text


def run_doctor_and_check(panel: Locator) -> Locator:
    """Run the doctor on the access-policy scenario; return the vault's failed row."""
    button(panel, "Run the checks").click()
    failed = panel.locator("table.akv-findings tr.akv-finding[data-status=FAILED]")
    expect(failed.first).to_be_visible(timeout=ACTION_MS)
    expect(panel).to_contain_text("Failed:")
    vault_row = failed.filter(has_text="access polic")
    expect(vault_row.first).to_be_visible()
    fix = vault_row.first.locator("td").nth(4)
    expect(fix).to_contain_text(re.compile("RBAC|role-based", re.IGNORECASE))
    expect(fix).to_contain_text("az keyvault update")
    return vault_row.first


@pytest.fixture
def home(
    browser_home: tuple[Path, SimulatorEndpoint], simulator: SimulatorEndpoint
) -> Path:
    """Return the kit home of the browser tests, reseeded, without a profile."""
    return browser_home[0]


def test_start_notebook(lab: LabServer, home: Path, lab_page: Page, shots: Screenshots):
    notebook = Notebook(lab_page, lab, "00-start-here.ipynb")
    notebook.run_all()
    check = notebook.panel.locator(".jp-OutputArea-output").filter(
        has_text=re.compile("widgets render and answer", re.IGNORECASE)
    )
    expect(check.first).to_contain_text("OK:", timeout=ACTION_MS)
    shots.take("render-check", check.first)

    panel = notebook.output_with("Connect to simulator")
    shots.take("start-panel", panel)
    button(panel, "Connect to simulator").click()
    expect(panel).to_contain_text("OK:", timeout=ACTION_MS)
    expect(text_box(panel, "Subscription")).to_have_value(seed.SUBSCRIPTION_ID)
    shots.take("connected", panel)

    button(panel, "Save profile").click()
    expect(panel).to_contain_text("Profile saved", timeout=ACTION_MS)
    shots.take("profile-saved", panel)
    saved = json.loads((home / "profile.json").read_text())
    assert saved["subscription_id"] == seed.SUBSCRIPTION_ID


def test_identity_notebook(
    lab: LabServer, home: Path, lab_page: Page, shots: Screenshots
):
    write_profile(home, identity=False, secret=False)
    lab_page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=lab.base_url
    )
    notebook = Notebook(lab_page, lab, "01-find-identity.ipynb")
    notebook.run_all()
    panel = notebook.output_with("Find identities")
    shots.take("identity-panel", panel)

    button(panel, "Find identities").click()
    expect(panel.locator("table")).to_contain_text(
        seed.IDENTITY_NAME, timeout=ACTION_MS
    )
    shots.take("found", panel)

    choice = panel.locator(".widget-dropdown select").first
    # ipywidgets shows the spaces of an option label as no-break spaces.
    labels = [
        label.replace("\xa0", " ")
        for label in choice.locator("option").all_inner_texts()
    ]
    matching = [
        index
        for index, label in enumerate(labels)
        if label.startswith(seed.IDENTITY_NAME + " ")
    ]
    assert matching, f"no option for {seed.IDENTITY_NAME} in {labels}"
    if choice.evaluate("select => select.selectedIndex") != matching[0]:
        choice.select_option(index=matching[0])
    use = button(panel, "Use this identity")
    expect(use).to_be_enabled()
    use.click()
    expect(panel).to_contain_text(
        f"Identity {seed.IDENTITY_NAME} saved", timeout=ACTION_MS
    )
    principal_row = panel.locator("table.akv-fields tr").filter(
        has=lab_page.locator("th", has_text=re.compile("^principal ID"))
    )
    expect(principal_row).to_have_count(1)
    shown = principal_row.locator("td code").inner_text().strip()
    assert shown == seed.IDENTITY_PRINCIPAL_ID
    shots.take("identity-saved", panel)

    copy = principal_row.locator("button.akv-copy")
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    shots.take("principal-copied", panel)
    assert lab_page.evaluate("navigator.clipboard.readText()") == shown


def press_grant(panel: Locator, headline: str) -> str:
    """Press Grant, wait for `headline` and return the assignment ID shown."""
    button(panel, "Grant").click()
    expect(panel).to_contain_text(headline, timeout=ACTION_MS)
    row = panel.locator("table.akv-fields tr").filter(
        has=panel.page.locator("th", has_text=re.compile("^assignment ID"))
    )
    expect(row).to_have_count(1)
    assignment_id = row.locator("button.akv-copy").get_attribute("data-copy") or ""
    assert ASSIGNMENT_ID.search(assignment_id), assignment_id
    return assignment_id


def test_grant_notebook(lab: LabServer, home: Path, lab_page: Page, shots: Screenshots):
    write_profile(home, identity=True, secret=False)
    notebook = Notebook(lab_page, lab, "02-grant-access.ipynb")
    notebook.run_all()
    panel = notebook.output_with("Check and plan")
    shots.take("grant-panel", panel)

    secret = text_box(panel, "Secret")
    secret.fill(SECRET)
    secret.press("Enter")
    button(panel, "Check and plan").click()
    expect(panel).to_contain_text("Review the plan", timeout=ACTION_MS)
    expect(panel).to_contain_text(seed.IDENTITY_PRINCIPAL_ID)
    expect(panel).to_contain_text("az role assignment create")
    shots.take("plan-azure-cli", panel)

    show_as = panel.locator(".widget-toggle-buttons").filter(has_text="Terraform")
    button(show_as, "Terraform").click()
    expect(panel).to_contain_text('resource "azurerm_role_assignment"')
    expect(panel).to_contain_text("terraform import")
    shots.take("plan-terraform", panel)
    button(show_as, "Bicep").click()
    expect(panel).to_contain_text("Microsoft.Authorization/roleAssignments@2022-04-01")
    expect(panel).to_contain_text("az deployment group create")
    shots.take("plan-bicep", panel)

    first = press_grant(panel, "Granted:")
    shots.take("granted", panel)
    second = press_grant(panel, "Already granted:")
    shots.take("already-granted", panel)
    assert second == first

    # Saving keeps the outputs on the page but writes none to disk.
    path = lab.root / "02-grant-access.ipynb"
    written = path.stat().st_mtime_ns
    notebook.menu("File", "Save Notebook")
    deadline = time.monotonic() + 30
    while path.stat().st_mtime_ns == written:
        assert time.monotonic() < deadline, "JupyterLab did not save the notebook"
        lab_page.wait_for_timeout(100)
    expect(panel).to_contain_text("Already granted:")
    saved = json.loads(path.read_text())
    code_cells = [cell for cell in saved["cells"] if cell["cell_type"] == "code"]
    assert code_cells
    assert all(cell["outputs"] == [] for cell in code_cells)
    assert all(cell["execution_count"] is None for cell in code_cells)
    assert seed.IDENTITY_PRINCIPAL_ID not in json.dumps(saved)
    # Saved as committed, so that a run leaves the checkout unchanged.
    committed = json.loads((NOTEBOOKS / "02-grant-access.ipynb").read_text())
    assert saved == committed

    # A kernel restart must leave a panel that works from the saved profile.
    notebook.mark_outputs_stale()
    notebook.menu("Kernel", "Restart Kernel and Run All Cells…")
    lab_page.locator(".jp-Dialog .jp-mod-accept").click()
    notebook.wait_rerun()
    panel = notebook.output_with("Grant")
    shots.take("after-restart", panel)
    after_restart = press_grant(panel, "Already granted:")
    shots.take("already-granted-after-restart", panel)
    assert after_restart == first


def test_task_notebook(lab: LabServer, home: Path, lab_page: Page, shots: Screenshots):
    write_profile(home, identity=True, secret=True)
    grant_with_cli(home)
    notebook = Notebook(lab_page, lab, "03-run-test-task.ipynb")
    notebook.run_all()
    panel = notebook.output_with("Run locally")
    shots.take("task-panel", panel)

    run_task_and_check(panel, home)
    shots.take("passed", panel)


def test_troubleshoot_notebook(
    lab: LabServer,
    home: Path,
    simulator: SimulatorEndpoint,
    lab_page: Page,
    shots: Screenshots,
):
    write_profile(home, identity=True, secret=True)
    simulator.apply_scenario("demo-vault-access-policies")
    notebook = Notebook(lab_page, lab, "04-troubleshoot.ipynb")
    notebook.run_all()
    panel = notebook.output_with("Run the checks")
    expect(text_box(panel, "Secret identifier")).to_have_value(SECRET)
    shots.take("doctor-panel", panel)

    vault_row = run_doctor_and_check(panel)
    shots.take("findings", panel)
    vault_row.scroll_into_view_if_needed()
    shots.take("failed-row", vault_row)
