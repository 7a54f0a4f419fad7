"""Run the doctor's checks, sharing the facts they need.

A check is a function registered with `check`. It receives a `CheckContext` and
returns one `Finding`. Facts (the parsed identifier, the vault, the secret's
metadata, the role assignments and so on) are fetched on first use, once per run,
and shared by every check. `FACT_NAMES` lists them, and `fact` registers the
function that fetches each. Independent checks run in parallel. A check never
breaks the run: a fact it needs that could not be fetched, or an error it raises,
becomes a "could not check" finding that names the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from akv_helpers.connection import (
    azure_errors,
    describe_http_error,
)
from akv_helpers.diagnose.findings import (
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    sort_findings,
)
from akv_helpers.errors import (
    AzureRequestError,
    InvalidSecretIdentifierError,
    KitError,
    displayable,
)
from akv_helpers.identifiers import (
    filter_value,
    parse_secret_identifier,
    scope_contains,
)
from akv_helpers.profile import load_profile
from akv_helpers.roles import (
    BUILTIN_ROLES,
    GET_SECRET_DATA_ACTION,
    SECRETS_USER_ROLE_ID,
    role_allows,
    role_guid_from_definition_id,
)

if TYPE_CHECKING:
    from akv_helpers.clouds import Cloud
    from akv_helpers.connection import Connection
    from akv_helpers.identifiers import SecretIdentifier
    from akv_helpers.identities import IdentityCandidate
    from akv_helpers.profile import Profile
    from akv_helpers.vaults import SecretInfo, VaultInfo

__all__ = [
    "FACT_NAMES",
    "MAX_WORKERS",
    "REGISTRY",
    "AssignmentRecord",
    "CheckContext",
    "CheckFunction",
    "CheckRegistry",
    "DataPlaneProbe",
    "FactOutcome",
    "FactSource",
    "FactUnavailableError",
    "RegisteredCheck",
    "ResolvedPrincipal",
    "check",
    "diagnose",
    "fact",
    "fetch_fact",
    "kit_changes",
    "kit_error_from",
    "resolved_ids",
]

logger = logging.getLogger(__name__)

# Checks mostly wait on requests, so a few threads give the speed-up while the
# simulator and Azure's per-caller throttling stay comfortable.
MAX_WORKERS = 4

CheckFunction = Callable[["CheckContext"], Finding]
ProgressCallback = Callable[[str], None]
_F = TypeVar("_F", bound=CheckFunction)


# ---------------------------------------------------------------------------
# Facts shared by the checks

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
    """

    reached: bool
    status: int | None = None
    code: str | None = None
    inner_code: str | None = None
    message: str = ""
    versions: tuple[str, ...] | None = None
    client_address: str | None = None

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
    except Exception as exc:  # noqa: BLE001  # a fact's error becomes its reason
        error = kit_error_from(exc, action)
        logger.debug("Could not %s: %s", action, type(exc).__name__)
        return FactOutcome(reason=error.message, fix=error.fix, error=error)


@fact("identifier", "parse the secret identifier")
def _fetch_identifier(run: FactSource) -> SecretIdentifier:
    try:
        return parse_secret_identifier(run.inputs.identifier_text)
    except InvalidSecretIdentifierError as exc:
        raise FactUnavailableError(
            "identifier",
            "the secret identifier is invalid (see the identifier format finding)",
            exc.fix,
        ) from None


@fact("connection", "sign in")
def _fetch_connection(run: FactSource) -> Connection:
    if run.connection is None:
        raise FactUnavailableError(
            "connection",
            "not signed in, so the doctor sent no request to Azure or the simulator",
            "Sign in (notebook 00, or connect in simulator mode) and run the "
            "doctor again.",
        )
    return run.connection


@fact("profile", "read the session profile")
def _fetch_profile(run: FactSource) -> Profile:
    return load_profile()


@fact("cloud", "read the signed-in cloud")
def _fetch_cloud(run: FactSource) -> Cloud:
    return cast("Connection", run.fact("connection")).cloud


