"""Property tests of the secret identifier parser, with hypothesis.

The parser must raise nothing but the kit's own error, and what it accepts must
round-trip: ``parse(parsed.uri)`` equals ``parsed`` apart from `original`, the
group URI has no version, and the names and version are lowercase and valid.
"""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from akv_helpers.clouds import CLOUDS
from akv_helpers.errors import InvalidSecretIdentifierError, KitError
from akv_helpers.identifiers import (
    SecretIdentifier,
    parse_secret_identifier,
    validate_secret_name,
    validate_secret_version,
    validate_vault_name,
)

# Deterministic and without an example database, so CI runs the same examples
# every time; a few hundred examples keep each test under about a second.
PROPERTY_SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SUFFIXES = [cloud.keyvault_dns_suffix for cloud in CLOUDS.values()]
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
HEX = "0123456789abcdefABCDEF"
# Characters that are near misses: look-alikes, invisible ones and URL syntax.
TRICKY = (
    "-_./\\%?#@:;'\" \t\n\x00\x1f\x7f\x85\u00a0\u00ad\u200b\u200d\u2011\u2013"
    "\u2028\u202e\u3002\ufeff\uff0d\u0430\u0435\u043e\u03bf\u212a\uff41"
)


def vault_names() -> st.SearchStrategy[str]:
    """Vault names, mostly valid, sometimes with a tricky character."""
    body = st.text(alphabet=LETTERS + DIGITS + "-", min_size=1, max_size=23)
    valid = st.builds(lambda first, rest: first + rest, st.sampled_from(LETTERS), body)
    return st.one_of(valid, st.text(alphabet=LETTERS + TRICKY, max_size=26))


def secret_names() -> st.SearchStrategy[str]:
    """Secret names, mostly valid, sometimes with a tricky character."""
    valid = st.text(alphabet=LETTERS + DIGITS + "-", min_size=1, max_size=128)
    return st.one_of(valid, st.text(alphabet=LETTERS + TRICKY, max_size=20))


def versions() -> st.SearchStrategy[str | None]:
    """Versions: none, 32 hexadecimal digits, or a near miss."""
    exact = st.text(alphabet=HEX, min_size=32, max_size=32)
    near = st.text(alphabet=HEX + "gG" + TRICKY, min_size=30, max_size=34)
    return st.one_of(st.none(), exact, near, st.sampled_from(["latest", "pending"]))


@st.composite
def near_identifiers(draw: st.DrawFn) -> str:
    """Identifiers built from parts, with case, slashes and whitespace varied."""
    scheme = draw(st.sampled_from(["https", "HTTPS", "Https", "http", "ftp"]))
    suffix = draw(
        st.sampled_from([*SUFFIXES, "vault.azure.com", "managedhsm.azure.net"])
    )
    collection = draw(st.sampled_from(["secrets", "SECRETS", "keys", "certificates"]))
    text = (
        f"{scheme}://{draw(vault_names())}.{suffix}/{collection}/{draw(secret_names())}"
    )
    version = draw(versions())
    if version is not None:
        text += "/" + version
    if draw(st.booleans()):
        text += "/"
    if draw(st.booleans()):
        text = text.upper() if draw(st.booleans()) else text.lower()
    space = st.text(alphabet=" \t\r\n\u00a0\u3000", max_size=3)
    return draw(space) + text + draw(space)


def check_accepted(parsed: SecretIdentifier) -> None:
    """Assert what every accepted identifier satisfies."""
    again = parse_secret_identifier(parsed.uri)
    assert dataclasses.replace(again, original="") == dataclasses.replace(
        parsed, original=""
    )
    assert parse_secret_identifier(parsed.group_uri).version is None
    assert parsed.group_uri == f"{parsed.vault_url}/secrets/{parsed.name}"
    assert not parsed.group_uri.endswith("/")
    assert validate_vault_name(parsed.vault_name) == parsed.vault_name
    assert validate_secret_name(parsed.name) == parsed.name
    assert parsed.vault_name == parsed.vault_name.lower()
    assert parsed.name == parsed.name.lower()
    if parsed.version is not None:
        assert validate_secret_version(parsed.version) == parsed.version
        assert parsed.version == parsed.version.lower()
        assert parsed.uri == f"{parsed.group_uri}/{parsed.version}"
    else:
        assert parsed.uri == parsed.group_uri
    assert parsed.uri.isascii()
    assert parsed.uri.isprintable()


def parse_or_reject(text: str) -> SecretIdentifier | None:
    """Parse `text`, returning ``None`` when the kit rejects it with its error."""
    try:
        return parse_secret_identifier(text)
    except InvalidSecretIdentifierError as error:
        assert isinstance(error, KitError)
        assert error.fix
        assert "\x00" not in str(error)
        return None


@PROPERTY_SETTINGS
@given(st.text(max_size=300))
@example("https://kv-demo.vault.azure.net/secrets/db-pass/")
@example("https://[::1]:443/secrets/db-pass")
@example("https://xn--80ak6aa92e.vault.azure.net/secrets/db-pass")
@example("https://kv-demo.vault.azure.net/secrets/db-pass\x85")
def test_parser_arbitrary_text(text: str) -> None:
    parsed = parse_or_reject(text)
    if parsed is not None:
        check_accepted(parsed)


@PROPERTY_SETTINGS
@given(near_identifiers())
@example(
    " https://KV-Demo.vault.azure.net/Secrets/DB-Pass/0F1E2D3C4B5A69788796A5B4C3D2E1F0/\n"
)
def test_parser_near_identifiers(text: str) -> None:
    parsed = parse_or_reject(text)
    if parsed is not None:
        check_accepted(parsed)


@PROPERTY_SETTINGS
@given(
    st.text(alphabet=LETTERS, min_size=1, max_size=1),
    st.text(alphabet=LETTERS + DIGITS, min_size=2, max_size=23),
    st.text(alphabet=LETTERS + DIGITS + "-", min_size=1, max_size=127),
    st.one_of(st.none(), st.text(alphabet=HEX, min_size=32, max_size=32)),
    st.sampled_from(SUFFIXES),
    st.booleans(),
)
def test_parser_accepts_valid_parts(
    first: str, rest: str, name: str, version: str | None, suffix: str, slash: bool
) -> None:
    vault = first + rest
    text = f"https://{vault}.{suffix}/secrets/{name}"
    if version is not None:
        text += "/" + version
    if slash:
        text += "/"
    parsed = parse_secret_identifier(text)
    check_accepted(parsed)
    assert parsed.vault_name == vault.lower()
    assert parsed.name == name.lower()
    assert parsed.version == (version.lower() if version else None)
    assert parsed.cloud.keyvault_dns_suffix == suffix
    assert parsed.had_uppercase == any(c.isupper() for c in text)
