"""The walk-through served by ``akv-onboard app`` (Voilà), used in Chromium."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_driver import LabServer, Screenshots, button, start_app, stop_server
from playwright.sync_api import Locator, Page, expect
from test_lab_flows import ACTION_MS, SECRET, text_box

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.simulator import seed

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Voilà runs every cell before it shows the page, in a new kernel.
APP_LOAD_MS = 90_000


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


def test_app_walkthrough(
    app: LabServer,
    browser_home: tuple[Path, SimulatorEndpoint],
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    home, _ = browser_home
    page.goto(app.url("/"), timeout=APP_LOAD_MS)
    tabs = page.locator(".lm-TabBar-tab")
    expect(tabs.first).to_be_visible(timeout=APP_LOAD_MS)
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
    button(grant, "Grant").click()
    expect(grant).to_contain_text("Granted:", timeout=ACTION_MS)
    expect(grant).to_contain_text(re.compile(r"roleAssignments/[0-9a-f-]{36}"))
    shots.take("granted", grant)
    assert (home / "profile.json").exists()
