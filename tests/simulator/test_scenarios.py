"""Named scenarios observed through the real SDK clients, and undone by a reset."""

from __future__ import annotations

import datetime
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.keyvault.secrets import SecretClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

from akv_helpers.identifiers import is_union_identity_name, role_assignment_name

from .conftest import (
    IDENTITY,
    OPERATOR,
    SECRET_SCOPE,
    SECRETS_USER,
    SUBSCRIPTION,
    TENANT,
    VAULT_SCOPE,
    RunningSimulator,
    SimulatorTestCredential,
    secret_client,
    start_simulator,
    stop_simulator,
)

OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
IDENTITY_CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
ORPHANED = "eeeeeeee-0000-4000-8000-000000000005"
KV_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
KV_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
KIT_NAME = role_assignment_name(SECRET_SCOPE, SECRETS_USER, IDENTITY)
REQUIRED = (
    "healthy",
    "no-identity",
    "several-identities",
    "identity-young",
    "identity-replicating",
    "identity-old-wrong-id",
    "secret-disabled",
    "secret-expired",
    "secret-not-yet-valid",
    "demo-vault-access-policies",
    "access-policies",
    "firewall-deny",
    "firewall-allow-client",
    "public-access-disabled",
    "grant-reader-role",
    "grant-contributor-role",
    "grant-other-secret",
    "grant-other-vault",
    "grant-vault-scope",
    "grant-orphaned",
    "grant-propagating",
    "grant-update-not-permitted",
    "operator-reader",
    "operator-other-tenant",
)
PRINCIPAL_NOT_FOUND = (
    "Principal bbbbbbbb000040008000000000000002 does not exist in the directory "
    f"{TENANT}. Check that you have the correct principal ID. If you are creating "
    "this principal and then immediately assigning a role, this error might be "
    "related to a replication delay. In this case, set the role assignment "
    "principalType property to a value, such as ServicePrincipal, User, or Group.  "
    "See https://aka.ms/docs-principaltype"
)


def _apply(sim: RunningSimulator, *names: str) -> dict[str, Any]:
    answer: dict[str, Any] = sim.admin("POST", "scenario", {"names": list(names)})
    return answer


def _definition(guid: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{guid}"
    )


def _kit_params(principal: str = IDENTITY, kind: str | None = "ServicePrincipal"):
    return RoleAssignmentCreateParameters(
        role_definition_id=_definition(SECRETS_USER),
        principal_id=principal,
        principal_type=kind,
    )


def _kit_grant(auth_client, principal: str = IDENTITY) -> Any:
    name = role_assignment_name(SECRET_SCOPE, SECRETS_USER, principal)
    return auth_client.role_assignments.create(
        SECRET_SCOPE, name, _kit_params(principal)
    )


def _raw_put(sim: RunningSimulator, principal: str, kind: str | None):
    """PUT a role assignment as raw JSON, so principalType can be left out."""
    properties = {
        "roleDefinitionId": _definition(SECRETS_USER),
        "principalId": principal,
    }
    if kind is not None:
        properties["principalType"] = kind
    url = (
        f"{sim.arm_url}{SECRET_SCOPE}/providers/Microsoft.Authorization/"
        f"roleAssignments/{uuid.uuid4()}?api-version=2022-04-01"
    )
    token = sim.token(OPERATOR)
    return sim.raw(
        "PUT", url, {"properties": properties}, {"Authorization": f"Bearer {token}"}
    )


def _inner_code(error: HttpResponseError) -> str | None:
    inner = error.error.innererror if error.error else None
    return inner.get("code") if isinstance(inner, dict) else None


def _read_error(sim: RunningSimulator, name: str = "db-pass") -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY).get_secret(name)
    return caught.value


def _identity_assignments(auth_client) -> list[Any]:
    return list(
        auth_client.role_assignments.list_for_scope(
            VAULT_SCOPE, filter=f"principalId eq '{IDENTITY}'"
        )
    )


def _role_of(assignment: Any) -> str:
    return assignment.role_definition_id.rsplit("/", 1)[-1]


