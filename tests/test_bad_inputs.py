"""Bad inputs: each is rejected before any request, with the value, shape and fix.

Every row of `BAD_INPUTS` goes through the public functions that take that kind
of value and through the command line, with the simulator running. After each
rejected call the simulator's request log is empty and its role assignments are
unchanged.
"""

# ruff: noqa: E501  (the tables below keep one bad input per line)
from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner

from akv_helpers.assignments import GrantPlan, plan_grant, revoke, verify
from akv_helpers.cli import main
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.errors import (
    InvalidIdError,
    InvalidInputError,
    InvalidNameError,
    InvalidSecretIdentifierError,
    KitError,
    TaskRunError,
    displayable,
)
from akv_helpers.flyte_task import write_task_module
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
    parse_secret_identifier,
    validate_guid,
    validate_identity_name,
    validate_resource_group_name,
    validate_secret_name,
    validate_secret_version,
    validate_vault_name,
)
from akv_helpers.identities import find_identities
from akv_helpers.profile import IdentityRef, Profile, profile_path, save_profile
from akv_helpers.vaults import VaultInfo, find_vault

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "11111111-1111-4111-8111-111111111111"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VAULT_URL = "https://kv-demo.vault.azure.net"
GROUP = f"{VAULT_URL}/secrets/db-pass"
IDENTITY_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)
ASSIGNMENT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass/providers/"
    "Microsoft.Authorization/roleAssignments/5f2b8c1e-0000-4000-8000-000000000001"
)
LONG = "x" * 5000


class Bad(NamedTuple):
    """One bad input: its kind, the value and a word the reason must contain."""

    kind: str
    value: str
    reason: str


def bad(kind: str, value: str, reason: str, id: str) -> Any:
    return pytest.param(Bad(kind, value, reason), id=f"{kind}-{id}")


