"""Arguments and typed values that the panels reject before any request.

Every rejection is checked against the simulator's request log: a rejected value
must not reach Azure, and the panel must say which value is wrong and why.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
import pytest
from panel_support import CLIENT, PRINCIPAL, SECRET, identity

from akv_helpers.cli.doctor import IDENTITY_REFERENCE
from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import Diagnosis, DiagnosisInputs, Finding, Status
from akv_helpers.errors import InvalidInputError
from akv_helpers.identities import validate_identity_reference
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.ui import _render_check
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.grant import GrantPanel
from akv_helpers.ui.identity import IdentityPanel
from akv_helpers.ui.start import StartPanel
from akv_helpers.ui.task import TaskPanel
from akv_helpers.ui.troubleshoot import TroubleshootPanel, _summary_html

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
OTHER_SUBSCRIPTION = "99999999-1111-2222-3333-444444444444"
OTHER_SECRET = "https://kv-demo.vault.azure.net/secrets/api-token"
IDENTITY_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-union-dp/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/userflyterole"
)


def profile(**fields: Any) -> Profile:
    base = Profile(
        mode="simulator",
        subscription_id=SUBSCRIPTION,
        resource_group="rg-union-dp",
        identity=identity(),
        secret_identifier=SECRET,
    )
    return dataclasses.replace(base, **fields)


def sent(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    """Return the requests that reached the simulator's Azure endpoints."""
    return [e for e in sim.requests() if not e["path"].startswith("/_simulator/")]


def headline(panel: Any) -> str:
    """Return the panel's status line as text mode prints it."""
    return html_to_text(panel._w_status.value)


@pytest.fixture(autouse=True)
def text_mode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_render_check, "_text_mode_setting", True)


@pytest.fixture
def saved(profile_home: Path) -> Profile:
    saved_profile = profile()
    save_profile(saved_profile)
    return saved_profile


