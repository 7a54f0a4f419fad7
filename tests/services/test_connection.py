"""Tests of connections, the simulator credential and SDK error conversion."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import RetryPolicy
from azure.identity import (
    AzureCliCredential,
    DefaultAzureCredential,
    DeviceCodeCredential,
    InteractiveBrowserCredential,
    ManagedIdentityCredential,
)

from akv_helpers.connection import (
    ARM_SCOPE,
    Connection,
    RetrySettings,
    SimulatorCredential,
    SimulatorEndpoint,
    client_kwargs,
    connect,
    describe_http_error,
    ensure_simulator,
    list_subscriptions,
    sign_in,
    stop_simulator,
)
from akv_helpers.errors import (
    AccessDeniedError,
    InvalidInputError,
    NotConfiguredError,
    NotFoundError,
    SimulatorError,
)
from akv_helpers.profile import Profile

TENANT = "11111111-1111-4111-8111-111111111111"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
OPERATOR = "dddddddd-0000-4000-8000-000000000004"
IDENTITY_PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
VAULT_SCOPE = "https://vault.azure.net/.default"


def test_endpoint_repr_hides_admin_key(sim: SimulatorEndpoint) -> None:
    assert sim.admin_key not in repr(sim)
    assert sim.arm_url.startswith("https://127.0.0.1:")
    assert sim.tenant_id == TENANT
    assert sim.subscription_id == SUBSCRIPTION
    assert sim.operator_principal_id == OPERATOR


def test_ensure_simulator_attaches(sim: SimulatorEndpoint, kit_home: Path) -> None:
    again = ensure_simulator(kit_home)
    assert again.pid == sim.pid
    assert again.arm_url == sim.arm_url


def test_ensure_simulator_timeout_names_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(SimulatorError) as caught:
        ensure_simulator(home, timeout=0.01)
    log_path = home / "simulator" / "simulator.log"
    assert str(log_path) in str(caught.value)
    assert "not ready within" in caught.value.message
    # The started process was stopped, so it never announced itself.
    assert not (home / "simulator" / "simulator.json").exists()


def test_ensure_simulator_early_exit_names_log(tmp_path: Path) -> None:
    directory = tmp_path / "home" / "simulator"
    directory.mkdir(parents=True)
    # Hold the simulator's lock, as a second simulator on the same home would.
    with open(directory / "simulator.lock", "w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(SimulatorError) as caught:
            ensure_simulator(tmp_path / "home", timeout=20)
    assert "exited with status" in caught.value.message
    assert str(directory / "simulator.log") in caught.value.fix


def test_ensure_simulator_home_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "simulator").write_text("not a folder")
    with pytest.raises(SimulatorError) as caught:
        ensure_simulator(tmp_path, timeout=1)
    assert str(tmp_path / "simulator") in caught.value.message


def test_stale_discovery_starts_new(tmp_path: Path) -> None:
    directory = tmp_path / "simulator"
    directory.mkdir(mode=0o700)
    stale = {
        # Above Linux's maximum pid_max, so no process has this ID.
        "pid": 2**22 + 7,
        "arm_url": "https://127.0.0.1:9",
        "ca_path": str(directory / "ca.pem"),
        "admin_key": "stale",
        "tenant_id": TENANT,
        "subscription_id": SUBSCRIPTION,
        "operator_principal_id": OPERATOR,
    }
    (directory / "simulator.json").write_text(json.dumps(stale))
    endpoint = ensure_simulator(tmp_path, timeout=20)
    try:
        assert endpoint.pid != stale["pid"]
        assert endpoint.health()["status"] == "ok"
    finally:
        assert stop_simulator(tmp_path)
    assert not stop_simulator(tmp_path)


def test_ensure_simulator_logs_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="akv_helpers")
    endpoint = ensure_simulator(tmp_path, timeout=20)
    try:
        started = [
            record.getMessage()
            for record in caplog.records
            if record.name == "akv_helpers.simulator_client"
            and record.levelno == logging.INFO
        ]
    finally:
        assert stop_simulator(tmp_path)

    assert len(started) == 1
    assert endpoint.arm_url in started[0]
    assert str(endpoint.pid) in started[0]


def test_stop_simulator_started_elsewhere(tmp_path: Path) -> None:
    # Started by this test, not by ensure_simulator, so the kit cannot reap it.
    process = subprocess.Popen(
        [sys.executable, "-m", "akv_helpers.simulator", "--home", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        discovery = tmp_path / "simulator" / "simulator.json"
        while not discovery.exists() and time.monotonic() < deadline:
            assert process.poll() is None
            time.sleep(0.05)
        endpoint = ensure_simulator(tmp_path, timeout=1)
        assert endpoint.pid == process.pid
        started = time.monotonic()
        assert stop_simulator(tmp_path)
        assert time.monotonic() - started < 5
    finally:
        process.kill()
        process.wait(timeout=10)


def test_credential_returns_token(sim: SimulatorEndpoint) -> None:
    credential = SimulatorCredential(sim, OPERATOR)
    token = credential.get_token(ARM_SCOPE)
    assert token.token
    assert token.expires_on > time.time() + 3000


def test_credential_caches_per_scope(sim: SimulatorEndpoint) -> None:
    credential = SimulatorCredential(sim, OPERATOR)
    first = credential.get_token_info(ARM_SCOPE)
    second = credential.get_token_info(ARM_SCOPE)
    other = credential.get_token_info(VAULT_SCOPE)
    assert second.token == first.token
    assert other.token != first.token
    assert first.refresh_on == first.expires_on - 300


def test_credential_renews_near_expiry(sim: SimulatorEndpoint) -> None:
    credential = SimulatorCredential(sim, OPERATOR)
    first = credential.get_token_info(ARM_SCOPE)
    for key, info in list(credential._cache.items()):
        # Pretend the cached token expires in four minutes.
        credential._cache[key] = type(info)(info.token, int(time.time()) + 240)
    renewed = credential.get_token_info(ARM_SCOPE)
    assert renewed.token != first.token


def test_credential_repr_hides_token(sim: SimulatorEndpoint) -> None:
    credential = SimulatorCredential(sim, OPERATOR)
    token = credential.get_token(ARM_SCOPE).token
    text = repr(credential)
    assert token not in text
    assert sim.admin_key not in text
    assert OPERATOR in text


def test_credential_unknown_principal(sim: SimulatorEndpoint) -> None:
    credential = SimulatorCredential(sim, "eeeeeeee-0000-4000-8000-000000000099")
    with pytest.raises(HttpResponseError) as caught:
        credential.get_token(ARM_SCOPE)
    assert sim.admin_key not in str(caught.value)


def test_client_kwargs_configure_retries() -> None:
    settings = RetrySettings(total=5, backoff_factor=0.5, backoff_max=8)
    kwargs = client_kwargs(settings, "/ca.pem")
    assert kwargs["retry_total"] == 5
    assert kwargs["retry_backoff_factor"] == 0.5
    assert kwargs["retry_backoff_max"] == 8
    assert kwargs["retry_status"] == 3
    assert kwargs["connection_timeout"] == 10.0
    assert kwargs["read_timeout"] == 60.0
    assert kwargs["connection_verify"] == "/ca.pem"


def test_clients_use_retry_settings() -> None:
    settings = RetrySettings(total=7, status=2, backoff_factor=0.25, read_timeout=9)
    connection = connect(
        Profile(mode="azure", subscription_id=SUBSCRIPTION),
        credential=AzureCliCredential(),
        retry=settings,
    )
    pipelines = [
        connection.msi()._client._pipeline,
        connection.keyvault_mgmt()._client._pipeline,
        connection.authorization()._client._pipeline,
        connection.secret_client(
            "https://kv-demo.vault.azure.net"
        )._client._client._pipeline,
    ]
    for pipeline in pipelines:
        [retry] = [p for p in pipeline._impl_policies if isinstance(p, RetryPolicy)]
        assert retry.total_retries == 7
        assert retry.status_retries == 2
        assert retry.backoff_factor == 0.25
        assert pipeline._transport.connection_config.read_timeout == 9


# Builds each client from 8 threads at once, switching threads as often as
# possible, and prints how many distinct objects each getter returned.
_BUILD_RACE = """
import json, sys, threading
sys.setswitchinterval(1e-6)
from azure.identity import AzureCliCredential
from akv_helpers.connection import connect
from akv_helpers.profile import Profile

