"""The check of a task file's path, shared by the doctor command and its panel."""

from __future__ import annotations

import os
from pathlib import Path

from akv_helpers.errors import InvalidInputError, displayable

__all__ = ["TASK_FILE_EXPECTED", "check_task_file"]

TASK_FILE_EXPECTED = "the path of an existing, readable Python file of a Flyte task"


def check_task_file(text: str, hint: str = "") -> Path:
    """Check that `text` names a task file the doctor can read, before it runs.

    The file must exist, must not be a folder and must be readable. A leading
    ``~`` is expanded.

    Parameters
    ----------
    text
        The path as the user typed it.
    hint
        A sentence added to the fix, such as another way to give the task.

    Returns
    -------
    Path
        The path, with ``~`` expanded.

    Raises
    ------
    InvalidInputError
        If the file does not exist, is a folder or cannot be read.
    """
    path = Path(text).expanduser()
    if path.is_dir():
        problem = "is a folder, not a file"
        fix = "Give the path of the task's .py file in that folder."
    elif not path.exists():
        problem = "does not exist"
        fix = (
            "Check the path. A relative path starts in the current working "
            f"folder, {displayable(os.getcwd())}."
        )
    elif not os.access(path, os.R_OK):
        problem = "cannot be read (permission denied)"
        fix = "Make the file readable to the user that runs the kit."
    else:
        return path
    raise InvalidInputError(
        f"The task file '{displayable(text)}' {problem}. Expected "
        f"{TASK_FILE_EXPECTED}.",
        f"{fix} {hint}".strip(),
        value=text,
        expected=TASK_FILE_EXPECTED,
    )
