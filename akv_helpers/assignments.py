"""Grant, verify and revoke read access to one secret with an Azure role assignment.

The kit names its assignment with `akv_helpers.identifiers.role_assignment_name`,
a UUIDv5 over scope, role and principal, so a repeated grant is the same PUT and
Azure returns 200 instead of creating a duplicate. Azure errors are classified by
``error.code``; the message text is only shown, never matched.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from akv_helpers.connection import (
    Connection,
    azure_errors,
    describe_http_error,
    error_codes,
)
from akv_helpers.errors import (
    AccessDeniedError,
    AzureRequestError,
    BadRequestError,
    InvalidIdError,
    InvalidInputError,
)
from akv_helpers.identifiers import (
    SecretIdentifier,
    filter_value,
    parse_secret_identifier,
    parse_secret_scope,
    role_assignment_name,
    scope_contains,
    validate_guid,
    validate_secret_name,
)
from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
    OWNER_ROLE_ID,
    RBAC_ADMINISTRATOR_ROLE_ID,
    SECRETS_USER_ROLE_ID,
    USER_ACCESS_ADMINISTRATOR_ROLE_ID,
    RoleDefinition,
    role_allows,
    role_definition_id,
    role_guid_from_definition_id,
)
from akv_helpers.vaults import (
    SecretInfo,
    VaultInfo,
    find_vault,
    get_secret_info,
    require_rbac,
)

__all__ = [
    "GRANTING_ROLE_IDS",
    "SECRET_WRITE_DATA_ACTIONS",
    "AssignmentInfo",
    "GrantPlan",
    "GrantResult",
    "OnboardingResult",
    "RevokeResult",
    "VerifyResult",
    "classify_grant_error",
    "grant",
    "onboard_secret",
    "plan_grant",
    "revoke",
    "verify",
]

logger = logging.getLogger(__name__)

PRINCIPAL_TYPE: Literal["ServicePrincipal"] = "ServicePrincipal"

# Secret data actions that change or remove a secret, from the Key Vault RBAC
# permission reference. A role with any of them grants more than a read.
SECRET_WRITE_DATA_ACTIONS = (
    "Microsoft.KeyVault/vaults/secrets/setSecret/action",
    "Microsoft.KeyVault/vaults/secrets/update/action",
    "Microsoft.KeyVault/vaults/secrets/delete",
    "Microsoft.KeyVault/vaults/secrets/purge/action",
    "Microsoft.KeyVault/vaults/secrets/restore/action",
    "Microsoft.KeyVault/vaults/secrets/recover/action",
    "Microsoft.KeyVault/vaults/secrets/backup/action",
)

# Roles that may write role assignments for Key Vault Secrets User, least
# privileged first.
GRANTING_ROLE_IDS = (
    KEY_VAULT_DATA_ACCESS_ADMINISTRATOR_ROLE_ID,
    RBAC_ADMINISTRATOR_ROLE_ID,
    USER_ACCESS_ADMINISTRATOR_ROLE_ID,
    OWNER_ROLE_ID,
)

_GUID_IN_TEXT = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)


@dataclass(frozen=True)
class GrantPlan:
    """A role assignment the kit would create, computed without any request.

    Attributes
    ----------
    role_name, role_guid
        The role, such as Key Vault Secrets User ``4633458b-…``.
    role_definition_id
        Subscription-level role definition ID.
    principal_id
        Principal ID (object ID) of the identity.
    principal_type
        Always ``"ServicePrincipal"``.
    scope
        Secret scope of the assignment.
    vault_scope
        Scope of the vault, where `verify` lists assignments.
    assignment_name
        The kit's deterministic assignment name.
    assignment_id
        Full ARM ID the assignment will have.
    az_command
        The equivalent Azure CLI command.
    """

    role_name: str
    role_guid: str
    role_definition_id: str
    principal_id: str
    principal_type: Literal["ServicePrincipal"]
    scope: str
    vault_scope: str
    assignment_name: str
    assignment_id: str
    az_command: str

    def rest_body(self) -> str:
        """Return the JSON body of the PUT, as an administrator would send it."""
        properties = {
            "roleDefinitionId": self.role_definition_id,
            "principalId": self.principal_id,
            "principalType": self.principal_type,
        }
        return json.dumps({"properties": properties}, indent=2)

    def admin_instructions(self) -> str:
        """Return what an administrator needs to create the assignment."""
        terraform = (
            'resource "azurerm_role_assignment" "secret_read" {\n'
            f'  name                 = "{self.assignment_name}"\n'
            f'  scope                = "{self.scope}"\n'
            f'  role_definition_id   = "{self.role_definition_id}"\n'
            f'  principal_id         = "{self.principal_id}"\n'
            '  principal_type       = "ServicePrincipal"\n'
            "}"
        )
        parts = parse_secret_scope(self.scope)
        bicep = (
            "resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' "
            f"existing = {{\n  name: '{parts.vault_name}/{parts.secret_name}'\n}}\n\n"
            "resource secretRead 'Microsoft.Authorization/roleAssignments@2022-04-01'"
            " = {\n"
            f"  name: '{self.assignment_name}'\n"
            "  scope: secret\n"
            "  properties: {\n"
            f"    roleDefinitionId: '{self.role_definition_id}'\n"
            f"    principalId: '{self.principal_id}'\n"
            "    principalType: 'ServicePrincipal'\n"
            "  }\n"
            "}"
        )
        verify_command = (
            f"az role assignment list --assignee {self.principal_id} "
            f"--scope {self.scope} --include-inherited"
        )
        return (
            f"Azure CLI:\n{self.az_command}\n\n"
            f"REST: PUT https://management.azure.com{self.assignment_id}"
            f"?api-version=2022-04-01\n{self.rest_body()}\n\n"
            f"Terraform:\n{terraform}\n\nBicep:\n{bicep}\n\n"
            f"Verify:\n{verify_command}"
        )


@dataclass(frozen=True)
class GrantResult:
    """Outcome of `grant`.

    Attributes
    ----------
    status
        ``"granted"`` (created now) or ``"already granted"``.
    assignment_id
        ARM ID of the assignment, or ``None`` when Azure did not name the
        existing one; `verify` finds it.
    created_by_kit
        Whether the assignment has the kit's deterministic name.
    """

    status: Literal["granted", "already granted"]
    assignment_id: str | None
    created_by_kit: bool


@dataclass(frozen=True)
class AssignmentInfo:
    """A role assignment that `verify` or `revoke` found.

    Attributes
    ----------
    assignment_id, name, scope
        ARM ID, name and scope of the assignment.
    role_guid
        GUID of the role definition.
    role_name
        Built-in role name, or ``None`` for a role the kit does not know.
    principal_id, principal_type
        The assignee.
    grants_read
        Whether the role's data actions cover getting a secret's value.
    covers_secret
        Whether the assignment lets the principal read the planned secret: it
        grants the read at the secret's scope or above.
    """

    assignment_id: str
    name: str
    scope: str
    role_guid: str
    role_name: str | None
    principal_id: str
    principal_type: str | None
    grants_read: bool
    covers_secret: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify`.

    Attributes
    ----------
    granted
        Whether an assignment at the secret's scope or above lets the principal
        read the secret.
    assignment_id
        The kit's assignment if it is among them, else the narrowest one.
    assignments
        Every assignment of the principal that the listing returned, those that
        cover the secret first.
    """

    granted: bool
    assignment_id: str | None
    assignments: list[AssignmentInfo] = field(default_factory=list)

    @property
    def covering(self) -> list[AssignmentInfo]:
        """Assignments that let the principal read the secret."""
        return [item for item in self.assignments if item.covers_secret]


