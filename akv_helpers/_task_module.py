"""Write the generated test task module and build the commands that run it remotely."""

from __future__ import annotations

import ast
import logging
import os
import re
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from akv_helpers._secret_layout import check_directory, write_error
from akv_helpers._task_code import parse_python
from akv_helpers._task_source import module_file_name, render_task_module
from akv_helpers.errors import InvalidNameError, TaskRunError

if TYPE_CHECKING:
    from akv_helpers.identifiers import SecretIdentifier

__all__ = ["remote_run_commands", "write_task_module"]


logger = logging.getLogger(__name__)


_FLYTE_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")


def write_task_module(
    identifier: SecretIdentifier, directory: Path, *, pinned: bool
) -> Path:
    """Write the test task module for the secret into `directory`.

    Parameters
    ----------
    identifier
        Parsed secret identifier.
    directory
        Destination directory, created if missing.
    pinned
        Request the identifier's version instead of the latest.

    Returns
    -------
    Path
        Path of ``check_<name>_secret.py`` inside `directory`.

    Raises
    ------
    TaskRunError
        If `directory` is not a directory or the file would land outside it.
    """
    source = render_task_module(identifier, pinned=pinned)
    directory = check_directory(Path(directory), "output directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        root = directory.resolve()
    except OSError as error:
        raise write_error(directory, error, "create the output directory") from None
    target = (root / module_file_name(identifier)).resolve()
    if target.parent != root:
        raise TaskRunError(
            f"The module path {target} is outside {root}.",
            "Choose another output directory.",
        )

    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=root
        )
    except OSError as error:
        raise write_error(target, error, "write the test task module") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(source)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise write_error(target, error, "write the test task module") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("Wrote the test task module %s", target)
    return target


def remote_run_commands(
    module_path: Path,
    project: str = "flytesnacks",
    domain: str = "development",
) -> list[str]:
    """Return the commands that run the test task on Flyte or Union.

    Parameters
    ----------
    module_path
        Path of the generated module.
    project
        Flyte project.
    domain
        Flyte domain.

    Returns
    -------
    list[str]
        The ``pyflyte run --remote`` and the ``union run --remote`` command lines,
        quoted for a POSIX shell.

    Raises
    ------
    InvalidNameError
        If `project` or `domain` is not a Flyte project or domain name.
    """
    for kind, name in (("project", project), ("domain", domain)):
        if not _FLYTE_NAME.fullmatch(name):
            raise InvalidNameError(
                f"The Flyte {kind} name {name!r} is invalid.",
                "Use lowercase letters, digits, hyphens and underscores.",
                value=name,
                expected="lowercase letters, digits, '-' and '_', at most 63",
            )
    entity = _entity_to_run(Path(module_path))
    arguments = ["--project", project, "--domain", domain, str(module_path), entity]
    return [
        shlex.join(["pyflyte", "run", "--remote", *arguments]),
        shlex.join(["union", "run", "--remote", *arguments]),
    ]


def _entity_to_run(module_path: Path) -> str:
    """Return the first workflow of the module, else its first task."""
    try:
        tree = parse_python(module_path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise TaskRunError(
            f"Cannot read the task module {module_path}: {type(error).__name__}.",
            "Generate it again with `akv-onboard task generate`.",
        ) from None

    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = (
                    decorator.func if isinstance(decorator, ast.Call) else decorator
                )
                label = target.attr if isinstance(target, ast.Attribute) else None
                if isinstance(target, ast.Name):
                    label = target.id
                if label in ("workflow", "task"):
                    found.setdefault(label, node.name)
    for label in ("workflow", "task"):
        if label in found:
            return found[label]
    raise TaskRunError(
        f"The module {module_path} defines no Flyte workflow or task.",
        "Generate it again with `akv-onboard task generate`.",
    )
