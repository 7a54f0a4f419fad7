"""Key Vault secrets data plane, one HTTPS port per vault.

Each vault has its own port so that secret IDs parse as
``https://<host>/secrets/<name>/<version>`` with the host naming the vault.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from ..roles import GET_SECRET_DATA_ACTION, READ_METADATA_DATA_ACTION
from . import rbac
from .armcore import decode_skip_token, encode_skip_token
from .base import SimulatorHandler
from .state import World
from .tokens import VAULT_AUDIENCE, TokenInfo

Json = dict[str, Any]

API_VERSIONS = (
    "2026-04-01",
    "2025-07-01",
    "7.0",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    "7.5",
    "7.6",
)
_MAX_RESULTS = 25
_NAME = r"[0-9A-Za-z-]{1,127}"
_ROUTES = (
    (re.compile(r"/secrets/?"), "list"),
    (re.compile(rf"/secrets/({_NAME})/versions/?"), "versions"),
    (re.compile(rf"/secrets/({_NAME})/?"), "latest"),
    (re.compile(rf"/secrets/({_NAME})/([0-9A-Fa-f]{{32}})/?"), "version"),
)


class _Reject(Exception):
    def __init__(self, status: int, code: str, message: str, inner: str | None = None):
        super().__init__(code)
        self.status, self.code, self.message, self.inner = status, code, message, inner


class VaultHandler(SimulatorHandler):
    """Serve the secrets API of one vault."""

    vault_name: str

    def initialize(
        self, sim: Any, host_label: str = "arm", vault_name: str = ""
    ) -> None:
        """Attach the simulator and the name of the vault this port serves."""
        super().initialize(sim, host_label)
        self.vault_name = vault_name

    async def get(self, *_: str) -> None:
        """Serve a GET request, turning rejections into Key Vault error bodies."""
        if await self.apply_fault():
            return
        try:
            self._serve()
        except _Reject as reject:
            headers = self._challenge() if reject.status == 401 else None
            self.send_error_body(
                reject.status,
                reject.code,
                reject.message,
                inner_code=reject.inner,
                headers=headers,
            )

    def _challenge(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": (
                'Bearer authorization="https://login.microsoftonline.com/'
                f'{self.sim.world.tenant_id}", resource="{VAULT_AUDIENCE}"'
            )
        }

    def _serve(self) -> None:
        info = self._authenticate()
        self.principal_id = info.principal_id

        version = self.query_value("api-version")
        if version not in API_VERSIONS:
            raise _Reject(
                400,
                "BadParameter",
                f"The specified version ({version}) is not recognized. Consider using "
                f"the latest supported version ({API_VERSIONS[0]}).",
            )
        vault = self.sim.world.vault(self.vault_name)
        if vault is None:
            raise _Reject(
                404, "VaultNotFound", f"The vault '{self.vault_name}' was not found."
            )

        path = urllib.parse.unquote(self.request.path)
        match, kind = None, ""
        for pattern, route_kind in _ROUTES:
            match = pattern.fullmatch(path)
            if match:
                kind = route_kind
                break
        if match is None:
            raise _Reject(
                404, "NotFound", f"The path '{path}' is not served by Key Vault."
            )
        self._check_network(vault, info)

        if kind == "list":
            self._authorize(vault, info, READ_METADATA_DATA_ACTION, "list", None)
            self.send_json(200, self._list_secrets(vault))
            return
        name = match.group(1)
        if kind == "versions":
            self._authorize(vault, info, READ_METADATA_DATA_ACTION, "list", name)
            secret = self._secret_or_404(vault, name)
            self.send_json(200, self._list_versions(vault, secret))
            return

        self._authorize(vault, info, GET_SECRET_DATA_ACTION, "get", name)
        secret = self._secret_or_404(vault, name)
        if kind == "latest":
            entry = World.latest_version(secret)
        else:
            requested = match.group(2).lower()
            found = [v for v in secret["versions"] if v["version"].lower() == requested]
            if not found:
                raise _Reject(
                    404, "SecretNotFound", _not_found_message(f"{name}/{requested}")
                )
            entry = found[0]
        if not entry["enabled"]:
            raise _Reject(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                "SecretDisabled",
            )
        body = self._bundle(secret, entry)
        body["value"] = entry["value"]
        self.send_json(200, body)

    def _authenticate(self) -> TokenInfo:
        header = self.request.headers.get("Authorization", "")
        if not header:
            raise _Reject(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
            )
        match = re.fullmatch(r"Bearer\s+(\S+)", header.strip(), re.IGNORECASE)
        info = self.sim.tokens.lookup(match.group(1)) if match else None
        if info is None:
            raise _Reject(401, "Unauthorized", "The access token is not valid.")
        if info.audience != VAULT_AUDIENCE:
            raise _Reject(
                401,
                "Unauthorized",
                f"AKV10022: Invalid audience. Expected {VAULT_AUDIENCE}, found: "
                f"{info.audience}.",
            )
        if info.expired:
            # NOTE: Key Vault's own AKV code for an expired token is not reproduced.
            raise _Reject(401, "Unauthorized", "The access token has expired.")
        if self.token_fault():
            raise _Reject(401, "Unauthorized", "The access token has expired.")
        vault_tenant = self.sim.world.tenant_id
        if info.tenant_id.lower() != vault_tenant.lower():
            raise _Reject(
                401,
                "Unauthorized",
                "AKV10032: Invalid issuer. Expected one of "
                f"https://sts.windows.net/{vault_tenant}/, "
                f"https://login.microsoftonline.com/{vault_tenant}/v2.0, found "
                f"https://sts.windows.net/{info.tenant_id}/.",
            )
        return info

    def _caller(self, info: TokenInfo) -> str:
        principal = self.sim.world.principal(info.principal_id) or {}
        app_id = principal.get("app_id", info.principal_id)
        return (
            f"appid={app_id};oid={info.principal_id};"
            f"iss=https://sts.windows.net/{self.sim.world.tenant_id}/"
        )

    def _vault_line(self, vault: Json) -> str:
        return f"{vault['name']};location={vault['location']}"

    def _check_network(self, vault: Json, info: TokenInfo) -> None:
        if vault["public_network_access"].lower() == "disabled":
            raise _Reject(
                403,
                "Forbidden",
                "Public network access is disabled and request is not from a trusted "
                "service nor via an approved private link.\r\n"
                f"Caller: {self._caller(info)}\r\nVault: {self._vault_line(vault)}",
                "ForbiddenByConnection",
            )
        acls = vault["network_acls"]
        if acls.get("defaultAction", "Allow").lower() == "deny":
            allowed = {rule["value"].split("/")[0] for rule in acls.get("ipRules", [])}
            if self.request.remote_ip not in allowed:
                raise _Reject(
                    403,
                    "Forbidden",
                    "Client address is not authorized and caller is not a trusted "
                    f"service.\r\nClient address: {self.request.remote_ip}\r\n"
                    f"Caller: {self._caller(info)}\r\nVault: {self._vault_line(vault)}",
                    "ForbiddenByFirewall",
                )

    def _authorize(
        self,
        vault: Json,
        info: TokenInfo,
        action: str,
        permission: str,
        name: str | None,
    ) -> None:
        world = self.sim.world
        scope = (
            f"/subscriptions/{world.subscription_id}/resourceGroups/{vault['resource_group']}"
            f"/providers/Microsoft.KeyVault/vaults/{vault['name']}"
        )
        if name is not None:
            scope += f"/secrets/{name}"
        if not vault["enable_rbac_authorization"]:
            self._check_access_policy(vault, info, permission)
            return
        allowed = rbac.data_plane_allows(
            world.role_assignments,
            info.principal_id,
            action,
            scope,
            propagation_seconds=float(world.config.get("propagation_seconds", 0.0)),
        )
        if allowed:
            return
        raise _Reject(
            403,
            "Forbidden",
            "Caller is not authorized to perform action on resource.\r\n"
            "If role assignments, deny assignments or role definitions were changed "
            "recently, please observe propagation time.\r\n"
            f"Caller: {self._caller(info)}\r\n"
            f"Action: '{action}'\r\n"
            f"Resource: '{scope.lower()}'\r\n"
            "Assignment: (not found)\r\n"
            "DenyAssignmentId: null\r\n"
            "DecisionReason: null \r\n"
            f"Vault: {self._vault_line(vault)}\r\n",
            "ForbiddenByRbac",
        )

    def _check_access_policy(
        self, vault: Json, info: TokenInfo, permission: str
    ) -> None:
        for policy in vault["access_policies"]:
            if policy["objectId"].lower() != info.principal_id.lower():
                continue
            granted = [
                p.lower() for p in policy.get("permissions", {}).get("secrets", [])
            ]
            if permission in granted or "all" in granted:
                return
        raise _Reject(
            403,
            "Forbidden",
            f"The user, group or application '{self._caller(info)}' does not have "
            f"secrets {permission} permission on key vault "
            f"'{self._vault_line(vault)}'. "
            "For help resolving this issue, please see "
            "https://go.microsoft.com/fwlink/?linkid=2125287",
            "AccessDenied",
        )

    def _secret_or_404(self, vault: Json, name: str) -> Json:
        secret = World.secret(vault, name)
        if secret is None:
            raise _Reject(404, "SecretNotFound", _not_found_message(name))
        return secret

    def _base_url(self) -> str:
        return self.sim.vault_uri(self.vault_name).rstrip("/")

    def _bundle(self, secret: Json, entry: Json, *, versioned: bool = True) -> Json:
        vault = self.sim.world.vault(self.vault_name) or {}
        retention = int(vault.get("soft_delete_retention_days", 90))
        attributes: Json = {
            "enabled": entry["enabled"],
            "created": entry["created"],
            "updated": entry["updated"],
            "recoveryLevel": "Recoverable+Purgeable"
            if retention == 90
            else ("CustomizedRecoverable+Purgeable"),
            "recoverableDays": retention,
        }
        for key in ("nbf", "exp"):
            if entry.get(key) is not None:
                attributes[key] = entry[key]
        identifier = f"{self._base_url()}/secrets/{secret['name']}"
        if versioned:
            identifier += f"/{entry['version']}"
        body: Json = {
            "id": identifier,
            "attributes": attributes,
            "tags": dict(secret["tags"]),
        }
        if secret.get("content_type"):
            body["contentType"] = secret["content_type"]
        return body

    def _page(self, items: list[Json]) -> Json:
        requested = self.query_value("maxresults")
        size = _MAX_RESULTS
        if requested and requested.isdigit():
            size = max(1, min(int(requested), _MAX_RESULTS))
        size = min(size, max(1, int(self.sim.world.config.get("page_size", 100))))
        start = decode_skip_token(self.query_value("$skiptoken"))
        body: Json = {"value": items[start : start + size], "nextLink": None}
        if start + size < len(items):
            query = {
                "api-version": self.query_value("api-version") or API_VERSIONS[0],
                "$skiptoken": encode_skip_token(start + size),
                "maxresults": str(size),
            }
            body["nextLink"] = (
                f"{self._base_url()}{self.request.path}?"
                + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
            )
        return body

    def _list_secrets(self, vault: Json) -> Json:
        ordered = sorted(vault["secrets"], key=lambda s: s["name"].lower())
        items = [
            self._bundle(s, World.latest_version(s), versioned=False) for s in ordered
        ]
        return self._page(items)

    def _list_versions(self, vault: Json, secret: Json) -> Json:
        ordered = sorted(secret["versions"], key=lambda v: v["version"])
        return self._page([self._bundle(secret, v) for v in ordered])


def _not_found_message(name: str) -> str:
    return (
        f"A secret with (name/id) {name} was not found in this key vault. If you "
        "recently deleted this secret you may be able to recover it using the correct "
        "recovery command. For help resolving this issue, please see "
        "https://go.microsoft.com/fwlink/?linkid=2125182"
    )
