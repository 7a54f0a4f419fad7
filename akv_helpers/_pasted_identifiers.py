"""Secret identifiers inside other pasted text, such as an Azure portal address.

The portal's address bar on a secret's page contains the secret's identifier
after the '#', plain or URL-encoded, as in
``https://portal.azure.com/#@contoso.onmicrosoft.com/asset/Microsoft_Azure_KeyVault/Secret/https://kv-demo.vault.azure.net/secrets/db-pass``.
The parser still rejects such text, so that the kit acts only on an identifier
that was pasted as one, but the fix names the identifier found inside. That
suggestion is rebuilt from the validated vault name, secret name and version,
so it repeats no other part of the pasted text.
"""

from __future__ import annotations

import re
import urllib.parse

from akv_helpers._text_checks import _ascii_lookalike, _quote
from akv_helpers.clouds import CHINA, CLOUDS, PUBLIC, US_GOVERNMENT, Cloud
from akv_helpers.names import _secret_name_problem, _vault_name_problem

__all__ = ["wrapped_identifier_problem"]

_SUFFIXES = "|".join(re.escape(c.keyvault_dns_suffix) for c in CLOUDS.values())
_WRAPPED_IDENTIFIER = re.compile(
    # A preceding scheme character, as in "xhttps://", is left to the scheme check.
    rf"(?<![a-z0-9+.-])https?://(?P<vault>[a-z0-9-]+)\.(?P<suffix>{_SUFFIXES})"
    r"/secrets/(?P<name>[a-z0-9-]+)(?:/(?P<version>[0-9a-f]{32}))?"
    # The name or version ends here, not inside a longer or invalid one such as
    # "db_pass", so that the suggestion is never a cut-off name.
    # `_ends_identifier` checks a non-ASCII character after it.
    r"(?![a-z0-9_.~%-])",
    re.IGNORECASE | re.ASCII,
)
# Text that was URL-encoded twice, as a redirect parameter can be, is decoded
# this many times at most.
_MAX_DECODINGS = 3

# Azure portal hosts of the clouds in `akv_helpers.clouds`, as the Microsoft
# identity platform's "National clouds" page lists them. Their subdomains, such
# as ms.portal.azure.com, count as the same portal.
_PORTAL_DOMAINS = {
    "portal.azure.com": PUBLIC,
    "portal.azure.cn": CHINA,
    "portal.azure.us": US_GOVERNMENT,
}
_LEADING_HOST = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:/+)?(?P<host>[a-z0-9.-]+)(?=[/?#:]|$)",
    re.IGNORECASE | re.ASCII,
)

_PORTAL_REASON = "is the address of an Azure portal page, not a Secret Identifier"
_VERSION_PAGE = "Key Vault → Secrets → the secret → the current version"


def _portal_cloud(text: str) -> Cloud | None:
    """Return the cloud whose Azure portal `text` is an address of, if any."""
    match = _LEADING_HOST.match(text)
    if match is None:
        return None
    host = match.group("host").lower().rstrip(".")
    for domain, cloud in _PORTAL_DOMAINS.items():
        if host == domain or host.endswith("." + domain):
            return cloud
    return None


def _decodings(text: str) -> list[str]:
    """Return `text` and each further percent-decoding of it that differs."""
    decodings = [text]
    for _ in range(_MAX_DECODINGS):
        decoded = urllib.parse.unquote(decodings[-1])
        if decoded == decodings[-1]:
            break
        decodings.append(decoded)
    return decodings


def _ends_identifier(text: str, end: int) -> bool:
    """Tell whether an identifier found in `text` can end at index `end`.

    The pattern has checked an ASCII character there. Of the others, quotation
    marks and brackets can end an identifier. Letters, digits, look-alikes of
    ASCII characters such as an en dash, and invisible characters cannot,
    because they are more likely a broken part of the name.
    """
    character = text[end : end + 1]
    if not character or character.isascii():
        return True
    return (
        character.isprintable()
        and not character.isspace()
        and not character.isalnum()
        and _ascii_lookalike(character) is None
    )


def _canonical_uri(match: re.Match[str]) -> str | None:
    """Return the secret URI that `match` names, or ``None`` if a name is invalid."""
    vault, name = match.group("vault").lower(), match.group("name").lower()
    if _vault_name_problem(vault) is not None:
        return None
    if _secret_name_problem(name) is not None:
        return None
    suffix = match.group("suffix").lower()
    uri = f"https://{vault}.{suffix}/secrets/{name}"
    version = match.group("version")
    return uri if version is None else f"{uri}/{version.lower()}"


def _find_wrapped_identifier(text: str) -> tuple[str, bool] | None:
    """Find a secret identifier that starts inside `text`, plain or URL-encoded.

    Returns
    -------
    tuple[str, bool] or None
        The identifier's URI and whether it was URL-encoded. ``None`` when no
        identifier is found, or when `text` starts with one or with characters
        that are only whitespace, control or invisible ones: the parser's other
        checks give a more precise fix for those.
    """
    for depth, candidate in enumerate(_decodings(text)):
        for match in _WRAPPED_IDENTIFIER.finditer(candidate):
            prefix = candidate[: match.start()]
            if not any(c.isprintable() and not c.isspace() for c in prefix):
                return None
            if not _ends_identifier(candidate, match.end()):
                continue
            uri = _canonical_uri(match)
            if uri is not None:
                return uri, depth > 0
    return None


def wrapped_identifier_problem(text: str) -> tuple[str, str] | None:
    """Return why `text` is a portal address or wraps an identifier, and the fix.

    Parameters
    ----------
    text
        The pasted text, without surrounding whitespace.

    Returns
    -------
    tuple[str, str] or None
        The reason, to follow "The secret identifier '…'", and the fix. The
        fix names the identifier found inside `text`, or gives the path to
        the Secret Identifier in the portal. ``None`` when `text` is neither a
        portal address nor text around an identifier.
    """
    portal = _portal_cloud(text)
    found = _find_wrapped_identifier(text)
    if found is not None:
        uri, encoded = found
        if portal is not None:
            reason = _PORTAL_REASON
        elif encoded:
            reason = "contains a URL-encoded secret identifier inside other text"
        else:
            reason = "contains a secret identifier inside other text"
        fix = (
            f"Did you mean {_quote(uri)}? Copy the Secret Identifier from the "
            f"secret's version page in the portal ({_VERSION_PAGE} → \"Secret "
            'Identifier").'
        )
        return reason, fix
    if portal is None:
        return None
    fix = (
        f'In the portal, open {_VERSION_PAGE}, and copy "Secret Identifier" from '
        f"that page. It starts with https://<vault>.{portal.keyvault_dns_suffix}"
        "/secrets/."
    )
    return _PORTAL_REASON, fix
