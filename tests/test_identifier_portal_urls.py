"""Azure portal addresses and other text that wraps a secret identifier.

The parser rejects them before any request, and its fix names the identifier
found inside, or gives the path to the Secret Identifier in the portal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from akv_helpers.cli import main
from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.errors import InvalidSecretIdentifierError, displayable
from akv_helpers.identifiers import SECRET_IDENTIFIER_SHAPE, parse_secret_identifier
from akv_helpers.profile import profile_path

VAULT = "https://kv-demo.vault.azure.net"
GROUP = f"{VAULT}/secrets/db-pass"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PINNED = f"{GROUP}/{VERSION}"
ENCODED_GROUP = "https%3A%2F%2Fkv-demo.vault.azure.net%2Fsecrets%2Fdb-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"

# The portal's address bar on a secret's page, before the secret identifier.
ASSET = "/#@contoso.onmicrosoft.com/asset/Microsoft_Azure_KeyVault/Secret/"
PORTAL = "https://portal.azure.com" + ASSET
REPORTED = PORTAL + GROUP
VAULT_RESOURCE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo"
)

PORTAL_REASON = "is the address of an Azure portal page"
VERSION_PAGE = "Key Vault → Secrets → the secret → the current version"
DID_YOU_MEAN = "Did you mean"


# --- identifiers that still parse ------------------------------------------------

GOOD = [
    pytest.param(GROUP, GROUP, id="versionless"),
    pytest.param(PINNED, PINNED, id="pinned"),
    pytest.param(
        "https://portal.vault.azure.net/secrets/db-pass",
        "https://portal.vault.azure.net/secrets/db-pass",
        id="vault-named-portal",
    ),
    pytest.param(f"{VAULT}/secrets/https", f"{VAULT}/secrets/https", id="name-https"),
    pytest.param(
        "https://kv-demo.vault.usgovcloudapi.net/secrets/db-pass",
        "https://kv-demo.vault.usgovcloudapi.net/secrets/db-pass",
        id="us-government",
    ),
]


@pytest.mark.parametrize(("text", "uri"), GOOD)
def test_identifier_not_taken_for_portal(text: str, uri: str) -> None:
    assert parse_secret_identifier(text).uri == uri


# --- text that wraps an identifier -----------------------------------------------

WRAPPED = [
    pytest.param(REPORTED, PORTAL_REASON, GROUP, id="reported-portal-address"),
    pytest.param(PORTAL + PINNED, PORTAL_REASON, PINNED, id="portal-with-version"),
    pytest.param(
        PORTAL + GROUP + "/overview", PORTAL_REASON, GROUP, id="portal-overview"
    ),
    pytest.param(
        f"{PORTAL}{PINNED}/overview",
        PORTAL_REASON,
        PINNED,
        id="portal-version-overview",
    ),
    pytest.param(PORTAL + ENCODED_GROUP, PORTAL_REASON, GROUP, id="portal-url-encoded"),
    pytest.param(
        PORTAL + ENCODED_GROUP.lower(),
        PORTAL_REASON,
        GROUP,
        id="portal-url-encoded-lowercase-escapes",
    ),
    pytest.param(
        PORTAL + ENCODED_GROUP.replace("%", "%25"),
        PORTAL_REASON,
        GROUP,
        id="portal-url-encoded-twice",
    ),
    pytest.param(
        PORTAL + ENCODED_GROUP + "%2F" + VERSION,
        PORTAL_REASON,
        PINNED,
        id="portal-url-encoded-version",
    ),
    pytest.param(
        "https://portal.azure.cn/#@contoso.partner.onmschina.cn/asset/"
        "Microsoft_Azure_KeyVault/Secret/https://kv-demo.vault.azure.cn/secrets/db-pass",
        PORTAL_REASON,
        "https://kv-demo.vault.azure.cn/secrets/db-pass",
        id="portal-china",
    ),
    pytest.param(
        "https://portal.azure.us/#@contoso.onmicrosoft.us/asset/"
        "Microsoft_Azure_KeyVault/Secret/"
        "https://kv-demo.vault.usgovcloudapi.net/secrets/db-pass",
        PORTAL_REASON,
        "https://kv-demo.vault.usgovcloudapi.net/secrets/db-pass",
        id="portal-us-government",
    ),
    pytest.param(
        "https://ms.portal.azure.com" + ASSET + GROUP,
        PORTAL_REASON,
        GROUP,
        id="portal-subdomain",
    ),
    pytest.param(
        "portal.azure.com" + ASSET + GROUP, PORTAL_REASON, GROUP, id="no-scheme"
    ),
    pytest.param(
        "http://portal.azure.com" + ASSET + GROUP, PORTAL_REASON, GROUP, id="http"
    ),
    pytest.param(
        PORTAL + "https://KV-Demo.vault.azure.net/Secrets/DB-Pass",
        PORTAL_REASON,
        GROUP,
        id="uppercase-folded",
    ),
    pytest.param(
        "https://portal.azure.com/#view/Microsoft_Azure_KeyVault/"
        "ListObjectVersionsRBACBlade/~/overview/objectType/secrets/objectId/"
        f"{ENCODED_GROUP}/vaultResourceUri/{VAULT_RESOURCE.replace('/', '%2F')}",
        PORTAL_REASON,
        GROUP,
        id="portal-blade-parameters",
    ),
    pytest.param(
        f'group="{GROUP}"',
        "contains a secret identifier inside other text",
        GROUP,
        id="quoted-in-code",
    ),
    pytest.param(
        f"Secret Identifier {GROUP}",
        "contains a secret identifier inside other text",
        GROUP,
        id="copied-with-label",
    ),
    pytest.param(
        f"az keyvault secret show --id {PINNED}",
        "contains a secret identifier inside other text",
        PINNED,
        id="az-command",
    ),
    pytest.param(
        f"<{GROUP}>",
        "contains a secret identifier inside other text",
        GROUP,
        id="angle-brackets",
    ),
    pytest.param(
        f"“{GROUP}”",
        "contains a secret identifier inside other text",
        GROUP,
        id="curly-quotes",
    ),
    pytest.param(
        f"https://login.example.com/?next={ENCODED_GROUP}",
        "contains a URL-encoded secret identifier",
        GROUP,
        id="redirect-parameter",
    ),
]


@pytest.mark.parametrize(("text", "reason", "suggestion"), WRAPPED)
def test_wrapped_identifier_suggested(text: str, reason: str, suggestion: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    error = caught.value
    message = str(error)
    assert f"'{displayable(text.strip())}'" in message
    assert reason in error.message
    assert SECRET_IDENTIFIER_SHAPE in error.message
    assert f"{DID_YOU_MEAN} '{suggestion}'?" in error.fix
    assert VERSION_PAGE in error.fix
    assert '"Secret Identifier"' in error.fix
    assert "Remove everything" not in error.fix
    assert error.value == displayable(text.strip())


# --- portal addresses without an identifier --------------------------------------

PORTAL_ONLY = [
    pytest.param("https://portal.azure.com/#home", "vault.azure.net", id="home"),
    pytest.param("https://portal.azure.com/", "vault.azure.net", id="root"),
    pytest.param("https://portal.azure.com", "vault.azure.net", id="host-only"),
    pytest.param(
        "https://portal.azure.com/#@contoso.onmicrosoft.com/resource"
        f"{VAULT_RESOURCE}/secrets",
        "vault.azure.net",
        id="vault-secrets-list",
    ),
    pytest.param(
        "https://portal.azure.com/#view/Microsoft_Azure_KeyVault/SecretMenuBlade/"
        f"~/overview/objectId/{VAULT_RESOURCE.replace('/', '%2F')}",
        "vault.azure.net",
        id="blade-with-resource-id",
    ),
    pytest.param(
        PORTAL + f"{VAULT}/keys/signing-key",
        "vault.azure.net",
        id="key-page",
    ),
    pytest.param("https://portal.azure.cn/#home", "vault.azure.cn", id="china-home"),
    pytest.param(
        "https://portal.azure.us/#home", "vault.usgovcloudapi.net", id="us-gov-home"
    ),
    pytest.param(
        "https://ms.portal.azure.com/#home", "vault.azure.net", id="subdomain-home"
    ),
    pytest.param(
        "https://PORTAL.Azure.COM./#home", "vault.azure.net", id="uppercase-dot"
    ),
    pytest.param(
        "https://portal.azure.com:443/#home", "vault.azure.net", id="with-port"
    ),
    pytest.param("portal.azure.com:443/#home", "vault.azure.net", id="port-no-scheme"),
]


@pytest.mark.parametrize(("text", "suffix"), PORTAL_ONLY)
def test_portal_address_gives_path(text: str, suffix: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    error = caught.value
    assert f"'{displayable(text)}'" in str(error)
    assert PORTAL_REASON in error.message
    assert SECRET_IDENTIFIER_SHAPE in error.message
    assert f"open {VERSION_PAGE}" in error.fix
    assert '"Secret Identifier"' in error.fix
    assert f"https://<vault>.{suffix}/secrets/" in error.fix
    assert DID_YOU_MEAN not in error.fix
    assert "Remove everything" not in error.fix


# --- no suggestion that is not an identifier -------------------------------------

NO_SUGGESTION = [
    pytest.param(PORTAL + f"{VAULT}/secrets/db_pass", id="underscore-name"),
    pytest.param(PORTAL + f"{VAULT}/secrets/db.pass", id="period-name"),
    pytest.param(PORTAL + f"{VAULT}/secrets/db-pаss", id="cyrillic-name"),
    pytest.param(PORTAL + f"{VAULT}/secrets/db\u200bpass", id="zero-width-in-name"),
    pytest.param(PORTAL + f"{VAULT}/secrets/{'a' * 128}", id="name-too-long"),
    pytest.param(
        PORTAL + "https://kv--demo.vault.azure.net/secrets/db-pass",
        id="vault-double-hyphen",
    ),
    pytest.param(
        PORTAL + "https://kv.vault.azure.net/secrets/db-pass", id="vault-too-short"
    ),
    pytest.param(
        PORTAL + "https://kv-demo.vault.azure.com/secrets/db-pass",
        id="not-a-vault-host",
    ),
    pytest.param(
        PORTAL + "https://user:pw@kv-demo.vault.azure.net/secrets/db-pass",
        id="userinfo",
    ),
]


@pytest.mark.parametrize("text", NO_SUGGESTION)
def test_invalid_wrapped_identifier_not_suggested(text: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    assert DID_YOU_MEAN not in caught.value.fix
    assert f"open {VERSION_PAGE}" in caught.value.fix


# --- text that other checks reject more precisely --------------------------------

UNCHANGED = [
    pytest.param(
        f"{GROUP}#{PINNED}", "has a fragment", f"Use '{GROUP}'", id="fragment"
    ),
    pytest.param(
        f"{GROUP}?next={PINNED}",
        "has a query string",
        f"Use '{GROUP}'",
        id="query",
    ),
    pytest.param(
        ENCODED_GROUP, "percent-encoding '%3A'", f"'{GROUP}'", id="whole-url-encoded"
    ),
    pytest.param(
        f"\x00{GROUP}", "control character", "Remove the character", id="nul-first"
    ),
    pytest.param(
        f"\u200b{GROUP}", "ZERO WIDTH SPACE", "Remove the character", id="zero-width"
    ),
    pytest.param(
        f"x{GROUP}", "uses the scheme 'xhttps://'", f"Use '{GROUP}'", id="scheme-typo"
    ),
    pytest.param(
        f"{GROUP}\n{PINNED}", "whitespace", "Remove the character", id="two-identifiers"
    ),
]


@pytest.mark.parametrize(("text", "reason", "fix"), UNCHANGED)
def test_leading_identifier_keeps_its_check(text: str, reason: str, fix: str) -> None:
    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    assert reason in caught.value.message
    assert fix in caught.value.fix
    assert DID_YOU_MEAN not in caught.value.fix


# --- what the message repeats ----------------------------------------------------


def test_suggestion_repeats_nothing_else() -> None:
    text = f"{REPORTED}?value=Hunter2-Password"

    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    error = caught.value
    quoted = f"'{displayable(text)}'"
    assert "Hunter2" not in error.fix
    assert "Hunter2" not in str(error).replace(quoted, "")


def test_long_paste_bounded() -> None:
    text = REPORTED + "/" + "x" * 5000

    with pytest.raises(InvalidSecretIdentifierError) as caught:
        parse_secret_identifier(text)

    message = str(caught.value)
    assert f"{DID_YOU_MEAN} '{GROUP}'?" in message
    assert len(message) < 1000
    assert "x" * 300 not in message


# --- the command line ------------------------------------------------------------


def sent_requests(sim: SimulatorEndpoint) -> list[str]:
    """Return the requests the simulator served, without its admin API."""
    return [
        f"{item['method']} {item['path']}"
        for item in sim.requests()
        if not str(item.get("path", "")).startswith("/_simulator/")
    ]


CLI_COMMANDS = [
    pytest.param(["grant"], id="grant"),
    pytest.param(["grant", "--principal-id", PRINCIPAL, "--"], id="grant-principal"),
    pytest.param(["grant", "--dry-run", "--"], id="grant-dry-run"),
    pytest.param(["verify", "--principal-id", PRINCIPAL, "--"], id="verify"),
    pytest.param(["revoke", "--principal-id", PRINCIPAL, "--"], id="revoke"),
    pytest.param(["task", "generate", "--"], id="task-generate"),
]


@pytest.mark.parametrize("command", CLI_COMMANDS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(REPORTED, f"{DID_YOU_MEAN} '{GROUP}'?", id="reported"),
        pytest.param(
            PORTAL + ENCODED_GROUP + "%2F" + VERSION,
            f"{DID_YOU_MEAN} '{PINNED}'?",
            id="url-encoded-version",
        ),
        pytest.param(
            "https://portal.azure.com/#home", f"open {VERSION_PAGE}", id="home"
        ),
    ],
)
def test_cli_rejects_portal_address(
    command: list[str],
    text: str,
    expected: str,
    fresh_sim: SimulatorEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = profile_path()
    saved = profile.read_bytes() if profile.exists() else None
    assignments = fresh_sim.state()["role_assignments"]
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, [*command, text])

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert expected in result.stderr
    assert PORTAL_REASON in result.stderr
    assert "Traceback" not in result.stderr
    assert sent_requests(fresh_sim) == []
    assert fresh_sim.state()["role_assignments"] == assignments
    assert list(tmp_path.iterdir()) == []
    assert (profile.read_bytes() if profile.exists() else None) == saved


def test_doctor_names_wrapped_identifier(fresh_sim: SimulatorEndpoint) -> None:
    result = CliRunner().invoke(main, ["doctor", REPORTED])
    # The doctor wraps long lines, so the words are joined again before the checks.
    flattened = " ".join(result.stdout.split())

    assert result.exit_code == 1, result.output
    assert "[FAILED] identifier.format" in flattened
    assert PORTAL_REASON in flattened
    assert f"{DID_YOU_MEAN} '{GROUP}'?" in flattened
