"""Azure Resource Manager scopes of Key Vault secrets, and role assignment names."""

from __future__ import annotations

import uuid

from akv_helpers._scope_building import (
    _KEYVAULT_PROVIDER,
    SECRET_SCOPE_SHAPE,
    SecretScope,
    build_secret_scope,
    build_secret_scope_for_identifier,
    build_vault_scope,
)
from akv_helpers._text_checks import (
    _invisible_problem,
    _non_ascii_problem,
    _quote,
    _require_text,
    _retype_fix,
    _use_instead,
)
from akv_helpers.errors import (
    InvalidInputError,
    InvalidScopeError,
    InvalidSecretIdentifierError,
    displayable,
)
from akv_helpers.guids import validate_guid
from akv_helpers.names import (
    _VERSION,
    validate_resource_group_name,
    validate_secret_name,
    validate_vault_name,
)
from akv_helpers.secret_ids import parse_secret_identifier

__all__ = [
    "ROLE_ASSIGNMENT_NAMESPACE",
    "SECRET_SCOPE_SHAPE",
    "SecretScope",
    "build_secret_scope",
    "build_secret_scope_for_identifier",
    "build_vault_scope",
    "parse_secret_scope",
    "role_assignment_name",
    "scope_contains",
]


# Namespace of the kit's deterministic role assignment names (UUIDv5). Changing it
# would make the kit create a second assignment for a grant it already made.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("b18ff0b8-ed8b-4b36-b671-c09945cebe1c")


def _scope_error(shown: str, reason: str, fix: str) -> InvalidScopeError:
    return InvalidScopeError(
        f"The scope '{shown}' {reason}. Expected {SECRET_SCOPE_SHAPE}.",
        fix,
        value=shown,
        expected=SECRET_SCOPE_SHAPE,
    )


def _reject_data_plane_url(raw: str, shown: str) -> None:
    try:
        identifier = parse_secret_identifier(raw)
    except InvalidSecretIdentifierError:
        target = "a URL"
        vault, name = "<vault>", "<name>"
    else:
        target = "the data-plane URL of a secret"
        vault, name = identifier.vault_name, identifier.name
    shape = SECRET_SCOPE_SHAPE.replace("<vault>", vault).replace("<name>", name)
    fix = (
        f"Use '{shape}'. Take the resource group from Azure (the vault's resource ID), "
        "because the URL does not contain it."
    )
    raise _scope_error(shown, f"is {target}, not an Azure Resource Manager scope", fix)


_FIXED_SEGMENTS = {
    0: "subscriptions",
    2: "resourceGroups",
    4: "providers",
    5: _KEYVAULT_PROVIDER,
    6: "vaults",
    8: "secrets",
}


# The segments of a secret's scope; None marks a name or an ID.
_SCOPE_TEMPLATE: tuple[str | None, ...] = (
    "subscriptions",
    None,
    "resourceGroups",
    None,
    "providers",
    _KEYVAULT_PROVIDER,
    "vaults",
    None,
    "secrets",
    None,
)
_KEYWORDS = frozenset(word.lower() for word in _SCOPE_TEMPLATE if word)
# More missing fixed segments than this make a guess at the scope unreliable.
_MAX_INSERTED = 2


def _align_scope(segments: list[str]) -> tuple[list[str], list[str]] | None:
    """Fit `segments` to the scope's template by inserting missing fixed segments.

    Return the ten aligned segments and the inserted ones, with the fewest
    insertions, or None when no fit needs at most two insertions and leaves
    nothing but a version (or ``versions/<version>``) after the secret name.
    """
    best: tuple[list[str], list[str]] | None = None

    def fits_leftover(rest: list[str]) -> bool:
        if rest and rest[0].lower() == "versions":
            rest = rest[1:]
        return not rest or (len(rest) == 1 and bool(_VERSION.fullmatch(rest[0])))

    def walk(index: int, slot: int, out: list[str], inserted: list[str]) -> None:
        nonlocal best
        if len(inserted) > _MAX_INSERTED:
            return
        if best is not None and len(inserted) >= len(best[1]):
            return
        if slot == len(_SCOPE_TEMPLATE):
            if fits_leftover(segments[index:]):
                best = (out, inserted)
            return
        expected = _SCOPE_TEMPLATE[slot]
        if index < len(segments):
            segment = segments[index]
            if (expected is None and segment.lower() not in _KEYWORDS) or (
                expected is not None and segment.lower() == expected.lower()
            ):
                walk(index + 1, slot + 1, [*out, segment], inserted)
        if expected is not None:
            walk(index, slot + 1, [*out, expected], [*inserted, expected])

    walk(0, 0, [], [])
    return best


