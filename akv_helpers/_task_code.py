"""Records of a task-code analysis: the secrets a task requests and reads.

`akv_helpers._task_analysis` fills these records from a module's syntax tree,
with the helpers here that read string literals and call arguments from it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from akv_helpers._task_lookup import INJECTOR_SECRETS_DIR

__all__ = [
    "KIND_CASE_COLLISION",
    "KIND_ENV_VAR_MOUNT",
    "KIND_GET_WITH_URI",
    "KIND_LATEST_AND_PINNED",
    "KIND_REQUEST",
    "KIND_VERSION_MISMATCH",
    "SecretRead",
    "SecretRequest",
    "TaskCodeFinding",
    "TaskCodeReport",
    "argument",
    "call_name",
    "constant_strings",
    "string_value",
]

# Kinds of task-code problems; each is the last part of a doctor check's ID.
KIND_GET_WITH_URI = "get-with-uri"
KIND_VERSION_MISMATCH = "version-mismatch"
KIND_ENV_VAR_MOUNT = "env-var-mount"
KIND_LATEST_AND_PINNED = "latest-and-pinned"
KIND_CASE_COLLISION = "case-collision"
KIND_REQUEST = "secret-request"


@dataclass(frozen=True)
class TaskCodeFinding:
    """A problem found in a task's secret request or in its ``secrets.get`` call.

    Attributes
    ----------
    line
        Line number in the checked source.
    message
        What is wrong.
    fix
        The corrected code or what to do.
    kind
        Kind of problem, one of the ``KIND_*`` constants.
    """

    line: int
    message: str
    fix: str
    kind: str = KIND_REQUEST


@dataclass(frozen=True)
class SecretRequest:
    """A ``Secret(group=<Key Vault secret URI>, ...)`` request in task code.

    Attributes
    ----------
    line
        Line of the ``Secret(...)`` call.
    group
        The group as written.
    host
        Vault host, lowercased.
    name
        Secret name, lowercased.
    written_name
        Secret name as written in the group.
    version
        Requested version, lowercased, or ``None`` for the latest.
    """

    line: int
    group: str
    host: str
    name: str
    written_name: str
    version: str | None

    @property
    def file_path(self) -> str:
        """Path of the file the injector writes the value to."""
        if self.version is None:
            return f"{INJECTOR_SECRETS_DIR}/{self.name}"
        return f"{INJECTOR_SECRETS_DIR}/{self.name}/{self.version}"


@dataclass(frozen=True)
class SecretRead:
    """A ``secrets.get(name[, group_version=...])`` call with a literal name.

    Attributes
    ----------
    line
        Line of the call.
    name
        First argument as written.
    version
        The ``group_version`` argument, or ``None`` when absent.
    version_known
        False when ``group_version`` is given but is not a string literal or a
        module-level string constant.
    """

    line: int
    name: str
    version: str | None
    version_known: bool = True


@dataclass(frozen=True)
class TaskCodeReport:
    """Everything `analyze_task_code` found in one task module or snippet."""

    requests: tuple[SecretRequest, ...]
    reads: tuple[SecretRead, ...]
    findings: tuple[TaskCodeFinding, ...]

    def of_kind(self, kind: str) -> list[TaskCodeFinding]:
        """Return the findings of one ``KIND_*``, in source order."""
        return [finding for finding in self.findings if finding.kind == kind]


def constant_strings(tree: ast.Module) -> dict[str, str]:
    """Map module-level names assigned a string literal to that string."""
    constants: dict[str, str] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def string_value(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    """Return the string a literal or a module-level constant holds, else ``None``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def call_name(call: ast.Call) -> str:
    """Return the called name: ``f`` for ``f(...)`` and ``obj.f(...)``, else ``""``."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    """Return the argument passed as `keyword`, or else at `position`, if any."""
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position:
        return call.args[position]
    return None
