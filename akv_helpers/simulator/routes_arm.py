"""The ARM endpoint: authentication, api-version checks and route dispatch."""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from . import routes_arm_authorization as authorization
from . import routes_arm_keyvault as keyvault
from . import routes_arm_msi as msi
from .armcore import API_VERSIONS, ArmError, ArmRequest
from .base import SimulatorHandler
from .tokens import ARM_AUDIENCE

logger = logging.getLogger(__name__)

Json = dict[str, Any]
RouteFunction = Callable[[ArmRequest], tuple[int, Any]]

_SUB = ("subscriptions", "{subscription}")
_GROUP = (*_SUB, "resourcegroups", "{group}")
_MSI = ("providers", "microsoft.managedidentity", "userassignedidentities")
_KV = ("providers", "microsoft.keyvault", "vaults")

# (method, path pattern, namespace for the api-version check, route function)
_ROUTES: tuple[tuple[str, tuple[str, ...], str, RouteFunction], ...] = (
    ("GET", (*_SUB, *_MSI), "microsoft.managedidentity", msi.list_by_subscription),
    ("GET", (*_GROUP, *_MSI), "microsoft.managedidentity", msi.list_by_resource_group),
    ("GET", (*_GROUP, *_MSI, "{name}"), "microsoft.managedidentity", msi.get_identity),
    ("GET", (*_SUB, *_KV), "microsoft.keyvault", keyvault.list_by_subscription),
    ("GET", (*_GROUP, *_KV), "microsoft.keyvault", keyvault.list_by_resource_group),
    ("GET", (*_GROUP, *_KV, "{vault}"), "microsoft.keyvault", keyvault.get_vault),
    (
        "GET",
        (*_GROUP, *_KV, "{vault}", "secrets"),
        "microsoft.keyvault",
        keyvault.list_secrets,
    ),
    (
        "GET",
        (*_GROUP, *_KV, "{vault}", "secrets", "{name}"),
        "microsoft.keyvault",
        keyvault.get_secret,
    ),
)

_AUTHORIZATION_ROUTES: dict[tuple[str, str, bool], RouteFunction] = {
    ("GET", "roleassignments", False): authorization.list_assignments,
    ("GET", "roleassignments", True): authorization.get_assignment,
    ("PUT", "roleassignments", True): authorization.create_assignment,
    ("DELETE", "roleassignments", True): authorization.delete_assignment,
    ("GET", "roledefinitions", False): authorization.list_definitions,
    ("GET", "roledefinitions", True): authorization.get_definition,
}


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if expected.startswith("{"):
            params[expected[1:-1]] = actual
        elif expected != actual.lower():
            return None
    return params


def resolve(
    method: str, segments: list[str]
) -> tuple[RouteFunction, str, dict[str, str]]:
    """Find the route for a path, raising ArmError 404/405 when there is none."""
    lowered = [s.lower() for s in segments]
    for index in range(len(lowered) - 2, -1, -1):
        if (
            lowered[index] == "providers"
            and lowered[index + 1] == "microsoft.authorization"
        ):
            rest = segments[index + 2 :]
            scope = "/" + "/".join(segments[:index]) if index else ""
            if not rest or len(rest) > 2:
                break
            kind = rest[0].lower()
            key = (method, kind, len(rest) == 2)
            function = _AUTHORIZATION_ROUTES.get(key)
            if function is None:
                if kind in ("roleassignments", "roledefinitions"):
                    raise ArmError(
                        405,
                        "MethodNotAllowed",
                        f"The method '{method}' is not allowed here.",
                    )
                raise _invalid_type("Microsoft.Authorization", rest[0])
            params = {"scope": scope}
            if len(rest) == 2:
                params["name"] = rest[1]
            return function, "microsoft.authorization", params
    for route_method, pattern, namespace, function in _ROUTES:
        matched = _match(pattern, segments)
        if matched is None:
            continue
        if route_method != method:
            raise ArmError(
                405, "MethodNotAllowed", f"The method '{method}' is not allowed here."
            )
        return function, namespace, matched
    if "providers" in lowered:
        index = lowered.index("providers")
        namespace = segments[index + 1] if index + 1 < len(segments) else ""
        kind = segments[index + 2] if index + 2 < len(segments) else ""
        raise _invalid_type(namespace, kind)
    raise ArmError(
        404,
        "ResourceNotFound",
        f"The resource path '/{'/'.join(segments)}' was not found.",
    )


def _invalid_type(namespace: str, kind: str) -> ArmError:
    return ArmError(
        404,
        "InvalidResourceType",
        f"The resource type '{kind}' could not be found in the namespace "
        f"'{namespace}'.",
    )