def _demo_identity(msi_client) -> Any:
    return msi_client.user_assigned_identities.get("rg-union-dp", "userflyterole")


def _age_seconds(moment: datetime.datetime) -> float:
    return time.time() - moment.timestamp()


def _assert_healthy_after_reset(sim: RunningSimulator, auth_client) -> None:
    sim.admin("POST", "reset")
    assert sim.admin("GET", "state")["scenarios"] == []
    _kit_grant(auth_client)
    secret = secret_client(sim, IDENTITY).get_secret("db-pass")
    assert secret.name == "db-pass"
    assert secret.value.startswith("AKVSIM-CANARY-")


# Listing, combining and recording scenarios.


def test_scenarios_listed(sim: RunningSimulator) -> None:
    listed = sim.admin("GET", "scenarios")["value"]
    missing = [name for name in REQUIRED if name not in listed]
    assert missing == []
    for name, description in listed.items():
        assert description, name
        assert "\n" not in description, name


def test_alias_resolves(sim: RunningSimulator) -> None:
    answer = sim.admin("POST", "scenario", {"name": "access-policies"})
    assert answer["names"] == ["demo-vault-access-policies"]
    listed = sim.admin("GET", "scenarios")["value"]
    assert listed["access-policies"].startswith("Same as demo-vault-access-policies")


def test_names_combine(sim: RunningSimulator, auth_client) -> None:
    answer = _apply(sim, "healthy", "firewall-deny")
    assert answer["names"] == ["healthy", "firewall-deny"]
    assert sim.admin("GET", "state")["scenarios"] == ["healthy", "firewall-deny"]
    assert _inner_code(_read_error(sim)) == "ForbiddenByFirewall"
    _apply(sim, "healthy")
    assert sim.admin("GET", "state")["scenarios"] == ["healthy", "firewall-deny"]
    _assert_healthy_after_reset(sim, auth_client)


def test_unknown_name_applies_nothing(sim: RunningSimulator) -> None:
    status, body, _ = sim.raw(
        "POST",
        f"{sim.arm_url}/_simulator/scenario",
        {"names": ["healthy", "no-such-scenario"]},
        {"X-Simulator-Key": sim.discovery["admin_key"]},
    )
    assert status == 400
    assert "no-such-scenario" in body["error"]["message"]
    assert "grant-orphaned" in body["error"]["message"]
    state = sim.admin("GET", "state")
    assert state["scenarios"] == []
    assert [a["principal_id"] for a in state["role_assignments"]] == [OPERATOR]


def _fingerprint(state: dict[str, Any]) -> tuple[Any, ...]:
    return (
        sorted(a["name"] for a in state["role_assignments"]),
        sorted(i["name"] for i in state["identities"]),
        sorted(v["name"] for v in state["vaults"]),
        sorted(state["principals"]),
        state["scenarios"],
    )


@pytest.mark.parametrize("name", REQUIRED)
def test_scenario_idempotent(sim: RunningSimulator, name: str) -> None:
    _apply(sim, name)
    once = _fingerprint(sim.admin("GET", "state"))
    _apply(sim, name)
    twice = _fingerprint(sim.admin("GET", "state"))
    assert twice == once
    sim.admin("POST", "reset")
    assert sim.admin("GET", "state")["scenarios"] == []


# Identity scenarios.


def test_healthy_grant_in_place(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "healthy")
    assignments = _identity_assignments(auth_client)
    assert [a.name for a in assignments] == [KIT_NAME]
    assert assignments[0].scope.lower() == SECRET_SCOPE.lower()
    assert _role_of(assignments[0]) == SECRETS_USER
    again = _kit_grant(auth_client)
    assert again.name == KIT_NAME
    puts = [r for r in sim.admin("GET", "requests")["value"] if r["method"] == "PUT"]
    assert [r["status"] for r in puts] == [200]
    secret = secret_client(sim, IDENTITY).get_secret("db-pass")
    assert secret.value.startswith("AKVSIM-CANARY-")


