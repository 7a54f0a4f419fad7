"""Checks of the data-plane identity: found, chosen, and named by the right ID.

This module also fetches the identity facts: the identities named like Union's
(``identities``), the principal whose access is checked (``principal``) and, in
simulator mode, the directory (``directory``).
"""

from __future__ import annotations

from typing import Any, cast

from akv_helpers.connection import Connection
from akv_helpers.diagnose.facts import (
    FactSource,
    FactUnavailableError,
    ResolvedPrincipal,
    fact,
)
from akv_helpers.diagnose.findings import DiagnosisInputs, Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.errors import (
    IdentityNotFoundError,
    InvalidIdError,
    KitError,
    displayable,
)
from akv_helpers.identifiers import validate_guid
from akv_helpers.identities import (
    CLIENT_ID_EXPLANATION,
    IdentityCandidate,
    find_identities,
    resolve_typed_principal,
)
from akv_helpers.names import is_union_identity_name
from akv_helpers.profile import Profile
from akv_helpers.steps import step_place

__all__ = ["resolve_principal"]


def _choose_fix() -> str:
    return (
        "Choose the identity: run the doctor again with its principal ID "
        "(`akv-onboard doctor <secret identifier> --identity <principal ID>`), or "
        f"pick it in {step_place('identity')}."
    )


@fact("identities", "list the managed identities")
def _fetch_identities(run: FactSource) -> list[IdentityCandidate]:
    connection = cast(Connection, run.fact("connection"))
    profile = run.outcome("profile")
    group = profile.value.resource_group if profile.available else None
    where = f"resource group {group}" if group else "the subscription"
    run.report_progress(f"Finding the managed identities in {where}")
    return find_identities(connection, group)


@fact("principal", "choose the principal")
def _fetch_principal(run: FactSource) -> ResolvedPrincipal:
    run.fact("connection")
    return resolve_principal(run)


@fact("directory", "look up principals in the directory")
def _fetch_directory(run: FactSource) -> dict[str, dict[str, Any]]:
    connection = cast(Connection, run.fact("connection"))
    if connection.simulator is None:
        raise FactUnavailableError(
            "directory",
            "the kit does not query Microsoft Graph, so it cannot look principals "
            "up in the directory",
            "Look the principal up yourself: `az ad sp show --id <principal ID>`.",
        )
    run.report_progress("Looking up the principals in the directory")
    return {
        str(entry.get("id", "")).lower(): entry
        for entry in connection.simulator.principals()
    }


def _typed_text(inputs: DiagnosisInputs) -> str:
    # What the user typed comes first, so that a client ID typed for a principal
    # ID is reported even when a caller resolved it already.
    return (inputs.identity_text or inputs.principal_id or "").strip()


def _candidates(run: FactSource) -> list[IdentityCandidate]:
    outcome = run.outcome("identities")
    return list(outcome.value) if outcome.available else []


def resolve_principal(run: FactSource) -> ResolvedPrincipal:
    """Choose the principal whose access the doctor checks.

    What the user typed wins: a principal ID, a client ID, a resource ID or the
    name of an identity. Without it, the session profile's identity is used,
    then the only identity named like Union's.

    Raises
    ------
    FactUnavailableError
        If nothing identifies one principal (none found, or several and none
        chosen), or the typed text names no identity.
    """
    text = _typed_text(run.inputs)
    if text:
        return _resolve_typed(run, text)

    profile_outcome = run.outcome("profile")
    profile = cast(Profile, profile_outcome.value)
    candidates = _candidates(run)
    if profile_outcome.available and profile.identity is not None:
        principal_id = profile.identity.principal_id.lower()
        match = next((c for c in candidates if c.principal_id == principal_id), None)
        return ResolvedPrincipal(
            principal_id,
            "",
            "nothing",
            match,
            "profile",
            f"Using the principal ID {principal_id} of {profile.identity.name!r} "
            "from the session profile.",
        )
    if len(candidates) == 1:
        only = candidates[0]
        return ResolvedPrincipal(
            only.principal_id,
            "",
            "nothing",
            only,
            "only match",
            f"Using the principal ID {only.principal_id} of {only.name!r}, the only "
            "identity named like Union's data-plane identity.",
        )
    if candidates:
        names = ", ".join(f"{c.name} ({c.resource_group})" for c in candidates)
        raise FactUnavailableError(
            "principal",
            f"several identities match Union's naming and none was chosen: {names}",
            _choose_fix(),
        )
    identities = run.outcome("identities")
    raise FactUnavailableError(
        "principal", f"no identity to check: {identities.reason}", identities.fix
    )


