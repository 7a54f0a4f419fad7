"""Tests of the grant as Azure CLI, Terraform and Bicep text."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from click.testing import CliRunner, Result
from hcl2 import SerializationOptions

from akv_helpers.cli import main
from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.grant_plan import GrantPlan, plan_grant
from akv_helpers.grant_templates import (
    az_grant_command,
    az_revoke_command,
    az_verify_command,
    bicep_deploy_command,
    bicep_grant,
    bicep_string,
    terraform_grant,
    terraform_string,
)
from akv_helpers.roles import SECRETS_USER_ROLE_ID
from akv_helpers.vaults import VaultInfo

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
PLAIN_GROUP = "rg-union-dp"
# Azure allows parentheses and periods in resource group names; a POSIX shell
# needs the parentheses quoted.
ODD_GROUP = "rg-union(dp).1"
# Azure also allows Unicode letters there.
UNICODE_GROUP = "rg-café-données"


def vault_in(resource_group: str) -> VaultInfo:
    resource_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}"
        "/providers/Microsoft.KeyVault/vaults/kv-demo"
    )
    return VaultInfo(
        name="kv-demo",
        resource_group=resource_group,
        resource_id=resource_id,
        subscription_id=SUBSCRIPTION,
        vault_uri="https://kv-demo.vault.azure.net/",
        tenant_id=None,
        location="westeurope",
        rbac_enabled=True,
        permission_model="rbac",
        public_network_access="Enabled",
        network_default_action="Allow",
    )


def make_plan(resource_group: str = PLAIN_GROUP, scope: Any = "secret") -> GrantPlan:
    return plan_grant(
        SUBSCRIPTION, vault_in(resource_group), "db-pass", PRINCIPAL, scope=scope
    )


def terraform_attributes(text: str) -> dict[str, Any]:
    options = SerializationOptions(strip_string_quotes=True, with_comments=False)
    parsed = hcl2.loads(text, serialization_options=options)
    resources = parsed["resource"]
    assert len(resources) == 1
    by_label = resources[0]["azurerm_role_assignment"]
    assert list(by_label) == ["secret_read"]
    return by_label["secret_read"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("resource_group", [PLAIN_GROUP, ODD_GROUP, UNICODE_GROUP])
@pytest.mark.parametrize("scope", ["secret", "vault"])
def test_terraform_attributes_from_plan(resource_group: str, scope: str) -> None:
    plan = make_plan(resource_group, scope)
    attributes = terraform_attributes(terraform_grant(plan))

    assert attributes["name"] == plan.assignment_name
    assert attributes["scope"] == plan.scope
    assert attributes["role_definition_id"] == plan.role_definition_id
    assert attributes["principal_id"] == PRINCIPAL
    assert attributes["principal_type"] == "ServicePrincipal"
    assert attributes["skip_service_principal_aad_check"] is True
    assert resource_group in attributes["scope"]


def test_terraform_role_definition_subscription_level() -> None:
    attributes = terraform_attributes(terraform_grant(make_plan()))

    assert attributes["role_definition_id"] == (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{SECRETS_USER_ROLE_ID}"
    )


def test_terraform_import_comment() -> None:
    plan = make_plan(ODD_GROUP)
    comments = [
        line.removeprefix("#").strip()
        for line in terraform_grant(plan).splitlines()
        if line.startswith("#")
    ]
    commands = [line for line in comments if line.startswith("terraform import")]

    assert len(commands) == 1
    assert shlex.split(commands[0]) == [
        "terraform",
        "import",
        "azurerm_role_assignment.secret_read",
        plan.assignment_id,
    ]


@pytest.mark.parametrize(
    ("value", "source"),
    [
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("${var.x}", '"$${var.x}"'),
        ("%{if}", '"%%{if}"'),
        ("line\nbreak", r'"line\nbreak"'),
        ("rg-é(1).x", '"rg-é(1).x"'),
    ],
    ids=["quote", "backslash", "interpolation", "directive", "newline", "unicode"],
)
def test_terraform_string_escapes(value: str, source: str) -> None:
    quoted = terraform_string(value)
    parsed = hcl2.loads(f"x = {quoted}\n")

    assert quoted == source
    assert parsed["x"] == source


def test_terraform_string_escapes_resolve() -> None:
    options = SerializationOptions(strip_string_quotes=True)
    value = 'a "b" \\ c\nd'
    parsed = hcl2.loads(
        f"x = {terraform_string(value)}\n", serialization_options=options
    )

    assert parsed["x"] == value


GOLDEN_BICEP = """\
// Key Vault Secrets User for one principal on secret scope.
// Deploy to the vault's resource group.
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'kv-demo'
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: 'db-pass'
}