@dataclass(frozen=True)
class RevokeResult:
    """Outcome of `revoke`.

    Attributes
    ----------
    deleted
        Whether the kit's assignment was found and deleted.
    assignment_id
        ARM ID of the kit's assignment.
    kept
        Other assignments that still let the principal read the secret; the kit
        leaves them in place.
    message
        One sentence for the user.
    """

    deleted: bool
    assignment_id: str
    kept: list[AssignmentInfo]
    message: str


@dataclass(frozen=True)
class OnboardingResult:
    """Outcome of `onboard_secret`.

    Attributes
    ----------
    vault, secret, plan, grant, verification
        The result of each step.
    notes
        Warnings that do not stop the onboarding, such as a pinned version that
        is not the current one or a vault without public network access.
    """

    vault: VaultInfo
    secret: SecretInfo
    plan: GrantPlan
    grant: GrantResult
    verification: VerifyResult
    notes: list[str] = field(default_factory=list)


def _role(role: str) -> RoleDefinition:
    by_name = {item.name.lower(): item for item in BUILTIN_ROLES.values()}
    named = by_name.get(role.strip().lower())
    if named is not None:
        # Display names are not unique across custom roles, so only suggest.
        raise InvalidIdError(
            f"The role is given by its name {role.strip()!r}; the kit takes roles "
            "by GUID.",
            f"Use {named.id}.",
            value=role,
            expected="a built-in role definition GUID",
        )
    guid = validate_guid(role_guid_from_definition_id(role), "role definition ID")
    definition = BUILTIN_ROLES.get(guid)
    if definition is None:
        known = ", ".join(f"{item.name} ({item.id})" for item in BUILTIN_ROLES.values())
        raise InvalidIdError(
            f"The role {guid} is not a built-in role the kit can check.",
            f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}) or one of: {known}.",
            value=role,
            expected="a built-in role definition GUID",
        )
    return definition


