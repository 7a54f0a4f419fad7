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
    from akv_helpers.vaults import SecretInfo, VaultInfo

__all__ = [
    "COMMANDS",
    "check_before_grant",
    "echo_notes",
    "echo_plan",
    "grant",
    "pinned_version_note",
    "plan_for",
    "revoke",
    "secret_notes",
    "verify",
]


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

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    vault, plan = plan_for(connection, secret_id, principal)
    notes = check_before_grant(connection, secret_id, vault, principal)
    if not as_json:
        echo_notes(notes)
    if dry_run:
        if as_json:
            echo_json({"plan": as_dict(plan), "dry_run": True, "notes": notes})
        else:
            echo_plan(plan)
            click.echo("Dry run: nothing was created.")
        return

    result = assignments.grant(connection, plan)
    verification = assignments.verify(connection, plan)
    assignment_id = result.assignment_id or verification.assignment_id
    save_profile(
        profile.with_updates(
            subscription_id=connection.subscription_id,
            tenant_id=connection.tenant_id or profile.tenant_id,
            secret_identifier=secret_id.uri,
            assignment_id=assignment_id,
            assignment_created_by_kit=result.created_by_kit,
        )
    )
    if as_json:
        data = {
            "plan": as_dict(plan),
            "result": {**as_dict(result), "assignment_id": assignment_id},
            "verification": as_dict(verification),
            "notes": notes,
        }
        echo_json(data)
        return
    echo_plan(plan)
    if assignment_id is None:
        click.echo(
            f"{result.status}: Azure reports that an assignment exists, but the "
            f"listing of {plan.principal_id}'s assignments did not return it."
        )
    else:
        click.echo(f"{result.status}: {assignment_id}")
    if result.status == "granted":
        click.echo(
            "Azure can take up to 10 minutes to apply a new role assignment to "
            "reads; `akv-onboard verify` and `akv-onboard task run` check it."
        )


def check_before_grant(
    connection: Connection,
    identifier: SecretIdentifier,
    vault: VaultInfo,
    principal_id: str,
) -> list[str]:
    """Run the checks `assignments.onboard_secret` runs before it grants.

    The vault must use Azure RBAC and the secret must exist and be enabled;
    otherwise the kit's error is raised. A pinned version is looked up too.

    Returns
    -------
    list[str]
        Notes that do not stop the grant, each starting with ``Note:`` or
        ``Warning:``.
    """
    from akv_helpers.vaults import get_secret_info, require_rbac

    require_rbac(vault, principal_id)
    secret = get_secret_info(connection, vault, identifier.name)
    notes = [f"Note: {text}" for text in secret_notes(vault, secret)]
    version_note = pinned_version_note(connection, identifier, vault, secret)
    if version_note is not None:
        notes.insert(0, version_note)
    return notes


def secret_notes(vault: VaultInfo, secret: SecretInfo) -> list[str]:
    """Return what stops a task from reading the secret although the grant works."""
    notes: list[str] = []
    if secret.expired:
        notes.append(f"The secret {secret.name} has expired.")
    if secret.not_yet_valid:
        notes.append(f"The secret {secret.name} is not active yet.")
    if vault.public_network_access == "Disabled":
        notes.append(
            f"The vault {vault.name} has public network access disabled. The grant "
            "is made, but the task can read the secret only through a private "
            "endpoint in the cluster's network."
        )
    elif vault.network_default_action == "Deny":
        notes.append(
            f"The vault {vault.name} has a firewall that denies by default. The "
            "grant is made, but the cluster's network must be allowed in the "
            "vault's Networking settings."
        )
    return notes


def pinned_version_note(
    connection: Connection,
    identifier: SecretIdentifier,
    vault: VaultInfo,
    secret: SecretInfo,
) -> str | None:
    """Check that a pinned version exists, and return a note unless it is current.

    Azure Resource Manager returns only the current version of a secret, so
    another version is looked up in the data plane's version list, which needs
    a data action such as Key Vault Reader's readMetadata.
    """
    pinned = identifier.version
    if pinned is None or pinned == secret.current_version:
        return None
    listed = _list_versions(connection, vault, identifier.name)
    if isinstance(listed, str):
        return (
            f"Note: version {pinned} of {identifier.name} could not be checked, "
            f"because {listed}. The grant covers every version, and "
            "`akv-onboard task run` reads the pinned one."
        )
    if pinned not in listed:
        shown = ", ".join(listed) if listed else "none"
        return (
            f"Warning: version {pinned} of the secret {identifier.name} was not "
            f"found in the vault {vault.name} (versions: {shown}). The grant covers "
            "every version, but a task that pins this one fails. Copy the "
            "identifier of an existing version from the portal."
        )
    return (
        f"Note: the identifier pins version {pinned}, which is not the current "
        f"version {secret.current_version}, so the task reads {pinned}."
    )


def _list_versions(
    connection: Connection, vault: VaultInfo, name: str
) -> list[str] | str:
    """List the secret's versions as the operator, or return why that failed."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

    from akv_helpers.connection import error_codes

    if not vault.vault_uri:
        return f"the vault {vault.name} has no vault URI"
    try:
        with connection.secret_client(vault.vault_uri) as client:
            pages = client.list_properties_of_secret_versions(name)
            found = [str(item.version).lower() for item in pages if item.version]
    except ClientAuthenticationError as error:
        return f"the sign-in to the data plane failed ({type(error).__name__})"
    except HttpResponseError as error:
        code, inner_code = error_codes(error)
        if error.status_code == 403:
            return (
                "listing versions needs data-plane rights on the vault (such as "
                "Key Vault Reader) that the signed-in account lacks "
                f"({inner_code or code})"
            )
        return f"listing the versions failed ({error.status_code} {code})"
    return sorted(found)


def echo_notes(notes: list[str]) -> None:
    """Print the notes of `check_before_grant` on stderr."""
    for note in notes:
        click.echo(note, err=True)


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@kit_errors
def verify(secret_id: SecretIdentifier, principal_id: str | None) -> None:
    """Check that a role assignment lets the identity read the secret.

    Exit code 1 when none does.
    """
    from akv_helpers import assignments
    from akv_helpers.vaults import require_rbac

    profile = load_profile()
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    vault, plan = plan_for(connection, secret_id, principal)
    # A role assignment means nothing on an access policy vault, so say what
    # grant would say instead of suggesting it.
    require_rbac(vault, principal)
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
