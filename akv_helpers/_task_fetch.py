"""Read the secret as the data-plane identity before a local run of the test task.

While the kit's new role assignment is still propagating, the read waits and tries
again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from akv_helpers._task_result import LocalRunResult, ProgressCallback
from akv_helpers.errors import TaskRunError
from akv_helpers.propagation import PROPAGATION_WINDOW_SECONDS
from akv_helpers.steps import step_place

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient

    from akv_helpers.connection import Connection
    from akv_helpers.identifiers import SecretIdentifier
    from akv_helpers.vaults import VaultInfo


logger = logging.getLogger(__name__)


def _access_denied_result(
    identifier: SecretIdentifier, principal_id: str, inner_code: str | None
) -> LocalRunResult:
    if inner_code == "AccessDenied":
        return LocalRunResult(
            ok=False,
            stage="fetch",
            message=(
                f"access denied: the vault {identifier.vault_name} uses access "
                f"policies, and none lets the identity {principal_id} read "
                f"{identifier.name}"
            ),
            fix=(
                "Switch the vault to the Azure RBAC permission model and grant the "
                f"role in {step_place('grant')}, or add an access policy with "
                "secret get for the identity."
            ),
        )
    return LocalRunResult(
        ok=False,
        stage="fetch",
        message=(
            f"access denied: the identity {principal_id} has no role assignment "
            f"that allows reading {identifier.name} yet"
        ),
        fix=(
            "Grant it the role Key Vault Secrets User on the secret in "
            f"{step_place('grant')} (or with `akv-onboard grant`). If you granted "
            "it just now, wait for the assignment to take effect (Azure documents "
            "up to 10 minutes) and run again."
        ),
    )


@dataclass(frozen=True)
class _RbacDenied:
    """Key Vault denied the identity's read with ``ForbiddenByRbac``."""

    message: str


