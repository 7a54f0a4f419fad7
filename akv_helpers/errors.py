"""Errors raised by the kit.

Every error the kit raises derives from `KitError`, so callers can catch the kit's
errors with one clause. Each error has `message` (what failed, in plain words) and
`fix` (what to do next); ``str(error)`` joins the two. Errors hold strings and
integers only: they never keep a reference to a local variable, a response, a
credential or another object that could contain a secret value or a token.

The tree::

    KitError(Exception)
    ├── InvalidInputError(KitError, ValueError)   bad input, raised before any call
    │   ├── InvalidSecretIdentifierError          Key Vault secret identifier
    │   ├── InvalidNameError                      vault, secret, group, identity
    │   ├── InvalidIdError                        subscription, tenant, principal ID
    │   └── InvalidScopeError                     Azure Resource Manager scope
    ├── NotConfiguredError                        profile missing or unreadable
    ├── AzureRequestError                         Azure answered with an error status
    │   ├── BadRequestError                       400
    │   ├── AuthenticationError                   401
    │   ├── AccessDeniedError                     403, on ARM or the data plane
    │   ├── NotFoundError                         404
    │   ├── ConflictError                         409
    │   └── ThrottledError                        429
    ├── AccessPolicyVaultError                    vault uses the access policy model
    ├── IdentityNotFoundError                     no matching managed identity
    ├── VaultNotFoundError                        no vault with that name
    ├── SecretNotFoundError                       no secret with that name
    ├── SecretDisabledError                       the secret exists but is disabled
    ├── SimulatorError                            simulator not started or unreachable
    └── TaskRunError                              the Flyte test task failed
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AccessPolicyVaultError",
    "AuthenticationError",
    "AzureRequestError",
    "BadRequestError",
    "ConflictError",
    "IdentityNotFoundError",
    "InvalidIdError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidScopeError",
    "InvalidSecretIdentifierError",
    "KitError",
    "NotConfiguredError",
    "NotFoundError",
    "SecretDisabledError",
    "SecretNotFoundError",
    "SimulatorError",
    "TaskRunError",
    "ThrottledError",
    "azure_error_class",
    "displayable",
]

# Values quoted in messages are cut to this many characters, so that a long paste
# (which could be a secret value put in the wrong box) is not repeated in full.
MAX_DISPLAYED_CHARACTERS = 200

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def displayable(value: str, limit: int = MAX_DISPLAYED_CHARACTERS) -> str:
    r"""Return `value` with non-printable characters escaped, cut to `limit`.

    Control characters, other non-printable characters and whitespace other than
    the plain space are written as Python escapes (``\n``, ``\x00``,
    ``\u200b``), so a message never carries them raw. Backslashes are left as
    they are, which makes the function idempotent.

    Parameters
    ----------
    value
        Text to show in a message.
    limit
        Maximum number of characters kept before ``…`` is appended.

    Returns
    -------
    str
        Text that is safe to print on one line.

    Examples
    --------
    >>> displayable("db-pass\n")
    'db-pass\\n'
    """
    parts: list[str] = []
    for character in value:
        if character in _ESCAPES:
            parts.append(_ESCAPES[character])
        elif character == " " or (character.isprintable() and not character.isspace()):
            parts.append(character)
        else:
            parts.append(repr(character)[1:-1])
    text = "".join(parts)
    if len(text) > limit:
        return text[:limit] + "…"
    return text


class KitError(Exception):
    """Base of every error the kit raises.

    Parameters
    ----------
    message
        What failed, in plain words.
    fix
        What to do next. Empty when there is nothing the user can do.
    """

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message, fix)
        self.message: str = message
        self.fix: str = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message} {self.fix}"
        return self.message


class InvalidInputError(KitError, ValueError):
    """Input that the kit rejects before it sends any request.

    Parameters
    ----------
    message
        What is wrong with the input.
    fix
        How to correct it.
    value
        The offending input. It is stored escaped by `displayable`.
    expected
        The shape or rule the input must follow.
    """

    def __init__(
        self, message: str, fix: str = "", *, value: str, expected: str
    ) -> None:
        super().__init__(message, fix)
        self.value: str = displayable(value)
        self.expected: str = expected

    def __reduce__(self) -> tuple[object, ...]:
        return (
            _rebuild_invalid_input,
            (type(self), self.message, self.fix, self.value, self.expected),
        )


def _rebuild_invalid_input(
    cls: type[InvalidInputError], message: str, fix: str, value: str, expected: str
) -> InvalidInputError:
    return cls(message, fix, value=value, expected=expected)


class InvalidSecretIdentifierError(InvalidInputError):
    """A Key Vault secret identifier that does not have the portal's shape."""


