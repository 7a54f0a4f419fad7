"""Parsing of Key Vault secret identifiers, the portal's "Secret Identifier".

Key Vault compares names case-insensitively, so the parsed vault and secret names
are lowercased.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, replace

from akv_helpers._pasted_identifiers import wrapped_identifier_problem
from akv_helpers._text_checks import (
    _PORTAL_HINT,
    _invisible_problem,
    _non_ascii_problem,
    _quote,
    _require_text,
    _use_instead,
)
from akv_helpers.clouds import (
    CLOUDS,
    PUBLIC,
    Cloud,
    cloud_for_managed_hsm_host,
    cloud_for_vault_host,
)
from akv_helpers.errors import InvalidSecretIdentifierError, displayable
from akv_helpers.names import (
    SECRET_NAME_RULE,
    SECRET_VERSION_RULE,
    VAULT_NAME_RULE,
    _secret_name_fix,
    _secret_name_problem,
    _vault_name_problem,
    _version_problem,
    validate_secret_name,
    validate_secret_version,
    validate_vault_name,
)
from akv_helpers.steps import step_place

__all__ = [
    "SECRET_IDENTIFIER_SHAPE",
    "SecretIdentifier",
    "parse_secret_identifier",
    "require_cloud",
]

SECRET_IDENTIFIER_SHAPE = (
    f"https://<vault>.{PUBLIC.keyvault_dns_suffix}/secrets/<name>[/<version>]"
)
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.IGNORECASE)
_BROKEN_SCHEME = re.compile(r"https?:/*", re.IGNORECASE)
# Bare text shown in the "not a URL" message: it looks like a name, not a value.
_NAME_LIKE = re.compile(r"[a-z][a-z-]{0,62}")
_PERCENT_ESCAPE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)
_PRIVATE_LINK_ZONES = (
    "privatelink.vaultcore.azure.net",
    "privatelink.vaultcore.azure.cn",
    "privatelink.vaultcore.usgovcloudapi.net",
)


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


def _check_characters(raw: str, shown: str) -> None:
    invisible = _invisible_problem(raw)
    if invisible is not None:
        fix = f"Remove the character or copy the identifier again. {_PORTAL_HINT}"
        raise _identifier_error(shown, invisible, fix)
    non_ascii = _non_ascii_problem(raw)
    if non_ascii is not None:
        reason, suggestion = non_ascii
        if suggestion is not None:
            fix = (
                "Type the identifier again by hand: "
                f"{_quote(_mask_userinfo(suggestion))}."
            )
        else:
            fix = "Type the identifier again by hand, using ASCII characters only."
        raise _identifier_error(shown, reason, fix)

    escape = _PERCENT_ESCAPE.search(raw)
    if escape is not None or "%" in raw:
        found = escape.group(0) if escape is not None else "%"
        decoded = _mask_userinfo(urllib.parse.unquote(raw))
        fix = (
            "Paste the identifier as the portal shows it, not URL-encoded. "
            f"Decoded, it reads {_quote(decoded)}."
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
        elif "/" in raw or _NAME_LIKE.fullmatch(raw):
            reason = "is not a URL"
            fix = f"Paste the whole identifier, not only a name. {_PORTAL_HINT}"
        else:
            # Text without '/' or '.' may be a secret value pasted into the
            # wrong field, so the message does not repeat it.
            # NOTE: lowercase words with hyphens count as names and are shown,
            # so a value of that shape, or one containing '/', is shown too.
            raise InvalidSecretIdentifierError(
                f"The secret identifier is not a URL: the text given "
                f"({len(raw)} characters, not shown in case it is a secret value) "
                f"has no 'https://'. Expected {SECRET_IDENTIFIER_SHAPE}.",
                f"Paste the whole identifier, not only a name or a value. "
                f"{_PORTAL_HINT}",
                value="<hidden>",
                expected=SECRET_IDENTIFIER_SHAPE,
            )
        raise _identifier_error(shown, reason, fix)

    scheme, rest = raw.split("://", 1)
    if scheme.lower() == "http":
        reason = "uses http://, but Key Vault accepts only https://"
        raise _identifier_error(shown, reason, _use_instead("https://" + rest))
    if scheme.lower() != "https":
        reason = f"uses the scheme {_quote(scheme + '://')} instead of https://"
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
    if netloc.startswith("["):
        host = netloc.split("]", 1)[0] + "]"
        reason = f"has the IP address {_quote(host)} instead of a vault host"
        fix = (
            f"Key Vault hosts are names such as kv-demo.vault.azure.net. {_PORTAL_HINT}"
        )
        raise _identifier_error(shown, reason, fix)
    if ":" in netloc:
        host, port = netloc.rsplit(":", 1)
        suggestion = _use_instead(without_extras.replace(netloc, host, 1))
        fix = f"Identifiers copied from the portal have no port. {suggestion}"
        raise _identifier_error(shown, f"has a port ({_quote(':' + port)})", fix)
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
            f"points at the Managed HSM {_quote(host)}, and Managed HSM holds keys, "
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
            reason = f"uses the private DNS name {_quote(host)}"
            fix = (
                f"Use the vault's public name {_quote(public)} instead: through the "
                "private DNS zone it resolves to the private endpoint."
            )
            raise _identifier_error(shown, reason, fix)

    found = cloud_for_vault_host(host)
    suffixes = ", ".join(c.keyvault_dns_suffix for c in CLOUDS.values())
    if found is None:
        if host in {c.keyvault_dns_suffix for c in CLOUDS.values()}:
            reason = f"has no vault name before {_quote(host)}"
        else:
            reason = f"has the host {_quote(host)}, which is not a Key Vault host"
        fix = f"Key Vault hosts end in one of {suffixes}. {_PORTAL_HINT}"
        raise _identifier_error(shown, reason, fix)

    vault_name = host.removesuffix("." + found.keyvault_dns_suffix)
    problem = _vault_name_problem(vault_name)
    if problem is not None:
        reason = f"has an invalid vault name {_quote(vault_name)} because it {problem}"
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
            f"of the same name, {_quote(suggestion)}. Use it if the task needs "
            f"the certificate, else copy the secret's identifier. {_PORTAL_HINT}"
        )
        raise _identifier_error(shown, "points at a certificate (/certificates/)", fix)
    if collection == "deletedsecrets":
        vault = base.split("//", 1)[1].split(".", 1)[0]
        fix = (
            "Recover the secret first (in the portal: Secrets, Manage deleted secrets, "
            f"Recover, or `az keyvault secret recover --vault-name "
            f"{displayable(vault)} --name {displayable(name)}`), then copy its Secret "
            "Identifier."
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
        fix = f"Add one version after it, or use {_quote(versionless)} for the latest."
        raise _identifier_error(shown, reason, fix)
    problem = _version_problem(version)
    if problem is not None:
        reason = f"has an invalid version {_quote(version)} because it {problem}"
        fix = (
            f"A version is {SECRET_VERSION_RULE}. Use {_quote(versionless)} for the "
            f"latest version. {_PORTAL_HINT}"
        )
        raise _identifier_error(shown, reason, fix)
    if len(segments) > 3:
        extra = "/".join(segments[3:])
        reason = f"has {_quote('/' + extra)} after the version"
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
        If the text is not a secret identifier. The message names the problem,
        quotes the input and gives the fix, which names the identifier inside
        text that contains one, such as the portal's address of a secret.

    Examples
    --------
    >>> parse_secret_identifier("https://kv-demo.vault.azure.net/secrets/db-pass/").uri
    'https://kv-demo.vault.azure.net/secrets/db-pass'
    """
    raw = _require_text(text, "secret identifier")
    shown = displayable(_mask_userinfo(raw))
    if not raw:
        raise _identifier_error("", "is empty", _PORTAL_HINT)
    wrapped = wrapped_identifier_problem(raw)
    if wrapped is not None:
        raise _identifier_error(shown, *wrapped)
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
        reason = f"has an invalid secret name {_quote(name)} because it {problem}"
        fix = f"Secret names are {SECRET_NAME_RULE}. {_secret_name_fix(suggestion)}"
        raise _identifier_error(shown, reason, fix)
    version = _check_version(segments, shown, base)
    return SecretIdentifier(vault_name, name.lower(), version, cloud, raw)


def require_cloud(identifier: SecretIdentifier, cloud_name: str) -> None:
    """Check that `identifier` names a vault in the cloud the kit is signed in to.

    Parameters
    ----------
    identifier
        Parsed secret identifier.
    cloud_name
        Name of the signed-in cloud, such as ``"AzureCloud"``.

    Raises
    ------
    InvalidSecretIdentifierError
        If the identifier's DNS suffix belongs to another cloud; nothing is sent.
    """
    if identifier.cloud.name == cloud_name:
        return
    raise InvalidSecretIdentifierError(
        f"The secret identifier {_quote(identifier.original)} names a vault in "
        f"{identifier.cloud.name} (DNS suffix {identifier.cloud.keyvault_dns_suffix}), "
        f"but the kit is signed in to {cloud_name}.",
        "Copy the identifier from the vault in the cloud you signed in to, or "
        f"switch the profile's cloud to {identifier.cloud.name} in "
        f"{step_place('start')} and sign in there.",
        value=displayable(identifier.original),
        expected=SECRET_IDENTIFIER_SHAPE,
    )
