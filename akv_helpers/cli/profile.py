"""The ``profile`` commands, and ``lab-prepare``, which starts the lab's simulator."""

from __future__ import annotations

from typing import Any

import click

from akv_helpers.cli._output import echo_json, kit_errors
from akv_helpers.cli._steps import effective_mode
from akv_helpers.cli._types import MODES, GuidType, ResourceGroupType
from akv_helpers.cli.simulator import echo_simulator
from akv_helpers.profile import kit_home, load_profile, save_profile

__all__ = ["COMMANDS", "lab_prepare", "profile", "profile_set", "profile_show"]


@click.group()
def profile() -> None:
    """Show or change the session profile shared by the notebooks and the CLI."""


@profile.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
@kit_errors
def profile_show(as_json: bool) -> None:
    """Show the profile: mode, subscription, identity, secret, assignment."""
    current = load_profile()
    data = current.to_dict()
    if as_json:
        echo_json(data)
        return
    identity = data.pop("identity") or {}
    for key, value in data.items():
        click.echo(f"{key}: {'' if value is None else value}")
    for key, value in identity.items():
        click.echo(f"identity.{key}: {value}")


@profile.command("set")
@click.option("--mode", type=MODES, default=None, help="simulator or azure.")
@click.option(
    "--subscription",
    type=GuidType("subscription ID"),
    default=None,
    help="Subscription ID of the Union data plane.",
)
@click.option(
    "--resource-group",
    type=ResourceGroupType(),
    default=None,
    help="Resource group of the Union data plane.",
)
@click.option("--tenant", type=GuidType("tenant ID"), default=None, help="Tenant ID.")
@kit_errors
def profile_set(
    mode: str | None,
    subscription: str | None,
    resource_group: str | None,
    tenant: str | None,
) -> None:
    """Change profile fields; options not given keep their value."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("mode", mode),
            ("subscription_id", subscription),
            ("resource_group", resource_group),
            ("tenant_id", tenant),
        )
        if value is not None
    }
    if not changes:
        raise click.UsageError(
            "Give at least one of --mode, --subscription, --resource-group, --tenant."
        )
    path = save_profile(load_profile().with_updates(**changes))
    click.echo(f"Updated {', '.join(sorted(changes))} in {path}.")


@click.command("lab-prepare")
@kit_errors
def lab_prepare() -> None:
    """Start the simulator for `make lab`, unless Azure mode is configured."""
    from akv_helpers.connection import ensure_simulator

    mode = effective_mode(load_profile())
    if mode == "azure":
        click.echo("Azure mode: the simulator is not started.")
        return
    echo_simulator(ensure_simulator(kit_home()))


COMMANDS: tuple[click.Command, ...] = (profile, lab_prepare)
