"""Secret files as Union's Azure injector lays them out, flytekit's lookup, scrubbing.

These helpers of `akv_helpers.flyte_task` send no request and import neither
flytekit nor the Azure SDK.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from akv_helpers._task_lookup import FLYTEKIT_ENV_PREFIX, INJECTOR_SECRETS_DIR
from akv_helpers._task_lookup import flytekit_lookup as name_lookup
from akv_helpers.errors import TaskRunError, displayable

if TYPE_CHECKING:
    from akv_helpers.identifiers import SecretIdentifier

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "FLYTEKIT_ENV_PREFIX",
    "REDACTED",
    "Fingerprint",
    "SecretLookup",
    "check_directory",
    "fingerprint",
    "flytekit_lookup",
    "lay_out_secret",
    "scrub",
    "scrub_output",
    "write_error",
]

# Union's Azure injector mounts secrets here and sets FLYTE_SECRETS_FILE_PREFIX empty.
DEFAULT_SECRETS_DIR = INJECTOR_SECRETS_DIR
REDACTED = "[redacted]"

_FINGERPRINT = re.compile(r"length=(\d+) sha256=([0-9a-f]{12})")

# Whitespace and the box characters rich draws around tracebacks.
_BREAKS = re.compile(r"[\s\u2500-\u257f]+")
# Shorter forms match unrelated output too often once line breaks are removed.
_MIN_WRAPPED_LENGTH = 8


@dataclass(frozen=True)
class Fingerprint:
    """Length and SHA-256 prefix of a secret value, safe to print.

    Attributes
    ----------
    length
        Number of characters.
    sha256_prefix
        First 12 hex characters of the SHA-256 digest of the UTF-8 bytes.
    """

    length: int
    sha256_prefix: str

    def __str__(self) -> str:
        return f"length={self.length} sha256={self.sha256_prefix}"

    @classmethod
    def parse(cls, text: str) -> Fingerprint | None:
        """Find the last fingerprint printed in `text`, or return None."""
        matches = _FINGERPRINT.findall(text)
        if not matches:
            return None
        length, prefix = matches[-1]
        return cls(int(length), prefix)


def fingerprint(value: str) -> Fingerprint:
    """Compute the fingerprint the generated task returns for `value`.

    flytekit strips surrounding whitespace from a secret it reads from a file, so
    the task's fingerprint is that of ``value.strip()``: pass the stripped value to
    compare with a task's output.

    Parameters
    ----------
    value
        Secret value.

    Returns
    -------
    Fingerprint
        Its length and the first 12 hex characters of its SHA-256 digest.
    """
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return Fingerprint(len(value), digest[:12])


@dataclass(frozen=True)
class SecretLookup:
    """Locations that flytekit searches for a secret requested by name.

    Attributes
    ----------
    env_vars
        Environment variables checked first, in order. The unprefixed one is
        checked during local execution only.
    file_path
        File read when no variable is set.
    exportable
        Whether bash can ``export`` the first variable (a hyphen makes it
        impossible).
    """

    env_vars: tuple[str, ...]
    file_path: str
    exportable: bool


def flytekit_lookup(
    identifier: SecretIdentifier, secrets_dir: str = DEFAULT_SECRETS_DIR
) -> SecretLookup:
    """Return where flytekit 1.16 looks for the secret, in its order.

    ``secrets.get(name, group_version=version)`` joins the upper-cased parts with
    ``_`` behind the prefix ``_FSEC_`` for the variable, and the lower-cased parts
    with ``/`` under the secrets folder for the file.

    Parameters
    ----------
    identifier
        Parsed secret identifier; a version means ``group_version`` is passed.
    secrets_dir
        Value of ``FLYTE_SECRETS_DEFAULT_DIR``.

    Returns
    -------
    SecretLookup
        The variables and the file path.
    """
    rule = name_lookup(identifier.name, identifier.version)
    path = os.path.join(secrets_dir, *rule.relative_path.split("/"))
    return SecretLookup((rule.env_var, rule.local_env_var), path, rule.exportable)


def write_error(path: Path, error: OSError, action: str) -> TaskRunError:
    """Return the kit error for an `OSError` raised while writing under `path`.

    Parameters
    ----------
    path
        File or folder the kit tried to write.
    error
        The error from the operating system.
    action
        What the kit tried, such as ``"write the test task module"``.

    Returns
    -------
    TaskRunError
        An error whose message names the path and the reason, and whose fix
        names what to change.
    """
    reason = error.strerror or type(error).__name__
    if isinstance(error, PermissionError):
        fix = f"Choose a folder you can write to, or change the permissions of {path}."
    elif isinstance(error, FileNotFoundError):
        fix = (
            "Check that the parent folder exists and is on a writable file system, "
            "or choose a folder under your home."
        )
    elif isinstance(error, (NotADirectoryError, FileExistsError)):
        fix = "A file is in the way: choose another folder."
    elif error.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "Free some disk space, or choose a folder on another disk."
    elif error.errno == errno.EROFS:
        fix = "The file system is read-only: choose a folder on a writable one."
    else:
        fix = "Choose another folder, such as one under your home."
    return TaskRunError(f"Could not {action} at {path}: {reason}.", fix)


def check_directory(directory: Path, label: str) -> Path:
    """Return `directory` unless it is a symlink or an existing non-directory.

    A path with a control character is rejected too: the operating system cannot
    name one with a NUL byte, and a line break or escape would make the path the
    kit prints differ from the path it writes.
    """
    text = str(directory)
    control = next(
        (char for char in text if ord(char) < 0x20 or ord(char) == 0x7F), None
    )
    if control is not None:
        raise TaskRunError(
            f"The {label} {displayable(text)} contains the control character "
            f"{control!r}, which the kit does not accept in a path.",
            "Choose a directory path without control characters.",
        )
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise TaskRunError(
            f"The {label} {directory} is not a directory.",
            "Choose a directory, or a path that does not exist yet.",
        )
    return directory


def lay_out_secret(directory: Path, identifier: SecretIdentifier, value: str) -> Path:
    """Write `value` where Union's Azure injector writes it, under `directory`.

    The file is ``<directory>/<name>`` for the latest version and
    ``<directory>/<name>/<version>`` for a pinned one, lower-cased, mode 0600;
    `directory` and the version folder get mode 0700.

    Parameters
    ----------
    directory
        The folder ``FLYTE_SECRETS_DEFAULT_DIR`` will name; created if missing.
    identifier
        Parsed secret identifier.
    value
        Secret value, written as is.

    Returns
    -------
    Path
        Path of the written file.

    Raises
    ------
    TaskRunError
        If `directory` is not a directory or the file would land outside it.
    """
    directory = check_directory(Path(directory), "secrets directory")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        root = directory.resolve()
    except OSError as error:
        raise write_error(directory, error, "create the secrets folder") from None
    parts = [identifier.name.lower()]
    if identifier.version:
        parts.append(identifier.version.lower())
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root) or target.resolve() == root:
        raise TaskRunError(
            f"The secret file {target} would be outside {root}.",
            "Check the secret identifier.",
        )

    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        if identifier.version:
            target.parent.mkdir(mode=0o700, exist_ok=True)
            target.parent.chmod(0o700)
        descriptor = os.open(target, flags, 0o600)
    except (FileExistsError, IsADirectoryError, NotADirectoryError):
        raise TaskRunError(
            f"Cannot lay out {identifier.uri} at {target}: the latest version is a "
            "file and a pinned version a folder at the same path.",
            "Request either the latest version or pinned versions of one secret, "
            "as Union's Azure injector cannot mount both.",
        ) from None
    except OSError as error:
        raise write_error(target, error, "lay out the secret file") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(value)
    except OSError as error:
        # The message names the path and the OS reason only, never the value.
        raise write_error(target, error, "lay out the secret file") from None
    return target


def _value_forms(value: str) -> list[str]:
    """Return the forms of `value` that could appear in output, longest first.

    The case variants are included because a task may print ``value.upper()``
    or ``value.lower()``; `scrub` also matches every form case-insensitively,
    which covers upper-case hex digits and mixed-case variants.
    """
    forms: set[str] = set()
    variants: set[str] = set()
    for text in {value, value.strip()}:
        variants.update({text, text.upper(), text.lower(), text.casefold()})
    for text in variants:
        if not text:
            continue
        data = text.encode("utf-8")
        forms.add(text)
        forms.add(repr(text)[1:-1])
        forms.add(data.hex())
        for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            forms.add(encoded.decode("ascii"))
            forms.add(encoded.decode("ascii").rstrip("="))
        forms.add(binascii.b2a_base64(data, newline=False).decode("ascii"))
    return sorted((form for form in forms if form), key=len, reverse=True)


def _form_pattern(value: str) -> re.Pattern[str]:
    """Return one case-insensitive pattern that matches every form of `value`."""
    alternatives = "|".join(re.escape(form) for form in _value_forms(value))
    return re.compile(alternatives, re.IGNORECASE)


def scrub(text: str, value: str) -> str:
    """Replace `value` and its hex and base64 forms in `text` with a marker.

    Matching ignores letter case, so ``value.upper()``, ``value.lower()`` and
    their hex and base64 forms are replaced too.

    Parameters
    ----------
    text
        Captured output.
    value
        Secret value to remove.

    Returns
    -------
    str
        `text` with every form of the value replaced by ``[redacted]``.
    """
    if not _value_forms(value):
        return text
    return _form_pattern(value).sub(REDACTED, text)


def scrub_output(output: str, value: str) -> str:
    """Scrub `output`, and withhold it if the value still appears across breaks."""
    output = scrub(output, value)
    squeezed = _BREAKS.sub("", output).casefold()
    for form in _value_forms(value):
        if len(form) >= _MIN_WRAPPED_LENGTH and form.casefold() in squeezed:
            return "[output withheld: it contained the secret value split across lines]"
    return output
