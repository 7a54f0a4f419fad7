"""Waiting for a new role assignment to take effect on the Key Vault data plane.

Azure documents that a role assignment can take up to 10 minutes to take effect.
Until then Key Vault answers the identity's read with 403 ``ForbiddenByRbac``,
which looks exactly like a missing grant. `wait_for_access` tells the two apart by
the age of the kit's assignment: within the window it polls the read as the
identity, with backoff, for a bounded time; it never creates an assignment.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal

from akv_helpers.identifiers import parse_secret_scope

if TYPE_CHECKING:
    from akv_helpers.connection import Connection
    from akv_helpers.grant_plan import GrantPlan

# The Azure SDK is imported inside the functions, so that `flyte_task` can use
# the constants here without loading it.

__all__ = [
    "PROPAGATION_WINDOW_SECONDS",
    "AccessWait",
    "forbidden_assignment_line",
    "kit_assignment_age",
    "wait_for_access",
]

logger = logging.getLogger(__name__)

# "Role assignment changes can take up to 10 minutes to take effect", from the
# Azure RBAC troubleshooting guide (learn.microsoft.com/azure/role-based-access-
# control/troubleshooting).
PROPAGATION_WINDOW_SECONDS = 600.0

AccessStatus = Literal["readable", "denied", "timed out", "unknown"]
ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class AccessWait:
    """Outcome of `wait_for_access`.

    Attributes
    ----------
    status
        ``"readable"`` (the identity read the secret), ``"denied"`` (denied for a
        reason waiting does not cure), ``"timed out"`` (still denied within the
        propagation window when the time ran out) or ``"unknown"`` (the kit
        cannot read as the identity, in Azure mode).
    message
        What happened, in plain words.
    attempts
        Reads sent as the identity.
    waited_seconds
        Time spent, in seconds.
    assignment_age_seconds
        Age of the kit's assignment when the wait ended, or ``None`` when it is
        unknown or missing.
    code, inner_code
        Error codes of the last denied read.
    """

    status: AccessStatus
    message: str
    attempts: int = 0
    waited_seconds: float = 0.0
    assignment_age_seconds: float | None = None
    code: str | None = None
    inner_code: str | None = None

    @property
    def readable(self) -> bool:
        """Whether the identity could read the secret."""
        return self.status == "readable"


def _assignment_created_at(connection: Connection, plan: GrantPlan) -> datetime | None:
    from azure.core.exceptions import ResourceNotFoundError

    from akv_helpers.connection import azure_errors

    operations = connection.authorization().role_assignments
    with azure_errors("read the kit's role assignment"):
        try:
            assignment = operations.get(plan.scope, plan.assignment_name)
        except ResourceNotFoundError:
            return None
    created = getattr(assignment, "created_on", None)
    if not isinstance(created, datetime):
        return None
    return created if created.tzinfo else created.replace(tzinfo=timezone.utc)


def _age(created: datetime | None) -> float | None:
    if created is None:
        return None
    return (datetime.now(timezone.utc) - created).total_seconds()


def _read_scope(plan: GrantPlan) -> str:
    """Return the scope of the secret the identity reads.

    A vault-wide plan is assigned at the vault, but the wait still reads the one
    secret the plan was made for.
    """
    return plan.secret_scope or plan.scope


def _vault_url(connection: Connection, plan: GrantPlan) -> str:
    from akv_helpers.connection import azure_errors

    parts = parse_secret_scope(_read_scope(plan))
    with azure_errors("read the vault"):
        vault = connection.keyvault_mgmt().vaults.get(
            parts.resource_group, parts.vault_name
        )
    return str(vault.properties.vault_uri)


def _read_once(
    connection: Connection, plan: GrantPlan, vault_url: str
) -> tuple[str | None, str | None]:
    """Read the secret as the identity; return the error codes, or Nones."""
    from azure.core.exceptions import (
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from akv_helpers.http_errors import (
        describe_http_error,
        describe_transport_error,
        error_codes,
    )

    credential = connection.identity_credential(plan.principal_id)
    client = connection.secret_client(vault_url, credential)
    secret_name = parse_secret_scope(_read_scope(plan)).secret_name
    action = f"read the secret {secret_name} as the identity {plan.principal_id}"
    try:
        # Only the outcome matters; the value is dropped at once.
        client.get_secret(secret_name)
    except HttpResponseError as exc:
        if exc.status_code != 403:
            # Not an access decision: a give-up after retries, or another failure.
            raise describe_http_error(exc, action) from exc
        code, inner = error_codes(exc)
        return code or f"HTTP {exc.status_code}", inner
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise describe_transport_error(exc, action) from exc
    finally:
        client.close()
    return None, None


def kit_assignment_age(connection: Connection, plan: GrantPlan) -> float | None:
    """Return the age of the kit's assignment for `plan` in seconds, or None.

    One request reads the assignment with the kit's deterministic name. None
    means that it does not exist or that Azure did not return its creation
    time.

    Raises
    ------
    AzureRequestError
        If reading the assignment fails for another reason than 404.
    """
    return _age(_assignment_created_at(connection, plan))


# Key Vault's ForbiddenByRbac message has a line "Assignment: (not found)" or
# "Assignment: <ID>"; the line only adds evidence, the code decides.
_ASSIGNMENT_LINE = re.compile(r"^\s*Assignment:\s*(.+?)\s*$", re.MULTILINE)


def forbidden_assignment_line(message: str) -> str | None:
    r"""Return the value of the ``Assignment:`` line of a Key Vault 403 message.

    Parameters
    ----------
    message
        The error message of a 403 ``ForbiddenByRbac`` response.

    Returns
    -------
    str or None
        Such as ``"(not found)"``, or None when the message has no such line.

    Examples
    --------
    >>> forbidden_assignment_line("Action: 'x'\r\nAssignment: (not found)\r\n")
    '(not found)'
    """
    found = _ASSIGNMENT_LINE.search(message)
    return found.group(1) if found else None


def _unknown_in_azure(age: float | None) -> AccessWait:
    if age is None:
        said = "The kit's role assignment was not found."
    else:
        said = f"The kit's role assignment is {round(age)} s old."
    window = int(PROPAGATION_WINDOW_SECONDS // 60)
    return AccessWait(
        "unknown",
        f"In Azure mode the kit cannot sign in as the identity, so it cannot tell "
        f"whether the grant has taken effect. {said} Azure documents up to "
        f"{window} minutes; run the test task on the cluster after that.",
        assignment_age_seconds=age,
    )


def wait_for_access(
    connection: Connection,
    plan: GrantPlan,
    *,
    timeout: float = 120.0,
    progress: ProgressCallback | None = None,
    vault_url: str | None = None,
    first_delay: float = 1.0,
    max_delay: float = 15.0,
) -> AccessWait:
    """Wait until the identity can read the planned secret, or until `timeout`.

    The identity's read is retried, with a delay doubling from `first_delay`
    up to `max_delay`, only while Key Vault answers ``ForbiddenByRbac`` and
    the kit's assignment is younger than `PROPAGATION_WINDOW_SECONDS`. The
    function creates nothing.

    Parameters
    ----------
    connection
        Signed-in connection; reads as the identity need simulator mode.
    plan
        The plan whose assignment was granted.
    timeout
        Maximum time to wait, in seconds.
    progress
        Called with a plain-words line before each read.
    vault_url
        The vault URI; read from Azure Resource Manager when ``None``.
    first_delay, max_delay
        Backoff between reads, in seconds.

    Returns
    -------
    AccessWait
        The outcome; ``"unknown"`` in Azure mode, with the assignment's age.

    Raises
    ------
    AzureRequestError
        If reading the kit's assignment or the vault fails, or the identity's
        read fails with anything but a 403 access decision.
    """
    created = _assignment_created_at(connection, plan)
    if connection.simulator is None:
        return _unknown_in_azure(_age(created))

    url = vault_url or _vault_url(connection, plan)
    started = time.monotonic()
    delay = first_delay
    attempts = 0
    while True:
        attempts += 1
        if progress is not None:
            progress(f"Reading the secret as the identity (attempt {attempts})")
        code, inner = _read_once(connection, plan, url)
        waited = time.monotonic() - started
        age = _age(created)
        if code is None:
            logger.info("The grant %s has taken effect", plan.assignment_id)
            return AccessWait(
                "readable",
                f"The identity read the secret after {waited:.1f} s.",
                attempts,
                waited,
                age,
            )
        propagating = (
            inner == "ForbiddenByRbac"
            and age is not None
            and age < PROPAGATION_WINDOW_SECONDS
        )
        if not propagating:
            return AccessWait(
                "denied",
                _denied_message(code, inner, age),
                attempts,
                waited,
                age,
                code,
                inner,
            )
        remaining = timeout - waited
        if remaining <= 0:
            return AccessWait(
                "timed out",
                f"Still denied (ForbiddenByRbac) after {waited:.0f} s; the kit's "
                f"assignment is {round(age or 0)} s old, within Azure's "
                f"{int(PROPAGATION_WINDOW_SECONDS // 60)}-minute propagation window. "
                "Wait and check again; do not create another assignment.",
                attempts,
                waited,
                age,
                code,
                inner,
            )
        pause = min(delay, max_delay, remaining)
        if progress is not None:
            progress(
                f"Waiting for the grant to take effect: the assignment is "
                f"{round(age or 0)} s old; next read in {pause:.1f} s"
            )
        time.sleep(pause)
        delay = min(delay * 2, max_delay)


def _denied_message(code: str, inner: str | None, age: float | None) -> str:
    label = f"{code}/{inner}" if inner else code
    if inner == "ForbiddenByRbac" and age is None:
        return (
            f"The read was denied ({label}) and the kit's role assignment does not "
            "exist, so waiting will not help: grant the role first."
        )
    if inner == "ForbiddenByRbac":
        return (
            f"The read was denied ({label}) and the kit's assignment is "
            f"{round(age or 0)} s old, past the propagation window: another cause "
            "blocks the read (run the doctor)."
        )
    return f"The read was denied ({label}), which waiting does not cure."
