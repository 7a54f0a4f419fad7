"""Parameter types and shared options of the command line; bad values exit with 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from akv_helpers.errors import InvalidInputError
from akv_helpers.identifiers import (
    SecretIdentifier,
    parse_secret_identifier,
    validate_guid,
    validate_resource_group_name,
)

__all__ = [
    "MODES",
    "PRINCIPAL_ID",
    "SECRET_ID",
    "PRINCIPAL_REFERENCE",
    "GuidType",
    "PrincipalReferenceType",
    "ResourceGroupType",
    "SecretIdType",
    "principal_option",
]

_F = TypeVar("_F", bound=Callable[..., Any])


# click 8.2 made ParamType generic; at run time the plain class works on 8.1 too.
if TYPE_CHECKING:
    _SecretIdBase = click.ParamType[SecretIdentifier, Any]
    _TextBase = click.ParamType[str, Any]
else:
    _SecretIdBase = _TextBase = click.ParamType


class SecretIdType(_SecretIdBase):
    """A Key Vault secret identifier, parsed by `parse_secret_identifier`."""

    name = "secret_id"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> SecretIdentifier:
        """Parse `value`, or fail with the parser's message and fix."""
        if isinstance(value, SecretIdentifier):
            return value
        try:
            return parse_secret_identifier(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


class GuidType(_TextBase):
    """A GUID such as a principal or subscription ID, in canonical form."""

    name = "guid"

    def __init__(self, label: str) -> None:
        self.label = label

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """Validate `value` with `validate_guid`."""
        try:
            return validate_guid(str(value), self.label)
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


class ResourceGroupType(_TextBase):
    """An Azure resource group name."""

    name = "resource_group"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """Validate `value` with `validate_resource_group_name`."""
        try:
            return validate_resource_group_name(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


class PrincipalReferenceType(_TextBase):
    """A principal ID, a client ID or a managed identity's resource ID.

    A GUID is returned in canonical form and a resource ID as typed; the command
    resolves either against the subscription's identities.
    """

    name = "principal_id"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        """Accept a GUID or a resource ID, or fail with `validate_guid`'s message."""
        text = str(value).strip()
        if text.lower().startswith("/subscriptions/"):
            from azure.mgmt.core.tools import is_valid_resource_id

            if is_valid_resource_id(text.rstrip("/")) and _is_identity_path(text):
                return text.rstrip("/")
        try:
            return validate_guid(text, "principal ID")
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


def _is_identity_path(text: str) -> bool:
    segments = text.lower().rstrip("/").split("/")
    return segments[-2:-1] == ["userassignedidentities"] and "providers" in segments


SECRET_ID = SecretIdType()
PRINCIPAL_ID = GuidType("principal ID")
PRINCIPAL_REFERENCE = PrincipalReferenceType()
MODES = click.Choice(["simulator", "azure"])


def principal_option(function: _F) -> _F:
    """Add ``--principal-id`` to a command."""
    return click.option(
        "--principal-id",
        type=PRINCIPAL_REFERENCE,
        default=None,
        help=(
            "Principal (object) ID of the identity, or its client ID or resource "
            "ID, which the command replaces by the principal ID; default: the "
            "profile's identity."
        ),
    )(function)
