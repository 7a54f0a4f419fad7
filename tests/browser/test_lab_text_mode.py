"""Notebook 00 in a JupyterLab whose widget manager is disabled: text mode."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_driver import (
    BIN,
    LabServer,
    Notebook,
    Screenshots,
    lab_environment,
    start_lab,
    stop_server,
)
from playwright.sync_api import Page, expect

from akv_helpers.connection import SimulatorEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"
# The render check waits for the kernel to be idle for 3 s before it gives up.
NO_ANSWER_MS = 30_000


@pytest.fixture(scope="module")
def lab_without_widgets(
    browser_home: tuple[Path, SimulatorEndpoint], chromium_executable: str
) -> Iterator[LabServer]:
    """Start JupyterLab with the widget manager extension disabled."""
    home, _ = browser_home
    base = Path(tempfile.mkdtemp(prefix="akv-lab-text-"))
    environment = lab_environment(home, base)
    # --level=user writes into JUPYTER_CONFIG_DIR, the temporary folder, and
    # leaves the environment's own configuration alone.
    subprocess.run(
        [
            str(BIN / "jupyter"),
            "labextension",
            "disable",
            "--level=user",
            WIDGET_MANAGER,
        ],
        env=environment,
        check=True,
        capture_output=True,
        timeout=60,
    )
    page_config = json.loads(
        (
            Path(environment["JUPYTER_CONFIG_DIR"]) / "labconfig" / "page_config.json"
        ).read_text()
    )
    assert page_config["disabledExtensions"][WIDGET_MANAGER] is True
    server = start_lab(home, base, environment)
    yield server
    stop_server(server)
    shutil.rmtree(base, ignore_errors=True)


def test_render_check_text_mode(
    lab_without_widgets: LabServer,
    simulator: SimulatorEndpoint,
    page: Page,
    shots: Screenshots,
):
    notebook = Notebook(page, lab_without_widgets, "00-start-here.ipynb")
    notebook.run_all()
    message = notebook.panel.locator(".jp-OutputArea-output").filter(
        has_text="widgets do not work in this front end"
    )
    expect(message.first).to_be_visible(timeout=NO_ANSWER_MS)
    shots.take("no-answer", message.first)
    expect(message.first).to_contain_text("Fix:")
    expect(message.first).to_contain_text(WIDGET_MANAGER)
    expect(message.first).to_contain_text("start_panel.connect()")
    lab_without_widgets.shut_down_kernels()