# fmt: off
IDENTIFIERS = [
    bad("identifier", "", "is empty", "empty"),
    bad("identifier", "db-pass", "is not a URL", "bare-name"),
    bad("identifier", "kv-demo.vault.azure.net/secrets/db-pass", "no scheme", "no-scheme"),
    bad("identifier", "http://kv-demo.vault.azure.net/secrets/db-pass", "http://", "http"),
    bad("identifier", "ftp://kv-demo.vault.azure.net/secrets/db-pass", "scheme", "ftp"),
    bad("identifier", "file:///etc/passwd", "scheme", "file"),
    bad("identifier", "javascript://kv-demo.vault.azure.net/secrets/x", "scheme", "javascript"),
    bad("identifier", "https:/kv-demo.vault.azure.net/secrets/db-pass", "https://", "one-slash"),
    bad("identifier", "https:\\\\kv-demo.vault.azure.net/secrets/db-pass", "https://", "backslash-scheme"),
    bad("identifier", "https:///kv-demo.vault.azure.net/secrets/db-pass", "no host", "three-slashes"),
    bad("identifier", "https://kv-demo.vault.azure.net\\secrets\\db-pass", "not a Key Vault host", "backslash-path"),
    bad("identifier", "https://kv-demo.vault.azure.com/secrets/db-pass", "not a Key Vault host", "suffix-com"),
    bad("identifier", "https://kv-demo.vault.microsoftazure.de/secrets/db-pass", "not a Key Vault host", "suffix-germany"),
    bad("identifier", "https://kv-demo.vault.azure.net.evil.example/secrets/db-pass", "not a Key Vault host", "suffix-extended"),
    bad("identifier", "https://evil.example/kv-demo.vault.azure.net/secrets/db-pass", "not a Key Vault host", "host-in-path"),
    bad("identifier", "https://vault.azure.net/secrets/db-pass", "no vault name", "suffix-only"),
    bad("identifier", "https://.vault.azure.net/secrets/db-pass", "not a Key Vault host", "empty-vault"),
    bad("identifier", "https://kv-demo.managedhsm.azure.net/secrets/db-pass", "Managed HSM", "managed-hsm"),
    bad("identifier", "https://kv-demo.privatelink.vaultcore.azure.net/secrets/db-pass", "private DNS", "private-link"),
    bad("identifier", "https://127.0.0.1/secrets/db-pass", "not a Key Vault host", "ipv4-host"),
    bad("identifier", "https://[::1]/secrets/db-pass", "IP address", "ipv6-host"),
    bad("identifier", "https://kv-demo.vault.azure.net:443/secrets/db-pass", "port", "port"),
    bad("identifier", "https://kv-demo.vault.azure.net:/secrets/db-pass", "port", "empty-port"),
    bad("identifier", "https://user:pw@kv-demo.vault.azure.net/secrets/db-pass", "user name", "userinfo"),
    bad("identifier", f"{GROUP}?api-version=7.4", "query string", "query"),
    bad("identifier", f"{GROUP}#latest", "fragment", "fragment"),
    bad("identifier", "https://kv-demo.vault.azure.net", "no path", "vault-uri"),
    bad("identifier", "https://kv-demo.vault.azure.net/secrets", "no secret name", "no-name"),
    bad("identifier", "https://kv-demo.vault.azure.net//secrets/db-pass", "empty path segment", "double-slash"),
    bad("identifier", "https://kv-demo.vault.azure.net/keys/db-pass", "key", "keys"),
    bad("identifier", "https://kv-demo.vault.azure.net/certificates/db-pass", "certificate", "certificates"),
    bad("identifier", "https://kv-demo.vault.azure.net/deletedsecrets/db-pass", "deleted secret", "deletedsecrets"),
    bad("identifier", "https://kv-demo.vault.azure.net/storage/db-pass", "storage", "storage"),
    bad("identifier", "https://kv-demo.vault.azure.net/admin/db-pass", "instead of /secrets/", "other-collection"),
    bad("identifier", f"{GROUP}/pending", "pending", "pending"),
    bad("identifier", f"{GROUP}/versions", "versions", "versions"),
    bad("identifier", f"{GROUP}/latest", "version", "version-latest"),
    bad("identifier", f"{GROUP}/{VERSION}/extra", "after the version", "extra-segment"),
    bad("identifier", f"{GROUP}/{VERSION}0", "33 characters", "version-33"),
    bad("identifier", f"{GROUP}/{VERSION[:-1]}", "31 characters", "version-31"),
    bad("identifier", f"{VAULT_URL}/secrets/../keys/db-pass", "secret name", "dot-dot"),
    bad("identifier", f"{VAULT_URL}/secrets/./db-pass", "secret name", "dot"),
    bad("identifier", f"{GROUP}/..", "version", "dot-dot-version"),
    bad("identifier", f"{VAULT_URL}/secrets/db_password", "db-password", "underscore"),
    bad("identifier", f"{VAULT_URL}/secrets/db.pass", "db-pass", "period"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass;v=1", "';'", "semicolon"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass'", "APOSTROPHE", "quote"),
    bad("identifier", f"{VAULT_URL}/secrets/<script>", "'<'", "angle-brackets"),
    bad("identifier", f"{VAULT_URL}/secrets/{'a' * 128}", "128 characters", "name-128"),
    bad("identifier", f"https://{'a' * 25}.vault.azure.net/secrets/db-pass", "25 characters", "vault-25"),
    bad("identifier", "https://kv.vault.azure.net/secrets/db-pass", "fewer than 3", "vault-2"),
    bad("identifier", "https://kv--demo.vault.azure.net/secrets/db-pass", "two hyphens", "vault-double-hyphen"),
    bad("identifier", "https://1kv.vault.azure.net/secrets/db-pass", "start with a letter", "vault-digit-first"),
    bad("identifier", "https://kv.demo.vault.azure.net/secrets/db-pass", "'.'", "vault-period"),
    bad("identifier", f"https://{LONG}.vault.azure.net/secrets/db-pass", "5000 characters", "vault-5000"),
    bad("identifier", f"{GROUP}/{LONG}", "version", "version-5000"),
    bad("identifier", f"{VAULT_URL}/secrets/db pass", "whitespace", "space-inside"),
    bad("identifier", f"{VAULT_URL}/secrets/db\tpass", "whitespace", "tab-inside"),
    bad("identifier", f"{GROUP}\nhttps://kv-demo.vault.azure.net/secrets/x", "whitespace", "newline-inside"),
    bad("identifier", f"{VAULT_URL}/secrets/db\x00pass", "control character", "nul"),
    bad("identifier", f"\x00{GROUP}", "control character", "nul-first"),
    bad("identifier", f"{GROUP}\x1b[31m", "control character", "ansi-escape"),
    bad("identifier", f"{GROUP}\x7f", "control character", "delete"),
    bad("identifier", f"{GROUP}\x1f", "control character", "unit-separator-end"),
    bad("identifier", f"{GROUP}\x0c", "control character", "form-feed-end"),
    bad("identifier", f"{GROUP}\x85", "control character", "next-line-end"),
    bad("identifier", f"{GROUP}\u2028", "invisible", "line-separator-end"),
    bad("identifier", f"{GROUP}\u200b", "ZERO WIDTH SPACE", "zero-width-space"),
    bad("identifier", f"\ufeff{GROUP}", "ZERO WIDTH NO-BREAK SPACE", "byte-order-mark"),
    bad("identifier", f"{VAULT_URL}/secrets/db\u200dpass", "ZERO WIDTH JOINER", "zero-width-joiner"),
    bad("identifier", f"{VAULT_URL}/secrets/db\u00adpass", "SOFT HYPHEN", "soft-hyphen"),
    bad("identifier", f"{GROUP}\u202e", "RIGHT-TO-LEFT OVERRIDE", "bidi-override"),
    bad("identifier", f"{VAULT_URL}/secrets/db\u00a0pass", "whitespace", "no-break-space"),
    bad("identifier", "https://kv-dеmo.vault.azure.net/secrets/db-pass", "CYRILLIC SMALL LETTER IE", "cyrillic-e-host"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pаss", "CYRILLIC SMALL LETTER A", "cyrillic-a-name"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass/{VERSION[:-1]}ο", "GREEK SMALL LETTER OMICRON", "greek-o-version"),
    bad("identifier", f"{VAULT_URL}/secrets/dｂ-pass", "FULLWIDTH LATIN SMALL LETTER B", "fullwidth-b"),
    bad("identifier", f"{VAULT_URL}/secrets/db－pass", "FULLWIDTH HYPHEN-MINUS", "fullwidth-hyphen"),
    bad("identifier", f"{VAULT_URL}/secrets/db\u2013pass", "EN DASH", "en-dash"),
    bad("identifier", f"{VAULT_URL}/secrets/db\u2011pass", "NON-BREAKING HYPHEN", "non-breaking-hyphen"),
    bad("identifier", f"{VAULT_URL}/secrets/db\u2212pass", "MINUS SIGN", "minus-sign"),
    bad("identifier", "ｈttps://kv-demo.vault.azure.net/secrets/db-pass", "FULLWIDTH", "fullwidth-scheme"),
    bad("identifier", "https://kv-demo\u3002vault.azure.net/secrets/db-pass", "IDEOGRAPHIC FULL STOP", "ideographic-dot"),
    bad("identifier", f"{VAULT_URL}/secrets/\u212apass", "KELVIN SIGN", "kelvin-sign"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass/{VERSION[:-1]}\u0660", "ARABIC-INDIC DIGIT ZERO", "arabic-digit"),
    bad("identifier", "https://кв-демо.vault.azure.net/secrets/db-pass", "non-ASCII", "idn-unicode-host"),
    bad("identifier", "https://xn--80ak6aa92e.vault.azure.net/secrets/db-pass", "internationalized", "idn-punycode"),
    bad("identifier", "https://xn--.vault.azure.net/secrets/db-pass", "xn--", "idn-empty-punycode"),
    bad("identifier", f"{VAULT_URL}/secrets/db%2Dpass", "percent-encoding", "percent-hyphen"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass%2F..%2Fkeys", "percent-encoding", "percent-slash"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass%27", "percent-encoding", "percent-quote"),
    bad("identifier", f"{VAULT_URL}/secrets/db-pass%00", "percent-encoding", "percent-nul"),
    bad("identifier", "https://kv%2Ddemo.vault.azure.net/secrets/db-pass", "percent-encoding", "percent-host"),
    bad("identifier", f"{GROUP}%", "percent-encoding", "percent-alone"),
    bad("identifier", LONG, "is not a URL", "long-text"),
    bad("identifier", "Hunter2-Password", "not shown", "pasted-value"),
]

NAMES = [
    bad("vault", "kv", "fewer than 3", "short"),
    bad("vault", "kv-demo-", "ends with a hyphen", "trailing-hyphen"),
    bad("vault", "KV_demo", "'_'", "underscore"),
    bad("vault", "../kv-demo", "'.'", "traversal"),
    bad("vault", "kv-dеmo", "CYRILLIC", "cyrillic"),
    bad("vault", "xn--80ak6aa92e", "internationalized", "punycode"),
    bad("vault", "kv%2ddemo", "'%'", "percent"),
    bad("vault", "kv-demo'", "APOSTROPHE", "quote"),
    bad("secret", "db_pass", "db-pass", "underscore"),
    bad("secret", "../db-pass", "'.'", "traversal"),
    bad("secret", "db/pass", "'/'", "slash"),
    bad("secret", "db-pass\x00", "control character", "nul"),
    bad("secret", "db-pаss", "CYRILLIC", "cyrillic"),
    bad("secret", "a" * 128, "128 characters", "length-128"),
    bad("secret", GROUP, "is a URL", "url"),
    bad("secret", "db-pass' or '1' eq '1", "whitespace", "quote-injection"),
    bad("version", "latest", "hexadecimal", "latest"),
    bad("version", VERSION[:-1] + "０", "FULLWIDTH DIGIT ZERO", "fullwidth-digit"),
    bad("version", "../" + VERSION[3:], "'.'", "traversal"),
    bad("resource_group", "rg union", "a space", "space"),
    bad("resource_group", "rg/../rg-tools", "'/'", "traversal"),
    bad("resource_group", "rg-union-dp.", "ends with a period", "trailing-period"),
    bad("resource_group", "..", "ends with a period", "dot-dot"),
    bad("resource_group", "a" * 91, "91 characters", "length-91"),
    bad("resource_group", "rg-union-dp\x00", "'\\x00'", "nul"),
    bad("resource_group", "rg-union-dp'", "APOSTROPHE", "quote"),
    bad("resource_group", "rg-union-dp%2F", "'%'", "percent"),
    bad("resource_group", "rg-union\u200b-dp", "ZERO WIDTH SPACE", "zero-width"),
    bad("resource_group", "rg-union-dр", "Cyrillic", "cyrillic-mixed"),
    bad("resource_group", "rg-ΑΒΓ", "Greek", "greek-mixed"),
    bad("resource_group", "ｒｇ-union-dp", "FULLWIDTH", "fullwidth"),
    bad("resource_group", "rg-union－dp", "FULLWIDTH HYPHEN-MINUS", "fullwidth-hyphen"),
    bad("resource_group", "rg-union-dp\\", "'\\'", "backslash"),
    bad("identity", "user flyte role", "a space", "space"),
    bad("identity", "-userflyterole", "start with a letter or digit", "leading-hyphen"),
    bad("identity", "ab", "2 characters", "short"),
    bad("identity", "userflyterоle", "CYRILLIC", "cyrillic"),
    bad("identity", "../userflyterole", "'.'", "traversal"),
    bad("identity", "user'flyterole", "APOSTROPHE", "quote"),
    bad("identity", "a" * 129, "129 characters", "long"),
]

IDS = [
    bad("principal", "' or principalId ne '", "APOSTROPHE", "odata-or"),
    bad("principal", f"{PRINCIPAL}' or principalId ne '", "APOSTROPHE", "odata-suffix"),
    bad("principal", f"{PRINCIPAL}%27", "'%'", "percent-quote"),
    bad("principal", f"{PRINCIPAL}\\", "'\\'", "backslash"),
    bad("principal", f"{PRINCIPAL}'", "APOSTROPHE", "quote"),
    bad("principal", f"{PRINCIPAL}\x00", "'\\x00'", "nul"),
    bad("principal", f"{PRINCIPAL}\u200b", "ZERO WIDTH SPACE", "zero-width"),
    bad("principal", PRINCIPAL[:-2] + "０2", "FULLWIDTH DIGIT ZERO", "fullwidth-digit"),
    bad("principal", PRINCIPAL.replace("-", "\u2013", 1), "EN DASH", "en-dash"),
    bad("principal", "{" + PRINCIPAL + "}", "braces", "braces"),
    bad("principal", PRINCIPAL[:-1], "31 hexadecimal digits", "short"),
    bad("principal", PRINCIPAL + "2", "33 hexadecimal digits", "long"),
    bad("principal", "bbbbbbbb0-000-4000-8000-000000000002", "wrong places", "hyphens"),
    bad("principal", f"urn:uuid:{PRINCIPAL}", "'u'", "urn"),
    bad("principal", "userflyterole' or '1' eq '1", "5 more", "name-injection"),
    bad("principal", LONG, "'x'", "long-text"),
    bad("subscription", f"/subscriptions/{SUBSCRIPTION}", "resource ID", "resource-id"),
    bad("subscription", "Union demo subscription", "a space", "display-name"),
    bad("subscription", SUBSCRIPTION + "' or '1' eq '1", "APOSTROPHE", "quote"),
    bad("subscription", SUBSCRIPTION[:-1] + "\u0661", "ARABIC-INDIC", "arabic-digit"),
    bad("tenant", "contoso.onmicrosoft.com", "'o'", "domain"),
    bad("tenant", TENANT + "/../", "'/'", "traversal"),
    bad("tenant", TENANT[:-1] + "ｌ", "FULLWIDTH", "fullwidth"),
]
# fmt: on

BAD_INPUTS = IDENTIFIERS + NAMES + IDS

# What each kind must raise, and the expected shape its message must state.
EXPECTED: dict[str, tuple[type[InvalidInputError], str]] = {
    "identifier": (InvalidSecretIdentifierError, SECRET_IDENTIFIER_SHAPE),
    "vault": (InvalidNameError, VAULT_NAME_RULE),
    "secret": (InvalidNameError, SECRET_NAME_RULE),
    "version": (InvalidNameError, SECRET_VERSION_RULE),
    "resource_group": (InvalidNameError, RESOURCE_GROUP_NAME_RULE),
    "identity": (InvalidNameError, IDENTITY_NAME_RULE),
    "principal": (InvalidIdError, GUID_SHAPE),
    "subscription": (InvalidIdError, GUID_SHAPE),
    "tenant": (InvalidIdError, GUID_SHAPE),
}


def shown(value: str, kind: str) -> str:
    """Return `value` as a message shows it: trimmed, escaped and cut.

    Text that is neither a URL nor a lowercase name may be a secret value, so
    the parser shows only its length.
    """
    trimmed = value.strip(" \t\r\n")
    bare = not any(c in trimmed for c in "/.")
    hidden = bare and re.fullmatch(r"[a-z][a-z-]{0,62}", trimmed) is None
    if kind == "identifier" and trimmed and hidden:
        return f"({len(trimmed)} characters, not shown"
    return displayable(trimmed.replace("user:pw@", "***@"))


@pytest.fixture
def vault() -> VaultInfo:
    """Return the seeded RBAC vault as `find_vault` would."""
    return VaultInfo(
        name="kv-demo",
        resource_group="rg-union-dp",
        resource_id=(
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
            "Microsoft.KeyVault/vaults/kv-demo"
        ),
        subscription_id=SUBSCRIPTION,
        vault_uri=f"{VAULT_URL}/",
        tenant_id=TENANT,
        location="westeurope",
        rbac_enabled=True,
        permission_model="rbac",
        public_network_access="Enabled",
        network_default_action=None,
    )


@pytest.fixture
def plan(vault: VaultInfo) -> GrantPlan:
    """Return the grant plan for db-pass and the seeded identity."""
    return plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL)


