"""Process-level behavior: binding, files, admin API, tokens and shutdown."""

from __future__ import annotations

import json
import socket
import ssl
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.msi import ManagedServiceIdentityClient

from .conftest import (
    ARM_SCOPE,
    IDENTITY,
    OPERATOR,
    SECRET_SCOPE,
    SECRETS_USER,
    SUBSCRIPTION,
    TENANT,
    VAULT_SCOPE,
    RunningSimulator,
    _client_kwargs,
    authorization_client,
    start_simulator,
    stop_simulator,
)

IDENTITIES = (
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.ManagedIdentity/"
    "userAssignedIdentities?api-version=2024-11-30"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_host_other_than_loopback_rejected(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "akv_helpers.simulator",
            "--home",
            str(tmp_path),
            "--host",
            "0.0.0.0",  # noqa: S104 (the address under test is rejected)
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "'0.0.0.0' is not allowed" in result.stderr
    assert not (tmp_path / "simulator" / "simulator.json").exists()


def test_private_file_modes(sim: RunningSimulator) -> None:
    sim.raw("GET", sim.arm_url + IDENTITIES)
    folder = sim.home / "simulator"
    for name in (
        "ca-key.pem",
        "server-key.pem",
        "server.pem",
        "state.json",
        "simulator.json",
    ):
        assert _mode(folder / name) == 0o600, name
    assert _mode(folder) == 0o700
    assert _mode(folder / "simulator.log") == 0o600
    assert _mode(folder / "requests.jsonl") == 0o600


def test_server_certificate_names(sim: RunningSimulator) -> None:
    context = ssl.create_default_context(cafile=sim.ca_path)
    port = int(sim.arm_url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        names = tls.getpeercert()["subjectAltName"]
    assert ("IP Address", "127.0.0.1") in names
    assert ("DNS", "localhost") in names


def _listening_addresses(port: int) -> set[str]:
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":
            addresses.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


@pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp"
)
def test_listens_on_loopback_only(sim: RunningSimulator) -> None:
    ports = [int(sim.arm_url.rsplit(":", 1)[1]), *sim.discovery["vault_ports"].values()]
    for port in ports:
        assert _listening_addresses(port) == {"127.0.0.1"}, port


def test_admin_key_required(sim: RunningSimulator) -> None:
    status, body, _ = sim.raw("GET", f"{sim.arm_url}/_simulator/state")
    assert status == 401
    status, body, _ = sim.raw(
        "POST",
        f"{sim.arm_url}/_simulator/token",
        {"principal_id": OPERATOR, "scope": ARM_SCOPE},
        {"X-Simulator-Key": "wrong"},
    )
    assert status == 401
    status, body, _ = sim.raw("GET", f"{sim.arm_url}/_simulator/health")
    assert status == 200
    assert body["pid"] == sim.process.pid


def test_token_unknown_principal(sim: RunningSimulator) -> None:
    status, body, _ = sim.raw(
        "POST",
        f"{sim.arm_url}/_simulator/token",
        {"principal_id": str(uuid.uuid4()), "scope": ARM_SCOPE, "tenant_id": TENANT},
        {"X-Simulator-Key": sim.discovery["admin_key"]},
    )
    assert status == 400


def test_unknown_token_rejected(sim: RunningSimulator) -> None:
    for header, code in (
        ({}, "AuthenticationFailed"),
        ({"Authorization": "Bearer made-up"}, "InvalidAuthenticationToken"),
    ):
        status, body, _ = sim.raw("GET", sim.arm_url + IDENTITIES, headers=header)
        assert status == 401
        assert body["error"]["code"] == code


def test_vault_token_rejected_on_arm(sim: RunningSimulator) -> None:
    token = sim.token(OPERATOR, "https://vault.azure.net/.default")
    status, body, _ = sim.raw(
        "GET", sim.arm_url + IDENTITIES, headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 401
    assert body["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_expired_token(sim: RunningSimulator) -> None:
    token = sim.token(OPERATOR, expires_in=-5)
    status, body, _ = sim.raw(
        "GET", sim.arm_url + IDENTITIES, headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 401
    assert body["error"]["code"] == "ExpiredAuthenticationToken"


class _ExpiredCredential:
    def __init__(self, sim: RunningSimulator) -> None:
        self._sim = sim

    def get_token(self, *scopes: str, **_: object):
        from azure.core.credentials import AccessToken

        token = self._sim.token(OPERATOR, expires_in=-5)
        return AccessToken(token, 4_000_000_000)


def test_expired_token_sdk_error(sim: RunningSimulator) -> None:
    client = ManagedServiceIdentityClient(
        _ExpiredCredential(sim), SUBSCRIPTION, **_client_kwargs(sim)
    )
    with pytest.raises(ClientAuthenticationError) as caught:
        list(client.user_assigned_identities.list_by_subscription())
    assert caught.value.error.code == "ExpiredAuthenticationToken"


def test_foreign_host_header_rejected(sim: RunningSimulator) -> None:
    token = sim.token(OPERATOR)
    status, body, _ = sim.raw(
        "GET",
        sim.arm_url + IDENTITIES,
        headers={"Authorization": f"Bearer {token}", "Host": "attacker.example"},
    )
    assert status == 421


def test_state_redacted_and_no_canary_in_logs(sim: RunningSimulator) -> None:
    state_text = (sim.home / "simulator" / "state.json").read_text()
    assert "AKVSIM-CANARY-" in state_text
    redacted = json.dumps(sim.admin("GET", "state"))
    assert "AKVSIM-CANARY-" not in redacted
    for name in ("simulator.log", "requests.jsonl", "simulator.json"):
        assert "AKVSIM-CANARY-" not in (sim.home / "simulator" / name).read_text(), name


def test_config_rejects_unknown_setting(sim: RunningSimulator) -> None:
    status, body, _ = sim.raw(
        "POST",
        f"{sim.arm_url}/_simulator/config",
        {"page_sise": 1},
        {"X-Simulator-Key": sim.discovery["admin_key"]},
    )
    assert status == 400
    assert "page_sise" in body["error"]["message"]


def test_principals_listed(sim: RunningSimulator) -> None:
    principals = {p["id"]: p["type"] for p in sim.admin("GET", "principals")["value"]}
    assert principals[OPERATOR] == "User"
    assert principals[IDENTITY] == "ServicePrincipal"


def test_restart_taken_port_replaced(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    first = start_simulator(home)
    vault, port = sorted(first.discovery["vault_ports"].items())[0]
    assert stop_simulator(first) == 0

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        second = start_simulator(home)
        try:
            moved = second.discovery["vault_ports"][vault]
            log = (home / "simulator" / "simulator.log").read_text(encoding="utf-8")
        finally:
            stop_simulator(second)

    assert moved != port
    assert f"port {port} is taken; picking another" in log


def test_restart_keeps_state_and_ports(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    first = start_simulator(home)
    try:
        client = authorization_client(first, OPERATOR)
        created = client.role_assignments.create(
            SECRET_SCOPE,
            str(uuid.uuid4()),
            RoleAssignmentCreateParameters(
                role_definition_id=f"/subscriptions/{SUBSCRIPTION}/providers/"
                f"Microsoft.Authorization/roleDefinitions/{SECRETS_USER}",
                principal_id=IDENTITY,
                principal_type="ServicePrincipal",
            ),
        )
        second_try = subprocess.run(
            [sys.executable, "-m", "akv_helpers.simulator", "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second_try.returncode == 1
        assert "already running" in second_try.stderr
    finally:
        assert stop_simulator(first) == 0
    assert not (home / "simulator" / "simulator.json").exists()
    second = start_simulator(home)
    try:
        # A port that another process took in between is logged and replaced.
        log = (home / "simulator" / "simulator.log").read_text(encoding="utf-8")
        for vault, port in first.discovery["vault_ports"].items():
            if second.discovery["vault_ports"][vault] != port:
                assert f"port {port} is taken; picking another" in log
        assert set(second.discovery["vault_ports"]) == set(
            first.discovery["vault_ports"]
        )
        client = authorization_client(second, OPERATOR)
        found = list(
            client.role_assignments.list_for_scope(
                VAULT_SCOPE, filter=f"principalId eq '{IDENTITY}'"
            )
        )
        assert [a.id for a in found] == [created.id]
    finally:
        stop_simulator(second)
