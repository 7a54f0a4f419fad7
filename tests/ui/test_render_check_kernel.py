"""The render check in a real kernel, answered or not as a front end would."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

pytestmark = pytest.mark.xdist_group("notebooks")

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60
WARNING = "Warning: widgets do not work in this front end."
CHECK_CELL = (
    "from akv_helpers.ui import render_check, text_mode\n"
    "check = render_check(idle_seconds={idle})\n"
    "check"
)


@pytest.fixture
def client(kit_home: Path) -> Iterator[BlockingKernelClient]:
    """Start a python3 kernel that imports this checkout, and return its client."""
    manager = KernelManager(kernel_name="python3")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.pop("AKV_ONBOARD_TEXT_MODE", None)
    manager.start_kernel(env=env, cwd=str(kit_home))
    kernel_client = manager.blocking_client()
    kernel_client.start_channels()
    kernel_client.wait_for_ready(timeout=TIMEOUT)
    try:
        yield kernel_client
    finally:
        kernel_client.stop_channels()
        manager.shutdown_kernel(now=True)


class Recorder:
    """Every iopub message of a kernel, read as they arrive."""

    def __init__(self, client: BlockingKernelClient) -> None:
        self.client = client
        self.messages: list[dict[str, Any]] = []

    def _read(self, timeout: float) -> bool:
        try:
            message = self.client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return False
        self.messages.append(message)
        return True

    def read_until(self, done, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            assert left > 0, "timed out waiting for the kernel"
            self._read(left)

    def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if not self._read(left):
                return

    def idle(self, msg_id: str) -> bool:
        return any(
            message["msg_type"] == "status"
            and message["content"]["execution_state"] == "idle"
            and message["parent_header"].get("msg_id") == msg_id
            for message in self.messages
        )

    def stdout(self, msg_id: str) -> str:
        return "".join(
            message["content"]["text"]
            for message in self.messages
            if message["msg_type"] == "stream"
            and message["parent_header"].get("msg_id") == msg_id
        )

    def position(self, predicate) -> int:
        return next(i for i, m in enumerate(self.messages) if predicate(m))

    def check_models(self) -> tuple[str, str, int]:
        """Return the comm IDs of the check's source and target, and the value."""
        texts = [
            message["content"]
            for message in self.messages
            if message["msg_type"] == "comm_open"
            and message["content"]["data"]["state"].get("_model_name") == "IntTextModel"
        ]
        assert len(texts) == 2
        source, target = texts
        assert target["data"]["state"]["value"] == 0
        return source["comm_id"], target["comm_id"], source["data"]["state"]["value"]


def run_cell(client: BlockingKernelClient, recorder: Recorder, code: str) -> str:
    msg_id = client.execute(code)
    recorder.read_until(lambda: recorder.idle(msg_id))
    return msg_id


def answer(client: BlockingKernelClient, target: str, value: int) -> None:
    """Send the update a widget manager's link model sends when it is created."""
    message = client.session.msg(
        "comm_msg",
        {
            "comm_id": target,
            "data": {"method": "update", "state": {"value": value}, "buffer_paths": []},
        },
    )
    client.shell_channel.send(message)


def test_no_answer_prints_into_check_cell(client):
    recorder = Recorder(client)

    check_id = run_cell(client, recorder, CHECK_CELL.format(idle=0.5))
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)
    state_id = run_cell(client, recorder, "print(check.answered, text_mode())")

    printed = recorder.stdout(check_id)
    assert "ipywidgets 8." in printed
    assert "jupyterlab_widgets 3." in printed
    assert "The JupyterLab server may run from another environment" in printed
    assert "Fix: in the environment that runs JupyterLab" in printed
    assert "this kernel continues in text mode" in printed
    assert "    grant_panel.grant()" in printed
    assert recorder.stdout(state_id) == "False True\n"


def test_answer_turns_check_ok(client):
    recorder = Recorder(client)

    run_cell(client, recorder, CHECK_CELL.format(idle=1.0))
    _, target, value = recorder.check_models()
    answer(client, target, value)
    state_id = run_cell(client, recorder, "print(check.answered, text_mode())")
    recorder.read_for(1.5)

    assert recorder.stdout(state_id) == "True False\n"
    statuses = [
        message["content"]["data"]["state"]["value"]
        for message in recorder.messages
        if message["msg_type"] == "comm_msg"
        and "value" in message["content"]["data"].get("state", {})
        and isinstance(message["content"]["data"]["state"]["value"], str)
    ]
    assert any("Widgets render and answer the kernel." in s for s in statuses)
    assert not any(
        WARNING in recorder.stdout(m["parent_header"].get("msg_id", ""))
        for m in recorder.messages
    )


