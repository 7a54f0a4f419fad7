"""The walk-through served by ``akv-onboard app`` (Voilà), used in Chromium."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_driver import (
    LabServer,
    Screenshots,
    button,
    child_pids,
    start_app,
    stop_server,
)
from playwright.sync_api import BrowserContext, Locator, Page, expect
from test_lab_flows import (
    ACTION_MS,
    SECRET,
    grant_with_cli,
    press_grant,
    run_doctor_and_check,
    run_task_and_check,
    text_box,
    write_profile,
)

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.simulator import seed

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Voilà runs every cell before it shows the page, in a new kernel.
APP_LOAD_MS = 90_000
# Long enough for the page to show the wait, short enough for the panel's bound.
PROPAGATION_SECONDS = 5
# Idle seconds after which the culling test's app shuts a closed page's kernel.
CULL_SECONDS = 2


@pytest.fixture(scope="module")
def app(
    browser_home: tuple[Path, SimulatorEndpoint], chromium_executable: str
) -> Iterator[LabServer]:
    """Start ``akv-onboard app`` in the browser tests' kit home, and stop it."""
    home, _ = browser_home
    base = Path(tempfile.mkdtemp(prefix="akv-app-"))
    server = start_app(home, base, [])
    yield server
    stop_server(server)
    shutil.rmtree(base, ignore_errors=True)


def open_tab(page: Page, title: str) -> Locator:
    """Select the walk-through tab `title` and return its visible panel."""
    page.locator(".lm-TabBar-tab").filter(has_text=title).click()
    shown = ".lm-TabPanel-stackedPanel > :visible"
    return page.locator(f".widget-tab-contents > .widget-box:visible, {shown}").first


def open_app(page: Page, app: LabServer) -> None:
    """Load the app in `page`, which starts a new kernel, and wait for its tabs."""
    page.goto(app.url("/"), timeout=APP_LOAD_MS)
    expect(page.locator(".lm-TabBar-tab").first).to_be_visible(timeout=APP_LOAD_MS)


