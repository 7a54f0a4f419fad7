"""Tests of planning, granting, verifying and revoking the secret's role assignment."""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from akv_helpers.assignments import (
    GrantPlan,
    grant,
    onboard_secret,
    plan_grant,
    revoke,
    verify,
)
from akv_helpers.clouds import PUBLIC
from akv_helpers.connection import (
    Connection,
    SimulatorCredential,
    SimulatorEndpoint,
    connect,
)
from akv_helpers.errors import (
    AccessDeniedError,
    AccessPolicyVaultError,
    BadRequestError,
    ConflictError,
    InvalidIdError,
    InvalidInputError,
)
from akv_helpers.grant_templates import bicep_grant, terraform_grant
from akv_helpers.identifiers import role_assignment_name
from akv_helpers.profile import Profile
from akv_helpers.vaults import VaultInfo, find_vault

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "11111111-1111-4111-8111-111111111111"
OPERATOR = "dddddddd-0000-4000-8000-000000000004"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
OTHER_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000012"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
VAULT_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.KeyVault/vaults/kv-demo"
)
SECRET_SCOPE = f"{VAULT_SCOPE}/secrets/db-pass"
SECRET_ID = "https://kv-demo.vault.azure.net/secrets/db-pass"
ROUTES = ("microsoft.managedidentity", "microsoft.keyvault", "microsoft.authorization")


def _arm(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    """Return the ARM requests to the identity, vault and authorization routes."""
    return [
        entry
        for entry in sim.requests()
        if not entry["path"].startswith("/_simulator/")
        and entry["host"] == "arm"
        and any(route in entry["path"].lower() for route in ROUTES)
    ]


def _assignments(
    sim: SimulatorEndpoint, scope: str = SECRET_SCOPE
) -> list[dict[str, Any]]:
    return [
        item
        for item in sim.state()["role_assignments"]
        if item["scope"].lower() == scope.lower()
    ]


def _definition(guid: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{guid}"
    )


def _assign_as_operator(
    connection: Connection, scope: str, role: str, principal: str, name: str
) -> str:
    """Create an assignment through the SDK, as someone other than the kit."""
    parameters = RoleAssignmentCreateParameters(
        role_definition_id=_definition(role),
        principal_id=principal,
        principal_type="ServicePrincipal",
    )
    created = connection.authorization().role_assignments.create(
        scope, name, parameters
    )
    return str(created.id)


@pytest.fixture
def vault(fresh_sim: SimulatorEndpoint, connection: Connection) -> VaultInfo:
    found = find_vault(connection, "kv-demo")
    fresh_sim.clear_requests()
    return found


@pytest.fixture
def plan(vault: VaultInfo) -> GrantPlan:
    return plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID)


# --- plan_grant ---------------------------------------------------------------


def test_plan_values(plan: GrantPlan) -> None:
    assert plan.role_name == "Key Vault Secrets User"
    assert plan.role_guid == SECRETS_USER
    assert plan.role_definition_id == _definition(SECRETS_USER)
    assert plan.principal_type == "ServicePrincipal"
    assert plan.scope.lower() == SECRET_SCOPE.lower()
    assert plan.assignment_name == role_assignment_name(
        SECRET_SCOPE, SECRETS_USER, PRINCIPAL_ID
    )
    assert plan.assignment_id.endswith(
        f"/providers/Microsoft.Authorization/roleAssignments/{plan.assignment_name}"
    )


def test_plan_az_command(plan: GrantPlan) -> None:
    assert plan.az_command == (
        f"az role assignment create --name {plan.assignment_name} "
        f"--assignee-object-id {PRINCIPAL_ID} "
        f"--assignee-principal-type ServicePrincipal --role {SECRETS_USER} "
        f"--scope {plan.scope}"
    )


def test_plan_sends_no_request(fresh_sim: SimulatorEndpoint, vault: VaultInfo) -> None:
    plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID)
    assert _arm(fresh_sim) == []


def test_plan_deterministic(vault: VaultInfo) -> None:
    first = plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID)
    second = plan_grant(SUBSCRIPTION.upper(), vault, "DB-PASS", PRINCIPAL_ID.upper())
    assert first.assignment_name == second.assignment_name


