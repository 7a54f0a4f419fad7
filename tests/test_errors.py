"""Tests for the error tree in akv_helpers.errors."""

from __future__ import annotations

import copy

import pytest

from akv_helpers import errors
from akv_helpers.errors import (
    AccessDeniedError,
    AccessPolicyVaultError,
    AuthenticationError,
    AzureRequestError,
    BadRequestError,
    ConflictError,
    IdentityNotFoundError,
    InvalidIdError,
    InvalidInputError,
    InvalidNameError,
    InvalidScopeError,
    InvalidSecretIdentifierError,
    KitError,
    NotConfiguredError,
    NotFoundError,
    SecretDisabledError,
    SecretNotFoundError,
    SimulatorError,
    TaskRunError,
    ThrottledError,
    azure_error_class,
    displayable,
)

EVERY_ERROR = [
    getattr(errors, name)
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
]


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        pytest.param(InvalidInputError, KitError, id="invalid-input"),
        pytest.param(InvalidInputError, ValueError, id="invalid-input-value-error"),
        pytest.param(InvalidSecretIdentifierError, InvalidInputError, id="identifier"),
        pytest.param(InvalidNameError, InvalidInputError, id="name"),
        pytest.param(InvalidIdError, InvalidInputError, id="id"),
        pytest.param(InvalidScopeError, InvalidInputError, id="scope"),
        pytest.param(NotConfiguredError, KitError, id="not-configured"),
        pytest.param(AzureRequestError, KitError, id="azure-request"),
        pytest.param(BadRequestError, AzureRequestError, id="bad-request"),
        pytest.param(AuthenticationError, AzureRequestError, id="authentication"),
        pytest.param(AccessDeniedError, AzureRequestError, id="access-denied"),
        pytest.param(NotFoundError, AzureRequestError, id="not-found"),
        pytest.param(ConflictError, AzureRequestError, id="conflict"),
        pytest.param(ThrottledError, AzureRequestError, id="throttled"),
        pytest.param(AccessPolicyVaultError, KitError, id="access-policy-vault"),
        pytest.param(IdentityNotFoundError, KitError, id="identity-not-found"),
        pytest.param(SecretNotFoundError, KitError, id="secret-not-found"),
        pytest.param(SecretDisabledError, KitError, id="secret-disabled"),
        pytest.param(SimulatorError, KitError, id="simulator"),
        pytest.param(TaskRunError, KitError, id="task-run"),
    ],
)
def test_error_tree(error: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(error, parent)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(NotConfiguredError, id="not-configured"),
        pytest.param(AzureRequestError, id="azure-request"),
        pytest.param(AccessPolicyVaultError, id="access-policy-vault"),
        pytest.param(SimulatorError, id="simulator"),
    ],
)
def test_errors_outside_input_are_not_value_errors(error: type[Exception]) -> None:
    assert not issubclass(error, ValueError)


@pytest.mark.parametrize("error", [pytest.param(e, id=e.__name__) for e in EVERY_ERROR])
def test_every_error_derives_from_kit_error(error: type[Exception]) -> None:
    assert issubclass(error, KitError)
    assert error.__name__ in (errors.__doc__ or "")


def test_str_joins_message_and_fix() -> None:
    error = SimulatorError("The simulator did not start.", "Run make lab.")

    assert error.message == "The simulator did not start."
    assert error.fix == "Run make lab."
    assert str(error) == "The simulator did not start. Run make lab."


def test_str_without_fix_is_message() -> None:
    assert str(TaskRunError("The task failed.")) == "The task failed."


def test_invalid_input_carries_value_and_expected() -> None:
    error = InvalidNameError(
        "The vault name is invalid.", "Copy it.", value="kv\ndemo", expected="3–24"
    )

    assert error.value == "kv\\ndemo"
    assert error.expected == "3–24"
    assert isinstance(error, ValueError)