def _fetch_as_identity(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    vault: VaultInfo,
) -> str | LocalRunResult | _RbacDenied:
    """Read the value as the identity, as the injector's init container does."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from akv_helpers.http_errors import (
        describe_http_error,
        describe_transport_error,
        error_codes,
    )

    if not vault.vault_uri:
        raise TaskRunError(
            f"The vault {vault.name} has no vault URI in its properties.",
            "Check the vault in the Azure portal or the simulator's state.",
        )
    client = connection.secret_client(
        vault.vault_uri, credential=connection.identity_credential(principal_id)
    )
    try:
        with client:
            secret = client.get_secret(identifier.name, identifier.version)
    except ClientAuthenticationError as error:
        return LocalRunResult(
            ok=False,
            stage="fetch",
            message=(
                f"no token for the identity {principal_id}: "
                f"{type(error).__name__} from the sign-in"
            ),
            fix="Check the principal ID with `akv-onboard find-identity`.",
        )
    except HttpResponseError as error:
        code, inner_code = error_codes(error)
        logger.info(
            "Reading %s as %s failed: %s %s/%s",
            identifier.name,
            principal_id,
            error.status_code,
            code,
            inner_code,
        )
        if error.status_code == 403 and inner_code == "ForbiddenByRbac":
            return _RbacDenied(str(error.message or ""))
        if error.status_code == 403 and inner_code == "AccessDenied":
            return _access_denied_result(identifier, principal_id, inner_code)
        if inner_code == "ForbiddenByFirewall":
            message = (
                f"the firewall of the vault {identifier.vault_name} denies the "
                "reader's network"
            )
            fix = (
                "Allow the network of the Union cluster in the vault's firewall "
                "(Networking in the Azure portal)."
            )
        elif inner_code == "ForbiddenByConnection":
            message = (
                f"the vault {identifier.vault_name} has public network access disabled"
            )
            fix = "Reach it through a private endpoint in the cluster's network."
        elif inner_code == "SecretDisabled" or code == "SecretDisabled":
            message = f"the secret {identifier.name} is disabled"
            fix = "Enable it in the Azure portal, or choose an enabled version."
        elif code == "SecretNotFound":
            reader = connection.secret_client(
                vault.vault_uri, credential=connection.identity_credential(principal_id)
            )
            return _not_found_result(identifier, reader)
        else:
            described = describe_http_error(
                error, _fetch_action(identifier, principal_id)
            )
            message, fix = described.message, described.fix
        return LocalRunResult(ok=False, stage="fetch", message=message, fix=fix)
    except (ServiceRequestError, ServiceResponseError) as error:
        described = describe_transport_error(
            error, _fetch_action(identifier, principal_id)
        )
        return LocalRunResult(
            ok=False, stage="fetch", message=described.message, fix=described.fix
        )
    return secret.value or ""


def _fetch_action(identifier: SecretIdentifier, principal_id: str) -> str:
    return f"read {identifier.name} as the identity {principal_id}"


def _not_found_result(
    identifier: SecretIdentifier, reader: SecretClient
) -> LocalRunResult:
    """Describe a ``SecretNotFound``, naming the version and the versions seen."""
    if identifier.version is None:
        return LocalRunResult(
            ok=False,
            stage="fetch",
            message=(
                f"the secret {identifier.name} was not found in the vault "
                f"{identifier.vault_name}"
            ),
            fix="Check the secret name, or copy the identifier from the portal.",
        )
    versions = _visible_versions(reader, identifier.name)
    if versions is None:
        seen = "The identity cannot list the secret's versions"
    elif versions:
        seen = "The identity can see the versions " + ", ".join(versions)
    else:
        seen = "The identity can see no version of it"
    return LocalRunResult(
        ok=False,
        stage="fetch",
        message=(
            f"version {identifier.version} of the secret {identifier.name} was not "
            f"found in the vault {identifier.vault_name}. {seen}"
        ),
        fix=(
            "Copy the identifier of an existing version from the portal (the "
            "secret's Versions list), or run the task with the latest version: "
            f"`akv-onboard task run {identifier.group_uri}`."
        ),
    )


def _visible_versions(reader: SecretClient, name: str) -> list[str] | None:
    """List the secret's versions with the identity's client, or return None."""
    from azure.core.exceptions import AzureError

    try:
        with reader:
            listed = reader.list_properties_of_secret_versions(name)
            found = sorted(str(item.version).lower() for item in listed if item.version)
    except AzureError as error:
        logger.info("Listing the versions of %s failed: %s", name, type(error).__name__)
        return None
    return found


def _fetch_value(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    wait_timeout: float,
    progress: ProgressCallback | None,
) -> str | LocalRunResult:
    """Read the value as the identity, waiting out a grant that is propagating."""
    from akv_helpers.vaults import find_vault

    vault = find_vault(connection, identifier.vault_name)
    fetched = _fetch_as_identity(connection, identifier, principal_id, vault)
    if not isinstance(fetched, _RbacDenied):
        return fetched
    return _wait_for_grant(
        connection, identifier, principal_id, vault, fetched, wait_timeout, progress
    )


def _wait_for_grant(
    connection: Connection,
    identifier: SecretIdentifier,
    principal_id: str,
    vault: VaultInfo,
    denied: _RbacDenied,
    wait_timeout: float,
    progress: ProgressCallback | None,
) -> str | LocalRunResult:
    """Wait while the kit's assignment is young, then read again.

    The age of the kit's assignment decides. Key Vault's ``Assignment:`` line
    only adds evidence to the messages.
    """
    from akv_helpers.grant_plan import plan_grant
    from akv_helpers.propagation import kit_assignment_age, wait_for_access

    subscription = vault.subscription_id or connection.subscription_id
    plan = plan_grant(subscription, vault, identifier.name, principal_id)
    age = kit_assignment_age(connection, plan)
    evidence = _assignment_evidence(denied.message)
    if age is None or age >= PROPAGATION_WINDOW_SECONDS:
        return _access_denied_result(identifier, principal_id, "ForbiddenByRbac")

    logger.info(
        "Reading %s as %s was denied (ForbiddenByRbac); the kit's assignment %s "
        "is %d s old, so the run waits for it to take effect",
        identifier.name,
        principal_id,
        plan.assignment_id,
        round(age),
    )
    if progress is not None:
        progress(
            f"Waiting for the grant to take effect: the kit's assignment is "
            f"{round(age)} s old and Azure can take up to "
            f"{int(PROPAGATION_WINDOW_SECONDS // 60)} minutes.{evidence}"
        )
    waited = wait_for_access(
        connection,
        plan,
        timeout=wait_timeout,
        progress=progress,
        vault_url=vault.vault_uri,
    )
    if waited.readable:
        again = _fetch_as_identity(connection, identifier, principal_id, vault)
        if not isinstance(again, _RbacDenied):
            return again
    elif waited.status != "timed out":
        return LocalRunResult(
            ok=False, stage="fetch", message=f"access denied: {waited.message}"
        )
    return LocalRunResult(
        ok=False,
        stage="fetch",
        message=(
            "access denied: the grant is still propagating. The identity "
            f"{principal_id} was still denied after {waited.waited_seconds:.0f} s, "
            f"and the kit's assignment is {round(waited.assignment_age_seconds or age)}"
            f" s old, within Azure's {int(PROPAGATION_WINDOW_SECONDS // 60)}-minute "
            f"propagation window.{evidence}"
        ),
        fix=(
            "Wait a few minutes and run the task again. Do not grant again: the "
            f"assignment {plan.assignment_id} exists, and another one would not "
            "take effect sooner."
        ),
    )


def _assignment_evidence(message: str) -> str:
    from akv_helpers.propagation import forbidden_assignment_line

    if forbidden_assignment_line(message) == "(not found)":
        return (
            " Key Vault's answer names no assignment (Assignment: (not found)), "
            "as it does until a new one takes effect."
        )
    return ""
