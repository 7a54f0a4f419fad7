"""Role assignment and role definition routes through AuthorizationManagementClient."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

from .conftest import (
    IDENTITY,
    OPERATOR,
    OTHER_IDENTITY,
    SECRET_SCOPE,
    SECRETS_USER,
    SUBSCRIPTION,
    RunningSimulator,
    authorization_client,
)

VAULT_SCOPE = SECRET_SCOPE.rsplit("/secrets/", 1)[0]
SUB_SCOPE = f"/subscriptions/{SUBSCRIPTION}"
DATA_ACCESS_ADMIN = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _definition(guid: str) -> str:
    return f"{SUB_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def _params(
    principal: str = IDENTITY,
    role: str = SECRETS_USER,
    kind: str | None = "ServicePrincipal",
) -> RoleAssignmentCreateParameters:
    if kind is None:
        return RoleAssignmentCreateParameters(
            role_definition_id=_definition(role), principal_id=principal
        )
    return RoleAssignmentCreateParameters(
        role_definition_id=_definition(role),
        principal_id=principal,
        principal_type=kind,
    )


def _statuses(sim: RunningSimulator) -> list[int]:
    return [
        r["status"]
        for r in sim.admin("GET", "requests")["value"]
        if r["method"] == "PUT"
    ]


def test_create_then_repeat(sim: RunningSimulator, auth_client) -> None:
    name = str(uuid.uuid4())
    created = auth_client.role_assignments.create(SECRET_SCOPE, name, _params())
    again = auth_client.role_assignments.create(SECRET_SCOPE, name, _params())
    assert created.id == again.id
    assert (
        created.id
        == f"{SECRET_SCOPE}/providers/Microsoft.Authorization/roleAssignments/{name}"
    )
    assert created.principal_type == "ServicePrincipal"
    assert created.role_definition_id == _definition(SECRETS_USER)
    assert created.created_by == OPERATOR
    assert created.created_on is not None
    assert _statuses(sim) == [201, 200]


def test_same_triple_other_name(auth_client) -> None:
    auth_client.role_assignments.create(SECRET_SCOPE, str(uuid.uuid4()), _params())
    with pytest.raises(ResourceExistsError) as caught:
        auth_client.role_assignments.create(SECRET_SCOPE, str(uuid.uuid4()), _params())
    assert caught.value.status_code == 409
    assert caught.value.error.code == "RoleAssignmentExists"


def test_same_name_other_properties(auth_client) -> None:
    name = str(uuid.uuid4())
    auth_client.role_assignments.create(SECRET_SCOPE, name, _params())
    with pytest.raises(HttpResponseError) as caught:
        auth_client.role_assignments.create(SECRET_SCOPE, name, _params(OTHER_IDENTITY))
    assert caught.value.status_code == 400
    assert caught.value.error.code == "RoleAssignmentUpdateNotPermitted"


def test_unknown_principal_printed_without_dashes(auth_client) -> None:
    missing = "eeeeeeee-0000-4000-8000-000000000099"
    with pytest.raises(HttpResponseError) as caught:
        auth_client.role_assignments.create(
            SECRET_SCOPE, str(uuid.uuid4()), _params(missing)
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "PrincipalNotFound"
    assert "eeeeeeee000040008000000000000099" in caught.value.error.message


def test_sdk_default_principal_type_user_rejected(auth_client) -> None:
    with pytest.raises(HttpResponseError) as caught:
        auth_client.role_assignments.create(
            SECRET_SCOPE, str(uuid.uuid4()), _params(kind=None)
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "UnmatchedPrincipalType"


def test_not_replicated_needs_principal_type(
    sim: RunningSimulator, auth_client
) -> None:
    sim.admin("POST", "scenario", {"name": "identity-not-replicated"})
    token = sim.token(OPERATOR)
    url = (
        f"{sim.arm_url}{SECRET_SCOPE}/providers/Microsoft.Authorization/roleAssignments/"
        f"{uuid.uuid4()}?api-version=2022-04-01"
    )
    body = {
        "properties": {
            "roleDefinitionId": _definition(SECRETS_USER),
            "principalId": IDENTITY,
        }
    }
    status, answer, _ = sim.raw("PUT", url, body, {"Authorization": f"Bearer {token}"})
    assert status == 400
    assert answer["error"]["code"] == "PrincipalNotFound"
    created = auth_client.role_assignments.create(
        SECRET_SCOPE, str(uuid.uuid4()), _params()
    )
    assert created.principal_id == IDENTITY


def test_caller_without_write_rights(sim: RunningSimulator) -> None:
    sim.admin("POST", "scenario", {"name": "operator-reader"})
    client = authorization_client(sim, OPERATOR)
    with pytest.raises(HttpResponseError) as caught:
        client.role_assignments.create(SECRET_SCOPE, str(uuid.uuid4()), _params())
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    message = caught.value.error.message
    assert "'Microsoft.Authorization/roleAssignments/write'" in message
    assert f"over scope '{SECRET_SCOPE}'" in message
    assert f"The client '{OPERATOR}' with object id '{OPERATOR}'" in message


def test_data_access_admin_condition(sim: RunningSimulator, auth_client) -> None:
    auth_client.role_assignments.create(
        VAULT_SCOPE, str(uuid.uuid4()), _params(OTHER_IDENTITY, DATA_ACCESS_ADMIN)
    )
    limited = authorization_client(sim, OTHER_IDENTITY)
    granted = limited.role_assignments.create(
        SECRET_SCOPE, str(uuid.uuid4()), _params()
    )
    assert granted.principal_id == IDENTITY
    with pytest.raises(HttpResponseError) as caught:
        limited.role_assignments.create(
            SECRET_SCOPE, str(uuid.uuid4()), _params(role=READER)
        )
    assert caught.value.error.code == "AuthorizationFailed"


def test_get_and_delete(auth_client) -> None:
    name = str(uuid.uuid4())
    created = auth_client.role_assignments.create(SECRET_SCOPE, name, _params())
    assert auth_client.role_assignments.get(SECRET_SCOPE, name).id == created.id
    assert auth_client.role_assignments.get_by_id(created.id).name == name
    deleted = auth_client.role_assignments.delete(SECRET_SCOPE, name)
    assert deleted.id == created.id
    with pytest.raises(ResourceNotFoundError) as caught:
        auth_client.role_assignments.get(SECRET_SCOPE, name)
    assert caught.value.error.code == "RoleAssignmentNotFound"
    assert auth_client.role_assignments.delete(SECRET_SCOPE, name) is None


def test_delete_by_id(auth_client) -> None:
    created = auth_client.role_assignments.create(
        SECRET_SCOPE, str(uuid.uuid4()), _params()
    )
    assert auth_client.role_assignments.delete_by_id(created.id).id == created.id
    with pytest.raises(ResourceNotFoundError):
        auth_client.role_assignments.get_by_id(created.id)


def test_list_principal_filter_includes_below(auth_client) -> None:
    created = auth_client.role_assignments.create(
        SECRET_SCOPE, str(uuid.uuid4()), _params()
    )
    found = list(
        auth_client.role_assignments.list_for_scope(
            VAULT_SCOPE, filter=f"principalId eq '{IDENTITY}'"
        )
    )
    assert [a.id for a in found] == [created.id]


def test_list_at_scope_excludes_below(auth_client) -> None:
    auth_client.role_assignments.create(SECRET_SCOPE, str(uuid.uuid4()), _params())
    found = list(
        auth_client.role_assignments.list_for_scope(VAULT_SCOPE, filter="atScope()")
    )
    assert [a.scope for a in found] == [SUB_SCOPE]


def test_list_without_filter(sim: RunningSimulator, auth_client) -> None:
    auth_client.role_assignments.create(SECRET_SCOPE, str(uuid.uuid4()), _params())
    sim.admin("POST", "config", {"page_size": 1})
    pages = list(auth_client.role_assignments.list_for_scope(VAULT_SCOPE).by_page())
    scopes = [a.scope for page in pages for a in page]
    assert scopes == [SUB_SCOPE, SECRET_SCOPE]
    assert len(pages) == 2


def test_list_assigned_to(auth_client) -> None:
    found = list(
        auth_client.role_assignments.list_for_scope(
            SUB_SCOPE, filter=f"atScope() and assignedTo('{OPERATOR}')"
        )
    )
    assert [a.principal_id for a in found] == [OPERATOR]


def test_list_filters_cannot_combine(auth_client) -> None:
    with pytest.raises(HttpResponseError) as caught:
        list(
            auth_client.role_assignments.list_for_scope(
                VAULT_SCOPE, filter=f"atScope() and principalId eq '{IDENTITY}'"
            )
        )
    assert caught.value.status_code == 400
    assert caught.value.error.code == "UnsupportedQuery"


def test_list_partly_encoded_filter(sim: RunningSimulator) -> None:
    token = sim.token(OPERATOR)
    url = (
        f"{sim.arm_url}{SUB_SCOPE}/providers/Microsoft.Authorization/roleAssignments"
        f"?api-version=2022-04-01&$filter=principalId%2520eq%2520%2527{OPERATOR}%2527"
    )
    status, body, _ = sim.raw("GET", url, headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert [a["properties"]["principalId"] for a in body["value"]] == [OPERATOR]


def test_role_definition_get_both_levels(auth_client) -> None:
    at_subscription = auth_client.role_definitions.get(SUB_SCOPE, SECRETS_USER)
    assert at_subscription.id == _definition(SECRETS_USER)
    assert at_subscription.role_name == "Key Vault Secrets User"
    tenant_id = f"/providers/Microsoft.Authorization/roleDefinitions/{SECRETS_USER}"
    at_tenant = auth_client.role_definitions.get_by_id(tenant_id)
    assert at_tenant.id == tenant_id
    assert at_tenant.permissions[0].data_actions == [
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ]


def test_role_definition_list_by_name(auth_client) -> None:
    found = list(
        auth_client.role_definitions.list(
            SUB_SCOPE, filter="roleName eq 'Key Vault Secrets User'"
        )
    )
    assert [d.name for d in found] == [SECRETS_USER]


def test_role_definition_unknown(auth_client) -> None:
    with pytest.raises(HttpResponseError) as caught:
        auth_client.role_definitions.get(SUB_SCOPE, str(uuid.uuid4()))
    assert caught.value.status_code == 404
    assert caught.value.error.code == "RoleDefinitionDoesNotExist"
