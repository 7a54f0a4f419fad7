"""azure-core retry policies of the kit's SDK clients.

`KitRetryPolicy` is azure-core's `RetryPolicy` (azure-core 1.41) with three
changes:

- It retries only the statuses azure-core calls transient (408, 429, 500, 502,
  503, 504). azure-core alone also retries any other status that carries
  ``Retry-After``, such as a 409, but a 400, 403, 404 or 409 is final.
- It waits for ``Retry-After`` only up to ``retry_after_max`` seconds: a response
  that asks for a longer wait ends the retries at once.
- It retries once an ARM ``401 ExpiredAuthenticationToken``, after which the
  bearer-token policy, which dropped its token on the 401, asks the credential
  for a token again.

When it gives up, it raises an error that records the number of retries:
`StatusRetriesExhaustedError` for a response that was still transient, and
`RequestRetriesExhaustedError` or `ResponseRetriesExhaustedError` when no
response came. `retry_note` turns that into a sentence for the kit's messages.

`PrincipalNotFoundRetryPolicy` also retries a role-assignment PUT answered 400
``PrincipalNotFound``, which Azure returns while the directory has not yet
replicated a principal created moments ago. The retry happens only for a request
that opts in with the option `RETRY_PRINCIPAL_NOT_FOUND`, because for an old
identity the same error means the ID is of the wrong kind and waiting would not
help.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core.exceptions import ARMErrorFormat

__all__ = [
    "RETRYABLE_STATUSES",
    "RETRY_PRINCIPAL_NOT_FOUND",
    "KitRetryPolicy",
    "PrincipalNotFoundRetryPolicy",
    "RequestRetriesExhaustedError",
    "ResponseRetriesExhaustedError",
    "RetriesExhausted",
    "StatusRetriesExhaustedError",
    "is_principal_not_found",
    "retry_fix",
    "retry_note",
]

logger = logging.getLogger(__name__)

# The statuses azure-core's RetryPolicy treats as transient (its _RETRY_CODES).
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# Per-request keyword argument of an SDK operation that enables the retry.
RETRY_PRINCIPAL_NOT_FOUND = "retry_principal_not_found"
_ROLE_ASSIGNMENTS_SEGMENT = "/providers/microsoft.authorization/roleassignments/"


class RetriesExhausted:
    """Mixin of the errors raised when the retry policy gives up.

    Attributes
    ----------
    retries
        Number of retries sent after the first attempt.
    retry_budget
        The ``retry_total`` setting that bounded them.
    retry_after
        Wait in seconds that the last response asked for, or ``None``.
    retry_after_max
        Longest ``Retry-After`` wait the policy honours, in seconds.
    """

    retries: int = 0
    retry_budget: int = 0
    retry_after: float | None = None
    retry_after_max: float = 0.0

    def _record(
        self,
        retries: int,
        budget: int,
        retry_after: float | None = None,
        retry_after_max: float = 0.0,
    ) -> None:
        self.retries = retries
        self.retry_budget = budget
        self.retry_after = retry_after
        self.retry_after_max = retry_after_max


class StatusRetriesExhaustedError(HttpResponseError, RetriesExhausted):
    """A transient error response (429, 5xx) that remained after the last retry."""


class RequestRetriesExhaustedError(ServiceRequestError, RetriesExhausted):
    """No connection could be made, after the last retry."""


class ResponseRetriesExhaustedError(ServiceResponseError, RetriesExhausted):
    """No response arrived (reset or read timeout), after the last retry.

    Attributes
    ----------
    timed_out
        Whether the last attempt ran past the read timeout.
    """

    timed_out: bool = False


def retry_note(exc: BaseException) -> str | None:
    """Describe, in one sentence, the retries spent before `exc`, or return ``None``.

    Parameters
    ----------
    exc
        An error raised through an SDK client of the kit.

    Returns
    -------
    str | None
        ``None`` unless `exc` comes from the retry policy giving up.
    """
    if not isinstance(exc, RetriesExhausted):
        return None
    attempts = exc.retries + 1
    sent = "once" if attempts == 1 else f"{attempts} times"
    if exc.retry_after is not None and exc.retry_after > exc.retry_after_max:
        return (
            f"Azure asked the kit to wait {exc.retry_after:g} s before retrying, "
            f"longer than the {exc.retry_after_max:g} s the kit waits "
            f"(RetrySettings.retry_after_max), so it sent the request {sent} and "
            "gave up."
        )
    return (
        f"The kit sent the request {sent} and gave up: its retry budget of "
        f"{exc.retry_budget} retries (RetrySettings.total) is used up."
    )


def retry_fix(exc: BaseException) -> str | None:
    """Say what to do after the retry policy gave up, or return ``None``.

    Parameters
    ----------
    exc
        An error raised through an SDK client of the kit.
    """
    if not isinstance(exc, RetriesExhausted):
        return None
    if isinstance(exc, StatusRetriesExhaustedError) and exc.status_code == 429:
        return (
            "Azure is throttling requests: wait a few minutes, then run the step "
            "again. Every step of the kit is safe to repeat."
        )
    reached = (
        "The last request may have reached Azure before the connection failed; "
        "running the step again finds a change it made (a grant then shows as "
        "already granted). "
        if isinstance(exc, ResponseRetriesExhaustedError)
        else ""
    )
    return (
        f"{reached}Wait a few minutes and run the step again; every step of the "
        "kit is safe to repeat. If it keeps failing, check the Azure status page "
        "or, in simulator mode, `akv-onboard simulator status`."
    )


def is_principal_not_found(response: PipelineResponse[Any, Any]) -> bool:
    """Tell whether `response` is a 400 ``PrincipalNotFound`` to a role-assignment PUT.

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
    return _error_code(http_response) == "PrincipalNotFound"


