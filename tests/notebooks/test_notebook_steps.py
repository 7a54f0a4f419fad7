"""Each notebook executed in a real kernel against the simulator, widgets driven."""

from __future__ import annotations

import json
import re

import pytest
from nbrun import probe, text_of

from akv_helpers.profile import IdentityRef, Profile, load_profile, save_profile

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("notebooks")]

TENANT = "11111111-1111-4111-8111-111111111111"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = "rg-union-dp"
CLIENT_ID = "aaaaaaaa-0000-4000-8000-000000000001"
PRINCIPAL_ID = "bbbbbbbb-0000-4000-8000-000000000002"
DEMO_SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
LEGACY_SECRET = "https://kv-legacy.vault.azure.net/secrets/api-key"
SECRET_SCOPE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
    "/providers/Microsoft.KeyVault/vaults/kv-demo/secrets/db-pass"
)
CURRENT_VERSION = "7c4a8d09ca3762af61e59520943dc264"
FINGERPRINT = re.compile(r"length=(\d+) sha256=[0-9a-f]{12}")


def status_of(panel: str, **extra: str) -> dict[str, str]:
    """Return probe expressions for a panel's status line and its buttons' state."""
    return {
        "status": f"{panel}._w_status.value",
        "busy": f"[button.disabled for button in {panel}._buttons()]",
        **extra,
    }


def save_start_profile() -> None:
    save_profile(
        Profile(
            mode="simulator",
            tenant_id=TENANT,
            subscription_id=SUBSCRIPTION,
            resource_group=GROUP,
        )
    )


def save_identity_profile(secret: str | None = None) -> None:
    save_profile(
        Profile(
            mode="simulator",
            tenant_id=TENANT,
            subscription_id=SUBSCRIPTION,
            resource_group=GROUP,
            identity=IdentityRef(
                name="userflyterole",
                resource_group=GROUP,
                resource_id=(
                    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/"
                    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
                ),
                client_id=CLIENT_ID,
                principal_id=PRINCIPAL_ID,
            ),
            secret_identifier=secret,
        )
    )


def kit_assignments(sim) -> list[dict]:
    state = sim.state()
    return [
        item
        for item in state.get("role_assignments", [])
        if str(item.get("principal_id", item.get("principalId", ""))).lower()
        == PRINCIPAL_ID
    ]


def assignment_writes(sim) -> list[tuple[str, int]]:
    """Return (method, status) of each role-assignment write the simulator logged."""
    return [
        (entry["method"], entry["status"])
        for entry in sim.requests()
        if "roleassignments/" in entry["path"].lower()
        and entry["method"] in ("PUT", "DELETE")
    ]


def all_outputs(executed) -> str:
    """Return the executed notebook as JSON, widget state included."""
    return json.dumps(executed.notebook, default=str)


def test_start_notebook_saves_profile(notebook_runner, notebook_home):
    executed = notebook_runner(
        "00-start-here.ipynb",
        notebook_home,
        [
            probe("start_panel._w_sign_in.click()", status_of("start_panel")),
            probe(
                "",
                {
                    "tenant": "start_panel._w_tenant.value",
                    "subscription": "start_panel._w_subscription.value",
                    "group": "start_panel._w_resource_group.value",
                },
            ),
            probe("start_panel._w_save.click()", status_of("start_panel")),
            probe(
                "start_panel._w_mode.value = 'azure'",
                {
                    "reset": "start_panel._w_reset.layout.display",
                    "azure": "start_panel._w_azure_box.layout.display",
                },
            ),
            probe(
                "start_panel._w_mode.value = 'simulator'\nstart_panel._w_reset.click()",
                status_of("start_panel"),
            ),
        ],
    )
    signed_in, fields, saved, azure, reset = executed.results

    assert "Signed in (simulator mode)" in text_of(signed_in["status"])
    assert signed_in["busy"] == [False, False, False]
    assert fields == {"tenant": TENANT, "subscription": SUBSCRIPTION, "group": GROUP}
    assert "Profile saved to" in text_of(saved["status"])
    assert azure == {"reset": "none", "azure": ""}
    assert "Simulator reset" in text_of(reset["status"])

    profile = load_profile(notebook_home / "profile.json")
    assert profile.mode == "simulator"
    assert profile.subscription_id == SUBSCRIPTION
    assert profile.resource_group == GROUP


