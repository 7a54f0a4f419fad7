"""Parameter types and shared options of the command line; bad values exit with 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from akv_helpers._task_file import check_task_file
from akv_helpers.errors import InvalidInputError
from akv_helpers.identifiers import (
    SecretIdentifier,
    parse_secret_identifier,
    validate_guid,
    validate_resource_group_name,
)
from akv_helpers.roles import SECRETS_USER_ROLE_ID, RoleDefinition

__all__ = [
    "MODES",
    "PRINCIPAL_ID",
    "PRINCIPAL_REFERENCE",
    "ROLE",
    "SCOPES",
    "SECRET_ID",
    "GuidType",
    "PrincipalReferenceType",
    "ResourceGroupType",
    "RoleType",
    "SecretIdType",
    "TaskFileType",
    "principal_option",
    "role_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])


# click 8.2 made ParamType generic; at run time the plain class works on 8.1 too.
if TYPE_CHECKING:
    _SecretIdBase = click.ParamType[SecretIdentifier, Any]
    _TextBase = click.ParamType[str, Any]
    _RoleBase = click.ParamType[RoleDefinition, Any]
    _PathBase = click.ParamType[Path, Any]
else:
    _SecretIdBase = _TextBase = _RoleBase = _PathBase = click.ParamType


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
        """Check `value` with `validate_principal_reference`."""
        from akv_helpers.identities import validate_principal_reference

        try:
            return validate_principal_reference(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


class RoleType(_RoleBase):
    """A built-in role, by GUID, role definition ID or display name."""

    name = "role"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> RoleDefinition:
        """Find the built-in role with `resolve_role`."""
        from akv_helpers.grant_plan import resolve_role

        if isinstance(value, RoleDefinition):
            return value
        try:
            return resolve_role(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


SECRET_ID = SecretIdType()
PRINCIPAL_ID = GuidType("principal ID")
PRINCIPAL_REFERENCE = PrincipalReferenceType()
MODES = click.Choice(["simulator", "azure"])
ROLE = RoleType()
# The scope kinds of `akv_helpers.grant_plan.SCOPE_KINDS`.
SCOPES = click.Choice(["secret", "vault"])


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


def role_options(function: _F) -> _F:
    """Add ``--role`` and ``--scope`` to a command."""
    with_scope = click.option(
        "--scope",
        "scope_kind",
        type=SCOPES,
        default="secret",
        show_default=True,
        help=(
            "Where the role is assigned: the one secret, or the whole vault, which "
            "covers every secret in it, current and future."
        ),
    )(function)
    return click.option(
        "--role",
        type=ROLE,
        default=SECRETS_USER_ROLE_ID,
        help=(
            "Built-in role to assign, by GUID or name; default: Key Vault Secrets "
            "User, which reads secret values and nothing more."
        ),
    )(with_scope)


class TaskFileType(_PathBase):
    """The path of a task file that exists, is a file and is readable."""

    name = "task_file"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path:
        """Return the path, or fail with `check_task_file`'s message."""
        if isinstance(value, Path):
            value = str(value)
        try:
            return check_task_file(str(value))
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)
