"""Operator checks of the doctor, against the simulator's scenarios."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from azure.identity import (
    AzureCliCredential,
    ChainedTokenCredential,
    EnvironmentCredential,
)

from akv_helpers.connection import Connection, SimulatorEndpoint, connect
from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose
from akv_helpers.profile import Profile

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
OTHER_TENANT = "22222222-2222-4222-8222-222222222222"
TENANT = "11111111-1111-4111-8111-111111111111"


def _run(connection: Connection):  # type: ignore[no-untyped-def]
    return diagnose(connection, DiagnosisInputs(SECRET, principal_id=PRINCIPAL))


def test_cannot_assign_reader(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("operator-reader")
    before = len(fresh_sim.state()["role_assignments"])

    finding = _run(connection).finding("operator.cannot-assign")

    assert finding.status is Status.FAILED
    order = [
        "Key Vault Data Access Administrator",
        "Role Based Access Control Administrator",
        "User Access Administrator",
        "Owner",
    ]
    positions = [finding.fix.index(name) for name in order]
    assert positions == sorted(positions)
    for part in ("az role assignment create", "Terraform", "Bicep", "REST", "Verify"):
        assert part in finding.fix
    assert "dddddddd-0000-4000-8000-000000000004" in finding.observed
    assert len(fresh_sim.state()["role_assignments"]) == before


def test_cannot_assign_owner_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    finding = _run(connection).finding("operator.cannot-assign")
    assert finding.status is Status.OK
    assert "Owner" in finding.observed


def test_tenant_mismatch(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    fresh_sim.apply_scenario("operator-other-tenant")

    finding = _run(connection).finding("operator.tenant")

    assert finding.status is Status.FAILED
    assert OTHER_TENANT in finding.observed
    assert TENANT in finding.observed
    assert f"az login --tenant {TENANT}" in finding.fix


def test_tenant_ok(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    assert _run(connection).finding("operator.tenant").status is Status.OK


def test_credential_chain_fails(
    fresh_sim: SimulatorEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    chain = ChainedTokenCredential(EnvironmentCredential(), AzureCliCredential())
    connection = connect(Profile(mode="simulator"), credential=chain)

    finding = _run(connection).finding("operator.credential-chain")

    assert finding.status is Status.FAILED
    assert "EnvironmentCredential: not configured" in finding.observed
    assert "cannot find `az` on its PATH" in finding.observed
    assert finding.fix


def test_credential_chain_ok(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    assert _run(connection).finding("operator.credential-chain").status is Status.OK