class ArmHandler(SimulatorHandler):
    """Serve every ARM path on the management port."""

    async def get(self, *_: str) -> None:
        """Serve a GET request."""
        if not await self.apply_fault():
            self._serve("GET")

    async def put(self, *_: str) -> None:
        """Serve a PUT request."""
        if not await self.apply_fault():
            self._serve("PUT")

    async def delete(self, *_: str) -> None:
        """Serve a DELETE request."""
        if not await self.apply_fault():
            self._serve("DELETE")

    async def post(self, *_: str) -> None:
        """Serve a POST request."""
        if not await self.apply_fault():
            self._serve("POST")

    async def patch(self, *_: str) -> None:
        """Serve a PATCH request."""
        if not await self.apply_fault():
            self._serve("PATCH")

    def _serve(self, method: str) -> None:
        try:
            principal_id = self._authenticate()
            self.principal_id = principal_id
            path = urllib.parse.unquote(self.request.path).rstrip("/")
            segments = [s for s in path.split("/") if s]
            function, namespace, params = resolve(method, segments)
            self._check_api_version(namespace)
            request = ArmRequest(
                sim=self.sim,
                method=method,
                path=self.request.path,
                query=self._query(),
                body=self._body(),
                principal_id=principal_id,
                params=params,
            )
            status, body = function(request)
        except ArmError as error:
            self.send_error_body(
                error.status, error.code, error.message, headers=error.headers
            )
            return
        self.send_json(status, body)

    def _query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        for key, values in self.request.query_arguments.items():
            if values:
                query[key.lower()] = values[-1].decode("utf-8", errors="replace")
        return query

    def _body(self) -> Any:
        try:
            return self.json_body()
        except ValueError as error:
            raise ArmError(
                400, "InvalidRequestContent", "The request content is not valid JSON."
            ) from error

    def _check_api_version(self, namespace: str) -> None:
        supported = API_VERSIONS[namespace]
        version = self.query_value("api-version")
        if not version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all "
                "requests.",
            )
        if version != supported:
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are "
                f"'{supported}'.",
            )

    def _authenticate(self) -> str:
        header = self.request.headers.get("Authorization", "")
        challenge = {
            "WWW-Authenticate": (
                'Bearer authorization_uri="https://login.microsoftonline.com/'
                f'{self.sim.world.tenant_id}", error="invalid_token", '
                'error_description="The authentication failed."'
            )
        }
        if not header:
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                challenge,
            )
        match = re.fullmatch(r"Bearer\s+(\S+)", header.strip(), re.IGNORECASE)
        info = self.sim.tokens.lookup(match.group(1)) if match else None
        if info is None:
            raise ArmError(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                challenge,
            )
        if info.expired:
            expired = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(info.expires_on))
            now = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime())
            raise ArmError(
                401,
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expired}' is earlier than current "
                f"UTC time '{now}'.",
                challenge,
            )
        if self.token_fault():
            # Azure's answer when a token expires between two requests.
            raise ArmError(
                401,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
                challenge,
            )
        if info.audience != ARM_AUDIENCE:
            raise ArmError(
                401,
                "InvalidAuthenticationTokenAudience",
                "The access token has been obtained for wrong audience or resource "
                f"'{info.audience}'. It should exactly match with one of the allowed "
                "audiences 'https://management.azure.com/'.",
                challenge,
            )
        if info.tenant_id.lower() != self.sim.world.tenant_id.lower():
            raise _wrong_tenant(info.tenant_id, self.sim.world.tenant_id)
        return info.principal_id


def _wrong_tenant(token_tenant: str, subscription_tenant: str) -> ArmError:
    """Build ARM's 401 for a token issued by a tenant other than the subscription's."""
    # The header names the subscription's tenant, which is how clients such as the
    # Azure CLI find the tenant to sign in to.
    header = (
        f'Bearer authorization_uri="https://login.windows.net/{subscription_tenant}", '
        'error="invalid_token", error_description="The access token is from the '
        "wrong issuer. It must match the tenant associated with this subscription. "
        'Please use correct authority to get the token."'
    )
    return ArmError(
        401,
        "InvalidAuthenticationTokenTenant",
        f"The access token is from the wrong issuer 'https://sts.windows.net/"
        f"{token_tenant}/'. It must match the tenant 'https://sts.windows.net/"
        f"{subscription_tenant}/' associated with this subscription. Please use the "
        f"authority (URL) 'https://login.windows.net/{subscription_tenant}' to get "
        "the token. Note, if the subscription is transferred to another tenant there "
        "is no impact to the services, but information about new tenant could take "
        "time to propagate (up to an hour). If you just transferred your subscription "
        "and see this error message, please try back later.",
        {"WWW-Authenticate": header},
    )