def _resolve_typed(run: FactSource, text: str) -> ResolvedPrincipal:
    shown = displayable(text)
    candidates = _candidates(run)
    if text.lower().startswith("/subscriptions/"):
        return _resolve_resource_id(run, text, candidates)

    try:
        value = validate_guid(text, "principal ID")
    except InvalidIdError:
        value = None
    if value is None:
        matches = [c for c in candidates if c.name.lower() == text.lower()]
        if len(matches) == 1:
            found = matches[0]
            return ResolvedPrincipal(
                found.principal_id,
                shown,
                "name",
                found,
                "typed",
                f"{shown!r} is the identity in {found.resource_group}; its "
                f"principal ID is {found.principal_id}.",
            )
        if matches:
            reason = f"several identities are named {shown!r}"
            raise FactUnavailableError("principal", reason, _choose_fix())
        return _resolve_anywhere(run, text)

    for candidate in candidates:
        if value == candidate.principal_id:
            return ResolvedPrincipal(
                value,
                shown,
                "principal ID",
                candidate,
                "typed",
                f"{value} is the principal ID of {candidate.name!r}.",
            )
        if value == candidate.client_id:
            return ResolvedPrincipal(
                candidate.principal_id,
                shown,
                "client ID",
                candidate,
                "typed",
                f"{value} is the client ID of {candidate.name!r}, so the doctor "
                f"checks its principal ID {candidate.principal_id}: "
                f"{CLIENT_ID_EXPLANATION}.",
            )
    return _resolve_anywhere(run, text)


_NOT_UNION_NAME = (
    " Its name is not like Union's data-plane identity ('userflyterole', "
    "'<prefix>-userflyterole' or 'flyteuser…'), so check that Union's tasks run "
    "as it."
)


def _resolve_anywhere(run: FactSource, text: str) -> ResolvedPrincipal:
    """Resolve `text` among every user-assigned identity of the subscription."""
    shown = displayable(text)
    connection = cast(Connection, run.fact("connection"))
    profile = run.outcome("profile")
    known = cast(Profile, profile.value).identity if profile.available else None
    try:
        choice = resolve_typed_principal(connection, text, known)
    except KitError as exc:
        raise FactUnavailableError("principal", exc.message, exc.fix) from None
    if choice.identity is None:
        return ResolvedPrincipal(
            choice.principal_id,
            shown,
            "unknown",
            None,
            "typed",
            f"{choice.principal_id} matches no user-assigned identity the kit can "
            "see in the subscription; the doctor checks it as a principal ID.",
        )
    explanation = choice.explanation
    if not is_union_identity_name(choice.identity.name):
        explanation += _NOT_UNION_NAME
    return ResolvedPrincipal(
        choice.principal_id,
        shown,
        choice.typed_kind if choice.typed_kind != "nothing" else "principal ID",
        choice.identity,
        "typed",
        explanation,
    )


def _resolve_resource_id(
    run: FactSource, text: str, candidates: list[IdentityCandidate]
) -> ResolvedPrincipal:
    shown = displayable(text)
    wanted = text.rstrip("/").lower()
    found = next((c for c in candidates if c.resource_id.lower() == wanted), None)
    if found is None:
        return _resolve_anywhere(run, text)
    return ResolvedPrincipal(
        found.principal_id,
        shown,
        "resource ID",
        found,
        "typed",
        f"That is the resource ID of {found.name!r}, so the doctor checks its "
        f"principal ID {found.principal_id}: {CLIENT_ID_EXPLANATION}.",
    )


def _describe(candidate: IdentityCandidate) -> str:
    return (
        f"{candidate.name} in {candidate.resource_group} (principal ID "
        f"{candidate.principal_id}, client ID {candidate.client_id})"
    )


@check("identity.none-found", needs=("connection",), title="Data-plane identity")
def check_none_found(context: CheckContext) -> Finding:
    """Report whether any identity is named like Union's data-plane identity."""
    outcome = context.outcome("identities")
    expected = (
        "A user-assigned managed identity named 'userflyterole', "
        "'<prefix>-userflyterole' or 'flyteuser…' in the Union data-plane "
        "resource group."
    )
    if outcome.available:
        found = cast("list[IdentityCandidate]", outcome.value)
        names = "; ".join(_describe(candidate) for candidate in found)
        return context.finding(
            Status.OK,
            f"Found {len(found)} matching identit{'y' if len(found) == 1 else 'ies'}"
            f": {names}.",
            expected,
        )
    if not isinstance(outcome.error, IdentityNotFoundError):
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"Could not list the identities: {outcome.reason}",
            expected,
            outcome.fix,
        )
    # A principal typed by the user, or kept in the profile, is still checked.
    principal = context.outcome("principal")
    status = Status.WARNING if principal.available else Status.FAILED
    observed = outcome.reason
    if principal.available:
        chosen = cast(ResolvedPrincipal, principal.value)
        observed += f" The doctor checks {chosen.principal_id} instead."
    return context.finding(
        status,
        observed,
        expected,
        outcome.fix,
        commands=(
            'az identity list --query "[].{name:name, group:resourceGroup, '
            'principalId:principalId, clientId:clientId}" --output table',
        ),
    )