def test_wrong_value_is_no_answer(client):
    recorder = Recorder(client)

    check_id = run_cell(client, recorder, CHECK_CELL.format(idle=0.5))
    _, target, value = recorder.check_models()
    answer(client, target, value + 1)
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)


def test_long_cell_after_check_is_not_idle(client):
    recorder = Recorder(client)

    # As with "Run All": the next cell is queued before the front end answers,
    # and it runs longer than the idle time.
    check_id = client.execute(CHECK_CELL.format(idle=0.5))
    sleep_id = client.execute("import time\ntime.sleep(1.5)")
    recorder.read_until(lambda: recorder.idle(sleep_id))
    _, target, value = recorder.check_models()
    answer(client, target, value)
    state_id = run_cell(client, recorder, "print(check.answered, text_mode())")
    recorder.read_for(1.0)

    assert recorder.stdout(state_id) == "True False\n"
    assert WARNING not in recorder.stdout(check_id)


def test_no_answer_waits_for_idle(client):
    recorder = Recorder(client)

    check_id = client.execute(CHECK_CELL.format(idle=0.5))
    sleep_id = client.execute("import time\ntime.sleep(1.5)")
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)

    sleep_idle = recorder.position(
        lambda m: (
            m["msg_type"] == "status"
            and m["content"]["execution_state"] == "idle"
            and m["parent_header"].get("msg_id") == sleep_id
        )
    )
    warning = recorder.position(
        lambda m: m["msg_type"] == "stream" and WARNING in m["content"]["text"]
    )
    assert warning > sleep_idle


LATE = "OK: widgets answered the render check after all."


def widget_strings(recorder: Recorder) -> list[str]:
    """Return every string value the kernel sent to a widget."""
    return [
        message["content"]["data"]["state"]["value"]
        for message in recorder.messages
        if message["msg_type"] == "comm_msg"
        and isinstance(message["content"]["data"].get("state", {}).get("value"), str)
    ]


def test_late_answer_leaves_text_mode(client):
    recorder = Recorder(client)

    check_id = run_cell(client, recorder, CHECK_CELL.format(idle=0.5))
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)
    before_id = run_cell(client, recorder, "print(check.answered, text_mode())")
    _, target, value = recorder.check_models()
    answer(client, target, value)
    recorder.read_until(lambda: LATE in recorder.stdout(check_id), timeout=10)
    after_id = run_cell(client, recorder, "print(check.answered, text_mode())")

    assert recorder.stdout(before_id) == "False True\n"
    assert recorder.stdout(after_id) == "True False\n"
    printed = recorder.stdout(check_id)
    assert "the panels display as widgets" in printed
    assert printed.index(WARNING) < printed.index(LATE)
    assert any("the answer came after" in s for s in widget_strings(recorder))


def test_late_answer_wrong_value_ignored(client):
    recorder = Recorder(client)

    check_id = run_cell(client, recorder, CHECK_CELL.format(idle=0.5))
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)
    _, target, value = recorder.check_models()
    answer(client, target, value + 1)
    recorder.read_for(0.5)
    state_id = run_cell(client, recorder, "print(check.answered, text_mode())")

    assert recorder.stdout(state_id) == "False True\n"
    assert LATE not in recorder.stdout(check_id)


@pytest.mark.parametrize(
    "setup",
    [
        "from akv_helpers.ui import set_text_mode\nset_text_mode(True)",
        "import os\nos.environ['AKV_ONBOARD_TEXT_MODE'] = '1'",
    ],
    ids=["set_text_mode", "variable"],
)
def test_late_answer_keeps_user_text_mode(client, setup):
    recorder = Recorder(client)

    run_cell(client, recorder, setup)
    check_id = run_cell(client, recorder, CHECK_CELL.format(idle=0.5))
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)
    _, target, value = recorder.check_models()
    answer(client, target, value)
    recorder.read_until(lambda: LATE in recorder.stdout(check_id), timeout=10)
    state_id = run_cell(client, recorder, "print(check.answered, text_mode())")

    assert recorder.stdout(state_id) == "True True\n"
    assert "Text mode stays on" in recorder.stdout(check_id)


def test_late_answer_after_user_choice(client):
    recorder = Recorder(client)

    # The user turns text mode on by hand after the check has switched it on:
    # the late answer must not undo that choice.
    check_id = run_cell(client, recorder, CHECK_CELL.format(idle=0.5))
    recorder.read_until(lambda: WARNING in recorder.stdout(check_id), timeout=10)
    run_cell(
        client,
        recorder,
        "from akv_helpers.ui import set_text_mode\nset_text_mode(True)",
    )
    _, target, value = recorder.check_models()
    answer(client, target, value)
    recorder.read_until(lambda: LATE in recorder.stdout(check_id), timeout=10)
    state_id = run_cell(client, recorder, "print(check.answered, text_mode())")

    assert recorder.stdout(state_id) == "True True\n"