def test_start_notebook_reports_environment(notebook_runner, notebook_home):
    executed = notebook_runner("00-start-here.ipynb", notebook_home, [])
    environment_cell = executed.notebook.cells[2]
    printed = "".join(output.get("text", "") for output in environment_cell.outputs)
    for package in ("Python", "akv_helpers", "azure-identity", "flytekit"):
        assert package in printed
    assert "ipywidgets" in printed
    assert "not installed" not in printed

    check_cell = executed.notebook.cells[4]
    plain = check_cell.outputs[0]["data"]["text/plain"]
    assert "Widgets do not render" in plain
    assert "jupyterlab_widgets" in plain
    assert "application/vnd.jupyter.widget-view+json" in check_cell.outputs[0]["data"]

    panel_cell = executed.notebook.cells[6]
    assert panel_cell.source.startswith("start_panel = StartPanel()")
    panel_data = panel_cell.outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in panel_data
    assert "needs Jupyter widgets" in panel_data["text/plain"]


def test_identity_notebook_lists_candidate(notebook_runner, notebook_home):
    save_start_profile()
    executed = notebook_runner(
        "01-find-identity.ipynb",
        notebook_home,
        [
            probe(
                "identity_panel._w_search.click()",
                status_of(
                    "identity_panel",
                    table="identity_panel._w_table.value",
                    value="identity_panel._w_choice.value",
                    confirm_disabled="identity_panel._w_confirm.disabled",
                ),
            ),
            probe("identity_panel._w_confirm.click()", status_of("identity_panel")),
            probe(
                "identity_panel._w_whole_subscription.value = True\n"
                "identity_panel._w_search.click()",
                {"table": "identity_panel._w_table.value"},
            ),
        ],
    )
    listed, confirmed, whole = executed.results

    table = text_of(listed["table"])
    assert "userflyterole" in table
    assert PRINCIPAL_ID in table
    assert CLIENT_ID in table
    assert "union.ai/managed=true" in table
    assert listed["value"] == 0
    assert listed["confirm_disabled"] is False
    assert listed["busy"] == [False, False]
    assert "principal ID" in text_of(confirmed["status"])
    assert "ci-deployer" not in text_of(whole["table"])

    identity = load_profile(notebook_home / "profile.json").identity
    assert identity is not None
    assert identity.principal_id == PRINCIPAL_ID
    assert identity.client_id == CLIENT_ID


def test_identity_notebook_several_candidates_unselected(
    notebook_runner, notebook_home
):
    save_start_profile()
    executed = notebook_runner(
        "01-find-identity.ipynb",
        notebook_home,
        [
            probe(
                "identity_panel._w_search.click()\n"
                "import dataclasses\n"
                "_first = identity_panel._candidates[0]\n"
                "identity_panel._candidates.append(\n"
                "    dataclasses.replace(_first, name='flyteuser-second'))\n"
                "identity_panel._fill_choices()\n"
                "identity_panel._w_confirm.click()",
                {
                    "value": "identity_panel._w_choice.value",
                    "confirm_disabled": "identity_panel._w_confirm.disabled",
                    "count": "len(identity_panel._w_choice.options)",
                },
            ),
        ],
    )
    (several,) = executed.results
    assert several == {"value": None, "confirm_disabled": True, "count": 3}
    assert load_profile(notebook_home / "profile.json").identity is None


def test_identity_notebook_without_profile(notebook_runner, notebook_home):
    executed = notebook_runner(
        "01-find-identity.ipynb",
        notebook_home,
        [
            probe(
                "identity_panel._w_whole_subscription.value = False\n"
                "identity_panel._w_search.click()",
                status_of("identity_panel"),
            )
        ],
    )
    (result,) = executed.results
    status = text_of(result["status"])
    assert "Failed:" in status
    assert "resource group" in status
    assert "00-start-here" in status


