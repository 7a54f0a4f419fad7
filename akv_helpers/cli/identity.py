"""The ``find-identity`` command, which looks up the Union data-plane identity."""

from __future__ import annotations

import click

from akv_helpers.cli._output import as_dict, echo_json, echo_table, kit_errors
from akv_helpers.cli._steps import (
    IDENTITY_HEADERS,
    identity_rows,
    open_connection,
    remember_identity,
)
from akv_helpers.cli._types import ResourceGroupType
from akv_helpers.profile import load_profile

__all__ = ["COMMANDS", "find_identity"]


@click.command("find-identity")
@click.option(
    "--resource-group",
    type=ResourceGroupType(),
    default=None,
    help="Search this resource group; default: the profile's, else the subscription.",
)
@click.option(
    "--subscription-wide",
    "--all-resource-groups",
    "subscription_wide",
    is_flag=True,
    help="Search every resource group of the subscription, not the profile's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the candidates as JSON.")
@kit_errors
def find_identity(
    resource_group: str | None, subscription_wide: bool, as_json: bool
) -> None:
    """Find the Union data-plane identity (userflyterole or flyteuser...)."""
    from akv_helpers.identities import find_identities

    if subscription_wide and resource_group is not None:
        raise click.UsageError(
            "Give either --resource-group or --subscription-wide, not both."
        )
    profile = load_profile()
    connection = open_connection(profile)
    group = None if subscription_wide else resource_group or profile.resource_group
    candidates = find_identities(connection, group)
    if as_json:
        echo_json(as_dict(candidates))
    else:
        echo_table(IDENTITY_HEADERS, identity_rows(candidates))
    if len(candidates) == 1:
        remember_identity(profile, candidates[0])
        if not as_json:
            click.echo(f"Recorded {candidates[0].name} in the profile.")
    elif not as_json:
        click.echo(
            f"{len(candidates)} identities match. Choose one with --principal-id "
            "<principal ID> in the next command; the kit does not pick one."
        )


COMMANDS: tuple[click.Command, ...] = (find_identity,)