@check("identity.several", needs=("connection",), title="Identity choice")
def check_several(context: CheckContext) -> Finding:
    """Warn when several identities match and none was chosen."""
    outcome = context.outcome("identities")
    expected = "Exactly one identity is checked, the one Union's tasks run as."
    if not outcome.available:
        return context.finding(
            Status.NOT_APPLICABLE, "No identity was found to choose from.", expected
        )
    found = cast("list[IdentityCandidate]", outcome.value)
    if len(found) == 1:
        return context.finding(
            Status.OK, f"Only one identity matches: {_describe(found[0])}.", expected
        )
    listed = "; ".join(_describe(candidate) for candidate in found)
    principal = context.outcome("principal")
    if principal.available:
        chosen = cast(ResolvedPrincipal, principal.value)
        return context.finding(
            Status.OK,
            f"{len(found)} identities match ({listed}); the doctor checks "
            f"{chosen.principal_id}. {chosen.explanation}",
            expected,
        )
    return context.finding(
        Status.WARNING,
        f"{len(found)} identities match Union's naming and none was chosen: "
        f"{listed}. The kit never picks one for you.",
        expected,
        _choose_fix(),
        evidence={c.name: c.principal_id for c in found},
    )


@check("identity.wrong-id-kind", needs=("principal",), title="Kind of ID given")
def check_wrong_id_kind(context: CheckContext) -> Finding:
    """Detect a client ID or resource ID typed where the principal ID belongs."""
    principal = context.principal
    expected = (
        "The principal ID (object ID) of the identity, which RBAC uses; the "
        "client ID is what workload identity uses."
    )
    if principal.typed_kind in ("client ID", "resource ID"):
        return context.finding(
            Status.WARNING,
            f"You gave the {principal.typed_kind} {principal.typed_text} where the "
            f"principal ID belongs; the kit resolved it and uses the principal ID "
            f"{principal.principal_id}. {principal.explanation}",
            expected,
            f"Nothing blocks the read. Use the principal ID {principal.principal_id} "
            "in role assignments you make yourself (the doctor used it for the "
            "other checks).",
            evidence={
                "given": principal.typed_text,
                "kind given": principal.typed_kind,
                "principal ID": principal.principal_id,
            },
        )
    if principal.typed_kind == "unknown":
        owner = _client_id_owner(context, principal.principal_id)
        if owner is not None:
            object_id, name = owner
            return context.finding(
                Status.FAILED,
                f"You gave {principal.principal_id}, which is the client ID "
                f"(application ID) of {name!r} in the directory, not a principal "
                "ID.",
                expected,
                f"Use the principal ID {object_id} of {name!r}.",
                evidence={"given": principal.principal_id, "principal ID": object_id},
            )
    return context.finding(Status.OK, principal.explanation, expected)


def _client_id_owner(context: CheckContext, value: str) -> tuple[str, str] | None:
    outcome = context.outcome("directory")
    if not outcome.available:
        return None
    for object_id, entry in cast("dict[str, dict[str, Any]]", outcome.value).items():
        if str(entry.get("app_id", "")).lower() == value and object_id != value:
            return object_id, str(entry.get("display_name", object_id))
    return None


@check(
    "identity.principal-unresolved",
    needs=("principal",),
    title="Principal in the directory",
)
def check_principal_unresolved(context: CheckContext) -> Finding:
    """Check that the principal ID belongs to an identity or a directory object."""
    principal = context.principal
    expected = "The principal ID belongs to a managed identity or another object "
    expected += "in the tenant's directory."
    if principal.candidate is not None:
        return context.finding(
            Status.OK,
            f"{principal.principal_id} is the principal ID of "
            f"{_describe(principal.candidate)}.",
            expected,
        )
    outcome = context.outcome("directory")
    if not outcome.available:
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"{principal.principal_id} is no ID of an identity found, and "
            f"{outcome.reason}.",
            expected,
            outcome.fix.replace("<principal ID>", principal.principal_id),
            commands=(f"az ad sp show --id {principal.principal_id}",),
        )
    entry = cast("dict[str, dict[str, Any]]", outcome.value).get(principal.principal_id)
    if entry is not None and entry.get("replicated", True):
        return context.finding(
            Status.OK,
            f"{principal.principal_id} is the {entry.get('type', 'directory')} "
            f"object {entry.get('display_name', '')!r} in the directory, but not an "
            "identity named like Union's.",
            expected,
        )
    return context.finding(
        Status.FAILED,
        f"{principal.principal_id} matches no identity found and no object in "
        "the directory, so a role assignment to it would grant nobody access.",
        expected,
        "Copy the principal ID (object ID) from the identity's overview page "
        "(`az identity show --resource-group <group> --name <name> --query "
        "principalId`), or leave the identity empty to let the doctor find it.",
        evidence={"principal ID": principal.principal_id},
        commands=(
            'az identity list --query "[].{name:name, principalId:principalId}" '
            "--output table",
        ),
    )