def _check_role(role: RoleDefinition, allow_write_roles: bool) -> None:
    if not role_allows(role, GET_SECRET_DATA_ACTION, data=True):
        raise InvalidInputError(
            f"The role {role.name!r} ({role.id}) cannot read secret values, so "
            "assigning it would not let the task read the secret.",
            f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}).",
            value=role.id,
            expected="a role whose data actions include getSecret",
        )
    writes = [a for a in SECRET_WRITE_DATA_ACTIONS if role_allows(role, a, data=True)]
    if writes and not allow_write_roles:
        raise InvalidInputError(
            f"The role {role.name!r} ({role.id}) can also change or delete secrets "
            f"({', '.join(writes)}), which a task that reads one secret does not need.",
            f"Use Key Vault Secrets User ({SECRETS_USER_ROLE_ID}), or pass "
            "allow_write_roles=True if the task really writes secrets.",
            value=role.id,
            expected="a role that only reads secrets",
        )


def plan_grant(
    subscription_id: str,
    vault: VaultInfo,
    secret_name: str,
    principal_id: str,
    *,
    role: str = SECRETS_USER_ROLE_ID,
    allow_write_roles: bool = False,
) -> GrantPlan:
    """Compute the role assignment for one secret, without sending a request.

    Parameters
    ----------
    subscription_id
        Subscription of the vault.
    vault
        The vault, from `find_vault`.
    secret_name
        Secret name, such as ``db-pass``.
    principal_id
        Principal ID (object ID) of the identity, not its client ID.
    role
        Role definition GUID or ID; defaults to Key Vault Secrets User.
    allow_write_roles
        Whether a role that can change or delete secrets is accepted.

    Returns
    -------
    GrantPlan
        Scope, role, deterministic name and the equivalent az command.

    Raises
    ------
    InvalidInputError
        If an ID or name is invalid, the role is unknown or cannot read secrets,
        or it can write secrets and `allow_write_roles` is false.
    """
    subscription = validate_guid(subscription_id, "subscription ID")
    principal = validate_guid(principal_id, "principal ID")
    definition = _role(role)
    _check_role(definition, allow_write_roles)

    name = validate_secret_name(secret_name)
    scope = vault.secret_scope(name)
    assignment_name = role_assignment_name(scope, definition.id, principal)
    assignment_id = (
        f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment_name}"
    )
    az_command = (
        f"az role assignment create --assignee-object-id {principal} "
        f"--assignee-principal-type {PRINCIPAL_TYPE} --role {definition.id} "
        f"--scope {scope}"
    )
    return GrantPlan(
        role_name=definition.name,
        role_guid=definition.id,
        role_definition_id=role_definition_id(definition.id, subscription),
        principal_id=principal,
        principal_type=PRINCIPAL_TYPE,
        scope=scope,
        vault_scope=vault.scope,
        assignment_name=assignment_name,
        assignment_id=assignment_id,
        az_command=az_command,
    )


def _status_and_body(pipeline_response: Any, deserialized: Any, _: Any) -> Any:
    return pipeline_response.http_response.status_code, deserialized


