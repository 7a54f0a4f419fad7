"""The simulator process: ports, TLS, discovery file and clean shutdown."""

from __future__ import annotations

import asyncio
import datetime
import errno
import fcntl
import json
import logging
import os
import secrets
import signal
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from . import VERSION
from .admin import AdminHandler
from .faults import FaultStore
from .files import SimulatorPaths, write_private_json
from .requestlog import RequestLog
from .routes_arm import ArmHandler
from .routes_keyvault import VaultHandler
from .scenarios import apply_scenarios
from .seed import OPERATOR_PRINCIPAL_ID
from .state import World
from .tls import ensure_certificates, server_ssl_context
from .tokens import TokenStore

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class SimulatorError(RuntimeError):
    """The simulator could not start."""


def _bind(port: int) -> list[socket.socket]:
    return tornado.netutil.bind_sockets(port, address=LOOPBACK, family=socket.AF_INET)


def _bind_preferred(preferred: int | None) -> list[socket.socket]:
    """Bind the preferred port when it is free, else any free port."""
    if preferred:
        try:
            return _bind(preferred)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                logger.info("port %s is taken; picking another", preferred)
            else:
                logger.info(
                    "port %s cannot be bound (errno %s); picking another",
                    preferred,
                    error.errno,
                )
    return _bind(0)


class Simulator:
    """The running simulator: world, tokens, request log and its HTTPS servers.

    Parameters
    ----------
    home : Path
        The kit home; the simulator's files go to ``<home>/simulator``.
    port : int
        The ARM port; 0 reuses the previous run's port when free, else picks one.
    reset : bool
        Seed the demo tenant again even when a state file exists.
    """

    def __init__(self, home: Path, port: int = 0, *, reset: bool = False) -> None:
        self.paths = SimulatorPaths.under(home)
        self._lock_file: IO[str] | None = None
        self._take_lock()
        ensure_certificates(self.paths)
        self.world = World.open(self.paths.state, reset=reset)
        self.tokens = TokenStore()
        self.faults = FaultStore()
        self.request_log = RequestLog(self.paths.request_log)
        self.admin_key = secrets.token_urlsafe(32)
        self.requested_port = port
        self.arm_port = 0
        self.vault_ports: dict[str, int] = {}
        self._servers: list[tornado.httpserver.HTTPServer] = []
        self._context: Any = None
        self._previous_vault_ports: dict[str, int] = {}
        self.started_at = ""

    @property
    def arm_url(self) -> str:
        """Base URL of the management endpoint."""
        return f"https://{LOOPBACK}:{self.arm_port}"

    def vault_uri(self, vault_name: str) -> str:
        """Return a vault's data-plane URI, ``https://127.0.0.1:<port>/``."""
        port = self.vault_ports.get(vault_name.lower(), 0)
        return f"https://{LOOPBACK}:{port}/"

    def _take_lock(self) -> None:
        descriptor = os.open(self.paths.lock, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(descriptor, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.close()
            raise SimulatorError(
                f"another simulator is already running with its files in "
                f"{self.paths.directory}; stop it first or use another --home"
            ) from error
        self._lock_file = handle

    def start(self) -> None:
        """Bind the ARM port and one port per vault, and write the discovery file."""
        context = server_ssl_context(self.paths)
        self._context = context
        previous: dict[str, Any] = self.world.data.get("ports", {})
        arm_sockets = (
            _bind(self.requested_port)
            if self.requested_port
            else _bind_preferred(previous.get("arm"))
        )
        arm_app = tornado.web.Application(
            [
                (r"/_simulator/([a-z]+)/?", AdminHandler, {"sim": self}),
                (r"/.*", ArmHandler, {"sim": self, "host_label": "arm"}),
            ]
        )
        self._serve(arm_app, arm_sockets, context)
        self.arm_port = arm_sockets[0].getsockname()[1]
        self._previous_vault_ports = dict(previous.get("vaults", {}))
        self.started_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.ensure_vault_ports()
        self._write_discovery()
        logger.info(
            "simulator %s listening on %s (vault ports %s)",
            VERSION,
            self.arm_url,
            self.vault_ports,
        )

    def ensure_vault_ports(self) -> None:
        """Serve every vault of the world on its own port, binding new vaults' ports.

        Scenarios can add vaults while the simulator runs. A port stays bound after
        its vault is gone (after a reset) and then returns 404 VaultNotFound. The
        ports are saved in the state and the discovery file whenever they change.
        """
        added = False
        for vault in self.world.vaults():
            name = vault["name"].lower()
            if name in self.vault_ports:
                continue
            sockets = _bind_preferred(self._previous_vault_ports.get(name))
            app = tornado.web.Application(
                [
                    (
                        r"/.*",
                        VaultHandler,
                        {"sim": self, "host_label": vault["name"], "vault_name": name},
                    )
                ]
            )
            self._serve(app, sockets, self._context)
            self.vault_ports[name] = sockets[0].getsockname()[1]
            added = True
        ports = {"arm": self.arm_port, "vaults": dict(self.vault_ports)}
        if added or self.world.data.get("ports") != ports:
            self.world.data["ports"] = ports
            self.world.save()
            self._write_discovery()

    def _serve(
        self,
        app: tornado.web.Application,
        sockets: list[socket.socket],
        context: Any,
    ) -> None:
        server = tornado.httpserver.HTTPServer(app, ssl_options=context, xheaders=False)
        server.add_sockets(sockets)
        self._servers.append(server)

    def _write_discovery(self) -> None:
        write_private_json(
            self.paths.discovery,
            {
                "pid": os.getpid(),
                "arm_url": self.arm_url,
                "ca_path": str(self.paths.ca_cert.resolve()),
                "admin_key": self.admin_key,
                "tenant_id": self.world.tenant_id,
                "subscription_id": self.world.subscription_id,
                "operator_principal_id": OPERATOR_PRINCIPAL_ID,
                "vault_ports": dict(self.vault_ports),
                "started_at": self.started_at,
                "version": VERSION,
            },
        )

    async def stop(self) -> None:
        """Close the ports, remove the discovery file and release the lock."""
        for server in self._servers:
            server.stop()
        for server in self._servers:
            await server.close_all_connections()
        self._servers.clear()
        try:
            current = json.loads(self.paths.discovery.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = {}
        if current.get("pid") == os.getpid():
            self.paths.discovery.unlink(missing_ok=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        logger.info("simulator stopped")


async def serve(
    home: Path,
    port: int = 0,
    *,
    reset: bool = False,
    scenarios: Sequence[str] = (),
) -> None:
    """Run the simulator until SIGTERM or SIGINT, after applying ``scenarios``."""
    simulator = Simulator(home, port, reset=reset)
    if scenarios:
        apply_scenarios(simulator.world, scenarios)
        simulator.world.save()
        logger.info("applied scenarios %s", ", ".join(scenarios))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        simulator.start()
        print(f"simulator listening on {simulator.arm_url}", flush=True)
        await stopping.wait()
    finally:
        await simulator.stop()