def _parses(scope: str) -> bool:
    try:
        parse_secret_scope(scope)
    except InvalidScopeError:
        return False
    return True


def _reject_missing_segments(segments: list[str], shown: str) -> None:
    aligned = _align_scope(segments)
    if aligned is None or not aligned[1]:
        return
    parts, inserted = aligned
    if inserted == ["providers"]:
        reason = "has no /providers/ segment before Microsoft.KeyVault"
    else:
        names = " and ".join(inserted)
        noun = "segments are" if len(inserted) > 1 else "segment is"
        reason = f"is not a complete scope: the {names} {noun} missing"
    if len(segments) + len(inserted) > len(_SCOPE_TEMPLATE):
        reason += ", and it ends with a version, which a scope never has"
    corrected = "/" + "/".join(parts)
    fix = _use_instead(corrected) if _parses(corrected) else ""
    raise _scope_error(shown, reason, fix or "Build the scope from its parts.")


def _check_scope_segments(segments: list[str], shown: str) -> None:
    _reject_missing_segments(segments, shown)
    for index, expected in _FIXED_SEGMENTS.items():
        if len(segments) <= index:
            break
        if segments[index].lower() != expected.lower():
            reason = (
                f"has {_quote(segments[index])} where '{expected}' belongs"
                f" (segment {index + 1})"
            )
            raise _scope_error(shown, reason, "Build the scope from its parts.")
    if len(segments) == 8:
        fix = "Add /secrets/<name> to scope the grant to one secret."
        raise _scope_error(shown, "is the scope of a vault, not of one secret", fix)
    if len(segments) < 10:
        reason = "is not the scope of a Key Vault secret"
        raise _scope_error(shown, reason, "Build the scope from its parts.")
    if len(segments) > 10:
        corrected = "/" + "/".join(segments[:10])
        extra = "/".join(segments[10:])
        if len(segments) == 11 and _VERSION.fullmatch(segments[10]):
            reason = f"ends with the version {_quote(extra)}"
            fix = (
                "Role assignments cover every version of a secret, so a scope has no "
                f"version. {_use_instead(corrected)}"
            )
        else:
            reason = f"has {_quote('/' + extra)} after the secret name"
            fix = _use_instead(corrected)
        raise _scope_error(shown, reason, fix)


def parse_secret_scope(scope: str) -> SecretScope:
    """Parse the ARM scope of one Key Vault secret.

    The fixed segments are compared case-insensitively, because Azure returns
    ``resourcegroups`` and ``microsoft.keyvault`` in lowercase in some responses.
    One trailing slash is accepted.

    Parameters
    ----------
    scope
        ``/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>/secrets/<name>``.

    Returns
    -------
    SecretScope
        The parts, with the subscription ID canonical and the names lowercased.

    Raises
    ------
    InvalidScopeError
        If `scope` is not the scope of one secret: a missing ``/providers/``
        segment, a trailing version, a data-plane URL and other shapes each get
        their own message, with the corrected scope when there is one.

    Examples
    --------
    >>> parse_secret_scope(
    ...     "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/"
    ...     "rg-union-dp/providers/microsoft.keyvault/vaults/kv-demo/secrets/db-pass"
    ... ).secret_name
    'db-pass'
    """
    raw = _require_text(scope, "scope")
    shown = displayable(raw)
    if not raw:
        raise _scope_error("", "is empty", "Build the scope from its parts.")
    characters = _scope_character_problem(raw)
    if characters is not None:
        reason, suggestion = characters
        raise _scope_error(shown, reason, _retype_fix(suggestion, "scope"))
    if "://" in raw:
        _reject_data_plane_url(raw, shown)
    if not raw.startswith("/"):
        raise _scope_error(shown, "does not start with '/'", _use_instead("/" + raw))

    segments = raw.removesuffix("/").split("/")[1:]
    if "" in segments:
        compact = "/" + "/".join(s for s in segments if s)
        raise _scope_error(shown, "has an empty segment ('//')", _use_instead(compact))
    _check_scope_segments(segments, shown)

    try:
        return SecretScope(
            subscription_id=validate_guid(segments[1], "subscription ID"),
            resource_group=validate_resource_group_name(segments[3]),
            vault_name=validate_vault_name(segments[7]),
            secret_name=validate_secret_name(segments[9]),
        )
    except InvalidInputError as error:
        raise _scope_error(shown, "has an invalid part", str(error)) from None


