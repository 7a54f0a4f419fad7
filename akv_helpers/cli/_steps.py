"""Steps shared by several commands: the mode, the connection and the identity."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from akv_helpers.errors import IdentityNotFoundError, KitError, NotConfiguredError
from akv_helpers.profile import Profile, save_profile

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
    """Connect in the mode that ``$AKV_ONBOARD_MODE`` or the profile sets."""
    from akv_helpers.connection import connect

    mode = effective_mode(profile)
    return connect(profile, mode="azure" if mode == "azure" else "simulator")


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

    A typed client ID of a known identity is replaced by its principal ID, with a
    note on stderr, because role assignments need the principal ID.
    """
    from akv_helpers.identities import find_identities, resolve_principal_id

    identity = profile.identity
    if typed is not None:
        if identity is not None and typed in (
            identity.principal_id,
            identity.client_id,
        ):
            if typed == identity.client_id:
                click.echo(
                    f"Note: {typed} is the client ID of {identity.name}; using its "
                    f"principal ID {identity.principal_id}, which RBAC uses.",
                    err=True,
                )
            return identity.principal_id, profile
        try:
            candidates = find_identities(connection, profile.resource_group)
        except IdentityNotFoundError:
            return typed, profile
        for candidate in candidates:
            if typed in (candidate.principal_id, candidate.client_id):
                choice = resolve_principal_id(candidate, typed)
                if choice.swapped:
                    click.echo(f"Note: {choice.explanation}", err=True)
                return choice.principal_id, profile
        return typed, profile

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