# The doctor's identity and task file -------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (f" {PRINCIPAL.upper()} ", PRINCIPAL),
        (CLIENT, CLIENT),
        (IDENTITY_ID + "/", IDENTITY_ID),
        (" userflyterole ", "userflyterole"),
    ],
    ids=["principal-id", "client-id", "resource-id", "name"],
)
def test_identity_reference_accepts(typed: str, expected: str) -> None:
    assert validate_identity_reference(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["not a guid!", "bbbbbbbb-0000-4000-8000-00000000000", "/subscriptions/x/y", ""],
    ids=["bad-name", "short-guid", "bad-resource-id", "empty"],
)
def test_identity_reference_rejects_like_cli(typed: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        validate_identity_reference(typed)
    with pytest.raises(click.BadParameter) as from_cli:
        IDENTITY_REFERENCE.convert(typed, None, None)

    assert raised.value.fix
    assert str(raised.value) in str(from_cli.value)
    if typed:
        assert typed in str(raised.value)


def test_identity_reference_rejects_non_text() -> None:
    with pytest.raises(InvalidInputError) as raised:
        validate_identity_reference(5)  # type: ignore[arg-type]

    assert "5 (int)" in str(raised.value)


@pytest.mark.parametrize(
    "identity_text",
    ["not a guid!", "bbbbbbbb-0000-4000-8000-00000000000", "/subscriptions/x/y"],
)
def test_doctor_bad_identity_no_request(
    fast_connection: Connection,
    fresh_sim: SimulatorEndpoint,
    saved: Profile,
    identity_text: str,
) -> None:
    panel = TroubleshootPanel(fast_connection)
    fresh_sim.clear_requests()

    panel.run(SECRET, identity=identity_text)

    assert sent(fresh_sim) == []
    assert panel.diagnosis is None
    assert headline(panel).startswith("Failed:")
    assert identity_text in headline(panel)


@pytest.mark.parametrize("where", ["missing", "folder"])
def test_doctor_bad_task_path_no_request(
    fast_connection: Connection,
    fresh_sim: SimulatorEndpoint,
    saved: Profile,
    tmp_path: Path,
    where: str,
) -> None:
    path = tmp_path / "task.py" if where == "missing" else tmp_path
    panel = TroubleshootPanel(fast_connection)
    fresh_sim.clear_requests()

    panel.run(SECRET, identity="userflyterole", task_path=path)

    text = panel.text()
    assert sent(fresh_sim) == []
    assert panel.diagnosis is None
    assert headline(panel).startswith("Failed:")
    assert str(path) in text
    assert ("does not exist" if where == "missing" else "is a folder") in text


def test_doctor_button_checks_boxes(
    fast_connection: Connection, fresh_sim: SimulatorEndpoint, saved: Profile
) -> None:
    panel = TroubleshootPanel(fast_connection)
    panel._w_identity.value = "not a guid!"
    fresh_sim.clear_requests()

    panel._w_run.click()

    assert sent(fresh_sim) == []
    assert panel.diagnosis is None
    assert "not a guid!" in panel.text()


def test_doctor_valid_task_path_runs(
    fast_connection: Connection,
    fresh_sim: SimulatorEndpoint,
    saved: Profile,
    tmp_path: Path,
) -> None:
    task = tmp_path / "task.py"
    task.write_text("from flytekit import task\n", encoding="utf-8")
    panel = TroubleshootPanel(fast_connection)

    panel.run(SECRET, identity="userflyterole", task_path=str(task))

    assert panel.diagnosis is not None
    assert panel.diagnosis.inputs.task_path == str(task)
    assert panel.diagnosis.inputs.identity_text == "userflyterole"


def _diagnosis(*findings: Finding) -> Diagnosis:
    return Diagnosis(
        inputs=DiagnosisInputs(identifier_text=SECRET), findings=list(findings)
    )


def _finding(finding_id: str, status: Status) -> Finding:
    return Finding(finding_id, finding_id, status, "Could not check: no answer.", "")


def test_summary_unchecked_not_ok() -> None:
    diagnosis = _diagnosis(
        _finding("secret.exists", Status.COULD_NOT_CHECK),
        _finding("vault.exists", Status.OK),
    )

    summary = _summary_html(diagnosis)

    assert diagnosis.exit_code == 1
    assert "OK:" not in summary
    assert "No check failed" not in summary
    assert "Not confirmed" in summary


def test_summary_failed_and_unchecked() -> None:
    diagnosis = _diagnosis(
        _finding("grant.role", Status.FAILED),
        _finding("secret.exists", Status.COULD_NOT_CHECK),
    )

    summary = _summary_html(diagnosis)

    assert "1 check failed: grant.role" in summary
    assert "Not confirmed" in summary


def test_summary_ok_only_exit_zero() -> None:
    diagnosis = _diagnosis(
        _finding("vault.exists", Status.OK),
        _finding("cluster.pods", Status.COULD_NOT_CHECK),
    )

    summary = _summary_html(diagnosis)

    assert diagnosis.exit_code == 0
    assert "OK:" in summary
    assert diagnosis.verdict in summary


def test_doctor_run_unchecked_not_ok(
    fast_connection: Connection, fresh_sim: SimulatorEndpoint, profile_home: Path
) -> None:
    save_profile(profile(identity=None))
    fresh_sim.apply_scenario("several-identities")
    panel = TroubleshootPanel(fast_connection)

    panel.run(SECRET)

    assert panel.diagnosis is not None
    assert panel.diagnosis.unchecked
    assert headline(panel).startswith("Warning: Not confirmed")
    assert "Not confirmed" in panel.text()


# Explicit arguments beat a profile saved later ---------------------------------


def test_grant_argument_beats_later_profile(
    fast_connection: Connection, saved: Profile
) -> None:
    panel = GrantPanel(fast_connection)
    save_profile(profile(secret_identifier=OTHER_SECRET))

    panel.check(SECRET)

    assert panel._w_secret.value == SECRET
    assert panel._plan is not None
    assert panel._plan.scope.endswith("/secrets/db-pass")


def test_doctor_arguments_beat_later_profile(
    fast_connection: Connection, saved: Profile
) -> None:
    panel = TroubleshootPanel(fast_connection)
    save_profile(profile(secret_identifier=OTHER_SECRET, identity=identity(CLIENT)))

    panel.run(SECRET, identity=PRINCIPAL)

    assert panel._w_identifier.value == SECRET
    assert panel._w_identity.value == PRINCIPAL
    assert panel.diagnosis is not None
    assert panel.diagnosis.inputs.identifier_text == SECRET


def test_start_save_argument_beats_later_profile(saved: Profile) -> None:
    panel = StartPanel()
    save_profile(profile(subscription_id=OTHER_SUBSCRIPTION))

    panel.save(subscription_id=SUBSCRIPTION)

    assert panel._w_subscription.value == SUBSCRIPTION
    assert load_profile().subscription_id == SUBSCRIPTION


def test_start_connect_mode_beats_later_profile(
    fresh_sim: SimulatorEndpoint, saved: Profile
) -> None:
    panel = StartPanel()
    save_profile(profile(mode="azure"))

    panel.connect(mode=" Simulator ")

    assert panel._w_mode.value == "simulator"
    assert "Signed in (simulator mode)" in panel.text()


def test_identity_find_argument_beats_later_profile(
    fresh_sim: SimulatorEndpoint, profile_home: Path
) -> None:
    save_profile(profile(resource_group=None, identity=None))
    panel = IdentityPanel()
    save_profile(profile(identity=None))

    panel.find(whole_subscription=True)

    assert panel._w_whole_subscription.value is True
    assert "the whole subscription" in panel.text()


def test_task_generate_argument_applied(saved: Profile, tmp_path: Path) -> None:
    panel = TaskPanel(directory=tmp_path)
    panel._w_version.value = "pinned"
    save_profile(profile(secret_identifier=OTHER_SECRET))

    panel.generate(pinned=False)

    assert panel._w_version.value == "latest"
    assert panel._identifier is not None
    assert panel._identifier.name == "api-token"


# IdentityPanel.use ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "  ", "no such/name!", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg"],
    ids=["empty", "spaces", "bad-characters", "not-identity-id"],
)
def test_identity_use_rejects_before_request(
    fresh_sim: SimulatorEndpoint, profile_home: Path, name: str
) -> None:
    save_profile(profile(identity=None))
    panel = IdentityPanel()
    fresh_sim.clear_requests()

    panel.use(name)

    assert sent(fresh_sim) == []
    assert headline(panel).startswith("Failed:")
    assert "Unexpected error" not in panel._w_status.value
    assert load_profile().identity is None


