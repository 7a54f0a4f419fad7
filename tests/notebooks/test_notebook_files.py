"""Checks on the stored notebook files: no outputs, a markdown opening, kit imports."""

from __future__ import annotations

import ast
import sys

import nbformat
import pytest
from nbrun import NOTEBOOKS

NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = {
    "00-start-here.ipynb",
    "01-find-identity.ipynb",
    "02-grant-access.ipynb",
    "03-run-test-task.ipynb",
}


def _read(path):
    return nbformat.read(path, as_version=4)


def _code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_notebooks_all_present():
    names = {path.name for path in NOTEBOOK_PATHS}
    assert names >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_is_valid(path):
    nbformat.validate(_read(path))


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_stored_without_outputs(path):
    for index, cell in enumerate(_code_cells(_read(path))):
        assert cell.outputs == [], f"cell {index} has outputs"
        assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_opens_with_markdown(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ")
    assert "Prerequisites" in first.source


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_kernel_is_python3(path):
    assert _read(path).metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_imports_only_kit(path):
    for index, cell in enumerate(_code_cells(_read(path))):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"cell {index}: relative import"
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top == "akv_helpers", f"cell {index} imports {module}"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_defines_nothing_inline(path):
    for index, cell in enumerate(_code_cells(_read(path))):
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            definition = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
            assert not isinstance(node, definition), f"cell {index} defines {node}"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.name)
def test_notebook_has_no_shell_escapes(path):
    for index, cell in enumerate(_code_cells(_read(path))):
        for line in cell.source.splitlines():
            assert not line.lstrip().startswith(("!", "%")), f"cell {index}: {line}"


def test_kit_import_leaves_widgets_out():
    code = (
        "import sys, akv_helpers\n"
        "assert 'ipywidgets' not in sys.modules\n"
        "assert 'akv_helpers.ui' not in sys.modules\n"
    )
    import subprocess

    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