def test_no_identity(sim: RunningSimulator, msi_client, auth_client) -> None:
    _apply(sim, "no-identity")
    names = [i.name for i in msi_client.user_assigned_identities.list_by_subscription()]
    assert "orders-api" in names
    assert [n for n in names if is_union_identity_name(n)] == []
    with pytest.raises(ResourceNotFoundError) as caught:
        _demo_identity(msi_client)
    assert caught.value.error.code == "ResourceNotFound"
    _assert_healthy_after_reset(sim, auth_client)
    assert _demo_identity(msi_client).principal_id == IDENTITY


def test_several_identities(sim: RunningSimulator, msi_client, auth_client) -> None:
    _apply(sim, "several-identities")
    found = {
        i.name: i
        for i in msi_client.user_assigned_identities.list_by_resource_group(
            "rg-union-dp"
        )
        if is_union_identity_name(i.name)
    }
    assert sorted(found) == ["flyteuser-staging", "userflyterole"]
    staging = found["flyteuser-staging"]
    assert staging.client_id == "aaaaaaaa-0000-4000-8000-000000000031"
    assert staging.principal_id == "bbbbbbbb-0000-4000-8000-000000000032"
    principals = {p["id"] for p in sim.admin("GET", "principals")["value"]}
    assert staging.principal_id in principals
    _assert_healthy_after_reset(sim, auth_client)


def test_seeded_identity_is_old(sim: RunningSimulator, msi_client) -> None:
    system_data = _demo_identity(msi_client).system_data
    assert system_data is not None
    assert system_data.created_by_type == "User"
    assert system_data.created_by == "demo.operator@contoso.example"
    assert 29 * 86_400 < _age_seconds(system_data.created_at) < 31 * 86_400
    assert system_data.last_modified_at == system_data.created_at


def test_identity_young(sim: RunningSimulator, msi_client, auth_client) -> None:
    _apply(sim, "identity-young")
    created = _demo_identity(msi_client).system_data.created_at
    assert _age_seconds(created) < 60
    for kind in (None, "User"):
        status, body, _ = _raw_put(sim, IDENTITY, kind)
        assert status == 400, kind
        assert body["error"]["code"] == "PrincipalNotFound"
        assert body["error"]["message"] == PRINCIPAL_NOT_FOUND
    typed = _kit_grant(auth_client)
    assert typed.principal_id == IDENTITY
    _assert_healthy_after_reset(sim, auth_client)


def test_identity_young_bounded(sim: RunningSimulator) -> None:
    _apply(sim, "identity-young")
    sim.admin("POST", "config", {"replication_attempts_remaining": 1})
    status, _, _ = _raw_put(sim, IDENTITY, None)
    assert status == 400
    status, body, _ = _raw_put(sim, IDENTITY, None)
    assert status == 201, body
    assert body["properties"]["principalType"] == "ServicePrincipal"


def test_identity_replicating(sim: RunningSimulator, msi_client, auth_client) -> None:
    _apply(sim, "identity-replicating")
    assert _age_seconds(_demo_identity(msi_client).system_data.created_at) < 60
    for attempt in range(2):
        with pytest.raises(HttpResponseError) as caught:
            _kit_grant(auth_client)
        assert caught.value.status_code == 400, attempt
        assert caught.value.error.code == "PrincipalNotFound"
        assert caught.value.error.message == PRINCIPAL_NOT_FOUND
    created = _kit_grant(auth_client)
    assert created.name == KIT_NAME
    assert sim.admin("GET", "config")["replication_attempts_remaining"] == 0
    _assert_healthy_after_reset(sim, auth_client)


def test_identity_replicating_configurable(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "identity-replicating")
    sim.admin("POST", "config", {"replication_attempts_remaining": 3})
    for _ in range(3):
        with pytest.raises(HttpResponseError):
            _kit_grant(auth_client)
    assert _kit_grant(auth_client).name == KIT_NAME


