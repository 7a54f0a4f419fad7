"""Source code of the Flyte test task: rendering it, and checking a user's task code.

The rendered module imports only flytekit and the standard library, so it runs on
Union unchanged. Values enter it in two ways only: as ``repr()`` literals built from
a parsed `SecretIdentifier`, and, in the docstring, after `_plain` has checked that
they hold no character that could end a string.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from akv_helpers.identifiers import SecretIdentifier

__all__ = [
    "INJECTOR_SECRETS_DIR",
    "KIND_CASE_COLLISION",
    "KIND_ENV_VAR_MOUNT",
    "KIND_GET_WITH_URI",
    "KIND_LATEST_AND_PINNED",
    "KIND_REQUEST",
    "KIND_VERSION_MISMATCH",
    "TASK_NAME",
    "WORKFLOW_NAME",
    "SecretLookup",
    "SecretRead",
    "SecretRequest",
    "TaskCodeFinding",
    "TaskCodeReport",
    "analyze_task_code",
    "check_task_code",
    "describe_lookup",
    "flytekit_lookup",
    "module_file_name",
    "render_task_module",
]

TASK_NAME = "read_secret"
WORKFLOW_NAME = "check_secret"

# Characters that secret identifiers, names and versions consist of once parsed.
_PLAIN = re.compile(r"[A-Za-z0-9._:/\-]+")

_HEADER = Template('''\
r"""Check that a Flyte task can read one Azure Key Vault secret.

