"""pytest plugin of `reliability_figures.py`: write every test's outcome as JSON.

Load it with ``-p _figures_plugin`` and ``benchmarks/`` on ``PYTHONPATH``. At the
end of the session it writes the file that the environment variable
``AKV_FIGURES_JSON`` names: one entry per test with its outcome, duration,
parameters, fixtures and the values it passed to ``record_property``, plus the
modules that failed to collect. It works with and without pytest-xdist, because
the parameters travel on the test report.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

OUTPUT_VARIABLE = "AKV_FIGURES_JSON"

_tests: dict[str, dict[str, Any]] = {}
_collection_errors: list[str] = []


def _plain(value: object) -> object:
    """Return `value` as JSON-ready data: scalars, lists and dicts of them."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: _plain(getattr(value, item.name))
            for item in dataclasses.fields(value)
        }
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {str(key): _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return type(value).__name__


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    # Extra report attributes travel from xdist workers to the controller.
    vars(report).update(
        figures_params={name: _plain(value) for name, value in params.items()},
        figures_fixtures=sorted(getattr(item, "fixturenames", ())),
    )
    return report


def _outcome(report: pytest.TestReport, previous: str) -> str:
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            return "xfailed" if report.skipped else "xpassed"
        return report.outcome
    if report.failed:
        return "error"
    if report.skipped:
        return "xfailed" if hasattr(report, "wasxfail") else "skipped"
    return previous


# pytest-xdist's --dist loadgroup appends "@<group>" to the node ID of a test in
# an xdist_group; the figures name tests without it.
_GROUP_SUFFIX = re.compile(r"@[\w.-]+$")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    nodeid = _GROUP_SUFFIX.sub("", report.nodeid)
    entry = _tests.setdefault(
        nodeid,
        {
            "nodeid": nodeid,
            "outcome": "not run",
            "duration": 0.0,
            "params": {},
            "fixtures": [],
            "properties": {},
        },
    )
    entry["outcome"] = _outcome(report, entry["outcome"])
    if hasattr(report, "wasxfail"):
        entry["xfail_reason"] = str(report.wasxfail)
    entry["duration"] += report.duration
    entry["params"] = getattr(report, "figures_params", None) or entry["params"]
    entry["fixtures"] = getattr(report, "figures_fixtures", None) or entry["fixtures"]
    for name, value in report.user_properties:
        entry["properties"][name] = _plain(value)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _collection_errors.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        # An xdist worker skips this, because the controller writes the file.
        return
    destination = os.environ.get(OUTPUT_VARIABLE)
    if not destination:
        return
    data = {
        "exit_status": int(exitstatus),
        "tests": sorted(_tests.values(), key=lambda entry: entry["nodeid"]),
        "collection_errors": sorted(_collection_errors),
    }
    Path(destination).write_text(json.dumps(data, indent=1), encoding="utf-8")