resource secretRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: '{name}'
  scope: secret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions',\
 '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: 'bbbbbbbb-0000-4000-8000-000000000002'
    principalType: 'ServicePrincipal'
  }
}
"""


def test_bicep_golden_secret_scope() -> None:
    plan = make_plan()

    assert bicep_grant(plan) == GOLDEN_BICEP.replace("{name}", plan.assignment_name)


def test_bicep_values_from_plan() -> None:
    plan = make_plan()
    text = bicep_grant(plan)

    assert f"name: '{plan.assignment_name}'" in text
    assert f"principalId: '{plan.principal_id}'" in text
    assert f"'{plan.role_guid}')" in text
    assert plan.scope.endswith("/vaults/kv-demo/secrets/db-pass")
    assert "name: 'kv-demo'" in text
    assert "name: 'db-pass'" in text


def test_bicep_vault_scope_has_no_secret() -> None:
    plan = make_plan(scope="vault")
    text = bicep_grant(plan)

    assert "Microsoft.KeyVault/vaults/secrets" not in text
    assert "  scope: vault\n" in text
    assert f"name: '{plan.assignment_name}'" in text


def test_bicep_assignment_name_differs_by_scope() -> None:
    secret = bicep_grant(make_plan(scope="secret"))
    vault = bicep_grant(make_plan(scope="vault"))

    assert make_plan(scope="secret").assignment_name in secret
    assert make_plan(scope="vault").assignment_name in vault
    assert make_plan(scope="secret").assignment_name not in vault


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("it's", r"'it\'s'"),
        ("back\\slash", r"'back\\slash'"),
        ("${x}", r"'\${x}'"),
        ("tab\there", r"'tab\there'"),
        ("rg-é(1).x", "'rg-é(1).x'"),
    ],
    ids=["quote", "backslash", "interpolation", "tab", "unicode"],
)
def test_bicep_string_escapes(value: str, literal: str) -> None:
    assert bicep_string(value) == literal


def test_bicep_deploy_command_targets_vault_group() -> None:
    plan = make_plan(ODD_GROUP)
    words = shlex.split(bicep_deploy_command(plan, "my grant.bicep"))

    assert words[:4] == ["az", "deployment", "group", "create"]
    assert words[words.index("--resource-group") + 1] == ODD_GROUP
    assert words[words.index("--subscription") + 1] == SUBSCRIPTION
    assert words[words.index("--template-file") + 1] == "my grant.bicep"


def test_bicep_deploy_command_default_file() -> None:
    assert bicep_deploy_command(make_plan()) == (
        f"az deployment group create --subscription {SUBSCRIPTION} "
        f"--resource-group {PLAIN_GROUP} --template-file grant.bicep"
    )


def test_az_grant_matches_plan_command() -> None:
    plan = make_plan()

    assert az_grant_command(plan) == plan.az_command


def test_az_grant_quotes_odd_group() -> None:
    plan = make_plan(ODD_GROUP)
    words = shlex.split(az_grant_command(plan))

    assert words == [
        "az",
        "role",
        "assignment",
        "create",
        "--name",
        plan.assignment_name,
        "--assignee-object-id",
        PRINCIPAL,
        "--assignee-principal-type",
        "ServicePrincipal",
        "--role",
        SECRETS_USER_ROLE_ID,
        "--scope",
        plan.scope,
    ]
    assert "'" in az_grant_command(plan)


def test_az_verify_lists_plan_scope() -> None:
    plan = make_plan()

    assert az_verify_command(plan) == (
        f"az role assignment list --assignee {PRINCIPAL} --scope {plan.scope} "
        "--include-inherited"
    )


def test_az_verify_quotes_odd_group() -> None:
    plan = make_plan(ODD_GROUP)
    words = shlex.split(az_verify_command(plan))

    assert words[words.index("--scope") + 1] == plan.scope
    assert words[-1] == "--include-inherited"


def test_az_revoke_command() -> None:
    plan = make_plan(ODD_GROUP)
    words = shlex.split(az_revoke_command(plan.assignment_id))

    assert words == ["az", "role", "assignment", "delete", "--ids", plan.assignment_id]


SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"


@pytest.fixture
def cli_simulator(fresh_sim: SimulatorEndpoint, kit_home: Path) -> Iterator[None]:
    """Reseed the simulator and run each command line test without a profile."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield
    (kit_home / "profile.json").unlink(missing_ok=True)