class InvalidNameError(InvalidInputError):
    """A vault, secret, resource group or identity name that Azure would reject."""


class InvalidIdError(InvalidInputError):
    """A subscription, tenant, principal or client ID that is not a GUID."""


class InvalidScopeError(InvalidInputError):
    """An Azure Resource Manager scope that does not have the expected shape."""


class NotConfiguredError(KitError):
    """A step needs configuration that is missing or unreadable."""


class AzureRequestError(KitError):
    """A request that Azure rejected with an error status.

    The services layer builds it from azure-core's ``HttpResponseError``; this
    module does not import azure-core. Callers classify the error by `code` and
    `inner_code`, never by the message text.

    Parameters
    ----------
    message
        What failed, in plain words.
    fix
        What to do next.
    status
        HTTP status code, or ``None`` when no response arrived.
    code
        Azure error code, such as ``AuthorizationFailed``.
    inner_code
        Key Vault inner error code, such as ``ForbiddenByRbac``.
    request_id
        Value of the ``x-ms-request-id`` header, for Azure support.
    """

    def __init__(
        self,
        message: str,
        fix: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        inner_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, fix)
        self.status: int | None = status
        self.code: str | None = code
        self.inner_code: str | None = inner_code
        self.request_id: str | None = request_id

    def __reduce__(self) -> tuple[object, ...]:
        fields = (self.status, self.code, self.inner_code, self.request_id)
        return (_rebuild_azure_request, (type(self), self.message, self.fix, *fields))


def _rebuild_azure_request(
    cls: type[AzureRequestError],
    message: str,
    fix: str,
    status: int | None,
    code: str | None,
    inner_code: str | None,
    request_id: str | None,
) -> AzureRequestError:
    return cls(
        message,
        fix,
        status=status,
        code=code,
        inner_code=inner_code,
        request_id=request_id,
    )


class BadRequestError(AzureRequestError):
    """Azure rejected the request as invalid (400)."""


class AuthenticationError(AzureRequestError):
    """Azure rejected the token: missing, invalid or expired (401)."""


class AccessDeniedError(AzureRequestError):
    """The caller lacks the right for the action (403).

    `code` distinguishes ARM's ``AuthorizationFailed`` from the data plane's
    ``Forbidden``, and `inner_code` distinguishes ``ForbiddenByRbac`` from
    ``AccessDenied`` and the network errors.
    """


class NotFoundError(AzureRequestError):
    """The resource does not exist (404)."""


class ConflictError(AzureRequestError):
    """The request conflicts with the current state (409)."""


class ThrottledError(AzureRequestError):
    """Azure throttled the caller (429)."""


_CLASS_BY_STATUS: dict[int, type[AzureRequestError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AccessDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: ThrottledError,
}


def azure_error_class(status: int | None) -> type[AzureRequestError]:
    """Return the `AzureRequestError` subclass for an HTTP status code.

    Parameters
    ----------
    status
        HTTP status code, or ``None`` when no response arrived.

    Returns
    -------
    type[AzureRequestError]
        The subclass for the status, or `AzureRequestError` itself.

    Examples
    --------
    >>> azure_error_class(403).__name__
    'AccessDeniedError'
    """
    if status is None:
        return AzureRequestError
    return _CLASS_BY_STATUS.get(status, AzureRequestError)


class AccessPolicyVaultError(KitError):
    """The vault uses the access policy model, so a role assignment has no effect."""


class IdentityNotFoundError(KitError):
    """No managed identity matched the search."""


class VaultNotFoundError(KitError):
    """No vault with the name exists in the subscription."""


class SecretNotFoundError(KitError):
    """No secret with the name exists in the vault."""


class SecretDisabledError(KitError):
    """The secret exists but is disabled, so no caller can read its value."""


class SimulatorError(KitError):
    """The simulator did not start, or the kit cannot reach it."""


class TaskRunError(KitError):
    """The Flyte test task did not run, or it failed."""
