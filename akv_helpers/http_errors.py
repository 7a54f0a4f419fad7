"""Conversion of Azure SDK errors into the kit's errors, classified by error code."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from akv_helpers.errors import (
    AuthenticationError,
    AzureRequestError,
    azure_error_class,
    displayable,
)
from akv_helpers.retry_policies import retry_fix, retry_note
from akv_helpers.steps import step_place

__all__ = [
    "azure_errors",
    "describe_http_error",
    "describe_transport_error",
    "error_codes",
]


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
    elif exc.reason:
        text = str(exc.reason)
    else:
        # A credential's failure has neither. Its message lists the credentials
        # a chain tried, with the reason each one returned no token.
        text = str(getattr(exc, "message", "") or "no error message")
    # Key Vault's 403 message spans several lines; keep it on one.
    return " ".join(text.split())


# Azure's AuthorizationFailed message quotes the action and the whole scope,
# which together pass 400 characters for a secret with a long name. The limit
# keeps such a message whole; it only guards against a runaway response body.
MAX_AZURE_MESSAGE_CHARACTERS = 1200


def _expired_token_fix() -> str:
    return (
        "The access token expired, and the kit already fetched a new one and "
        "retried (RetrySettings.expired_token times). Sign in again: in Azure "
        f"mode with `az login` or in {step_place('start')}; in simulator mode "
        "restart the simulator (`akv-onboard simulator stop`, then "
        "`akv-onboard simulator start`)."
    )


# A fix that names a step's place is a function, called when the error is
# described, because the place depends on the front end (see akv_helpers.steps).
_FIX_BY_CODE: dict[str, str | Callable[[], str]] = {
    "AuthorizationFailed": (
        "Ask an administrator for a role that allows the action on this scope, "
        "then sign in again."
    ),
    "InvalidAuthenticationToken": "Sign in again.",
    "ExpiredAuthenticationToken": _expired_token_fix,
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
        credential_lines = _credential_failure_lines(exc)
        if credential_lines:
            return _sign_in_error(credential_lines, action, code, request_id)
        error_class: type[AzureRequestError] = AuthenticationError
    else:
        error_class = azure_error_class(status)

    what = f"Azure rejected the request to {action}" if action else "Azure rejected"
    label = " ".join(str(part) for part in (status, code, inner_code) if part)
    shown = displayable(_error_message(exc), MAX_AZURE_MESSAGE_CHARACTERS)
    message = f"{what} ({label or 'no status'}): {shown}"
    fix = _fix_by_code(inner_code) or _fix_by_code(code)
    retried = retry_note(exc)
    if retried:
        message = f"{message} {retried}"
        fix = retry_fix(exc) or fix
    return error_class(
        message,
        fix,
        status=status,
        code=code,
        inner_code=inner_code,
        request_id=request_id,
    )


def _fix_by_code(code: str | None) -> str:
    fix = _FIX_BY_CODE.get(code or "", "")
    return fix() if callable(fix) else fix


# Maximum length of one credential's explanation line in a sign-in error.
_MAX_CREDENTIAL_LINE = 400


def _credential_failure_lines(exc: ClientAuthenticationError) -> list[str]:
    # Imported here: the explanations are needed only when a sign-in failed.
    from akv_helpers.diagnose.credentials import explain_credential_failure

    return [
        displayable(line, _MAX_CREDENTIAL_LINE)
        for line in explain_credential_failure(exc)
    ]


def _sign_in_error(
    lines: list[str], action: str | None, code: str | None, request_id: str | None
) -> AuthenticationError:
    """Return the error of a failed sign-in, one line per credential tried."""
    what = f", so the kit could not {action}" if action else ""
    listed = "\n".join(lines)
    return AuthenticationError(
        f"Sign-in failed{what}: no credential returned a token. Credentials "
        f"tried:\n{listed}",
        "Fix the sign-in you mean to use, as its line says, then run the step again.",
        code=code,
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
        raise describe_transport_error(exc, action) from exc


def describe_transport_error(
    exc: ServiceRequestError | ServiceResponseError, action: str
) -> AzureRequestError:
    """Convert a request that got no response into the kit's `AzureRequestError`.

    Raise the result with ``from exc``; its message states how often the
    kit tried when the retries were used up.
    """
    retried = retry_note(exc)
    return AzureRequestError(
        f"Could not {action}: no response from Azure "
        f"({type(exc).__name__}: {displayable(str(exc))})."
        + (f" {retried}" if retried else ""),
        retry_fix(exc)
        or "Check the network connection; in simulator mode check that the "
        "simulator is running (`akv-onboard simulator status`).",
    )