def _scope_segments(scope: str) -> list[str]:
    return [s.lower() for s in scope.strip().removesuffix("/").split("/") if s]


def scope_contains(outer: str, inner: str) -> bool:
    """Tell whether a grant at scope `outer` also applies at scope `inner`.

    A scope contains itself and every scope below it. Segments are compared
    case-insensitively, and a partial segment never matches (``kv-demo`` does not
    contain ``kv-demo2``).

    Parameters
    ----------
    outer
        Scope of a role assignment.
    inner
        Scope of the resource, such as a secret scope.

    Returns
    -------
    bool
        ``True`` when `outer` is `inner` or one of its ancestors.

    Examples
    --------
    >>> scope_contains("/subscriptions/S", "/subscriptions/s/resourceGroups/rg")
    True
    """
    outer_segments = _scope_segments(outer)
    inner_segments = _scope_segments(inner)
    if not outer.strip().startswith("/") or not inner.strip().startswith("/"):
        return False
    return inner_segments[: len(outer_segments)] == outer_segments


# --- role assignment names --------------------------------------------------------


def _scope_character_problem(scope: str) -> tuple[str, str | None] | None:
    """Return why `scope` has a character no scope allows, and a suggestion.

    Azure allows Unicode letters and digits in resource group names, so the
    segment after ``resourceGroups`` may be non-ASCII; the resource group
    validator judges its look-alikes. Every other segment must be ASCII.
    """
    invisible = _invisible_problem(scope)
    if invisible is not None:
        return invisible, None
    segments = scope.split("/")
    group_index = next(
        (
            index + 1
            for index, segment in enumerate(segments[:-1])
            if segment.lower() == "resourcegroups"
        ),
        None,
    )
    if group_index is None:
        return _non_ascii_problem(scope)
    # An ASCII stand-in of the same length keeps the reported positions right.
    group = segments[group_index]
    segments[group_index] = "x" * len(group)
    problem = _non_ascii_problem("/".join(segments))
    if problem is None:
        return None
    reason, suggestion = problem
    if suggestion is not None:
        suggested = suggestion.split("/")
        suggested[group_index] = group
        suggestion = "/".join(suggested)
    return reason, suggestion


def role_assignment_name(
    scope: str, role_definition_guid: str, principal_id: str
) -> str:
    """Derive the kit's role assignment name for a scope, role and principal.

    The name is a UUIDv5 in `ROLE_ASSIGNMENT_NAMESPACE` over
    ``"<scope>|<role GUID>|<principal ID>"``, all lowercased, so the same grant
    always gets the same name and a repeated PUT is idempotent.

    Parameters
    ----------
    scope
        Scope of the assignment; one trailing slash is ignored.
    role_definition_guid
        Role definition GUID, or a tenant- or subscription-level role definition
        ID, whose last segment is the GUID.
    principal_id
        Principal ID (object ID) of the assignee, with or without hyphens.

    Returns
    -------
    str
        The assignment name, a lowercase GUID.

    Raises
    ------
    InvalidIdError
        If the role or principal is not a GUID.
    InvalidScopeError
        If `scope` does not start with ``/`` or contains whitespace.

    Examples
    --------
    >>> role = "4633458b-17de-408a-b874-0445c86b69e6"
    >>> first = role_assignment_name("/subscriptions/S", role.upper(), "B" * 32)
    >>> first == role_assignment_name("/SUBSCRIPTIONS/s/", role, "b" * 32)
    True
    """
    text = _require_text(scope, "scope")
    if not text.startswith("/") or _scope_character_problem(text) is not None:
        raise InvalidScopeError(
            f"The scope '{displayable(text)}' is invalid because it does not start "
            "with '/' or contains whitespace, an invisible character or a non-ASCII "
            "character outside the resource group name.",
            "Pass an Azure Resource Manager scope such as the secret scope.",
            value=text,
            expected=SECRET_SCOPE_SHAPE,
        )
    role_text = _require_text(role_definition_guid, "role definition ID")
    role = validate_guid(
        role_text.removesuffix("/").rsplit("/", 1)[-1], "role definition ID"
    )
    principal = validate_guid(principal_id, "principal ID")
    key = f"{text.removesuffix('/')}|{role}|{principal}".lower()
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))
