"""Run the doctor's checks, sharing the facts they need.

A check is a function registered with `check`. It receives a `CheckContext` and
returns one `Finding`. Facts (the parsed identifier, the vault, the secret's
metadata, the role assignments and so on) are fetched on first use, once per run,
and shared by every check. `FACT_NAMES` lists them, and `fact` registers the
function that fetches each. Both are defined in `akv_helpers.diagnose.facts`.
Independent checks run in parallel. A check never breaks the run: a fact it needs
that could not be fetched, or an error it raises, becomes a "could not check"
finding that names the reason.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from akv_helpers.diagnose.facts import (
    FACT_NAMES,
    AssignmentRecord,
    DataPlaneProbe,
    FactOutcome,
    FactSource,
    FactUnavailableError,
    ProgressCallback,
    ResolvedPrincipal,
    fact,
    fetch_fact,
    kit_error_from,
)
from akv_helpers.diagnose.findings import (
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    sort_findings,
)
from akv_helpers.diagnose.resolved import kit_changes, resolved_ids

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
_F = TypeVar("_F", bound=CheckFunction)


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
    except Exception as exc:  # one check must never stop the others
        error = kit_error_from(exc, f"run the check {entry.id}")
        logger.debug(
            "The check %s raised %s at %s",
            entry.id,
            type(exc).__name__,
            _raised_at(exc),
        )
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


def _raised_at(exc: BaseException, frames: int = 4) -> str:
    """Return where `exc` was raised: its innermost frames, innermost first.

    Only the locations are named, never the exception's message or the source
    lines, so the log carries no value the check was working on.
    """
    summary = traceback.extract_tb(exc.__traceback__)[-frames:]
    places = [
        f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
        for frame in summary
    ]
    return " < ".join(reversed(places)) or "an unknown place"


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
    # Importing the package registers the doctor's own checks and facts.
    importlib.import_module("akv_helpers.diagnose")

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