def grant(connection: Connection, plan: GrantPlan) -> GrantResult:
    """Create the planned role assignment with one PUT.

    Parameters
    ----------
    connection
        Signed-in connection of an operator who may write role assignments.
    plan
        The plan from `plan_grant`.

    Returns
    -------
    GrantResult
        ``"granted"`` for a new assignment (201), ``"already granted"`` when the
        kit's assignment exists (200) or Azure reports ``RoleAssignmentExists``.

    Raises
    ------
    AccessDeniedError
        If the operator may not write role assignments (``AuthorizationFailed``).
    BadRequestError
        For ``PrincipalNotFound``, ``UnmatchedPrincipalType`` and
        ``RoleAssignmentUpdateNotPermitted``.
    AzureRequestError
        For any other error response.
    """
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=plan.role_definition_id,
        principal_id=plan.principal_id,
        principal_type=PRINCIPAL_TYPE,
    )
    operations = connection.authorization().role_assignments
    with azure_errors("create the role assignment"):
        try:
            status, assignment = operations.create(
                plan.scope, plan.assignment_name, parameters, cls=_status_and_body
            )
        except HttpResponseError as exc:
            outcome = classify_grant_error(exc, plan)
            if isinstance(outcome, GrantResult):
                return outcome
            raise outcome from exc

    assignment_id = str(getattr(assignment, "id", None) or plan.assignment_id)
    if status == 201:
        logger.info(
            "Assigned role %s to principal %s at %s: %s",
            plan.role_name,
            plan.principal_id,
            plan.scope,
            assignment_id,
        )
        return GrantResult("granted", assignment_id, created_by_kit=True)
    logger.debug("The kit's role assignment %s already exists", assignment_id)
    return GrantResult("already granted", assignment_id, created_by_kit=True)


def _existing_assignment_id(message: str, plan: GrantPlan) -> str | None:
    # Newer Azure messages name the existing assignment; older ones do not. The
    # ID is only read from the text, the decision is made on the code.
    found = [match.replace("-", "").lower() for match in _GUID_IN_TEXT.findall(message)]
    if len(found) != 1:
        return None
    guid = validate_guid(found[0], "role assignment name")
    return f"{plan.scope}/providers/Microsoft.Authorization/roleAssignments/{guid}"


def classify_grant_error(
    exc: HttpResponseError, plan: GrantPlan
) -> GrantResult | AzureRequestError:
    """Turn an error response to the grant's PUT into a result or a kit error.

    Parameters
    ----------
    exc
        Error raised by ``role_assignments.create``.
    plan
        The plan that was sent.

    Returns
    -------
    GrantResult or AzureRequestError
        ``"already granted"`` for ``RoleAssignmentExists``; otherwise the error to
        raise, chosen by ``error.code``.
    """
    code, _ = error_codes(exc)
    message = exc.error.message if exc.error is not None and exc.error.message else ""
    if code == "RoleAssignmentExists":
        existing = _existing_assignment_id(str(message), plan)
        logger.debug("Azure reports an existing assignment for %s", plan.scope)
        return GrantResult("already granted", existing, created_by_kit=False)

    described = describe_http_error(exc, "create the role assignment")
    details: dict[str, Any] = {
        "status": described.status,
        "code": described.code,
        "inner_code": described.inner_code,
        "request_id": described.request_id,
    }
    if code == "AuthorizationFailed":
        return AccessDeniedError(*_authorization_failed(plan, str(message)), **details)
    if code == "PrincipalNotFound":
        return BadRequestError(*_principal_not_found(plan), **details)
    if code == "UnmatchedPrincipalType":
        return BadRequestError(
            f"Azure rejected principal {plan.principal_id} as a ServicePrincipal "
            "(UnmatchedPrincipalType): it is a user or group, not a managed identity.",
            "Use the principal ID (object ID) of the data-plane managed identity, "
            "from the identity lookup.",
            **details,
        )
    if code == "RoleAssignmentUpdateNotPermitted":
        return BadRequestError(
            f"An assignment named {plan.assignment_name} already exists at "
            f"{plan.scope} with another role or principal, and Azure does not let "
            "an assignment change (RoleAssignmentUpdateNotPermitted).",
            "Inspect it with `az role assignment list --scope "
            f"{plan.scope}`, delete it if it is stale (`az role assignment delete "
            f"--ids {plan.assignment_id}`), then grant again.",
            **details,
        )
    return described


