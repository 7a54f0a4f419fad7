"""Jupyter server hooks that keep the kit's notebooks free of outputs on disk.

`make lab` sets `strip_outputs` as the contents manager's ``pre_save_hook``, so
JupyterLab's autosave never writes an output, and with it an ID or a message,
into the notebooks of the checkout. The outputs stay in the open notebook.
"""

from __future__ import annotations

from typing import Any

__all__ = ["strip_outputs"]

# Cell metadata that records a run: JupyterLab's execution timings.
_RUN_METADATA = ("execution",)


def strip_outputs(model: dict[str, Any], **_: Any) -> None:
    """Remove the outputs and execution counts of a notebook model before saving.

    Parameters
    ----------
    model
        The contents model that Jupyter server is about to save; only a model
        of type ``"notebook"`` is changed, in place.
    """
    if model.get("type") != "notebook":
        return
    content = model.get("content")
    if not isinstance(content, dict):
        return
    for cell in content.get("cells", []):
        if not isinstance(cell, dict):
            continue
        metadata = cell.get("metadata")
        if isinstance(metadata, dict):
            for key in _RUN_METADATA:
                metadata.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
