"""Checks on how the suite itself runs."""

from __future__ import annotations

import os

import pytest


@pytest.mark.xdist_group("browser")
def test_xdist_group_applied(request: pytest.FixtureRequest) -> None:
    # Tests that share a JupyterLab, kernels or fault state are grouped onto
    # one worker. pytest-xdist 3.8 marks a grouped test by adding "@<group>" to
    # its ID, and under pytest 9.2 that mark is lost, so every group is spread
    # over both workers.
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("the suite runs without pytest-xdist workers")
    # A worker's own "dist" option is "no", so the controller's command line
    # shows how tests are spread.
    command_line = getattr(request.config, "workerinput", {}).get("mainargv", [])
    if "loadgroup" not in " ".join(command_line):
        pytest.skip("the suite runs without --dist loadgroup, as `make test` uses")

    assert request.node.nodeid.endswith("@browser")
