"""The kit's grant written as Azure CLI commands, Terraform and Bicep.

Each function renders one `GrantPlan` as text an administrator can run or commit
instead of letting the kit make the change. The plan's IDs and names are
validated already. Every value is still quoted for the language it lands in,
because resource group names may contain parentheses and Unicode letters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from akv_helpers.grant_plan import GrantPlan, shell_join

__all__ = [
    "BICEP_FILE_NAME",
    "TERRAFORM_RESOURCE_ADDRESS",
    "az_grant_command",
    "az_revoke_command",
    "az_verify_command",
    "bicep_deploy_command",
    "bicep_grant",
    "bicep_string",
    "terraform_grant",
    "terraform_string",
]

BICEP_FILE_NAME = "grant.bicep"
TERRAFORM_RESOURCE_ADDRESS = "azurerm_role_assignment.secret_read"
# API versions of the Bicep resources: roleAssignments as the kit's own requests
# use, and a generally available Key Vault version for the `existing` lookups.
_ROLE_ASSIGNMENTS_TYPE = "Microsoft.Authorization/roleAssignments@2022-04-01"
_VAULTS_TYPE = "Microsoft.KeyVault/vaults@2023-07-01"
_SECRETS_TYPE = "Microsoft.KeyVault/vaults/secrets@2023-07-01"


@dataclass(frozen=True)
class _VaultParts:
    subscription_id: str
    resource_group: str
    vault_name: str
    secret_name: str


def _vault_parts(plan: GrantPlan) -> _VaultParts:
    # vault_scope is /subscriptions/<sub>/resourceGroups/<rg>/providers/
    # Microsoft.KeyVault/vaults/<vault>, built by `build_vault_scope`.
    segments = plan.vault_scope.split("/")
    secret_scope = plan.secret_scope or plan.scope
    return _VaultParts(
        subscription_id=segments[2],
        resource_group=segments[4],
        vault_name=segments[-1],
        secret_name=secret_scope.rsplit("/", 1)[-1],
    )


def terraform_string(value: str) -> str:
    r"""Quote `value` as an HCL string literal.

    Besides ``"`` and ``\``, HCL treats ``${`` and ``%{`` as the start of a
    template sequence, so they are doubled to ``$${`` and ``%%{``. The JSON
    escapes of control characters are also HCL escapes.
    """
    quoted = json.dumps(value, ensure_ascii=False)
    return quoted.replace("${", "$${").replace("%{", "%%{")


def bicep_string(value: str) -> str:
    r"""Quote `value` as a Bicep single-quoted string literal.

    Bicep escapes ``\``, ``'`` and ``${`` (interpolation) with a backslash,
    and line breaks and tabs as ``\n``, ``\r`` and ``\t``.
    """
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("${", "\\${")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def az_grant_command(plan: GrantPlan) -> str:
    """Return the ``az role assignment create`` command of the plan."""
    return plan.az_command


def az_revoke_command(assignment_id: str) -> str:
    """Return the ``az role assignment delete`` command for one assignment ID."""
    return shell_join("az", "role", "assignment", "delete", "--ids", assignment_id)


def az_verify_command(plan: GrantPlan) -> str:
    """Return the ``az role assignment list`` command that shows the grant."""
    return plan.verify_command


def terraform_grant(plan: GrantPlan) -> str:
    """Render the plan as an ``azurerm_role_assignment`` resource.

    The resource carries the kit's deterministic assignment name, so Terraform
    and the kit name the same assignment, and a comment gives the
    ``terraform import`` command that adopts an assignment the kit already
    made. ``skip_service_principal_aad_check`` skips the provider's directory
    lookup of the principal, which can fail for an identity created minutes
    ago. It applies because a managed identity is a service principal.
    """
    import_command = shell_join(
        "terraform", "import", TERRAFORM_RESOURCE_ADDRESS, plan.assignment_id
    )
    kind, label = TERRAFORM_RESOURCE_ADDRESS.split(".")
    attributes = [
        ("name", terraform_string(plan.assignment_name)),
        ("scope", terraform_string(plan.scope)),
        ("role_definition_id", terraform_string(plan.role_definition_id)),
        ("principal_id", terraform_string(plan.principal_id)),
        ("principal_type", terraform_string(plan.principal_type)),
        ("skip_service_principal_aad_check", "true"),
    ]
    width = max(len(key) for key, _ in attributes)
    lines = [
        f"# {plan.role_name} for one principal on {plan.scope_kind} scope.",
        "# When the kit already made this assignment, adopt it with:",
        f"#   {import_command}",
        f'resource "{kind}" "{label}" {{',
        *(f"  {key.ljust(width)} = {value}" for key, value in attributes),
        "}",
    ]
    return "\n".join(lines) + "\n"


def bicep_grant(plan: GrantPlan) -> str:
    """Render the plan as a Bicep file for the vault's resource group.

    The vault (and, for a secret-scope plan, the secret under it through
    ``parent``) are declared ``existing``, and the role assignment is an
    extension resource scoped to the one the plan names. Its name is the kit's
    assignment name as a literal, so deploying the file and running the kit
    address the same assignment. The role definition ID is built with
    ``subscriptionResourceId``, which gives the same subscription-level ID as
    the plan when the file is deployed to the vault's subscription.
    """
    parts = _vault_parts(plan)
    lines = [
        f"// {plan.role_name} for one principal on {plan.scope_kind} scope.",
        "// Deploy to the vault's resource group.",
        f"resource vault '{_VAULTS_TYPE}' existing = {{",
        f"  name: {bicep_string(parts.vault_name)}",
        "}",
        "",
    ]
    target = "vault"
    if plan.scope_kind == "secret":
        target = "secret"
        lines += [
            f"resource secret '{_SECRETS_TYPE}' existing = {{",
            "  parent: vault",
            f"  name: {bicep_string(parts.secret_name)}",
            "}",
            "",
        ]
    role_id = (
        "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
        f"{bicep_string(plan.role_guid)})"
    )
    lines += [
        f"resource secretRead '{_ROLE_ASSIGNMENTS_TYPE}' = {{",
        f"  name: {bicep_string(plan.assignment_name)}",
        f"  scope: {target}",
        "  properties: {",
        f"    roleDefinitionId: {role_id}",
        f"    principalId: {bicep_string(plan.principal_id)}",
        f"    principalType: {bicep_string(plan.principal_type)}",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def bicep_deploy_command(plan: GrantPlan, file_name: str = BICEP_FILE_NAME) -> str:
    """Return the ``az deployment group create`` command for `bicep_grant`.

    The deployment targets the vault's resource group in the vault's
    subscription, which ``--subscription`` names explicitly because the
    signed-in default may be another one.
    """
    parts = _vault_parts(plan)
    return shell_join(
        "az",
        "deployment",
        "group",
        "create",
        "--subscription",
        parts.subscription_id,
        "--resource-group",
        parts.resource_group,
        "--template-file",
        file_name,
    )
