"""The ``simulator`` commands: start, stop and inspect the built-in simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from akv_helpers.cli._output import echo_json, echo_table, kit_errors
from akv_helpers.errors import SimulatorError
from akv_helpers.profile import kit_home, load_profile, save_profile

if TYPE_CHECKING:
    from akv_helpers.connection import SimulatorEndpoint

__all__ = [
    "COMMANDS",
    "echo_simulator",
    "running_simulator",
    "simulator",
    "simulator_command",
    "simulator_directory",
    "simulator_environment",
    "active_scenarios",
    "apply_scenarios",
    "scenario_descriptions",
    "simulator_requests",
    "simulator_reset",
    "simulator_scenario",
    "simulator_scenarios",
    "simulator_start",
    "simulator_status",
    "simulator_stop",
    "start_on_port",
]

_SCENARIO_HELP = (
    "Apply this named failure case once the simulator runs; repeat to combine. "
    "`akv-onboard simulator scenarios` lists them."
)


@click.group(invoke_without_command=True)
@click.option(
    "--scenario", "scenarios", multiple=True, metavar="NAME", help=_SCENARIO_HELP
)
@click.pass_context
def simulator(ctx: click.Context, scenarios: tuple[str, ...]) -> None:
    """Start, stop and inspect the built-in Azure simulator.

    `akv-onboard simulator --scenario NAME` alone starts the simulator in the
    background, or attaches to the running one, and applies the scenario.
    """
    if ctx.invoked_subcommand is None:
        if not scenarios:
            click.echo(ctx.get_help())
            return
        ctx.invoke(simulator_start, scenarios=scenarios)
    elif scenarios:
        raise click.UsageError(
            f"--scenario goes after the subcommand: `akv-onboard simulator "
            f"{ctx.invoked_subcommand} --scenario NAME`, or without a subcommand."
        )


def simulator_directory() -> Path:
    """Return the simulator's folder in the kit home."""
    return kit_home() / "simulator"


def running_simulator() -> SimulatorEndpoint | None:
    """Return the running simulator, or None, without starting one."""
    from akv_helpers.connection import SimulatorEndpoint

    discovery = simulator_directory() / "simulator.json"
    try:
        data = json.loads(discovery.read_text(encoding="utf-8"))
        endpoint = SimulatorEndpoint.from_discovery(data)
        answer = endpoint.health()
    except (OSError, ValueError, SimulatorError):
        return None
    if answer.get("status") != "ok" or answer.get("pid") != endpoint.pid:
        return None
    return endpoint


def echo_simulator(endpoint: SimulatorEndpoint) -> None:
    """Print where the simulator runs and the scenarios applied since its reset."""
    click.echo(f"The simulator is running at {endpoint.arm_url} (pid {endpoint.pid}).")
    click.echo(f"CA certificate: {endpoint.ca_path}")
    click.echo(f"State: {simulator_directory() / 'state.json'}")
    active = active_scenarios(endpoint)
    click.echo(f"Active scenarios: {', '.join(active) if active else 'none'}")


def scenario_descriptions(endpoint: SimulatorEndpoint) -> dict[str, str]:
    """Return each scenario's name and one-line description, from the simulator."""
    return endpoint.scenarios()


def active_scenarios(endpoint: SimulatorEndpoint) -> list[str]:
    """Return the scenarios applied since the simulator's last reset."""
    return [str(name) for name in endpoint.state().get("scenarios", [])]


def apply_scenarios(endpoint: SimulatorEndpoint, names: Sequence[str]) -> list[str]:
    """Apply the named scenarios to the running simulator; return the active ones.

    Raises
    ------
    click.BadParameter
        If a name is not one of the simulator's scenarios.
    """
    known = scenario_descriptions(endpoint)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown scenario {unknown[0]!r}; known scenarios: "
            f"{', '.join(sorted(known))}.",
            param_hint="scenario",
        )
    endpoint.apply_scenarios(names)
    return active_scenarios(endpoint)


def _forget_kit_assignment() -> None:
    """Drop the profile's assignment ID, which a reset has deleted.

    An Azure-mode profile names a real assignment, which a reset of the local
    simulator leaves, so it is kept.
    """
    profile = load_profile()
    if profile.mode == "simulator" and profile.assignment_id is not None:
        save_profile(
            profile.with_updates(assignment_id=None, assignment_created_by_kit=False)
        )


def simulator_command(port: int | None, reset: bool) -> list[str]:
    """Return the command line that runs the simulator in the foreground."""
    command = [sys.executable, "-m", "akv_helpers.simulator", "--home", str(kit_home())]
    if port is not None:
        command += ["--port", str(port)]
    if reset:
        command.append("--reset")
    return command


def simulator_environment() -> dict[str, str]:
    """Return the environment in which the simulator imports this package."""
    package_parent = str(Path(__file__).resolve().parents[2])
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_parent, environment.get("PYTHONPATH", "")) if part
    )
    return environment


def start_on_port(port: int, timeout: float = 30) -> SimulatorEndpoint:
    """Start the simulator in the background on `port` and wait until it is ready."""
    directory = simulator_directory()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = directory / "simulator.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 (fixed program, no shell)
            simulator_command(port, reset=False),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=simulator_environment(),
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SimulatorError(
                f"The simulator exited with status {process.returncode}.",
                f"See its log at {log_path}; the port may be in use.",
            )
        endpoint = running_simulator()
        if endpoint is not None and endpoint.pid == process.pid:
            return endpoint
        time.sleep(0.05)
    raise SimulatorError(
        f"The simulator was not ready within {timeout:g} seconds.",
        f"See its log at {log_path}.",
    )