def test_app_walkthrough(
    app: LabServer,
    browser_home: tuple[Path, SimulatorEndpoint],
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    home, _ = browser_home
    open_app(page, app)
    shots.take("app-loaded")
    # Voilà strips the code cells' sources: no editor, and no code in the page.
    expect(page.locator(".cm-editor, .CodeMirror, .jp-InputArea-editor")).to_have_count(
        0
    )
    assert "import Walkthrough" not in page.content()

    start = open_tab(page, "Start")
    button(start, "Connect to simulator").click()
    expect(text_box(start, "Subscription")).to_have_value(
        seed.SUBSCRIPTION_ID, timeout=ACTION_MS
    )
    button(start, "Save profile").click()
    expect(start).to_contain_text("Profile saved", timeout=ACTION_MS)
    shots.take("start-saved", start)

    identity = open_tab(page, "Identity")
    button(identity, "Find identities").click()
    expect(identity.locator("table")).to_contain_text(
        seed.IDENTITY_NAME, timeout=ACTION_MS
    )
    choice = identity.locator(".widget-dropdown select").first
    if choice.evaluate("select => select.selectedIndex") == 0:
        choice.select_option(index=1)
    button(identity, "Use this identity").click()
    expect(identity).to_contain_text(
        f"Identity {seed.IDENTITY_NAME} saved", timeout=ACTION_MS
    )
    expect(identity).to_contain_text(seed.IDENTITY_PRINCIPAL_ID)
    shots.take("identity-saved", identity)

    grant = open_tab(page, "Grant")
    secret = text_box(grant, "Secret")
    secret.fill(SECRET)
    secret.press("Enter")
    button(grant, "Check and plan").click()
    expect(grant).to_contain_text("Review the plan", timeout=ACTION_MS)
    expect(grant).to_contain_text("az role assignment create")
    show_as = grant.locator(".widget-toggle-buttons").filter(has_text="Terraform")
    button(show_as, "Terraform").click()
    expect(grant).to_contain_text('resource "azurerm_role_assignment"')
    shots.take("plan-terraform", grant)

    first = press_grant(grant, "Granted:")
    shots.take("granted", grant)
    second = press_grant(grant, "Already granted:")
    shots.take("already-granted", grant)
    assert second == first
    assert (home / "profile.json").exists()

    task = open_tab(page, "Test task")
    expect(task).to_contain_text(SECRET)
    run_task_and_check(task, home)
    shots.take("task-passed", task)


def test_app_troubleshoot_scenario(
    app: LabServer,
    browser_home: tuple[Path, SimulatorEndpoint],
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    home, _ = browser_home
    write_profile(home, identity=True, secret=True)
    simulator.apply_scenario("demo-vault-access-policies")
    open_app(page, app)

    doctor = open_tab(page, "Troubleshoot")
    expect(text_box(doctor, "Secret identifier")).to_have_value(SECRET)
    run_doctor_and_check(doctor)
    # The app's fixes send the reader to its tabs, never to a notebook.
    grant_row = doctor.locator("tr.akv-finding[data-status=FAILED]").filter(
        has_text="grant.missing"
    )
    expect(grant_row.locator("td").nth(4)).to_contain_text("the 2 · Grant tab")
    expect(doctor).to_contain_text("the 0 · Start tab")
    expect(doctor).not_to_contain_text(re.compile(r"notebook 0|0[0-4]-[a-z]"))
    shots.take("findings", doctor)

    # The app's user has no access to the kernel's files: the page offers them.
    button(doctor, "Export report").click()
    link = doctor.locator("a.akv-download").first
    expect(link).to_be_visible(timeout=ACTION_MS)
    with page.expect_download() as download:
        link.click()
    saved = download.value
    assert saved.suggested_filename.endswith(".md")
    written = home / "reports" / saved.suggested_filename
    assert Path(saved.path()).read_bytes() == written.read_bytes()
    shots.take("exported", doctor)


def test_app_reload_uses_profile(
    app: LabServer,
    browser_home: tuple[Path, SimulatorEndpoint],
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    home, _ = browser_home
    write_profile(home, identity=True, secret=True)
    grant_with_cli(home)
    open_app(page, app)
    first = press_grant(open_tab(page, "Grant"), "Already granted:")

    # A reload ends the page's kernel and starts a new one, as a restart does.
    page.reload()
    expect(page.locator(".lm-TabBar-tab").first).to_be_visible(timeout=APP_LOAD_MS)
    grant = open_tab(page, "Grant")
    expect(text_box(grant, "Secret")).to_have_value(SECRET)
    shots.take("grant-after-reload", grant)
    assert press_grant(grant, "Already granted:") == first
    identity = open_tab(page, "Identity")
    expect(identity).to_contain_text(seed.IDENTITY_NAME)
    shots.take("identity-after-reload", identity)


def test_app_grant_shows_progress(
    app: LabServer,
    browser_home: tuple[Path, SimulatorEndpoint],
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    home, _ = browser_home
    write_profile(home, identity=True, secret=True)
    # Reads as the identity are denied for the first seconds after a grant, as
    # while Azure propagates a new role assignment.
    simulator.configure(propagation_seconds=PROPAGATION_SECONDS)
    open_app(page, app)
    grant = open_tab(page, "Grant")
    expect(text_box(grant, "Secret")).to_have_value(SECRET)

    button(grant, "Grant").click()
    waiting = grant.locator(".akv-progress")
    expect(waiting.first).to_be_visible(timeout=ACTION_MS)
    expect(waiting.first).to_contain_text(
        re.compile(
            r"^Working: Waiting for the grant to take effect: .* \(\d+ s elapsed\)"
        )
    )
    # The elapsed seconds count up while the kernel is busy with the wait.
    expect(waiting.first).to_contain_text(re.compile(r"\([1-9]\d* s elapsed\)"))
    shots.take("waiting-for-access", grant)
    # The grant shows while the wait goes on; the read result ends the wait.
    expect(grant).to_contain_text("Granted:")
    expect(grant).to_contain_text("Readable as the identity", timeout=ACTION_MS)
    expect(waiting).to_be_hidden()
    shots.take("readable", grant)


def _kernels(server: LabServer) -> set[int]:
    """Return the process IDs of the app's kernels."""
    return {
        pid
        for pid in child_pids(server.process.pid)
        if "ipykernel" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    }


def test_app_culls_closed_page_kernel(
    browser_home: tuple[Path, SimulatorEndpoint],
    browser_context: BrowserContext,
    shots: Screenshots,
):
    home, _ = browser_home
    base = Path(tempfile.mkdtemp(prefix="akv-app-cull-"))
    server = start_app(home, base, ["--cull-idle-seconds", str(CULL_SECONDS)])
    try:
        assert _kernels(server) == set()
        page = browser_context.new_page()
        open_app(page, server)
        expect(page.locator(".lm-TabBar-tab").first).to_be_visible()
        opened = _kernels(server)
        assert len(opened) == 1

        # A kernel with its page open is never culled, however long it idles.
        page.wait_for_timeout(CULL_SECONDS * 3 * 1000)
        assert _kernels(server) == opened
        button(open_tab(page, "Start"), "Connect to simulator").click()
        expect(text_box(open_tab(page, "Start"), "Subscription")).to_have_value(
            seed.SUBSCRIPTION_ID, timeout=ACTION_MS
        )

        page.close(run_before_unload=True)
        deadline = time.monotonic() + CULL_SECONDS * 10
        while _kernels(server) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _kernels(server) == set()
    finally:
        stop_server(server)
        shutil.rmtree(base, ignore_errors=True)


def test_app_denied_grant_hand_off(
    app: LabServer,
    browser_home: tuple[Path, SimulatorEndpoint],
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    home, _ = browser_home
    write_profile(home, identity=True, secret=True)
    # The signed-in operator has only Reader, so Azure denies the grant.
    simulator.apply_scenario("operator-reader")
    open_app(page, app)
    grant = open_tab(page, "Grant")

    button(grant, "Grant").click()
    expect(grant).to_contain_text("cannot grant roles here", timeout=ACTION_MS)
    status = grant.locator(".akv-status.akv-error")
    for label in ("Azure CLI:", "REST API:", "Terraform:", "Bicep:", "Verify:"):
        expect(status).to_contain_text(label)
    blocks = status.locator(".akv-command")
    expect(blocks).to_have_count(5)
    terraform = blocks.nth(2).locator("button.akv-copy").get_attribute("data-copy")
    assert terraform is not None
    assert '\nresource "azurerm_role_assignment"' in terraform
    shots.take("hand-off", grant)
