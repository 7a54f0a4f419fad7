"""Facts the doctor's checks share, and the per-run store that fetches them.

A fact (the parsed identifier, the vault, the secret's metadata, the role
assignments and so on) is fetched on first use, once per run, and shared by
every check. `FACT_NAMES` lists the facts, `fact` registers the function that
fetches each, and `FactSource` stores a run's outcomes. `fetch_fact` turns a
fetcher's error into an outcome that names the reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from akv_helpers.connection import describe_http_error
from akv_helpers.errors import AzureRequestError, KitError
from akv_helpers.identifiers import scope_contains

if TYPE_CHECKING:
    from akv_helpers.connection import Connection
    from akv_helpers.diagnose.findings import DiagnosisInputs
    from akv_helpers.identities import IdentityCandidate

__all__ = [
    "FACT_NAMES",
    "AssignmentRecord",
    "DataPlaneProbe",
    "FactOutcome",
    "FactSource",
    "FactUnavailableError",
    "Fetcher",
    "PrincipalKind",
    "ProgressCallback",
    "ResolvedPrincipal",
    "VersionAttributes",
    "VersionListing",
    "fact",
    "fetch_fact",
    "kit_error_from",
]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]

FACT_NAMES: tuple[str, ...] = (
    "identifier",
    "connection",
    "profile",
    "cloud",
    "identities",
    "principal",
    "directory",
    "vault",
    "secret",
    "assignments",
    "scope_assignments",
    "probe",
    "versions",
    "identity_read",
    "sign_in",
    "task_source",
)

PrincipalKind = Literal[
    "principal ID", "client ID", "resource ID", "name", "nothing", "unknown"
]


class FactUnavailableError(KitError):
    """A fact a check needs could not be fetched; the message is the reason.

    Parameters
    ----------
    fact
        Name of the fact, one of `FACT_NAMES`.
    reason
        Why it is unavailable, in plain words.
    fix
        What to do about it.
    """

    def __init__(self, fact: str, reason: str, fix: str = "") -> None:
        super().__init__(reason, fix)
        self.fact = fact


@dataclass(frozen=True)
class FactOutcome:
    """The value of a fact, or why it is unavailable.

    Attributes
    ----------
    value
        The fact; ``None`` when unavailable (and for some facts when absent,
        such as ``task_source`` without a task).
    reason
        Why the fact is unavailable, in plain words; empty when available.
    fix
        What would make it available.
    error
        The kit error that made it unavailable, if one did. It contains
        strings only, so checks may read its `code` and `inner_code`.
    """

    value: Any = None
    reason: str = ""
    fix: str = ""
    error: KitError | None = None

    @property
    def available(self) -> bool:
        """Whether the fact was fetched."""
        return not self.reason


@dataclass(frozen=True)
class ResolvedPrincipal:
    """The principal whose access the doctor checks, and how it was chosen.

    Attributes
    ----------
    principal_id
        Principal ID (object ID), lowercase.
    typed_text
        What the user typed, escaped for display; empty when nothing was typed.
    typed_kind
        What the typed text turned out to be; ``"unknown"`` for a GUID that is
        no ID of any identity found, ``"nothing"`` when nothing was typed.
    candidate
        The managed identity the principal belongs to, when one was found.
    source
        ``"typed"``, ``"profile"`` (the session profile's identity) or
        ``"only match"`` (the only identity named like Union's).
    explanation
        One sentence for the user.
    """

    principal_id: str
    typed_text: str
    typed_kind: PrincipalKind
    candidate: IdentityCandidate | None
    source: Literal["typed", "profile", "only match"]
    explanation: str


@dataclass(frozen=True)
class AssignmentRecord:
    """One role assignment, with what the doctor needs to judge it.

    Attributes
    ----------
    assignment_id, name, scope
        ARM ID, name and scope of the assignment.
    role_guid
        GUID of the role definition, lowercase.
    role_name
        Built-in role name, or ``None`` for a role the kit does not know.
    principal_id, principal_type
        The assignee; Azure reports ``"Unknown"`` for a deleted principal.
    grants_read
        Whether the role's data actions cover reading a secret's value.
    created_on
        When the assignment was created, or ``None`` when Azure returned no time.
    """

    assignment_id: str
    name: str
    scope: str
    role_guid: str
    role_name: str | None
    principal_id: str
    principal_type: str | None
    grants_read: bool
    created_on: datetime | None = None

    def covers(self, scope: str) -> bool:
        """Return whether the assignment lets its principal read at `scope`."""
        return self.grants_read and scope_contains(self.scope, scope)


@dataclass(frozen=True)
class VersionAttributes:
    """The attributes of one version of a secret, as the data plane lists them.

    Attributes
    ----------
    version
        Version, lowercase.
    enabled
        Whether the version is enabled.
    not_before, expires
        Activation (nbf) and expiry (exp) dates, or ``None`` when not set.
    """

    version: str
    enabled: bool
    not_before: datetime | None = None
    expires: datetime | None = None


@dataclass(frozen=True)
class VersionListing:
    """The versions of a secret with their attributes, and who could list them.

    Attributes
    ----------
    versions
        The versions by their lowercase ID.
    listed_by
        ``"you"`` (the signed-in operator) or ``"the identity"`` (simulator
        mode, when your own listing was denied).
    """

    versions: dict[str, VersionAttributes]
    listed_by: str


@dataclass(frozen=True)
class DataPlaneProbe:
    """The operator's request to list the secret's versions on the data plane.

    Listing versions returns metadata only, never a value. Its error code
    distinguishes the vault's firewall, private link and permission checks.

    Attributes
    ----------
    reached
        Whether the vault returned an HTTP response.
    status, code, inner_code
        HTTP status and Key Vault error codes; ``None`` on success.
    message
        Key Vault's error message on one line, or the reason no response came.
    versions
        Versions of the secret, lowercase, when the listing succeeded.
    client_address
        The caller's address as the vault's firewall saw it, when the
        error message contains it.
    attributes
        The attributes of each version, when the listing succeeded.
    """

    reached: bool
    status: int | None = None
    code: str | None = None
    inner_code: str | None = None
    message: str = ""
    versions: tuple[str, ...] | None = None
    client_address: str | None = None
    attributes: tuple[VersionAttributes, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the listing succeeded."""
        return self.versions is not None


def kit_error_from(exc: BaseException, action: str) -> KitError:
    """Convert any exception into a kit error that is safe to show.

    Kit errors are returned as they are and SDK errors are described by their
    status and codes. For any other exception only its type is named, because
    its text could carry a value the kit must not show.

    Parameters
    ----------
    exc
        The exception.
    action
        What was being done, such as ``"list the key vaults"``.
    """
    if isinstance(exc, KitError):
        return exc
    if isinstance(exc, HttpResponseError):
        return describe_http_error(exc, action)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return AzureRequestError(
            f"Could not {action}: no response ({type(exc).__name__}).",
            "Check the network connection, or that the simulator is running "
            "(`akv-onboard simulator status`).",
        )
    return KitError(
        f"Could not {action}: unexpected {type(exc).__name__}.",
        "Run the doctor again; if it happens again, report it with the steps "
        "that led to it.",
    )


Fetcher = Callable[["FactSource"], Any]
_FETCHERS: dict[str, tuple[str, Fetcher]] = {}


def fact(name: str, action: str) -> Callable[[Fetcher], Fetcher]:
    """Register the decorated function as the way to fetch the fact `name`.

    The check modules register the facts of their domain. A fetcher receives a
    `FactSource` and returns the value, or raises a `KitError` whose message
    becomes the reason the fact is unavailable. Fetchers must not form a cycle
    (a fact whose fetcher needs, directly or not, the fact itself), because each
    fact is fetched under its own lock.

    Parameters
    ----------
    name
        One of `FACT_NAMES`.
    action
        What fetching does, such as ``"find the vault"``, for error messages.

    Raises
    ------
    ValueError
        If `name` is not in `FACT_NAMES`.
    """
    if name not in FACT_NAMES:
        raise ValueError(f"Unknown fact {name!r}; use one of {FACT_NAMES}.")

    def register(function: Fetcher) -> Fetcher:
        _FETCHERS[name] = (action, function)
        return function

    return register


def fetch_fact(name: str, run: FactSource) -> FactOutcome:
    """Fetch the fact `name` for `run`, turning any error into its outcome."""
    if name not in _FETCHERS:
        return FactOutcome(reason=f"the kit has no way to fetch the fact {name!r}")
    action, function = _FETCHERS[name]
    try:
        return FactOutcome(function(run))
    except FactUnavailableError as exc:
        return FactOutcome(reason=exc.message, fix=exc.fix)
    except Exception as exc:  # a fact's error becomes its reason
        error = kit_error_from(exc, action)
        logger.debug("Could not %s: %s", action, type(exc).__name__)
        return FactOutcome(reason=error.message, fix=error.fix, error=error)


class FactSource:
    """The inputs and facts of one run, shared by every check and fetcher.

    Attributes
    ----------
    connection
        Signed-in connection, or ``None`` when the doctor runs offline.
    inputs
        What the user gave the doctor.
    wait_for_propagation
        Seconds a check may wait for a recent grant to take effect.
    """

    def __init__(
        self,
        connection: Connection | None,
        inputs: DiagnosisInputs,
        progress: ProgressCallback | None,
        wait_for_propagation: float,
    ) -> None:
        self.connection = connection
        self.inputs = inputs
        self.wait_for_propagation = wait_for_propagation
        self._progress = progress
        self._progress_lock = threading.Lock()
        self._outcomes: dict[str, FactOutcome] = {}
        self._locks = {name: threading.Lock() for name in FACT_NAMES}

    def report_progress(self, step: str) -> None:
        """Pass a plain-words step name to the caller's progress callback."""
        if self._progress is None:
            return
        with self._progress_lock:
            try:
                self._progress(step)
            except Exception:  # a display problem must not stop the run
                logger.debug("The progress callback raised; ignoring it")

    def outcome(self, name: str) -> FactOutcome:
        """Return the outcome of the fact `name`, fetching it on first use."""
        if name not in self._locks:
            raise ValueError(f"Unknown fact {name!r}; use one of {FACT_NAMES}.")
        # A fetcher waits here for the facts it needs. The fetchers form no cycle,
        # which `fact` requires, so no two threads wait for each other.
        with self._locks[name]:
            if name not in self._outcomes:
                self._outcomes[name] = fetch_fact(name, self)
            return self._outcomes[name]

    def fact(self, name: str) -> Any:
        """Return the value of the fact `name`.

        Raises
        ------
        FactUnavailableError
            If the fact could not be fetched.
        """
        outcome = self.outcome(name)
        if not outcome.available:
            raise FactUnavailableError(name, outcome.reason, outcome.fix)
        return outcome.value

    def fetched(self, name: str) -> FactOutcome | None:
        """Return the outcome of `name` if a check already needed it."""
        return self._outcomes.get(name)