def _authorization_failed(plan: GrantPlan, message: str) -> tuple[str, str]:
    caller = _GUID_IN_TEXT.search(message)
    who = f"The signed-in account ({caller.group(0)})" if caller else "You"
    roles = ", ".join(BUILTIN_ROLES[guid].name for guid in GRANTING_ROLE_IDS)
    return (
        f"{who} cannot grant roles here: Azure denied "
        "Microsoft.Authorization/roleAssignments/write at "
        f"{plan.scope} (AuthorizationFailed). Nothing was created.",
        f"Any of these roles on the secret, vault, resource group or subscription "
        f"is enough, least privileged first: {roles}. Ask someone who has one to "
        f"create the assignment:\n\n{plan.admin_instructions()}",
    )


def _principal_not_found(plan: GrantPlan) -> tuple[str, str]:
    return (
        f"Azure found no principal {plan.principal_id} in the directory "
        "(PrincipalNotFound).",
        "If the identity was created in the last few minutes, the directory has "
        "not replicated it yet: wait a minute and grant again. If it is older, the "
        "ID is probably of the wrong kind: use the identity's principal ID (object "
        "ID), not its client ID.",
    )


def _assignment_info(item: Any) -> AssignmentInfo:
    guid = role_guid_from_definition_id(str(item.role_definition_id))
    role = BUILTIN_ROLES.get(guid)
    return AssignmentInfo(
        assignment_id=str(item.id),
        name=str(item.name),
        scope=str(item.scope),
        role_guid=guid,
        role_name=role.name if role else None,
        principal_id=str(item.principal_id).lower(),
        principal_type=item.principal_type,
        grants_read=bool(role and role_allows(role, GET_SECRET_DATA_ACTION, data=True)),
    )


def _list_principal_assignments(
    connection: Connection, scope: str, principal_id: str
) -> list[AssignmentInfo]:
    # "principalId eq" returns assignments at, above and below the scope, so a
    # listing at the vault also returns grants on its secrets.
    query = f"principalId eq '{filter_value(principal_id, 'principal ID')}'"
    operations = connection.authorization().role_assignments
    with azure_errors("list the role assignments"):
        items = list(operations.list_for_scope(scope, filter=query))
    return [_assignment_info(item) for item in items]


def verify(connection: Connection, plan: GrantPlan) -> VerifyResult:
    """Check, with one listing at the vault's scope, that the principal can read.

    Parameters
    ----------
    connection
        Signed-in connection.
    plan
        The plan from `plan_grant`.

    Returns
    -------
    VerifyResult
        ``granted`` is true when an assignment at the secret's scope or above
        (vault, resource group, subscription) has a role whose data actions cover
        getSecret. Propagation to the data plane can still take minutes.
    """
    listed = _list_principal_assignments(
        connection, plan.vault_scope, plan.principal_id
    )
    covering = [
        dataclasses.replace(item, covers_secret=True)
        for item in listed
        if item.grants_read
        and item.principal_id == plan.principal_id
        and scope_contains(item.scope, plan.scope)
    ]
    # Narrowest scope first, and the kit's own assignment before others there.
    covering.sort(
        key=lambda item: (-len(item.scope), item.name != plan.assignment_name)
    )
    covered_ids = {item.assignment_id for item in covering}
    others = [item for item in listed if item.assignment_id not in covered_ids]
    chosen = covering[0].assignment_id if covering else None
    return VerifyResult(bool(covering), chosen, covering + others)


def revoke(connection: Connection, plan: GrantPlan) -> RevokeResult:
    """Delete the kit's role assignment for the plan, and nothing else.

    The assignment is deleted only if it has the kit's deterministic name and
    matches the plan's principal, role and scope. Other assignments that let the
    principal read the secret are left in place and listed.

    Parameters
    ----------
    connection
        Signed-in connection of an operator who may delete role assignments.
    plan
        The plan from `plan_grant`.

    Returns
    -------
    RevokeResult
        Whether the kit's assignment was deleted, and what remains.

    Raises
    ------
    AzureRequestError
        If Azure rejects the listing or the deletion.
    """
    listed = _list_principal_assignments(connection, plan.scope, plan.principal_id)
    own = [item for item in listed if item.name.lower() == plan.assignment_name]
    others = [
        item
        for item in listed
        if item not in own
        and item.grants_read
        and scope_contains(item.scope, plan.scope)
    ]
    matching = [item for item in own if _matches_plan(item, plan)]

    deleted = False
    if matching:
        operations = connection.authorization().role_assignments
        with azure_errors("delete the role assignment"):
            operations.delete(plan.scope, plan.assignment_name)
        deleted = True
        logger.info(
            "Deleted role assignment %s (%s for principal %s at %s)",
            plan.assignment_id,
            plan.role_name,
            plan.principal_id,
            plan.scope,
        )
    return RevokeResult(
        deleted, plan.assignment_id, others, _revoke_message(deleted, own, others)
    )


