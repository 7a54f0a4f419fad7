"""The ``grant``, ``verify`` and ``revoke`` commands for one secret."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from akv_helpers.cli._output import as_dict, echo_json, kit_errors
from akv_helpers.cli._steps import open_connection, resolve_principal
from akv_helpers.cli._types import SECRET_ID, principal_option
from akv_helpers.identifiers import SecretIdentifier
from akv_helpers.profile import load_profile, save_profile

if TYPE_CHECKING:
    from akv_helpers.assignments import GrantPlan
    from akv_helpers.connection import Connection
    from akv_helpers.vaults import VaultInfo

__all__ = ["COMMANDS", "echo_plan", "grant", "plan_for", "revoke", "verify"]


def plan_for(
    connection: Connection, identifier: SecretIdentifier, principal_id: str
) -> tuple[VaultInfo, GrantPlan]:
    """Find the vault and compute the grant plan for the secret."""
    from akv_helpers.assignments import plan_grant
    from akv_helpers.vaults import find_vault

    vault = find_vault(connection, identifier.vault_name)
    subscription = vault.subscription_id or connection.subscription_id
    return vault, plan_grant(subscription, vault, identifier.name, principal_id)


def echo_plan(plan: GrantPlan) -> None:
    """Print what the grant will create and the equivalent az command."""
    click.echo(f"Role:        {plan.role_name} ({plan.role_guid})")
    click.echo(f"Principal:   {plan.principal_id} ({plan.principal_type})")
    click.echo(f"Scope:       {plan.scope}")
    click.echo(f"Assignment:  {plan.assignment_id}")
    click.echo("Azure CLI equivalent:")
    click.echo(f"  {plan.az_command}")


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@click.option("--dry-run", is_flag=True, help="Show the plan; create nothing.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan and result as JSON."
)
@kit_errors
def grant(
    secret_id: SecretIdentifier,
    principal_id: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Grant the identity Key Vault Secrets User on one secret.

    SECRET_ID is the secret's identifier from the portal, such as
    https://kv-demo.vault.azure.net/secrets/db-pass.
    """
    from akv_helpers import assignments
    from akv_helpers.vaults import get_secret_info, require_rbac

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    vault, plan = plan_for(connection, secret_id, principal)
    require_rbac(vault, principal)
    get_secret_info(connection, vault, secret_id.name)
    if dry_run:
        if as_json:
            echo_json({"plan": as_dict(plan), "dry_run": True})
        else:
            echo_plan(plan)
            click.echo("Dry run: nothing was created.")
        return

    result = assignments.grant(connection, plan)
    save_profile(
        profile.with_updates(
            subscription_id=connection.subscription_id,
            tenant_id=connection.tenant_id or profile.tenant_id,
            secret_identifier=secret_id.uri,
            assignment_id=result.assignment_id,
            assignment_created_by_kit=result.created_by_kit,
        )
    )
    if as_json:
        echo_json({"plan": as_dict(plan), "result": as_dict(result)})
        return
    echo_plan(plan)
    click.echo(f"{result.status}: {result.assignment_id}")
    if result.status == "granted":
        click.echo(
            "Azure can take up to 10 minutes to apply a new role assignment to "
            "reads; `akv-onboard verify` and `akv-onboard task run` check it."
        )


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@kit_errors
def verify(secret_id: SecretIdentifier, principal_id: str | None) -> None:
    """Check that a role assignment lets the identity read the secret.

    Exit code 1 when none does.
    """
    from akv_helpers import assignments

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    _, plan = plan_for(connection, secret_id, principal)
    result = assignments.verify(connection, plan)
    if not result.granted:
        click.echo(
            f"Not granted: no role assignment lets {principal} read "
            f"{secret_id.name}. Grant it with `akv-onboard grant {secret_id.uri}`.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"granted: {result.assignment_id}")
    for item in result.covering:
        click.echo(f"  {item.role_name or item.role_guid} at {item.scope}")


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@kit_errors
def revoke(secret_id: SecretIdentifier, principal_id: str | None) -> None:
    """Delete the role assignment the kit made for the secret, and nothing else."""
    from akv_helpers import assignments

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    _, plan = plan_for(connection, secret_id, principal)
    result = assignments.revoke(connection, plan)
    if result.deleted and profile.assignment_id == result.assignment_id:
        save_profile(
            profile.with_updates(assignment_id=None, assignment_created_by_kit=False)
        )
    click.echo(result.message)


COMMANDS: tuple[click.Command, ...] = (grant, verify, revoke)
