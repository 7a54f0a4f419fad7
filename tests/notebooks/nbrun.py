"""Execute the kit's notebooks headless with extra test-only cells.

The repository copy of a notebook is never modified. `run_notebook` loads it and
appends code cells to the in-memory copy. It executes that copy with nbclient in a
real ``python3`` kernel whose working directory is ``notebooks/``, and returns the
JSON value each appended cell printed. A failing run writes the executed copy to
``test-artifacts/`` so it can be opened in JupyterLab.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from support import visible_text

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"
CELL_TIMEOUT = 120
RESULT_MARKER = "@@akv-test-result@@"


@dataclass
class ExecutedNotebook:
    """An executed in-memory copy of a notebook and what its test cells printed."""

    name: str
    notebook: nbformat.NotebookNode
    first_test_cell: int
    results: list[object] = field(default_factory=list)

    def save_artifact(self, label: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{label}-{self.name}"
        nbformat.write(self.notebook, path)
        return path


def probe(statements: str, result: dict[str, str]) -> str:
    """Return a test cell that runs `statements`, then prints `result` as JSON.

    `result` maps each key of the printed object to a Python expression that the
    kernel evaluates after `statements`.
    """
    fields = ", ".join(f"{key!r}: {expression}" for key, expression in result.items())
    return (
        f"{statements}\n"
        "import json as _akv_json\n"
        f"print({RESULT_MARKER!r} + _akv_json.dumps({{{fields}}}))\n"
    )


def text_of(fragment: str) -> str:
    """Return the visible text of an HTML fragment, whitespace collapsed."""
    return visible_text(fragment)


def _kernel_environment(home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment["AKV_ONBOARD_HOME"] = str(home)
    # The kernel imports the checkout under test, whether or not it is installed.
    inherited = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), inherited] if inherited else [str(REPO)]
    )
    environment.pop("PYTEST_CURRENT_TEST", None)
    environment.pop("PYTEST_XDIST_WORKER", None)
    return environment


def _results(notebook: nbformat.NotebookNode, first: int) -> list[object]:
    results: list[object] = []
    for cell in notebook.cells[first:]:
        value: object = None
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            for line in output.get("text", "").splitlines():
                if line.startswith(RESULT_MARKER):
                    value = json.loads(line[len(RESULT_MARKER) :])
        results.append(value)
    return results


def run_notebook(
    name: str, home: Path, test_cells: list[str], label: str
) -> ExecutedNotebook:
    """Execute notebook `name` with `test_cells` appended.

    Parameters
    ----------
    name
        File name under ``notebooks/``.
    home
        Kit home the kernel uses (``AKV_ONBOARD_HOME``).
    test_cells
        Code of the cells to append, in order.
    label
        Prefix of the artifact file written when execution fails.
    """
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = len(notebook.cells)
    for code in test_cells:
        notebook.cells.append(nbformat.v4.new_code_cell(code))
    executed = ExecutedNotebook(name=name, notebook=notebook, first_test_cell=first)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    try:
        client.execute(env=_kernel_environment(home))
    except CellExecutionError:
        executed.save_artifact(label)
        raise
    executed.results = _results(notebook, first)
    return executed


def execute_printing(client: Any, code: str, timeout: float = CELL_TIMEOUT) -> str:
    """Run `code` through a blocking kernel client and return what it printed.

    Raises
    ------
    AssertionError
        With the kernel's traceback, when the code raised.
    """
    message_id = client.execute(code)
    printed = []
    while True:
        message = client.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != message_id:
            continue
        kind = message["msg_type"]
        if kind == "stream":
            printed.append(message["content"]["text"])
        elif kind == "error":
            raise AssertionError("\n".join(message["content"]["traceback"]))
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            return "".join(printed)
