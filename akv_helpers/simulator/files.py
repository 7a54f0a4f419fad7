"""Private files of the simulator: paths, atomic writes and permissions."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SimulatorPaths:
    """Locations of the simulator's files under ``<home>/simulator``."""

    directory: Path

    @classmethod
    def under(cls, home: Path) -> SimulatorPaths:
        """Create the simulator folder (mode 0700) under a kit home."""
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory = home / "simulator"
        directory.mkdir(mode=0o700, exist_ok=True)
        directory.chmod(0o700)
        return cls(directory)

    @property
    def state(self) -> Path:
        """World state (contains secret values)."""
        return self.directory / "state.json"

    @property
    def ca_cert(self) -> Path:
        """CA certificate that clients trust."""
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        """CA private key."""
        return self.directory / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        """Server certificate for 127.0.0.1 and localhost."""
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        """Server private key."""
        return self.directory / "server-key.pem"

    @property
    def discovery(self) -> Path:
        """Discovery file that clients read to find the running simulator."""
        return self.directory / "simulator.json"

    @property
    def request_log(self) -> Path:
        """Request log, one JSON object a line."""
        return self.directory / "requests.jsonl"

    @property
    def server_log(self) -> Path:
        """The server's own log."""
        return self.directory / "simulator.log"

    @property
    def lock(self) -> Path:
        """Lock file that keeps a second simulator off the same home."""
        return self.directory / "simulator.lock"


def write_private(path: Path, data: bytes) -> None:
    """Write a file atomically with mode 0600.

    The data goes to a temporary file in the same folder, created 0600, which then
    replaces ``path``, so readers never see a partial file.
    """
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_private_json(path: Path, value: Any) -> None:
    """Write JSON atomically with mode 0600."""
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    write_private(path, text.encode("utf-8"))


def append_private_line(path: Path, line: str) -> None:
    """Append one line to a file created with mode 0600."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