def test_grant_notebook_access_policy_vault(notebook_runner, notebook_home, fresh_sim):
    save_identity_profile()
    executed = notebook_runner(
        "02-grant-access.ipynb",
        notebook_home,
        [
            probe(
                f"grant_panel._w_secret.value = {LEGACY_SECRET!r}\n"
                "grant_panel._w_grant.click()",
                status_of("grant_panel", plan="grant_panel._w_plan.value"),
            ),
        ],
    )
    (legacy,) = executed.results
    status = text_of(legacy["status"])
    assert "access polic" in status
    assert "RBAC" in status
    assert PRINCIPAL_ID in status
    assert legacy["plan"] == ""
    assert legacy["busy"] == [False, False, False]
    assert assignment_writes(fresh_sim) == []
    assert kit_assignments(fresh_sim) == []


def test_grant_notebook_rejects_bad_identifier(notebook_runner, notebook_home):
    save_identity_profile()
    executed = notebook_runner(
        "02-grant-access.ipynb",
        notebook_home,
        [
            probe(
                "grant_panel._w_secret.value = "
                "'https://kv-demo.vault.azure.net/keys/db-pass'",
                status_of("grant_panel"),
            ),
        ],
    )
    (result,) = executed.results
    status = text_of(result["status"])
    assert "Failed:" in status
    assert "/keys/" in status


def test_grant_notebook_grants_and_revokes(notebook_runner, notebook_home, fresh_sim):
    save_identity_profile()
    executed = notebook_runner(
        "02-grant-access.ipynb",
        notebook_home,
        [
            probe(
                f"grant_panel._w_secret.value = {DEMO_SECRET + '/'!r}\n"
                "grant_panel._w_check.click()",
                {
                    "parsed": "grant_panel._w_parsed.value",
                    "plan": "grant_panel._w_plan.value",
                },
            ),
            probe(
                # Record the Grant button's state whenever the kit logs, which
                # happens while the grant runs.
                "import logging\n"
                "_seen = []\n"
                "_recorder = logging.Handler()\n"
                "_recorder.emit = lambda record: _seen.append(\n"
                "    grant_panel._w_grant.disabled)\n"
                "logging.getLogger('akv_helpers').addHandler(_recorder)\n"
                "grant_panel._w_grant.click()\n"
                "logging.getLogger('akv_helpers').removeHandler(_recorder)",
                status_of("grant_panel", seen="_seen"),
            ),
            probe("grant_panel._w_grant.click()", status_of("grant_panel")),
            probe(
                "grant_panel._w_revoke.click()",
                status_of("grant_panel", log="grant_panel._w_log.outputs"),
            ),
        ],
    )
    planned, granted, again, revoked = executed.results

    parsed = text_of(planned["parsed"])
    assert "kv-demo" in parsed
    assert "db-pass" in parsed
    assert "latest" in parsed
    plan = text_of(planned["plan"])
    assert SECRET_SCOPE in plan
    assert "Key Vault Secrets User" in plan
    assert "az role assignment create" in plan

    first = text_of(granted["status"])
    assert granted["seen"]
    assert all(granted["seen"])
    assert granted["busy"] == [False, False, False]
    assert first.startswith("OK: Granted")
    assert "Verified" in first
    second = text_of(again["status"])
    assert "Already granted" in second
    assignment_id = re.search(r"assignment ID (\S+)", first).group(1)
    assert assignment_id in second
    assert "Revoked" in text_of(revoked["status"])
    log = "".join(output["text"] for output in revoked["log"])
    assert "INFO akv_helpers.assignments" in log
    assert PRINCIPAL_ID in log
    assert assignment_writes(fresh_sim) == [("PUT", 201), ("PUT", 200), ("DELETE", 200)]
    assert kit_assignments(fresh_sim) == []