def test_invalid_input_requires_value_and_expected() -> None:
    with pytest.raises(TypeError):
        InvalidInputError("message", "fix")  # type: ignore[call-arg]


def test_azure_request_error_fields() -> None:
    error = AccessDeniedError(
        "Key Vault denied the read.",
        "Wait for the grant to take effect.",
        status=403,
        code="Forbidden",
        inner_code="ForbiddenByRbac",
        request_id="f3a1c7d2-0000-4000-8000-000000000099",
    )

    assert error.status == 403
    assert error.code == "Forbidden"
    assert error.inner_code == "ForbiddenByRbac"
    assert error.request_id == "f3a1c7d2-0000-4000-8000-000000000099"
    assert str(error) == "Key Vault denied the read. Wait for the grant to take effect."


def test_azure_request_error_defaults() -> None:
    error = AzureRequestError("No response arrived.")

    assert error.status is None
    assert error.code is None
    assert error.inner_code is None
    assert error.request_id is None


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(SimulatorError("message", "fix"), id="kit-error"),
        pytest.param(
            InvalidIdError("message", "fix", value="v", expected="e"), id="invalid-id"
        ),
        pytest.param(
            ConflictError(
                "message",
                "fix",
                status=409,
                code="RoleAssignmentExists",
                request_id="r",
            ),
            id="conflict",
        ),
    ],
)
def test_errors_survive_copying(error: KitError) -> None:
    # deepcopy goes through __reduce_ex__, the same path as pickle.
    duplicate = copy.deepcopy(error)

    assert type(duplicate) is type(error)
    assert vars(duplicate) == vars(error)
    assert str(duplicate) == str(error)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(KitError("m", "f"), id="kit-error"),
        pytest.param(InvalidScopeError("m", "f", value="v", expected="e"), id="scope"),
        pytest.param(
            NotFoundError("m", "f", status=404, code="SecretNotFound"), id="not-found"
        ),
    ],
)
def test_errors_hold_only_plain_values(error: KitError) -> None:
    assert all(
        value is None or isinstance(value, (str, int)) for value in vars(error).values()
    )
    assert error.__cause__ is None
    assert error.__traceback__ is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, AccessDeniedError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(409, ConflictError, id="409"),
        pytest.param(429, ThrottledError, id="429"),
        pytest.param(500, AzureRequestError, id="500"),
        pytest.param(None, AzureRequestError, id="no-response"),
    ],
)
def test_azure_error_class(
    status: int | None, expected: type[AzureRequestError]
) -> None:
    assert azure_error_class(status) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("kv-demo", "kv-demo", id="plain"),
        pytest.param("a b", "a b", id="space-kept"),
        pytest.param("a\nb", "a\\nb", id="newline"),
        pytest.param("a\r\nb", "a\\r\\nb", id="crlf"),
        pytest.param("a\tb", "a\\tb", id="tab"),
        pytest.param("a\x1b[31mb", "a\\x1b[31mb", id="terminal-escape"),
        pytest.param("a\x00b", "a\\x00b", id="nul"),
        pytest.param("a\u200bb", "a\\u200bb", id="zero-width-space"),
        pytest.param("a\u202eb", "a\\u202eb", id="right-to-left-override"),
        pytest.param("a\u00a0b", "a\\xa0b", id="no-break-space"),
        pytest.param("kv-dеmo", "kv-dеmo", id="cyrillic-kept"),
        pytest.param("a\\nb", "a\\nb", id="backslash-kept"),
    ],
)
def test_displayable(value: str, expected: str) -> None:
    assert displayable(value) == expected


def test_displayable_is_idempotent() -> None:
    once = displayable("a\n\x00\u200bb")

    assert displayable(once) == once


def test_displayable_cuts_long_values() -> None:
    shown = displayable("x" * 500)

    assert shown == "x" * 200 + "…"


def test_invalid_input_cuts_long_value() -> None:
    error = InvalidSecretIdentifierError("m", "f", value="y" * 1000, expected="e")

    assert len(error.value) == 201
