"""The widget-version check: a table of installed versions, and the real kernel."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose
from akv_helpers.diagnose.checks_environment import (
    check_widget_versions,
    installed_versions,
    kit_pins,
)

REPO = Path(__file__).resolve().parents[2]
PINS = {
    "ipywidgets": "ipywidgets==8.1.9",
    "jupyterlab_widgets": "jupyterlab_widgets==3.0.17",
    "widgetsnbextension": "widgetsnbextension==4.0.16",
}
LAB_FIX = 'pip install "ipywidgets==8.1.9" "jupyterlab_widgets==3.0.17"'
ALL_FIX = (
    'pip install "ipywidgets==8.1.9" "jupyterlab_widgets==3.0.17" '
    '"widgetsnbextension==4.0.16"'
)
CLASSIC_FIX = 'pip install "ipywidgets==8.1.9" "widgetsnbextension==4.0.16"'


def versions(
    widgets: str | None = "8.1.9",
    lab_extension: str | None = "3.0.17",
    classic_extension: str | None = "4.0.16",
    lab: str | None = "4.6.6",
    notebook: str | None = None,
) -> dict[str, str | None]:
    return {
        "ipywidgets": widgets,
        "jupyterlab_widgets": lab_extension,
        "widgetsnbextension": classic_extension,
        "jupyterlab": lab,
        "notebook": notebook,
    }


# (installed, status, words the observed text must contain, fix command)
CASES = [
    pytest.param(
        versions(), Status.OK, ["8.1.9", "3.0.17", "4.0.16"], "", id="matching-8"
    ),
    pytest.param(
        versions("7.8.5", "1.1.11", "3.6.10"),
        Status.OK,
        ["7.8.5", "1.1.11"],
        "",
        id="matching-7",
    ),
    pytest.param(
        versions(lab_extension="1.1.11"),
        Status.FAILED,
        ["ipywidgets 8.1.9 needs jupyterlab_widgets 3.x", "jupyterlab_widgets 1.1.11"],
        LAB_FIX,
        id="8-with-lab-extension-1",
    ),
    pytest.param(
        versions("7.8.5", "3.0.17", "3.6.10"),
        Status.FAILED,
        ["ipywidgets 7.8.5 needs jupyterlab_widgets 1.x", "jupyterlab_widgets 3.0.17"],
        LAB_FIX,
        id="7-with-lab-extension-3",
    ),
    pytest.param(
        versions(lab_extension=None),
        Status.FAILED,
        ["needs jupyterlab_widgets 3.x", "not installed", "JupyterLab 4.6.6"],
        LAB_FIX,
        id="lab-extension-missing-with-lab",
    ),
    pytest.param(
        versions(lab_extension=None, lab=None),
        Status.WARNING,
        ["needs jupyterlab_widgets 3.x", "another environment"],
        LAB_FIX,
        id="lab-extension-missing-without-lab",
    ),
    pytest.param(
        versions(widgets=None),
        Status.FAILED,
        ["ipywidgets is not installed"],
        ALL_FIX,
        id="ipywidgets-missing",
    ),
    pytest.param(
        versions(classic_extension="3.6.10"),
        Status.WARNING,
        ["needs widgetsnbextension 4.x", "widgetsnbextension 3.6.10"],
        CLASSIC_FIX,
        id="classic-extension-3-without-classic",
    ),
    pytest.param(
        versions(classic_extension="3.6.10", notebook="6.5.7"),
        Status.FAILED,
        ["needs widgetsnbextension 4.x", "widgetsnbextension 3.6.10"],
        CLASSIC_FIX,
        id="classic-extension-3-with-notebook-6",
    ),
    pytest.param(
        versions(classic_extension=None, notebook="6.5.7"),
        Status.FAILED,
        ["needs widgetsnbextension 4.x", "no widgetsnbextension"],
        CLASSIC_FIX,
        id="classic-extension-missing-with-notebook-6",
    ),
    pytest.param(
        versions(classic_extension=None, notebook="7.2.0"),
        Status.OK,
        ["jupyterlab_widgets 3.0.17"],
        "",
        id="classic-extension-missing-with-notebook-7",
    ),
    pytest.param(
        versions("9.0.0"),
        Status.WARNING,
        ["ipywidgets 9.0.0", "8.x"],
        ALL_FIX,
        id="untested-major",
    ),
    pytest.param(
        versions(None, None, None, None, None),
        Status.NOT_APPLICABLE,
        ["Neither ipywidgets nor a Jupyter front end"],
        "",
        id="no-jupyter-at-all",
    ),
]


@pytest.mark.parametrize(("installed", "status", "words", "command"), CASES)
def test_widget_versions(installed, status, words, command) -> None:
    finding = check_widget_versions(installed, PINS)

    assert finding.id == "environment.widgets"
    assert finding.status is status
    for word in words:
        assert word in finding.observed
    if command:
        assert command in finding.fix
        assert finding.commands == (command,)
    else:
        assert finding.fix == ""
        assert finding.commands == ()


def test_widget_versions_evidence() -> None:
    finding = check_widget_versions(versions(lab_extension=None), PINS)

    assert finding.evidence["jupyterlab_widgets"] == "not installed"
    assert finding.evidence["ipywidgets"] == "8.1.9"


def test_widget_versions_missing_keys() -> None:
    finding = check_widget_versions({"ipywidgets": "8.1.9"}, PINS)

    assert finding.status is Status.WARNING
    assert "jupyterlab_widgets" in finding.fix


def test_kit_pins_from_requirements() -> None:
    pins = kit_pins(REPO)

    assert pins["ipywidgets"].startswith("ipywidgets==8.")
    assert pins["jupyterlab_widgets"].startswith("jupyterlab_widgets==3.")
    assert pins["widgetsnbextension"].startswith("widgetsnbextension==4.")


def test_kit_pins_without_files(tmp_path: Path) -> None:
    pins = kit_pins(tmp_path)

    assert pins["ipywidgets"] == "ipywidgets>=8,<9"
    assert pins["jupyterlab_widgets"] == "jupyterlab_widgets>=3,<4"


def test_kit_pins_first_file_wins(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("ipywidgets == 8.1.5  # ui\n")
    (tmp_path / "constraints.txt").write_text(
        "ipywidgets==8.0.0\nwidgetsnbextension==4.0.1\n"
    )
    pins = kit_pins(tmp_path)

    assert pins["ipywidgets"] == "ipywidgets==8.1.5"
    assert pins["widgetsnbextension"] == "widgetsnbextension==4.0.1"


def test_installed_versions_real() -> None:
    found = installed_versions()

    assert found["ipywidgets"] == metadata.version("ipywidgets")
    assert found["jupyterlab_widgets"] == metadata.version("jupyterlab_widgets")


def test_widgets_check_in_doctor_run() -> None:
    diagnosis = diagnose(
        None,
        DiagnosisInputs(
            identifier_text="https://kv-demo.vault.azure.net/secrets/db-pass"
        ),
    )
    finding = diagnosis.finding("environment.widgets")

    assert finding.status is Status.OK
    assert metadata.version("ipywidgets") in finding.observed
