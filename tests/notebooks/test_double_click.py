"""A double-click on Grant, delivered to a real kernel as the front end sends it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager
from nbrun import execute_printing
from test_notebook_steps import save_identity_profile

from akv_helpers.connection import SimulatorEndpoint

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

REPO = Path(__file__).resolve().parents[2]
SECRET_ID = "https://kv-demo.vault.azure.net/secrets/db-pass"
TIMEOUT = 60


@pytest.fixture
def kernel(notebook_home: Path) -> Iterator[KernelManager]:
    """Start a python3 kernel that uses the test's kit home and simulator."""
    manager = KernelManager(kernel_name="python3")
    env = dict(os.environ)
    env["AKV_ONBOARD_HOME"] = str(notebook_home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    manager.start_kernel(env=env, cwd=str(REPO / "notebooks"))
    try:
        yield manager
    finally:
        manager.shutdown_kernel(now=True)


def _execute(client, code: str) -> str:
    """Run `code` in the kernel and return what it printed."""
    return execute_printing(client, code, TIMEOUT)


def _click(client, model_id: str) -> str:
    """Send one click on the widget `model_id`, as JupyterLab's widget manager does."""
    message = client.session.msg(
        "comm_msg",
        {
            "comm_id": model_id,
            "data": {"method": "custom", "content": {"event": "click"}},
        },
    )
    client.shell_channel.send(message)
    return str(message["header"]["msg_id"])


def _wait_idle(client, message_ids: set[str]) -> None:
    """Wait until the kernel has handled every message in `message_ids`."""
    pending = set(message_ids)
    deadline = time.monotonic() + TIMEOUT
    while pending and time.monotonic() < deadline:
        message = client.get_iopub_msg(timeout=TIMEOUT)
        state = message["content"].get("execution_state")
        if message["msg_type"] == "status" and state == "idle":
            pending.discard(message["parent_header"].get("msg_id"))
    assert not pending, "the kernel did not handle every click"


def _puts(sim: SimulatorEndpoint) -> list[int]:
    return [
        entry["status"]
        for entry in sim.requests()
        if entry["method"] == "PUT" and "roleassignments" in entry["path"].lower()
    ]


def test_double_click_sends_one_put(
    kernel: KernelManager, fresh_sim: SimulatorEndpoint
) -> None:
    save_identity_profile(SECRET_ID)
    client = kernel.client()
    client.start_channels()
    client.wait_for_ready(timeout=TIMEOUT)
    try:
        printed = _execute(
            client,
            "from akv_helpers.ui import GrantPanel\n"
            "import json\n"
            "panel = GrantPanel()\n"
            "panel._w_check.click()\n"
            "print(json.dumps(panel._w_grant.model_id))\n",
        )
        model_id = json.loads(printed.strip().splitlines()[-1])
        fresh_sim.clear_requests()

        first = _click(client, model_id)
        second = _click(client, model_id)
        _wait_idle(client, {first, second})
        after_double = _puts(fresh_sim)

        third = _click(client, model_id)
        _wait_idle(client, {third})
        status = _execute(client, "print(panel._w_status.value)")
    finally:
        client.stop_channels()

    assert after_double == [201]
    assert _puts(fresh_sim) == [201, 200]
    assert "lready granted" in status


def test_sent_during_compares_front_end_times() -> None:
    from datetime import datetime, timedelta, timezone

    from akv_helpers.ui._panel import _sent_during

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)

    assert _sent_during(start + timedelta(seconds=0.5), (start, 1.0))
    assert not _sent_during(start + timedelta(seconds=1.5), (start, 1.0))
    assert not _sent_during(None, (start, 1.0))
    assert not _sent_during(start, None)