def run_cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def dry_run_plan(*options: str) -> dict[str, Any]:
    result = run_cli(
        "grant", SECRET, "--principal-id", PRINCIPAL, "--dry-run", "--json", *options
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_cli_show_as_default_az(cli_simulator: None) -> None:
    result = run_cli("grant", SECRET, "--principal-id", PRINCIPAL, "--dry-run")
    data = dry_run_plan()

    assert result.exit_code == 0, result.output
    assert f"Azure CLI equivalent:\n  {data['plan']['az_command']}\n" in result.stdout
    assert data["equivalent"] == {"show_as": "az", "text": data["plan"]["az_command"]}


def test_cli_show_as_terraform(cli_simulator: None) -> None:
    result = run_cli(
        "grant",
        SECRET,
        "--principal-id",
        PRINCIPAL,
        "--dry-run",
        "--show-as",
        "terraform",
    )
    plan = dry_run_plan()["plan"]

    assert result.exit_code == 0, result.output
    # The template alone is on stdout, so `> grant.tf` saves a valid file.
    assert result.stdout.startswith("# ")
    assert "Azure CLI equivalent" not in result.output
    assert "Terraform equivalent:\n" in result.stderr
    assert f"Assignment:  {plan['assignment_id']}" in result.stderr
    assert result.stderr.endswith("Dry run: nothing was created.\n")
    attributes = terraform_attributes(result.stdout)
    assert attributes["name"] == plan["assignment_name"]
    assert attributes["scope"] == plan["scope"]
    assert attributes["role_definition_id"] == plan["role_definition_id"]
    assert attributes["principal_id"] == PRINCIPAL
    assert attributes["principal_type"] == "ServicePrincipal"


def test_cli_show_as_bicep(cli_simulator: None) -> None:
    result = run_cli(
        "grant", SECRET, "--principal-id", PRINCIPAL, "--dry-run", "--show-as", "bicep"
    )
    data = dry_run_plan("--show-as", "bicep")
    shown = data["equivalent"]

    assert result.exit_code == 0, result.output
    assert shown["show_as"] == "bicep"
    assert f"to deploy with `{shown['deploy_command']}`:\n" in result.stderr
    assert result.stdout == shown["text"]
    assert result.stderr.endswith("Dry run: nothing was created.\n")
    assert f"  name: '{data['plan']['assignment_name']}'\n" in shown["text"]
    assert "--resource-group rg-union-dp" in shown["deploy_command"]


def test_cli_show_as_creates_nothing(cli_simulator: None) -> None:
    for show_as in ("terraform", "bicep"):
        result = run_cli(
            "grant",
            SECRET,
            "--principal-id",
            PRINCIPAL,
            "--dry-run",
            "--show-as",
            show_as,
        )
        assert result.exit_code == 0, result.output

    assert run_cli("verify", SECRET, "--principal-id", PRINCIPAL).exit_code == 1


def test_cli_show_as_rejects_unknown(cli_simulator: None) -> None:
    result = CliRunner().invoke(
        main, ["grant", SECRET, "--dry-run", "--show-as", "pulumi"]
    )

    assert result.exit_code == 2
    assert "'pulumi' is not one of 'az', 'terraform', 'bicep'" in result.stderr


@pytest.mark.parametrize("resource_group", [ODD_GROUP, UNICODE_GROUP])
def test_az_commands_split_back_to_values(resource_group: str) -> None:
    plan = make_plan(resource_group)
    grant_words = shlex.split(az_grant_command(plan))
    verify_words = shlex.split(az_verify_command(plan))

    assert grant_words[grant_words.index("--scope") + 1] == plan.scope
    assert verify_words[verify_words.index("--scope") + 1] == plan.scope
    assert shlex.split(az_revoke_command(plan.assignment_id))[-1] == plan.assignment_id
