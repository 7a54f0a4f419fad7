"""Fetchers of the facts that no single check domain owns.

Importing this module registers the fetchers of the identifier, the connection,
the session profile, the cloud, the sign-in (``sign_in``, a token for Azure
Resource Manager), the role assignments and the task source. The
check modules register the facts of their own domain (the identities, the principal,
the directory, the vault, the secret and the data-plane probe).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from akv_helpers._verify_revoke import assignment_info
from akv_helpers.connection import azure_errors
from akv_helpers.diagnose.credentials import explain_credential_failure
from akv_helpers.diagnose.facts import (
    AssignmentRecord,
    FactSource,
    FactUnavailableError,
    ResolvedPrincipal,
    fact,
)
from akv_helpers.errors import InvalidSecretIdentifierError, displayable
from akv_helpers.identifiers import filter_value, parse_secret_identifier
from akv_helpers.profile import load_profile
from akv_helpers.steps import step_place

if TYPE_CHECKING:
    from akv_helpers.clouds import Cloud
    from akv_helpers.connection import Connection
    from akv_helpers.identifiers import SecretIdentifier
    from akv_helpers.profile import Profile
    from akv_helpers.vaults import VaultInfo

__all__ = ["assignment_record"]


@fact("identifier", "parse the secret identifier")
def _fetch_identifier(run: FactSource) -> SecretIdentifier:
    try:
        return parse_secret_identifier(run.inputs.identifier_text)
    except InvalidSecretIdentifierError:
        # The parser's fix can quote the text, which may be a secret value, and
        # every check that needs the identifier would repeat it.
        raise FactUnavailableError(
            "identifier",
            "the secret identifier is invalid (see the identifier format finding)",
            "Correct the secret identifier as the identifier format finding says, "
            "and run the doctor again.",
        ) from None


@fact("connection", "sign in")
def _fetch_connection(run: FactSource) -> Connection:
    if run.connection is None:
        raise FactUnavailableError(
            "connection",
            "not signed in, so the doctor sent no request to Azure or the simulator",
            f"Sign in (in {step_place('start')}, or connect in simulator mode) "
            "and run the doctor again.",
        )
    return run.connection


@fact("sign_in", "sign in")
def _fetch_sign_in(run: FactSource) -> bool:
    connection = cast("Connection", run.fact("connection"))
    try:
        connection.credential.get_token(*connection.credential_scopes)
    except Exception as exc:  # any failure means no token, explained below
        lines = explain_credential_failure(exc)
        detail = f" ({len(lines)} credentials tried)" if lines else ""
        raise FactUnavailableError(
            "sign_in",
            f"not signed in: the sign-in returned no token{detail}, so Azure "
            "answered no request (see the sign-in finding)",
            "Sign in with the Azure CLI where the kernel runs (`az login`), or "
            f"with a device code from {step_place('start')}, and run the doctor "
            "again.",
        ) from None
    return True


@fact("profile", "read the session profile")
def _fetch_profile(run: FactSource) -> Profile:
    return load_profile()


@fact("cloud", "read the signed-in cloud")
def _fetch_cloud(run: FactSource) -> Cloud:
    return cast("Connection", run.fact("connection")).cloud


def assignment_record(item: Any) -> AssignmentRecord:
    """Convert a role assignment returned by the SDK into an `AssignmentRecord`."""
    # The role lookup and the read decision are the services' own.
    info = assignment_info(item)
    return AssignmentRecord(
        assignment_id=info.assignment_id,
        name=info.name,
        scope=info.scope,
        role_guid=info.role_guid,
        role_name=info.role_name,
        principal_id=info.principal_id,
        principal_type=str(info.principal_type) if info.principal_type else None,
        grants_read=info.grants_read,
        created_on=item.created_on,
    )


def _list_assignments(
    run: FactSource, scope: str, query: str, step: str
) -> list[AssignmentRecord]:
    connection = cast("Connection", run.fact("connection"))
    run.report_progress(step)
    operations = connection.authorization().role_assignments
    with azure_errors("list the role assignments"):
        items = list(operations.list_for_scope(scope, filter=query))
    return [assignment_record(item) for item in items]


@fact("assignments", "list the principal's role assignments")
def _fetch_assignments(run: FactSource) -> list[AssignmentRecord]:
    vault = cast("VaultInfo", run.fact("vault"))
    principal = cast(ResolvedPrincipal, run.fact("principal"))
    # "principalId eq" at the vault returns assignments at, above and below it,
    # so grants on single secrets appear too.
    query = f"principalId eq '{filter_value(principal.principal_id, 'principal ID')}'"
    step = "Listing the role assignments of the principal on the vault"
    return _list_assignments(run, vault.scope, query, step)


@fact("scope_assignments", "list the role assignments on the secret")
def _fetch_scope_assignments(run: FactSource) -> list[AssignmentRecord]:
    vault = cast("VaultInfo", run.fact("vault"))
    identifier = cast("SecretIdentifier", run.fact("identifier"))
    # "atScope()" returns assignments at the scope and above it. Listing at the
    # secret, when it exists, also returns the vault's and its parents'.
    scope = vault.scope
    if run.outcome("secret").available:
        scope = vault.secret_scope(identifier.name)
    step = "Listing every role assignment on the secret and above it"
    return _list_assignments(run, scope, "atScope()", step)


@fact("task_source", "read the task file")
def _fetch_task_source(run: FactSource) -> str | None:
    if run.inputs.task_source is not None:
        return run.inputs.task_source
    if not run.inputs.task_path:
        return None
    path = Path(run.inputs.task_path).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise FactUnavailableError(
            "task_source",
            f"the task file '{displayable(str(path))}' could not be read ({reason})",
            "Check the path of the task file.",
        ) from None