@pytest.mark.parametrize(
    "role", [SECRETS_OFFICER, KEY_VAULT_ADMINISTRATOR], ids=["officer", "administrator"]
)
def test_plan_rejects_write_roles(vault: VaultInfo, role: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID, role=role)
    assert "change or delete secrets" in caught.value.message
    assert "allow_write_roles=True" in caught.value.fix


def test_plan_allows_write_role_on_request(vault: VaultInfo) -> None:
    plan = plan_grant(
        SUBSCRIPTION,
        vault,
        "db-pass",
        PRINCIPAL_ID,
        role=SECRETS_OFFICER,
        allow_write_roles=True,
    )
    assert plan.role_name == "Key Vault Secrets Officer"


@pytest.mark.parametrize("role", [KEY_VAULT_READER, OWNER], ids=["reader", "owner"])
def test_plan_rejects_roles_without_read(vault: VaultInfo, role: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        plan_grant(SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID, role=role)
    assert "cannot read secret values" in caught.value.message


def test_plan_rejects_unknown_role(vault: VaultInfo) -> None:
    with pytest.raises(InvalidIdError):
        plan_grant(
            SUBSCRIPTION,
            vault,
            "db-pass",
            PRINCIPAL_ID,
            role="12345678-1234-4234-8234-123456789012",
        )


def test_plan_role_by_name_suggests_guid(vault: VaultInfo) -> None:
    with pytest.raises(InvalidIdError) as caught:
        plan_grant(
            SUBSCRIPTION, vault, "db-pass", PRINCIPAL_ID, role="Key Vault Secrets User"
        )
    assert SECRETS_USER in caught.value.fix


def test_plan_admin_instructions(plan: GrantPlan) -> None:
    text = plan.admin_instructions()
    assert plan.az_command in text
    assert f'"roleDefinitionId": "{plan.role_definition_id}"' in text
    assert terraform_grant(plan).rstrip("\n") in text
    assert bicep_grant(plan).rstrip("\n") in text
    assert f"az role assignment list --assignee {PRINCIPAL_ID}" in text


def test_plan_rejects_bad_principal(vault: VaultInfo) -> None:
    with pytest.raises(InvalidIdError):
        plan_grant(SUBSCRIPTION, vault, "db-pass", "userflyterole")


# --- grant ----------------------------------------------------------------------


def test_grant_creates(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    result = grant(connection, plan)
    assert result.status == "granted"
    assert result.created_by_kit
    assert result.assignment_id is not None
    assert result.assignment_id.lower() == plan.assignment_id.lower()
    [request] = _arm(fresh_sim)
    assert request["method"] == "PUT"
    assert request["status"] == 201
    [stored] = _assignments(fresh_sim)
    assert stored["principal_type"] == "ServicePrincipal"


def test_grant_again_no_duplicate(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    grant(connection, plan)
    again = grant(connection, plan)
    assert again.status == "already granted"
    assert again.created_by_kit
    assert again.assignment_id is not None
    assert again.assignment_id.lower() == plan.assignment_id.lower()
    assert len(_assignments(fresh_sim)) == 1
    assert [entry["status"] for entry in _arm(fresh_sim)] == [201, 200]


def test_grant_exists_under_other_name(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    other_id = _assign_as_operator(
        connection, plan.scope, SECRETS_USER, PRINCIPAL_ID, str(uuid.uuid4())
    )
    fresh_sim.clear_requests()
    result = grant(connection, plan)
    assert result.status == "already granted"
    assert not result.created_by_kit
    assert result.assignment_id == other_id
    # The PUT, then the listing that finds the existing assignment.
    assert [entry["status"] for entry in _arm(fresh_sim)] == [409, 200]
    assert len(_assignments(fresh_sim)) == 1
    checked = verify(connection, plan)
    assert checked.granted
    assert checked.assignment_id == other_id


def test_grant_without_rights(
    fresh_sim: SimulatorEndpoint, sim: SimulatorEndpoint, plan: GrantPlan
) -> None:
    # ci-deployer has no role anywhere, so it may not write role assignments.
    outsider = connect(
        Profile(mode="simulator"),
        credential=SimulatorCredential(sim, OTHER_PRINCIPAL),
    )
    with pytest.raises(AccessDeniedError) as caught:
        grant(outsider, plan)
    error = caught.value
    assert error.status == 403
    assert error.code == "AuthorizationFailed"
    assert "cannot grant roles here" in error.message
    assert OTHER_PRINCIPAL in error.message
    roles = [
        "Key Vault Data Access Administrator",
        "Role Based Access Control Administrator",
        "User Access Administrator",
        "Owner",
    ]
    positions = [error.fix.index(role) for role in roles]
    assert positions == sorted(positions)
    assert plan.az_command in error.fix
    assert '"principalType": "ServicePrincipal"' in error.fix
    assert "azurerm_role_assignment" in error.fix
    assert "Microsoft.Authorization/roleAssignments@2022-04-01" in error.fix
    assert "az role assignment list" in error.fix
    assert _assignments(fresh_sim) == []


def test_grant_operator_reader(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    fresh_sim.apply_scenario("operator-reader")
    with pytest.raises(AccessDeniedError) as caught:
        grant(connection, plan)
    assert caught.value.code == "AuthorizationFailed"
    assert OPERATOR in caught.value.message


def test_grant_unreplicated_identity(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    # Sending principalType ServicePrincipal lets Azure skip the directory lookup
    # that fails while a new identity is not yet replicated.
    fresh_sim.apply_scenario("identity-not-replicated")
    result = grant(connection, plan)
    assert result.status == "granted"


def test_grant_principal_not_found(
    fresh_sim: SimulatorEndpoint, connection: Connection, vault: VaultInfo
) -> None:
    unknown = "eeeeeeee-0000-4000-8000-000000000099"
    plan = plan_grant(SUBSCRIPTION, vault, "db-pass", unknown)
    with pytest.raises(BadRequestError) as caught:
        grant(connection, plan)
    assert caught.value.status == 400
    assert caught.value.code == "PrincipalNotFound"
    assert unknown in caught.value.message
    assert "wait" in caught.value.fix
    assert "client ID" in caught.value.fix
    assert _assignments(fresh_sim) == []


def test_grant_unmatched_principal_type(
    fresh_sim: SimulatorEndpoint, connection: Connection, vault: VaultInfo
) -> None:
    plan = plan_grant(SUBSCRIPTION, vault, "db-pass", OPERATOR)
    with pytest.raises(BadRequestError) as caught:
        grant(connection, plan)
    assert caught.value.code == "UnmatchedPrincipalType"


def test_grant_update_not_permitted(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    # Someone used the kit's name for a Key Vault Reader assignment.
    _assign_as_operator(
        connection, plan.scope, KEY_VAULT_READER, PRINCIPAL_ID, plan.assignment_name
    )
    with pytest.raises(BadRequestError) as caught:
        grant(connection, plan)
    assert caught.value.code == "RoleAssignmentUpdateNotPermitted"
    assert plan.assignment_name in caught.value.message


# --- Azure responses that the simulator does not produce ------------------------


class _CannedHandler(BaseHTTPRequestHandler):
    answer: tuple[int, dict[str, Any]] = (500, {})
    listing: tuple[int, dict[str, Any]] = (200, {"value": []})
    seen: list[str] = []

    def do_PUT(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.seen.append(f"PUT {self.path}")
        self._send(*self.answer)

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(f"GET {self.path}")
        self._send(*self.listing)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canned(sim: SimulatorEndpoint) -> Iterator[tuple[type[_CannedHandler], Connection]]:
    """Run an HTTPS server on 127.0.0.1 that returns a fixed response to every PUT."""
    directory = Path(sim.ca_path).parent
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server-key.pem")
    handler = type("Handler", (_CannedHandler,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connection = Connection(
        mode="simulator",
        cloud=PUBLIC,
        tenant_id=TENANT,
        subscription_id=SUBSCRIPTION,
        credential=SimulatorCredential(sim, OPERATOR),
        arm_url=f"https://127.0.0.1:{server.server_address[1]}",
        connection_verify=sim.ca_path,
    )
    try:
        yield handler, connection
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _listed_assignment(name: str, principal: str = PRINCIPAL_ID) -> dict[str, Any]:
    scope = SECRET_SCOPE
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": _definition(SECRETS_USER),
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
        },
    }


EXISTING_NAME = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@pytest.mark.parametrize(
    "message",
    [
        "The role assignment already exists.",
        "The role assignment already exists. The ID of the existing role "
        "assignment is 0123456789abcdef0123456789abcdef.",
        f"The role assignment for principal {PRINCIPAL_ID} already exists.",
        f"A role assignment already exists in subscription {SUBSCRIPTION}.",
        "Conflict for principal bbbbbbbb000040008000000000000002.",
    ],
    ids=["old-message", "names-assignment", "principal", "subscription", "no-dashes"],
)
def test_grant_exists_id_from_listing(
    canned: tuple[type[_CannedHandler], Connection], plan: GrantPlan, message: str
) -> None:
    handler, connection = canned
    handler.answer = (
        409,
        {"error": {"code": "RoleAssignmentExists", "message": message}},
    )
    handler.listing = (
        200,
        {
            "value": [
                _listed_assignment(str(uuid.uuid4()), OTHER_PRINCIPAL),
                _listed_assignment(EXISTING_NAME),
            ]
        },
    )

    result = grant(connection, plan)

    assert result.status == "already granted"
    assert not result.created_by_kit
    assert result.assignment_id is not None
    assert result.assignment_id.endswith(f"/roleAssignments/{EXISTING_NAME}")
    assert [line.split()[0] for line in handler.seen] == ["PUT", "GET"]


def test_grant_exists_listing_empty(
    canned: tuple[type[_CannedHandler], Connection], plan: GrantPlan
) -> None:
    handler, connection = canned
    handler.answer = (
        409,
        {
            "error": {
                "code": "RoleAssignmentExists",
                "message": f"The assignment {PRINCIPAL_ID} already exists.",
            }
        },
    )

    result = grant(connection, plan)

    assert result.status == "already granted"
    assert result.assignment_id is None


def _authorization_failed(client: str, object_id: str, scope: str) -> dict[str, Any]:
    return {
        "error": {
            "code": "AuthorizationFailed",
            "message": f"The client '{client}' with object id '{object_id}' does "
            "not have authorization to perform action "
            "'Microsoft.Authorization/roleAssignments/write' over scope "
            f"'{scope}/providers/Microsoft.Authorization/roleAssignments/"
            f"{uuid.uuid4()}' or the scope is invalid. If access was recently "
            "granted, please refresh your credentials.",
        }
    }


def test_grant_denied_service_principal_caller(
    canned: tuple[type[_CannedHandler], Connection], plan: GrantPlan
) -> None:
    handler, connection = canned
    app_id = "aaaaaaaa-0000-4000-8000-000000000011"
    handler.answer = (403, _authorization_failed(app_id, OTHER_PRINCIPAL, plan.scope))

    with pytest.raises(AccessDeniedError) as caught:
        grant(connection, plan)

    assert f"The signed-in account ({OTHER_PRINCIPAL})" in caught.value.message
    assert app_id not in caught.value.message


def test_grant_denied_long_message_keeps_scope(
    canned: tuple[type[_CannedHandler], Connection], vault: VaultInfo
) -> None:
    handler, connection = canned
    long_name = "s" + "-long" * 24
    plan = plan_grant(SUBSCRIPTION, vault, long_name, PRINCIPAL_ID)
    body = _authorization_failed(OPERATOR, OPERATOR, plan.scope)
    assert len(body["error"]["message"]) > 400
    handler.answer = (403, body)

    with pytest.raises(AccessDeniedError) as caught:
        grant(connection, plan)

    error = caught.value
    assert f"at {plan.scope} (AuthorizationFailed)" in error.message
    assert "…" not in error.message
    assert f"--scope {plan.scope}" in error.fix
    assert f"The signed-in account ({OPERATOR})" in error.message


def test_revoke_without_rights_hands_off(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    assert grant(connection, plan).status == "granted"
    fresh_sim.apply_scenario("operator-reader")
    fresh_sim.clear_requests()

    with pytest.raises(AccessDeniedError) as caught:
        revoke(connection, plan)

    error = caught.value
    assert error.code == "AuthorizationFailed"
    assert "cannot remove role assignments here" in error.message
    assert OPERATOR in error.message
    assert "Nothing was deleted" in error.message
    assert f"az role assignment delete --ids {plan.assignment_id}" in error.fix
    assert f"DELETE https://management.azure.com{plan.assignment_id}" in error.fix
    assert "az role assignment list" in error.fix
    roles = ["Key Vault Data Access Administrator", "Owner"]
    positions = [error.fix.index(role) for role in roles]
    assert positions == sorted(positions)
    assert len(_assignments(fresh_sim)) == 1


def test_verify_denied_message_keeps_scope(
    fresh_sim: SimulatorEndpoint, sim: SimulatorEndpoint, plan: GrantPlan
) -> None:
    outsider = connect(
        Profile(mode="simulator"),
        credential=SimulatorCredential(sim, OTHER_PRINCIPAL),
    )

    with pytest.raises(AccessDeniedError) as caught:
        verify(outsider, plan)

    assert caught.value.code == "AuthorizationFailed"
    assert f"over scope '{plan.vault_scope}'" in caught.value.message
    assert "…" not in caught.value.message


def test_revoke_listing_denied_hands_off(
    fresh_sim: SimulatorEndpoint, sim: SimulatorEndpoint, plan: GrantPlan
) -> None:
    # ci-deployer has no role anywhere, so even the listing is denied.
    outsider = connect(
        Profile(mode="simulator"),
        credential=SimulatorCredential(sim, OTHER_PRINCIPAL),
    )

    with pytest.raises(AccessDeniedError) as caught:
        revoke(outsider, plan)

    assert OTHER_PRINCIPAL in caught.value.message
    assert f"az role assignment delete --ids {plan.assignment_id}" in caught.value.fix


def test_grant_conflict_other_code(
    canned: tuple[type[_CannedHandler], Connection], plan: GrantPlan
) -> None:
    handler, connection = canned
    # The same words under another code are not an existing assignment.
    handler.answer = (
        409,
        {
            "error": {
                "code": "Conflict",
                "message": "The role assignment already exists.",
            }
        },
    )
    with pytest.raises(ConflictError) as caught:
        grant(connection, plan)
    assert caught.value.code == "Conflict"


def test_grant_principal_not_found_without_dashes(
    canned: tuple[type[_CannedHandler], Connection], plan: GrantPlan
) -> None:
    handler, connection = canned
    handler.answer = (
        400,
        {
            "error": {
                "code": "PrincipalNotFound",
                "message": "Principal bbbbbbbb000040008000000000000002 does not exist "
                f"in the directory {TENANT}. Check that you have the correct "
                "principal ID.",
            }
        },
    )
    with pytest.raises(BadRequestError) as caught:
        grant(connection, plan)
    assert caught.value.code == "PrincipalNotFound"
    assert PRINCIPAL_ID in caught.value.message
    assert "replicated" in caught.value.fix


# --- verify -----------------------------------------------------------------------


def test_verify_after_grant(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    grant(connection, plan)
    fresh_sim.clear_requests()
    result = verify(connection, plan)
    assert result.granted
    assert result.assignment_id is not None
    assert result.assignment_id.lower() == plan.assignment_id.lower()
    [request] = _arm(fresh_sim)
    assert request["method"] == "GET"
    assert request["path"].lower().startswith(VAULT_SCOPE.lower())


def test_verify_before_grant(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    result = verify(connection, plan)
    assert not result.granted
    assert result.assignment_id is None
    assert result.covering == []


def test_verify_vault_scope_grant(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    other_id = _assign_as_operator(
        connection, VAULT_SCOPE, SECRETS_USER, PRINCIPAL_ID, str(uuid.uuid4())
    )
    result = verify(connection, plan)
    assert result.granted
    assert result.assignment_id == other_id


def test_verify_other_secret_not_enough(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    other_id = _assign_as_operator(
        connection,
        f"{VAULT_SCOPE}/secrets/api-token",
        SECRETS_USER,
        PRINCIPAL_ID,
        str(uuid.uuid4()),
    )
    result = verify(connection, plan)
    assert not result.granted
    assert [item.assignment_id for item in result.assignments] == [other_id]


def test_verify_reader_not_enough(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    _assign_as_operator(
        connection, VAULT_SCOPE, KEY_VAULT_READER, PRINCIPAL_ID, str(uuid.uuid4())
    )
    result = verify(connection, plan)
    assert not result.granted
    assert len(result.assignments) == 1


# --- revoke -----------------------------------------------------------------------


def test_revoke_keeps_others(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    grant(connection, plan)
    other_id = _assign_as_operator(
        connection, plan.scope, SECRETS_OFFICER, PRINCIPAL_ID, str(uuid.uuid4())
    )
    result = revoke(connection, plan)
    assert result.deleted
    assert [item.assignment_id for item in result.kept] == [other_id]
    assert other_id in result.message
    remaining = [item["name"] for item in _assignments(fresh_sim)]
    assert remaining == [other_id.rsplit("/", 1)[-1]]


def test_revoke_leaves_same_triple_other_name(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    other_id = _assign_as_operator(
        connection, plan.scope, SECRETS_USER, PRINCIPAL_ID, str(uuid.uuid4())
    )
    fresh_sim.clear_requests()
    result = revoke(connection, plan)
    assert not result.deleted
    assert [item.assignment_id for item in result.kept] == [other_id]
    assert "does not exist" in result.message
    assert [e["method"] for e in _arm(fresh_sim)] == ["GET"]
    assert len(_assignments(fresh_sim)) == 1


def test_revoke_nothing(
    fresh_sim: SimulatorEndpoint, connection: Connection, plan: GrantPlan
) -> None:
    result = revoke(connection, plan)
    assert not result.deleted
    assert result.kept == []


# --- onboard_secret and the request budget ----------------------------------------


def test_onboard_access_policy_vault_creates_nothing(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    with pytest.raises(AccessPolicyVaultError):
        onboard_secret(
            connection,
            "https://kv-legacy.vault.azure.net/secrets/api-key",
            PRINCIPAL_ID,
        )
    methods = [entry["method"] for entry in fresh_sim.requests()]
    assert "PUT" not in methods
    assert len(fresh_sim.state()["role_assignments"]) == 1


def test_onboard_grants_and_verifies(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    result = onboard_secret(connection, SECRET_ID, PRINCIPAL_ID)
    assert result.grant.status == "granted"
    assert result.verification.granted
    assert result.secret.current_version == "7c4a8d09ca3762af61e59520943dc264"
    assert result.notes == []
    assert len(_arm(fresh_sim)) == 4


def test_onboard_identity_can_read(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    result = onboard_secret(connection, SECRET_ID, PRINCIPAL_ID)
    assert result.vault.vault_uri is not None
    reader = connection.secret_client(
        result.vault.vault_uri, connection.identity_credential(PRINCIPAL_ID)
    )
    secret = reader.get_secret("db-pass")
    assert secret.properties.version == "7c4a8d09ca3762af61e59520943dc264"
    assert secret.value is not None


def test_onboard_pinned_old_version_noted(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    result = onboard_secret(
        connection, f"{SECRET_ID}/0f1e2d3c4b5a69788796a5b4c3d2e1f0", PRINCIPAL_ID
    )
    [note] = result.notes
    assert "0f1e2d3c4b5a69788796a5b4c3d2e1f0" in note
    assert "7c4a8d09ca3762af61e59520943dc264" in note
    assert result.plan.scope.lower() == SECRET_SCOPE.lower()


def test_onboarding_request_budget(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    from akv_helpers.identities import find_identities, resolve_principal_id
    from akv_helpers.vaults import get_secret_info, require_rbac

    counts: dict[str, int] = {}

    def step(name: str) -> None:
        counts[name] = len(_arm(fresh_sim))
        fresh_sim.clear_requests()

    [identity] = find_identities(connection, "rg-union-dp")
    step("find identity")
    vault = find_vault(connection, "kv-demo")
    require_rbac(vault)
    step("find vault")
    get_secret_info(connection, vault, "db-pass")
    step("check secret")
    choice = resolve_principal_id(identity, identity.client_id)
    plan = plan_grant(SUBSCRIPTION, vault, "db-pass", choice.principal_id)
    step("plan")
    grant(connection, plan)
    step("grant")
    assert verify(connection, plan).granted
    step("verify")

    assert counts == {
        "find identity": 1,
        "find vault": 1,
        "check secret": 1,
        "plan": 0,
        "grant": 1,
        "verify": 1,
    }
    assert sum(counts.values()) <= 5
