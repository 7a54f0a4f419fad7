"""The address of a running simulator and the calls of its admin API."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from akv_helpers.errors import SimulatorError, displayable

__all__ = ["SimulatorEndpoint"]


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
            If the simulator rejects the rule; the message gives the reason.
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
