"""Findings of the troubleshooting doctor, and the diagnosis that collects them.

This module is pure: it imports neither the Azure SDK nor the widgets, so the
report, the command line and the panel can all read a `Diagnosis`. A finding
contains strings only, besides the redacted copy that reports show when its text
quotes what the user typed. Its evidence is error codes, IDs, scopes and
assignment IDs, never a secret value or a token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from akv_helpers._text_checks import count_noun

__all__ = [
    "DECISIVE_DOMAINS",
    "Diagnosis",
    "DiagnosisInputs",
    "Finding",
    "STATUS_ORDER",
    "Status",
    "is_decisive",
    "sort_findings",
]


class Status(str, Enum):
    """Outcome of one check."""

    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    NOT_APPLICABLE = "not applicable"
    COULD_NOT_CHECK = "could not check"

    def __str__(self) -> str:
        return self.value


# Order of findings in every report: what needs action first.
STATUS_ORDER: tuple[Status, ...] = (
    Status.FAILED,
    Status.WARNING,
    Status.COULD_NOT_CHECK,
    Status.OK,
    Status.NOT_APPLICABLE,
)
_RANK = {status: rank for rank, status in enumerate(STATUS_ORDER)}

# Domains of the checks that decide whether the task can read the secret: a run
# in which one of them could not check confirms nothing. The task-code checks
# are not applicable, never "could not check", when no task is given.
DECISIVE_DOMAINS: tuple[str, ...] = ("identity", "vault", "secret", "grant", "task")
# Reasons quoted in the verdict, at most.
_MAX_REASONS = 3
_COULD_NOT_CHECK_PREFIX = "Could not check: "


def is_decisive(finding_id: str) -> bool:
    """Tell whether the check `finding_id` decides if the task can read the secret.

    Examples
    --------
    >>> is_decisive("grant.missing"), is_decisive("task.get-with-uri")
    (True, False)
    """
    return finding_id.split(".", 1)[0] in DECISIVE_DOMAINS


@dataclass(frozen=True)
class Finding:
    """The outcome of one check, in plain words.

    Attributes
    ----------
    id
        Stable dotted ID, such as ``"vault.permission-model"``.
    title
        Short noun phrase, such as ``"Vault permission model"``.
    status
        Outcome of the check.
    observed
        What the check saw, with the IDs and codes that prove it.
    expected
        What a working set-up looks like.
    fix
        What to do next; empty when the status is ok or not applicable.
    evidence
        Safe strings only: error codes, IDs, scopes and assignment IDs.
    commands
        Commands a person could run, such as the ``az`` command of the fix.
    redacted
        The finding as shared reports show it, when this one quotes text the
        user typed that a report must not repeat. ``None`` when reports show
        this finding itself.
    """

    id: str
    title: str
    status: Status
    observed: str
    expected: str
    fix: str = ""
    evidence: Mapping[str, str] = field(default_factory=dict)
    commands: tuple[str, ...] = ()
    redacted: Finding | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("A finding needs a non-empty id.")
        object.__setattr__(self, "status", Status(self.status))
        evidence = {str(key): str(value) for key, value in self.evidence.items()}
        object.__setattr__(self, "evidence", evidence)
        object.__setattr__(self, "commands", tuple(str(c) for c in self.commands))

    def shareable(self) -> Finding:
        """Return the finding as shared reports show it: `redacted`, if set."""
        return self.redacted if self.redacted is not None else self

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dictionary, without `redacted`."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "observed": self.observed,
            "expected": self.expected,
            "fix": self.fix,
            "evidence": dict(self.evidence),
            "commands": list(self.commands),
        }


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Sort findings as failed, warning, could not check, ok, not applicable.

    The sort is stable, so findings with the same status keep their order.

    Parameters
    ----------
    findings
        Findings in any order.

    Returns
    -------
    list[Finding]
        A new list, failures first.

    Examples
    --------
    >>> ok = Finding("a", "A", Status.OK, "fine", "fine")
    >>> bad = Finding("b", "B", Status.FAILED, "broken", "fine", fix="repair")
    >>> [finding.id for finding in sort_findings([ok, bad])]
    ['b', 'a']
    """
    return sorted(findings, key=lambda finding: _RANK[finding.status])


