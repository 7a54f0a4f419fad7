"""The troubleshooting doctor: every check between a secret and the task reading it.

`diagnose` runs the checks and returns a `Diagnosis` whose findings state, for each
problem, what is wrong, how the doctor found it and what to do. `render_markdown`,
`render_json` and `export_report` turn it into a report that needs no kit to read.
Importing this package registers the shared facts and the checks of every check
module listed in `CHECK_MODULES`.
"""

from __future__ import annotations

import importlib

from akv_helpers.diagnose.findings import (
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    sort_findings,
)
from akv_helpers.diagnose.runner import REGISTRY, CheckContext, check, diagnose

__all__ = [
    "CHECK_MODULES",
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

# Modules whose import registers facts (with `fact`) or checks (with `check`).
CHECK_MODULES = (
    "shared_facts",
    "checks_environment",
    "checks_grant",
    "checks_grant_state",
    "checks_identity",
    "checks_input",
    "checks_operator",
    "checks_task",
    "checks_vault",
    "checks_secret",
)


def _register_checks() -> None:
    for module in CHECK_MODULES:
        importlib.import_module(f"{__name__}.{module}")


_register_checks()
