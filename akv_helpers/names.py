"""Validation of Key Vault, resource group and managed identity names.

The rules follow the Azure documentation on resource naming.
"""

from __future__ import annotations

import re

from akv_helpers._text_checks import (
    _HEX,
    _PORTAL_HINT,
    _character_problem,
    _list_characters,
    _lookalike_problem,
    _quote,
    _require_text,
    _retype_fix,
)
from akv_helpers.errors import InvalidNameError, displayable

__all__ = [
    "IDENTITY_NAME_RULE",
    "MAX_SECRET_NAME_LENGTH",
    "RESOURCE_GROUP_NAME_RULE",
    "SECRET_NAME_RULE",
    "SECRET_VERSION_LENGTH",
    "SECRET_VERSION_RULE",
    "VAULT_NAME_RULE",
    "is_union_identity_name",
    "suggest_secret_name",
    "validate_identity_name",
    "validate_resource_group_name",
    "validate_secret_name",
    "validate_secret_version",
    "validate_vault_name",
]

# Fixed parts of the shapes and rules below, from the Azure resource naming rules.
MAX_SECRET_NAME_LENGTH = 127
SECRET_VERSION_LENGTH = 32

VAULT_NAME_RULE = (
    "3–24 letters, digits and hyphens, starting with a letter, ending with a letter "
    "or digit, with no two hyphens in a row"
)
SECRET_NAME_RULE = f"1–{MAX_SECRET_NAME_LENGTH} letters, digits and hyphens"
SECRET_VERSION_RULE = f"{SECRET_VERSION_LENGTH} hexadecimal characters"
RESOURCE_GROUP_NAME_RULE = (
    "1–90 letters, digits, underscores, hyphens, periods and parentheses, "
    "not ending with a period"
)
IDENTITY_NAME_RULE = (
    "3–128 letters, digits, hyphens and underscores, starting with a letter or digit"
)

_VAULT_NAME = re.compile(r"[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]", re.IGNORECASE)
_SECRET_NAME = re.compile(r"[a-z0-9-]{1,127}", re.IGNORECASE)
_VERSION = re.compile(r"[0-9a-f]{32}", re.IGNORECASE)
_IDENTITY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{2,127}", re.IGNORECASE)


def _name_error(
    what: str, name: str, reason: str, rule: str, fix: str
) -> InvalidNameError:
    shown = displayable(name)
    return InvalidNameError(
        f"The {what} '{shown}' is invalid because it {reason}. Expected {rule}.",
        fix,
        value=name,
        expected=rule,
    )


def _punycode_problem(name: str) -> str | None:
    """Describe an internationalized name in its ASCII form, ``xn--…``."""
    if not name.lower().startswith("xn--"):
        return None
    try:
        decoded = name.encode("ascii").decode("idna")
    except UnicodeError:
        return "starts with 'xn--', the prefix of an internationalized domain name"
    return (
        f"is the internationalized domain name {_quote(decoded)} in its 'xn--' "
        "form, and vault names are ASCII only"
    )


def _vault_name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    punycode = _punycode_problem(name)
    if punycode is not None:
        return punycode
    if len(name) < 3:
        return f"is {len(name)} characters long, fewer than 3"
    if len(name) > 24:
        return f"is {len(name)} characters long, more than 24"
    bad = list(
        dict.fromkeys(
            c for c in name if not (c.isascii() and (c.isalnum() or c == "-"))
        )
    )
    if bad:
        listed = _list_characters(bad)
        return f"contains {listed}, which vault names do not allow"
    if not name[0].isalpha():
        return "does not start with a letter"
    if name.endswith("-"):
        return "ends with a hyphen"
    if "--" in name:
        return "contains two hyphens in a row"
    return None


def validate_vault_name(name: str) -> str:
    """Check a Key Vault name and return it lowercased.

    Parameters
    ----------
    name
        Vault name; surrounding whitespace is ignored.

    Returns
    -------
    str
        The name in lowercase.

    Raises
    ------
    InvalidNameError
        If the name breaks Azure's vault naming rules.

    Examples
    --------
    >>> validate_vault_name("KV-Demo")
    'kv-demo'
    """
    text = _require_text(name, "vault name")
    characters = _character_problem(text)
    if characters is not None:
        reason, suggestion = characters
        fix = _retype_fix(suggestion, "vault name")
        raise _name_error("vault name", text, reason, VAULT_NAME_RULE, fix)
    problem = _vault_name_problem(text)
    if problem is not None:
        fix = "Copy the vault name from the key vault's Overview page in the portal."
        raise _name_error("vault name", text, problem, VAULT_NAME_RULE, fix)
    assert _VAULT_NAME.fullmatch(text) is not None
    return text.lower()


