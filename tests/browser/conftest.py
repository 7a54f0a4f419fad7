"""Fixtures for the browser tests: a kit home, a JupyterLab server and Chromium.

One JupyterLab serves every test of a pytest worker, on loopback with token
authentication, from a temporary copy of ``notebooks/`` so that its autosave never
writes into the checkout. It runs against a simulator of its own in a kit home of
its own. Chromium is the one on the machine (Debian's ``chromium`` package, or the
executable that ``AKV_CHROMIUM`` names), driven through Playwright.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_driver import (
    CHROMIUM_ARGS,
    LabServer,
    Screenshots,
    browser_environment,
    kit_environment,
    start_lab,
    stop_server,
)
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from akv_helpers.connection import SimulatorEndpoint, ensure_simulator, stop_simulator

DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "sudo apt-get install -y chromium (or .ci/install-browser)"


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Return the Chromium executable; skip, or fail under CI, when it is missing."""
    path = os.environ.get("AKV_CHROMIUM", DEFAULT_CHROMIUM)
    if shutil.which(path) is None:
        message = f"Chromium not found at {path}; install it with: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser_home() -> Iterator[tuple[Path, SimulatorEndpoint]]:
    """Return a kit home of the browser tests and its running simulator."""
    # Not under pytest's numbered temporary folders: a concurrent pytest run may
    # remove those while the servers still use them.
    home = Path(tempfile.mkdtemp(prefix="akv-browser-home-"))
    environment = kit_environment(home)
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            patch.delenv(name)
        for name, value in environment.items():
            patch.setenv(name, value)
        endpoint = ensure_simulator(home)
    yield home, endpoint
    stop_simulator(home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def lab(
    browser_home: tuple[Path, SimulatorEndpoint], chromium_executable: str
) -> Iterator[LabServer]:
    """Start JupyterLab on a copy of the notebooks and stop it after the session."""
    home, _ = browser_home
    base = Path(tempfile.mkdtemp(prefix="akv-lab-"))
    server = start_lab(home, base)
    yield server
    stop_server(server)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def simulator(browser_home: tuple[Path, SimulatorEndpoint]) -> SimulatorEndpoint:
    """Reseed the browser tests' simulator and remove the saved profile."""
    home, endpoint = browser_home
    endpoint.reset()
    (home / "profile.json").unlink(missing_ok=True)
    return endpoint


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """Start Playwright's driver once per session."""
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser_context(
    playwright_instance: Playwright, chromium_executable: str
) -> Iterator[BrowserContext]:
    """Launch headless Chromium with a new, empty profile directory."""
    profile_dir = tempfile.mkdtemp(prefix="akv-chromium-")
    context = playwright_instance.chromium.launch_persistent_context(
        profile_dir,
        executable_path=chromium_executable,
        headless=True,
        args=CHROMIUM_ARGS,
        env=browser_environment(),
        viewport={"width": 1280, "height": 1000},
    )
    context.set_default_timeout(30_000)
    yield context
    context.close()
    shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture
def page(browser_context: BrowserContext) -> Iterator[Page]:
    """Open a new tab and close it after the test."""
    tab = browser_context.new_page()
    yield tab
    tab.close()


@pytest.fixture
def lab_page(lab: LabServer, page: Page) -> Iterator[Page]:
    """Return a tab for JupyterLab; shut the test's kernels down afterwards."""
    yield page
    lab.shut_down_kernels()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def shots(request: pytest.FixtureRequest, page: Page) -> Iterator[Screenshots]:
    """Return the screenshot writer of this test, with its folder emptied.

    When the test fails, a last screenshot of the whole page shows where.
    """
    writer = Screenshots(page, request.node.name)
    yield writer
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        writer.take("failure")
