"""Fault injection: rules that make chosen requests fail the way Azure can fail.

A rule names a route, either ``"<METHOD> <path regex>"`` or one of `ROUTE_NAMES`,
and a kind from `KINDS`. It applies to the next ``count`` matching requests, or to
each matching request with probability ``fraction``, drawn from a random
generator seeded by the rule's ``seed`` so that runs are repeatable. Rules live
in memory only and a reset clears them.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KINDS",
    "ROUTE_NAMES",
    "FaultError",
    "FaultRule",
    "FaultStore",
    "parse_rule",
]

_SUB = r"/subscriptions/[^/]+"
_GROUP = r"/subscriptions/[^/]+/resourcegroups/[^/]+"
_AUTH = r"/providers/microsoft\.authorization/roleassignments"
_VAULTS = r"/providers/microsoft\.keyvault/vaults"

# name -> (method, path regex matched case-insensitively in full, host kind)
ROUTE_NAMES: dict[str, tuple[str, str, str]] = {
    "identities.list": (
        "GET",
        rf"{_SUB}(/resourcegroups/[^/]+)?/providers/"
        r"microsoft\.managedidentity/userassignedidentities/?",
        "arm",
    ),
    "identities.get": (
        "GET",
        rf"{_GROUP}/providers/microsoft\.managedidentity/userassignedidentities/[^/]+/?",
        "arm",
    ),
    "vaults.list": ("GET", rf"{_SUB}(/resourcegroups/[^/]+)?{_VAULTS}/?", "arm"),
    "vaults.get": ("GET", rf"{_GROUP}{_VAULTS}/[^/]+/?", "arm"),
    "secrets.get": ("GET", rf"{_GROUP}{_VAULTS}/[^/]+/secrets/[^/]+/?", "arm"),
    "role_assignments.put": ("PUT", rf".*{_AUTH}/[^/]+/?", "arm"),
    "role_assignments.get": ("GET", rf".*{_AUTH}/[^/]+/?", "arm"),
    "role_assignments.list": ("GET", rf".*{_AUTH}/?", "arm"),
    "role_assignments.delete": ("DELETE", rf".*{_AUTH}/[^/]+/?", "arm"),
    "data.get_secret": ("GET", r"/secrets/[^/]+(/[0-9a-f]{32})?/?", "vault"),
    "data.list_versions": ("GET", r"/secrets/[^/]+/versions/?", "vault"),
}

# Kinds of fault and what each does to a matching request.
KINDS: dict[str, str] = {
    "429": "answer 429 TooManyRequests (Key Vault: Throttled) with Retry-After",
    "500": "answer 500 InternalServerError",
    "503": "answer 503 ServiceUnavailable",
    "status": "answer the rule's status and error code",
    "reset": "close the connection without a response",
    "slow": "wait `delay` seconds, then serve the request",
    "expired-token": "answer 401 as for an expired token, to a request with a "
    "valid token",
    "drop-after-commit": "serve a PUT or DELETE, then close the connection "
    "instead of sending the response",
}
_WRITE_METHODS = ("PUT", "DELETE")
_METHODS = ("GET", "PUT", "DELETE", "POST", "PATCH")


class FaultError(ValueError):
    """An invalid fault rule. The message names the field and the reason."""


@dataclass
class FaultRule:
    """One fault rule and how often it has matched and applied.

    Attributes
    ----------
    id
        Number of the rule, in the order added.
    route
        The route as given: a name or ``"<METHOD> <path regex>"``.
    method, pattern, host
        What the route matches; ``host`` is ``"arm"``, ``"vault"`` or ``"any"``.
    kind
        One of `KINDS`.
    count
        Applications left, or ``None`` for no limit (with ``fraction``).
    fraction
        Probability of applying to a matching request, or ``None`` for always.
    seed
        Seed of the rule's random generator.
    retry_after
        ``Retry-After`` seconds sent with a status fault, or ``None``.
    delay
        Wait of a ``slow`` fault, in seconds.
    status, code
        Status and error code of a ``status`` fault.
    matched, applied
        Matching requests seen, and faults applied.
    """

    id: int
    route: str
    method: str
    pattern: re.Pattern[str]
    host: str
    kind: str
    count: int | None = None
    fraction: float | None = None
    seed: int = 0
    retry_after: float | None = None
    delay: float = 0.0
    status: int | None = None
    code: str | None = None
    matched: int = 0
    applied: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        # A seeded generator keeps a fraction fault repeatable; nothing secret.
        self._random = random.Random(self.seed)  # noqa: S311

    def matches(self, method: str, path: str, host: str) -> bool:
        """Tell whether the rule's route covers a request."""
        if self.host != "any" and self.host != host:
            return False
        if self.method != "*" and self.method != method.upper():
            return False
        return self.pattern.fullmatch(path) is not None

    def take(self) -> bool:
        """Decide whether to apply the fault to one matching request, and count it."""
        self.matched += 1
        if self.count is not None and self.count <= 0:
            return False
        if self.fraction is not None and self._random.random() >= self.fraction:
            return False
        if self.count is not None:
            self.count -= 1
        self.applied += 1
        return True

    def describe(self) -> dict[str, Any]:
        """Return the rule as JSON for ``GET /_simulator/faults``."""
        return {
            "id": self.id,
            "route": self.route,
            "method": self.method,
            "path": self.pattern.pattern,
            "host": self.host,
            "kind": self.kind,
            "count": self.count,
            "fraction": self.fraction,
            "seed": self.seed,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "status": self.status,
            "code": self.code,
            "matched": self.matched,
            "applied": self.applied,
        }