def _error_code(http_response: Any) -> str | None:
    try:
        body = json.loads(http_response.text())
    except (ValueError, TypeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _is_expired_token(response: PipelineResponse[Any, Any]) -> bool:
    http_response = response.http_response
    if http_response.status_code != 401:
        return False
    return _error_code(http_response) == "ExpiredAuthenticationToken"


class KitRetryPolicy(RetryPolicy[HttpRequest, HttpResponse]):
    """azure-core's retry policy, limited to transient statuses and bounded waits.

    Parameters
    ----------
    retry_after_max
        Longest ``Retry-After`` wait to honour, in seconds; a response asking for
        more ends the retries. Default 60.
    expired_token_retries
        Retries of an ARM ``401 ExpiredAuthenticationToken``; default 1.
    **kwargs
        azure-core's retry settings, such as ``retry_total``.
    """

    def __init__(
        self,
        *,
        retry_after_max: float = 60.0,
        expired_token_retries: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.retry_after_max = retry_after_max
        self.expired_token_retries = expired_token_retries

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        """Read the retry settings of one request."""
        settings = super().configure_retries(options)
        settings["expired_token"] = self.expired_token_retries
        return settings

    def is_retry(
        self, settings: dict[str, Any], response: PipelineResponse[Any, Any]
    ) -> bool:
        """Decide whether to retry: a transient status in bounds, or a stale token."""
        http_response = response.http_response
        status = http_response.status_code
        if status == 401:
            return (
                settings["expired_token"] > 0
                and settings["total"] > 0
                and _is_expired_token(response)
            )
        if status not in RETRYABLE_STATUSES or settings["total"] <= 0:
            return False
        if not self._is_method_retryable(
            settings, response.http_request, response=http_response
        ):
            return False
        retry_after = self.get_retry_after(response)
        return retry_after is None or retry_after <= self.retry_after_max

    def increment(
        self,
        settings: dict[str, Any],
        response: PipelineRequest[Any] | PipelineResponse[Any, Any] | None = None,
        error: Exception | None = None,
    ) -> bool:
        """Count the retry, and log it with its cause."""
        if isinstance(response, PipelineResponse):
            if _is_expired_token(response):
                settings["expired_token"] -= 1
            cause = f"status {response.http_response.status_code}"
            request = response.http_request
        else:
            cause = type(error).__name__ if error is not None else "no response"
            request = response.http_request if response is not None else None
        retry = bool(super().increment(settings, response, error))
        if retry and request is not None:
            logger.info(
                "Retrying %s %s after %s (retry %d of at most %d)",
                request.method,
                request.url.split("?")[0],
                cause,
                len(settings["history"]),
                self.total_retries,
            )
        return retry

    def send(
        self, request: PipelineRequest[HttpRequest]
    ) -> PipelineResponse[HttpRequest, HttpResponse]:
        """Send with retries; raise an error recording them when the policy gives up.

        Raises
        ------
        StatusRetriesExhaustedError
            If the last response is still a transient status.
        RequestRetriesExhaustedError, ResponseRetriesExhaustedError
            If the last attempt got no connection or no response.
        """
        try:
            response = super().send(request)
        except ClientAuthenticationError:
            raise
        except ServiceResponseError as exc:
            raise self._no_response_error(request, exc) from exc
        except ServiceRequestError as exc:
            error = RequestRetriesExhaustedError(str(exc), error=exc)
            error._record(self._retries(request), self.total_retries)
            raise error from exc
        status = response.http_response.status_code
        if status in RETRYABLE_STATUSES and self._is_method_retryable(
            {"methods": self._method_whitelist},
            request.http_request,
            response=response.http_response,
        ):
            given_up = StatusRetriesExhaustedError(
                response=response.http_response, error_format=ARMErrorFormat
            )
            given_up._record(
                self._retries(request),
                self.total_retries,
                self.get_retry_after(response),
                self.retry_after_max,
            )
            logger.warning(
                "Gave up on %s %s: status %d after %d retries",
                request.http_request.method,
                request.http_request.url.split("?")[0],
                status,
                given_up.retries,
            )
            raise given_up
        return response

    def _no_response_error(
        self, request: PipelineRequest[HttpRequest], exc: ServiceResponseError
    ) -> ResponseRetriesExhaustedError:
        error = ResponseRetriesExhaustedError(str(exc), error=exc)
        error._record(self._retries(request), self.total_retries)
        error.timed_out = isinstance(exc, ServiceResponseTimeoutError)
        logger.warning(
            "Gave up on %s %s: no response (%s) after %d retries",
            request.http_request.method,
            request.http_request.url.split("?")[0],
            type(exc).__name__,
            error.retries,
        )
        return error

    @staticmethod
    def _retries(request: PipelineRequest[HttpRequest]) -> int:
        # azure-core sets retry_count to the number of earlier attempts before
        # each attempt, so after the last one it is the number of retries.
        return int(request.context.get("retry_count", 0))


class PrincipalNotFoundRetryPolicy(KitRetryPolicy):
    """The kit's retry policy, which also retries ``PrincipalNotFound`` on request.

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
        Settings of `KitRetryPolicy` and azure-core's retry settings.
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
        """Decide on a retry: the kit's rules, or an opted-in PrincipalNotFound."""
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