def _matches_plan(item: AssignmentInfo, plan: GrantPlan) -> bool:
    return (
        item.principal_id == plan.principal_id
        and item.role_guid == plan.role_guid
        and item.scope.rstrip("/").lower() == plan.scope.lower()
    )


def _revoke_message(
    deleted: bool, own: list[AssignmentInfo], others: list[AssignmentInfo]
) -> str:
    if deleted:
        first = "Deleted the kit's role assignment."
    elif own:
        first = (
            "An assignment has the kit's name but another principal, role or scope, "
            "so the kit left it."
        )
    else:
        first = "The kit's role assignment does not exist; nothing was deleted."
    if not others:
        return first
    listed = "; ".join(
        f"{item.role_name or item.role_guid} at {item.scope} ({item.assignment_id})"
        for item in others
    )
    return (
        f"{first} Other assignments still let the principal read the secret, and "
        f"the kit did not create them, so it left them: {listed}."
    )


def onboard_secret(
    connection: Connection,
    identifier: SecretIdentifier | str,
    principal_id: str,
    *,
    role: str = SECRETS_USER_ROLE_ID,
    allow_write_roles: bool = False,
) -> OnboardingResult:
    """Grant a principal read access to one secret and verify it, in four requests.

    The steps: find the vault, check that it uses Azure RBAC, check the secret,
    create the role assignment, list the principal's assignments.

    Parameters
    ----------
    connection
        Signed-in connection.
    identifier
        Secret identifier, parsed or as pasted from the portal.
    principal_id
        Principal ID (object ID) of the identity.
    role
        Role definition GUID; defaults to Key Vault Secrets User.
    allow_write_roles
        Whether a role that can change or delete secrets is accepted.

    Raises
    ------
    KitError
        From any step; nothing is created when a check before the grant fails.
    """
    if isinstance(identifier, str):
        identifier = parse_secret_identifier(identifier)
    principal = validate_guid(principal_id, "principal ID")
    if connection.mode == "azure" and identifier.cloud.name != connection.cloud.name:
        raise InvalidInputError(
            f"The secret identifier is in {identifier.cloud.name}, but the kit is "
            f"signed in to {connection.cloud.name}.",
            f"Set the profile's cloud to {identifier.cloud.name} and sign in again.",
            value=identifier.original,
            expected=f"a vault in {connection.cloud.name}",
        )
    vault = find_vault(connection, identifier.vault_name)
    require_rbac(vault, principal)
    secret = get_secret_info(connection, vault, identifier.name)
    plan = plan_grant(
        vault.subscription_id or connection.subscription_id,
        vault,
        identifier.name,
        principal,
        role=role,
        allow_write_roles=allow_write_roles,
    )
    granted = grant(connection, plan)
    verification = verify(connection, plan)
    if granted.assignment_id is None and verification.assignment_id is not None:
        granted = GrantResult(
            granted.status, verification.assignment_id, granted.created_by_kit
        )
    notes = _onboarding_notes(identifier, vault, secret)
    return OnboardingResult(vault, secret, plan, granted, verification, notes)


def _onboarding_notes(
    identifier: SecretIdentifier, vault: VaultInfo, secret: SecretInfo
) -> list[str]:
    notes: list[str] = []
    pinned = identifier.version
    if pinned and secret.current_version and pinned != secret.current_version:
        notes.append(
            f"The identifier pins version {pinned}, which is not the current "
            f"version {secret.current_version}; the task will read {pinned}."
        )
    if secret.expired:
        notes.append(f"The secret {secret.name!r} has expired.")
    if secret.not_yet_valid:
        notes.append(f"The secret {secret.name!r} is not active yet.")
    if vault.public_network_access == "Disabled":
        notes.append(
            f"The vault {vault.name!r} has public network access disabled, so the "
            "task can read it only through a private endpoint."
        )
    elif vault.network_default_action == "Deny":
        notes.append(
            f"The vault {vault.name!r} has a firewall that denies by default; the "
            "cluster's network must be allowed."
        )
    return notes
