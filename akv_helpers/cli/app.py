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
    "app",
    "app_directory",
    "voila_command",
]

APP_NOTEBOOK = "walkthrough.ipynb"
# Voilà's own default port.
DEFAULT_APP_PORT = 8866


def app_directory() -> Path:
    """Return the package folder that contains the app's notebook and nothing else."""
    return Path(__file__).resolve().parent.parent / "app"


def voila_command(port: int = DEFAULT_APP_PORT) -> list[str]:
    """Return the Voilà command line that serves the walk-through on loopback.

    Voilà generates an access token (``--token``) and prints the URL with it
    once it listens. The root directory is the app folder, so Voilà serves no
    other file. ``port_retries=0`` makes Voilà exit instead of moving to
    another port when `port` is taken, so the URL is the one asked for.
    """
    directory = app_directory()
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
    ]


def _require_voila() -> None:
    if importlib.util.find_spec("voila") is None:
        raise NotConfiguredError(
            "Voilà is not installed in this Python environment, so the app "
            "cannot be served.",
            "Install it with `pip install 'akv-helpers[notebook]'` or `make venv`.",
        )


def _require_free_port(port: int) -> None:
    """Raise `InvalidInputError` when 127.0.0.1:`port` cannot be listened on.

    It runs before anything starts, because Voilà would otherwise log that
    the port is in use and exit after the simulator had been started for
    nothing.
    """
    expected = "a TCP port on 127.0.0.1 that no other program listens on"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Tornado's listening socket sets this too, so a port left in TIME_WAIT
        # by an earlier app counts as free, as it does for Voilà.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise InvalidInputError(
                    f"Port {port} on 127.0.0.1 is already in use by another "
                    f"program. Expected {expected}.",
                    "Stop that program (an earlier `akv-onboard app` or `make app` "
                    f"is the usual one), or choose another port: `akv-onboard app "
                    f"--port {_other_port(port)}` or `make app APP_PORT="
                    f"{_other_port(port)}`.",
                    value=str(port),
                    expected=expected,
                ) from None
            if error.errno == errno.EACCES:
                raise InvalidInputError(
                    f"Port {port} on 127.0.0.1 cannot be listened on: permission "
                    f"denied. Expected {expected}.",
                    "Choose a port from 1024 to 65535, such as the default "
                    f"{DEFAULT_APP_PORT}: `akv-onboard app --port {DEFAULT_APP_PORT}`.",
                    value=str(port),
                    expected=expected,
                ) from None
            raise


def _other_port(port: int) -> int:
    """Return a port number to suggest in place of the taken `port`."""
    return port + 1 if port < 65535 else DEFAULT_APP_PORT


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
    "--dry-run",
    is_flag=True,
    help="Print the Voilà command line; start neither the simulator nor Voilà.",
)
@kit_errors
def app(port: int, dry_run: bool) -> None:
    """Serve the walk-through as a Voilà app on 127.0.0.1.

    The app shows the kit's panels without code cells. Unless Azure mode is
    configured, the simulator is started first. Voilà prints the app's URL,
    with its access token, on stderr once it listens. Stop it with Ctrl+C.
    """
    command = voila_command(port)
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
