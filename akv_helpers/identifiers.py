"""Key Vault secret identifiers, Azure names and IDs, and ARM scopes.

Everything here is pure: no request is sent and no Azure package is imported. The
naming rules follow the Azure documentation on resource naming. Vault names are 3–24
letters, digits and hyphens, start with a letter, end with a letter or digit and
contain no ``--``. Secret names are 1–127 letters, digits and hyphens, and a secret
version is 32 hexadecimal characters. Key Vault compares names case-insensitively,
so vault and secret names are returned lowercased.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
import uuid
from dataclasses import dataclass, replace

from akv_helpers.clouds import (
    CLOUDS,
    PUBLIC,
    Cloud,
    cloud_for_managed_hsm_host,
    cloud_for_vault_host,
)
from akv_helpers.errors import (
    InvalidIdError,
    InvalidInputError,
    InvalidNameError,
    InvalidScopeError,
    InvalidSecretIdentifierError,
    displayable,
)

__all__ = [
    "GUID_SHAPE",
    "MAX_SECRET_NAME_LENGTH",
    "SECRET_VERSION_LENGTH",
    "IDENTITY_NAME_RULE",
    "RESOURCE_GROUP_NAME_RULE",
    "ROLE_ASSIGNMENT_NAMESPACE",
    "SECRET_IDENTIFIER_SHAPE",
    "SECRET_NAME_RULE",
    "SECRET_SCOPE_SHAPE",
    "SECRET_VERSION_RULE",
    "VAULT_NAME_RULE",
    "SecretIdentifier",
    "SecretScope",
    "build_secret_scope",
    "build_secret_scope_for_identifier",
    "build_vault_scope",
    "filter_value",
    "is_union_identity_name",
    "parse_secret_identifier",
    "parse_secret_scope",
    "role_assignment_name",
    "scope_contains",
    "suggest_secret_name",
    "validate_guid",
    "validate_identity_name",
    "validate_resource_group_name",
    "validate_secret_name",
    "validate_secret_version",
    "validate_vault_name",
]

# Fixed parts of the shapes and rules below, from the Azure resource naming rules.
_KEYVAULT_PROVIDER = "Microsoft.KeyVault"
MAX_SECRET_NAME_LENGTH = 127
SECRET_VERSION_LENGTH = 32

SECRET_IDENTIFIER_SHAPE = (
    f"https://<vault>.{PUBLIC.keyvault_dns_suffix}/secrets/<name>[/<version>]"
)
SECRET_SCOPE_SHAPE = (
    "/subscriptions/<subscription ID>/resourceGroups/<resource group>"
    f"/providers/{_KEYVAULT_PROVIDER}/vaults/<vault>/secrets/<name>"
)
GUID_SHAPE = "a GUID such as 00000000-1111-2222-3333-444444444444"
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

# Namespace of the kit's deterministic role assignment names (UUIDv5). Changing it
# would make the kit create a second assignment for a grant it already made.
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("b18ff0b8-ed8b-4b36-b671-c09945cebe1c")

_PORTAL_HINT = (
    "In the Azure portal, open the key vault, then Secrets, the secret and the "
    'version, and copy "Secret Identifier".'
)
_VAULT_NAME = re.compile(r"[a-z](?!.*--)[a-z0-9-]{1,22}[a-z0-9]", re.IGNORECASE)
_SECRET_NAME = re.compile(r"[a-z0-9-]{1,127}", re.IGNORECASE)
_VERSION = re.compile(r"[0-9a-f]{32}", re.IGNORECASE)
_HEX = frozenset("0123456789abcdefABCDEF")
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
_IDENTITY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{2,127}", re.IGNORECASE)
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.IGNORECASE)
_BROKEN_SCHEME = re.compile(r"https?:/*", re.IGNORECASE)
_PERCENT_ESCAPE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)
_PRIVATE_LINK_ZONES = (
    "privatelink.vaultcore.azure.net",
    "privatelink.vaultcore.azure.cn",
    "privatelink.vaultcore.usgovcloudapi.net",
)

# ASCII characters that text copied from chat tools, documents or web pages is
# known to replace with look-alikes. NFKC covers the fullwidth forms.
_LOOKALIKES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y",
    "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w",
    "ο": "o", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u2215": "/", "\u2044": "/",
}  # fmt: skip


# --- character checks shared by every parser ---------------------------------------


def _describe_character(character: str) -> str:
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    described = f"{name}, {code}" if name else code
    if character == " ":
        return f"a space ({described})"
    if character == "'":
        return f'"\'" ({described})'
    return f"'{displayable(character)}' ({described})"


def _list_characters(characters: list[str], limit: int = 5) -> str:
    """Quote `characters` for a message, naming those that are not plain ASCII."""
    shown: list[str] = []
    for character in characters[:limit]:
        if character.isascii() and character.isprintable() and character not in " '":
            shown.append(f"'{character}'")
        else:
            shown.append(_describe_character(character))
    if len(characters) > limit:
        shown.append(f"{len(characters) - limit} more")
    return ", ".join(shown)


def _ascii_lookalike(character: str) -> str | None:
    if character in _LOOKALIKES:
        return _LOOKALIKES[character]
    normalized = unicodedata.normalize("NFKC", character)
    if normalized.isascii() and normalized.isprintable() and len(normalized) == 1:
        return normalized
    return None


def _invisible_problem(text: str) -> str | None:
    """Return the reason `text` contains whitespace or a non-printable character."""
    for position, character in enumerate(text, start=1):
        if character.isspace() or not character.isprintable():
            if character.isspace():
                kind = "whitespace"
            elif unicodedata.category(character) == "Cc":
                kind = "a control character"
            else:
                kind = "an invisible character"
            return (
                f"contains {kind}, {_describe_character(character)}, "
                f"at position {position}"
            )
    return None


def _non_ascii_problem(text: str) -> tuple[str, str | None] | None:
    """Return the reason `text` contains a non-ASCII character, and a suggestion.

    The suggestion is `text` with look-alike characters replaced by their ASCII
    originals, or ``None`` when some character has no ASCII original.
    """
    for position, character in enumerate(text, start=1):
        if not character.isascii():
            lookalike = _ascii_lookalike(character)
            reason = (
                f"contains the non-ASCII character {_describe_character(character)} "
                f"at position {position}"
            )
            if lookalike is not None:
                reason += f", which looks like '{lookalike}'"
            return reason, _replace_lookalikes(text)
    return None


def _character_problem(text: str) -> tuple[str, str | None] | None:
    """Return the reason `text` has a character no Azure name or URL allows here."""
    invisible = _invisible_problem(text)
    if invisible is not None:
        return invisible, None
    return _non_ascii_problem(text)


def _replace_lookalikes(text: str) -> str | None:
    characters: list[str] = []
    for character in text:
        if character.isascii():
            characters.append(character)
            continue
        lookalike = _ascii_lookalike(character)
        if lookalike is None:
            return None
        characters.append(lookalike)
    return "".join(characters)


def _retype_fix(suggestion: str | None, what: str) -> str:
    if suggestion is not None:
        return f"Type the {what} again by hand: '{suggestion}'."
    return f"Type the {what} again by hand, using ASCII characters only."


# --- names and IDs -----------------------------------------------------------------


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


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(
            f"The {what} must be text, not {type(value).__name__}.",
            f"Pass the {what} as a string.",
            value=type(value).__name__,
            expected="a string",
        )
    return value.strip()


def _vault_name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
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
            f"probably named '{suggestion}'. {_PORTAL_HINT}"
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
    check does too. Letter case is kept because Azure shows the name as created,
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


# --- secret identifiers ------------------------------------------------------------


@dataclass(frozen=True)
class SecretIdentifier:
    """A parsed Key Vault secret identifier.

    Attributes
    ----------
    vault_name
        Vault name, lowercased.
    name
        Secret name, lowercased, because Key Vault names are case-insensitive.
    version
        Version in lowercase, or ``None`` for the latest version.
    cloud
        Cloud of the vault's DNS suffix.
    original
        The identifier as given, without surrounding whitespace.
    """

    vault_name: str
    name: str
    version: str | None = None
    cloud: Cloud = PUBLIC
    original: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "vault_name", validate_vault_name(self.vault_name))
        object.__setattr__(self, "name", validate_secret_name(self.name))
        if self.version is not None:
            object.__setattr__(self, "version", validate_secret_version(self.version))

    def __str__(self) -> str:
        return self.uri

    @property
    def vault_host(self) -> str:
        """Host name of the vault, such as ``kv-demo.vault.azure.net``."""
        return f"{self.vault_name}.{self.cloud.keyvault_dns_suffix}"

    @property
    def vault_url(self) -> str:
        """Vault URL without a trailing slash, such as ``https://kv-demo.vault.azure.net``."""
        return f"https://{self.vault_host}"

    @property
    def group_uri(self) -> str:
        """Versionless secret URI, without a trailing slash."""
        return f"{self.vault_url}/secrets/{self.name}"

    @property
    def uri(self) -> str:
        """Secret URI with the version when one is pinned, else `group_uri`."""
        if self.version is None:
            return self.group_uri
        return f"{self.group_uri}/{self.version}"

    @property
    def had_uppercase(self) -> bool:
        """Whether the identifier as given contained uppercase letters."""
        return any(character.isupper() for character in self.original)

    def with_version(self, version: str | None) -> SecretIdentifier:
        """Return a copy pinned to `version`, or unpinned when it is ``None``.

        Raises
        ------
        InvalidNameError
            If `version` is not 32 hexadecimal characters.
        """
        return replace(self, version=version)


