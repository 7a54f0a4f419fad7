"""The outcome of a local run of the test task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from akv_helpers._secret_layout import Fingerprint

if TYPE_CHECKING:
    pass

__all__ = ["LocalRunResult", "ProgressCallback", "Stage"]


Stage = Literal["fetch", "run", "done"]


ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class LocalRunResult:
    """Outcome of a local run of the test task.

    Attributes
    ----------
    ok
        Whether the task read the secret and printed the expected fingerprint.
    stage
        ``fetch`` (reading the value as the identity failed, so the task did not
        start), ``run`` (pyflyte failed or printed another fingerprint) or
        ``done``.
    message
        What happened, in plain words.
    fix
        What to do next; empty when nothing is needed.
    fingerprint
        Fingerprint the task printed.
    expected_fingerprint
        Fingerprint of the value that was laid out.
    matched
        Whether the two fingerprints are equal.
    command
        The pyflyte command line; empty when pyflyte did not start.
    output
        pyflyte's combined output, scrubbed of the value.
    duration_seconds
        Wall time of the whole run.
    access_checked
        Whether the run read the value as the data-plane identity. False in Azure
        mode, where only the code's shape is checked.
    """

    ok: bool
    stage: Stage
    message: str
    fix: str = ""
    fingerprint: Fingerprint | None = None
    expected_fingerprint: Fingerprint | None = None
    matched: bool = False
    command: list[str] = field(default_factory=list)
    output: str = ""
    duration_seconds: float = 0.0
    access_checked: bool = True
