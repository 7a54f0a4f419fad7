"""Admin API under ``/_simulator/``: tokens, request log, reset, state, faults."""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from .base import SimulatorHandler
from .faults import KINDS, ROUTE_NAMES, FaultError
from .scenarios import UnknownScenarioError, apply_scenarios, describe
from .tokens import SCOPE_AUDIENCES, TOKEN_LIFETIME_SECONDS

logger = logging.getLogger(__name__)

_CONFIG_KEYS = {
    "propagation_seconds": float,
    "page_size": int,
    "replication_attempts_remaining": int,
}


class AdminHandler(SimulatorHandler):
    """Serve ``/_simulator/<action>``; every action but health needs the admin key."""

    def prepare(self) -> None:
        """Keep admin calls out of the request log."""
        self.record_request = False
        super().prepare()

    def _authorized(self) -> bool:
        key = self.request.headers.get("X-Simulator-Key", "")
        if hmac.compare_digest(key.encode(), self.sim.admin_key.encode()):
            return True
        self.send_error_body(
            401, "Unauthorized", "The X-Simulator-Key header is missing or wrong."
        )
        return False

    def _body(self) -> dict[str, Any] | None:
        try:
            body = self.json_body()
        except ValueError:
            body = None
        if body is None:
            return {}
        if not isinstance(body, dict):
            self.send_error_body(
                400, "BadRequest", "The request body must be a JSON object."
            )
            return None
        return body

    async def get(self, action: str) -> None:
        """Serve health, requests, state, principals, config and scenarios."""
        if action == "health":
            self.send_json(200, {"status": "ok", "pid": os.getpid()})
            return
        if not self._authorized():
            return
        world = self.sim.world
        if action == "requests":
            self.send_json(200, {"value": self.sim.request_log.entries()})
        elif action == "state":
            self.send_json(200, world.redacted())
        elif action == "principals":
            principals = [
                {"id": object_id, **entry}
                for object_id, entry in world.data["principals"].items()
            ]
            self.send_json(200, {"value": principals})
        elif action == "config":
            self.send_json(200, dict(world.config))
        elif action == "scenarios":
            self.send_json(200, {"value": describe()})
        elif action == "faults":
            self.send_json(200, self._faults())
        else:
            self.send_error_body(404, "NotFound", f"Unknown admin action '{action}'.")

    async def delete(self, action: str) -> None:
        """Clear the request log or the fault rules."""
        if not self._authorized():
            return
        if action == "requests":
            self.sim.request_log.clear()
            self.send_json(204, None)
        elif action == "faults":
            self.sim.faults.clear()
            logger.info("cleared the fault rules")
            self.send_json(204, None)
        else:
            self.send_error_body(404, "NotFound", f"Unknown admin action '{action}'.")

    async def post(self, action: str) -> None:
        """Serve token, reset, config, scenario and faults."""
        if not self._authorized():
            return
        body = self._body()
        if body is None:
            return
        if action == "token":
            self._issue_token(body)
        elif action == "reset":
            self.sim.world.reseed()
            self.sim.faults.clear()
            self.sim.ensure_vault_ports()
            logger.info("reset the demo tenant")
            self.send_json(200, {"status": "reset"})
        elif action == "config":
            self._configure(body)
        elif action == "scenario":
            self._apply_scenario(body)
        elif action == "faults":
            self._add_fault(body)
        else:
            self.send_error_body(404, "NotFound", f"Unknown admin action '{action}'.")

    def _issue_token(self, body: dict[str, Any]) -> None:
        world = self.sim.world
        principal_id = str(body.get("principal_id") or "")
        scope = str(body.get("scope") or "")
        tenant_id = str(body.get("tenant_id") or world.tenant_id)
        principal = world.principal(principal_id)
        if principal is None:
            self.send_error_body(
                400, "UnknownPrincipal", f"The principal '{principal_id}' is not known."
            )
            return

        audience = SCOPE_AUDIENCES.get(scope)
        if audience is None:
            allowed = ", ".join(sorted(SCOPE_AUDIENCES))
            self.send_error_body(
                400, "InvalidScope", f"The scope '{scope}' is not one of: {allowed}."
            )
            return

        # A principal signed in to another tenant (the operator-other-tenant
        # scenario) gets that tenant's tokens whatever tenant the caller asks for.
        issuer_tenant = principal.get("token_tenant_id") or world.tenant_id
        if not principal.get("token_tenant_id") and (
            tenant_id.lower() != world.tenant_id.lower()
        ):
            self.send_error_body(
                400,
                "UnknownTenant",
                f"The tenant '{tenant_id}' is not the simulated tenant.",
            )
            return

        lifetime = float(body.get("expires_in", TOKEN_LIFETIME_SECONDS))
        token, expires_on = self.sim.tokens.issue(
            principal["id"], audience, issuer_tenant, lifetime
        )
        logger.info(
            "issued a token for %s (audience %s, tenant %s)",
            principal["id"],
            audience,
            issuer_tenant,
        )
        self.send_json(200, {"access_token": token, "expires_on": expires_on})

    def _configure(self, body: dict[str, Any]) -> None:
        config = self.sim.world.config
        for key, value in body.items():
            converter = _CONFIG_KEYS.get(key)
            if converter is None:
                known = ", ".join(sorted(_CONFIG_KEYS))
                self.send_error_body(
                    400,
                    "BadRequest",
                    f"Unknown setting '{key}'; known settings: {known}.",
                )
                return
            try:
                converted = converter(value)
            except (TypeError, ValueError):
                self.send_error_body(
                    400,
                    "BadRequest",
                    f"The setting '{key}' must be a number, not {value!r}.",
                )
                return
            if converted < 0 or (key == "page_size" and converted < 1):
                self.send_error_body(
                    400,
                    "BadRequest",
                    f"The setting '{key}' is out of range: {value!r}.",
                )
                return
            config[key] = converted
        self.sim.world.save()
        logger.info("configuration is now %s", config)
        self.send_json(200, dict(config))

    def _apply_scenario(self, body: dict[str, Any]) -> None:
        names = body.get("names")
        if names is None:
            names = [body.get("name")]
        if not isinstance(names, list) or not names:
            self.send_error_body(
                400,
                "BadRequest",
                'The body must be {"name": "<scenario>"} or {"names": [...]}.',
            )
            return
        try:
            applied = apply_scenarios(self.sim.world, [str(n or "") for n in names])
        except UnknownScenarioError as error:
            known = ", ".join(sorted(describe()))
            self.send_error_body(
                400,
                "BadRequest",
                f"Unknown scenario '{error.args[0]}'; known scenarios: {known}.",
            )
            return
        self.sim.world.save()
        self.sim.ensure_vault_ports()
        logger.info("applied scenarios %s", ", ".join(applied))
        self.send_json(
            200,
            {
                "status": "applied",
                "name": applied[0],
                "names": applied,
                "active": list(self.sim.world.active_scenarios),
            },
        )

    def _faults(self) -> dict[str, Any]:
        return {
            "value": [rule.describe() for rule in self.sim.faults.rules()],
            "kinds": dict(KINDS),
            "routes": {
                name: f"{method} {regex} ({host})"
                for name, (method, regex, host) in ROUTE_NAMES.items()
            },
        }

    def _add_fault(self, body: dict[str, Any]) -> None:
        try:
            rule = self.sim.faults.add(body)
        except FaultError as error:
            self.send_error_body(400, "BadRequest", str(error))
            return
        logger.info("added fault rule %d: %s on %s", rule.id, rule.kind, rule.route)
        self.send_json(201, rule.describe())
