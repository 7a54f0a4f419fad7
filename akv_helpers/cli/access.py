"""The ``grant``, ``verify`` and ``revoke`` commands for one secret."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from akv_helpers.cli._output import as_dict, echo_json, kit_errors
from akv_helpers.cli._steps import open_connection, resolve_principal
from akv_helpers.cli._types import SECRET_ID, principal_option, role_options
from akv_helpers.errors import KitError
from akv_helpers.identifiers import SecretIdentifier, require_cloud
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.roles import SECRETS_USER_ROLE_ID, RoleDefinition

if TYPE_CHECKING:
    from akv_helpers.assignment_results import RevokeResult
    from akv_helpers.assignments import GrantPlan
    from akv_helpers.connection import Connection
    from akv_helpers.grant_plan import ScopeKind
    from akv_helpers.vaults import VaultInfo

ALLOW_WRITE_ROLE_OPTION = "--allow-write-role"
SHOW_AS_CHOICES = ("az", "terraform", "bicep")

__all__ = [
    "ALLOW_WRITE_ROLE_OPTION",
    "COMMANDS",
    "SHOW_AS_CHOICES",
    "check_before_grant",
    "echo_notes",
    "echo_plan",
    "equivalent",
    "grant",
    "plan_for",
    "revoke",
    "verify",
]


def plan_for(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    principal_created_at: datetime | None = None,
    *,
    role: str = SECRETS_USER_ROLE_ID,
    allow_write_roles: bool = False,
    scope: ScopeKind = "secret",
) -> tuple[VaultInfo, GrantPlan]:
    """Find the vault and compute the grant plan for the secret.

    `principal_created_at` is the identity's creation time; for an identity
    younger than an hour the grant retries ``PrincipalNotFound``. `role`,
    `allow_write_roles` and `scope` are passed to `plan_grant`.
    """
    from akv_helpers.assignments import plan_grant
    from akv_helpers.vaults import find_vault

    vault = find_vault(connection, identifier.vault_name)
    subscription = vault.subscription_id or connection.subscription_id
    plan = plan_grant(
        subscription,
        vault,
        identifier.name,
        principal_id,
        role=role,
        allow_write_roles=allow_write_roles,
        scope=scope,
        principal_created_at=principal_created_at,
    )
    return vault, plan


def _principal_with_age(
    connection: Connection, profile: Profile, typed: str | None
) -> tuple[str, Profile, datetime | None]:
    """Choose the principal as `resolve_principal` does, and find its age.

    A typed ID is resolved here, so that the identity the listing returned
    also gives its creation time without a second listing.
    """
    from akv_helpers.identities import identity_created_at, resolve_typed_principal

    if typed is None:
        principal, profile = resolve_principal(connection, profile, None)
        return (
            principal,
            profile,
            identity_created_at(connection, principal, profile.identity),
        )
    choice = resolve_typed_principal(connection, typed, profile.identity)
    if choice.swapped:
        click.echo(f"Note: {choice.explanation}", err=True)
    elif choice.typed_kind == "unknown":
        click.echo(f"Warning: {choice.explanation}", err=True)
    created_at = choice.identity.created_at if choice.identity else None
    if created_at is None and choice.identity is not None:
        # The profile's identity matched without a request; read its age.
        created_at = identity_created_at(
            connection, choice.principal_id, profile.identity
        )
    return choice.principal_id, profile, created_at


def equivalent(plan: GrantPlan, show_as: str = "az") -> dict[str, str]:
    """Return the plan as an Azure CLI command, Terraform or Bicep.

    Parameters
    ----------
    plan
        The grant plan.
    show_as
        ``"az"`` (the default), ``"terraform"`` or ``"bicep"``.

    Returns
    -------
    dict of str to str
        ``show_as``, ``text`` (the command or the template) and, for Bicep,
        ``deploy_command``, the ``az deployment group create`` that applies it.
    """
    from akv_helpers import grant_templates

    if show_as == "terraform":
        return {"show_as": show_as, "text": grant_templates.terraform_grant(plan)}
    if show_as == "bicep":
        return {
            "show_as": show_as,
            "text": grant_templates.bicep_grant(plan),
            "deploy_command": grant_templates.bicep_deploy_command(plan),
        }
    return {"show_as": "az", "text": grant_templates.az_grant_command(plan)}


def echo_plan(
    plan: GrantPlan, show_as: str = "az", *, template_alone: bool = False
) -> None:
    """Print what the grant will create and its equivalent in `show_as`.

    `show_as` is ``"az"`` (the Azure CLI command, the default), ``"terraform"``
    or ``"bicep"``, as `equivalent` renders them. With `template_alone`, a
    Terraform or Bicep template is the only text on stdout and the rest goes
    to stderr, so ``> grant.tf`` or ``> grant.bicep`` saves a valid file.
    """
    summary_to_stderr = template_alone and show_as in ("terraform", "bicep")
    click.echo(
        f"Role:        {plan.role_name} ({plan.role_guid})", err=summary_to_stderr
    )
    click.echo(
        f"Principal:   {plan.principal_id} ({plan.principal_type})",
        err=summary_to_stderr,
    )
    click.echo(f"Scope:       {plan.scope} ({plan.scope_kind})", err=summary_to_stderr)
    click.echo(f"Assignment:  {plan.assignment_id}", err=summary_to_stderr)
    rendered = equivalent(plan, show_as)
    if show_as == "terraform":
        click.echo("Terraform equivalent:", err=summary_to_stderr)
        click.echo(rendered["text"], nl=False)
    elif show_as == "bicep":
        deploy = rendered["deploy_command"]
        click.echo(
            f"Bicep equivalent, to deploy with `{deploy}`:", err=summary_to_stderr
        )
        click.echo(rendered["text"], nl=False)
    else:
        click.echo("Azure CLI equivalent:")
        click.echo(f"  {rendered['text']}")


def echo_plan_warnings(plan: GrantPlan) -> None:
    """Print on stderr what a vault scope or a write role adds to the grant."""
    widening = plan.widening_warning()
    if widening is not None:
        click.echo(f"Warning: {widening}", err=True)
    if plan.write_permissions:
        click.echo(
            f"Warning: {plan.role_name} can also change or delete secrets "
            f"({', '.join(plan.write_permissions)}); it is assigned because "
            f"{ALLOW_WRITE_ROLE_OPTION} was given.",
            err=True,
        )


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@role_options
@click.option(
    ALLOW_WRITE_ROLE_OPTION,
    "allow_write_role",
    is_flag=True,
    help=(
        "Accept a --role that can also change or delete secrets, such as Key "
        "Vault Secrets Officer; without it such a role is rejected."
    ),
)
@click.option("--dry-run", is_flag=True, help="Show the plan; create nothing.")
@click.option(
    "--show-as",
    type=click.Choice(SHOW_AS_CHOICES),
    default="az",
    show_default=True,
    help=(
        "Show the plan's equivalent as an Azure CLI command, a Terraform "
        "azurerm_role_assignment or a Bicep file."
    ),
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan and result as JSON."
)
@kit_errors
def grant(
    secret_id: SecretIdentifier,
    principal_id: str | None,
    role: RoleDefinition,
    scope_kind: ScopeKind,
    allow_write_role: bool,
    dry_run: bool,
    show_as: str,
    as_json: bool,
) -> None:
    """Grant the identity Key Vault Secrets User on one secret.

    SECRET_ID is the secret's identifier from the portal, such as
    https://kv-demo.vault.azure.net/secrets/db-pass. --role assigns another
    built-in role, and --scope vault assigns it on the whole vault. With
    --dry-run --show-as terraform or bicep, the plan is printed as code an
    administrator can apply instead: the template alone on stdout, so that
    `> grant.tf` or `> grant.bicep` saves it, and the rest on stderr.
    """
    from akv_helpers import assignments
    from akv_helpers.grant_plan import check_role

    # The role is checked before anything is sent.
    check_role(
        role, allow_write_roles=allow_write_role, override=ALLOW_WRITE_ROLE_OPTION
    )
    profile = load_profile()
    require_cloud(secret_id, profile.cloud)
    connection = open_connection(profile)
    principal, profile, created_at = _principal_with_age(
        connection, profile, principal_id
    )
    vault, plan = plan_for(
        connection,
        secret_id,
        principal,
        created_at,
        role=role.id,
        allow_write_roles=allow_write_role,
        scope=scope_kind,
    )
    notes = check_before_grant(connection, secret_id, vault, principal)
    if not as_json:
        echo_notes(notes)
        echo_plan_warnings(plan)
    if dry_run:
        if as_json:
            plan_data = {**as_dict(plan), "widening": plan.widening_warning()}
            echo_json(
                {
                    "plan": plan_data,
                    "dry_run": True,
                    "notes": notes,
                    "equivalent": equivalent(plan, show_as),
                }
            )
        else:
            echo_plan(plan, show_as, template_alone=True)
            click.echo("Dry run: nothing was created.", err=show_as != "az")
        return

    result = assignments.grant(connection, plan)
    # The grant is made at this point: a failed check afterwards must not hide it.
    verify_error: KitError | None = None
    try:
        verification = assignments.verify(connection, plan)
    except KitError as error:
        verify_error = error
        verification = None
    assignment_id = result.assignment_id or (
        verification.assignment_id if verification else None
    )
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
            "plan": {**as_dict(plan), "widening": plan.widening_warning()},
            "result": {**as_dict(result), "assignment_id": assignment_id},
            "verification": as_dict(verification) if verification else None,
            "verification_error": str(verify_error) if verify_error else None,
            "notes": notes,
        }
        echo_json(data)
        return
    echo_plan(plan, show_as)
    if assignment_id is None:
        click.echo(
            f"{result.status}: Azure reports that an assignment exists, but the "
            f"listing of {plan.principal_id}'s assignments did not return it."
        )
    else:
        click.echo(f"{result.status}: {assignment_id}")
    if verify_error is not None:
        click.echo(
            f"Warning: the grant was made, but listing the identity's assignments "
            f"to verify it failed: {verify_error.message} Run `akv-onboard verify "
            f"{secret_id.uri}` later; do not grant again.",
            err=True,
        )
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
    otherwise the kit's error is raised. The notes come from
    `akv_helpers.vaults.grant_notes`, which also looks a pinned version up.

    Returns
    -------
    list[str]
        Notes that do not stop the grant, each starting with ``Note:`` or
        ``Warning:``.
    """
    from akv_helpers.vaults import get_secret_info, grant_notes, require_rbac

    require_rbac(vault, principal_id)
    secret = get_secret_info(connection, vault, identifier.name)
    return grant_notes(connection, identifier, vault, secret)