def _identifier_error(
    shown: str, reason: str, fix: str
) -> InvalidSecretIdentifierError:
    return InvalidSecretIdentifierError(
        f"The secret identifier '{shown}' {reason}. "
        f"Expected {SECRET_IDENTIFIER_SHAPE}.",
        fix,
        value=shown,
        expected=SECRET_IDENTIFIER_SHAPE,
    )


def _mask_userinfo(text: str) -> str:
    return _USERINFO.sub(r"\1***@", text)


def _use_instead(suggestion: str) -> str:
    return f"Use '{displayable(suggestion)}' instead."


def _check_characters(raw: str, shown: str) -> None:
    invisible = _invisible_problem(raw)
    if invisible is not None:
        fix = f"Remove the character or copy the identifier again. {_PORTAL_HINT}"
        raise _identifier_error(shown, invisible, fix)
    non_ascii = _non_ascii_problem(raw)
    if non_ascii is not None:
        reason, suggestion = non_ascii
        if suggestion is not None:
            fix = f"Type the identifier again by hand: '{_mask_userinfo(suggestion)}'."
        else:
            fix = "Type the identifier again by hand, using ASCII characters only."
        raise _identifier_error(shown, reason, fix)

    escape = _PERCENT_ESCAPE.search(raw)
    if escape is not None or "%" in raw:
        found = escape.group(0) if escape is not None else "%"
        decoded = _mask_userinfo(urllib.parse.unquote(raw))
        fix = (
            "Paste the identifier as the portal shows it, not URL-encoded. "
            f"Decoded, it reads '{displayable(decoded)}'."
        )
        raise _identifier_error(shown, f"contains percent-encoding '{found}'", fix)


