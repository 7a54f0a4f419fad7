"""Steps shared by several commands: the mode, the connection and the identity."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from akv_helpers.errors import KitError, NotConfiguredError
from akv_helpers.profile import Profile, kit_home, save_profile

if TYPE_CHECKING:
    from akv_helpers.connection import Connection
    from akv_helpers.identities import IdentityCandidate

__all__ = [
    "IDENTITY_HEADERS",
    "MODE_VARIABLE",
    "effective_mode",
    "identity_rows",
    "open_connection",
    "remember_identity",
    "resolve_principal",
    "several_identities_error",
]

MODE_VARIABLE = "AKV_ONBOARD_MODE"

logger = logging.getLogger(__name__)


def effective_mode(profile: Profile) -> str:
    """Return the mode from ``$AKV_ONBOARD_MODE``, else from the profile."""
    mode = os.environ.get(MODE_VARIABLE, "").strip().lower()
    if not mode:
        return profile.mode
    if mode not in ("simulator", "azure"):
        raise NotConfiguredError(
            f"{MODE_VARIABLE} is {mode!r}, which is not a mode.",
            f"Set {MODE_VARIABLE} to simulator or azure, or unset it.",
        )
    return mode


def open_connection(profile: Profile) -> Connection:
    """Connect in the mode that ``$AKV_ONBOARD_MODE`` or the profile sets.

    In simulator mode a simulator that is not running is started; the command
    then says so on stderr with its address, because the address changes.
    """
    from akv_helpers.connection import connect

    mode = effective_mode(profile)
    if mode == "azure":
        return connect(profile, mode="azure")
    previous_pid = _discovered_simulator_pid()
    connection = connect(profile, mode="simulator")
    endpoint = connection.simulator
    if endpoint is not None and endpoint.pid != previous_pid:
        logger.info(
            "Started the simulator at %s (pid %d)", endpoint.arm_url, endpoint.pid
        )
        click.echo(
            f"Started the simulator at {endpoint.arm_url} (pid {endpoint.pid}), "
            "because none was running.",
            err=True,
        )
    return connection


def _discovered_simulator_pid() -> int | None:
    """Return the pid of the running simulator, from its discovery file, or None."""
    path = kit_home() / "simulator" / "simulator.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pid = int(data["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid


def identity_rows(candidates: Sequence[IdentityCandidate]) -> list[list[str]]:
    """Return the table rows of identity candidates."""
    return [[c.name, c.resource_group, c.client_id, c.principal_id] for c in candidates]


IDENTITY_HEADERS = ("NAME", "RESOURCE GROUP", "CLIENT ID", "PRINCIPAL ID")


def several_identities_error(candidates: Sequence[IdentityCandidate]) -> KitError:
    """Return the error that lists several candidates for the user to choose."""
    listed = "; ".join(
        f"{c.name} in {c.resource_group} (principal ID {c.principal_id})"
        for c in candidates
    )
    return NotConfiguredError(
        f"{len(candidates)} identities match Union's naming: {listed}.",
        "Choose one with --principal-id <principal ID>; the kit does not pick one.",
    )


def remember_identity(profile: Profile, candidate: IdentityCandidate) -> Profile:
    """Record the identity and its resource group in the profile."""
    from akv_helpers.identities import to_identity_ref

    updated = profile.with_updates(
        identity=to_identity_ref(candidate), resource_group=candidate.resource_group
    )
    save_profile(updated)
    return updated


def resolve_principal(
    connection: Connection, profile: Profile, typed: str | None
) -> tuple[str, Profile]:
    """Choose the principal ID: typed, the profile's identity, or a single match.

    A typed principal ID, client ID or identity resource ID is matched against
    every user-assigned identity of the subscription. A client ID or resource ID
    is replaced by the identity's principal ID, with a note on stderr, because
    role assignments need the principal ID. A GUID of no identity is used as
    typed, with a warning on stderr.
    """
    from akv_helpers.identities import find_identities, resolve_typed_principal

    identity = profile.identity
    if typed is not None:
        choice = resolve_typed_principal(connection, typed, identity)
        if choice.swapped:
            click.echo(f"Note: {choice.explanation}", err=True)
        elif choice.typed_kind == "unknown":
            click.echo(f"Warning: {choice.explanation}", err=True)
        return choice.principal_id, profile

    if identity is not None:
        return identity.principal_id, profile
    candidates = find_identities(connection, profile.resource_group)
    if len(candidates) > 1:
        raise several_identities_error(candidates)
    candidate = candidates[0]
    click.echo(
        f"Using the identity {candidate.name} in {candidate.resource_group} "
        f"(principal ID {candidate.principal_id}).",
        err=True,
    )
    return candidate.principal_id, remember_identity(profile, candidate)