@dataclass(frozen=True)
class DiagnosisInputs:
    """Inputs the user gave the doctor.

    Attributes
    ----------
    identifier_text
        The secret identifier as typed or pasted. Reports repeat it only when
        it parses (see `akv_helpers.diagnose.typed_text`).
    principal_id
        Principal ID to check the grant for, or ``None`` to use the identity
        lookup's.
    identity_text
        What the user typed to name the identity: a principal ID, a client ID,
        a resource ID or a name; ``None`` when nothing was typed.
    task_source
        Source code of the user's Flyte task, or ``None``.
    task_path
        Path of the task file, or ``None``; read when `task_source` is ``None``.
    """

    identifier_text: str
    principal_id: str | None = None
    identity_text: str | None = None
    task_source: str | None = None
    task_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the inputs as a dictionary, without the task's source code."""
        return {
            "identifier_text": self.identifier_text,
            "principal_id": self.principal_id,
            "identity_text": self.identity_text,
            "task_path": self.task_path,
            "task_source_given": self.task_source is not None,
        }


@dataclass
class Diagnosis:
    """Everything one run of the doctor found.

    Attributes
    ----------
    inputs
        What the user gave.
    resolved
        IDs the run resolved, such as ``"vault resource ID"``,
        ``"secret scope"`` and ``"principal ID"``.
    findings
        One finding per check, failures first.
    changes
        Changes the kit made earlier, from the session profile: each a dictionary
        with ``"assignment_id"`` and ``"created_by_kit"`` at least.
    started_at
        Start time in ISO 8601 UTC.
    duration_seconds
        Wall-clock duration of the run.
    mode
        ``"simulator"``, ``"azure"`` or ``"offline"`` when no connection was given.
    """

    inputs: DiagnosisInputs
    resolved: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    duration_seconds: float = 0.0
    mode: str = "offline"

    @property
    def failed(self) -> bool:
        """Whether any finding has the status failed."""
        return any(finding.status is Status.FAILED for finding in self.findings)

    @property
    def unchecked(self) -> list[Finding]:
        """Decisive findings (see `DECISIVE_DOMAINS`) that could not check."""
        return [
            item
            for item in self.findings
            if item.status is Status.COULD_NOT_CHECK and is_decisive(item.id)
        ]

    @property
    def exit_code(self) -> int:
        """0 when no check failed and every decisive check ran, else 1."""
        return 1 if self.failed or self.unchecked else 0

    @property
    def verdict(self) -> str:
        """Sum up the run in a sentence or two, with why checks did not run.

        A run in which a decisive check could not check does not say that no
        check failed, because it has not shown that the task can read the secret.
        """
        failed = sum(1 for item in self.findings if item.status is Status.FAILED)
        unchecked = self.unchecked
        parts = []
        if failed:
            parts.append(f"Problems found: {count_noun(failed, 'check')} failed.")
        if unchecked:
            reasons = list(
                dict.fromkeys(
                    item.observed.removeprefix(_COULD_NOT_CHECK_PREFIX).rstrip(".")
                    for item in unchecked
                )
            )
            shown = "; ".join(reasons[:_MAX_REASONS])
            if len(reasons) > _MAX_REASONS:
                shown += f"; and {len(reasons) - _MAX_REASONS} other reason(s)"
            parts.append(
                f"Not confirmed: {count_noun(len(unchecked), 'check')} that decide "
                "whether the task can read the secret could not be checked "
                f"({shown})."
            )
        return " ".join(parts) or "No check failed."

    def finding(self, finding_id: str) -> Finding:
        """Return the finding with the ID `finding_id`.

        Raises
        ------
        KeyError
            If no check produced that ID.
        """
        for item in self.findings:
            if item.id == finding_id:
                return item
        raise KeyError(finding_id)

    def counts(self) -> dict[str, int]:
        """Return how many findings have each status, in report order."""
        return {
            status.value: sum(1 for item in self.findings if item.status is status)
            for status in STATUS_ORDER
        }

    def to_dict(self) -> dict[str, Any]:
        """Return the diagnosis as a JSON-ready dictionary."""
        return {
            "inputs": self.inputs.to_dict(),
            "resolved": dict(self.resolved),
            "findings": [item.to_dict() for item in self.findings],
            "changes": [dict(change) for change in self.changes],
            "started_at": self.started_at,
            "duration_seconds": self.duration_seconds,
            "mode": self.mode,
            "failed": self.failed,
            "exit_code": self.exit_code,
            "verdict": self.verdict,
            "unchecked": [item.id for item in self.unchecked],
            "counts": self.counts(),
        }

    def replace(self, **changes: Any) -> Diagnosis:
        """Return a copy with `changes` applied."""
        return dataclasses.replace(self, **changes)