def _check_scheme(raw: str, shown: str) -> None:
    broken = _BROKEN_SCHEME.match(raw)
    if broken is not None and "://" not in raw[: broken.end()]:
        reason = "does not start with 'https://'"
        raise _identifier_error(
            shown, reason, _use_instead("https://" + raw[broken.end() :])
        )
    if "://" not in raw:
        head = raw.split("/", 1)[0]
        if "." in head:
            reason = "has no scheme"
            fix = _use_instead("https://" + raw)
        else:
            reason = "is not a URL"
            fix = f"Paste the whole identifier, not only a name. {_PORTAL_HINT}"
        raise _identifier_error(shown, reason, fix)

    scheme, rest = raw.split("://", 1)
    if scheme.lower() == "http":
        reason = "uses http://, but Key Vault accepts only https://"
        raise _identifier_error(shown, reason, _use_instead("https://" + rest))
    if scheme.lower() != "https":
        reason = f"uses the scheme '{scheme}://' instead of https://"
        raise _identifier_error(shown, reason, _use_instead("https://" + rest))


def _check_authority(raw: str, shown: str, parts: urllib.parse.SplitResult) -> str:
    """Reject userinfo, a port, a query or a fragment, and return the host."""
    netloc = parts.netloc
    without_extras = raw.split("?", 1)[0].split("#", 1)[0]
    if "@" in netloc:
        host_and_port = netloc.rsplit("@", 1)[1]
        suggestion = _use_instead(without_extras.replace(netloc, host_and_port, 1))
        fix = (
            f"A secret identifier never contains a user name or password. {suggestion}"
        )
        raise _identifier_error(shown, "contains a user name before '@'", fix)
    if not netloc:
        raise _identifier_error(shown, "has no host after https://", _PORTAL_HINT)
    if ":" in netloc:
        host, port = netloc.rsplit(":", 1)
        suggestion = _use_instead(without_extras.replace(netloc, host, 1))
        fix = f"Identifiers copied from the portal have no port. {suggestion}"
        raise _identifier_error(shown, f"has a port (':{port}')", fix)
    if "?" in raw:
        fix = f"Remove everything from the '?' on. {_use_instead(without_extras)}"
        raise _identifier_error(shown, "has a query string", fix)
    if "#" in raw:
        fix = f"Remove everything from the '#' on. {_use_instead(without_extras)}"
        raise _identifier_error(shown, "has a fragment", fix)
    return netloc.lower().removesuffix(".")