class Quiet:
    """Check that nothing reached the simulator since the fixture was set up."""

    def __init__(self, sim: SimulatorEndpoint) -> None:
        self.sim = sim
        sim.clear_requests()
        self.assignments = sim.state()["role_assignments"]

    def sent(self) -> list[str]:
        """Return the requests the simulator served, without its admin API."""
        return [
            f"{item['method']} {item['path']}"
            for item in self.sim.requests()
            if not str(item.get("path", "")).startswith("/_simulator/")
        ]

    def check(self) -> None:
        """Assert that no request was sent and no role assignment changed."""
        assert self.sent() == []
        assert self.sim.state()["role_assignments"] == self.assignments


@pytest.fixture
def quiet(fresh_sim: SimulatorEndpoint, connection: Connection) -> Quiet:
    """Start watching the simulator's request log and role assignments."""
    return Quiet(fresh_sim)


def check_message(error: KitError, item: Bad) -> None:
    """Check that `error` names the value, the reason, the shape and a fix."""
    error_type, expected = EXPECTED[item.kind]
    text = str(error)
    assert isinstance(error, error_type)
    assert shown(item.value, item.kind) in text
    assert item.reason in text
    assert expected in error.message
    assert error.fix
    for character in ("\x00", "\n", "\x1b", "\u202e", "\u200b"):
        assert character not in text
    assert len(text) < 2000