connection = connect(
    Profile(mode="azure", subscription_id="%s"), credential=AzureCliCredential()
)
getters = [connection.msi, connection.keyvault_mgmt, connection.authorization]
barrier = threading.Barrier(8 * len(getters), timeout=20)
built = {getter.__name__: [] for getter in getters}

def get(getter):
    barrier.wait()
    built[getter.__name__].append(getter())

workers = [threading.Thread(target=get, args=(g,)) for g in getters for _ in range(8)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join(30)
counts = {name: len({id(c) for c in clients}) for name, clients in built.items()}
print(json.dumps(counts))
"""


def test_clients_built_once_across_threads() -> None:
    # The doctor's checks call these from several threads at once. A new
    # process is used because the first build of each client imports its SDK
    # modules, which is the slow step where threads overlap.
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_RACE % SUBSCRIPTION],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "msi": 1,
        "keyvault_mgmt": 1,
        "authorization": 1,
    }


def test_connect_simulator(connection: Connection, sim: SimulatorEndpoint) -> None:
    assert connection.mode == "simulator"
    assert connection.arm_url == sim.arm_url
    assert connection.connection_verify == sim.ca_path
    assert connection.subscription_id == SUBSCRIPTION
    assert connection.credential_scopes == [ARM_SCOPE]
    assert connection.msi() is connection.msi()


def test_list_subscriptions_simulator(connection: Connection) -> None:
    [subscription] = list_subscriptions(connection)
    assert subscription.subscription_id == SUBSCRIPTION
    assert subscription.display_name == "Union demo subscription"


def test_describe_http_error_not_found(connection: Connection) -> None:
    client = connection.keyvault_mgmt()
    with pytest.raises(HttpResponseError) as caught:
        client.vaults.get("rg-union-dp", "kv-absent")
    error = describe_http_error(caught.value, "read the vault")
    assert isinstance(error, NotFoundError)
    assert error.status == 404
    assert error.code == "ResourceNotFound"
    assert "read the vault" in error.message


def test_describe_http_error_inner_code(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    vault = connection.keyvault_mgmt().vaults.get("rg-union-dp", "kv-demo")
    vault_uri = vault.properties.vault_uri
    assert vault_uri is not None
    reader = connection.secret_client(
        vault_uri, connection.identity_credential(IDENTITY_PRINCIPAL)
    )
    with pytest.raises(HttpResponseError) as caught:
        reader.get_secret("db-pass")
    error = describe_http_error(caught.value)
    assert isinstance(error, AccessDeniedError)
    assert error.status == 403
    assert error.code == "Forbidden"
    assert error.inner_code == "ForbiddenByRbac"
    assert "getSecret" in error.fix
    assert "\n" not in error.message


def test_identity_credential_azure_mode() -> None:
    connection = connect(
        Profile(mode="azure", subscription_id=SUBSCRIPTION),
        credential=AzureCliCredential(),
    )
    with pytest.raises(NotConfiguredError):
        connection.identity_credential(IDENTITY_PRINCIPAL)


@pytest.mark.parametrize(
    ("cloud", "arm_url", "scope"),
    [
        ("AzureCloud", "https://management.azure.com", ARM_SCOPE),
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
        ),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
        ),
    ],
)
def test_connect_azure_endpoints(cloud: str, arm_url: str, scope: str) -> None:
    connection = connect(
        Profile(mode="azure", cloud=cloud, subscription_id=SUBSCRIPTION),
        credential=AzureCliCredential(),
    )
    assert connection.arm_url == arm_url
    assert connection.credential_scopes == [scope]
    assert connection.connection_verify is True
    assert connection.simulator is None


def test_connect_azure_needs_subscription() -> None:
    with pytest.raises(NotConfiguredError) as caught:
        connect(Profile(mode="azure"), credential=AzureCliCredential())
    assert "subscription" in caught.value.message


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("cli", AzureCliCredential),
        ("device_code", DeviceCodeCredential),
        ("browser", InteractiveBrowserCredential),
        ("managed_identity", ManagedIdentityCredential),
        ("default", DefaultAzureCredential),
    ],
)
def test_sign_in_methods(method: str, expected: type) -> None:
    credential = sign_in("azure", method, tenant_id=TENANT)  # type: ignore[arg-type]
    assert isinstance(credential, expected)


def test_sign_in_device_code_prompt() -> None:
    shown: list[str] = []
    credential = sign_in(
        "azure", "device_code", prompt_callback=lambda url, code, _: shown.append(code)
    )
    assert isinstance(credential, DeviceCodeCredential)
    assert credential._prompt_callback is not None


def test_sign_in_unknown_method() -> None:
    with pytest.raises(InvalidInputError) as caught:
        sign_in("azure", "password")  # type: ignore[arg-type]
    assert "password" in caught.value.message


def test_sign_in_simulator(sim: SimulatorEndpoint) -> None:
    credential = sign_in("simulator")
    assert isinstance(credential, SimulatorCredential)
    assert credential.principal_id == OPERATOR
    assert os.environ["AKV_ONBOARD_HOME"]
