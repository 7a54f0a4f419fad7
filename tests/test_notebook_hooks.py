"""The pre-save hook that keeps outputs out of the saved notebooks."""

from __future__ import annotations

import copy

from akv_helpers.notebook_hooks import strip_outputs

NOTEBOOK = {
    "type": "notebook",
    "content": {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {"execution": {"iopub.status.idle": "now"}, "tags": ["a"]},
                "outputs": [{"output_type": "stream", "text": "principal ID"}],
                "source": "GrantPanel()",
            },
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
    },
}


def test_strip_outputs_clears_code_cells() -> None:
    model = copy.deepcopy(NOTEBOOK)

    strip_outputs(model, path="02-grant-access.ipynb", contents_manager=None)

    code = model["content"]["cells"][1]
    assert code["outputs"] == []
    assert code["execution_count"] is None
    assert code["metadata"] == {"tags": ["a"]}
    assert code["source"] == "GrantPanel()"
    assert model["content"]["cells"][0] == NOTEBOOK["content"]["cells"][0]
    assert model["content"]["metadata"]["language_info"] == {"name": "python"}
    assert model["content"]["metadata"]["kernelspec"]["name"] == "python3"


def test_strip_outputs_leaves_other_files() -> None:
    model = {"type": "file", "content": "outputs"}

    strip_outputs(model, path="notes.txt")

    assert model == {"type": "file", "content": "outputs"}


def test_strip_outputs_tolerates_odd_content() -> None:
    model = {"type": "notebook", "content": {"cells": ["not a cell", {"x": 1}]}}

    strip_outputs(model)

    assert model["content"]["cells"] == ["not a cell", {"x": 1}]
