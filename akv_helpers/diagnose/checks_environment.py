"""Check of the Jupyter widget packages that the kit's panels need.

ipywidgets (in the kernel) and its front-end extension must come from the same
major release: ipywidgets 8.x with jupyterlab_widgets 3.x (JupyterLab and
Notebook 7) and widgetsnbextension 4.x (the classic Notebook), ipywidgets 7.x
with jupyterlab_widgets 1.x and widgetsnbextension 3.x. Out of step, the panels
show as plain text or as "Error displaying widget". `check_widget_versions` is
a pure function of the installed versions; the registered check reads them
with `importlib.metadata`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check

__all__ = [
    "COMPANION_MAJORS",
    "WIDGET_PACKAGES",
    "check_widget_versions",
    "installed_versions",
    "kit_pins",
]

CHECK_ID = "environment.widgets"
TITLE = "Jupyter widgets"

# Packages read by the check. jupyterlab and notebook tell which front ends are
# installed next to the kernel.
WIDGET_PACKAGES = (
    "ipywidgets",
    "jupyterlab_widgets",
    "widgetsnbextension",
    "jupyterlab",
    "notebook",
)

# ipywidgets major -> the matching majors of its front-end extensions. ipywidgets
# 8.1.9 requires widgetsnbextension~=4.0.16 and jupyterlab_widgets~=3.0.17, and
# its 7.6 changelog makes jupyterlab_widgets 1.0 a dependency of the 7.x line.
COMPANION_MAJORS: Mapping[int, Mapping[str, int]] = {
    8: {"jupyterlab_widgets": 3, "widgetsnbextension": 4},
    7: {"jupyterlab_widgets": 1, "widgetsnbextension": 3},
}

# Used when the kit runs without its requirements files (installed as a wheel).
_FALLBACK_SPECS = {
    "ipywidgets": "ipywidgets>=8,<9",
    "jupyterlab_widgets": "jupyterlab_widgets>=3,<4",
    "widgetsnbextension": "widgetsnbextension>=4,<5",
}
_PIN = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([A-Za-z0-9_.+!-]+)")
_REQUIREMENTS_FILES = ("requirements.txt", "constraints.txt")
_EXPECTED = (
    "ipywidgets and its front-end extension from the same major release: "
    "ipywidgets 8.x with jupyterlab_widgets 3.x (and widgetsnbextension 4.x for "
    "the classic Notebook), or ipywidgets 7.x with jupyterlab_widgets 1.x and "
    "widgetsnbextension 3.x."
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def kit_pins(directory: Path | None = None) -> dict[str, str]:
    """Return the kit's pinned widget requirements, such as ``ipywidgets==8.1.9``.

    Pins come from ``requirements.txt`` first, then ``constraints.txt``, in
    `directory` (default: the checkout that contains this package). A package
    pinned in neither file gets a range of its supported major release.

    Parameters
    ----------
    directory
        Folder holding the requirements files.

    Returns
    -------
    dict[str, str]
        Requirement specifier of ipywidgets, jupyterlab_widgets and
        widgetsnbextension.
    """
    folder = directory or Path(__file__).resolve().parents[2]
    pins: dict[str, str] = {}
    for file_name in _REQUIREMENTS_FILES:
        try:
            lines = (folder / file_name).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            match = _PIN.match(line)
            if match is None:
                continue
            name = _normalise(match[1])
            if name in _FALLBACK_SPECS and name not in pins:
                pins[name] = f"{name}=={match[2]}"
    return {name: pins.get(name, spec) for name, spec in _FALLBACK_SPECS.items()}


def installed_versions() -> dict[str, str | None]:
    """Return the installed version of each of `WIDGET_PACKAGES`, or ``None``."""
    versions: dict[str, str | None] = {}
    for name in WIDGET_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _major(version: str | None) -> int | None:
    if not version:
        return None
    match = re.match(r"\s*(\d+)", version)
    return int(match[1]) if match else None


def _pip_command(pins: Mapping[str, str], names: list[str]) -> str:
    return "pip install " + " ".join(f'"{pins[name]}"' for name in names)


def _finding(
    status: Status,
    observed: str,
    versions: Mapping[str, str | None],
    fix: str = "",
    command: str = "",
) -> Finding:
    evidence = {name: version or "not installed" for name, version in versions.items()}
    if command:
        fix = fix.format(command=f"`{command}`")
    commands = (command,) if command else ()
    return Finding(
        CHECK_ID, TITLE, status, observed, _EXPECTED, fix, evidence, commands
    )


def _classic_notebook(versions: Mapping[str, str | None]) -> bool:
    major = _major(versions.get("notebook"))
    return major is not None and major < 7


def check_widget_versions(
    versions: Mapping[str, str | None], pins: Mapping[str, str] | None = None
) -> Finding:
    """Compare the widget packages' major versions and return the fix.

    Parameters
    ----------
    versions
        Installed version of each package name (``None`` when missing); names
        missing from the mapping count as not installed. Keys are
        ``"ipywidgets"``, ``"jupyterlab_widgets"``, ``"widgetsnbextension"``,
        and optionally ``"jupyterlab"`` and ``"notebook"``.
    pins
        Requirement specifiers for the fix; default: `kit_pins`.

    Returns
    -------
    Finding
        ``environment.widgets``: failed when ipywidgets or the extension of an
        installed front end is missing or from another major release; warning
        for a release the kit was not tested with, or an extension missing
        where the front end may run in another environment; not applicable
        when no widget package and no front end is installed.

    Examples
    --------
    >>> finding = check_widget_versions(
    ...     {"ipywidgets": "8.1.9", "jupyterlab_widgets": "1.1.1"},
    ...     {"ipywidgets": "ipywidgets==8.1.9",
    ...      "jupyterlab_widgets": "jupyterlab_widgets==3.0.17",
    ...      "widgetsnbextension": "widgetsnbextension==4.0.16"},
    ... )
    >>> finding.status.value
    'failed'
    """
    pins = dict(pins) if pins is not None else kit_pins()
    versions = {name: versions.get(name) for name in WIDGET_PACKAGES}
    widgets_version = versions["ipywidgets"]
    lab = versions["jupyterlab"]
    front_ends = [name for name in ("jupyterlab", "notebook") if versions[name]]
    everything = ["ipywidgets", "jupyterlab_widgets", "widgetsnbextension"]
    install_all = _pip_command(pins, everything)

    if widgets_version is None:
        if not front_ends and not versions["jupyterlab_widgets"]:
            return _finding(
                Status.NOT_APPLICABLE,
                "Neither ipywidgets nor a Jupyter front end is installed in this "
                "environment, so the notebook panels are not used from here.",
                versions,
            )
        return _finding(
            Status.FAILED,
            "ipywidgets is not installed in this kernel's environment, so every "
            "panel shows as plain text.",
            versions,
            "Install the kit's pins: {command}, then restart the kernel and "
            "reload the page.",
            install_all,
        )

    major = _major(widgets_version)
    companions = COMPANION_MAJORS.get(major or -1)
    if companions is None:
        return _finding(
            Status.WARNING,
            f"ipywidgets {widgets_version} is installed; the kit's panels are "
            "built and tested with ipywidgets 8.x.",
            versions,
            "Install the kit's pins: {command}.",
            install_all,
        )

    lab_extension = versions["jupyterlab_widgets"]
    lab_major = _major(lab_extension)
    expected_lab = companions["jupyterlab_widgets"]
    fix_lab = (
        "Install the matching pair into the environment that runs JupyterLab: "
        "{command}, then restart JupyterLab and reload the page."
    )
    command_lab = _pip_command(pins, ["ipywidgets", "jupyterlab_widgets"])
    if lab_extension is not None and lab_major != expected_lab:
        return _finding(
            Status.FAILED,
            f"ipywidgets {widgets_version} needs jupyterlab_widgets {expected_lab}.x, "
            f"but jupyterlab_widgets {lab_extension} is installed, so JupyterLab "
            "shows 'Error displaying widget' or plain text instead of the panels.",
            versions,
            fix_lab,
            command_lab,
        )
    if lab_extension is None:
        status = Status.FAILED if lab else Status.WARNING
        where = (
            f"JupyterLab {lab} is installed here without it"
            if lab
            else "JupyterLab may run from another environment, which then needs it"
        )
        return _finding(
            status,
            f"ipywidgets {widgets_version} needs jupyterlab_widgets {expected_lab}.x, "
            f"which is not installed; {where}.",
            versions,
            fix_lab,
            command_lab,
        )

    classic = versions["widgetsnbextension"]
    classic_major = _major(classic)
    expected_classic = companions["widgetsnbextension"]
    if classic_major != expected_classic and (
        classic is not None or _classic_notebook(versions)
    ):
        shown = f"widgetsnbextension {classic}" if classic else "no widgetsnbextension"
        return _finding(
            Status.FAILED if _classic_notebook(versions) else Status.WARNING,
            f"ipywidgets {widgets_version} needs widgetsnbextension "
            f"{expected_classic}.x for the classic Notebook, but {shown} is "
            "installed; JupyterLab is not affected.",
            versions,
            "Install the matching version: {command}, then restart the Notebook "
            "server.",
            _pip_command(pins, ["ipywidgets", "widgetsnbextension"]),
        )

    shown = f"ipywidgets {widgets_version}, jupyterlab_widgets {lab_extension}"
    if classic:
        shown += f", widgetsnbextension {classic}"
    return _finding(
        Status.OK,
        f"{shown}: from the same major release.",
        versions,
    )


@check(CHECK_ID, title=TITLE)
def check_widgets(context: CheckContext) -> Finding:
    """Check the widget packages installed in this kernel's environment."""
    return check_widget_versions(installed_versions())