def drivers(item: Bad, connection: Connection, vault: VaultInfo, plan: GrantPlan):
    """Return the public calls that take a value of `item.kind`, by name."""
    value = item.value
    good = parse_secret_identifier(GROUP)
    calls: dict[str, dict[str, Callable[[], object]]] = {
        "identifier": {
            "parse_secret_identifier": lambda: parse_secret_identifier(value),
            "save_profile": lambda: save_profile(Profile(secret_identifier=value)),
        },
        "vault": {
            "validate_vault_name": lambda: validate_vault_name(value),
            "find_vault": lambda: find_vault(connection, value),
            "SecretIdentifier": lambda: SecretIdentifier(value, "db-pass"),
        },
        "secret": {
            "validate_secret_name": lambda: validate_secret_name(value),
            "plan_grant": lambda: plan_grant(SUBSCRIPTION, vault, value, PRINCIPAL),
            "SecretIdentifier": lambda: SecretIdentifier("kv-demo", value),
        },
        "version": {
            "validate_secret_version": lambda: validate_secret_version(value),
            "with_version": lambda: good.with_version(value),
        },
        "resource_group": {
            "validate_resource_group_name": lambda: validate_resource_group_name(value),
            "find_identities": lambda: find_identities(connection, value),
            "save_profile": lambda: save_profile(Profile(resource_group=value)),
        },
        "identity": {
            "validate_identity_name": lambda: validate_identity_name(value),
            "save_profile": lambda: save_profile(
                Profile(
                    identity=IdentityRef(
                        value, "rg-union-dp", IDENTITY_ID, CLIENT, PRINCIPAL
                    )
                )
            ),
        },
        "principal": {
            "validate_guid": lambda: validate_guid(value, "principal ID"),
            "filter_value": lambda: filter_value(value, "principal ID"),
            "plan_grant": lambda: plan_grant(SUBSCRIPTION, vault, "db-pass", value),
            "verify": lambda: verify(
                connection, dataclasses.replace(plan, principal_id=value)
            ),
        },
        "subscription": {
            "validate_guid": lambda: validate_guid(value, "subscription ID"),
            "plan_grant": lambda: plan_grant(value, vault, "db-pass", PRINCIPAL),
            "save_profile": lambda: save_profile(Profile(subscription_id=value)),
        },
        "tenant": {
            "validate_guid": lambda: validate_guid(value, "tenant ID"),
            "save_profile": lambda: save_profile(Profile(tenant_id=value)),
        },
    }
    return calls[item.kind]