def _cloud_and_vault(host: str, shown: str) -> tuple[Cloud, str]:
    hsm_cloud = cloud_for_managed_hsm_host(host)
    if hsm_cloud is not None:
        reason = (
            f"points at the Managed HSM '{host}', and Managed HSM holds keys, "
            "not secrets"
        )
        fix = (
            f"Store the secret in a key vault (a host ending in "
            f".{hsm_cloud.keyvault_dns_suffix}) and copy its Secret Identifier."
        )
        raise _identifier_error(shown, reason, fix)

    for zone, cloud in zip(_PRIVATE_LINK_ZONES, CLOUDS.values(), strict=True):
        if host.endswith("." + zone):
            public = host.removesuffix("." + zone) + "." + cloud.keyvault_dns_suffix
            reason = f"uses the private DNS name '{host}'"
            fix = (
                f"Use the vault's public name '{public}' instead: through the private "
                "DNS zone it resolves to the private endpoint."
            )
            raise _identifier_error(shown, reason, fix)

    found = cloud_for_vault_host(host)
    suffixes = ", ".join(c.keyvault_dns_suffix for c in CLOUDS.values())
    if found is None:
        if host in {c.keyvault_dns_suffix for c in CLOUDS.values()}:
            reason = f"has no vault name before '{host}'"
        else:
            reason = f"has the host '{host}', which is not a Key Vault host"
        fix = f"Key Vault hosts end in one of {suffixes}. {_PORTAL_HINT}"
        raise _identifier_error(shown, reason, fix)

    vault_name = host.removesuffix("." + found.keyvault_dns_suffix)
    problem = _vault_name_problem(vault_name)
    if problem is not None:
        reason = f"has an invalid vault name '{vault_name}' because it {problem}"
        fix = f"Vault names are {VAULT_NAME_RULE}. {_PORTAL_HINT}"
        raise _identifier_error(shown, reason, fix)
    return found, vault_name


_OTHER_COLLECTIONS = {
    "keys": "a key (/keys/), not a secret",
    "deletedkeys": "a deleted key (/deletedkeys/), not a secret",
    "deletedcertificates": "a deleted certificate (/deletedcertificates/)",
    "storage": "a storage account key (/storage/), not a secret",
}


def _check_collection(segments: list[str], shown: str, base: str) -> None:
    collection = segments[0].lower()
    name = segments[1] if len(segments) > 1 else "<name>"
    if collection == "secrets":
        return
    if collection == "certificates":
        suggestion = "/".join([base, "secrets", *segments[1:]])
        fix = (
            "Key Vault also stores each certificate with its private key as a secret "
            f"of the same name, '{displayable(suggestion)}'. Use it if the task needs "
            f"the certificate, else copy the secret's identifier. {_PORTAL_HINT}"
        )
        raise _identifier_error(shown, "points at a certificate (/certificates/)", fix)
    if collection == "deletedsecrets":
        vault = base.split("//", 1)[1].split(".", 1)[0]
        fix = (
            "Recover the secret first (in the portal: Secrets, Manage deleted secrets, "
            f"Recover, or `az keyvault secret recover --vault-name {vault} "
            f"--name {displayable(name)}`), then copy its Secret Identifier."
        )
        reason = "points at a deleted secret (/deletedsecrets/)"
        raise _identifier_error(shown, reason, fix)
    if collection in _OTHER_COLLECTIONS:
        reason = f"points at {_OTHER_COLLECTIONS[collection]}"
        fix = f"Open Secrets in the key vault, not Keys or Certificates. {_PORTAL_HINT}"
        raise _identifier_error(shown, reason, fix)
    reason = f"has the path '/{displayable(segments[0])}/…' instead of /secrets/…"
    raise _identifier_error(shown, reason, _PORTAL_HINT)


