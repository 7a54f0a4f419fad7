"""Client of the kit's simulator: its admin API, its tokens, starting and stopping it.

The simulator runs as a child process (``python -m akv_helpers.simulator``), so
this module never imports the simulator package.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

from akv_helpers._simulator_process import (
    _pid_alive,
    _read_discovery,
    _simulator_dir,
    _start_process,
    _terminate,
)
from akv_helpers.errors import SimulatorError, displayable
from akv_helpers.profile import kit_home

__all__ = [
    "TOKEN_REFRESH_MARGIN_SECONDS",
    "SimulatorCredential",
    "SimulatorEndpoint",
    "ensure_simulator",
    "stop_simulator",
]

logger = logging.getLogger(__name__)

# A cached token is renewed this many seconds before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 300


@dataclass(frozen=True)
class SimulatorEndpoint:
    """A running simulator, as its discovery file describes it.

    Attributes
    ----------
    arm_url
        Base URL of the simulator's Azure Resource Manager endpoint.
    ca_path
        Path of the CA certificate that signed the simulator's server certificate.
    admin_key
        Key for the ``/_simulator/`` admin API; never shown by `repr`.
    tenant_id, subscription_id, operator_principal_id
        IDs of the seeded demo tenant.
    pid
        Process ID of the simulator.
    """

    arm_url: str
    ca_path: str
    admin_key: str = field(repr=False)
    tenant_id: str
    subscription_id: str
    operator_principal_id: str
    pid: int

    @classmethod
    def from_discovery(cls, data: dict[str, Any]) -> SimulatorEndpoint:
        """Build the endpoint from the parsed discovery file.

        Raises
        ------
        SimulatorError
            If a field is missing or has the wrong type.
        """
        try:
            return cls(
                arm_url=str(data["arm_url"]).rstrip("/"),
                ca_path=str(data["ca_path"]),
                admin_key=str(data["admin_key"]),
                tenant_id=str(data["tenant_id"]),
                subscription_id=str(data["subscription_id"]),
                operator_principal_id=str(data["operator_principal_id"]),
                pid=int(data["pid"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SimulatorError(
                f"The simulator's discovery file lacks the field {exc}.",
                "Stop the simulator and start it again.",
            ) from None

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def admin(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Call the simulator's admin API and return the parsed JSON response.

        Parameters
        ----------
        method
            HTTP method, such as ``"GET"``.
        path
            Path under the ARM URL, such as ``"/_simulator/state"``.
        body
            JSON body to send, or ``None``.
        timeout
            Seconds to wait for the response.

        Raises
        ------
        SimulatorError
            If the simulator cannot be reached or returns an error status.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310  # https URL from discovery
            self.arm_url + path, data=data, method=method
        )
        request.add_header("X-Simulator-Key", self.admin_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        # The simulator is on loopback, so no proxy from the environment applies.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self._ssl_context()),
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                detail = _admin_error_detail(exc.read())
            raise SimulatorError(
                f"The simulator returned {exc.code} to {method} {path}{detail}.",
                f"See the simulator's log next to {self.ca_path}.",
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise SimulatorError(
                f"Could not reach the simulator at {self.arm_url}: {exc}.",
                "Start it with `akv-onboard simulator start`.",
            ) from None
        if not raw:
            return {}
        parsed = json.loads(raw)
        return cast(dict[str, Any], parsed) if isinstance(parsed, dict) else {}

    def health(self, timeout: float = 2.0) -> dict[str, Any]:
        """Return the simulator's health response, ``{"status": "ok", "pid": N}``."""
        return self.admin("GET", "/_simulator/health", timeout=timeout)

    def requests(self) -> list[dict[str, Any]]:
        """Return the request log: one dict per request the simulator served."""
        return list(self.admin("GET", "/_simulator/requests").get("value", []))

    def clear_requests(self) -> None:
        """Clear the request log."""
        self.admin("DELETE", "/_simulator/requests")

    def reset(self) -> None:
        """Reseed the demo tenant and remove the role assignments the kit made."""
        self.admin("POST", "/_simulator/reset", {})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change simulator settings, such as ``propagation_seconds``."""
        return self.admin("POST", "/_simulator/config", settings)

    def apply_scenario(self, name: str) -> None:
        """Apply a named failure case, such as ``"secret-disabled"``.

        `reset` brings back the seeded world.
        """
        self.admin("POST", "/_simulator/scenario", {"name": name})

    def apply_scenarios(self, names: Sequence[str]) -> None:
        """Apply several named failure cases at once.

        If one name is unknown, the simulator applies none of them.
        """
        self.admin("POST", "/_simulator/scenario", {"names": list(names)})

    def scenarios(self) -> dict[str, str]:
        """Return the simulator's scenario names with their one-line descriptions."""
        listed = self.admin("GET", "/_simulator/scenarios").get("value", {})
        return {str(name): str(text) for name, text in dict(listed).items()}

    def state(self) -> dict[str, Any]:
        """Return the simulated world without secret values."""
        return self.admin("GET", "/_simulator/state")

    def principals(self) -> list[dict[str, Any]]:
        """Return the principals in the simulated directory."""
        return list(self.admin("GET", "/_simulator/principals").get("value", []))

    def inject_fault(
        self,
        route: str,
        kind: str,
        *,
        count: int | None = None,
        fraction: float | None = None,
        seed: int | None = None,
        retry_after: float | None = None,
        delay: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        """Make the simulator fail matching requests; return the rule it added.

        Parameters
        ----------
        route
            A route name such as ``"role_assignments.put"``, or
            ``"<METHOD> <path regex>"``.
        kind
            ``"429"``, ``"500"``, ``"503"``, ``"status"``, ``"reset"``,
            ``"slow"``, ``"expired-token"`` or ``"drop-after-commit"``.
        count, fraction
            Apply to the next `count` matching requests, or to each with
            probability `fraction` (seeded by `seed`).
        retry_after, delay, status, code
            ``Retry-After`` seconds, the wait of a slow response in seconds, and
            the status and error code of a ``"status"`` fault.

        Raises
        ------
        SimulatorError
            If the simulator rejects the rule; the message says why.
        """
        body: dict[str, Any] = {"route": route, "kind": kind}
        optional = {
            "count": count,
            "fraction": fraction,
            "seed": seed,
            "retry_after": retry_after,
            "delay": delay,
            "status": status,
            "code": code,
        }
        body.update(
            {name: value for name, value in optional.items() if value is not None}
        )
        return self.admin("POST", "/_simulator/faults", body)

    def faults(self) -> list[dict[str, Any]]:
        """Return the active fault rules with how often each matched and applied."""
        return list(self.admin("GET", "/_simulator/faults").get("value", []))

    def clear_faults(self) -> None:
        """Remove every fault rule (a reset also removes them)."""
        self.admin("DELETE", "/_simulator/faults")


def _admin_error_detail(raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error", {})
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict) or not error.get("code"):
        return ""
    return f" ({error['code']}: {displayable(str(error.get('message', '')))})"


class SimulatorCredential:
    """Token credential that requests tokens of one principal from the simulator.

    Tokens come from ``POST /_simulator/token`` over HTTPS and are cached per
    scope until `TOKEN_REFRESH_MARGIN_SECONDS` before they expire.

    Parameters
    ----------
    endpoint
        The running simulator.
    principal_id
        Object ID of the principal the tokens name.
    tenant_id
        Tenant of the tokens; defaults to the simulator's tenant.
    """

    def __init__(
        self,
        endpoint: SimulatorEndpoint,
        principal_id: str,
        tenant_id: str | None = None,
    ) -> None:
        self._endpoint = endpoint
        self.principal_id = principal_id
        self.tenant_id = tenant_id or endpoint.tenant_id
        self._cache: dict[tuple[str, str], AccessTokenInfo] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimulatorCredential(principal_id={self.principal_id!r})"

    def __enter__(self) -> SimulatorCredential:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget the cached tokens."""
        with self._lock:
            self._cache.clear()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Return a token for the first of `scopes`."""
        options: TokenRequestOptions = {}
        if tenant_id:
            options["tenant_id"] = tenant_id
        info = self.get_token_info(*scopes, options=options)
        return AccessToken(info.token, info.expires_on)

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """Return a token with its expiry for the first of `scopes`.

        Raises
        ------
        ClientAuthenticationError
            If no scope is given or the simulator rejects the request.
        """
        if not scopes:
            raise ClientAuthenticationError("A token request needs a scope.")
        tenant = (options or {}).get("tenant_id") or self.tenant_id
        key = (scopes[0], tenant)
        with self._lock:
            cached = self._cache.get(key)
            if (
                cached
                and cached.expires_on - TOKEN_REFRESH_MARGIN_SECONDS > time.time()
            ):
                return cached
            info = self._request_token(scopes[0], tenant)
            self._cache[key] = info
            return info

    def _request_token(self, scope: str, tenant: str) -> AccessTokenInfo:
        body = {"principal_id": self.principal_id, "scope": scope, "tenant_id": tenant}
        try:
            response = self._endpoint.admin("POST", "/_simulator/token", body)
        except SimulatorError as exc:
            message = (
                f"The simulator issued no token for principal {self.principal_id} "
                f"and scope {scope}: {exc.message}"
            )
            raise ClientAuthenticationError(message) from None
        expires_on = int(response["expires_on"])
        refresh_on = expires_on - TOKEN_REFRESH_MARGIN_SECONDS
        return AccessTokenInfo(
            str(response["access_token"]), expires_on, refresh_on=refresh_on
        )


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
