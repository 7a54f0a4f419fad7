"""Every panel works after a kernel restart, from the saved profile alone."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from nbrun import execute_printing

from akv_helpers.profile import load_profile

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SECRET_ID = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
TIMEOUT = 120


class Kernel:
    """A python3 kernel whose cells are run one at a time, failing on an error."""

    def __init__(self, manager: KernelManager) -> None:
        self.manager = manager
        self.client = self._connect()

    def _connect(self) -> BlockingKernelClient:
        client = self.manager.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=TIMEOUT)
        return client

    def run(self, code: str) -> str:
        """Run `code` and return what it printed."""
        return execute_printing(self.client, code, TIMEOUT)

    def run_notebook(self, name: str) -> None:
        """Run the code cells of notebook `name` as they are stored."""
        notebook = json.loads((NOTEBOOKS / name).read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                self.run("".join(cell["source"]))

    def restart(self) -> None:
        self.client.stop_channels()
        self.manager.restart_kernel(now=True)
        self.client = self._connect()

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(notebook_home: Path) -> Iterator[Kernel]:
    """Start a kernel on the test's kit home and simulator, in ``notebooks/``."""
    manager = KernelManager(kernel_name="python3")
    env = dict(os.environ)
    env["AKV_ONBOARD_HOME"] = str(notebook_home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    # The panels print themselves after each call, which the checks below read.
    env["AKV_ONBOARD_TEXT_MODE"] = "1"
    manager.start_kernel(env=env, cwd=str(NOTEBOOKS))
    running = Kernel(manager)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def granted(kernel: Kernel) -> Kernel:
    """Run notebooks 00 to 02 and their actions, then restart the kernel."""
    kernel.run_notebook("00-start-here.ipynb")
    kernel.run("start_panel.connect()\nstart_panel.save()")
    kernel.run_notebook("01-find-identity.ipynb")
    kernel.run('identity_panel.find()\nidentity_panel.use("userflyterole")')
    kernel.run_notebook("02-grant-access.ipynb")
    printed = kernel.run(f'grant_panel.grant("{SECRET_ID}")')
    assert "Granted:" in printed
    kernel.restart()
    assert kernel.run("print('start_panel' in globals())") == "False\n"
    return kernel


def test_panels_after_restart(granted):
    identity = granted.run(
        "from akv_helpers.ui import IdentityPanel\n"
        "identity_panel = IdentityPanel()\n"
        "identity_panel.find()"
    )
    grant = granted.run(
        "from akv_helpers.ui import GrantPanel\n"
        "grant_panel = GrantPanel()\n"
        "grant_panel.grant()"
    )
    task = granted.run(
        "from akv_helpers.ui import TaskPanel\n"
        "task_panel = TaskPanel()\n"
        "task_panel.run()"
    )
    doctor = granted.run(
        "from akv_helpers.ui import TroubleshootPanel\n"
        "troubleshoot_panel = TroubleshootPanel()\n"
        "troubleshoot_panel.run()"
    )
    start = granted.run(
        "from akv_helpers.ui import StartPanel\n"
        "start_panel = StartPanel()\n"
        "start_panel.save()"
    )

    assert "One matching identity in resource group rg-union-dp." in identity
    assert PRINCIPAL_ID in identity
    assert "Already granted:" in grant
    assert "Failed:" not in grant
    assert "Failed:" not in task
    assert "passed" in task.lower()
    assert "fingerprint" in task
    assert "Unexpected error" not in doctor
    assert "FAILED" not in doctor
    assert SECRET_ID in doctor
    assert "OK: Profile saved to" in start


def test_profile_kept_after_restart(granted):
    granted.run(
        "from akv_helpers.ui import StartPanel\n"
        "start_panel = StartPanel()\n"
        "start_panel.save()"
    )

    profile = load_profile()
    assert profile.identity is not None
    assert profile.identity.principal_id == PRINCIPAL_ID
    assert profile.secret_identifier == SECRET_ID
    assert profile.assignment_id