def suggest_secret_name(name: str) -> str | None:
    """Return the valid secret name that `name` most likely means, if there is one.

    Underscores, periods and whitespace become hyphens, because Key Vault allows
    none of them and people often write ``db_password`` for ``db-password``.

    Parameters
    ----------
    name
        A secret name that failed validation.

    Returns
    -------
    str or None
        The suggested name in lowercase, or ``None`` when no simple change helps.

    Examples
    --------
    >>> suggest_secret_name("db_password")
    'db-password'
    """
    candidate = re.sub(r"[_.\s]", "-", name.strip()).lower()
    if candidate != name.lower() and _SECRET_NAME.fullmatch(candidate):
        return candidate
    return None


def _secret_name_problem(name: str) -> tuple[str, str | None] | None:
    if not name:
        return "is empty", None
    if len(name) > MAX_SECRET_NAME_LENGTH:
        length = len(name)
        return f"is {length} characters long, more than {MAX_SECRET_NAME_LENGTH}", None
    bad = list(
        dict.fromkeys(
            c for c in name if not (c.isascii() and (c.isalnum() or c == "-"))
        )
    )
    if bad:
        listed = _list_characters(bad)
        reason = f"contains {listed}, which secret names do not allow"
        return reason, suggest_secret_name(name)
    return None


def _secret_name_fix(suggestion: str | None) -> str:
    if suggestion is not None:
        return (
            f"Key Vault cannot store a secret under this name, so the secret is "
            f"probably named {_quote(suggestion)}. {_PORTAL_HINT}"
        )
    return _PORTAL_HINT


def validate_secret_name(name: str) -> str:
    """Check a Key Vault secret name and return it lowercased.

    Parameters
    ----------
    name
        Secret name; surrounding whitespace is ignored.

    Returns
    -------
    str
        The name in lowercase.

    Raises
    ------
    InvalidNameError
        If the name is not 1–127 letters, digits and hyphens.

    Examples
    --------
    >>> validate_secret_name("DB-Pass")
    'db-pass'
    """
    text = _require_text(name, "secret name")
    if text.lower().startswith(("https://", "http://")):
        raise _name_error(
            "secret name",
            text,
            "is a URL, not a name",
            SECRET_NAME_RULE,
            "Pass the last part of the identifier's path, or parse the whole "
            "identifier with parse_secret_identifier.",
        )
    characters = _character_problem(text)
    if characters is not None:
        reason, suggestion = characters
        fix = _retype_fix(suggestion, "secret name")
        raise _name_error("secret name", text, reason, SECRET_NAME_RULE, fix)
    problem = _secret_name_problem(text)
    if problem is not None:
        reason, suggestion = problem
        fix = _secret_name_fix(suggestion)
        raise _name_error("secret name", text, reason, SECRET_NAME_RULE, fix)
    return text.lower()


def _version_problem(version: str) -> str | None:
    bad = list(dict.fromkeys(c for c in version if c not in _HEX))
    if bad:
        listed = _list_characters(bad)
        if len(bad) == 1:
            return f"contains {listed}, which is not a hexadecimal digit"
        return f"contains {listed}, which are not hexadecimal digits"
    if len(version) != SECRET_VERSION_LENGTH:
        length = len(version)
        return f"is {length} characters long instead of {SECRET_VERSION_LENGTH}"
    return None


def validate_secret_version(version: str) -> str:
    """Check a Key Vault secret version and return it lowercased.

    Parameters
    ----------
    version
        Version ID, the last segment of a versioned secret identifier.

    Returns
    -------
    str
        The version in lowercase.

    Raises
    ------
    InvalidNameError
        If the version is not exactly 32 hexadecimal characters.

    Examples
    --------
    >>> validate_secret_version("0F1E2D3C4B5A69788796A5B4C3D2E1F0")
    '0f1e2d3c4b5a69788796a5b4c3d2e1f0'
    """
    text = _require_text(version, "secret version")
    problem = _version_problem(text) if text else "is empty"
    if problem is not None:
        fix = f"Copy the version from the secret's Versions list. {_PORTAL_HINT}"
        raise _name_error("secret version", text, problem, SECRET_VERSION_RULE, fix)
    assert _VERSION.fullmatch(text) is not None
    return text.lower()


