"""The ``app`` command: the walk-through served as a Voilà app."""

from __future__ import annotations

import errno
import importlib.util
import os
import shlex
import socket
import sys
from pathlib import Path

import click

from akv_helpers.cli._output import kit_errors
from akv_helpers.cli._steps import effective_mode
from akv_helpers.errors import InvalidInputError, NotConfiguredError
from akv_helpers.profile import kit_home, load_profile

__all__ = [
    "APP_NOTEBOOK",
    "COMMANDS",
    "DEFAULT_APP_PORT",
    "DEFAULT_CULL_IDLE_SECONDS",
    "app",
    "app_directory",
    "voila_command",
]

APP_NOTEBOOK = "walkthrough.ipynb"
# Voilà's own default port.
DEFAULT_APP_PORT = 8866
# Every page load starts a kernel, and Voilà keeps it after the page closes
# unless culling is on. A kernel with an open page is never culled, because
# jupyter_server's `cull_connected` is false by default.
DEFAULT_CULL_IDLE_SECONDS = 600


def app_directory() -> Path:
    """Return the package folder that contains the app's notebook and nothing else."""
    return Path(__file__).resolve().parent.parent / "app"


def voila_command(
    port: int = DEFAULT_APP_PORT, cull_idle_seconds: int = DEFAULT_CULL_IDLE_SECONDS
) -> list[str]:
    """Return the Voilà command line that serves the walk-through on loopback.

    Voilà generates an access token (``--token``) and prints the URL with it
    once it listens. The root directory is the app folder, so Voilà serves no
    other file. ``port_retries=0`` makes Voilà exit instead of moving to
    another port when `port` is taken, so the URL is the one asked for. A
    kernel whose page was closed is shut down after `cull_idle_seconds` idle
    seconds; 0 keeps every kernel until Voilà stops.
    """
    directory = app_directory()
    culling: list[str] = []
    if cull_idle_seconds > 0:
        # Check often enough that a kernel outlives its timeout by at most
        # half of it, and at most a minute.
        interval = max(1, min(60, cull_idle_seconds // 2))
        culling = [
            f"--MappingKernelManager.cull_idle_timeout={cull_idle_seconds}",
            f"--MappingKernelManager.cull_interval={interval}",
        ]
    return [
        sys.executable,
        "-m",
        "voila",
        str(directory / APP_NOTEBOOK),
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        "--port",
        str(port),
        "--Voila.port_retries=0",
        f"--Voila.root_dir={directory}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--token",
        *culling,
    ]


def _require_voila() -> None:
    if importlib.util.find_spec("voila") is None:
        raise NotConfiguredError(
            "Voilà is not installed in this Python environment, so the app "
            "cannot be served.",
            "Install it with `pip install 'akv-helpers[notebook]'` or `make venv`.",
        )


# Linux's setting for the lowest port that users other than root may listen on.
_UNPRIVILEGED_PORT_START = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
# How many ports after a taken one are tried for a free one to suggest.
_SUGGESTION_TRIES = 20


def _bind_error(port: int) -> OSError | None:
    """Return why 127.0.0.1:`port` cannot be bound now, or ``None`` if it can."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Tornado's listening socket sets this too, so a port left in TIME_WAIT
        # by an earlier app counts as free, as it does for Voilà.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return error
    return None


def _free_port_after(port: int) -> int | None:
    """Return the first port after `port` that is free now, or ``None``."""
    for candidate in range(port + 1, min(port + 1 + _SUGGESTION_TRIES, 65536)):
        if _bind_error(candidate) is None:
            return candidate
    return None


def _lowest_unprivileged_port() -> int:
    """Return the lowest port that users other than root may listen on."""
    try:
        return int(_UNPRIVILEGED_PORT_START.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return 1024


def _require_free_port(port: int) -> None:
    """Raise `InvalidInputError` when 127.0.0.1:`port` cannot be listened on.

    It runs before anything starts, because Voilà would otherwise log that
    the port is in use and exit after the simulator had been started for
    nothing.
    """
    error = _bind_error(port)
    if error is None:
        return
    expected = "a TCP port on 127.0.0.1 that no other program listens on"
    if error.errno == errno.EADDRINUSE:
        free = _free_port_after(port)
        if free is None:
            choose = "or choose another port with `akv-onboard app --port N`."
        else:
            choose = (
                f"or use port {free}, which is free now: `akv-onboard app --port "
                f"{free}` or `make app APP_PORT={free}`."
            )
        raise InvalidInputError(
            f"Port {port} on 127.0.0.1 is already in use by another program. "
            f"Expected {expected}.",
            "Stop that program (usually an earlier `akv-onboard app` or `make "
            f"app`), {choose}",
            value=str(port),
            expected=expected,
        )
    if error.errno == errno.EACCES:
        lowest = _lowest_unprivileged_port()
        raise InvalidInputError(
            f"Port {port} on 127.0.0.1 cannot be listened on: permission denied. "
            f"Expected {expected}.",
            f"Choose a port from {lowest} to 65535, such as the default "
            f"{DEFAULT_APP_PORT}: `akv-onboard app --port {DEFAULT_APP_PORT}`.",
            value=str(port),
            expected=expected,
        )
    reason = error.strerror or type(error).__name__
    raise InvalidInputError(
        f"Port {port} on 127.0.0.1 cannot be listened on: {reason}. "
        f"Expected {expected}.",
        f"Choose another port: `akv-onboard app --port {DEFAULT_APP_PORT}`.",
        value=str(port),
        expected=expected,
    )


def _prepare() -> None:
    """Start the simulator unless Azure mode is configured, as `make lab` does."""
    from akv_helpers.cli.simulator import echo_simulator
    from akv_helpers.connection import ensure_simulator

    if effective_mode(load_profile()) == "azure":
        click.echo("Azure mode: the simulator is not started.")
        return
    echo_simulator(ensure_simulator(kit_home()))


@click.command("app")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_APP_PORT,
    show_default=True,
    help="TCP port on 127.0.0.1 that the app listens on.",
)
@click.option(
    "--cull-idle-seconds",
    type=click.IntRange(min=0),
    default=DEFAULT_CULL_IDLE_SECONDS,
    show_default=True,
    help="Seconds after which the kernel of a closed page is shut down; 0 "
    "keeps every kernel until the app stops.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the Voilà command line; start neither the simulator nor Voilà.",
)
@kit_errors
def app(port: int, cull_idle_seconds: int, dry_run: bool) -> None:
    """Serve the walk-through as a Voilà app on 127.0.0.1.

    The app shows the kit's panels without code cells. Unless Azure mode is
    configured, the simulator is started first. Voilà prints the app's URL,
    with its access token, on stderr once it listens. Stop it with Ctrl+C.
    """
    command = voila_command(port, cull_idle_seconds)
    if dry_run:
        click.echo(shlex.join(command))
        return

    _require_voila()
    _require_free_port(port)
    _prepare()
    click.echo(f"Starting Voilà on port {port}; it prints the URL to open below.")
    sys.stdout.flush()
    sys.stderr.flush()
    # Voilà replaces this process, so Ctrl+C and signals reach it directly and
    # no parent is left behind to forward them.
    os.execv(command[0], command)  # noqa: S606


COMMANDS: tuple[click.Command, ...] = (app,)