@simulator.command("start")
@click.option("--foreground", is_flag=True, help="Run in this terminal until Ctrl-C.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the ARM endpoint on 127.0.0.1; 0 or unset picks a free one.",
)
@click.option("--reset", is_flag=True, help="Reseed the demo tenant first.")
@click.option(
    "--scenario", "scenarios", multiple=True, metavar="NAME", help=_SCENARIO_HELP
)
@kit_errors
def simulator_start(
    foreground: bool, port: int | None, reset: bool, scenarios: tuple[str, ...]
) -> None:
    """Start the simulator, in the background unless --foreground is given."""
    if foreground and scenarios:
        raise click.UsageError(
            "--scenario needs the simulator in the background; start it without "
            "--foreground, or apply the scenario from another terminal with "
            "`akv-onboard simulator scenario NAME`."
        )
    if foreground:
        # The simulator replaces this process, so signals and the exit code are its.
        command = simulator_command(port, reset)
        sys.stdout.flush()
        os.execve(sys.executable, command, simulator_environment())  # noqa: S606

    from akv_helpers.connection import ensure_simulator

    endpoint = running_simulator()
    if endpoint is not None and port and not endpoint.arm_url.endswith(f":{port}"):
        raise SimulatorError(
            f"The simulator is already running at {endpoint.arm_url}.",
            "Stop it with `akv-onboard simulator stop` to start it on another port.",
        )
    if endpoint is None:
        endpoint = start_on_port(port) if port else ensure_simulator(kit_home())
    if reset:
        endpoint.reset()
        _forget_kit_assignment()
        click.echo("Reseeded the demo tenant.")
    if scenarios:
        apply_scenarios(endpoint, scenarios)
        click.echo(f"Applied the scenarios: {', '.join(scenarios)}.")
    echo_simulator(endpoint)


@simulator.command("stop")
@kit_errors
def simulator_stop() -> None:
    """Stop the simulator that runs for this kit home."""
    from akv_helpers.connection import stop_simulator

    if stop_simulator(kit_home()):
        click.echo("Stopped the simulator.")
    else:
        click.echo("The simulator is not running.")


@simulator.command("status")
def simulator_status() -> None:
    """Show whether the simulator runs; exit code 1 when it does not."""
    endpoint = running_simulator()
    if endpoint is None:
        click.echo("The simulator is not running.")
        sys.exit(1)
    echo_simulator(endpoint)


@simulator.command("reset")
@kit_errors
def simulator_reset() -> None:
    """Reseed the demo tenant and remove the role assignments the kit made."""
    from akv_helpers.connection import ensure_simulator

    ensure_simulator(kit_home()).reset()
    _forget_kit_assignment()
    click.echo("Reseeded the demo tenant; role assignments made by the kit are gone.")


def _require_running() -> SimulatorEndpoint:
    endpoint = running_simulator()
    if endpoint is None:
        raise SimulatorError(
            "The simulator is not running.",
            "Start it with `akv-onboard simulator start`.",
        )
    return endpoint


@simulator.command("scenario")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option(
    "--reset", is_flag=True, help="Reseed the demo tenant first, so only NAME... apply."
)
@kit_errors
def simulator_scenario(names: tuple[str, ...], reset: bool) -> None:
    """Apply named failure cases to the running simulator; reset removes them."""
    endpoint = _require_running()
    if reset:
        endpoint.reset()
        _forget_kit_assignment()
    active = apply_scenarios(endpoint, names)
    click.echo(f"Applied the scenarios: {', '.join(names)}.")
    click.echo(f"Active scenarios: {', '.join(active)}")
    click.echo("`akv-onboard simulator reset` brings back the seeded demo tenant.")


@simulator.command("scenarios")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@kit_errors
def simulator_scenarios(as_json: bool) -> None:
    """List the scenarios of the running simulator, marking the active ones."""
    endpoint = _require_running()
    descriptions = scenario_descriptions(endpoint)
    active = set(active_scenarios(endpoint))
    if as_json:
        echo_json(
            [
                {"name": name, "description": text, "active": name in active}
                for name, text in sorted(descriptions.items())
            ]
        )
        return
    echo_table(
        ("NAME", "ACTIVE", "DESCRIPTION"),
        (
            [name, "yes" if name in active else "", text]
            for name, text in sorted(descriptions.items())
        ),
    )


@simulator.command("requests")
@click.option(
    "--clear", is_flag=True, help="Clear the request log instead of showing it."
)
@click.option("--json", "as_json", is_flag=True, help="Print the log as JSON.")
@kit_errors
def simulator_requests(clear: bool, as_json: bool) -> None:
    """Show the requests the simulator served: method, path, status, principal."""
    endpoint = _require_running()
    if clear:
        endpoint.clear_requests()
        click.echo("Cleared the request log.")
        return
    entries = endpoint.requests()
    if as_json:
        echo_json(entries)
        return
    echo_table(
        ("TIME", "METHOD", "STATUS", "HOST", "PATH", "PRINCIPAL", "ERROR"),
        (
            [
                entry.get("time", ""),
                entry.get("method", ""),
                entry.get("status", ""),
                entry.get("host", ""),
                entry.get("path", ""),
                entry.get("principal_id") or "",
                entry.get("error_code") or "",
            ]
            for entry in entries
        ),
    )


COMMANDS: tuple[click.Command, ...] = (simulator,)
