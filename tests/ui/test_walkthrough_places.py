"""Messages name the app's tabs once the walk-through is built, else the notebooks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar, cast

import pytest
from panel_support import PRINCIPAL, SECRET, identity

from akv_helpers.connection import SimulatorEndpoint
from akv_helpers.diagnose import Status
from akv_helpers.profile import Profile, save_profile
from akv_helpers.steps import (
    NOTEBOOK_NAMES,
    STEPS,
    FrontEnd,
    front_end,
    step_place,
)
from akv_helpers.steps import TAB_TITLES as STEP_TAB_TITLES
from akv_helpers.ui import StartPanel, TaskPanel, TroubleshootPanel
from akv_helpers.ui._text import html_to_text
from akv_helpers.ui.walkthrough import TAB_TITLES, Walkthrough

PanelT = TypeVar("PanelT", StartPanel, TaskPanel, TroubleshootPanel)


@pytest.fixture
def no_profile(fresh_sim: SimulatorEndpoint, kit_home: Path) -> Iterator[Path]:
    """Start without a saved profile on a fresh tenant, and remove the one saved."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield kit_home
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture(params=["app", "notebooks"])
def front(request: pytest.FixtureRequest, no_profile: Path) -> FrontEnd:
    """Return the front end of the test: the app's walk-through, or the notebooks."""
    return cast(FrontEnd, request.param)


def build_panel(front: FrontEnd, kind: type[PanelT]) -> PanelT:
    """Build the panel of type `kind` as `front` does: in a walk-through, or alone."""
    if front == "notebooks":
        return kind()
    (panel,) = [item for item in Walkthrough().panels if isinstance(item, kind)]
    return panel


def assert_names_only(text: str, front: FrontEnd) -> None:
    """Assert that `text` names no place of the other front end."""
    if front == "app":
        assert "notebook 0" not in text.lower()
        for name in NOTEBOOK_NAMES.values():
            assert name not in text
    else:
        for title in STEP_TAB_TITLES:
            assert f"{title} tab" not in text


def test_tab_titles_agree_with_steps(no_profile: Path) -> None:
    walkthrough = Walkthrough()

    assert TAB_TITLES == STEP_TAB_TITLES
    assert walkthrough.tab.titles == STEP_TAB_TITLES
    assert len(walkthrough.panels) == len(STEPS)
    for step, title in zip(STEPS, walkthrough.tab.titles, strict=True):
        assert step_place(step, "app") == f"the {title} tab"


def test_walkthrough_switches_to_app(no_profile: Path) -> None:
    assert front_end() == "notebooks"

    Walkthrough()

    assert front_end() == "app"


def test_unreadable_profile_header_names_tab(no_profile: Path) -> None:
    walkthrough = Walkthrough()
    (no_profile / "profile.json").write_text("{not json")

    walkthrough.select(1)
    header = html_to_text(walkthrough.widget.children[0].value)

    assert "the 0 · Start tab says why" in header


def test_task_without_identifier_names_grant(front: FrontEnd) -> None:
    task = build_panel(front, TaskPanel)

    task._w_run.click()
    status = html_to_text(task._w_status.value)

    assert status.startswith("Failed:"), status
    assert "The session profile has no secret identifier." in status
    assert f"Complete {step_place('grant', front)} first" in status
    assert_names_only(status, front)


def test_task_access_denied_names_grant(front: FrontEnd) -> None:
    # The fresh tenant has no grant, so the read as the identity is denied
    # before pyflyte starts. The fix comes from the task service.
    save_profile(
        Profile(mode="simulator", secret_identifier=SECRET, identity=identity())
    )
    task = build_panel(front, TaskPanel)

    task._w_run.click()
    status = html_to_text(task._w_status.value)

    assert "access denied" in status, status
    assert f"on the secret in {step_place('grant', front)}" in status
    assert_names_only(status, front)


def test_scenario_applied_names_troubleshoot(front: FrontEnd) -> None:
    start = build_panel(front, StartPanel)
    start._w_sign_in.click()
    start._w_scenario.value = "grant-reader-role"

    start._w_apply_scenario.click()
    status = html_to_text(start._w_status.value)

    assert "applied the scenario grant-reader-role" in status, status
    assert f"Run the doctor in {step_place('troubleshoot', front)}" in status
    assert_names_only(status, front)


def test_doctor_grant_missing_names_grant(front: FrontEnd) -> None:
    doctor = build_panel(front, TroubleshootPanel)
    doctor._w_identifier.value = SECRET
    doctor._w_identity.value = PRINCIPAL

    doctor._w_run.click()
    diagnosis = doctor.diagnosis
    assert diagnosis is not None
    (missing,) = [item for item in diagnosis.findings if item.id == "grant.missing"]
    findings = html_to_text(doctor._w_findings.value)

    place = step_place("grant", front)
    assert missing.status is Status.FAILED
    assert f"Grant the role in {place}" in missing.fix
    assert f"Grant the role in {place}" in findings
    assert_names_only(missing.fix, front)
    assert_names_only(findings, front)
