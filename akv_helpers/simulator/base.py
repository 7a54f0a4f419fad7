"""Request handler base: loopback host check, JSON and Azure error bodies, logging."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import time
import uuid
from typing import TYPE_CHECKING, Any

import tornado.web

from .faults import FaultRule

if TYPE_CHECKING:
    from .app import Simulator

logger = logging.getLogger(__name__)

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


class SimulatorHandler(tornado.web.RequestHandler):
    """Common behavior of every simulator endpoint.

    Each request records one request-log entry when it finishes, except the admin
    API's own calls. Handlers fill ``principal_id``, ``error_code`` and
    ``inner_error_code`` as they go.
    """

    sim: Simulator
    host_label: str

    def initialize(self, sim: Simulator, host_label: str = "arm") -> None:
        """Attach the simulator and the label (``arm`` or a vault) for the log."""
        self.sim = sim
        self.host_label = host_label
        self.principal_id: str | None = None
        self.error_code: str | None = None
        self.inner_error_code: str | None = None
        self.record_request = True
        self.fault: str | None = None
        self._drop_response = False

    def prepare(self) -> None:
        """Reject requests addressed to any host other than the loopback address."""
        host = self.request.host_name.lower()
        if host not in _LOOPBACK_HOSTS:
            self.send_error_body(
                421,
                "MisdirectedRequest",
                f"The host '{host}' is not served here; use 127.0.0.1.",
            )

    def set_default_headers(self) -> None:
        """Send JSON and ARM's request-ID headers on every response."""
        request_id = str(uuid.uuid4())
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("x-ms-request-id", request_id)
        self.set_header("x-ms-correlation-request-id", request_id)
        self.set_header("Cache-Control", "no-cache")

    def check_xsrf_cookie(self) -> None:
        """Skip XSRF checks: callers authenticate with bearer tokens, not cookies."""

    def compute_etag(self) -> str | None:
        """Send no ETag, as ARM does not for these resources."""
        return None

    def query_value(self, name: str) -> str | None:
        """Return a query parameter by case-insensitive name, or None."""
        expected = name.lower()
        for key, values in self.request.query_arguments.items():
            if key.lower() == expected and values:
                return values[-1].decode("utf-8", errors="replace")
        return None

    def json_body(self) -> Any:
        """Parse the request body as JSON; an empty body is None."""
        raw = self.request.body
        if not raw:
            return None
        return json.loads(raw.decode("utf-8"))

    @property
    def host_kind(self) -> str:
        """``arm`` on the management port, ``vault`` on a vault's port."""
        return "arm" if self.host_label == "arm" else "vault"

    async def apply_fault(self) -> bool:
        """Apply the first fault rule that covers this request, if any.

        Returns
        -------
        bool
            True when the fault has answered the request (or closed the
            connection), so that the handler must not serve it.
        """
        rule = self.sim.faults.take(
            self.request.method or "", self.request.path, self.host_kind
        )
        if rule is None:
            return False
        self.fault = rule.kind
        logger.info(
            "fault %s (rule %d) on %s %s",
            rule.kind,
            rule.id,
            self.request.method,
            self.request.path,
        )
        if rule.kind == "slow":
            # Never a blocking sleep: other connections are served meanwhile.
            await asyncio.sleep(rule.delay)
            return False
        if rule.kind == "drop-after-commit":
            self._drop_response = True
            return False
        if rule.kind == "reset":
            self.abort_connection()
            return True
        self.send_fault_status(rule)
        return True

    def send_fault_status(self, rule: FaultRule) -> None:
        """Respond with the status of a ``429``, ``500``, ``503`` or ``status`` rule."""
        vault = self.host_kind == "vault"
        headers: dict[str, str] = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = f"{rule.retry_after:g}"
        if rule.kind == "429":
            code = "Throttled" if vault else "TooManyRequests"
            message = (
                "Request was not processed because too many requests were "
                "received. Retry after the time the Retry-After header gives."
            )
            self.send_error_body(429, code, message, headers=headers)
        elif rule.kind == "500":
            self.send_error_body(
                500,
                "InternalServerError",
                "The server encountered an internal error. Please retry the request.",
                headers=headers,
            )
        elif rule.kind == "503":
            self.send_error_body(
                503,
                "ServiceUnavailable",
                "The service is unavailable. Please retry the request.",
                headers=headers,
            )
        else:
            self.send_error_body(
                rule.status or 500,
                rule.code or "InjectedFault",
                f"The simulator answered {rule.status} {rule.code} (injected fault).",
                headers=headers,
            )

    def token_fault(self) -> bool:
        """Tell whether an ``expired-token`` rule applies to this request's token."""
        rule = self.sim.faults.take(
            self.request.method or "",
            self.request.path,
            self.host_kind,
            token_phase=True,
        )
        if rule is None:
            return False
        self.fault = rule.kind
        return True

    def abort_connection(self) -> None:
        """Reset the connection (TCP RST) without sending a response."""
        stream = getattr(self.request.connection, "stream", None)
        if stream is not None and not stream.closed():
            sock = stream.socket
            if sock is not None:
                # A zero linger time makes close() send RST instead of FIN.
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            stream.close()
        # The response is never sent, so record the request here and keep
        # tornado from finishing it.
        self._finished = True
        self.on_finish()

    def send_json(
        self, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        """Finish the request with a JSON body (no body for 204)."""
        if self._finished:
            return
        if self._drop_response:
            # drop-after-commit: the change is made, the response is lost.
            self.set_status(status)
            self.abort_connection()
            return
        self.set_status(status)
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        if status == 204 or body is None:
            self.clear_header("Content-Type")
            self.finish()
            return
        self.finish(json.dumps(body))

    def send_error_body(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Finish the request with Azure's ``{"error": {"code", "message"}}`` body."""
        self.error_code = code
        self.inner_error_code = inner_code
        error: dict[str, Any] = {"code": code, "message": message}
        if inner_code is not None:
            error["innererror"] = {"code": inner_code}
        self.send_json(status, {"error": error}, headers)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer uncaught errors with an Azure-shaped body instead of HTML."""
        if status_code == 405:
            code, message = (
                "MethodNotAllowed",
                f"The method '{self.request.method}' is not supported for this path.",
            )
        elif status_code >= 500:
            code, message = (
                "InternalServerError",
                "The simulator failed on this request.",
            )
        else:
            code, message = "BadRequest", self._reason
        self.error_code = code
        body = {"error": {"code": code, "message": message}}
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Log handler failures with method and path only."""
        if isinstance(value, tornado.web.HTTPError):
            return
        logger.error(
            "%s %s failed",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb),
        )

    def on_finish(self) -> None:
        """Record the request in the request log and the server log."""
        if not self.record_request:
            return
        # A reset request got no status at all.
        status = None if self.fault == "reset" else self.get_status()
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": self.request.method,
            "path": self.request.path,
            "query": self.request.query,
            "api_version": self.query_value("api-version"),
            "status": status,
            "principal_id": self.principal_id,
            "host": self.host_label,
            "error_code": self.error_code,
            "inner_error_code": self.inner_error_code,
            "fault": self.fault,
        }
        self.sim.request_log.record(entry)
        logger.info(
            "%s %s %s -> %s principal=%s code=%s",
            self.host_label,
            self.request.method,
            self.request.path,
            status,
            self.principal_id,
            self.error_code,
        )
