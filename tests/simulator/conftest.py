"""Fixtures that run the simulator as a real process and build real SDK clients."""

from __future__ import annotations

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo

OPERATOR = "dddddddd-0000-4000-8000-000000000004"
IDENTITY = "bbbbbbbb-0000-4000-8000-000000000002"
OTHER_IDENTITY = "bbbbbbbb-0000-4000-8000-000000000012"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "11111111-1111-4111-8111-111111111111"
ARM_SCOPE = "https://management.azure.com/.default"
VAULT_SCOPE = "https://vault.azure.net/.default"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRET_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp"
    "/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
VAULT_SCOPE = SECRET_SCOPE.rsplit("/secrets/", 1)[0]


@dataclass
class RunningSimulator:
    """A simulator process started by the tests, with its discovery data."""

    process: subprocess.Popen[bytes]
    home: Path
    discovery: dict[str, Any]

    @property
    def arm_url(self) -> str:
        return str(self.discovery["arm_url"])

    @property
    def ca_path(self) -> str:
        return str(self.discovery["ca_path"])

    def vault_url(self, name: str) -> str:
        return f"https://127.0.0.1:{self.discovery['vault_ports'][name]}/"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def raw(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """Send one HTTPS request; return status, JSON body and lowercased headers."""
        data = json.dumps(body).encode() if body is not None else None
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme == "https", url
        assert parts.hostname == "127.0.0.1", url
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, context=self.ssl_context(), timeout=10
        )
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, body=data, headers=sent)
            response = connection.getresponse()
            status, raw = response.status, response.read()
            lowered = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        parsed = json.loads(raw) if raw else None
        return status, parsed, lowered

    def admin(self, method: str, action: str, body: Any = None) -> Any:
        status, parsed, _ = self.raw(
            method,
            f"{self.arm_url}/_simulator/{action}",
            body,
            {"X-Simulator-Key": self.discovery["admin_key"]},
        )
        assert status < 300, (status, parsed)
        return parsed

    def token(self, principal_id: str, scope: str = ARM_SCOPE, **extra: Any) -> str:
        body = {"principal_id": principal_id, "scope": scope, "tenant_id": TENANT}
        body.update(extra)
        return str(self.admin("POST", "token", body)["access_token"])


class SimulatorTestCredential:
    """TokenCredential that requests a principal's tokens from the admin API."""

    def __init__(self, sim: RunningSimulator, principal_id: str) -> None:
        self._sim = sim
        self._principal_id = principal_id

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        info = self.get_token_info(*scopes)
        return AccessToken(info.token, info.expires_on)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        answer = self._sim.admin(
            "POST",
            "token",
            {
                "principal_id": self._principal_id,
                "scope": scopes[0],
                "tenant_id": TENANT,
            },
        )
        return AccessTokenInfo(answer["access_token"], int(answer["expires_on"]))


def start_simulator(home: Path, *extra: str) -> RunningSimulator:
    """Start ``python -m akv_helpers.simulator`` and wait for its discovery file."""
    discovery_path = home / "simulator" / "simulator.json"
    discovery_path.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "akv_helpers.simulator", "--home", str(home), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"simulator exited: {process.stderr.read().decode()}")
        if discovery_path.exists():
            try:
                discovery = json.loads(discovery_path.read_text())
            except ValueError:
                discovery = None
            if discovery and discovery.get("pid") == process.pid:
                return RunningSimulator(process, home, discovery)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("simulator did not write its discovery file in 20 s")


def stop_simulator(sim: RunningSimulator) -> int:
    sim.process.send_signal(signal.SIGTERM)
    try:
        return sim.process.wait(timeout=10)
    finally:
        if sim.process.stderr is not None:
            sim.process.stderr.close()


@pytest.fixture(scope="session")
def sim_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sim-home")
    home.chmod(0o700)
    return home


@pytest.fixture(scope="session")
def sim_process(sim_home: Path) -> Iterator[RunningSimulator]:
    sim = start_simulator(sim_home, "--reset")
    yield sim
    stop_simulator(sim)


@pytest.fixture
def sim(sim_process: RunningSimulator) -> RunningSimulator:
    """The session's simulator, reset to the seeded tenant before each test."""
    sim_process.admin("POST", "reset")
    sim_process.admin("DELETE", "requests")
    return sim_process


def _client_kwargs(sim: RunningSimulator) -> dict[str, Any]:
    return {
        "base_url": sim.arm_url,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": sim.ca_path,
        "retry_total": 0,
    }


@pytest.fixture
def operator(sim: RunningSimulator) -> SimulatorTestCredential:
    return SimulatorTestCredential(sim, OPERATOR)


@pytest.fixture
def msi_client(sim: RunningSimulator, operator: SimulatorTestCredential) -> Any:
    from azure.mgmt.msi import ManagedServiceIdentityClient

    return ManagedServiceIdentityClient(operator, SUBSCRIPTION, **_client_kwargs(sim))


@pytest.fixture
def kv_client(sim: RunningSimulator, operator: SimulatorTestCredential) -> Any:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    return KeyVaultManagementClient(operator, SUBSCRIPTION, **_client_kwargs(sim))


def authorization_client(sim: RunningSimulator, principal_id: str) -> Any:
    from azure.mgmt.authorization import AuthorizationManagementClient

    credential = SimulatorTestCredential(sim, principal_id)
    return AuthorizationManagementClient(
        credential, SUBSCRIPTION, **_client_kwargs(sim)
    )


@pytest.fixture
def auth_client(sim: RunningSimulator) -> Any:
    return authorization_client(sim, OPERATOR)


def secret_client(
    sim: RunningSimulator, principal_id: str, vault: str = "kv-demo"
) -> Any:
    from azure.keyvault.secrets import SecretClient

    return SecretClient(
        sim.vault_url(vault),
        SimulatorTestCredential(sim, principal_id),
        verify_challenge_resource=False,
        connection_verify=sim.ca_path,
        retry_total=0,
    )


@pytest.fixture(autouse=True)
def _no_proxy_env() -> Iterator[None]:
    saved = {
        k: os.environ.pop(k) for k in list(os.environ) if k.lower().endswith("_proxy")
    }
    yield
    os.environ.update(saved)
