"""Checks of the signed-in operator: rights to grant, tenant, and the sign-in chain.

`operator.cannot-assign` decides without writing anything: it reads the
operator's role assignments on the secret's path and evaluates their roles with
`akv_helpers.roles`.
"""

from __future__ import annotations

from akv_helpers.connection import azure_errors
from akv_helpers.diagnose.checks_grant import grant_plan_for
from akv_helpers.diagnose.classify import classify_error
from akv_helpers.diagnose.credentials import explain_credential_failure
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.grant_errors import GRANTING_ROLE_IDS
from akv_helpers.identifiers import filter_value, scope_contains
from akv_helpers.roles import BUILTIN_ROLES, role_allows, role_guid_from_definition_id
from akv_helpers.steps import step_place

__all__ = ["ROLE_ASSIGNMENT_WRITE_ACTION"]

ROLE_ASSIGNMENT_WRITE_ACTION = "Microsoft.Authorization/roleAssignments/write"


@check(
    "operator.cannot-assign",
    needs=("vault", "identifier", "principal"),
    title="Right to grant",
)
def check_cannot_assign(context: CheckContext) -> Finding:
    """Fail when none of the operator's roles may write role assignments here."""
    connection = context.signed_in
    if connection.simulator is None:
        # NOTE: Azure mode would need the operator's object ID from the token or
        # Microsoft Graph, which the kit does not read.
        return context.finding(
            Status.COULD_NOT_CHECK,
            "Could not check: in Azure mode the kit does not know the signed-in "
            "account's object ID.",
            f"A role that allows {ROLE_ASSIGNMENT_WRITE_ACTION} on the secret.",
            "List your roles: `az role assignment list --assignee <your object ID> "
            "--all --include-inherited`.",
        )
    operator = connection.simulator.operator_principal_id
    scope = context.vault.secret_scope(context.identifier.name)
    query = f"assignedTo('{filter_value(operator, 'operator object ID')}')"
    operations = connection.authorization().role_assignments
    context.report_progress("Listing your role assignments on the secret")
    with azure_errors("list your role assignments"):
        items = list(operations.list_for_scope(scope, filter=query))
    allowing: list[str] = []
    for item in items:
        role = BUILTIN_ROLES.get(role_guid_from_definition_id(item.role_definition_id))
        if (
            role is not None
            and scope_contains(str(item.scope), scope)
            and role_allows(role, ROLE_ASSIGNMENT_WRITE_ACTION, data=False)
        ):
            allowing.append(f"{role.name} at {item.scope}")
    if allowing:
        return context.finding(
            Status.OK,
            f"You ({operator}) may write role assignments on the secret: "
            f"{'; '.join(allowing)}.",
            f"A role that allows {ROLE_ASSIGNMENT_WRITE_ACTION} on the secret.",
        )
    plan = grant_plan_for(context)
    roles = ", ".join(BUILTIN_ROLES[guid].name for guid in GRANTING_ROLE_IDS)
    return context.finding(
        Status.FAILED,
        f"None of your {len(items)} role assignments on the secret's path (you: "
        f"{operator}) allows {ROLE_ASSIGNMENT_WRITE_ACTION}, so a grant would be "
        "denied with AuthorizationFailed.",
        f"A role that allows {ROLE_ASSIGNMENT_WRITE_ACTION} on the secret.",
        f"Any of these roles is enough, least privileged first: {roles}. Ask someone "
        f"who has one to create the assignment:\n\n{plan.admin_instructions()}",
        evidence={"operator object ID": operator, "scope": scope},
        commands=(
            plan.az_command,
            f"az role assignment list --assignee {plan.principal_id} --scope "
            f"{plan.scope} --include-inherited",
        ),
    )


@check("operator.tenant", needs=("connection", "sign_in"), title="Signed-in tenant")
def check_tenant(context: CheckContext) -> Finding:
    """Fail when Azure or Key Vault reports a token from another tenant."""
    sources = []
    vault = context.outcome("vault")
    if vault.error is not None:
        error = vault.error
        sources.append(
            (getattr(error, "status", None), getattr(error, "code", None),
             getattr(error, "inner_code", None), error.message)
        )  # fmt: skip
    elif vault.available:
        probe = context.outcome("probe")
        if probe.available and probe.value.status is not None:
            value = probe.value
            sources.append((value.status, value.code, value.inner_code, value.message))
    for status, code, inner, message in sources:
        cause = classify_error(status, code, inner, message)
        if cause.id == "tenant-mismatch":
            expected = cause.details.get("expected_tenant", "unknown")
            token = cause.details.get("token_tenant", "unknown")
            return context.finding(
                Status.FAILED,
                f"The access token was issued by tenant {token}, but the resource "
                f"belongs to tenant {expected} ({code or inner}).",
                f"A sign-in to tenant {expected}.",
                f"Sign in to tenant {expected}: `az login --tenant {expected}`, or "
                "set the tenant ID in the profile and sign in again.",
                evidence={"expected tenant": expected, "token tenant": token},
                commands=(f"az login --tenant {expected}",),
            )
    return context.finding(
        Status.OK,
        f"No request was rejected for a token from another tenant (tenant "
        f"{context.signed_in.tenant_id or 'from the sign-in'}).",
        "A sign-in to the tenant that owns the subscription and the vault.",
    )


@check("operator.credential-chain", needs=("connection",), title="Sign-in")
def check_credential_chain(context: CheckContext) -> Finding:
    """Explain each failed credential when the sign-in returned no token."""
    vault = context.outcome("vault")
    error = vault.error
    # The kit's error is raised from the SDK's; the SDK's text is whole, while
    # the kit's message is cut to a displayable length.
    source = (error.__cause__ or error) if error is not None else None
    lines = explain_credential_failure(source) if source is not None else []
    if not lines:
        return context.finding(
            Status.OK,
            "The sign-in returned a token: Azure answered the doctor's requests."
            if vault.available or error is not None
            else "No request needed a token.",
            "A credential that returns a token.",
        )
    return context.finding(
        Status.FAILED,
        "The sign-in returned no token. Each credential tried:\n"
        + "\n".join(f"- {line}" for line in lines),
        "At least one credential of the chain returns a token.",
        "Sign in with the Azure CLI where the kernel runs (`az login`), or with a "
        f"device code from {step_place('start')}.",
        evidence={"credentials tried": str(len(lines))},
    )