Secret URI (the request's group): ${group}
Version: ${version_line}

The task `${task}` requests the secret from Union's Azure secret injector, reads
it with flytekit and returns its fingerprint: the length of the value and the
first 12 hex characters of its SHA-256 digest. It never returns or prints the
value itself. The workflow `${workflow}` wraps the task.

Run on Union, after the data-plane identity has been granted the role
Key Vault Secrets User on the secret:

    pyflyte run --remote ${file} ${workflow}
    union run --remote ${file} ${workflow}

Run locally with the value in a file laid out as the injector lays it out,
readable by you only:

    mkdir -m 700 secrets
    # Write the value to this file:
    #     secrets/${layout}
    FLYTE_SECRETS_DEFAULT_DIR="$$PWD/secrets" FLYTE_SECRETS_FILE_PREFIX= \\
        pyflyte run ${file} ${workflow}

Before the file, flytekit looks for the environment variable
${env_var}
which bash cannot export when the name contains a hyphen.
"""

import hashlib

import flytekit
from flytekit import Secret, task, workflow

# Union's Azure injector takes the vault and the secret name from the versionless
# secret URI in `group`, and the version from `group_version`.
SECRET_GROUP = ${group_literal}
SECRET_NAME = ${name_literal}
''')

_PINNED_BODY = Template('''\
SECRET_VERSION = ${version_literal}


@task(
    secret_requests=[
        Secret(
            group=SECRET_GROUP,
            group_version=SECRET_VERSION,
            mount_requirement=Secret.MountType.FILE,
        )
    ]
)
def ${task}() -> str:
    """Read the secret and return its fingerprint, never its value."""
    secrets = flytekit.current_context().secrets
    value = secrets.get(SECRET_NAME, group_version=SECRET_VERSION)
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"length={len(value)} sha256={digest[:12]}"
''')

_LATEST_BODY = Template('''\


@task(
    secret_requests=[
        Secret(group=SECRET_GROUP, mount_requirement=Secret.MountType.FILE)
    ]
)
def ${task}() -> str:
    """Read the latest version of the secret and return its fingerprint."""
    value = flytekit.current_context().secrets.get(SECRET_NAME)
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"length={len(value)} sha256={digest[:12]}"
''')

_FOOTER = Template('''\


@workflow
def ${workflow}() -> str:
    """Run `${task}` and return the fingerprint it computed."""
    return ${task}()
''')


def _plain(value: str) -> str:
    """Return `value` if it is safe inside the docstring, else raise ValueError."""
    if not _PLAIN.fullmatch(value):
        raise ValueError(f"unexpected character in {value!r}")
    return value


def module_file_name(identifier: SecretIdentifier) -> str:
    """Return the file name of the test task module for the secret.

    Parameters
    ----------
    identifier
        Parsed secret identifier.

    Returns
    -------
    str
        ``check_<name with - replaced by _>_secret.py``, a valid module name.
    """
    stem = f"check_{identifier.name.replace('-', '_')}_secret"
    if not stem.isidentifier():
        raise ValueError(f"{stem!r} is not a valid Python module name")
    return f"{stem}.py"


def render_task_module(identifier: SecretIdentifier, *, pinned: bool) -> str:
    """Render the source of a standalone Flyte module that reads one secret.

    Parameters
    ----------
    identifier
        Parsed secret identifier. Its group URI, name and version are the only
        values that enter the source.
    pinned
        Request the identifier's version with ``group_version``. Without it the
        task reads the latest version.

    Returns
    -------
    str
        Python source that imports only flytekit and the standard library.

    Raises
    ------
    ValueError
        If `pinned` is set but the identifier has no version.
    """
    version = identifier.version if pinned else None
    if pinned and version is None:
        raise ValueError("a pinned task needs a secret identifier with a version")

    name = _plain(identifier.name)
    group = _plain(identifier.group_uri)
    if version is None:
        layout = name
        env_var = f"_FSEC_{name.upper()}"
        version_line = "latest (no group_version)"
    else:
        version = _plain(version)
        layout = f"{name}/{version}"
        env_var = f"_FSEC_{name.upper()}_{version.upper()}"
        version_line = version

    header = _HEADER.substitute(
        name=name,
        version_line=version_line,
        task=TASK_NAME,
        workflow=WORKFLOW_NAME,
        group=group,
        file=module_file_name(identifier),
        layout=layout,
        env_var=env_var,
        group_literal=repr(identifier.group_uri),
        name_literal=repr(identifier.name),
    )
    if version is None:
        body = _LATEST_BODY.substitute(task=TASK_NAME)
    else:
        body = _PINNED_BODY.substitute(
            task=TASK_NAME, version_literal=repr(identifier.version)
        )
    return header + body + _FOOTER.substitute(task=TASK_NAME, workflow=WORKFLOW_NAME)


# Kinds of task-code problems; each is the last part of a doctor check's ID.
KIND_GET_WITH_URI = "get-with-uri"
KIND_VERSION_MISMATCH = "version-mismatch"
KIND_ENV_VAR_MOUNT = "env-var-mount"
KIND_LATEST_AND_PINNED = "latest-and-pinned"
KIND_CASE_COLLISION = "case-collision"
KIND_REQUEST = "secret-request"

# Folder that Union's Azure injector writes secret files to in the task's container.
INJECTOR_SECRETS_DIR = "/etc/flyte/secrets"


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


@dataclass(frozen=True)
class SecretLookup:
    """Places that flytekit's ``secrets.get`` reads one secret from, in order.

    Attributes
    ----------
    env_var
        Variable read first, ``_FSEC_<NAME>[_<VERSION>]`` in upper case.
    local_env_var
        Variable without the prefix, read as well in a local run.
    relative_path
        File under ``FLYTE_SECRETS_DEFAULT_DIR``, read last, in lower case.
    exportable
        Whether bash can ``export`` `env_var`: a name must consist of letters,
        digits and underscores.
    """

    env_var: str
    local_env_var: str
    relative_path: str
    exportable: bool


_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def flytekit_lookup(name: str, version: str | None = None) -> SecretLookup:
    """Return where ``secrets.get(name, group_version=version)`` looks (flytekit 1.16).

    Parameters
    ----------
    name
        First argument of ``secrets.get``.
    version
        Its ``group_version``, or ``None``.

    Returns
    -------
    SecretLookup
        The variables and the relative file path, in flytekit's order.

    Examples
    --------
    >>> lookup = flytekit_lookup("db-pass")
    >>> lookup.env_var, lookup.relative_path, lookup.exportable
    ('_FSEC_DB-PASS', 'db-pass', False)
    """
    parts = [part for part in (name, version) if part]
    local = "_".join(part.upper() for part in parts)
    env_var = f"_FSEC_{local}"
    return SecretLookup(
        env_var=env_var,
        local_env_var=local,
        relative_path="/".join(part.lower() for part in parts),
        exportable=_SHELL_NAME.fullmatch(env_var) is not None,
    )


def describe_lookup(name: str, version: str | None = None) -> str:
    """Describe in one paragraph where flytekit looks for a secret.

    Parameters
    ----------
    name, version
        Arguments of ``secrets.get``.

    Returns
    -------
    str
        Plain sentences naming both variables and the file.
    """
    lookup = flytekit_lookup(name, version)
    text = (
        f"flytekit's secrets.get looks for the environment variable "
        f"{lookup.env_var} (in a local run also {lookup.local_env_var}), then for "
        f"the file $FLYTE_SECRETS_DEFAULT_DIR/{lookup.relative_path}, which on "
        f"Union is {INJECTOR_SECRETS_DIR}/{lookup.relative_path}."
    )
    if not lookup.exportable:
        text += (
            f" The hyphen makes {lookup.env_var} impossible to export from bash, "
            "so a local run needs the file."
        )
    return text


_URI = re.compile(
    r"https://(?P<host>[^/\s]+)/secrets/(?P<name>[A-Za-z0-9-]+)"
    r"(?:/(?P<version>[0-9A-Fa-f]{32}))?/?$"
)


def _constant_strings(tree: ast.Module) -> dict[str, str]:
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


def _string_value(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position:
        return call.args[position]
    return None


def _check_secret_request(
    call: ast.Call, constants: dict[str, str]
) -> tuple[list[TaskCodeFinding], SecretRequest | None]:
    findings: list[TaskCodeFinding] = []
    group = _string_value(_argument(call, 0, "group"), constants)
    version = _string_value(_argument(call, 2, "group_version"), constants)
    if group is None:
        return findings, None

    match = _URI.match(group)
    if match is None:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                f"Secret(group={group!r}) is not a Key Vault secret URI.",
                "Union's Azure injector needs the full URI as the group: "
                'Secret(group="https://<vault>.vault.azure.net/secrets/<name>").',
            )
        )
        return findings, None

    base = f"https://{match['host']}/secrets/{match['name']}"
    if match["version"]:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                f"Secret(group={group!r}) puts the version in the group.",
                f'Use Secret(group="{base}", '
                f'group_version="{match["version"].lower()}").',
                KIND_VERSION_MISMATCH,
            )
        )
        version = version or match["version"]

    mount = _argument(call, 3, "mount_requirement")
    if isinstance(mount, ast.Attribute) and mount.attr == "ENV_VAR":
        findings.append(
            TaskCodeFinding(
                call.lineno,
                "Union's Azure injector rejects Secret.MountType.ENV_VAR.",
                "Use mount_requirement=Secret.MountType.FILE.",
                KIND_ENV_VAR_MOUNT,
            )
        )
    if _argument(call, 4, "env_var") is not None:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                "Union's Azure injector ignores env_var: it writes a file only.",
                "Remove env_var and read the value with secrets.get().",
                KIND_ENV_VAR_MOUNT,
            )
        )
    request = SecretRequest(
        line=call.lineno,
        group=group,
        host=match["host"].lower(),
        name=match["name"].lower(),
        written_name=match["name"],
        version=version.lower() if version else None,
    )
    return findings, request


def _get_suggestion(name: str, version: str | None) -> str:
    if version:
        return f'secrets.get("{name}", group_version="{version}")'
    return f'secrets.get("{name}")'


def _check_get_call(
    read: SecretRead, requests: list[SecretRequest]
) -> list[TaskCodeFinding]:
    match = _URI.match(read.name)
    if match is not None:
        name = match["name"].lower()
        version = read.version or (
            match["version"].lower() if match["version"] else None
        )
        return [
            TaskCodeFinding(
                read.line,
                f"secrets.get({read.name!r}) passes the secret URI, so flytekit looks "
                "for a file path that never exists.",
                f"Call {_get_suggestion(name, version)}: the name is the last "
                "segment of the URI.",
                KIND_GET_WITH_URI,
            )
        ]

    names = {request.name for request in requests}
    if requests and read.name.lower() not in names:
        return [
            TaskCodeFinding(
                read.line,
                f"secrets.get({read.name!r}) reads a secret that no Secret request "
                "of this module names.",
                "Request it, or read one of: " + ", ".join(sorted(names)) + ".",
            )
        ]
    if not read.version_known:
        return []
    return _check_read_version(
        read, [r for r in requests if r.name == read.name.lower()]
    )


def _check_read_version(
    read: SecretRead, matching: list[SecretRequest]
) -> list[TaskCodeFinding]:
    """Compare the version a ``get`` reads with the versions the task requests."""
    versions = {request.version for request in matching}
    requested = read.version.lower() if read.version else None
    if not matching or requested in versions:
        return []
    name = read.name.lower()
    declared = sorted(version for version in versions if version)
    if requested is None:
        message = (
            f"secrets.get({read.name!r}) reads the latest version, but the task "
            f"requests only version {', '.join(declared)}, so the injector writes "
            f"{INJECTOR_SECRETS_DIR}/{name}/{declared[0]} and flytekit looks for "
            f"{INJECTOR_SECRETS_DIR}/{name}."
        )
        fix = f"Call {_get_suggestion(name, declared[0])}."
    elif None in versions:
        message = (
            f"secrets.get({read.name!r}, group_version={read.version!r}) reads a "
            "pinned version, but the task requests the latest, so the injector "
            f"writes {INJECTOR_SECRETS_DIR}/{name} and flytekit looks for "
            f"{INJECTOR_SECRETS_DIR}/{name}/{requested}."
        )
        fix = (
            f'Declare Secret(..., group_version="{requested}") or call '
            f"{_get_suggestion(name, None)}."
        )
    else:
        message = (
            f"secrets.get({read.name!r}, group_version={read.version!r}) reads a "
            f"version the task does not request (it requests {', '.join(declared)})."
        )
        fix = f"Call {_get_suggestion(name, declared[0])}, or request {requested}."
    return [TaskCodeFinding(read.line, message, fix, KIND_VERSION_MISMATCH)]


def _is_secrets_get(call: ast.Call) -> bool:
    """Tell whether `call` is ``<...>.secrets.get(...)`` or ``secrets.get(...)``."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr != "get":
        return False
    receiver = func.value
    if isinstance(receiver, ast.Name):
        return receiver.id == "secrets"
    return isinstance(receiver, ast.Attribute) and receiver.attr == "secrets"


def _secret_read(call: ast.Call, constants: dict[str, str]) -> SecretRead | None:
    first = _string_value(_argument(call, 0, "group"), constants)
    if first is None:
        return None
    version_node = _argument(call, 2, "group_version")
    version = _string_value(version_node, constants)
    known = version_node is None or version is not None
    return SecretRead(call.lineno, first, version, known)


def _collision_findings(
    request: SecretRequest, previous: list[SecretRequest]
) -> list[TaskCodeFinding]:
    """Find requests that the injector would write to the same path."""
    findings: list[TaskCodeFinding] = []
    same_name = [other for other in previous if other.name == request.name]
    pinned = request.version is not None
    if any((other.version is not None) != pinned for other in same_name):
        findings.append(
            TaskCodeFinding(
                request.line,
                f"The latest and a pinned version of {request.name!r} are both "
                "requested: the injector would write a file and a folder at "
                f"{INJECTOR_SECRETS_DIR}/{request.name}.",
                "Request either the latest version or pinned versions.",
                KIND_LATEST_AND_PINNED,
            )
        )
    for other in same_name:
        if other.version != request.version:
            continue
        if other.written_name != request.written_name:
            findings.append(
                TaskCodeFinding(
                    request.line,
                    f"The secrets {other.written_name!r} (line {other.line}) and "
                    f"{request.written_name!r} differ only in case, but Key Vault "
                    "names are case-insensitive and the injector writes both to "
                    f"{request.file_path}.",
                    f"Request the secret once, in lowercase: {request.name!r}.",
                    KIND_CASE_COLLISION,
                )
            )
        elif other.host != request.host:
            findings.append(
                TaskCodeFinding(
                    request.line,
                    f"Secrets named {request.name!r} from {other.host} (line "
                    f"{other.line}) and {request.host} are both requested, but the "
                    f"injector writes both to {request.file_path}, so one replaces "
                    "the other.",
                    "Request one of them, or store one under another name.",
                    KIND_CASE_COLLISION,
                )
            )
        else:
            continue
        break
    return findings


_ENVIRON_FUNCTIONS = {"getenv", "getenvb"}


def _environment_variable(node: ast.AST, constants: dict[str, str]) -> str | None:
    """Return the variable name read by ``os.environ[...]``, ``.get`` or ``getenv``."""
    if isinstance(node, ast.Subscript):
        base = node.value
        if (isinstance(base, ast.Attribute) and base.attr == "environ") or (
            isinstance(base, ast.Name) and base.id == "environ"
        ):
            return _string_value(node.slice, constants)
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = _call_name(node)
    if name in _ENVIRON_FUNCTIONS:
        return _string_value(_argument(node, 0, "key"), constants)
    if name == "get" and isinstance(func, ast.Attribute):
        receiver = func.value
        if (isinstance(receiver, ast.Attribute) and receiver.attr == "environ") or (
            isinstance(receiver, ast.Name) and receiver.id == "environ"
        ):
            return _string_value(_argument(node, 0, "key"), constants)
    return None


def _shell_form(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _environment_findings(
    tree: ast.Module, constants: dict[str, str], requests: list[SecretRequest]
) -> list[TaskCodeFinding]:
    """Find reads of an environment variable named like a requested secret."""
    by_form = {_shell_form(request.name): request for request in requests}
    findings: list[TaskCodeFinding] = []
    for node in ast.walk(tree):
        variable = _environment_variable(node, constants)
        if variable is None:
            continue
        form = _shell_form(variable)
        request = by_form.get(form.removeprefix("_FSEC_"))
        if request is None:
            continue
        findings.append(
            TaskCodeFinding(
                getattr(node, "lineno", 0),
                f"The task reads the environment variable {variable}, but Union's "
                f"Azure injector writes the secret {request.name} to the file "
                f"{request.file_path} and sets no variable. "
                + describe_lookup(request.name, request.version),
                f"Read the value with {_get_suggestion(request.name, request.version)}"
                " and, for a local run, lay the value out as that file "
                "(`akv-onboard task run` does it).",
                KIND_ENV_VAR_MOUNT,
            )
        )
    return findings


def analyze_task_code(source: str) -> TaskCodeReport:
    """Find the Key Vault secret requests and reads of a task, and their problems.

    The analysis reads the source with `ast` and never runs it. Names and
    versions count when they are string literals or module-level string
    constants.

    Parameters
    ----------
    source
        Python source of the module or snippet that defines the task.

    Returns
    -------
    TaskCodeReport
        The requests and reads found, and the problems in source order.

    Raises
    ------
    SyntaxError
        If `source` is not valid Python.
    """
    tree = ast.parse(source)
    constants = _constant_strings(tree)
    calls = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Call)),
        key=lambda node: (node.lineno, node.col_offset),
    )
    findings: list[TaskCodeFinding] = []
    requests: list[SecretRequest] = []
    for call in calls:
        if _call_name(call) == "Secret":
            found, request = _check_secret_request(call, constants)
            findings.extend(found)
            if request is not None:
                findings.extend(_collision_findings(request, requests))
                requests.append(request)

    reads: list[SecretRead] = []
    for call in calls:
        if _is_secrets_get(call):
            read = _secret_read(call, constants)
            if read is not None:
                reads.append(read)
                findings.extend(_check_get_call(read, requests))
    findings.extend(_environment_findings(tree, constants, requests))
    return TaskCodeReport(
        requests=tuple(requests),
        reads=tuple(reads),
        findings=tuple(sorted(findings, key=lambda finding: finding.line)),
    )


def check_task_code(source: str) -> list[TaskCodeFinding]:
    """Check a Flyte task's Key Vault secret requests and ``secrets.get`` calls.

    The check reads the source with `ast` and never runs it. It finds these
    problems:

    - a URI passed to ``secrets.get``;
    - a group that is not a secret URI, or that carries the version;
    - a ``group_version`` requested but not read, or read but not requested;
    - the ``ENV_VAR`` mount type and ``env_var``, which Union's Azure injector
      does not support, and reads of an environment variable named like a
      requested secret;
    - a read of a secret that no request names;
    - the latest and a pinned version of one secret requested together, because
      the injector would need a file and a folder at one path;
    - two requests the injector writes to one path: names that differ only in
      case, or one name from two vaults.

    Parameters
    ----------
    source
        Python source of the module that defines the task.

    Returns
    -------
    list[TaskCodeFinding]
        Problems in source order; empty when none were found.

    Raises
    ------
    SyntaxError
        If `source` is not valid Python.
    """
    return list(analyze_task_code(source).findings)
