"""Helpers that test files in several folders share.

Test folders have no ``__init__.py``, so pytest puts ``tests/`` on ``sys.path``
(for its conftest) and a test file anywhere below imports this module by name.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from akv_helpers.simulator import seed

T = TypeVar("T")

# Variables that would point the SDKs at a real tenant, a proxy or another CA bundle.
CLEARED_PREFIXES = ("AZURE_", "AKV_ONBOARD_", "MSI_", "IDENTITY_")
CLEARED_NAMES = frozenset(
    {
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
    }
)


def is_cleared(name: str) -> bool:
    """Tell whether the tests remove the environment variable `name`."""
    return name.startswith(CLEARED_PREFIXES) or name in CLEARED_NAMES


def state_canaries(home: Path) -> list[str]:
    """Return every canary value in the simulator's state file under `home`.

    The simulator's secret values start with ``seed.CANARY_PREFIX``, so a test
    can search any output for each of them.
    """
    state = json.loads((home / "simulator" / "state.json").read_text())
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.startswith(seed.CANARY_PREFIX):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(state)
    return found


# The user ID the permission tests run as when the suite runs as root, because
# root can read and write a file whatever its mode.
UNPRIVILEGED_ID = 65534


def shared_temp_folder() -> Path:
    """Create a folder under the system temp folder that every user can enter.

    pytest's ``tmp_path`` is private to the user running the suite, so a test
    that runs a command as another user builds its files here instead. The
    caller removes the folder.
    """
    folder = Path(tempfile.mkdtemp(prefix="akv-onboard-"))
    folder.chmod(0o755)
    return folder


def run_cli_unprivileged(
    *arguments: str, home: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``akv-onboard`` as a user that file modes apply to.

    As root, the command runs as user and group 65534 (``nobody``) through
    ``setpriv``. The test is skipped when ``setpriv`` is missing or that user
    cannot start the project's Python. As any other user it runs as that user.

    Parameters
    ----------
    arguments
        The command line after ``akv-onboard``.
    home
        Kit home for the command, a folder that user can write.
    """
    command = [str(Path(sys.executable).with_name("akv-onboard")), *arguments]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv is missing, so the command cannot run as another user")
        user = str(UNPRIVILEGED_ID)
        switch = [setpriv, f"--reuid={user}", f"--regid={user}", "--clear-groups"]
        problem = _unprivileged_python_problem(tuple(switch))
        if problem:
            pytest.skip(f"user {user} cannot run the project's Python: {problem}")
        command = [*switch, *command]
        os.chown(home, UNPRIVILEGED_ID, UNPRIVILEGED_ID)
    environment = {
        name: value for name, value in os.environ.items() if not is_cleared(name)
    }
    environment.update(HOME=str(home), AKV_ONBOARD_HOME=str(home))
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=environment,
        cwd=home,
        timeout=120,
        check=False,
    )


@functools.cache
def _unprivileged_python_problem(switch: tuple[str, ...]) -> str:
    """Return why the other user cannot import the kit, or "" when it can.

    A checkout inside a folder that only root may enter is one such reason.
    """
    # The project's interpreter may lie in a folder that user cannot enter, and
    # the venv then runs another build of Python. It must be the same version,
    # for the venv's packages to load.
    version = list(sys.version_info[:2])
    check = (
        "import sys, akv_helpers; "
        f"sys.exit(0 if list(sys.version_info[:2]) == {version!r} else 3)"
    )
    probe = subprocess.run(
        [*switch, sys.executable, "-c", check],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
        check=False,
    )
    if probe.returncode == 0:
        return ""
    if probe.returncode == 3:
        project = ".".join(str(part) for part in version)
        return f"its Python is not version {project}, as the project's is"
    lines = probe.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {probe.returncode}"


# What Jupyter Server and Voilà log when the port they were given is taken.
PORT_IN_USE = "is already in use"
PORT_ATTEMPTS = 3


class PortTakenError(AssertionError):
    """A server exited because another process took its port first."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that no process listens on right now.

    Another process may take the port before the caller's server binds it, so
    servers are started through `start_on_free_port`.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_on_free_port(start: Callable[[int], T]) -> T:
    """Call ``start(port)`` with a free port, and again with a new one if taken.

    `start` raises `PortTakenError` when its server exited because the port was
    in use. After `PORT_ATTEMPTS` such exits the last error is raised.
    """
    for _ in range(PORT_ATTEMPTS - 1):
        try:
            return start(free_port())
        except PortTakenError:
            continue
    return start(free_port())


_TAG = re.compile(r"<[^>]+>")


def visible_text(fragment: str) -> str:
    """Return the text a browser shows for an HTML fragment, whitespace collapsed.

    Every tag counts as a space, except ``<wbr>``, which only lets a line end
    inside a long ID and shows nothing.
    """
    without_tags = _TAG.sub(" ", fragment.replace("<wbr>", ""))
    return " ".join(html.unescape(without_tags).split())


def run_cli(*arguments: str) -> Result:
    """Run ``akv-onboard`` with `arguments` in this process through CliRunner."""
    from akv_helpers.cli import main

    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def flat(text: str) -> str:
    """Collapse whitespace, undoing the line wrapping of the text output."""
    return " ".join(text.split())
