"""Connections to Azure or to the kit's simulator, and the SDK clients built on them.

`connect` returns a `Connection` whose client factories build the same Azure SDK
clients in both modes. In simulator mode the clients point at the simulator's
HTTPS endpoint and trust its CA; in Azure mode they use the cloud's real endpoints
and an azure-identity credential from `sign_in`. Retries are azure-core's own retry
policy, configured once in `client_kwargs`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import ssl
import subprocess  # noqa: S404  # the simulator runs as a child process
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from azure.core import AzureClouds
from azure.core.credentials import (
    AccessToken,
    AccessTokenInfo,
    TokenCredential,
    TokenRequestOptions,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.keyvault.secrets import SecretClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.core.tools import get_arm_endpoints
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient

from akv_helpers.clouds import CLOUDS, Cloud, get_cloud
from akv_helpers.errors import (
    AuthenticationError,
    AzureRequestError,
    NotConfiguredError,
    SimulatorError,
    azure_error_class,
    displayable,
)
from akv_helpers.profile import Profile, kit_home, load_profile

__all__ = [
    "ARM_SCOPE",
    "Connection",
    "RetrySettings",
    "SignInMethod",
    "SimulatorCredential",
    "SimulatorEndpoint",
    "SubscriptionInfo",
    "azure_errors",
    "client_kwargs",
    "connect",
    "describe_http_error",
    "ensure_simulator",
    "error_codes",
    "list_subscriptions",
    "sign_in",
    "stop_simulator",
]

logger = logging.getLogger(__name__)

ARM_SCOPE = "https://management.azure.com/.default"

# api-versions the pinned SDKs send; pinned so that a newer SDK default does not
# silently change the wire format.
MSI_API_VERSION = "2024-11-30"
AUTHORIZATION_API_VERSION = "2022-04-01"

# A cached token is renewed this many seconds before it expires.
TOKEN_REFRESH_MARGIN_SECONDS = 300

SignInMethod = Literal["cli", "device_code", "browser", "default", "managed_identity"]
DeviceCodePrompt = Callable[[str, str, datetime], None]

_AZURE_CLOUD_SETTINGS: dict[str, AzureClouds] = {
    "AzureCloud": AzureClouds.AZURE_PUBLIC_CLOUD,
    "AzureChinaCloud": AzureClouds.AZURE_CHINA_CLOUD,
    "AzureUSGovernment": AzureClouds.AZURE_US_GOVERNMENT,
}

# Popen objects of simulators this process started, by pid, so that
# `stop_simulator` can reap them.
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class RetrySettings:
    """Settings of azure-core's retry policy and transport timeouts.

    Attributes
    ----------
    total
        Maximum number of retries of one request.
    status
        Maximum number of retries on a retryable status (408, 429, 500, 502, 503,
        504).
    backoff_factor
        Factor of the exponential backoff between retries, in seconds.
    backoff_max
        Maximum wait between two retries, in seconds.
    connection_timeout
        Time allowed to open a connection, in seconds.
    read_timeout
        Time allowed between two bytes of a response, in seconds.
    """

    total: int = 3
    status: int = 3
    backoff_factor: float = 0.8
    backoff_max: float = 30.0
    connection_timeout: float = 10.0
    read_timeout: float = 60.0


def client_kwargs(
    retry: RetrySettings, connection_verify: str | bool = True
) -> dict[str, Any]:
    """Build the keyword arguments that every SDK client of the kit receives.

    Parameters
    ----------
    retry
        Retry and timeout settings.
    connection_verify
        Path of a CA bundle to trust, or ``True`` for the system's trust store.

    Returns
    -------
    dict[str, Any]
        Keyword arguments for azure-core's retry policy and requests transport.
    """
    return {
        "retry_total": retry.total,
        "retry_status": retry.status,
        "retry_backoff_factor": retry.backoff_factor,
        "retry_backoff_max": retry.backoff_max,
        "connection_timeout": retry.connection_timeout,
        "read_timeout": retry.read_timeout,
        "connection_verify": connection_verify,
    }


# ---------------------------------------------------------------------------
# Errors from the SDK


def error_codes(exc: HttpResponseError) -> tuple[str | None, str | None]:
    """Return the Azure error code and the Key Vault inner error code of `exc`.

    Parameters
    ----------
    exc
        Error raised by an Azure SDK client.

    Returns
    -------
    tuple[str | None, str | None]
        ``error.code`` and ``error.innererror.code`` of the response body; either
        is ``None`` when absent.
    """
    code = exc.error.code if exc.error is not None else None
    inner_code: str | None = None
    body = _response_json(exc)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        if code is None and isinstance(error.get("code"), str):
            code = error["code"]
        inner = error.get("innererror")
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            inner_code = inner["code"]
    return code, inner_code


def _response_json(exc: HttpResponseError) -> object:
    if exc.response is None:
        return None
    try:
        return json.loads(exc.response.text())
    except (ValueError, TypeError):
        return None


def _error_message(exc: HttpResponseError) -> str:
    if exc.error is not None and exc.error.message:
        text = str(exc.error.message)
    else:
        text = str(exc.reason or "no error message")
    # Key Vault's 403 message spans several lines; keep it on one.
    return " ".join(text.split())


_FIX_BY_CODE = {
    "AuthorizationFailed": (
        "Ask an administrator for a role that allows the action on this scope, "
        "then sign in again."
    ),
    "InvalidAuthenticationToken": "Sign in again.",
    "ExpiredAuthenticationToken": "Sign in again: the access token expired.",
    "AuthenticationFailed": "Sign in again, to the tenant that owns the subscription.",
    "ResourceGroupNotFound": "Check the resource group name and the subscription.",
    "ResourceNotFound": "Check the name and the subscription.",
    "SubscriptionNotFound": (
        "Check the subscription ID and the tenant you signed in to."
    ),
    "InvalidApiVersionParameter": "Use the SDK versions pinned in requirements.txt.",
    "ForbiddenByRbac": (
        "Grant a role that includes "
        "Microsoft.KeyVault/vaults/secrets/getSecret/action on the secret, or wait "
        "for a recent grant to take effect."
    ),
    "AccessDenied": (
        "Add an access policy with secret get, or switch the vault to Azure RBAC."
    ),
    "ForbiddenByFirewall": "Allow the caller's network in the vault's firewall.",
    "ForbiddenByConnection": "Reach the vault through its private endpoint.",
    "SecretDisabled": "Enable the secret in the vault.",
    "SecretNotFound": "Check the secret name in the secret identifier.",
}


def describe_http_error(
    exc: HttpResponseError, action: str | None = None
) -> AzureRequestError:
    """Convert an SDK error into the kit's `AzureRequestError` subclass.

    The error is classified by its status, ``error.code`` and, for Key Vault, the
    inner error code of the JSON body. Raise the result with ``from exc``.

    Parameters
    ----------
    exc
        Error raised by an Azure SDK client.
    action
        What the kit was doing, such as ``"list the vaults"``.

    Returns
    -------
    AzureRequestError
        The error to raise, with `status`, `code`, `inner_code` and `request_id`.
    """
    status = exc.status_code
    code, inner_code = error_codes(exc)
    request_id = None
    if exc.response is not None:
        headers = getattr(exc.response, "headers", None) or {}
        request_id = headers.get("x-ms-request-id")
    if status is None and isinstance(exc, ClientAuthenticationError):
        error_class: type[AzureRequestError] = AuthenticationError
    else:
        error_class = azure_error_class(status)

    what = f"Azure rejected the request to {action}" if action else "Azure rejected"
    label = " ".join(str(part) for part in (status, code, inner_code) if part)
    message = f"{what} ({label or 'no status'}): {displayable(_error_message(exc))}"
    fix = _FIX_BY_CODE.get(inner_code or "", "") or _FIX_BY_CODE.get(code or "", "")
    return error_class(
        message,
        fix,
        status=status,
        code=code,
        inner_code=inner_code,
        request_id=request_id,
    )


@contextlib.contextmanager
def azure_errors(action: str) -> Iterator[None]:
    """Convert SDK errors raised in the block into the kit's errors.

    Parameters
    ----------
    action
        What the block does, such as ``"list the vaults"``; quoted in messages.

    Raises
    ------
    AzureRequestError
        For an error response, or when no response arrived.
    """
    try:
        yield
    except HttpResponseError as exc:
        raise describe_http_error(exc, action) from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise AzureRequestError(
            f"Could not {action}: no response from Azure "
            f"({type(exc).__name__}: {displayable(str(exc))}).",
            "Check the network connection; in simulator mode check that the "
            "simulator is running (`akv-onboard simulator status`).",
        ) from exc


# ---------------------------------------------------------------------------
# Simulator


@dataclass(frozen=True)
class SimulatorEndpoint:
    """A running simulator, as its discovery file describes it.

    Attributes
    ----------
    arm_url
        Base URL of the simulator's Azure Resource Manager endpoint.
    ca_path
        Path of the CA certificate that signed the simulator's server certificate.
    admin_key
        Key for the ``/_simulator/`` admin API; never shown by `repr`.
    tenant_id, subscription_id, operator_principal_id
        IDs of the seeded demo tenant.
    pid
        Process ID of the simulator.
    """

    arm_url: str
    ca_path: str
    admin_key: str = field(repr=False)
    tenant_id: str
    subscription_id: str
    operator_principal_id: str
    pid: int

    @classmethod
    def from_discovery(cls, data: dict[str, Any]) -> SimulatorEndpoint:
        """Build the endpoint from the parsed discovery file.

        Raises
        ------
        SimulatorError
            If a field is missing or has the wrong type.
        """
        try:
            return cls(
                arm_url=str(data["arm_url"]).rstrip("/"),
                ca_path=str(data["ca_path"]),
                admin_key=str(data["admin_key"]),
                tenant_id=str(data["tenant_id"]),
                subscription_id=str(data["subscription_id"]),
                operator_principal_id=str(data["operator_principal_id"]),
                pid=int(data["pid"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SimulatorError(
                f"The simulator's discovery file lacks the field {exc}.",
                "Stop the simulator and start it again.",
            ) from None

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_path)

    def admin(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Call the simulator's admin API and return the parsed JSON response.

        Parameters
        ----------
        method
            HTTP method, such as ``"GET"``.
        path
            Path under the ARM URL, such as ``"/_simulator/state"``.
        body
            JSON body to send, or ``None``.
        timeout
            Seconds to wait for the response.

        Raises
        ------
        SimulatorError
            If the simulator cannot be reached or returns an error status.
        """
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310  # https URL from discovery
            self.arm_url + path, data=data, method=method
        )
        request.add_header("X-Simulator-Key", self.admin_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        # The simulator is on loopback, so no proxy from the environment applies.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self._ssl_context()),
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                detail = _admin_error_detail(exc.read())
            raise SimulatorError(
                f"The simulator returned {exc.code} to {method} {path}{detail}.",
                f"See the simulator's log next to {self.ca_path}.",
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            raise SimulatorError(
                f"Could not reach the simulator at {self.arm_url}: {exc}.",
                "Start it with `akv-onboard simulator start`.",
            ) from None
        if not raw:
            return {}
        parsed = json.loads(raw)
        return cast(dict[str, Any], parsed) if isinstance(parsed, dict) else {}

    def health(self, timeout: float = 2.0) -> dict[str, Any]:
        """Return the simulator's health response, ``{"status": "ok", "pid": N}``."""
        return self.admin("GET", "/_simulator/health", timeout=timeout)

    def requests(self) -> list[dict[str, Any]]:
        """Return the request log: one dict per request the simulator served."""
        return list(self.admin("GET", "/_simulator/requests").get("value", []))

    def clear_requests(self) -> None:
        """Clear the request log."""
        self.admin("DELETE", "/_simulator/requests")

    def reset(self) -> None:
        """Reseed the demo tenant and remove the role assignments the kit made."""
        self.admin("POST", "/_simulator/reset", {})

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change simulator settings, such as ``propagation_seconds``."""
        return self.admin("POST", "/_simulator/config", settings)

    def apply_scenario(self, name: str) -> None:
        """Apply a named failure case, such as ``"secret-disabled"``.

        `reset` brings back the seeded world.
        """
        self.admin("POST", "/_simulator/scenario", {"name": name})

    def state(self) -> dict[str, Any]:
        """Return the simulated world without secret values."""
        return self.admin("GET", "/_simulator/state")

    def principals(self) -> list[dict[str, Any]]:
        """Return the principals in the simulated directory."""
        return list(self.admin("GET", "/_simulator/principals").get("value", []))


def _admin_error_detail(raw: bytes) -> str:
    try:
        error = json.loads(raw).get("error", {})
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict) or not error.get("code"):
        return ""
    return f" ({error['code']}: {displayable(str(error.get('message', '')))})"


class SimulatorCredential:
    """Token credential that requests tokens of one principal from the simulator.

    Tokens come from ``POST /_simulator/token`` over HTTPS and are cached per
    scope until `TOKEN_REFRESH_MARGIN_SECONDS` before they expire.

    Parameters
    ----------
    endpoint
        The running simulator.
    principal_id
        Object ID of the principal the tokens name.
    tenant_id
        Tenant of the tokens; defaults to the simulator's tenant.
    """

    def __init__(
        self,
        endpoint: SimulatorEndpoint,
        principal_id: str,
        tenant_id: str | None = None,
    ) -> None:
        self._endpoint = endpoint
        self.principal_id = principal_id
        self.tenant_id = tenant_id or endpoint.tenant_id
        self._cache: dict[tuple[str, str], AccessTokenInfo] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimulatorCredential(principal_id={self.principal_id!r})"

    def __enter__(self) -> SimulatorCredential:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget the cached tokens."""
        with self._lock:
            self._cache.clear()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """Return a token for the first of `scopes`."""
        options: TokenRequestOptions = {}
        if tenant_id:
            options["tenant_id"] = tenant_id
        info = self.get_token_info(*scopes, options=options)
        return AccessToken(info.token, info.expires_on)

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        """Return a token with its expiry for the first of `scopes`.

        Raises
        ------
        ClientAuthenticationError
            If no scope is given or the simulator rejects the request.
        """
        if not scopes:
            raise ClientAuthenticationError("A token request needs a scope.")
        tenant = (options or {}).get("tenant_id") or self.tenant_id
        key = (scopes[0], tenant)
        with self._lock:
            cached = self._cache.get(key)
            if (
                cached
                and cached.expires_on - TOKEN_REFRESH_MARGIN_SECONDS > time.time()
            ):
                return cached
            info = self._request_token(scopes[0], tenant)
            self._cache[key] = info
            return info

    def _request_token(self, scope: str, tenant: str) -> AccessTokenInfo:
        body = {"principal_id": self.principal_id, "scope": scope, "tenant_id": tenant}
        try:
            response = self._endpoint.admin("POST", "/_simulator/token", body)
        except SimulatorError as exc:
            message = (
                f"The simulator issued no token for principal {self.principal_id} "
                f"and scope {scope}: {exc.message}"
            )
            raise ClientAuthenticationError(message) from None
        expires_on = int(response["expires_on"])
        refresh_on = expires_on - TOKEN_REFRESH_MARGIN_SECONDS
        return AccessTokenInfo(
            str(response["access_token"]), expires_on, refresh_on=refresh_on
        )


def _simulator_dir(home: Path) -> Path:
    return home / "simulator"


def _read_discovery(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pid_alive(pid: int) -> bool:
    if pid in _STARTED:
        return _STARTED[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A process that exited but was not reaped by its parent (another process
    # started it) still accepts signal 0; Linux shows it as state "Z".
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()
    return bool(fields) and fields[0] == "Z"


def _attach(discovery: Path) -> SimulatorEndpoint | None:
    data = _read_discovery(discovery)
    if data is None:
        return None
    try:
        endpoint = SimulatorEndpoint.from_discovery(data)
    except SimulatorError:
        return None
    if not _pid_alive(endpoint.pid):
        return None
    try:
        response = endpoint.health()
    except SimulatorError:
        return None
    if (
        response.get("status") != "ok"
        or response.get("pid", endpoint.pid) != endpoint.pid
    ):
        return None
    return endpoint


def _start_process(home: Path, log_path: Path) -> subprocess.Popen[bytes]:
    # The child imports this very copy of the package, installed or not.
    package_parent = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_parent, env.get("PYTHONPATH", "")) if part
    )
    command = [sys.executable, "-m", "akv_helpers.simulator", "--home", str(home)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603  # fixed command, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _STARTED[process.pid] = process
    return process


def ensure_simulator(
    home: Path | None = None, *, timeout: float = 30
) -> SimulatorEndpoint:
    """Attach to the running simulator, or start one in the background.

    The kit attaches when the discovery file's process is alive and
    ``/_simulator/health`` responds. Otherwise it starts
    ``python -m akv_helpers.simulator --home <home>`` in a new session, with its
    output in ``<home>/simulator/simulator.log``, and waits for it to be ready.

    Parameters
    ----------
    home
        Kit home; defaults to `akv_helpers.profile.kit_home`.
    timeout
        Seconds to wait for a started simulator to become ready.

    Returns
    -------
    SimulatorEndpoint
        The running simulator.

    Raises
    ------
    SimulatorError
        If the simulator exits early or is not ready within `timeout`; the message
        names the log file.
    """
    home = home or kit_home()
    directory = _simulator_dir(home)
    discovery = directory / "simulator.json"
    endpoint = _attach(discovery)
    if endpoint is not None:
        logger.debug("Attached to the simulator with pid %d", endpoint.pid)
        return endpoint

    log_path = directory / "simulator.log"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        process = _start_process(home, log_path)
    except OSError as exc:
        raise SimulatorError(
            f"Could not start the simulator in {directory}: {exc.strerror or exc}.",
            "Check that the kit home (AKV_ONBOARD_HOME) is a writable folder.",
        ) from exc
    logger.info("Started the simulator with pid %d, log %s", process.pid, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = process.poll()
        if status is not None:
            raise SimulatorError(
                f"The simulator exited with status {status} before it was ready.",
                f"See its log at {log_path}.",
            )
        data = _read_discovery(discovery)
        if data is not None and data.get("pid") == process.pid:
            endpoint = _attach(discovery)
            if endpoint is not None:
                return endpoint
        time.sleep(0.05)

    _terminate(process.pid)
    raise SimulatorError(
        f"The simulator was not ready within {timeout:g} seconds.",
        f"See its log at {log_path}.",
    )


def _terminate(pid: int, wait: float = 10.0) -> bool:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    process = _STARTED.pop(pid, None)
    if process is not None:
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=wait)
        return True
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop_simulator(home: Path | None = None) -> bool:
    """Stop the simulator that the discovery file names.

    The process is signalled only after its health response confirms that it is
    the simulator, so that a reused process ID is never signalled.

    Parameters
    ----------
    home
        Kit home; defaults to `akv_helpers.profile.kit_home`.

    Returns
    -------
    bool
        ``True`` if a simulator was running and has stopped.
    """
    home = home or kit_home()
    endpoint = _attach(_simulator_dir(home) / "simulator.json")
    if endpoint is None:
        return False
    stopped = _terminate(endpoint.pid)
    if stopped:
        logger.info("Stopped the simulator with pid %d", endpoint.pid)
    return stopped


# ---------------------------------------------------------------------------
# Connections


@dataclass
class Connection:
    """Signed-in access to one subscription, with factories for the SDK clients.

    Attributes
    ----------
    mode
        ``"simulator"`` or ``"azure"``.
    cloud
        Azure cloud of the endpoints.
    tenant_id, subscription_id
        Tenant and subscription the clients act in.
    credential
        Credential of the signed-in operator.
    arm_url
        Azure Resource Manager endpoint.
    connection_verify
        CA bundle path (simulator) or ``True`` (the system's trust store).
    credential_scopes
        Token scopes of the management clients.
    retry
        Retry and timeout settings of every client.
    simulator
        The running simulator, in simulator mode.
    """

    mode: Literal["simulator", "azure"]
    cloud: Cloud
    tenant_id: str | None
    subscription_id: str
    credential: TokenCredential
    arm_url: str
    connection_verify: str | bool
    credential_scopes: list[str] = field(default_factory=lambda: [ARM_SCOPE])
    retry: RetrySettings = field(default_factory=RetrySettings)
    simulator: SimulatorEndpoint | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def _management_kwargs(self) -> dict[str, Any]:
        kwargs = client_kwargs(self.retry, self.connection_verify)
        kwargs["credential_scopes"] = list(self.credential_scopes)
        if self.mode == "simulator":
            # Loopback traffic must not go through a proxy from the environment.
            kwargs["use_env_settings"] = False
        return kwargs

    def msi(self) -> ManagedServiceIdentityClient:
        """Return the managed identity client (api-version 2024-11-30)."""
        if "msi" not in self._clients:
            self._clients["msi"] = ManagedServiceIdentityClient(
                self.credential,
                self.subscription_id,
                api_version=MSI_API_VERSION,
                base_url=self.arm_url,
                **self._management_kwargs(),
            )
        return cast(ManagedServiceIdentityClient, self._clients["msi"])

    def keyvault_mgmt(self) -> KeyVaultManagementClient:
        """Return the Key Vault management client."""
        if "keyvault" not in self._clients:
            kwargs = self._management_kwargs()
            if self.mode == "azure":
                kwargs["cloud_setting"] = _AZURE_CLOUD_SETTINGS[self.cloud.name]
            self._clients["keyvault"] = KeyVaultManagementClient(
                self.credential, self.subscription_id, base_url=self.arm_url, **kwargs
            )
        return cast(KeyVaultManagementClient, self._clients["keyvault"])

    def authorization(self) -> AuthorizationManagementClient:
        """Return the authorization client (api-version 2022-04-01)."""
        if "authorization" not in self._clients:
            self._clients["authorization"] = AuthorizationManagementClient(
                self.credential,
                self.subscription_id,
                api_version=AUTHORIZATION_API_VERSION,
                base_url=self.arm_url,
                **self._management_kwargs(),
            )
        return cast(AuthorizationManagementClient, self._clients["authorization"])

    def secret_client(
        self, vault_url: str, credential: TokenCredential | None = None
    ) -> SecretClient:
        """Return a Key Vault data-plane client for `vault_url`.

        Parameters
        ----------
        vault_url
            Vault URI, such as ``https://kv-demo.vault.azure.net/``.
        credential
            Credential to read with; defaults to the operator's.
        """
        kwargs = client_kwargs(self.retry, self.connection_verify)
        if self.mode == "simulator":
            # The simulator's challenge names https://vault.azure.net while the
            # vault is on 127.0.0.1, so the client must not compare the two.
            kwargs["verify_challenge_resource"] = False
            kwargs["use_env_settings"] = False
        return SecretClient(vault_url, credential or self.credential, **kwargs)

    def identity_credential(self, principal_id: str) -> TokenCredential:
        """Return a credential that acts as the identity `principal_id`.

        Raises
        ------
        NotConfiguredError
            In Azure mode, where the kit cannot act as the workload identity.
        """
        if self.simulator is None:
            raise NotConfiguredError(
                "In Azure mode the kit cannot sign in as the data-plane identity.",
                "Run the test task on the Union cluster to read as that identity.",
            )
        return SimulatorCredential(self.simulator, principal_id, self.tenant_id)


def sign_in(
    mode: Literal["simulator", "azure"] = "azure",
    method: SignInMethod = "cli",
    tenant_id: str | None = None,
    prompt_callback: DeviceCodePrompt | None = None,
    *,
    cloud: str = "AzureCloud",
    home: Path | None = None,
) -> TokenCredential:
    """Build the credential of the signed-in operator.

    Parameters
    ----------
    mode
        ``"simulator"`` returns a `SimulatorCredential` for the seeded operator.
    method
        Azure mode only: ``"cli"`` (the Azure CLI's sign-in), ``"device_code"``,
        ``"browser"``, ``"managed_identity"`` or ``"default"``
        (``DefaultAzureCredential``).
    tenant_id
        Tenant to sign in to; ``None`` leaves the choice to the method.
    prompt_callback
        For ``"device_code"``: called with the verification URL, the user code
        and its expiry, so a notebook can show them. ``None`` prints them.
    cloud
        Azure cloud name, which sets the sign-in authority.
    home
        Kit home of the simulator, in simulator mode.

    Raises
    ------
    InvalidInputError
        If `method` or `cloud` is unknown.
    """
    if mode == "simulator":
        endpoint = ensure_simulator(home)
        return SimulatorCredential(endpoint, endpoint.operator_principal_id, tenant_id)
    return _azure_credential(method, tenant_id, prompt_callback, get_cloud(cloud))


def _azure_credential(
    method: SignInMethod,
    tenant_id: str | None,
    prompt_callback: DeviceCodePrompt | None,
    cloud: Cloud,
) -> TokenCredential:
    import azure.identity as identity

    from akv_helpers.errors import InvalidInputError

    authority = cloud.authority_host
    if method == "cli":
        return identity.AzureCliCredential(tenant_id=tenant_id or "")
    if method == "device_code":
        kwargs: dict[str, Any] = {"authority": authority}
        if tenant_id:
            kwargs["tenant_id"] = tenant_id
        if prompt_callback is not None:
            kwargs["prompt_callback"] = prompt_callback
        return identity.DeviceCodeCredential(**kwargs)
    if method == "browser":
        if tenant_id:
            return identity.InteractiveBrowserCredential(
                authority=authority, tenant_id=tenant_id
            )
        return identity.InteractiveBrowserCredential(authority=authority)
    if method == "managed_identity":
        return identity.ManagedIdentityCredential()
    if method == "default":
        tenants: dict[str, Any] = {}
        if tenant_id:
            tenants = {
                "interactive_browser_tenant_id": tenant_id,
                "shared_cache_tenant_id": tenant_id,
                "visual_studio_code_tenant_id": tenant_id,
                "workload_identity_tenant_id": tenant_id,
                "broker_tenant_id": tenant_id,
            }
        return identity.DefaultAzureCredential(authority=authority, **tenants)
    choices = "cli, device_code, browser, managed_identity, default"
    raise InvalidInputError(
        f"Unknown sign-in method {method!r}.",
        f"Use one of {choices}.",
        value=str(method),
        expected=choices,
    )


def connect(
    profile: Profile | None = None,
    *,
    mode: Literal["simulator", "azure"] | None = None,
    credential: TokenCredential | None = None,
    subscription_id: str | None = None,
    tenant_id: str | None = None,
    home: Path | None = None,
    retry: RetrySettings | None = None,
) -> Connection:
    """Connect to the simulator or to Azure, in the mode `mode` or the profile sets.

    Parameters
    ----------
    profile
        Session profile; defaults to `akv_helpers.profile.load_profile`.
    mode
        Overrides the profile's mode.
    credential
        Credential to use; by default the simulator's operator, or in Azure mode
        ``DefaultAzureCredential``.
    subscription_id, tenant_id
        Override the profile's values.
    home
        Kit home of the simulator, in simulator mode.
    retry
        Retry and timeout settings; defaults to `RetrySettings`.

    Raises
    ------
    NotConfiguredError
        In Azure mode, if no subscription ID is known.
    SimulatorError
        In simulator mode, if the simulator cannot be started.
    """
    profile = profile or load_profile()
    mode = mode or profile.mode
    retry = retry or RetrySettings()
    if mode == "simulator":
        endpoint = ensure_simulator(home)
        tenant = tenant_id or endpoint.tenant_id
        return Connection(
            mode="simulator",
            cloud=CLOUDS["AzureCloud"],
            tenant_id=tenant,
            subscription_id=subscription_id
            or profile.subscription_id
            or endpoint.subscription_id,
            credential=credential
            or SimulatorCredential(endpoint, endpoint.operator_principal_id, tenant),
            arm_url=endpoint.arm_url,
            connection_verify=endpoint.ca_path,
            retry=retry,
            simulator=endpoint,
        )
    return _connect_azure(profile, credential, subscription_id, tenant_id, retry)


def _connect_azure(
    profile: Profile,
    credential: TokenCredential | None,
    subscription_id: str | None,
    tenant_id: str | None,
    retry: RetrySettings,
) -> Connection:
    # NOTE: no Azure-mode path has run against real Azure. This covers this
    # function, sign_in's azure-identity credentials and the clients at real
    # endpoints, which the tests build without sending a request.
    cloud = get_cloud(profile.cloud)
    subscription = subscription_id or profile.subscription_id
    if not subscription:
        raise NotConfiguredError(
            "Azure mode needs a subscription ID, and the profile has none.",
            "Set it with `akv-onboard profile set --subscription-id <id>` or in the "
            "start notebook.",
        )
    tenant = tenant_id or profile.tenant_id
    endpoints = get_arm_endpoints(_AZURE_CLOUD_SETTINGS[cloud.name])
    return Connection(
        mode="azure",
        cloud=cloud,
        tenant_id=tenant,
        subscription_id=subscription,
        credential=credential or sign_in("azure", "default", tenant, cloud=cloud.name),
        arm_url=str(endpoints["resource_manager"]).rstrip("/"),
        connection_verify=True,
        credential_scopes=list(endpoints["credential_scopes"]),
        retry=retry,
    )


@dataclass(frozen=True)
class SubscriptionInfo:
    """A subscription the operator can use.

    Attributes
    ----------
    subscription_id
        Subscription ID.
    display_name
        Name shown in the portal, or ``None`` when unknown.
    """

    subscription_id: str
    display_name: str | None = None


def list_subscriptions(connection: Connection) -> list[SubscriptionInfo]:
    """List the subscriptions the operator can use.

    In simulator mode this is the seeded subscription. In Azure mode the kit does
    not call the subscriptions API (azure-mgmt-resource is not a dependency), so
    it returns the connection's own subscription.

    Parameters
    ----------
    connection
        The connection.
    """
    if connection.simulator is None:
        return [SubscriptionInfo(connection.subscription_id)]
    subscription = connection.simulator.subscription_id
    seeded = connection.simulator.state().get("subscription")
    name = seeded.get("display_name") if isinstance(seeded, dict) else None
    return [SubscriptionInfo(subscription, str(name) if name else None)]