@pytest.mark.parametrize("item", BAD_INPUTS)
def test_bad_input_rejected_by_functions(
    item: Bad, connection: Connection, vault: VaultInfo, plan: GrantPlan, quiet: Quiet
) -> None:
    profile = profile_path()
    saved = profile.read_bytes() if profile.exists() else None
    for name, call in drivers(item, connection, vault, plan).items():
        with pytest.raises(InvalidInputError) as caught:
            call()
        if name == "verify":
            # The filter check names the ID the same way validate_guid does.
            assert shown(item.value, item.kind) in str(caught.value), name
            continue
        check_message(caught.value, item)
    quiet.check()
    assert (profile.read_bytes() if profile.exists() else None) == saved


def cli_arguments(item: Bad) -> list[list[str]]:
    """Return command lines that pass `item.value` where its kind belongs."""
    value = item.value
    principal = ["--principal-id", PRINCIPAL]
    if item.kind == "identifier":
        return [
            ["grant", *principal, "--", value],
            ["task", "generate", "--", value],
        ]
    if item.kind == "vault":
        return [["grant", *principal, "--", f"https://{value}.vault.azure.net/s/x"]]
    if item.kind == "secret":
        return [["verify", *principal, "--", f"{VAULT_URL}/secrets/{value}"]]
    if item.kind == "version":
        return [["revoke", *principal, "--", f"{GROUP}/{value}"]]
    if item.kind == "resource_group":
        return [
            ["find-identity", "--resource-group", value],
            ["profile", "set", "--resource-group", value],
        ]
    if item.kind == "identity":
        identity_id = IDENTITY_ID.replace("userflyterole", value)
        return [["grant", "--principal-id", identity_id, GROUP]]
    if item.kind == "principal":
        return [
            ["grant", "--dry-run", "--principal-id", value, GROUP],
            ["verify", "--principal-id", value, GROUP],
            ["revoke", "--principal-id", value, GROUP],
        ]
    if item.kind == "subscription":
        return [["profile", "set", "--subscription", value]]
    return [["profile", "set", "--tenant", value]]