def test_identity_old_wrong_id(sim: RunningSimulator, msi_client, auth_client) -> None:
    _apply(sim, "identity-old-wrong-id")
    identity = _demo_identity(msi_client)
    assert _age_seconds(identity.system_data.created_at) > 29 * 86_400
    with pytest.raises(HttpResponseError) as caught:
        _kit_grant(auth_client, identity.client_id)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "PrincipalNotFound"
    assert "aaaaaaaa000040008000000000000001" in caught.value.error.message
    _assert_healthy_after_reset(sim, auth_client)


# Secret scenarios.


def test_secret_disabled(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "healthy", "secret-disabled")
    error = _read_error(sim)
    assert error.status_code == 403
    assert error.error.code == "Forbidden"
    assert _inner_code(error) == "SecretDisabled"
    arm = kv_client.secrets.get("rg-union-dp", "kv-demo", "db-pass")
    assert arm.properties.attributes.enabled is False
    _assert_healthy_after_reset(sim, auth_client)


def test_secret_expired(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "healthy", "secret-expired")
    now = datetime.datetime.now(datetime.timezone.utc)
    # Key Vault returns an expired secret's value; only the attributes show it.
    secret = secret_client(sim, IDENTITY).get_secret("db-pass")
    assert secret.properties.expires_on < now
    arm = kv_client.secrets.get("rg-union-dp", "kv-demo", "db-pass")
    assert arm.properties.attributes.expires < now
    _assert_healthy_after_reset(sim, auth_client)
    assert (
        secret_client(sim, IDENTITY).get_secret("db-pass").properties.expires_on is None
    )


def test_secret_not_yet_valid(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "healthy", "secret-not-yet-valid")
    now = datetime.datetime.now(datetime.timezone.utc)
    secret = secret_client(sim, IDENTITY).get_secret("db-pass")
    assert secret.properties.not_before > now
    arm = kv_client.secrets.get("rg-union-dp", "kv-demo", "db-pass")
    assert arm.properties.attributes.not_before > now
    _assert_healthy_after_reset(sim, auth_client)


# Vault scenarios.


@pytest.mark.parametrize("name", ["demo-vault-access-policies", "access-policies"])
def test_access_policies(sim: RunningSimulator, kv_client, auth_client, name) -> None:
    _apply(sim, "healthy", name)
    vault = kv_client.vaults.get("rg-union-dp", "kv-demo")
    assert vault.properties.enable_rbac_authorization is False
    error = _read_error(sim)
    assert error.status_code == 403
    assert _inner_code(error) == "AccessDenied"
    _assert_healthy_after_reset(sim, auth_client)


def test_firewall_deny(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "healthy", "firewall-deny")
    error = _read_error(sim)
    assert error.status_code == 403
    assert error.error.code == "Forbidden"
    assert _inner_code(error) == "ForbiddenByFirewall"
    assert "Client address: 127.0.0.1\r\n" in error.error.message
    vault = kv_client.vaults.get("rg-union-dp", "kv-demo")
    assert vault.properties.network_acls.default_action == "Deny"
    _assert_healthy_after_reset(sim, auth_client)


def test_firewall_allow_client(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "healthy", "firewall-allow-client")
    secret = secret_client(sim, IDENTITY).get_secret("db-pass")
    assert secret.properties.version == "7c4a8d09ca3762af61e59520943dc264"
    acls = kv_client.vaults.get("rg-union-dp", "kv-demo").properties.network_acls
    assert acls.default_action == "Deny"
    assert [rule.value for rule in acls.ip_rules] == ["127.0.0.1/32"]
    _assert_healthy_after_reset(sim, auth_client)


def test_public_access_disabled(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "healthy", "public-access-disabled")
    error = _read_error(sim)
    assert error.status_code == 403
    assert _inner_code(error) == "ForbiddenByConnection"
    vault = kv_client.vaults.get("rg-union-dp", "kv-demo")
    assert vault.properties.public_network_access == "Disabled"
    _assert_healthy_after_reset(sim, auth_client)


# Grant scenarios.