def _check_version(segments: list[str], shown: str, base: str) -> str | None:
    if len(segments) < 3:
        return None
    versionless = f"{base}/secrets/{segments[1]}"
    version = segments[2]
    if version.lower() == "pending":
        reason = "ends with '/pending', a certificate operation, not a secret version"
        raise _identifier_error(shown, reason, _use_instead(versionless))
    if version.lower() == "versions":
        reason = "ends with '/versions', which lists versions instead of naming one"
        fix = f"Add one version after it, or use '{versionless}' for the latest."
        raise _identifier_error(shown, reason, fix)
    problem = _version_problem(version)
    if problem is not None:
        reason = f"has an invalid version '{version}' because it {problem}"
        fix = (
            f"A version is {SECRET_VERSION_RULE}. Use '{versionless}' for the "
            f"latest version. {_PORTAL_HINT}"
        )
        raise _identifier_error(shown, reason, fix)
    if len(segments) > 3:
        extra = "/".join(segments[3:])
        reason = f"has '/{extra}' after the version"
        fix = _use_instead(f"{versionless}/{version}")
        raise _identifier_error(shown, reason, fix)
    return version.lower()


def parse_secret_identifier(text: str) -> SecretIdentifier:
    """Parse the portal's "Secret Identifier" of a Key Vault secret.

    Surrounding whitespace and one trailing slash are accepted. The host, vault
    name and secret name are lowercased, and `SecretIdentifier.had_uppercase`
    records whether the input had uppercase letters.

    Parameters
    ----------
    text
        ``https://<vault>.vault.azure.net/secrets/<name>[/<version>]``, or the
        same under ``vault.azure.cn`` or ``vault.usgovcloudapi.net``.

    Returns
    -------
    SecretIdentifier
        The vault, name, optional version and cloud.

    Raises
    ------
    InvalidSecretIdentifierError
        If the text is not a secret identifier; the message says what is wrong,
        quotes the input and gives the fix.

    Examples
    --------
    >>> parse_secret_identifier("https://kv-demo.vault.azure.net/secrets/db-pass/").uri
    'https://kv-demo.vault.azure.net/secrets/db-pass'
    """
    raw = _require_text(text, "secret identifier")
    shown = displayable(_mask_userinfo(raw))
    if not raw:
        raise _identifier_error("", "is empty", _PORTAL_HINT)
    _check_characters(raw, shown)
    _check_scheme(raw, shown)
    parts = urllib.parse.urlsplit(raw)
    host = _check_authority(raw, shown, parts)
    cloud, vault_name = _cloud_and_vault(host, shown)
    base = f"https://{host}"

    path = parts.path.removesuffix("/")
    segments = path.split("/")[1:] if path else []
    if not segments:
        fix = f"Copy the identifier of the secret, not the vault URI. {_PORTAL_HINT}"
        raise _identifier_error(shown, "has no path after the host", fix)
    if "" in segments:
        compact = "/".join([base, *(s for s in segments if s)])
        raise _identifier_error(
            shown, "has an empty path segment ('//')", _use_instead(compact)
        )
    _check_collection(segments, shown, base)
    if len(segments) == 1:
        fix = f"Add the secret name after /secrets/. {_PORTAL_HINT}"
        raise _identifier_error(shown, "has no secret name after /secrets/", fix)

    name = segments[1]
    name_problem = _secret_name_problem(name)
    if name_problem is not None:
        problem, suggestion = name_problem
        reason = f"has an invalid secret name '{name}' because it {problem}"
        fix = f"Secret names are {SECRET_NAME_RULE}. {_secret_name_fix(suggestion)}"
        raise _identifier_error(shown, reason, fix)
    version = _check_version(segments, shown, base)
    return SecretIdentifier(vault_name, name.lower(), version, cloud, raw)


# --- ARM scopes ----------------------------------------------------------------------


@dataclass(frozen=True)
class SecretScope:
    """The Azure Resource Manager scope of one Key Vault secret.

    Attributes
    ----------
    subscription_id
        Subscription ID in canonical GUID form.
    resource_group
        Resource group of the vault, as given.
    vault_name
        Vault name, lowercased.
    secret_name
        Secret name, lowercased.
    """

    subscription_id: str
    resource_group: str
    vault_name: str
    secret_name: str

    def __str__(self) -> str:
        return self.scope

    @property
    def vault_scope(self) -> str:
        """Scope of the vault that contains the secret."""
        return build_vault_scope(
            self.subscription_id, self.resource_group, self.vault_name
        )

    @property
    def scope(self) -> str:
        """Scope of the secret, as a role assignment takes it."""
        return f"{self.vault_scope}/secrets/{self.secret_name}"


