"""Validation of GUIDs such as principal, tenant and subscription IDs."""

from __future__ import annotations

import re
import uuid

from akv_helpers._text_checks import _HEX, _list_characters, _require_text
from akv_helpers.errors import InvalidIdError, displayable

__all__ = ["GUID_SHAPE", "filter_value", "validate_guid"]

GUID_SHAPE = "a GUID such as 00000000-1111-2222-3333-444444444444"
_DASHED_GUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# A GUID inside other text, such as a resource ID, but not part of a longer run of
# hexadecimal digits.
_GUID_INSIDE = re.compile(
    r"(?<![0-9a-f-])"
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
    r"(?![0-9a-f-])",
    re.IGNORECASE,
)


def _guid_problem(text: str) -> str | None:
    if not text:
        return "is empty"
    if text.startswith("{") and text.endswith("}"):
        return "is wrapped in braces"
    bad = list(dict.fromkeys(c for c in text if c not in _HEX and c != "-"))
    if bad:
        listed = _list_characters(bad)
        return f"contains {listed}, which a GUID does not have"
    digits = text.replace("-", "")
    if len(digits) != 32:
        return f"has {len(digits)} hexadecimal digits instead of 32"
    if "-" in text and not _DASHED_GUID.fullmatch(text.lower()):
        return "has its hyphens in the wrong places"
    return None


def validate_guid(value: str, what: str) -> str:
    """Check a GUID and return it in canonical form, lowercase with hyphens.

    The form without hyphens is accepted too, because Azure prints principal IDs
    that way in ``PrincipalNotFound`` messages.

    Parameters
    ----------
    value
        The ID to check; surrounding whitespace is ignored.
    what
        What the ID is, for the message, such as ``"principal ID"``.

    Returns
    -------
    str
        The GUID as ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` in lowercase.

    Raises
    ------
    InvalidIdError
        If `value` is not a GUID in either form.

    Examples
    --------
    >>> validate_guid("BBBBBBBB000040008000000000000002", "principal ID")
    'bbbbbbbb-0000-4000-8000-000000000002'
    """
    text = _require_text(value, what)
    problem = _guid_problem(text)
    if problem is None:
        return str(uuid.UUID(hex=text.replace("-", ""))).lower()

    shown = displayable(text)
    if _is_resource_id(text):
        problem = f"is an Azure resource ID, not a GUID, and {problem}"
        fix = _resource_id_fix(text, what)
    else:
        found = _GUID_INSIDE.findall(text)
        if len(found) == 1:
            canonical = str(uuid.UUID(hex=found[0].replace("-", ""))).lower()
            fix = f"Pass only the {what} itself: '{canonical}'."
        else:
            fix = f"Copy the {what} from the resource's Overview page in the portal."
    raise InvalidIdError(
        f"The {what} '{shown}' is invalid because it {problem}. Expected {GUID_SHAPE}.",
        fix,
        value=text,
        expected=GUID_SHAPE,
    )


def _is_resource_id(text: str) -> bool:
    folded = text.lower()
    return folded.startswith(("/subscriptions/", "/providers/")) or (
        "/providers/" in folded
    )


def _resource_id_fix(text: str, what: str) -> str:
    """Return how to get `what` from a resource ID, without guessing a GUID from it.

    A resource ID contains the subscription ID and sometimes other GUIDs, but
    never the principal or client ID of the resource, so none is offered.
    """
    segments = [segment for segment in text.split("/") if segment]
    folded = [segment.lower() for segment in segments]
    if (
        what.lower() == "subscription id"
        and folded[:1] == ["subscriptions"]
        and len(folded) > 1
        and _DASHED_GUID.fullmatch(folded[1])
    ):
        return f"Pass only the subscription ID from it: '{folded[1]}'."
    if "userassignedidentities" in folded:
        if "client" in what.lower():
            field, query = "properties.clientId", "clientId"
        else:
            field, query = "properties.principalId", "principalId"
        return (
            f"That is the resource ID of a managed identity, which does not contain "
            f"its {what}. The {what} is the identity's {field}: "
            f"`az identity show --ids <resource ID> --query {query} -o tsv`, or "
            "the identity's Overview page in the portal."
        )
    return (
        f"A resource ID does not contain the {what}. Copy the {what} from the "
        "resource's Overview page in the portal."
    )


def filter_value(value: str, what: str = "ID") -> str:
    """Check an ID before it goes into an OData ``$filter`` and return it canonical.

    Only a GUID passes, so quotes and operators can never reach the filter.

    Parameters
    ----------
    value
        The ID, such as a principal ID.
    what
        What the ID is, for the message. Defaults to ``"ID"``.

    Returns
    -------
    str
        The GUID in canonical form.

    Raises
    ------
    InvalidIdError
        If `value` is not a GUID.

    Examples
    --------
    >>> f"principalId eq '{filter_value('BBBBBBBB-0000-4000-8000-000000000002')}'"
    "principalId eq 'bbbbbbbb-0000-4000-8000-000000000002'"
    """
    return validate_guid(value, what)
