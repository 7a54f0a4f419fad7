"""Credentials of the signed-in operator: azure-identity's, or the simulator's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from azure.core.credentials import TokenCredential

from akv_helpers.clouds import Cloud, get_cloud
from akv_helpers.simulator_client import SimulatorCredential, ensure_simulator

__all__ = ["DeviceCodePrompt", "SignInMethod", "sign_in"]

SignInMethod = Literal["cli", "device_code", "browser", "default", "managed_identity"]
DeviceCodePrompt = Callable[[str, str, datetime], None]


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
