"""Tests for secret identifiers, names and IDs in akv_helpers.identifiers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from akv_helpers.clouds import CHINA, PUBLIC, US_GOVERNMENT
from akv_helpers.errors import (
    InvalidIdError,
    InvalidNameError,
    InvalidSecretIdentifierError,
)
from akv_helpers.identifiers import (
    GUID_SHAPE,
    IDENTITY_NAME_RULE,
    RESOURCE_GROUP_NAME_RULE,
    SECRET_IDENTIFIER_SHAPE,
    SECRET_NAME_RULE,
    SECRET_VERSION_RULE,
    VAULT_NAME_RULE,
    SecretIdentifier,
    filter_value,
    is_union_identity_name,
    parse_secret_identifier,
    suggest_secret_name,
    validate_guid,
    validate_identity_name,
    validate_resource_group_name,
    validate_secret_name,
    validate_secret_version,
    validate_vault_name,
)

VAULT = "https://kv-demo.vault.azure.net"
GROUP = f"{VAULT}/secrets/db-pass"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PINNED = f"{GROUP}/{VERSION}"
PORTAL_STEP = '"Secret Identifier"'


# --- parse_secret_identifier: good inputs ------------------------------------------

GOOD_IDENTIFIERS = [
    pytest.param(GROUP, "kv-demo", "db-pass", None, PUBLIC, id="versionless"),
    pytest.param(
        PINNED, "kv-demo", "db-pass", VERSION, PUBLIC, id="reported-portal-versioned"
    ),
    pytest.param(
        GROUP + "/", "kv-demo", "db-pass", None, PUBLIC, id="reported-trailing-slash"
    ),
    pytest.param(
        f"  {GROUP}/ \n", "kv-demo", "db-pass", None, PUBLIC, id="surrounding-space"
    ),
    pytest.param(
        f"\t{PINNED}\r\n", "kv-demo", "db-pass", VERSION, PUBLIC, id="pasted-newline"
    ),
    pytest.param(
        PINNED + "/", "kv-demo", "db-pass", VERSION, PUBLIC, id="versioned-slash"
    ),
    pytest.param(
        "https://KV-Demo.Vault.Azure.Net/secrets/DB-Pass/0F1E2D3C4B5A69788796A5B4C3D2E1F0",
        "kv-demo",
        "db-pass",
        VERSION,
        PUBLIC,
        id="uppercase-folded",
    ),
    pytest.param(
        "HTTPS://kv-demo.vault.azure.net/Secrets/db-pass",
        "kv-demo",
        "db-pass",
        None,
        PUBLIC,
        id="uppercase-scheme-and-collection",
    ),
    pytest.param(
        "https://kv-demo.vault.azure.cn/secrets/db-pass",
        "kv-demo",
        "db-pass",
        None,
        CHINA,
        id="china-cloud",
    ),
    pytest.param(
        f"https://kv-demo.vault.usgovcloudapi.net/secrets/db-pass/{VERSION}",
        "kv-demo",
        "db-pass",
        VERSION,
        US_GOVERNMENT,
        id="us-government-cloud",
    ),
    pytest.param(
        "https://kv-demo.vault.azure.net./secrets/db-pass",
        "kv-demo",
        "db-pass",
        None,
        PUBLIC,
        id="host-trailing-dot",
    ),
    pytest.param(
        "https://abc.vault.azure.net/secrets/a", "abc", "a", None, PUBLIC, id="shortest"
    ),
    pytest.param(
        f"https://{'a' * 24}.vault.azure.net/secrets/{'b' * 127}",
        "a" * 24,
        "b" * 127,
        None,
        PUBLIC,
        id="longest-names",
    ),
    pytest.param(
        "https://kv1-2x.vault.azure.net/secrets/123-abc",
        "kv1-2x",
        "123-abc",
        None,
        PUBLIC,
        id="digits-in-names",
    ),
]


@pytest.mark.parametrize(
    ("text", "vault", "name", "version", "cloud"), GOOD_IDENTIFIERS
)
def test_parse_identifier_good(
    text: str, vault: str, name: str, version: str | None, cloud: object
) -> None:
    identifier = parse_secret_identifier(text)

    assert identifier.vault_name == vault
    assert identifier.name == name
    assert identifier.version == version
    assert identifier.cloud == cloud
    assert identifier.original == text.strip()


def test_parse_portal_identifier_with_version() -> None:
    identifier = parse_secret_identifier(PINNED)

    assert identifier.vault_url == VAULT
    assert identifier.group_uri == GROUP
    assert identifier.uri == PINNED
    assert str(identifier) == PINNED
    assert identifier.had_uppercase is False


def test_parse_identifier_trailing_slash_group_uri() -> None:
    identifier = parse_secret_identifier(GROUP + "/")

    assert identifier.version is None
    assert identifier.group_uri == GROUP
    assert identifier.uri == GROUP
    assert not identifier.group_uri.endswith("/")


def test_parse_identifier_keeps_had_uppercase() -> None:
    identifier = parse_secret_identifier(
        "https://KV-demo.vault.azure.net/secrets/db-pass"
    )

    assert identifier.had_uppercase is True
    assert identifier.vault_host == "kv-demo.vault.azure.net"


def test_identifier_with_version_pins_and_unpins() -> None:
    latest = parse_secret_identifier(GROUP)

    pinned = latest.with_version(VERSION.upper())

    assert pinned.uri == PINNED
    assert pinned.with_version(None).uri == GROUP


def test_identifier_constructor_validates() -> None:
    with pytest.raises(InvalidNameError):
        SecretIdentifier(vault_name="kv_demo", name="db-pass")
    with pytest.raises(InvalidNameError):
        SecretIdentifier(vault_name="kv-demo", name="db-pass", version="abc")


# --- parse_secret_identifier: bad inputs -------------------------------------------

BAD_IDENTIFIERS = [
    pytest.param("", "", "is empty", PORTAL_STEP, id="empty"),
    pytest.param("   \n", "", "is empty", PORTAL_STEP, id="only-whitespace"),
    pytest.param(
        f"{PINNED}/extra",
        f"{PINNED}/extra",
        "'/extra' after the version",
        f"Use '{PINNED}' instead",
        id="extra-segment",
    ),
    pytest.param(
        f"{PINNED}/pending",
        f"{PINNED}/pending",
        "'/pending' after the version",
        f"Use '{PINNED}' instead",
        id="pending-after-version",
    ),
    pytest.param(
        f"{GROUP}/pending",
        f"{GROUP}/pending",
        "certificate operation",
        f"Use '{GROUP}' instead",
        id="pending-as-version",
    ),
    pytest.param(
        f"{GROUP}/versions",
        f"{GROUP}/versions",
        "lists versions",
        GROUP,
        id="versions-list",
    ),
    pytest.param(
        "http://kv-demo.vault.azure.net/secrets/db-pass",
        "http://kv-demo.vault.azure.net/secrets/db-pass",
        "uses http://",
        f"Use '{GROUP}' instead",
        id="http-scheme",
    ),
    pytest.param(
        "ftp://kv-demo.vault.azure.net/secrets/db-pass",
        "ftp://kv-demo.vault.azure.net/secrets/db-pass",
        "scheme 'ftp://'",
        f"Use '{GROUP}' instead",
        id="other-scheme",
    ),
    pytest.param(
        "kv-demo.vault.azure.net/secrets/db-pass",
        "kv-demo.vault.azure.net/secrets/db-pass",
        "has no scheme",
        f"Use '{GROUP}' instead",
        id="no-scheme",
    ),
    pytest.param("db-pass", "db-pass", "is not a URL", PORTAL_STEP, id="bare-name"),
    pytest.param(
        "https://kv-demo.vault.azure.net:443/secrets/db-pass",
        "https://kv-demo.vault.azure.net:443/secrets/db-pass",
        "has a port (':443')",
        f"Use '{GROUP}' instead",
        id="port",
    ),
    pytest.param(
        "https://user:hunter2@kv-demo.vault.azure.net/secrets/db-pass",
        "https://***@kv-demo.vault.azure.net/secrets/db-pass",
        "user name",
        f"Use '{GROUP}' instead",
        id="userinfo-masked",
    ),
    pytest.param(
        f"{GROUP}?api-version=7.4",
        f"{GROUP}?api-version=7.4",
        "query string",
        f"Use '{GROUP}' instead",
        id="query",
    ),
    pytest.param(f"{GROUP}?", f"{GROUP}?", "query string", GROUP, id="empty-query"),
    pytest.param(
        f"{GROUP}#section", f"{GROUP}#section", "has a fragment", GROUP, id="fragment"
    ),
    pytest.param(
        "https://kv-demo.vault.azure.com/secrets/db-pass",
        "https://kv-demo.vault.azure.com/secrets/db-pass",
        "not a Key Vault host",
        "vault.azure.net, vault.azure.cn, vault.usgovcloudapi.net",
        id="unknown-suffix",
    ),
    pytest.param(
        "https://kv-demo.vault.microsoftazure.de/secrets/db-pass",
        "https://kv-demo.vault.microsoftazure.de/secrets/db-pass",
        "not a Key Vault host",
        "vault.azure.net",
        id="retired-germany-cloud",
    ),
    pytest.param(
        "https://vault.azure.net/secrets/db-pass",
        "https://vault.azure.net/secrets/db-pass",
        "no vault name",
        "vault.azure.net",
        id="suffix-without-vault",
    ),
    pytest.param(
        "https://hsm-demo.managedhsm.azure.net/keys/k1",
        "https://hsm-demo.managedhsm.azure.net/keys/k1",
        "Managed HSM holds keys, not secrets",
        ".vault.azure.net",
        id="managed-hsm",
    ),
    pytest.param(
        "https://hsm-demo.managedhsm.azure.cn/secrets/db-pass",
        "https://hsm-demo.managedhsm.azure.cn/secrets/db-pass",
        "Managed HSM holds keys, not secrets",
        ".vault.azure.cn",
        id="managed-hsm-china",
    ),
    pytest.param(
        "https://kv-demo.privatelink.vaultcore.azure.net/secrets/db-pass",
        "https://kv-demo.privatelink.vaultcore.azure.net/secrets/db-pass",
        "private DNS name",
        "'kv-demo.vault.azure.net'",
        id="private-link-name",
    ),
    pytest.param(
        "https://kv_demo.vault.azure.net/secrets/db-pass",
        "https://kv_demo.vault.azure.net/secrets/db-pass",
        "invalid vault name 'kv_demo'",
        "3–24 letters",
        id="vault-underscore",
    ),
    pytest.param(
        "https://kv--demo.vault.azure.net/secrets/db-pass",
        "https://kv--demo.vault.azure.net/secrets/db-pass",
        "two hyphens in a row",
        "3–24 letters",
        id="vault-double-hyphen",
    ),
    pytest.param(
        "https://kv.vault.azure.net/secrets/db-pass",
        "https://kv.vault.azure.net/secrets/db-pass",
        "2 characters long",
        "3–24 letters",
        id="vault-too-short",
    ),
    pytest.param(
        "https://1kv.vault.azure.net/secrets/db-pass",
        "https://1kv.vault.azure.net/secrets/db-pass",
        "does not start with a letter",
        "3–24 letters",
        id="vault-starts-with-digit",
    ),
    pytest.param(
        f"{VAULT}/keys/db-pass",
        f"{VAULT}/keys/db-pass",
        "points at a key (/keys/)",
        "Open Secrets",
        id="keys-path",
    ),
    pytest.param(
        f"{VAULT}/certificates/web-cert",
        f"{VAULT}/certificates/web-cert",
        "points at a certificate",
        f"'{VAULT}/secrets/web-cert'",
        id="certificates-path",
    ),
    pytest.param(
        f"{VAULT}/deletedsecrets/db-pass",
        f"{VAULT}/deletedsecrets/db-pass",
        "deleted secret",
        "az keyvault secret recover --vault-name kv-demo --name db-pass",
        id="deleted-secret",
    ),
    pytest.param(
        f"{VAULT}/storage/account1",
        f"{VAULT}/storage/account1",
        "storage account",
        "Open Secrets",
        id="storage-path",
    ),
    pytest.param(
        f"{VAULT}/blobs/db-pass",
        f"{VAULT}/blobs/db-pass",
        "instead of /secrets/",
        PORTAL_STEP,
        id="unknown-collection",
    ),
    pytest.param(VAULT, VAULT, "no path", "not the vault URI", id="vault-uri-only"),
    pytest.param(
        VAULT + "/", VAULT + "/", "no path", PORTAL_STEP, id="vault-uri-slash"
    ),
    pytest.param(
        f"{VAULT}/secrets/",
        f"{VAULT}/secrets/",
        "no secret name after /secrets/",
        "Add the secret name",
        id="secrets-without-name",
    ),
    pytest.param(
        f"{VAULT}/secrets",
        f"{VAULT}/secrets",
        "no secret name after /secrets/",
        PORTAL_STEP,
        id="secrets-without-slash",
    ),
    pytest.param(
        f"{VAULT}/secrets//db-pass",
        f"{VAULT}/secrets//db-pass",
        "empty path segment",
        f"Use '{GROUP}' instead",
        id="double-slash",
    ),
    pytest.param(
        f"{GROUP}//",
        f"{GROUP}//",
        "empty path segment",
        f"Use '{GROUP}' instead",
        id="two-trailing-slashes",
    ),
    pytest.param(
        f"{VAULT}/secrets/db_password",
        f"{VAULT}/secrets/db_password",
        "contains '_'",
        "probably named 'db-password'",
        id="reported-underscore-name",
    ),
    pytest.param(
        f"{VAULT}/secrets/db.password",
        f"{VAULT}/secrets/db.password",
        "contains '.'",
        "probably named 'db-password'",
        id="period-in-name",
    ),
    pytest.param(
        f"{VAULT}/secrets/db$pass",
        f"{VAULT}/secrets/db$pass",
        "contains '$'",
        "1–127 letters, digits and hyphens",
        id="dollar-in-name",
    ),
    pytest.param(
        f"{VAULT}/secrets/{'a' * 128}",
        f"{VAULT}/secrets/{'a' * 128}",
        "128 characters long",
        "1–127",
        id="name-too-long",
    ),
    pytest.param(
        f"{GROUP}/abc123",
        f"{GROUP}/abc123",
        "6 characters long instead of 32",
        f"Use '{GROUP}' for the latest version",
        id="version-too-short",
    ),
    pytest.param(
        f"{GROUP}/{VERSION}00",
        f"{GROUP}/{VERSION}00",
        "34 characters long instead of 32",
        "32 hexadecimal characters",
        id="version-too-long",
    ),
    pytest.param(
        f"{GROUP}/0f1e2d3c4b5a69788796a5b4c3d2e1fz",
        f"{GROUP}/0f1e2d3c4b5a69788796a5b4c3d2e1fz",
        "'z', which is not a hexadecimal digit",
        "32 hexadecimal characters",
        id="version-not-hex",
    ),
    pytest.param(
        f"{VAULT}/secrets/db pass",
        f"{VAULT}/secrets/db pass",
        "a space (SPACE, U+0020), at position 43",
        PORTAL_STEP,
        id="space-inside",
    ),
    pytest.param(
        f"{VAULT}/secrets/db\tpass",
        f"{VAULT}/secrets/db\\tpass",
        "'\\t' (U+0009), at position 43",
        "Remove the character",
        id="tab-inside",
    ),
    pytest.param(
        f"{VAULT}/secrets/db\npass",
        f"{VAULT}/secrets/db\\npass",
        "whitespace, '\\n'",
        "Remove the character",
        id="newline-inside",
    ),
    pytest.param(
        f"{VAULT}/secrets/db\x07pass",
        f"{VAULT}/secrets/db\\x07pass",
        "control character, '\\x07'",
        "Remove the character",
        id="bell-inside",
    ),
    pytest.param(
        f"{VAULT}/secrets/db\x00pass",
        f"{VAULT}/secrets/db\\x00pass",
        "control character, '\\x00'",
        "Remove the character",
        id="nul-inside",
    ),
    pytest.param(
        f"{VAULT}/secrets/db\u200bpass",
        f"{VAULT}/secrets/db\\u200bpass",
        "ZERO WIDTH SPACE, U+200B",
        "Remove the character",
        id="zero-width-space",
    ),
    pytest.param(
        f"\ufeff{GROUP}",
        f"\\ufeff{GROUP}",
        "at position 1",
        "Remove the character",
        id="byte-order-mark",
    ),
    pytest.param(
        f"{VAULT}/secrets/db\u00a0pass",
        f"{VAULT}/secrets/db\\xa0pass",
        "NO-BREAK SPACE, U+00A0",
        "Remove the character",
        id="no-break-space",
    ),
    pytest.param(
        "https://kv-dеmo.vault.azure.net/secrets/db-pass",
        "https://kv-dеmo.vault.azure.net/secrets/db-pass",
        "CYRILLIC SMALL LETTER IE, U+0435) at position 13, which looks like 'e'",
        f"'{GROUP}'",
        id="cyrillic-e-in-vault",
    ),
    pytest.param(
        f"{VAULT}/secrets/db-pаss",
        f"{VAULT}/secrets/db-pаss",
        "CYRILLIC SMALL LETTER A, U+0430) at position 45",
        f"'{GROUP}'",
        id="cyrillic-a-in-name",
    ),
    pytest.param(
        f"{VAULT}/secrets/db–pass",
        f"{VAULT}/secrets/db–pass",
        "EN DASH, U+2013",
        f"'{GROUP}'",
        id="en-dash-in-name",
    ),
    pytest.param(
        f"{VAULT}/secrets/db-pass／{VERSION}",
        f"{VAULT}/secrets/db-pass／{VERSION}",
        "FULLWIDTH SOLIDUS",
        f"'{PINNED}'",
        id="fullwidth-slash",
    ),
    pytest.param(
        f"{VAULT}/secrets/db-päss",
        f"{VAULT}/secrets/db-päss",
        "LATIN SMALL LETTER A WITH DIAERESIS",
        "ASCII",
        id="accented-letter",
    ),
    pytest.param(
        f"{VAULT}/secrets/db%2Fpass",
        f"{VAULT}/secrets/db%2Fpass",
        "percent-encoding '%2F'",
        "'https://kv-demo.vault.azure.net/secrets/db/pass'",
        id="percent-encoded-slash",
    ),
    pytest.param(
        "https%3A%2F%2Fkv-demo.vault.azure.net%2Fsecrets%2Fdb-pass",
        "https%3A%2F%2Fkv-demo.vault.azure.net%2Fsecrets%2Fdb-pass",
        "percent-encoding '%3A'",
        f"'{GROUP}'",
        id="fully-url-encoded",
    ),
    pytest.param(
        f"{VAULT}/secrets/db%0Apass",
        f"{VAULT}/secrets/db%0Apass",
        "percent-encoding '%0A'",
        "db\\npass",
        id="percent-encoded-newline-escaped",
    ),
    pytest.param(
        "https:/kv-demo.vault.azure.net/secrets/db-pass",
        "https:/kv-demo.vault.azure.net/secrets/db-pass",
        "does not start with 'https://'",
        f"Use '{GROUP}' instead",
        id="single-slash-after-scheme",
    ),
    pytest.param(
        "https:///secrets/db-pass",
        "https:///secrets/db-pass",
        "no host",
        PORTAL_STEP,
        id="no-host",
    ),
]


@pytest.mark.parametrize(("text", "shown", "reason", "fix"), BAD_IDENTIFIERS)
def test_parse_identifier_bad(text: str, shown: str, reason: str, fix: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    error = caught.value
    message = str(error)
    assert f"'{shown}'" in message
    assert reason in error.message
    assert SECRET_IDENTIFIER_SHAPE in message
    assert fix in error.fix
    assert error.fix in message
    assert error.value == shown
    assert error.expected == SECRET_IDENTIFIER_SHAPE


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{VAULT}/secrets/db\x1bpass", id="escape"),
        pytest.param(f"{VAULT}/secrets/db\rpass", id="carriage-return"),
        pytest.param(f"{VAULT}/secrets/db\x7fpass", id="delete"),
        pytest.param(f"{VAULT}/secrets/db%0Dpass", id="percent-carriage-return"),
    ],
)
def test_parse_identifier_never_shows_control_characters(text: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    message = str(caught.value)
    assert all(c.isprintable() for c in message)
    assert all(c.isprintable() for c in caught.value.value)


def test_parse_identifier_userinfo_password_hidden() -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier("https://me:hunter2@kv-demo.vault.azure.net/secrets/x")

    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in caught.value.value
    assert "hunter2" not in repr(caught.value)


def test_parse_identifier_rejects_non_text() -> None:
    with pytest.raises(ValueError, match="must be text"):
        parse_secret_identifier(None)  # type: ignore[arg-type]


def test_parse_identifier_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        parse_secret_identifier("http://kv-demo.vault.azure.net/secrets/db-pass")


# --- names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("kv-demo", "kv-demo", id="plain"),
        pytest.param(" KV-Demo ", "kv-demo", id="folded-and-stripped"),
        pytest.param("abc", "abc", id="three-characters"),
        pytest.param("a" * 24, "a" * 24, id="twenty-four-characters"),
        pytest.param("kv1", "kv1", id="ends-with-digit"),
    ],
)
def test_validate_vault_name_good(name: str, expected: str) -> None:
    assert validate_vault_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("kv", "2 characters long", id="too-short"),
        pytest.param("a" * 25, "25 characters long", id="too-long"),
        pytest.param("1kv-demo", "does not start with a letter", id="leading-digit"),
        pytest.param("-kvdemo", "does not start with a letter", id="leading-hyphen"),
        pytest.param("kv-demo-", "ends with a hyphen", id="trailing-hyphen"),
        pytest.param("kv--demo", "two hyphens in a row", id="double-hyphen"),
        pytest.param("kv_demo", "contains '_'", id="underscore"),
        pytest.param("kv.demo", "contains '.'", id="period"),
        pytest.param("kv-dеmo", "CYRILLIC SMALL LETTER IE", id="cyrillic-e"),
    ],
)
def test_validate_vault_name_bad(name: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_vault_name(name)

    assert f"'{name}'" in str(caught.value)
    assert reason in caught.value.message
    assert VAULT_NAME_RULE in str(caught.value)
    assert caught.value.fix


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("db-pass", "db-pass", id="plain"),
        pytest.param("DB-Pass", "db-pass", id="folded"),
        pytest.param("1", "1", id="one-digit"),
        pytest.param("-", "-", id="only-hyphen"),
        pytest.param("x" * 127, "x" * 127, id="max-length"),
    ],
)
def test_validate_secret_name_good(name: str, expected: str) -> None:
    assert validate_secret_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason", "fix"),
    [
        pytest.param("", "is empty", PORTAL_STEP, id="empty"),
        pytest.param("x" * 128, "128 characters long", PORTAL_STEP, id="too-long"),
        pytest.param(
            "db_password",
            "contains '_'",
            "probably named 'db-password'",
            id="underscore",
        ),
        pytest.param("db password", "whitespace", "'db password'", id="space-inside"),
        pytest.param("db/pass", "contains '/'", PORTAL_STEP, id="slash"),
        pytest.param(GROUP, "is a URL", "parse_secret_identifier", id="url-given"),
        pytest.param("db-pаss", "CYRILLIC SMALL LETTER A", "'db-pass'", id="cyrillic"),
    ],
)
def test_validate_secret_name_bad(name: str, reason: str, fix: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_secret_name(name)

    assert f"'{name[:200]}" in str(caught.value)
    assert reason in caught.value.message
    assert SECRET_NAME_RULE in str(caught.value)
    assert fix in caught.value.fix or fix in caught.value.message


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("db_password", "db-password", id="underscore"),
        pytest.param("db password", "db-password", id="space"),
        pytest.param("DB.Password", "db-password", id="period-and-case"),
        pytest.param("db-password", None, id="already-valid"),
        pytest.param("db$pass", None, id="no-simple-fix"),
    ],
)
def test_suggest_secret_name(name: str, expected: str | None) -> None:
    assert suggest_secret_name(name) == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param(VERSION, VERSION, id="lowercase"),
        pytest.param(VERSION.upper(), VERSION, id="uppercase-folded"),
        pytest.param(f" {VERSION} ", VERSION, id="stripped"),
    ],
)
def test_validate_secret_version_good(version: str, expected: str) -> None:
    assert validate_secret_version(version) == expected


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param(VERSION[:31], "31 characters long", id="thirty-one"),
        pytest.param(VERSION + "0", "33 characters long", id="thirty-three"),
        pytest.param("g" * 32, "'g', which is not a hexadecimal digit", id="not-hex"),
        pytest.param("latest", "which are not hexadecimal digits", id="word-latest"),
    ],
)
def test_validate_secret_version_bad(version: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_secret_version(version)

    assert f"'{version}'" in str(caught.value)
    assert reason in caught.value.message
    assert SECRET_VERSION_RULE in str(caught.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("rg-union-dp", "rg-union-dp", id="plain"),
        pytest.param("RG_Union.dp(1)", "RG_Union.dp(1)", id="all-allowed-kinds"),
        pytest.param("r", "r", id="one-character"),
        pytest.param("r" * 90, "r" * 90, id="ninety-characters"),
        pytest.param("rg-café", "rg-café", id="unicode-letter"),
    ],
)
def test_validate_resource_group_name_good(name: str, expected: str) -> None:
    assert validate_resource_group_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("r" * 91, "91 characters long", id="too-long"),
        pytest.param("rg-union.", "ends with a period", id="trailing-period"),
        pytest.param("rg/union", "'/'", id="slash"),
        pytest.param("rg union", "a space", id="space"),
        pytest.param("rg'union", '"\'" (APOSTROPHE', id="quote"),
    ],
)
def test_validate_resource_group_name_bad(name: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_resource_group_name(name)

    assert f"'{name}'" in str(caught.value)
    assert reason in caught.value.message
    assert RESOURCE_GROUP_NAME_RULE in str(caught.value)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("userflyterole", "userflyterole", id="union-default"),
        pytest.param("ci_deployer-2", "ci_deployer-2", id="underscore-and-hyphen"),
        pytest.param("1ab", "1ab", id="leading-digit"),
        pytest.param("a" * 128, "a" * 128, id="max-length"),
    ],
)
def test_validate_identity_name_good(name: str, expected: str) -> None:
    assert validate_identity_name(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("ab", "2 characters long", id="too-short"),
        pytest.param("a" * 129, "129 characters long", id="too-long"),
        pytest.param(
            "_identity", "does not start with a letter or digit", id="leading"
        ),
        pytest.param("id.entity", "'.'", id="period"),
        pytest.param("", "is empty", id="empty"),
    ],
)
def test_validate_identity_name_bad(name: str, reason: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_identity_name(name)

    assert reason in caught.value.message
    assert IDENTITY_NAME_RULE in str(caught.value)


# --- GUIDs and $filter values --------------------------------------------------------

PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(PRINCIPAL, PRINCIPAL, id="canonical"),
        pytest.param(PRINCIPAL.upper(), PRINCIPAL, id="uppercase"),
        pytest.param(f"  {PRINCIPAL}\n", PRINCIPAL, id="stripped"),
        pytest.param(
            "bbbbbbbb000040008000000000000002", PRINCIPAL, id="reported-without-dashes"
        ),
        pytest.param(
            "BBBBBBBB000040008000000000000002", PRINCIPAL, id="no-dashes-upper"
        ),
        pytest.param(
            "aaaaaaaa-0000-4000-8000-000000000001",
            "aaaaaaaa-0000-4000-8000-000000000001",
            id="client-id",
        ),
    ],
)
def test_validate_guid_good(value: str, expected: str) -> None:
    assert validate_guid(value, "principal ID") == expected


@pytest.mark.parametrize(
    ("value", "reason", "fix"),
    [
        pytest.param("", "is empty", "Copy the principal ID", id="empty"),
        pytest.param(
            PRINCIPAL[:-1], "31 hexadecimal digits", "Copy the principal ID", id="short"
        ),
        pytest.param(
            PRINCIPAL + "0", "33 hexadecimal digits", "Copy the principal ID", id="long"
        ),
        pytest.param(
            "bbbbbbbb0-000-4000-8000-000000000002",
            "hyphens in the wrong places",
            "Copy the principal ID",
            id="misplaced-hyphen",
        ),
        pytest.param(
            "{" + PRINCIPAL + "}", "wrapped in braces", f"'{PRINCIPAL}'", id="braces"
        ),
        pytest.param(
            "x' or principalId ne 'y",
            '"\'" (APOSTROPHE',
            "Copy the principal ID",
            id="quote-injection",
        ),
        pytest.param(
            f"{PRINCIPAL}' or principalId ne '{PRINCIPAL}",
            '"\'" (APOSTROPHE',
            "Copy the principal ID",
            id="injection-with-guids",
        ),
        pytest.param(
            f"/subscriptions/{PRINCIPAL}",
            "'/'",
            "A resource ID does not contain the principal ID",
            id="resource-id-given",
        ),
        pytest.param(
            "bbbbbbbb-0000-4000-8000-00000000000g", "'g'", "Copy", id="non-hex-letter"
        ),
        pytest.param(
            "bbbbbbbb-0000-4000-8000-0000000000٠2",
            "ARABIC-INDIC DIGIT ZERO",
            "Copy",
            id="arabic-digit",
        ),
    ],
)
def test_validate_guid_bad(value: str, reason: str, fix: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        validate_guid(value, "principal ID")

    message = str(caught.value)
    assert "principal ID" in caught.value.message
    assert f"'{value}'" in message
    assert reason in caught.value.message
    assert GUID_SHAPE in message
    assert fix in caught.value.fix


def test_validate_guid_names_what() -> None:
    with pytest.raises(InvalidIdError, match="subscription ID 'nope'"):
        validate_guid("nope", "subscription ID")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("x' or principalId ne 'y", id="or-clause"),
        pytest.param("' or 1 eq 1 or '", id="tautology"),
        pytest.param(f"{PRINCIPAL}'", id="trailing-quote"),
        pytest.param(f"{PRINCIPAL} or true", id="trailing-operator"),
        pytest.param("atScope()", id="function-call"),
    ],
)
def test_filter_value_rejects_injection(value: str) -> None:
    with pytest.raises(InvalidIdError):
        filter_value(value)


def test_filter_value_returns_canonical_guid() -> None:
    assert filter_value(PRINCIPAL.upper()) == PRINCIPAL
    assert filter_value(PRINCIPAL.replace("-", "")) == PRINCIPAL


# --- Union identity names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("userflyterole", True, id="exact"),
        pytest.param("UserFlyteRole", True, id="exact-mixed-case"),
        pytest.param("acme-userflyterole", True, id="org-prefix"),
        pytest.param("acme-prod-USERFLYTEROLE", True, id="org-prefix-upper"),
        pytest.param("flyteuser", True, id="flyteuser-exact"),
        pytest.param("flyteuser-acme", True, id="flyteuser-prefixed"),
        pytest.param("FlyteUser1", True, id="flyteuser-upper"),
        pytest.param("myuserflyterole", False, id="joined-prefix"),
        pytest.param("userflyterole-old", False, id="suffix-after"),
        pytest.param("-userflyterole", False, id="empty-prefix"),
        pytest.param("ci-deployer", False, id="other-identity"),
        pytest.param("userflyter0le", False, id="near-miss"),
        pytest.param("my-flyteuser", False, id="flyteuser-inside"),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_union_identity_name(name: str, expected: bool) -> None:
    assert is_union_identity_name(name) is expected


# --- purity --------------------------------------------------------------------------


def test_identifiers_import_is_pure() -> None:
    code = (
        "import json, sys\n"
        "import akv_helpers.identifiers, akv_helpers.profile, akv_helpers.clouds\n"
        "roots = ('azure', 'ipywidgets', 'flytekit')\n"
        "found = [m for m in sys.modules if m.split('.')[0] in roots]\n"
        "print(json.dumps(sorted(found)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout) == []


# --- long input in messages --------------------------------------------------------

LONG = "a" * 100_000
LONG_BAD = "z" * 100_000
# A message quoting 100 kB of input must stay this short.
MAX_MESSAGE_LENGTH = 2_000

LONG_IDENTIFIERS = [
    pytest.param(f"{VAULT}/secrets/{LONG}", "more than 127", id="name"),
    pytest.param(f"{VAULT}/secrets/db_{LONG}", "more than 127", id="name-bad-chars"),
    pytest.param(f"https://{LONG}.example.com/secrets/x", "not a Key Vault", id="host"),
    pytest.param(f"https://{LONG}.managedhsm.azure.net/secrets/x", "HSM", id="hsm"),
    pytest.param(
        f"https://{LONG}.privatelink.vaultcore.azure.net/secrets/x",
        "private DNS",
        id="private-link",
    ),
    pytest.param(
        f"https://{LONG}.vault.azure.net/secrets/x", "invalid vault name", id="vault"
    ),
    pytest.param(f"{GROUP}/{LONG}", "invalid version", id="version"),
    pytest.param(f"{GROUP}/{LONG_BAD}", "invalid version", id="version-non-hex"),
    pytest.param(f"{PINNED}/{LONG}", "after the version", id="after-version"),
    pytest.param(f"{LONG}://kv-demo.vault.azure.net/secrets/x", "scheme", id="scheme"),
    pytest.param(
        f"https://kv-demo.vault.azure.net:{'1' * 100_000}/secrets/x", "port", id="port"
    ),
    pytest.param(
        f"https://kv-dem\u043e.vault.azure.net/secrets/{LONG}",
        "non-ASCII",
        id="lookalike",
    ),
    pytest.param(f"{GROUP}%20{LONG}", "percent-encoding", id="percent"),
    pytest.param(f"{VAULT}/certificates/{LONG}", "certificate", id="certificate"),
    pytest.param(f"{VAULT}/deletedsecrets/{LONG}", "deleted secret", id="deleted"),
    pytest.param(f"{VAULT}/{LONG}", "instead of /secrets/", id="other-path"),
    pytest.param(
        f"https://{LONG}@kv-demo.vault.azure.net/secrets/x", "user", id="user"
    ),
    pytest.param(f"{GROUP}?{LONG}", "query string", id="query"),
    pytest.param(f"{VAULT}//secrets/{LONG}", "empty path segment", id="double-slash"),
    pytest.param(
        f"kv-demo.vault.azure.net/secrets/{LONG}", "no scheme", id="no-scheme"
    ),
    pytest.param(
        f"http://kv-demo.vault.azure.net/secrets/{LONG}", "http://", id="http"
    ),
]


@pytest.mark.parametrize(("text", "reason"), LONG_IDENTIFIERS)
def test_parse_identifier_long_input_bounded(text: str, reason: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    assert len(str(caught.value)) < MAX_MESSAGE_LENGTH
    assert reason in caught.value.message
    assert SECRET_IDENTIFIER_SHAPE in caught.value.message
    assert len(caught.value.value) < MAX_MESSAGE_LENGTH


@pytest.mark.parametrize(
    ("check", "text", "reason"),
    [
        pytest.param(validate_secret_name, LONG, "more than 127", id="secret"),
        pytest.param(
            validate_secret_name, "d\u044c" + LONG, "non-ASCII", id="secret-u"
        ),
        pytest.param(validate_vault_name, LONG, "more than 24", id="vault"),
        pytest.param(validate_vault_name, "\u0430" + LONG, "non-ASCII", id="vault-u"),
        pytest.param(validate_secret_version, LONG, "instead of 32", id="version"),
        pytest.param(validate_secret_version, LONG_BAD, "hexadecimal", id="version-z"),
        pytest.param(validate_resource_group_name, LONG, "more than 90", id="group"),
        pytest.param(validate_identity_name, LONG, "characters long", id="identity"),
    ],
)
def test_validate_name_long_input_bounded(
    check: object, text: str, reason: str
) -> None:
    assert callable(check)
    with pytest.raises(InvalidNameError) as caught:
        check(text)

    assert len(str(caught.value)) < MAX_MESSAGE_LENGTH
    assert reason in caught.value.message


def test_lookalike_suggestion_is_cut() -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_secret_name("d\u0430" + LONG)

    assert "Type the secret name again by hand: 'da" in caught.value.fix
    assert "…'" in caught.value.fix
    assert len(caught.value.fix) < MAX_MESSAGE_LENGTH


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(LONG, "hexadecimal digits instead of 32", id="hex"),
        pytest.param(LONG_BAD, "which a GUID does not have", id="letters"),
        pytest.param("{" + LONG + "}", "braces", id="braces"),
        pytest.param(f"{'b' * 8}-{LONG}", "hexadecimal digits", id="guid-like"),
        pytest.param(f"/subscriptions/{LONG}", "resource ID", id="resource-id"),
        pytest.param(
            "x" + "bbbbbbbb-0000-4000-8000-000000000002" + LONG_BAD,
            "a GUID does not",
            id="inside",
        ),
    ],
)
def test_validate_guid_long_input_bounded(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        validate_guid(value, "principal ID")

    assert len(str(caught.value)) < MAX_MESSAGE_LENGTH
    assert reason in caught.value.message


# --- resource IDs where a GUID belongs -----------------------------------------------

IDENTITY_RESOURCE_ID = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-union-dp"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(IDENTITY_RESOURCE_ID, id="as-returned"),
        pytest.param(IDENTITY_RESOURCE_ID.upper(), id="upper"),
        pytest.param(IDENTITY_RESOURCE_ID + "/", id="trailing-slash"),
    ],
)
def test_validate_guid_identity_resource_id(value: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        validate_guid(value, "principal ID")

    message = str(caught.value)
    assert "is an Azure resource ID" in caught.value.message
    assert "00000000-1111-2222-3333-444444444444'" not in caught.value.fix
    assert "Pass only" not in message
    assert "properties.principalId" in caught.value.fix
    assert (
        "az identity show --ids <resource ID> --query principalId -o tsv"
        in caught.value.fix
    )


def test_validate_guid_client_id_from_resource_id() -> None:
    with pytest.raises(InvalidIdError) as caught:
        validate_guid(IDENTITY_RESOURCE_ID, "client ID")

    assert "properties.clientId" in caught.value.fix
    assert "--query clientId" in caught.value.fix


def test_validate_guid_other_resource_id_no_guess() -> None:
    vault_id = (
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg"
        "/providers/Microsoft.KeyVault/vaults/kv-demo"
    )
    with pytest.raises(InvalidIdError) as caught:
        validate_guid(vault_id, "tenant ID")

    assert "resource ID" in caught.value.message
    assert "00000000-1111-2222-3333-444444444444'" not in caught.value.fix


def test_validate_guid_subscription_from_its_resource_id() -> None:
    with pytest.raises(InvalidIdError) as caught:
        validate_guid(IDENTITY_RESOURCE_ID, "subscription ID")

    assert "'00000000-1111-2222-3333-444444444444'" in caught.value.fix


# --- message joins -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not exercised.", "not exercised."),
        ("not exercised", "not exercised."),
        ("not exercised.  ", "not exercised."),
        ("Is it?", "Is it?"),
        ("cut…", "cut…"),
        ("", ""),
    ],
)
def test_end_sentence(text: str, expected: str) -> None:
    from akv_helpers._text_checks import end_sentence

    assert end_sentence(text) == expected


def test_join_sentences_no_doubled_period() -> None:
    from akv_helpers._text_checks import join_sentences

    joined = join_sentences("Passed: done.", "", "Run it on Union", "Then verify.")

    assert joined == "Passed: done. Run it on Union. Then verify."
    assert ".." not in joined