def _assignment_record(item: Any) -> AssignmentRecord:
    guid = role_guid_from_definition_id(str(item.role_definition_id))
    role = BUILTIN_ROLES.get(guid)
    return AssignmentRecord(
        assignment_id=str(item.id),
        name=str(item.name),
        scope=str(item.scope),
        role_guid=guid,
        role_name=role.name if role else None,
        principal_id=str(item.principal_id).lower(),
        principal_type=str(item.principal_type) if item.principal_type else None,
        grants_read=bool(role and role_allows(role, GET_SECRET_DATA_ACTION, data=True)),
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
    return [_assignment_record(item) for item in items]


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


@dataclass(frozen=True)
class RegisteredCheck:
    """A check function with its ID, title and the facts it needs.

    Attributes
    ----------
    id
        Stable dotted ID, such as ``"vault.permission-model"``.
    title
        Short noun phrase used in the finding.
    needs
        Names of facts (see `FACT_NAMES`) that must be available to run.
    function
        The check.
    """

    id: str
    title: str
    needs: tuple[str, ...]
    function: CheckFunction


class CheckRegistry:
    """An ordered set of checks; the doctor's own checks live in `REGISTRY`."""

    def __init__(self) -> None:
        self._checks: dict[str, RegisteredCheck] = {}
        self._lock = threading.Lock()

    def check(
        self, check_id: str, *, needs: Sequence[str] = (), title: str = ""
    ) -> Callable[[_F], _F]:
        """Register the decorated function as the check `check_id`.

        Parameters
        ----------
        check_id
            Stable dotted ID of the finding the check returns.
        needs
            Facts the check needs; when one is unavailable the check is not
            called and its finding is "could not check", naming the reason.
        title
            Short noun phrase for the finding; defaults to one made from the ID.

        Raises
        ------
        ValueError
            If `needs` names an unknown fact, or another function already has
            the ID.
        """
        unknown = [name for name in needs if name not in FACT_NAMES]
        if unknown:
            known = ", ".join(FACT_NAMES)
            raise ValueError(f"Unknown facts {unknown} for {check_id}; use {known}.")

        def register(function: _F) -> _F:
            entry = RegisteredCheck(
                check_id, title or _title_from_id(check_id), tuple(needs), function
            )
            with self._lock:
                previous = self._checks.get(check_id)
                if previous is not None and _qualname(previous.function) != _qualname(
                    function
                ):
                    raise ValueError(f"The check {check_id!r} is registered twice.")
                self._checks[check_id] = entry
            return function

        return register

    def __iter__(self) -> Iterator[RegisteredCheck]:
        with self._lock:
            return iter(list(self._checks.values()))

    def __len__(self) -> int:
        return len(self._checks)

    def ids(self) -> list[str]:
        """Return the IDs of the registered checks, in registration order."""
        return [entry.id for entry in self]


def _qualname(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _title_from_id(check_id: str) -> str:
    words = check_id.replace(".", " ").replace("-", " ").split()
    return " ".join(words).capitalize()


REGISTRY = CheckRegistry()
check = REGISTRY.check

# Findings are reported in the order a secret reaches the task: the identifier,
# the identity, the vault, the secret, the grant, the operator, then the notebook
# and the task code. Other prefixes come last.
_DOMAIN_ORDER = (
    "identifier",
    "identity",
    "vault",
    "secret",
    "grant",
    "operator",
    "environment",
    "task",
)


def _domain_rank(entry: RegisteredCheck) -> int:
    prefix = entry.id.split(".", 1)[0]
    if prefix in _DOMAIN_ORDER:
        return _DOMAIN_ORDER.index(prefix)
    return len(_DOMAIN_ORDER)


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
            except Exception:  # noqa: BLE001  # a display problem must not stop the run
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


class CheckContext:
    """The inputs and facts one check reads, and a way to report progress.

    Facts are fetched on first use and shared by every check of the run. The
    typed properties (`identifier`, `vault`, …) raise `FactUnavailableError`
    when the fact could not be fetched; the runner turns that into a "could not
    check" finding, so a check rarely needs to catch it.
    """

    def __init__(self, run: FactSource, entry: RegisteredCheck) -> None:
        self._run = run
        self._entry = entry

    @property
    def check_id(self) -> str:
        """ID of the running check."""
        return self._entry.id

    @property
    def inputs(self) -> DiagnosisInputs:
        """What the user gave the doctor."""
        return self._run.inputs

    @property
    def connection(self) -> Connection | None:
        """Signed-in connection, or ``None`` when the doctor runs offline."""
        return self._run.connection

    @property
    def wait_for_propagation(self) -> float:
        """Seconds a check may wait for a recent grant to take effect."""
        return self._run.wait_for_propagation

    def report_progress(self, step: str) -> None:
        """Tell the caller, in plain words, what the check is doing now."""
        self._run.report_progress(step)

    def outcome(self, name: str) -> FactOutcome:
        """Return the outcome of fetching the fact `name`, fetching it if needed."""
        return self._run.outcome(name)

    def fact(self, name: str) -> Any:
        """Return the value of the fact `name`.

        Raises
        ------
        FactUnavailableError
            If the fact could not be fetched; its message is the reason.
        """
        return self._run.fact(name)

    @property
    def identifier(self) -> SecretIdentifier:
        """The parsed secret identifier."""
        return cast("SecretIdentifier", self.fact("identifier"))

    @property
    def signed_in(self) -> Connection:
        """The connection; unavailable when the doctor runs offline."""
        return cast("Connection", self.fact("connection"))

    @property
    def profile(self) -> Profile:
        """The session profile."""
        return cast("Profile", self.fact("profile"))

    @property
    def cloud(self) -> Cloud:
        """The cloud the connection signed in to."""
        return cast("Cloud", self.fact("cloud"))

    @property
    def identities(self) -> list[IdentityCandidate]:
        """Managed identities named like Union's data-plane identity."""
        return cast("list[IdentityCandidate]", self.fact("identities"))

    @property
    def principal(self) -> ResolvedPrincipal:
        """The principal whose access is checked, and how it was chosen."""
        return cast(ResolvedPrincipal, self.fact("principal"))

    @property
    def directory(self) -> dict[str, dict[str, Any]]:
        """Directory objects by object ID (simulator only)."""
        return cast("dict[str, dict[str, Any]]", self.fact("directory"))

    @property
    def vault(self) -> VaultInfo:
        """The vault of the secret identifier."""
        return cast("VaultInfo", self.fact("vault"))

    @property
    def secret(self) -> SecretInfo:
        """The secret's metadata from its ARM resource, enabled or not."""
        return cast("SecretInfo", self.fact("secret"))

    @property
    def assignments(self) -> list[AssignmentRecord]:
        """The principal's role assignments at, above and below the vault."""
        return cast("list[AssignmentRecord]", self.fact("assignments"))

    @property
    def scope_assignments(self) -> list[AssignmentRecord]:
        """Every role assignment at or above the secret's scope.

        Listed at the vault's scope instead when the secret does not exist.
        """
        return cast("list[AssignmentRecord]", self.fact("scope_assignments"))

    @property
    def probe(self) -> DataPlaneProbe:
        """The operator's metadata-only request to the vault's data plane."""
        return cast(DataPlaneProbe, self.fact("probe"))

    @property
    def task_source(self) -> str | None:
        """Source of the user's task, or ``None`` when none was given."""
        return cast("str | None", self.fact("task_source"))

    def finding(
        self,
        status: Status,
        observed: str,
        expected: str,
        fix: str = "",
        *,
        evidence: dict[str, str] | None = None,
        commands: Sequence[str] = (),
    ) -> Finding:
        """Build this check's finding, with its ID and title filled in."""
        return Finding(
            self._entry.id,
            self._entry.title,
            status,
            observed,
            expected,
            fix,
            evidence=dict(evidence or {}),
            commands=tuple(commands),
        )


def _could_not_check(entry: RegisteredCheck, observed: str, fix: str) -> Finding:
    return Finding(
        entry.id,
        entry.title,
        Status.COULD_NOT_CHECK,
        observed,
        "The check runs once the reason it names is resolved.",
        fix,
    )


def _run_check(run: FactSource, entry: RegisteredCheck) -> Finding:
    context = CheckContext(run, entry)
    try:
        for name in entry.needs:
            context.fact(name)
        finding = entry.function(context)
    except FactUnavailableError as exc:
        return _could_not_check(entry, f"Could not check: {exc.message}", exc.fix)
    except Exception as exc:  # noqa: BLE001  # one check must never stop the others
        error = kit_error_from(exc, f"run the check {entry.id}")
        logger.debug("The check %s raised %s", entry.id, type(exc).__name__)
        return _could_not_check(
            entry, f"Could not check, because of an error: {error.message}", error.fix
        )
    if not isinstance(finding, Finding) or finding.id != entry.id:
        return _could_not_check(
            entry,
            f"Could not check: the check {entry.id} returned no finding of its own.",
            "",
        )
    return finding


def diagnose(
    connection: Connection | None,
    inputs: DiagnosisInputs,
    *,
    progress: ProgressCallback | None = None,
    wait_for_propagation: float = 0.0,
    registry: CheckRegistry | None = None,
) -> Diagnosis:
    """Run every check on the way from the secret to the task, and collect findings.

    Parameters
    ----------
    connection
        Signed-in connection, or ``None`` to run only the checks that need no
        request (the identifier and the task code); the others then report
        "could not check" because the doctor is not signed in.
    inputs
        What the user gave: the secret identifier, the identity, the task.
    progress
        Called with a plain-words step name, such as ``"Finding the vault
        kv-demo"``, as the run goes; it may be called from worker threads.
    wait_for_propagation
        Seconds a check may wait for a recent grant to take effect; 0 does not
        wait.
    registry
        Checks to run; defaults to the doctor's own, `REGISTRY`.

    Returns
    -------
    Diagnosis
        One finding per check, failures first, with the IDs the run resolved and
        the changes the kit made earlier.
    """
    # Importing the package registers the doctor's own checks.
    import akv_helpers.diagnose  # noqa: F401

    registry = REGISTRY if registry is None else registry
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    run = FactSource(connection, inputs, progress, max(0.0, wait_for_propagation))
    entries = sorted(registry, key=_domain_rank)
    run.report_progress(f"Running {len(entries)} checks")

    with ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="akv-diagnose") as pool:
        findings = list(pool.map(lambda entry: _run_check(run, entry), entries))

    run.report_progress("Writing up the findings")
    return Diagnosis(
        inputs=inputs,
        resolved=resolved_ids(run),
        findings=sort_findings(findings),
        changes=kit_changes(run),
        started_at=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_seconds=round(time.monotonic() - clock, 3),
        mode=connection.mode if connection is not None else "offline",
    )


def resolved_ids(run: FactSource) -> dict[str, str]:
    """Return the IDs the run resolved, from the facts the checks fetched."""
    resolved: dict[str, str] = {}

    def value(name: str) -> Any:
        outcome = run.fetched(name)
        return outcome.value if outcome is not None and outcome.available else None

    connection = value("connection")
    if connection is not None:
        resolved["subscription ID"] = str(connection.subscription_id)
        if connection.tenant_id:
            resolved["tenant ID"] = str(connection.tenant_id)
    identifier = value("identifier")
    if identifier is not None:
        resolved["secret URI"] = identifier.uri
    principal = value("principal")
    if principal is not None:
        resolved["principal ID"] = principal.principal_id
        if principal.candidate is not None:
            resolved["identity"] = principal.candidate.resource_id
            resolved["client ID"] = principal.candidate.client_id
    vault = value("vault")
    if vault is not None:
        resolved["vault resource ID"] = vault.resource_id
        resolved["permission model"] = vault.permission_model
        if vault.vault_uri:
            resolved["vault URI"] = vault.vault_uri
        if identifier is not None:
            resolved["secret scope"] = vault.secret_scope(identifier.name)
    secret = value("secret")
    if secret is not None and secret.current_version:
        resolved["current version"] = secret.current_version
    return resolved


_ASSIGNMENTS_SEGMENT = "/providers/microsoft.authorization/roleassignments/"


def kit_changes(run: FactSource) -> list[dict[str, Any]]:
    """Return the role assignment the session profile records, with commands.

    The role is read from the listed assignments when they include it, else
    it is the one the kit grants, Key Vault Secrets User.
    """
    outcome = run.outcome("profile")
    if not outcome.available or not outcome.value.assignment_id:
        return []
    profile = cast("Profile", outcome.value)
    assignment_id = str(profile.assignment_id)
    cut = assignment_id.lower().rfind(_ASSIGNMENTS_SEGMENT)
    scope = assignment_id[:cut] if cut > 0 else ""
    role_guid = SECRETS_USER_ROLE_ID
    listed = run.fetched("assignments")
    if listed is not None and listed.available:
        for record in listed.value:
            if record.assignment_id.lower() == assignment_id.lower():
                role_guid = record.role_guid
    role = BUILTIN_ROLES.get(role_guid)
    principal = profile.identity.principal_id if profile.identity else ""

    commands = [f"az role assignment list --scope {scope} --assignee {principal}"]
    if principal and scope:
        commands.insert(
            0,
            "az role assignment create "
            f"--assignee-object-id {principal} "
            "--assignee-principal-type ServicePrincipal "
            f"--role {role_guid} --scope {scope}",
        )
    if profile.assignment_created_by_kit:
        commands.append(f"az role assignment delete --ids {assignment_id}")
    return [
        {
            "kind": "role assignment",
            "assignment_id": assignment_id,
            "created_by_kit": profile.assignment_created_by_kit,
            "scope": scope,
            "principal_id": principal,
            "role": role.name if role else role_guid,
            "role_definition_guid": role_guid,
            "commands": commands,
        }
    ]
