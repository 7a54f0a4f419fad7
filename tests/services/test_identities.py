"""Tests of the identity lookup and the principal ID choice."""

from __future__ import annotations

from typing import Any

import pytest

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.errors import IdentityNotFoundError, InvalidIdError, NotFoundError
from akv_helpers.identities import (
    CLIENT_ID_EXPLANATION,
    IdentityCandidate,
    find_identities,
    list_identities,
    resolve_principal_id,
    resolve_typed_principal,
    to_identity_ref,
)
from akv_helpers.profile import IdentityRef

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
RESOURCE_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-union-dp/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)

CANDIDATE = IdentityCandidate(
    name="userflyterole",
    resource_group="rg-union-dp",
    resource_id=RESOURCE_ID,
    client_id=CLIENT_ID,
    principal_id=PRINCIPAL_ID,
)


def _arm_requests(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [e for e in sim.requests() if not e["path"].startswith("/_simulator/")]


def test_find_in_resource_group(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    [found] = find_identities(connection, "rg-union-dp")
    assert found.name == "userflyterole"
    assert found.resource_group.lower() == "rg-union-dp"
    assert found.client_id == CLIENT_ID
    assert found.principal_id == PRINCIPAL_ID
    assert found.tags["union.ai/managed"] == "true"
    assert found.resource_id.lower() == RESOURCE_ID.lower()
    assert len(_arm_requests(fresh_sim)) == 1


def test_find_in_subscription(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    found = find_identities(connection)
    assert [item.name for item in found] == ["userflyterole"]
    [request] = _arm_requests(fresh_sim)
    assert "resourcegroups" not in request["path"].lower()


def test_find_pages(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    fresh_sim.configure(page_size=1)
    try:
        found = find_identities(connection)
    finally:
        fresh_sim.configure(page_size=100)
    assert [item.name for item in found] == ["userflyterole"]
    assert len(_arm_requests(fresh_sim)) >= 2


def test_find_no_match_lists_names(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    with pytest.raises(IdentityNotFoundError) as caught:
        find_identities(connection, "rg-tools")
    assert "ci-deployer" in caught.value.message
    assert "rg-tools" in caught.value.message
    assert "resource group" in caught.value.fix


def test_find_unknown_resource_group(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    with pytest.raises(NotFoundError) as caught:
        find_identities(connection, "rg-absent")
    assert caught.value.code == "ResourceGroupNotFound"


def test_to_identity_ref() -> None:
    ref = to_identity_ref(CANDIDATE)
    assert ref.principal_id == PRINCIPAL_ID
    assert ref.client_id == CLIENT_ID


def test_resolve_client_id_swapped() -> None:
    choice = resolve_principal_id(CANDIDATE, CLIENT_ID)
    assert choice.principal_id == PRINCIPAL_ID
    assert choice.principal_type == "ServicePrincipal"
    assert choice.typed_kind == "client ID"
    assert choice.swapped
    assert CLIENT_ID_EXPLANATION in choice.explanation
    assert "client ID is what workload identity uses" in choice.explanation
    assert "principal ID (object ID) is what RBAC uses" in choice.explanation


def test_resolve_client_id_without_dashes() -> None:
    choice = resolve_principal_id(CANDIDATE, CLIENT_ID.replace("-", "").upper())
    assert choice.principal_id == PRINCIPAL_ID
    assert choice.typed_kind == "client ID"


def test_resolve_principal_id_kept() -> None:
    choice = resolve_principal_id(CANDIDATE, f"  {PRINCIPAL_ID.upper()} ")
    assert choice.principal_id == PRINCIPAL_ID
    assert not choice.swapped


def test_resolve_nothing_typed() -> None:
    choice = resolve_principal_id(CANDIDATE, "")
    assert choice.principal_id == PRINCIPAL_ID
    assert choice.typed_kind == "nothing"


def test_resolve_resource_id() -> None:
    typed = RESOURCE_ID.replace("resourcegroups", "resourceGroups")
    choice = resolve_principal_id(CANDIDATE, typed)
    assert choice.principal_id == PRINCIPAL_ID
    assert choice.typed_kind == "resource ID"


def test_resolve_other_resource_id() -> None:
    with pytest.raises(InvalidIdError) as caught:
        resolve_principal_id(CANDIDATE, RESOURCE_ID.replace("userflyterole", "other"))
    assert PRINCIPAL_ID in caught.value.fix


def test_resolve_unknown_guid() -> None:
    unknown = "bbbbbbbb-0000-4000-8000-000000000012"
    with pytest.raises(InvalidIdError) as caught:
        resolve_principal_id(CANDIDATE, unknown)
    assert unknown in caught.value.message
    assert PRINCIPAL_ID in caught.value.fix


def test_resolve_not_a_guid() -> None:
    with pytest.raises(InvalidIdError) as caught:
        resolve_principal_id(CANDIDATE, "userflyterole")
    assert "userflyterole" in caught.value.message


# --- resolving a typed ID against the whole subscription --------------------------

CI_DEPLOYER_CLIENT = "aaaaaaaa-0000-4000-8000-000000000011"
CI_DEPLOYER_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000012"
AGENT_POOL_CLIENT = "aaaaaaaa-0000-4000-8000-000000000021"
AGENT_POOL_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000022"


def test_list_identities_every_name(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    names = {item.name for item in list_identities(connection)}

    assert {"userflyterole", "ci-deployer", "aks-agentpool"} <= names
    [request] = _arm_requests(fresh_sim)
    assert "resourcegroups" not in request["path"].lower()


@pytest.mark.parametrize(
    ("typed", "principal", "kind", "name"),
    [
        pytest.param(
            CI_DEPLOYER_CLIENT,
            CI_DEPLOYER_PRINCIPAL,
            "client ID",
            "ci-deployer",
            id="ci-client",
        ),
        pytest.param(
            AGENT_POOL_CLIENT,
            AGENT_POOL_PRINCIPAL,
            "client ID",
            "aks-agentpool",
            id="pool-client",
        ),
        pytest.param(
            CI_DEPLOYER_PRINCIPAL,
            CI_DEPLOYER_PRINCIPAL,
            "principal ID",
            "ci-deployer",
            id="ci-principal",
        ),
        pytest.param(
            CLIENT_ID.upper(),
            PRINCIPAL_ID,
            "client ID",
            "userflyterole",
            id="client-upper",
        ),
        pytest.param(
            RESOURCE_ID, PRINCIPAL_ID, "resource ID", "userflyterole", id="resource-id"
        ),
        pytest.param(
            RESOURCE_ID.upper(),
            PRINCIPAL_ID,
            "resource ID",
            "userflyterole",
            id="resource-id-upper",
        ),
        pytest.param(
            RESOURCE_ID.lower() + "/",
            PRINCIPAL_ID,
            "resource ID",
            "userflyterole",
            id="resource-id-lower",
        ),
    ],
)
def test_resolve_typed_against_subscription(
    fresh_sim: SimulatorEndpoint,
    connection: Connection,
    typed: str,
    principal: str,
    kind: str,
    name: str,
) -> None:
    choice = resolve_typed_principal(connection, typed)

    assert choice.principal_id == principal
    assert choice.typed_kind == kind
    assert choice.identity is not None
    assert choice.identity.name == name
    if kind != "principal ID":
        assert CLIENT_ID_EXPLANATION in choice.explanation
        assert principal in choice.explanation
    assert len(_arm_requests(fresh_sim)) == 1


def test_resolve_typed_unknown_guid_passes_with_warning(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    unknown = "cccccccc-0000-4000-8000-000000000099"

    choice = resolve_typed_principal(connection, unknown.upper())

    assert choice.principal_id == unknown
    assert choice.typed_kind == "unknown"
    assert choice.swapped is False
    assert "neither the principal ID nor the client ID" in choice.explanation
    assert "--subscription-wide" in choice.explanation


def test_resolve_typed_known_identity_no_request(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    known = to_identity_ref(CANDIDATE)

    choice = resolve_typed_principal(connection, CLIENT_ID, known)

    assert choice.principal_id == PRINCIPAL_ID
    assert choice.typed_kind == "client ID"
    assert _arm_requests(fresh_sim) == []


def test_resolve_typed_profile_identity_other_client(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    known = IdentityRef(
        "userflyterole", "rg-union-dp", RESOURCE_ID, CLIENT_ID, PRINCIPAL_ID
    )

    choice = resolve_typed_principal(connection, CI_DEPLOYER_CLIENT, known)

    assert choice.principal_id == CI_DEPLOYER_PRINCIPAL


def test_resolve_typed_missing_resource_id(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    missing = RESOURCE_ID.replace("userflyterole", "nope")

    with pytest.raises(IdentityNotFoundError) as caught:
        resolve_typed_principal(connection, missing)

    assert "nope" in caught.value.message
    assert "--query principalId" in caught.value.fix


def test_resolve_typed_other_resource_id_rejected(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp"
        "/providers/Microsoft.KeyVault/vaults/kv-demo"
    )

    with pytest.raises(InvalidIdError) as caught:
        resolve_typed_principal(connection, vault_id)

    assert "resource ID" in caught.value.message
    assert SUBSCRIPTION + "'" not in caught.value.fix
    assert _arm_requests(fresh_sim) == []


def test_find_no_match_fix_names_subscription_wide(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    with pytest.raises(IdentityNotFoundError) as caught:
        find_identities(connection, "rg-tools")

    assert "akv-onboard find-identity --subscription-wide" in caught.value.fix