def _number(body: dict[str, Any], name: str, kind: type[float] | type[int]) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FaultError(f"'{name}' must be a number, not {value!r}.")
    if value < 0:
        raise FaultError(f"'{name}' must not be negative: {value!r}.")
    if kind is int and value != int(value):
        raise FaultError(f"'{name}' must be a whole number, not {value!r}.")
    return kind(value)


def _route(route: Any) -> tuple[str, re.Pattern[str], str]:
    if not isinstance(route, str) or not route.strip():
        raise FaultError(
            "'route' must be a route name or '<METHOD> <path regex>'; known names: "
            + ", ".join(sorted(ROUTE_NAMES))
            + "."
        )
    text = route.strip()
    if text in ROUTE_NAMES:
        method, regex, host = ROUTE_NAMES[text]
        return method, re.compile(regex, re.IGNORECASE), host
    method, _, regex = text.partition(" ")
    method = method.upper()
    if method not in (*_METHODS, "*") or not regex.strip():
        raise FaultError(
            f"The route {route!r} is neither a known name ("
            + ", ".join(sorted(ROUTE_NAMES))
            + ") nor '<METHOD> <path regex>' with METHOD one of "
            + ", ".join(_METHODS)
            + " or *."
        )
    try:
        pattern = re.compile(regex.strip(), re.IGNORECASE)
    except re.error as error:
        raise FaultError(
            f"The path regex {regex.strip()!r} is invalid: {error}."
        ) from None
    return method, pattern, "any"


def parse_rule(body: dict[str, Any], rule_id: int) -> FaultRule:
    """Build a rule from the JSON body of ``POST /_simulator/faults``.

    Raises
    ------
    FaultError
        If a field is missing or invalid.
    """
    method, pattern, host = _route(body.get("route"))
    kind = str(body.get("kind") or "")
    if kind not in KINDS:
        raise FaultError(
            f"Unknown fault kind {kind!r}; known kinds: {', '.join(KINDS)}."
        )
    if kind == "drop-after-commit" and method not in _WRITE_METHODS:
        raise FaultError(
            "A drop-after-commit fault needs a PUT or DELETE route, not "
            f"{body.get('route')!r}."
        )
    count = _number(body, "count", int)
    fraction = _number(body, "fraction", float)
    if fraction is not None and fraction > 1:
        raise FaultError(f"'fraction' must be between 0 and 1, not {fraction!r}.")
    if count is None and fraction is None:
        raise FaultError("A fault needs 'count' (N requests) or 'fraction' (0..1).")
    status = _number(body, "status", int)
    code = body.get("code")
    if kind == "status":
        if status is None or not 400 <= status <= 599:
            raise FaultError("A status fault needs 'status' between 400 and 599.")
        if not isinstance(code, str) or not code:
            raise FaultError("A status fault needs 'code', the Azure error code.")
    retry_after = _number(body, "retry_after", float)
    if kind == "429" and retry_after is None:
        retry_after = 1.0
    return FaultRule(
        id=rule_id,
        route=str(body["route"]).strip(),
        method=method,
        pattern=pattern,
        host=host,
        kind=kind,
        count=count,
        fraction=fraction,
        seed=_number(body, "seed", int) or 0,
        retry_after=retry_after,
        delay=_number(body, "delay", float) or 0.0,
        status=status,
        code=str(code) if code else None,
    )


class FaultStore:
    """The active fault rules, tried in the order added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, body: dict[str, Any]) -> FaultRule:
        """Add a rule from its JSON body; raise `FaultError` if it is invalid."""
        rule = parse_rule(body, next(self._ids))
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        """Return the rules in the order added."""
        return list(self._rules)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def take(
        self, method: str, path: str, host: str, *, token_phase: bool = False
    ) -> FaultRule | None:
        """Return the first rule that applies to a request now, counting it.

        ``expired-token`` rules are tried only with ``token_phase``, which the
        handlers pass once a request's token has been found valid; every other
        kind is tried without it.
        """
        for rule in self._rules:
            if (rule.kind == "expired-token") != token_phase:
                continue
            if rule.matches(method, path, host) and rule.take():
                return rule
        return None
