"""Command line: ``python -m akv_helpers.simulator [--home DIR] [--port N] ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from .app import LOOPBACK, SimulatorError, serve
from .files import SimulatorPaths
from .scenarios import UnknownScenarioError, describe, resolve


def _default_home() -> Path:
    configured = os.environ.get("AKV_ONBOARD_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".akv-onboard"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m akv_helpers.simulator",
        description=(
            "Run the kit's Azure simulator in the foreground (HTTPS, loopback only)."
        ),
    )
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="kit home folder (default: $AKV_ONBOARD_HOME or ~/.akv-onboard)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="ARM port; 0 (default) reuses the last port when free, else picks one",
    )
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address to bind; only 127.0.0.1 is accepted",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="seed the demo tenant again before starting",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="apply a named failure scenario before serving (repeatable)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, set up logging to ``simulator.log`` and run until stopped."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.host != LOOPBACK:
        parser.error(
            f"--host {args.host!r} is not allowed: the simulator binds {LOOPBACK} "
            "only, "
            "so nothing outside this machine can reach it"
        )
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is out of range; use 0 to 65535")
    try:
        scenarios = resolve(args.scenario)
    except UnknownScenarioError as error:
        known = ", ".join(sorted(describe()))
        parser.error(f"unknown scenario {error.args[0]!r}; known scenarios: {known}")

    home = (args.home or _default_home()).expanduser().resolve()
    paths = SimulatorPaths.under(home)

    os.close(os.open(paths.server_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    handler = logging.FileHandler(paths.server_log, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Tornado's access log repeats what the request log already records.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    try:
        asyncio.run(serve(home, args.port, reset=args.reset, scenarios=scenarios))
    except SimulatorError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"Error: the simulator could not start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