def validate_resource_group_name(name: str) -> str:
    """Check a resource group name and return it as given.

    Azure allows Unicode letters and digits in resource group names, so this
    check does too, except fullwidth and other compatibility forms, and Cyrillic,
    Greek and similar letters next to Latin ones, which are look-alikes pasted
    by mistake. Letter case is kept because Azure shows the name as created,
    although it compares names case-insensitively.

    Parameters
    ----------
    name
        Resource group name; surrounding whitespace is ignored.

    Returns
    -------
    str
        The name without surrounding whitespace.

    Raises
    ------
    InvalidNameError
        If the name breaks Azure's resource group naming rules.

    Examples
    --------
    >>> validate_resource_group_name("rg-union-dp")
    'rg-union-dp'
    """
    text = _require_text(name, "resource group name")
    problem: str | None = None
    allowed = "_-.()"
    if not text:
        problem = "is empty"
    elif len(text) > 90:
        problem = f"is {len(text)} characters long, more than 90"
    elif bad := list(
        dict.fromkeys(c for c in text if not (c.isalnum() or c in allowed))
    ):
        listed = _list_characters(bad)
        problem = f"contains {listed}, which resource group names do not allow"
    elif text.endswith("."):
        problem = "ends with a period"
    elif lookalike := _lookalike_problem(text):
        problem, suggestion = lookalike
        fix = _retype_fix(suggestion, "resource group name")
        raise _name_error(
            "resource group name", text, problem, RESOURCE_GROUP_NAME_RULE, fix
        )
    if problem is not None:
        fix = "Copy the resource group name from the resource's Overview page."
        raise _name_error(
            "resource group name", text, problem, RESOURCE_GROUP_NAME_RULE, fix
        )
    return text


def validate_identity_name(name: str) -> str:
    """Check a user-assigned managed identity name and return it as given.

    Parameters
    ----------
    name
        Identity name; surrounding whitespace is ignored.

    Returns
    -------
    str
        The name without surrounding whitespace.

    Raises
    ------
    InvalidNameError
        If the name breaks Azure's managed identity naming rules.

    Examples
    --------
    >>> validate_identity_name("userflyterole")
    'userflyterole'
    """
    text = _require_text(name, "identity name")
    problem: str | None = None
    if not text:
        problem = "is empty"
    elif len(text) < 3 or len(text) > 128:
        problem = f"is {len(text)} characters long"
    elif bad := sorted(
        {c for c in text if not (c.isascii() and (c.isalnum() or c in "-_"))}
    ):
        listed = _list_characters(bad)
        problem = f"contains {listed}, which identity names do not allow"
    elif not text[0].isalnum():
        problem = "does not start with a letter or digit"
    if problem is not None:
        fix = "Copy the name from the managed identity's Overview page."
        raise _name_error("identity name", text, problem, IDENTITY_NAME_RULE, fix)
    assert _IDENTITY_NAME.fullmatch(text) is not None
    return text


_UNION_IDENTITY_NAME = "userflyterole"
_UNION_IDENTITY_PREFIX = "flyteuser"


def is_union_identity_name(name: str) -> bool:
    """Tell whether `name` looks like the Union data plane's workload identity.

    Union's documentation names the identity ``userflyterole`` in one place and
    describes it as prefixed ``flyteuser`` in another, and on AWS the name is
    ``<org prefix>-userflyterole``, so all three forms match, case-insensitively.
    Nothing may follow ``userflyterole``: a name such as ``userflyterole-old`` is
    taken for a copy, not the identity the data plane uses.

    Parameters
    ----------
    name
        Managed identity name.

    Returns
    -------
    bool
        ``True`` for ``userflyterole``, ``<prefix>-userflyterole`` and names that
        start with ``flyteuser``.

    Examples
    --------
    >>> is_union_identity_name("acme-UserFlyteRole")
    True
    >>> is_union_identity_name("myuserflyterole")
    False
    """
    if not isinstance(name, str):
        return False
    folded = name.strip().lower()
    if folded == _UNION_IDENTITY_NAME:
        return True
    suffix = "-" + _UNION_IDENTITY_NAME
    if folded.endswith(suffix) and len(folded) > len(suffix):
        return True
    return folded.startswith(_UNION_IDENTITY_PREFIX)
