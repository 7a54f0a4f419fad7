"""The four notebooks executed in order, sharing one kit home and one simulator."""

from __future__ import annotations

import re

import pytest
from nbrun import probe, text_of
from test_notebook_steps import (
    CLIENT_ID,
    FINGERPRINT,
    LEGACY_SECRET,
    PRINCIPAL_ID,
    SECRET_SCOPE,
    all_outputs,
    kit_assignments,
    status_of,
)

from akv_helpers.profile import load_profile

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

VERSIONED_SECRET = (
    "https://kv-demo.vault.azure.net/secrets/db-pass/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
)


def test_notebooks_run_in_order(notebook_runner, notebook_home, fresh_sim):
    start = notebook_runner(
        "00-start-here.ipynb",
        notebook_home,
        [
            probe(
                "start_panel._w_sign_in.click()\nstart_panel._w_save.click()",
                status_of("start_panel"),
            )
        ],
    )
    assert "Profile saved" in text_of(start.results[0]["status"])
    assert (notebook_home / "profile.json").exists()

    identity = notebook_runner(
        "01-find-identity.ipynb",
        notebook_home,
        [
            probe(
                "identity_panel._w_search.click()\nidentity_panel._w_confirm.click()",
                {"table": "identity_panel._w_table.value"},
            )
        ],
    )
    table = text_of(identity.results[0]["table"])
    assert "userflyterole" in table
    assert PRINCIPAL_ID in table
    assert CLIENT_ID in table
    assert load_profile(notebook_home / "profile.json").identity is not None

    grant = notebook_runner(
        "02-grant-access.ipynb",
        notebook_home,
        [
            probe(
                f"grant_panel._w_secret.value = {LEGACY_SECRET!r}\n"
                "grant_panel._w_grant.click()",
                status_of("grant_panel"),
            ),
            probe(
                f"grant_panel._w_secret.value = {VERSIONED_SECRET!r}\n"
                "grant_panel._w_grant.click()",
                status_of("grant_panel", plan="grant_panel._w_plan.value"),
            ),
            probe("grant_panel._w_grant.click()", status_of("grant_panel")),
            probe("grant_panel._w_revoke.click()", status_of("grant_panel")),
        ],
    )
    legacy, granted, again, revoked = grant.results
    legacy_status = text_of(legacy["status"])
    assert "access polic" in legacy_status
    assert "RBAC" in legacy_status
    assert SECRET_SCOPE in text_of(granted["plan"])
    first = text_of(granted["status"])
    assert "Granted" in first
    assignment_id = re.search(r"assignment ID (\S+)", first).group(1)
    assert "Already granted" in text_of(again["status"])
    assert assignment_id in text_of(again["status"])
    assert "Revoked" in text_of(revoked["status"])
    assert kit_assignments(fresh_sim) == []

    task = notebook_runner(
        "03-run-test-task.ipynb",
        notebook_home,
        [
            probe(
                "task_panel._w_run.click()",
                status_of("task_panel", version="task_panel._w_version.value"),
            ),
            probe(
                "from akv_helpers.ui import GrantPanel\n"
                "_grant = GrantPanel()\n"
                "_grant._w_grant.click()\n"
                "task_panel._w_run.click()",
                status_of("task_panel"),
            ),
            probe(
                "task_panel._w_version.value = 'latest'\ntask_panel._w_run.click()",
                status_of("task_panel"),
            ),
            probe("_grant._w_revoke.click()", status_of("_grant")),
        ],
    )
    denied, passed, latest, removed = task.results
    assert denied["version"] == "pinned"
    assert "access denied" in text_of(denied["status"])
    passed_status = text_of(passed["status"])
    assert "Passed" in passed_status
    assert FINGERPRINT.search(passed_status)
    latest_status = text_of(latest["status"])
    assert "Passed" in latest_status
    assert FINGERPRINT.search(latest_status)
    assert "Revoked" in text_of(removed["status"])
    assert kit_assignments(fresh_sim) == []
    for executed in (start, identity, grant, task):
        assert "AKVSIM-CANARY" not in all_outputs(executed)