def _assert_denied_by_rbac(sim: RunningSimulator, name: str = "db-pass") -> None:
    error = _read_error(sim, name)
    assert error.status_code == 403
    assert error.error.code == "Forbidden"
    assert _inner_code(error) == "ForbiddenByRbac"


def test_grant_reader_role(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-reader-role")
    assignments = _identity_assignments(auth_client)
    assert [_role_of(a) for a in assignments] == [KV_READER]
    assert assignments[0].scope.lower() == SECRET_SCOPE.lower()
    assert assignments[0].name != KIT_NAME
    _assert_denied_by_rbac(sim)
    _assert_healthy_after_reset(sim, auth_client)


def test_grant_contributor_role(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-contributor-role")
    assignments = _identity_assignments(auth_client)
    assert [_role_of(a) for a in assignments] == [KV_CONTRIBUTOR]
    assert assignments[0].scope.lower() == VAULT_SCOPE.lower()
    _assert_denied_by_rbac(sim)
    _assert_healthy_after_reset(sim, auth_client)


def test_grant_other_secret(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-other-secret")
    assignments = _identity_assignments(auth_client)
    assert [a.scope for a in assignments] == [VAULT_SCOPE + "/secrets/api-token"]
    _assert_denied_by_rbac(sim)
    other = secret_client(sim, IDENTITY).get_secret("api-token")
    assert other.name == "api-token"
    _assert_healthy_after_reset(sim, auth_client)


def test_grant_other_vault(sim: RunningSimulator, kv_client, auth_client) -> None:
    _apply(sim, "grant-other-vault")
    vault = kv_client.vaults.get("rg-union-dp", "kv-demo-2")
    assert vault.properties.enable_rbac_authorization is True
    second = SecretClient(
        vault.properties.vault_uri,
        SimulatorTestCredential(sim, IDENTITY),
        verify_challenge_resource=False,
        connection_verify=sim.ca_path,
        retry_total=0,
    )
    secret = second.get_secret("db-pass")
    assert secret.id.startswith(vault.properties.vault_uri.rstrip("/") + "/secrets/")
    assert _identity_assignments(auth_client) == []
    _assert_denied_by_rbac(sim)
    _assert_healthy_after_reset(sim, auth_client)
    with pytest.raises(ResourceNotFoundError):
        kv_client.vaults.get("rg-union-dp", "kv-demo-2")


def test_grant_vault_scope(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-vault-scope")
    assignments = _identity_assignments(auth_client)
    assert [(a.scope, _role_of(a)) for a in assignments] == [
        (VAULT_SCOPE, SECRETS_USER)
    ]
    assert secret_client(sim, IDENTITY).get_secret("db-pass").name == "db-pass"
    assert secret_client(sim, IDENTITY).get_secret("api-token").name == "api-token"
    _assert_healthy_after_reset(sim, auth_client)


def test_grant_orphaned(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-orphaned")
    listed = list(auth_client.role_assignments.list_for_scope(SECRET_SCOPE))
    orphans = [a for a in listed if a.principal_id == ORPHANED]
    assert len(orphans) == 1
    assert orphans[0].principal_type == "ServicePrincipal"
    assert _role_of(orphans[0]) == SECRETS_USER
    principals = {p["id"] for p in sim.admin("GET", "principals")["value"]}
    assert ORPHANED not in principals
    _assert_denied_by_rbac(sim)
    _assert_healthy_after_reset(sim, auth_client)


def test_grant_propagating(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-propagating")
    assert sim.admin("GET", "config")["propagation_seconds"] == 600
    assignments = _identity_assignments(auth_client)
    assert [a.name for a in assignments] == [KIT_NAME]
    assert _age_seconds(assignments[0].created_on) < 60
    _assert_denied_by_rbac(sim)
    sim.admin("POST", "config", {"propagation_seconds": 1})
    deadline = time.monotonic() + 10
    while True:
        try:
            secret = secret_client(sim, IDENTITY).get_secret("db-pass")
            break
        except HttpResponseError as error:
            assert _inner_code(error) == "ForbiddenByRbac"
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert secret.name == "db-pass"
    _assert_healthy_after_reset(sim, auth_client)


def test_grant_update_not_permitted(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "grant-update-not-permitted")
    assignments = _identity_assignments(auth_client)
    assert [(a.name, _role_of(a)) for a in assignments] == [(KIT_NAME, KV_READER)]
    with pytest.raises(HttpResponseError) as caught:
        _kit_grant(auth_client)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "RoleAssignmentUpdateNotPermitted"
    _assert_healthy_after_reset(sim, auth_client)


# Operator scenarios.


def test_operator_reader(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "operator-reader")
    with pytest.raises(HttpResponseError) as caught:
        _kit_grant(auth_client)
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in caught.value.message
    _assert_healthy_after_reset(sim, auth_client)


def test_operator_other_tenant_arm(
    sim: RunningSimulator, msi_client, auth_client
) -> None:
    _apply(sim, "operator-other-tenant")
    with pytest.raises(ClientAuthenticationError) as caught:
        list(msi_client.user_assigned_identities.list_by_subscription())
    error = caught.value
    assert error.status_code == 401
    assert error.error.code == "InvalidAuthenticationTokenTenant"
    assert error.error.message.startswith(
        f"The access token is from the wrong issuer 'https://sts.windows.net/"
        f"{OTHER_TENANT}/'. It must match the tenant 'https://sts.windows.net/"
        f"{TENANT}/' associated with this subscription. Please use the authority "
        f"(URL) 'https://login.windows.net/{TENANT}' to get the token."
    )
    header = error.response.headers["WWW-Authenticate"]
    assert header.startswith(
        f'Bearer authorization_uri="https://login.windows.net/{TENANT}", '
        'error="invalid_token"'
    )
    arm_calls = [r for r in sim.admin("GET", "requests")["value"] if r["host"] == "arm"]
    assert len(arm_calls) == 1
    _assert_healthy_after_reset(sim, auth_client)


def test_operator_other_tenant_vault(sim: RunningSimulator, auth_client) -> None:
    _apply(sim, "healthy", "operator-other-tenant")
    with pytest.raises(ClientAuthenticationError) as caught:
        secret_client(sim, OPERATOR, "kv-legacy").get_secret("api-key")
    error = caught.value
    assert error.status_code == 401
    assert error.error.code == "Unauthorized"
    assert error.error.message.startswith(
        f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{TENANT}/, "
    )
    assert error.error.message.endswith(
        f"found https://sts.windows.net/{OTHER_TENANT}/."
    )
    # The challenge policy asks for a token once more, then returns the 401.
    vault_calls = [
        r for r in sim.admin("GET", "requests")["value"] if r["host"] == "kv-legacy"
    ]
    assert [r["status"] for r in vault_calls] == [401, 401]
    # The identity signs in to the right tenant and still reads its secret.
    assert secret_client(sim, IDENTITY).get_secret("db-pass").name == "db-pass"
    _assert_healthy_after_reset(sim, auth_client)
    allowed = secret_client(sim, OPERATOR, "kv-legacy").get_secret("api-key")
    assert allowed.name == "api-key"


# Scenarios chosen on the command line.


def test_command_line_scenarios(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    started = start_simulator(
        home, "--reset", "--scenario", "grant-other-vault", "--scenario", "healthy"
    )
    try:
        state = started.admin("GET", "state")
        assert state["scenarios"] == ["grant-other-vault", "healthy"]
        assert "kv-demo-2" in started.discovery["vault_ports"]
        secret = secret_client(started, IDENTITY, "kv-demo-2").get_secret("db-pass")
        assert secret.name == "db-pass"
    finally:
        assert stop_simulator(started) == 0


def test_command_line_unknown_scenario(tmp_path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "akv_helpers.simulator",
            "--home",
            str(tmp_path),
            "--scenario",
            "no-such-scenario",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2
    assert "unknown scenario 'no-such-scenario'" in completed.stderr
    assert not (tmp_path / "simulator" / "simulator.json").exists()
