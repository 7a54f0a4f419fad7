"""Connections to Azure or to the kit's simulator, and the SDK clients built on them.

`connect` returns a `Connection` whose client factories build the same Azure SDK
clients in both modes. In simulator mode the clients point at the simulator's
HTTPS endpoint and trust its CA; in Azure mode they use the cloud's real endpoints
and an azure-identity credential from `sign_in`. Retries are azure-core's own retry
policy, configured once in `client_kwargs`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from azure.core import AzureClouds
from azure.core.credentials import TokenCredential
from azure.keyvault.secrets import SecretClient
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.core.tools import get_arm_endpoints
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient

from akv_helpers.clouds import CLOUDS, Cloud, get_cloud
from akv_helpers.credentials import DeviceCodePrompt, SignInMethod, sign_in
from akv_helpers.errors import NotConfiguredError
from akv_helpers.http_errors import azure_errors, describe_http_error, error_codes
from akv_helpers.profile import Profile, load_profile
from akv_helpers.retry_policies import KitRetryPolicy, PrincipalNotFoundRetryPolicy
from akv_helpers.simulator_client import (
    TOKEN_REFRESH_MARGIN_SECONDS,
    SimulatorCredential,
    SimulatorEndpoint,
    ensure_simulator,
    stop_simulator,
)
from akv_helpers.steps import step_place

__all__ = [
    "ARM_SCOPE",
    "TOKEN_REFRESH_MARGIN_SECONDS",
    "Connection",
    "DeviceCodePrompt",
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

ARM_SCOPE = "https://management.azure.com/.default"

# api-versions the pinned SDKs send; pinned so that a newer SDK default does not
# silently change the wire format.
MSI_API_VERSION = "2024-11-30"
AUTHORIZATION_API_VERSION = "2022-04-01"

_AZURE_CLOUD_SETTINGS: dict[str, AzureClouds] = {
    "AzureCloud": AzureClouds.AZURE_PUBLIC_CLOUD,
    "AzureChinaCloud": AzureClouds.AZURE_CHINA_CLOUD,
    "AzureUSGovernment": AzureClouds.AZURE_US_GOVERNMENT,
}


_Client = TypeVar("_Client")


@dataclass(frozen=True)
class RetrySettings:
    """Settings of azure-core's retry policy and transport timeouts.

    Attributes
    ----------
    total
        Maximum number of retries of one request.
    status
        Maximum number of retries on a retryable status (408, 429, 500, 502, 503,
        504). Other statuses, such as 400, 403, 404 or 409, are never retried.
    read
        Maximum number of retries after a connection reset or read timeout.
    connect
        Maximum number of retries when no connection could be made.
    retry_after_max
        Longest ``Retry-After`` wait honoured, in seconds; a response asking for
        a longer wait ends the retries.
    expired_token
        Retries of an ARM request answered ``401 ExpiredAuthenticationToken``,
        each with a token requested again from the credential.
    backoff_factor
        Factor of the exponential backoff between retries, in seconds.
    backoff_max
        Maximum wait between two retries, in seconds.
    connection_timeout
        Time allowed to open a connection, in seconds.
    read_timeout
        Time allowed between two bytes of a response, in seconds.
    principal_not_found
        Maximum number of retries of a role-assignment PUT answered
        ``PrincipalNotFound``, for a request that opts in (a young identity).
    principal_not_found_backoff
        Backoff factor of those retries, in seconds.
    """

    total: int = 3
    status: int = 3
    read: int = 3
    connect: int = 3
    backoff_factor: float = 0.8
    backoff_max: float = 30.0
    connection_timeout: float = 10.0
    read_timeout: float = 60.0
    principal_not_found: int = 3
    principal_not_found_backoff: float = 2.0
    retry_after_max: float = 60.0
    expired_token: int = 1


def retry_settings(retry: RetrySettings) -> dict[str, Any]:
    """Return azure-core's ``retry_*`` keyword arguments for `retry`."""
    return {
        "retry_total": retry.total,
        "retry_status": retry.status,
        "retry_read": retry.read,
        "retry_connect": retry.connect,
        "retry_backoff_factor": retry.backoff_factor,
        "retry_backoff_max": retry.backoff_max,
    }


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
        Keyword arguments for the requests transport, and the kit's retry
        policy (`akv_helpers.retry_policies.KitRetryPolicy`) built from
        azure-core's ``retry_*`` settings, which the dict also contains.
    """
    settings = retry_settings(retry)
    policy = KitRetryPolicy(
        retry_after_max=retry.retry_after_max,
        expired_token_retries=retry.expired_token,
        **settings,
    )
    return {
        **settings,
        "retry_policy": policy,
        "connection_timeout": retry.connection_timeout,
        "read_timeout": retry.read_timeout,
        "connection_verify": connection_verify,
    }


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
    # The doctor's checks share one connection across threads, and each client
    # is built once.
    _clients_lock: threading.Lock = field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def _client(self, name: str, build: Callable[[], _Client]) -> _Client:
        """Return the client `name`, building it with `build` the first time."""
        with self._clients_lock:
            if name not in self._clients:
                self._clients[name] = build()
            return cast(_Client, self._clients[name])

    def _management_kwargs(self) -> dict[str, Any]:
        kwargs = client_kwargs(self.retry, self.connection_verify)
        kwargs["credential_scopes"] = list(self.credential_scopes)
        if self.mode == "simulator":
            # Loopback traffic must not go through a proxy from the environment.
            kwargs["use_env_settings"] = False
        return kwargs

    def msi(self) -> ManagedServiceIdentityClient:
        """Return the managed identity client (api-version 2024-11-30)."""
        return self._client(
            "msi",
            lambda: ManagedServiceIdentityClient(
                self.credential,
                self.subscription_id,
                api_version=MSI_API_VERSION,
                base_url=self.arm_url,
                **self._management_kwargs(),
            ),
        )

    def keyvault_mgmt(self) -> KeyVaultManagementClient:
        """Return the Key Vault management client."""

        def build() -> KeyVaultManagementClient:
            kwargs = self._management_kwargs()
            if self.mode == "azure":
                kwargs["cloud_setting"] = _AZURE_CLOUD_SETTINGS[self.cloud.name]
            return KeyVaultManagementClient(
                self.credential, self.subscription_id, base_url=self.arm_url, **kwargs
            )

        return self._client("keyvault", build)

    def authorization(self) -> AuthorizationManagementClient:
        """Return the authorization client (api-version 2022-04-01).

        Its retry policy also retries a role-assignment PUT answered
        ``PrincipalNotFound`` when the request opts in; see
        `akv_helpers.retry_policies`.
        """

        def build() -> AuthorizationManagementClient:
            kwargs = self._management_kwargs()
            kwargs["retry_policy"] = PrincipalNotFoundRetryPolicy(
                principal_not_found_retries=self.retry.principal_not_found,
                principal_not_found_backoff=self.retry.principal_not_found_backoff,
                retry_after_max=self.retry.retry_after_max,
                expired_token_retries=self.retry.expired_token,
                **retry_settings(self.retry),
            )
            return AuthorizationManagementClient(
                self.credential,
                self.subscription_id,
                api_version=AUTHORIZATION_API_VERSION,
                base_url=self.arm_url,
                **kwargs,
            )

        return self._client("authorization", build)

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
            "Set it with `akv-onboard profile set --subscription <id>` or in "
            f"{step_place('start')}.",
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