def cli_rows() -> list[Any]:
    """Return `BAD_INPUTS` as CLI cases."""
    return [pytest.param(*row.values, id=row.id) for row in BAD_INPUTS]


@pytest.mark.parametrize("item", cli_rows())
def test_bad_input_rejected_by_cli(
    item: Bad, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet: Quiet
) -> None:
    profile = profile_path()
    saved = profile.read_bytes() if profile.exists() else None
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for arguments in cli_arguments(item):
        result = runner.invoke(main, arguments)
        if item.kind == "identity":
            # NOTE: an identity resource ID with an invalid name is not checked
            # before the command lists the identities; this expects a fix.
            assert quiet.sent() == [], "identity listed before the name was checked"
        assert os.listdir(tmp_path) == [], arguments[:2]
        assert result.exit_code == 2, (arguments[:2], result.output)
        assert result.stdout == ""
        # The message names the value the command line received.
        if item.kind in ("identifier", "resource_group", "principal"):
            assert shown(item.value, item.kind) in result.stderr, arguments[:2]
        elif item.kind in ("subscription", "tenant"):
            assert shown(item.value, item.kind) in result.stderr
        if item.kind not in ("vault", "secret", "identity"):
            assert item.reason in result.stderr
        assert "Traceback" not in result.stderr
    quiet.check()
    assert (profile.read_bytes() if profile.exists() else None) == saved


