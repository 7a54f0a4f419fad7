"""Records of a task-code analysis: the secrets a task requests and reads.

`akv_helpers._task_analysis` fills these records from a module's syntax tree,
with the helpers here that read string literals and call arguments from it.
"""

from __future__ import annotations

import ast
import re
import threading
from dataclasses import dataclass

from akv_helpers._task_lookup import INJECTOR_SECRETS_DIR
from akv_helpers.errors import InvalidInputError
from akv_helpers.secret_ids import SecretIdentifier, parse_secret_identifier

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
    "parse_python",
    "parse_written_secret_uri",
    "secrets_get_calls",
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


# CPython 3.11 keeps the AST builder's recursion depth in interpreter-wide
# state, so two threads parsing at once can make `ast.parse` raise
# "SystemError: AST constructor recursion depth mismatch" (python/cpython
# gh-106905). The doctor runs its checks in threads, so every parse by the kit
# goes through this lock.
_PARSE_LOCK = threading.Lock()


def parse_python(source: str) -> ast.Module:
    """Return the syntax tree of `source`, one parse at a time in the process.

    Raises
    ------
    SyntaxError
        If `source` is not valid Python.
    """
    with _PARSE_LOCK:
        return ast.parse(source)


_SCHEME = re.compile(r"^\s*(?:https?://)?", re.IGNORECASE)
_QUERY_OR_FRAGMENT = re.compile(r"[?#].*\Z", re.DOTALL)


def parse_written_secret_uri(text: str) -> SecretIdentifier | None:
    """Parse `text` as a Key Vault secret URI as a person may write it in code.

    `parse_secret_identifier` does the parsing, so any letter case, surrounding
    whitespace, a trailing slash, a version and the vault suffix of every cloud
    in `akv_helpers.clouds` are accepted. Before it runs, a missing scheme or
    ``http://`` becomes ``https://``, and a query string or fragment such as
    ``?api-version=7.4`` is dropped.

    Parameters
    ----------
    text
        A string from task code, such as the argument of ``secrets.get``.

    Returns
    -------
    SecretIdentifier or None
        The vault, name and version, or ``None`` when `text` is not a secret
        URI even in that loose sense.
    """
    candidate = _SCHEME.sub("https://", text.strip(), count=1)
    candidate = _QUERY_OR_FRAGMENT.sub("", candidate)
    try:
        return parse_secret_identifier(candidate)
    except InvalidInputError:
        return None


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


def _is_context(node: ast.expr, functions: set[str], contexts: set[str]) -> bool:
    """Tell whether `node` is ``current_context()`` or a name bound to it."""
    if isinstance(node, ast.Name):
        return node.id in contexts
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in functions
    return isinstance(func, ast.Attribute) and func.attr == "current_context"


def _is_secrets(
    node: ast.expr, functions: set[str], contexts: set[str], managers: set[str]
) -> bool:
    """Tell whether `node` is ``<context>.secrets`` or a name bound to it."""
    if isinstance(node, ast.Name):
        return node.id in managers
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "secrets"
        and _is_context(node.value, functions, contexts)
    )


def _scope_nodes(scope: ast.AST) -> list[ast.AST]:
    """Return the nodes of `scope`, without those of the functions nested in it."""
    found: list[ast.AST] = []
    pending = list(ast.iter_child_nodes(scope))
    while pending:
        node = pending.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return found


def _bindings(nodes: list[ast.AST]) -> list[tuple[str, ast.expr]]:
    """Return the ``(name, value)`` pairs of the simple assignments in `nodes`."""
    pairs: list[tuple[str, ast.expr]] = []
    for node in nodes:
        if isinstance(node, ast.Assign):
            pairs.extend(
                (target.id, node.value)
                for target in node.targets
                if isinstance(target, ast.Name)
            )
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value:
            if isinstance(node.target, ast.Name):
                pairs.append((node.target.id, node.value))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            pairs.extend(
                (item.optional_vars.id, item.context_expr)
                for item in node.items
                if isinstance(item.optional_vars, ast.Name)
            )
    return pairs


def _context_functions(tree: ast.Module) -> set[str]:
    """Return the local names of flytekit's ``current_context``, as imported."""
    names = {"current_context"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "flytekit"
        ):
            names.update(
                alias.asname or alias.name
                for alias in node.names
                if alias.name == "current_context"
            )
    return names


def secrets_get_calls(tree: ast.Module) -> list[ast.Call]:
    """Find the calls of flytekit's ``secrets.get``, following names in each function.

    A call counts when its receiver is ``current_context().secrets`` or a name
    bound, in the same function or at module level, to it or to
    ``current_context()``, such as ``s = current_context().secrets`` followed by
    ``s.get(...)``. A bare ``secrets.get(...)`` counts when ``secrets`` is bound
    nowhere and the standard ``secrets`` module is not imported, which is how a
    pasted snippet often reads.
    """
    functions = _context_functions(tree)
    module_nodes = _scope_nodes(tree)
    stdlib = any(
        isinstance(node, ast.Import)
        and any(alias.name == "secrets" and not alias.asname for alias in node.names)
        for node in ast.walk(tree)
    )
    bound = {name for node in ast.walk(tree) for name, _ in _bindings([node])}
    scopes: list[ast.AST] = [tree]
    scopes += [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    ]
    calls: list[ast.Call] = []
    module_pairs = _bindings(module_nodes)
    for scope in scopes:
        nodes = module_nodes if scope is tree else _scope_nodes(scope)
        pairs = module_pairs + ([] if scope is tree else _bindings(nodes))
        contexts: set[str] = set()
        managers: set[str] = set()
        changed = True
        while changed:  # names bound to names bound to the context, and so on
            before = len(contexts) + len(managers)
            for name, value in pairs:
                if _is_context(value, functions, contexts):
                    contexts.add(name)
                elif _is_secrets(value, functions, contexts, managers):
                    managers.add(name)
            changed = len(contexts) + len(managers) != before
        if not stdlib and "secrets" not in bound:
            managers.add("secrets")
        for node in nodes:
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and _is_secrets(node.func.value, functions, contexts, managers)
            ):
                calls.append(node)
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))
