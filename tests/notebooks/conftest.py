"""Fixtures for executing notebooks: a runner that keeps failing runs as artifacts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nbrun import ExecutedNotebook, run_notebook

Runner = Callable[[str, Path, list[str]], ExecutedNotebook]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def notebook_runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """Return a function that executes a notebook with test cells appended.

    When the test fails after a notebook ran, the executed copy is written to
    ``test-artifacts/`` for inspection.
    """
    executed: list[ExecutedNotebook] = []
    label = request.node.name

    def run(name: str, home: Path, cells: list[str]) -> ExecutedNotebook:
        result = run_notebook(name, home, cells, label)
        executed.append(result)
        return result

    yield run
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for result in executed:
            result.save_artifact(label)


@pytest.fixture
def notebook_home(fresh_sim, kit_home: Path) -> Path:
    """Return the kit home of a freshly reset simulator, with no saved profile."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    return kit_home
