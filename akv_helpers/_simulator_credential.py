"""A token credential that requests a principal's tokens from the simulator."""

from __future__ import annotations

import threading
import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import ClientAuthenticationError

from akv_helpers._simulator_endpoint import SimulatorEndpoint
from akv_helpers.errors import SimulatorError

__all__ = ["TOKEN_REFRESH_MARGIN_SECONDS", "SimulatorCredential"]


# A cached token is renewed this many seconds before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 300


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