def build_vault_scope(
    subscription_id: str, resource_group: str, vault_name: str
) -> str:
    """Build the ARM scope of a vault from validated parts.

    Parameters
    ----------
    subscription_id
        Subscription ID, a GUID.
    resource_group
        Resource group of the vault, as Azure returns it in the vault's resource ID.
    vault_name
        Vault name.

    Returns
    -------
    str
        ``/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>``.

    Raises
    ------
    InvalidIdError
        If `subscription_id` is not a GUID.
    InvalidNameError
        If the resource group or vault name is invalid.

    Examples
    --------
    >>> build_vault_scope(
    ...     "00000000-1111-2222-3333-444444444444", "rg-union-dp", "KV-Demo"
    ... ).rsplit("/", 2)[1:]
    ['vaults', 'kv-demo']
    """
    subscription = validate_guid(subscription_id, "subscription ID")
    group = validate_resource_group_name(resource_group)
    vault = validate_vault_name(vault_name)
    return (
        f"/subscriptions/{subscription}/resourceGroups/{group}"
        f"/providers/{_KEYVAULT_PROVIDER}/vaults/{vault}"
    )


def build_secret_scope(
    subscription_id: str, resource_group: str, vault_name: str, secret_name: str
) -> str:
    """Build the ARM scope of one secret from validated parts.

    The scope never has a version: a role assignment covers every version of the
    secret. Build it from these parts, never from the data-plane URL, which has
    neither the subscription nor the resource group.

    Parameters
    ----------
    subscription_id
        Subscription ID, a GUID.
    resource_group
        Resource group of the vault.
    vault_name
        Vault name.
    secret_name
        Secret name.

    Returns
    -------
    str
        The vault scope followed by ``/secrets/<name>``.

    Raises
    ------
    InvalidIdError
        If `subscription_id` is not a GUID.
    InvalidNameError
        If a name is invalid.

    Examples
    --------
    >>> build_secret_scope(
    ...     "00000000-1111-2222-3333-444444444444", "rg-union-dp", "kv-demo", "db-pass"
    ... ).endswith("/vaults/kv-demo/secrets/db-pass")
    True
    """
    vault_scope = build_vault_scope(subscription_id, resource_group, vault_name)
    return f"{vault_scope}/secrets/{validate_secret_name(secret_name)}"


def build_secret_scope_for_identifier(
    identifier: SecretIdentifier, subscription_id: str, resource_group: str
) -> str:
    """Build the ARM scope of the secret that `identifier` names, without its version.

    Parameters
    ----------
    identifier
        Parsed secret identifier.
    subscription_id
        Subscription ID of the vault.
    resource_group
        Resource group of the vault, as Azure returns it.

    Returns
    -------
    str
        The secret scope.

    Raises
    ------
    InvalidIdError
        If `subscription_id` is not a GUID.
    InvalidNameError
        If `resource_group` is invalid.
    """
    return build_secret_scope(
        subscription_id, resource_group, identifier.vault_name, identifier.name
    )


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


def _check_scope_segments(segments: list[str], shown: str) -> None:
    if len(segments) >= 5 and segments[4].lower() == _KEYVAULT_PROVIDER.lower():
        corrected = "/" + "/".join([*segments[:4], "providers", *segments[4:]])
        reason = "has no /providers/ segment before Microsoft.KeyVault"
        raise _scope_error(shown, reason, _use_instead(corrected))
    for index, expected in _FIXED_SEGMENTS.items():
        if len(segments) <= index:
            break
        if segments[index].lower() != expected.lower():
            reason = (
                f"has '{displayable(segments[index])}' where '{expected}' belongs"
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
            reason = f"ends with the version '{extra}'"
            fix = (
                "Role assignments cover every version of a secret, so a scope has no "
                f"version. {_use_instead(corrected)}"
            )
        else:
            reason = f"has '/{extra}' after the secret name"
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
    characters = _character_problem(raw)
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


# --- role assignment names and identity names ----------------------------------------


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
    if not text.startswith("/") or _character_problem(text) is not None:
        raise InvalidScopeError(
            f"The scope '{displayable(text)}' is invalid because it does not start "
            "with '/' or contains whitespace or non-ASCII characters.",
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