# Values written by hand into profile.json: each command that loads the profile
# stops with exit code 1 and names the field, before any request.
PROFILE_FIELDS = [
    pytest.param({"subscription_id": "' or 1 eq 1"}, "subscription ID", id="sub-quote"),
    pytest.param({"tenant_id": TENANT + "\x00"}, "tenant ID", id="tenant-nul"),
    pytest.param({"resource_group": "rg/../x"}, "resource group", id="group-traversal"),
    pytest.param({"mode": "prod\x1b[2J"}, "mode", id="mode-escape"),
    pytest.param(
        {"secret_identifier": f"{GROUP}%2F.."}, "percent-encoding", id="identifier"
    ),
    pytest.param(
        {"assignment_id": ASSIGNMENT_ID.replace("/secrets/db-pass", "/../..")},
        "'..'",
        id="assignment-traversal",
    ),
    pytest.param(
        {"assignment_id": ASSIGNMENT_ID + "%27"}, "'%'", id="assignment-percent"
    ),
    pytest.param(
        {"assignment_id": "roleAssignments/" + PRINCIPAL},
        "start with '/'",
        id="assignment-bare",
    ),
    pytest.param(
        {
            "identity": {
                "name": "userflyterole",
                "resource_group": "rg-union-dp",
                "resource_id": IDENTITY_ID + "/../../x",
                "client_id": CLIENT,
                "principal_id": PRINCIPAL,
            }
        },
        "'..'",
        id="identity-id-traversal",
    ),
    pytest.param(
        {
            "identity": {
                "name": "userflyterole",
                "resource_group": "rg-union-dp",
                "resource_id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/x",
                "client_id": CLIENT,
                "principal_id": PRINCIPAL,
            }
        },
        "user-assigned managed identity",
        id="identity-id-other",
    ),
    pytest.param(
        {
            "identity": {
                "name": "userflyterole",
                "resource_group": "rg-union-dp",
                "resource_id": IDENTITY_ID,
                "client_id": CLIENT,
                "principal_id": "' or principalId ne '",
            }
        },
        "principal ID",
        id="identity-principal-quote",
    ),
]


@pytest.mark.parametrize(("fields", "named"), PROFILE_FIELDS)
def test_bad_profile_file_rejected(
    fields: dict[str, Any], named: str, quiet: Quiet
) -> None:
    profile = profile_path()
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(json.dumps({"mode": "simulator", **fields}), encoding="utf-8")
    written = profile.read_bytes()
    try:
        for arguments in (
            ["verify", GROUP],
            ["grant", "--dry-run", GROUP],
            ["find-identity"],
        ):
            result = CliRunner().invoke(main, arguments)
            assert result.exit_code == 1, (arguments, result.output)
            assert result.stderr.startswith("Error: ")
            assert str(profile) in result.stderr
            assert named in result.stderr
            assert "\x00" not in result.stderr
            assert "\x1b" not in result.stderr
        assert profile.read_bytes() == written
        quiet.check()
    finally:
        profile.unlink()


