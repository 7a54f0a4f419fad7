"""azure-core retry policies of the kit's SDK clients.

`PrincipalNotFoundRetryPolicy` is azure-core's `RetryPolicy` that also retries a
role-assignment PUT answered 400 ``PrincipalNotFound``, which Azure returns while
the directory has not yet replicated a principal created moments ago. The retry
happens only for a request that opts in with the option
`RETRY_PRINCIPAL_NOT_FOUND`, because for an old identity the same error means the
ID is of the wrong kind and waiting would not help.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse

__all__ = [
    "RETRY_PRINCIPAL_NOT_FOUND",
    "PrincipalNotFoundRetryPolicy",
    "is_principal_not_found",
]

logger = logging.getLogger(__name__)

# Per-request keyword argument of an SDK operation that enables the retry.
RETRY_PRINCIPAL_NOT_FOUND = "retry_principal_not_found"
_ROLE_ASSIGNMENTS_SEGMENT = "/providers/microsoft.authorization/roleassignments/"


def is_principal_not_found(response: PipelineResponse[Any, Any]) -> bool:
    """Whether `response` is a 400 ``PrincipalNotFound`` to a role-assignment PUT.

    Parameters
    ----------
    response
        The pipeline response.
    """
    http_response = response.http_response
    request = response.http_request
    if http_response.status_code != 400 or request.method.upper() != "PUT":
        return False
    if _ROLE_ASSIGNMENTS_SEGMENT not in request.url.lower().split("?")[0]:
        return False
    try:
        body = json.loads(http_response.text())
    except (ValueError, TypeError):
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("code") == "PrincipalNotFound"


class PrincipalNotFoundRetryPolicy(RetryPolicy[HttpRequest, HttpResponse]):
    """azure-core's retry policy, which also retries ``PrincipalNotFound`` on request.

    A request opts in with the keyword argument ``retry_principal_not_found=True``
    on the SDK operation. Such a request is retried at most
    `principal_not_found_retries` times on ``PrincipalNotFound``, with an
    exponential backoff of `principal_not_found_backoff` × 2^(n-1) seconds before
    the n-th retry, capped by ``retry_backoff_max``. Every retry also counts
    against ``retry_total`` and ``retry_status``, so the smallest of the three
    limits applies.

    Parameters
    ----------
    principal_not_found_retries
        Maximum number of retries on ``PrincipalNotFound``; default 4.
    principal_not_found_backoff
        Backoff factor of those retries, in seconds; default 2.
    **kwargs
        azure-core's retry settings, such as ``retry_total``.
    """

    def __init__(
        self,
        *,
        principal_not_found_retries: int = 4,
        principal_not_found_backoff: float = 2.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.principal_not_found_retries = principal_not_found_retries
        self.principal_not_found_backoff = principal_not_found_backoff

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        """Read the retry settings of one request, including the opt-in option."""
        settings = super().configure_retries(options)
        enabled = bool(options.pop(RETRY_PRINCIPAL_NOT_FOUND, False))
        settings["principal_not_found"] = (
            self.principal_not_found_retries if enabled else 0
        )
        settings["principal_not_found_done"] = 0
        return settings

    def is_retry(
        self, settings: dict[str, Any], response: PipelineResponse[Any, Any]
    ) -> bool:
        """Whether to retry: azure-core's rules, or an opted-in PrincipalNotFound."""
        if super().is_retry(settings, response):
            return True
        return (
            settings.get("principal_not_found", 0) > 0
            and settings["total"] > 0
            and is_principal_not_found(response)
        )

    def increment(
        self,
        settings: dict[str, Any],
        response: PipelineRequest[Any] | PipelineResponse[Any, Any] | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count the retry, and the PrincipalNotFound retries apart."""
        if isinstance(response, PipelineResponse) and is_principal_not_found(response):
            settings["principal_not_found"] -= 1
            settings["principal_not_found_done"] += 1
            logger.info(
                "Azure does not know the principal yet (PrincipalNotFound); "
                "retrying the role assignment, attempt %d of %d",
                settings["principal_not_found_done"],
                self.principal_not_found_retries,
            )
        return bool(super().increment(settings, response, error))

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        """Return the wait before the next retry, in seconds."""
        done = int(settings.get("principal_not_found_done", 0))
        last = settings["history"][-1] if settings["history"] else None
        last_response = getattr(last, "http_response", None)
        if done and last_response is not None and last_response.status_code == 400:
            backoff = self.principal_not_found_backoff * (2 ** (done - 1))
            return float(min(settings["max_backoff"], backoff))
        return float(super().get_backoff_time(settings))
