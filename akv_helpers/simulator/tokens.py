"""Opaque bearer tokens issued by the admin API and held only in memory."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

ARM_AUDIENCE = "https://management.azure.com"
VAULT_AUDIENCE = "https://vault.azure.net"
SCOPE_AUDIENCES = {
    "https://management.azure.com/.default": ARM_AUDIENCE,
    "https://management.core.windows.net/.default": ARM_AUDIENCE,
    "https://vault.azure.net/.default": VAULT_AUDIENCE,
}
TOKEN_LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class TokenInfo:
    """The principal, audience, tenant and expiry (Unix time) of an issued token."""

    principal_id: str
    audience: str
    tenant_id: str
    expires_on: int

    @property
    def expired(self) -> bool:
        """True once the expiry time has passed."""
        return time.time() >= self.expires_on


class TokenStore:
    """Map tokens to what they stand for; only a SHA-256 digest of each is kept."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenInfo] = {}

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def issue(
        self,
        principal_id: str,
        audience: str,
        tenant_id: str,
        lifetime: float = TOKEN_LIFETIME_SECONDS,
    ) -> tuple[str, int]:
        """Create a token and return it with its expiry (Unix time)."""
        token = secrets.token_urlsafe(32)
        expires_on = int(time.time() + lifetime)
        self._tokens[self._digest(token)] = TokenInfo(
            principal_id, audience, tenant_id, expires_on
        )
        self._forget_stale()
        return token, expires_on

    def lookup(self, token: str) -> TokenInfo | None:
        """Return what a token stands for, or None for a token never issued."""
        return self._tokens.get(self._digest(token))

    def _forget_stale(self) -> None:
        # Expired tokens stay known for a day, so that a request with one gets
        # "expired" rather than "invalid".
        cutoff = time.time() - 86_400
        stale = [key for key, info in self._tokens.items() if info.expires_on < cutoff]
        for key in stale:
            del self._tokens[key]
