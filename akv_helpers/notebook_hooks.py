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
    """Remove a notebook model's outputs and run records before saving.

    Code cells lose their outputs and execution counts, every cell loses its
    execution timings, and the notebook's ``language_info`` keeps only the
    language's name.

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
    metadata = content.get("metadata")
    if isinstance(metadata, dict):
        # The kernel fills language_info with its own version on every run; the
        # committed notebooks keep only the language's name.
        language = metadata.get("language_info")
        if isinstance(language, dict) and "name" in language:
            metadata["language_info"] = {"name": language["name"]}
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