BAD_PROFILES = [
    pytest.param(
        Profile(assignment_id=ASSIGNMENT_ID.replace("/secrets/", "/\nsecrets/")),
        "whitespace",
        id="assignment-newline",
    ),
    pytest.param(
        Profile(assignment_id=ASSIGNMENT_ID.replace("db-pass", "db-pass/./.")),
        "'.'",
        id="assignment-dot",
    ),
    pytest.param(
        Profile(assignment_id=f"{ASSIGNMENT_ID[:-36]}x'or'1'eq'1"),
        "APOSTROPHE",
        id="assignment-quote",
    ),
    pytest.param(
        Profile(
            identity=IdentityRef(
                "userflyterole", "rg-union-dp", IDENTITY_ID + "\x00", CLIENT, PRINCIPAL
            )
        ),
        "control character",
        id="identity-id-nul",
    ),
    pytest.param(
        Profile(
            identity=IdentityRef(
                "userflyterole",
                "rg-union-dp",
                IDENTITY_ID.replace(SUBSCRIPTION, "not-a-guid"),
                CLIENT,
                PRINCIPAL,
            )
        ),
        "subscription ID",
        id="identity-id-subscription",
    ),
    pytest.param(
        Profile(
            identity=IdentityRef(
                "userflyterole", "rg-union-dp", IDENTITY_ID, "client", PRINCIPAL
            )
        ),
        "client ID",
        id="identity-client",
    ),
    pytest.param(Profile(mode="prod"), "mode", id="mode"),  # type: ignore[arg-type]
    pytest.param(Profile(cloud="AzureGermanCloud"), "AzureGermanCloud", id="cloud"),
]


@pytest.mark.parametrize(("profile", "named"), BAD_PROFILES)
def test_save_profile_rejects(profile: Profile, named: str, quiet: Quiet) -> None:
    path = profile_path()
    saved = path.read_bytes() if path.exists() else None
    with pytest.raises(KitError) as caught:
        save_profile(profile)
    assert named in str(caught.value)
    assert "\x00" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert (path.read_bytes() if path.exists() else None) == saved
    quiet.check()


OUTPUT_DIRECTORIES = [
    pytest.param("nul", id="nul-byte"),
    pytest.param("newline", id="newline"),
    pytest.param("escape", id="escape"),
    pytest.param("file", id="existing-file"),
    pytest.param("symlink", id="symlink"),
    pytest.param("dev-null", id="device"),
]


def output_directory(kind: str, tmp_path: Path) -> Path:
    """Return a bad output directory of `kind` under `tmp_path`."""
    if kind == "nul":
        return tmp_path / "out\x00dir"
    if kind == "newline":
        return tmp_path / "out\ndir"
    if kind == "escape":
        return tmp_path / "out\x1b[2Jdir"
    if kind == "file":
        target = tmp_path / "a-file"
        target.write_text("not a directory\n", encoding="utf-8")
        return target
    if kind == "symlink":
        (tmp_path / "real").mkdir()
        (tmp_path / "link").symlink_to(tmp_path / "real")
        return tmp_path / "link"
    return Path(os.devnull)


@pytest.mark.parametrize("kind", OUTPUT_DIRECTORIES)
def test_task_output_directory_rejected(
    kind: str, tmp_path: Path, quiet: Quiet
) -> None:
    directory = output_directory(kind, tmp_path)
    identifier = parse_secret_identifier(GROUP)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(KitError) as caught:
        write_task_module(identifier, directory, pinned=False)
    assert isinstance(caught.value, (TaskRunError, InvalidInputError))
    assert displayable(str(directory)) in str(caught.value)
    assert "\x00" not in str(caught.value)

    result = CliRunner().invoke(main, ["task", "generate", "--out", directory, GROUP])
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.stderr
    assert "\x00" not in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    quiet.check()


TRAVERSING_NAMES = [
    pytest.param("../../evil", id="parent"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("db-pass\x00.py", id="nul"),
    pytest.param("..", id="dot-dot"),
    pytest.param("db-pass/../../x", id="nested"),
]


@pytest.mark.parametrize("name", TRAVERSING_NAMES)
def test_task_file_name_never_traverses(
    name: str, tmp_path: Path, quiet: Quiet
) -> None:
    with pytest.raises(InvalidNameError) as caught:
        write_task_module(SecretIdentifier("kv-demo", name), tmp_path, pinned=False)
    assert displayable(name) in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    quiet.check()


def test_table_size() -> None:
    count = (
        len(BAD_INPUTS)
        + len(PROFILE_FIELDS)
        + len(BAD_PROFILES)
        + len(OUTPUT_DIRECTORIES)
        + len(TRAVERSING_NAMES)
    )
    assert count >= 100


@pytest.mark.parametrize("item", IDS[:6])
def test_revoke_checks_plan_principal(
    item: Bad, connection: Connection, plan: GrantPlan, quiet: Quiet
) -> None:
    with pytest.raises(InvalidIdError):
        revoke(connection, dataclasses.replace(plan, principal_id=item.value))
    quiet.check()
