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

    assert request.node.nodeid.endswith("@browser")
