"""HTML of the grant panel: the plan, its equivalents and the grant's result."""

from __future__ import annotations

from akv_helpers import assignments, grant_templates, propagation, vaults
from akv_helpers.errors import KitError

from ._render import (
    Level,
    command_block,
    definition_list,
    status_line,
    table_html,
)

ALLOW_WRITE_LABEL = "Allow a role that can change or delete secrets"
# Fields of the plan and of the results that get a copy button.
COPIED_FIELDS = ("assignment ID", "scope", "principal ID")


def _plan_html(plan: assignments.GrantPlan, vault: vaults.VaultInfo) -> str:
    where = "the whole vault" if plan.widens_scope else "this secret only"
    fields = definition_list(
        [
            ("vault", f"{vault.name} (resource group {vault.resource_group})"),
            ("permission model", vault.permission_model),
            ("role", f"{plan.role_name} ({plan.role_guid})"),
            ("principal ID", plan.principal_id),
            ("principal type", plan.principal_type),
            ("scope", plan.scope),
            ("assignment name", plan.assignment_name),
        ],
        copy=COPIED_FIELDS,
    )
    warnings = ""
    widening = plan.widening_warning()
    if widening is not None:
        warnings += status_line("warning", widening)
    if plan.write_permissions:
        warnings += status_line(
            "warning",
            f"{plan.role_name} can also change or delete secrets "
            f"({', '.join(plan.write_permissions)}).",
            f"It is planned because {ALLOW_WRITE_LABEL!r} is ticked.",
        )
    return f"<b>Plan</b> ({where})" + fields + warnings


def _template_html(plan: assignments.GrantPlan, language: str) -> str:
    """Render the plan as `language`, one of `SHOW_AS_OPTIONS`."""
    if language == "Terraform":
        return "The same assignment as Terraform (azurerm provider):" + command_block(
            grant_templates.terraform_grant(plan), "Terraform resource"
        )
    if language == "Bicep":
        file_name = grant_templates.BICEP_FILE_NAME
        return (
            f"The same assignment as Bicep; save it as <code>{file_name}</code>:"
            + command_block(grant_templates.bicep_grant(plan), "Bicep file")
            + "Deploy it with the Azure CLI:"
            + command_block(
                grant_templates.bicep_deploy_command(plan, file_name),
                "deploy command",
            )
        )
    return "The same assignment with the Azure CLI:" + command_block(
        grant_templates.az_grant_command(plan), "grant command"
    )


def _notes_html(notes: list[str]) -> str:
    """Render the notes of `vaults.grant_notes` as warning or note lines."""
    lines = []
    for note in notes:
        level: Level = "warning" if note.startswith("Warning:") else "info"
        text = note.split(":", 1)[1].strip() if ":" in note else note
        lines.append(status_line(level, text))
    return "".join(lines)


def _verify_html(verified: assignments.VerifyResult) -> str:
    if verified.granted:
        headline = status_line(
            "ok", "Verified: the identity's role assignments cover this secret."
        )
    else:
        headline = status_line(
            "warning",
            "Not verified: no listed assignment covers this secret yet.",
            "Azure can take a few minutes to list a new assignment; press Grant "
            "again to check.",
        )
    rows = [
        (
            item.role_name or item.role_guid,
            item.scope,
            "yes" if item.covers_secret else "no",
            item.assignment_id,
        )
        for item in verified.assignments
    ]
    headers = ("role", "scope", "covers this secret", "assignment ID")
    return (
        headline
        + "The identity's role assignments on this vault:"
        + table_html(headers, rows, copy_columns=(1, 3))
    )


def _grant_result_html(
    plan: assignments.GrantPlan,
    result: assignments.GrantResult,
    assignment_id: str | None,
    verified: assignments.VerifyResult | None,
    access: propagation.AccessWait | KitError,
) -> str:
    """Render the outcome of a grant as a table of fields."""
    if verified is None:
        verified_text = "not checked: listing the assignments failed"
    elif verified.granted:
        verified_text = "yes: an assignment covers this secret"
    else:
        verified_text = "not yet: no listed assignment covers this secret"
    return definition_list(
        [
            ("result", result.status),
            ("assignment ID", assignment_id),
            ("role", plan.role_name),
            ("scope", plan.scope),
            ("principal ID", plan.principal_id),
            ("created by the kit", "yes" if result.created_by_kit else "no"),
            ("verified", verified_text),
            ("access", _access_summary(access)),
        ],
        copy=COPIED_FIELDS,
    )


def _access_summary(access: propagation.AccessWait | KitError) -> str:
    if isinstance(access, KitError):
        return "not checked: the read as the identity failed"
    reads = f"{access.attempts} read{'s' if access.attempts != 1 else ''}"
    if access.status == "readable":
        return f"readable after {access.waited_seconds:.1f} s ({reads})"
    if access.status == "unknown":
        return "not checked: the kit cannot read as the identity in Azure mode"
    return f"{access.status} after {access.waited_seconds:.1f} s ({reads})"


def _access_html(access: propagation.AccessWait | KitError) -> str:
    """Render the last status row of a grant: whether the identity can read."""
    minutes = int(propagation.PROPAGATION_WINDOW_SECONDS // 60)
    if isinstance(access, KitError):
        fix = f"What to do: {access.fix}" if access.fix else ""
        return status_line("warning", f"Access not checked: {access.message}", fix)
    if access.status == "readable":
        return status_line(
            "ok",
            "Readable as the identity: the identity read the secret "
            f"after {access.waited_seconds:.1f} s.",
        )
    if access.status == "unknown":
        return status_line(
            "info",
            "Access not checked: in Azure mode the kit cannot sign in as the "
            "identity, so it cannot read the secret the way the task will.",
            f"Azure documents that a new role assignment can take up to {minutes} "
            "minutes to take effect. Run the test task on the cluster after that. "
            + access.message,
        )
    if access.status == "timed out":
        return status_line(
            "warning",
            "Not readable yet: the grant has not taken effect within "
            f"{access.waited_seconds:.0f} s.",
            access.message + " Press Grant again to check.",
        )
    return status_line(
        "error",
        "Not readable: the identity's read of the secret was denied.",
        access.message,
    )
