"""Key Vault secrets data plane through the real SecretClient."""

from __future__ import annotations

import time
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

from .conftest import (
    IDENTITY,
    OPERATOR,
    OTHER_IDENTITY,
    SECRET_SCOPE,
    SECRETS_USER,
    SUBSCRIPTION,
    TENANT,
    VAULT_SCOPE,
    RunningSimulator,
    secret_client,
)

CURRENT = "7c4a8d09ca3762af61e59520943dc264"
OLDER = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _grant(auth_client, scope: str = SECRET_SCOPE, principal: str = IDENTITY) -> None:
    auth_client.role_assignments.create(
        scope,
        str(uuid.uuid4()),
        RoleAssignmentCreateParameters(
            role_definition_id=(
                f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{SECRETS_USER}"
            ),
            principal_id=principal,
            principal_type="ServicePrincipal",
        ),
    )


def _inner_code(error: HttpResponseError) -> str | None:
    inner = error.error.innererror if error.error else None
    return inner.get("code") if isinstance(inner, dict) else None


def test_first_request_gets_challenge(sim: RunningSimulator) -> None:
    url = f"{sim.vault_url('kv-demo')}secrets/db-pass?api-version=2026-04-01"
    status, body, headers = sim.raw("GET", url)
    assert status == 401
    assert headers["www-authenticate"] == (
        f'Bearer authorization="https://login.microsoftonline.com/{TENANT}", '
        'resource="https://vault.azure.net"'
    )
    assert body == {
        "error": {
            "code": "Unauthorized",
            "message": "AKV10000: Request is missing a Bearer or PoP token.",
        }
    }


def test_get_after_grant(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client)
    secret = secret_client(sim, IDENTITY).get_secret("db-pass")
    base = sim.vault_url("kv-demo").rstrip("/")
    assert secret.id == f"{base}/secrets/db-pass/{CURRENT}"
    assert secret.value.startswith("AKVSIM-CANARY-")
    assert secret.properties.version == CURRENT
    assert secret.properties.content_type == "text/plain"
    assert secret.properties.recovery_level == "Recoverable+Purgeable"
    older = secret_client(sim, IDENTITY).get_secret("db-pass", OLDER)
    assert older.properties.version == OLDER
    assert older.value != secret.value
    log = sim.admin("GET", "requests")["value"]
    statuses = [r["status"] for r in log if r["host"] == "kv-demo"]
    assert statuses.count(200) == 2
    assert set(statuses) <= {200, 401}


def test_denied_without_grant(sim: RunningSimulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY).get_secret("db-pass")
    error = caught.value
    assert error.status_code == 403
    assert error.error.code == "Forbidden"
    assert _inner_code(error) == "ForbiddenByRbac"
    lines = error.error.message.split("\r\n")
    assert "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'" in lines
    assert f"Resource: '{SECRET_SCOPE.lower()}'" in lines
    assert "Assignment: (not found)" in lines
    assert "DecisionReason: null " in lines
    assert any(
        line.startswith("Caller: appid=") and f"oid={IDENTITY}" in line
        for line in lines
    )


def test_owner_has_no_data_access(sim: RunningSimulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, OPERATOR).get_secret("db-pass")
    assert _inner_code(caught.value) == "ForbiddenByRbac"


def test_grant_on_other_secret_denied(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client, VAULT_SCOPE + "/secrets/api-token")
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY).get_secret("db-pass")
    assert _inner_code(caught.value) == "ForbiddenByRbac"


def test_vault_scope_grant_allows(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client, VAULT_SCOPE)
    assert secret_client(sim, IDENTITY).get_secret("api-token").name == "api-token"


def test_propagation_delay(sim: RunningSimulator, auth_client) -> None:
    sim.admin("POST", "config", {"propagation_seconds": 0.6})
    _grant(auth_client)
    client = secret_client(sim, IDENTITY)
    with pytest.raises(HttpResponseError) as caught:
        client.get_secret("db-pass")
    assert _inner_code(caught.value) == "ForbiddenByRbac"
    time.sleep(0.7)
    assert client.get_secret("db-pass").properties.version == CURRENT


def test_missing_secret(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client, VAULT_SCOPE)
    with pytest.raises(ResourceNotFoundError) as caught:
        secret_client(sim, IDENTITY).get_secret("absent")
    assert caught.value.error.code == "SecretNotFound"


def test_disabled_secret(sim: RunningSimulator, auth_client) -> None:
    sim.admin("POST", "scenario", {"name": "secret-disabled"})
    _grant(auth_client)
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY).get_secret("db-pass")
    assert caught.value.status_code == 403
    assert _inner_code(caught.value) == "SecretDisabled"


def test_access_policy_vault(sim: RunningSimulator, auth_client) -> None:
    _grant(
        auth_client,
        SECRET_SCOPE.replace("rg-union-dp", "rg-app-secrets").replace(
            "kv-demo/secrets/db-pass", "kv-legacy/secrets/api-key"
        ),
    )
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY, "kv-legacy").get_secret("api-key")
    assert caught.value.status_code == 403
    assert _inner_code(caught.value) == "AccessDenied"
    allowed = secret_client(sim, OPERATOR, "kv-legacy").get_secret("api-key")
    assert allowed.name == "api-key"


def test_list_secrets_and_versions_paged(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client, VAULT_SCOPE)
    sim.admin("POST", "config", {"page_size": 1})
    client = secret_client(sim, IDENTITY)
    pages = list(client.list_properties_of_secrets().by_page())
    names = [p.name for page in pages for p in page]
    assert names == ["api-token", "db-pass"]
    assert len(pages) == 2
    versions = sorted(
        p.version for p in client.list_properties_of_secret_versions("db-pass")
    )
    assert versions == sorted([CURRENT, OLDER])


def test_list_denied_with_secret_grant(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client)
    with pytest.raises(HttpResponseError) as caught:
        list(secret_client(sim, IDENTITY).list_properties_of_secrets())
    assert _inner_code(caught.value) == "ForbiddenByRbac"


def test_firewall_and_public_access(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client)
    sim.admin("POST", "scenario", {"name": "firewall-deny"})
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY).get_secret("db-pass")
    assert _inner_code(caught.value) == "ForbiddenByFirewall"
    sim.admin("POST", "scenario", {"name": "public-access-disabled"})
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, IDENTITY).get_secret("db-pass")
    assert _inner_code(caught.value) == "ForbiddenByConnection"


def test_unknown_and_arm_token_rejected(sim: RunningSimulator) -> None:
    url = f"{sim.vault_url('kv-demo')}secrets/db-pass?api-version=2026-04-01"
    status, body, _ = sim.raw(
        "GET", url, headers={"Authorization": "Bearer not-a-token"}
    )
    assert status == 401
    assert body["error"]["code"] == "Unauthorized"
    arm_token = sim.token(IDENTITY)
    status, body, _ = sim.raw(
        "GET", url, headers={"Authorization": f"Bearer {arm_token}"}
    )
    assert status == 401
    assert body["error"]["message"].startswith("AKV10022")


def test_other_identity_denied(sim: RunningSimulator, auth_client) -> None:
    _grant(auth_client)
    with pytest.raises(HttpResponseError) as caught:
        secret_client(sim, OTHER_IDENTITY).get_secret("db-pass")
    assert _inner_code(caught.value) == "ForbiddenByRbac"
