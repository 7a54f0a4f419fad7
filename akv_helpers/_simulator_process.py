"""Discovery file and child process of the simulator that the kit starts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess  # noqa: S404  # the simulator runs as a child process
import sys
import time
from pathlib import Path
from typing import Any

# Popen objects of simulators this process started, by pid, so that
# `stop_simulator` can reap them.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


def _simulator_dir(home: Path) -> Path:
    return home / "simulator"


def _read_discovery(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pid_alive(pid: int) -> bool:
    if pid in _STARTED:
        return _STARTED[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A process that exited but was not reaped by its parent (another process
    # started it) still accepts signal 0; Linux shows it as state "Z".
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()
    return bool(fields) and fields[0] == "Z"


def _start_process(home: Path, log_path: Path) -> subprocess.Popen[bytes]:
    # The child imports this very copy of the package, installed or not.
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_parent, env.get("PYTHONPATH", "")) if part
    )
    command = [sys.executable, "-m", "akv_helpers.simulator", "--home", str(home)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603  # fixed command, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _STARTED[process.pid] = process
    return process


def _terminate(pid: int, wait: float = 10.0) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    process = _STARTED.pop(pid, None)
    if process is not None:
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=wait)
        return True
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False
