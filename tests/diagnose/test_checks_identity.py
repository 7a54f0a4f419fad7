"""Tests of the doctor's checks of the data-plane identity, against the simulator."""

from __future__ import annotations

import dataclasses

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import Diagnosis, DiagnosisInputs, Status, diagnose

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
OTHER_CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000011"
OTHER_PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000012"
IDENTITY_ID = (
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-union-dp"
    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)


def _run(connection: Connection, identity: str | None = None) -> Diagnosis:
    return diagnose(connection, DiagnosisInputs(SECRET, identity_text=identity))


def test_none_found_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("no-identity")

    diagnosis = _run(connection)
    finding = diagnosis.finding("identity.none-found")

    assert finding.status is Status.FAILED
    assert "orders-api" in finding.observed
    assert "resource group" in finding.fix
    assert finding.commands
    assert diagnosis.finding("identity.several").status is Status.NOT_APPLICABLE


def test_none_found_ok(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    finding = _run(connection).finding("identity.none-found")

    assert finding.status is Status.OK
    assert PRINCIPAL_ID in finding.observed


def test_several_warning(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    fresh_sim.apply_scenario("several-identities")

    diagnosis = _run(connection)
    finding = diagnosis.finding("identity.several")

    assert finding.status is Status.WARNING
    assert "userflyterole" in finding.observed
    assert "flyteuser-staging" in finding.observed
    assert "--identity" in finding.fix
    grant_like = diagnosis.finding("identity.wrong-id-kind")
    assert grant_like.status is Status.COULD_NOT_CHECK
    assert "none was chosen" in grant_like.observed


def test_several_ok_when_chosen(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("several-identities")

    finding = _run(connection, PRINCIPAL_ID).finding("identity.several")

    assert finding.status is Status.OK
    assert PRINCIPAL_ID in finding.observed


def test_wrong_id_kind_client_id(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    diagnosis = _run(connection, CLIENT_ID)
    finding = diagnosis.finding("identity.wrong-id-kind")

    assert finding.status is Status.WARNING
    assert "client ID" in finding.observed
    assert CLIENT_ID in finding.observed
    assert PRINCIPAL_ID in finding.fix
    assert diagnosis.resolved["principal ID"] == PRINCIPAL_ID


def test_wrong_id_kind_resource_id(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection, IDENTITY_ID).finding("identity.wrong-id-kind")

    assert finding.status is Status.WARNING
    assert "resource ID" in finding.observed
    assert PRINCIPAL_ID in finding.fix


def test_wrong_id_kind_directory_client_id(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection, OTHER_CLIENT_ID).finding("identity.wrong-id-kind")

    assert finding.status is Status.WARNING
    assert "ci-deployer" in finding.observed
    assert OTHER_PRINCIPAL_ID in finding.fix
    assert "not like Union's" in finding.observed


def test_wrong_id_kind_ok(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    for typed in (PRINCIPAL_ID, "userflyterole", None):
        finding = _run(connection, typed).finding("identity.wrong-id-kind")
        assert finding.status is Status.OK, typed
        assert finding.fix == "", typed


def test_principal_unresolved_failed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    unknown = "eeeeeeee-0000-4000-8000-000000000099"

    finding = _run(connection, unknown).finding("identity.principal-unresolved")

    assert finding.status is Status.FAILED
    assert unknown in finding.observed
    assert "principalId" in finding.fix


def test_principal_unresolved_ok_directory_object(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection, OTHER_PRINCIPAL_ID).finding(
        "identity.principal-unresolved"
    )

    assert finding.status is Status.OK
    assert "ci-deployer" in finding.observed


def test_principal_unresolved_ok_identity(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection).finding("identity.principal-unresolved")

    assert finding.status is Status.OK
    assert "userflyterole" in finding.observed


def test_principal_unresolved_azure_mode(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    # A connection without the simulator's admin API, as in Azure mode.
    azure_like = dataclasses.replace(connection, simulator=None, _clients={})
    unknown = "eeeeeeee-0000-4000-8000-000000000099"

    finding = _run(azure_like, unknown).finding("identity.principal-unresolved")

    assert finding.status is Status.COULD_NOT_CHECK
    assert "Microsoft Graph" in finding.observed
    assert f"az ad sp show --id {unknown}" in finding.fix


def test_none_found_warning_when_typed(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("no-identity")

    finding = _run(connection, PRINCIPAL_ID).finding("identity.none-found")

    assert finding.status is Status.WARNING
    assert PRINCIPAL_ID in finding.observed
