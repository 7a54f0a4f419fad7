"""Places of the walk-through's steps, in the notebooks and in the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from akv_helpers import steps
from akv_helpers.diagnose.classify import classify_error
from akv_helpers.errors import InvalidSecretIdentifierError
from akv_helpers.identifiers import parse_secret_identifier
from akv_helpers.secret_ids import require_cloud
from akv_helpers.steps import (
    NOTEBOOK_NAMES,
    STEPS,
    TAB_TITLES,
    front_end,
    set_front_end,
    step_place,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

PLACES = [
    ("start", "notebooks", "notebook 00-start-here"),
    ("identity", "notebooks", "notebook 01-find-identity"),
    ("grant", "notebooks", "notebook 02-grant-access"),
    ("task", "notebooks", "notebook 03-run-test-task"),
    ("troubleshoot", "notebooks", "notebook 04-troubleshoot"),
    ("start", "app", "the 0 · Start tab"),
    ("identity", "app", "the 1 · Identity tab"),
    ("grant", "app", "the 2 · Grant tab"),
    ("task", "app", "the 3 · Test task tab"),
    ("troubleshoot", "app", "the Troubleshoot tab"),
]


@pytest.mark.parametrize(
    ("step", "front", "place"), PLACES, ids=[f"{s}-{f}" for s, f, _ in PLACES]
)
def test_place_by_front_end(
    step: steps.Step, front: steps.FrontEnd, place: str
) -> None:
    assert step_place(step, front) == place


@pytest.mark.parametrize(
    ("step", "front", "place"), PLACES, ids=[f"{s}-{f}" for s, f, _ in PLACES]
)
def test_place_follows_setting(
    step: steps.Step, front: steps.FrontEnd, place: str
) -> None:
    set_front_end(front)

    assert front_end() == front
    assert step_place(step) == place


def test_notebooks_are_default() -> None:
    assert front_end() == "notebooks"
    assert step_place("grant") == "notebook 02-grant-access"


def test_every_step_has_a_place() -> None:
    assert STEPS == ("start", "identity", "grant", "task", "troubleshoot")
    assert set(NOTEBOOK_NAMES) == set(STEPS)
    assert len(TAB_TITLES) == len(STEPS)


def test_notebook_names_match_files() -> None:
    files = sorted(path.stem for path in NOTEBOOKS.glob("0[0-9]-*.ipynb"))

    assert [NOTEBOOK_NAMES[step] for step in STEPS] == files


@pytest.mark.parametrize("name", ["", "App", "lab", "voila"])
def test_unknown_front_end_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="Unknown front end") as raised:
        set_front_end(name)  # type: ignore[arg-type]

    assert repr(name) in str(raised.value)
    assert front_end() == "notebooks"


def test_unknown_front_end_argument_rejected() -> None:
    with pytest.raises(ValueError, match="Unknown front end 'lab'"):
        step_place("grant", "lab")  # type: ignore[arg-type]


@pytest.mark.parametrize("step", ["", "02-grant-access", "Grant", "verify"])
def test_unknown_step_rejected(step: str) -> None:
    with pytest.raises(ValueError, match="Unknown step") as raised:
        step_place(step)  # type: ignore[arg-type]

    assert repr(step) in str(raised.value)


@pytest.mark.parametrize("front", ["notebooks", "app"])
def test_service_fixes_name_the_place(front: steps.FrontEnd) -> None:
    # Pure services build their fixes when they are called, after the switch.
    set_front_end(front)
    identifier = parse_secret_identifier(
        "https://kv-demo.vault.azure.net/secrets/db-pass"
    )

    with pytest.raises(InvalidSecretIdentifierError) as raised:
        require_cloud(identifier, "AzureChinaCloud")
    expired = classify_error(401, "ExpiredAuthenticationToken", None)

    start = step_place("start", front)
    assert f"in {start} and sign in there" in raised.value.fix
    assert f"or in {start})" in expired.fix