def test_grant_notebook_twice_one_assignment(notebook_runner, notebook_home, fresh_sim):
    save_identity_profile()
    cells = [
        probe(
            f"grant_panel._w_secret.value = {DEMO_SECRET!r}\n"
            "grant_panel._w_grant.click()",
            status_of("grant_panel", assignment="grant_panel._profile.assignment_id"),
        ),
    ]
    (first,) = notebook_runner("02-grant-access.ipynb", notebook_home, cells).results
    (second,) = notebook_runner("02-grant-access.ipynb", notebook_home, cells).results

    first_status = text_of(first["status"])
    second_status = text_of(second["status"])
    assert first_status.startswith("OK: Granted"), first_status
    assert second_status.startswith("OK: Already granted"), second_status
    assignment_id = first["assignment"]
    assert "/roleAssignments/" in assignment_id
    assert second["assignment"] == assignment_id
    shown = re.search(r"assignment ID (\S+)", first_status).group(1).rstrip("…")
    assert assignment_id.startswith(shown)
    assert f"assignment ID {shown}" in second_status
    assert second["busy"] == [False, False, False]
    scoped = [
        item
        for item in kit_assignments(fresh_sim)
        if item["scope"].lower() == SECRET_SCOPE.lower()
    ]
    assert len(scoped) == 1
    assert assignment_writes(fresh_sim) == [("PUT", 201), ("PUT", 200)]
    assert load_profile(notebook_home / "profile.json").assignment_id == assignment_id


def test_grant_notebook_vault_scope_confirmed(
    notebook_runner, notebook_home, fresh_sim
):
    save_identity_profile()
    executed = notebook_runner(
        "02-grant-access.ipynb",
        notebook_home,
        [
            probe(
                f"grant_panel._w_secret.value = {DEMO_SECRET!r}\n"
                "grant_panel._w_scope.value = 'vault'\n"
                "grant_panel._w_grant.click()",
                status_of(
                    "grant_panel",
                    plan="grant_panel._w_plan.value",
                    note="grant_panel._w_scope_note.value",
                ),
            ),
            probe("grant_panel._w_grant.click()", status_of("grant_panel")),
        ],
    )
    shown, granted = executed.results

    assert "Nothing granted yet" in text_of(shown["status"])
    plan = text_of(shown["plan"])
    assert "every secret in kv-demo, current and future" in plan
    assert f"--scope {SECRET_SCOPE.rsplit('/secrets/', 1)[0]}" in plan
    assert "every secret" in text_of(shown["note"])
    assert text_of(granted["status"]).startswith("OK: Granted")
    assert assignment_writes(fresh_sim) == [("PUT", 201)]
    (assignment,) = kit_assignments(fresh_sim)
    assert assignment["scope"].lower() == SECRET_SCOPE.rsplit("/secrets/", 1)[0].lower()


def test_task_notebook_denied_then_passes(notebook_runner, notebook_home):
    save_identity_profile(DEMO_SECRET)
    executed = notebook_runner(
        "03-run-test-task.ipynb",
        notebook_home,
        [
            probe(
                "task_panel._w_generate.click()",
                {
                    "code": "task_panel._w_code.value",
                    "remote": "task_panel._w_remote.value",
                },
            ),
            probe("task_panel._w_run.click()", status_of("task_panel")),
            probe(
                "from akv_helpers.ui import GrantPanel\n"
                "_grant = GrantPanel()\n"
                "_grant._w_grant.click()\n"
                "task_panel._w_run.click()",
                status_of("task_panel"),
            ),
            probe(
                "task_panel._w_version.value = 'pinned'\n"
                "task_panel._w_generate.click()",
                {"code": "task_panel._w_code.value"},
            ),
        ],
    )
    generated, denied, passed, pinned = executed.results

    code = text_of(generated["code"])
    assert "db-pass" in code
    assert CURRENT_VERSION not in code
    remote = text_of(generated["remote"])
    assert "pyflyte run --remote" in remote
    assert "union run --remote" in remote
    assert "access denied" in text_of(denied["status"])
    assert denied["busy"] == [False, False]
    status = text_of(passed["status"])
    assert status.startswith("OK: Passed")
    assert FINGERPRINT.search(status)
    assert CURRENT_VERSION in text_of(pinned["code"])
    assert "AKVSIM-CANARY" not in all_outputs(executed)
