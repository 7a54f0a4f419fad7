"""Client of the kit's simulator: its admin API, its tokens, starting and stopping it.

The simulator runs as a child process (``python -m akv_helpers.simulator``), so
this module never imports the simulator package.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from akv_helpers._simulator_credential import (
    TOKEN_REFRESH_MARGIN_SECONDS,
    SimulatorCredential,
)
from akv_helpers._simulator_endpoint import SimulatorEndpoint
from akv_helpers._simulator_process import (
    _pid_alive,
    _read_discovery,
    _simulator_dir,
    _start_process,
    _terminate,
)
from akv_helpers.errors import SimulatorError
from akv_helpers.profile import kit_home

__all__ = [
    "TOKEN_REFRESH_MARGIN_SECONDS",
    "SimulatorCredential",
    "SimulatorEndpoint",
    "ensure_simulator",
    "simulator_replaced",
    "stop_simulator",
]

logger = logging.getLogger(__name__)


def _attach(discovery: Path) -> SimulatorEndpoint | None:
    data = _read_discovery(discovery)
    if data is None:
        return None
    try:
        endpoint = SimulatorEndpoint.from_discovery(data)
    except SimulatorError:
        return None
    if not _pid_alive(endpoint.pid):
        return None
    try:
        response = endpoint.health()
    except SimulatorError:
        return None
    if (
        response.get("status") != "ok"
        or response.get("pid", endpoint.pid) != endpoint.pid
    ):
        return None
    return endpoint


def ensure_simulator(
    home: Path | None = None, *, timeout: float = 30
) -> SimulatorEndpoint:
    """Attach to the running simulator, or start one in the background.

    The kit attaches when the discovery file's process is alive and
    ``/_simulator/health`` responds. Otherwise it starts
    ``python -m akv_helpers.simulator --home <home>`` in a new session, with its
    output in ``<home>/simulator/simulator.log``, and waits for it to be ready.

    Parameters
    ----------
    home
        Kit home; defaults to `akv_helpers.profile.kit_home`.
    timeout
        Seconds to wait for a started simulator to become ready.

    Returns
    -------
    SimulatorEndpoint
        The running simulator.

    Raises
    ------
    SimulatorError
        If the simulator exits early or is not ready within `timeout`; the message
        names the log file.
    """
    home = home or kit_home()
    directory = _simulator_dir(home)
    discovery = directory / "simulator.json"
    endpoint = _attach(discovery)
    if endpoint is not None:
        logger.debug("Attached to the simulator with pid %d", endpoint.pid)
        return endpoint

    log_path = directory / "simulator.log"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        process = _start_process(home, log_path)
    except OSError as exc:
        raise SimulatorError(
            f"Could not start the simulator in {directory}: {exc.strerror or exc}.",
            "Check that the kit home (AKV_ONBOARD_HOME) is a writable folder.",
        ) from exc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = process.poll()
        if status is not None:
            raise SimulatorError(
                f"The simulator exited with status {status} before it was ready.",
                f"See its log at {log_path}.",
            )
        data = _read_discovery(discovery)
        if data is not None and data.get("pid") == process.pid:
            endpoint = _attach(discovery)
            if endpoint is not None:
                logger.info(
                    "Started the simulator at %s (pid %d, log %s)",
                    endpoint.arm_url,
                    process.pid,
                    log_path,
                )
                return endpoint
        time.sleep(0.05)

    _terminate(process.pid)
    raise SimulatorError(
        f"The simulator was not ready within {timeout:g} seconds.",
        f"See its log at {log_path}.",
    )


def simulator_replaced(endpoint: SimulatorEndpoint, home: Path | None = None) -> bool:
    """Tell whether the simulator at `endpoint` has stopped or been replaced.

    A restarted simulator does not know the tokens that the old one issued,
    which each process keeps in memory only, so clients built for the old one
    are rejected with 401. The check reads only the discovery file and
    the process table, and sends no request.

    Parameters
    ----------
    endpoint
        The simulator a connection was made to.
    home
        Kit home; defaults to `akv_helpers.profile.kit_home`.

    Returns
    -------
    bool
        ``True`` if that process is gone or the discovery file names another.
    """
    home = home or kit_home()
    data = _read_discovery(_simulator_dir(home) / "simulator.json")
    named = data.get("pid") if data is not None else None
    return named != endpoint.pid or not _pid_alive(endpoint.pid)


def stop_simulator(home: Path | None = None) -> bool:
    """Stop the simulator that the discovery file names.

    The process is signalled only after its health response confirms that it is
    the simulator, so that a reused process ID is never signalled.

    Parameters
    ----------
    home
        Kit home; defaults to `akv_helpers.profile.kit_home`.

    Returns
    -------
    bool
        ``True`` if a simulator was running and has stopped.
    """
    home = home or kit_home()
    endpoint = _attach(_simulator_dir(home) / "simulator.json")
    if endpoint is None:
        return False
    stopped = _terminate(endpoint.pid)
    if stopped:
        logger.info("Stopped the simulator with pid %d", endpoint.pid)
    return stopped
