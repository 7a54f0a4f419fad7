"""The troubleshooting doctor: every check between a secret and the task reading it.

`diagnose` runs the checks and returns a `Diagnosis` whose findings state, for each
problem, what is wrong, how the doctor found it and what to do. `render_markdown`,
`render_json` and `export_report` turn it into a report that needs no kit to read.
Importing this package registers the checks of every check module.
"""

from __future__ import annotations

from akv_helpers.diagnose import (  # noqa: F401  # importing registers the checks
    checks_environment,
    checks_grant,
    checks_identity,
    checks_input,
    checks_operator,
    checks_task,
    checks_vault,
)
from akv_helpers.diagnose.findings import (
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    sort_findings,
)
from akv_helpers.diagnose.runner import REGISTRY, CheckContext, check, diagnose

__all__ = [
    "REGISTRY",
    "CheckContext",
    "Diagnosis",
    "DiagnosisInputs",
    "Finding",
    "Status",
    "check",
    "diagnose",
    "sort_findings",
]