def echo_notes(notes: list[str]) -> None:
    """Print the notes of `check_before_grant` on stderr."""
    for note in notes:
        click.echo(note, err=True)


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@role_options
@kit_errors
def verify(
    secret_id: SecretIdentifier,
    principal_id: str | None,
    role: RoleDefinition,
    scope_kind: ScopeKind,
) -> None:
    """Check that a role assignment lets the identity read the secret.

    With --scope vault, only an assignment on the vault or above counts.
    Exit code 1 when none does.
    """
    from akv_helpers import assignments
    from akv_helpers.vaults import require_rbac

    profile = load_profile()
    require_cloud(secret_id, profile.cloud)
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    vault, plan = plan_for(
        connection,
        secret_id,
        principal,
        role=role.id,
        allow_write_roles=True,
        scope=scope_kind,
    )
    # A role assignment has no effect on an access policy vault, so report what
    # grant reports instead of suggesting it.
    require_rbac(vault, principal)
    result = assignments.verify(connection, plan)
    if not result.granted:
        where = "the vault" if scope_kind == "vault" else secret_id.name
        click.echo(
            f"Not granted: no role assignment lets {principal} read "
            f"{where}. Grant it with `akv-onboard grant {secret_id.uri}"
            f"{' --scope vault' if scope_kind == 'vault' else ''}`.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"granted: {result.assignment_id}")
    for item in result.covering:
        click.echo(f"  {item.role_name or item.role_guid} at {item.scope}")


@click.command()
@click.argument("secret_id", type=SECRET_ID)
@principal_option
@role_options
@kit_errors
def revoke(
    secret_id: SecretIdentifier,
    principal_id: str | None,
    role: RoleDefinition,
    scope_kind: ScopeKind,
) -> None:
    """Delete the role assignment the kit made for the secret, and nothing else.

    The kit's assignment is the one for this identity, --role and --scope.
    Without --scope, when the profile records the kit's assignment on the
    whole vault for the profile's identity, that one is deleted. Every other
    assignment is left, and the output names each and the reason.
    """
    from akv_helpers import assignments
    from akv_helpers._verify_revoke import plan_for_saved_assignment

    profile = load_profile()
    require_cloud(secret_id, profile.cloud)
    connection = open_connection(profile)
    principal, profile = resolve_principal(connection, profile, principal_id)
    _, plan = plan_for(
        connection,
        secret_id,
        principal,
        role=role.id,
        allow_write_roles=True,
        scope=scope_kind,
    )
    context = click.get_current_context()
    if context.get_parameter_source("scope_kind") == ParameterSource.DEFAULT:
        saved_plan = plan_for_saved_assignment(plan, profile)
        if saved_plan is not plan:
            click.echo(
                "Note: the profile records the kit's assignment on the whole vault "
                "from the last grant, so revoke deletes that one. Pass --scope "
                "secret to revoke at the secret's scope only.",
                err=True,
            )
            plan = saved_plan
    result = assignments.revoke(connection, plan)
    saved = profile.assignment_id or ""
    if result.deleted and saved.lower() == result.assignment_id.lower():
        save_profile(
            profile.with_updates(assignment_id=None, assignment_created_by_kit=False)
        )
    click.echo(result.message)
    _echo_kit_assignments_elsewhere(result, plan, secret_id, principal_id)


def _echo_kit_assignments_elsewhere(
    result: RevokeResult,
    plan: GrantPlan,
    secret_id: SecretIdentifier,
    principal_id: str | None,
) -> None:
    """Print the command that revokes the kit's assignment at the other scope."""
    from akv_helpers._verify_revoke import kit_assignments_elsewhere
    from akv_helpers.grant_plan import shell_join

    for kind, _item in kit_assignments_elsewhere(result.kept, plan):
        words = ["akv-onboard", "revoke", secret_id.uri, "--scope", kind]
        if principal_id is not None:
            words += ["--principal-id", plan.principal_id]
        if plan.role_guid != SECRETS_USER_ROLE_ID:
            words += ["--role", plan.role_guid]
        click.echo(
            f"To delete the kit's assignment at the {kind}'s scope, run "
            f"`{shell_join(*words)}`."
        )


COMMANDS: tuple[click.Command, ...] = (grant, verify, revoke)