@pytest.mark.parametrize("name", [None, 5, ["userflyterole"]])
def test_identity_use_wrong_type_names_value(
    fresh_sim: SimulatorEndpoint, profile_home: Path, name: object
) -> None:
    save_profile(profile(identity=None))
    panel = IdentityPanel()
    fresh_sim.clear_requests()

    with pytest.raises(InvalidInputError) as raised:
        panel.use(name)  # type: ignore[arg-type]

    assert repr(name) in str(raised.value)
    assert "identity_panel.use" in raised.value.fix or "quotes" in raised.value.fix
    assert sent(fresh_sim) == []


def test_identity_use_resource_id_saves(
    fresh_sim: SimulatorEndpoint, profile_home: Path
) -> None:
    save_profile(profile(identity=None))
    panel = IdentityPanel()

    panel.use(f" {IDENTITY_ID} ")

    saved_identity = load_profile().identity
    assert saved_identity is not None
    assert saved_identity.principal_id == PRINCIPAL


# Wrong-typed and wrong-valued arguments ---------------------------------------

WRONG_ARGUMENTS: list[tuple[str, type[Any], str, dict[str, Any], str]] = [
    ("connect-typo", StartPanel, "connect", {"mode": "simulatr"}, "'simulatr'"),
    ("connect-int", StartPanel, "connect", {"mode": 1}, "1 (int)"),
    ("save-int", StartPanel, "save", {"subscription_id": 123}, "123 (int)"),
    ("save-list", StartPanel, "save", {"resource_group": ["rg"]}, "['rg'] (list)"),
    ("find-yes", IdentityPanel, "find", {"whole_subscription": "yes"}, "'yes' (str)"),
    ("find-one", IdentityPanel, "find", {"whole_subscription": 1}, "1 (int)"),
    ("check-int", GrantPanel, "check", {"secret_identifier": 42}, "42 (int)"),
    ("grant-bytes", GrantPanel, "grant", {"secret_identifier": b"x"}, "b'x' (bytes)"),
    ("run-int", TroubleshootPanel, "run", {"secret_identifier": 5}, "5 (int)"),
    ("run-identity", TroubleshootPanel, "run", {"identity": 7}, "7 (int)"),
    ("run-task-path", TroubleshootPanel, "run", {"task_path": 3}, "3 (int)"),
    ("generate-no", TaskPanel, "generate", {"pinned": "no"}, "'no' (str)"),
]


@pytest.mark.parametrize(
    ("panel_class", "method", "arguments", "shown"),
    [case[1:] for case in WRONG_ARGUMENTS],
    ids=[case[0] for case in WRONG_ARGUMENTS],
)
def test_wrong_argument_rejected_first(
    fresh_sim: SimulatorEndpoint,
    saved: Profile,
    panel_class: type[Any],
    method: str,
    arguments: dict[str, Any],
    shown: str,
) -> None:
    panel = panel_class()
    before = panel.text()
    stored = load_profile()
    fresh_sim.clear_requests()

    with pytest.raises(InvalidInputError) as raised:
        getattr(panel, method)(**arguments)

    name = next(iter(arguments))
    assert f"{name}={shown}" in raised.value.message
    assert raised.value.expected
    assert name in raised.value.fix
    assert sent(fresh_sim) == []
    assert panel.text() == before
    assert load_profile() == stored
