"""Request log: kept in memory for the admin API and appended to ``requests.jsonl``."""

from __future__ import annotations

import json
import logging
from collections import deque
from pathlib import Path
from typing import Any

from .files import append_private_line

logger = logging.getLogger(__name__)

# Entries kept in memory; the file keeps everything.
_MEMORY_LIMIT = 10_000


class RequestLog:
    """Record of the requests served, without tokens, bodies or secret values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: deque[dict[str, Any]] = deque(maxlen=_MEMORY_LIMIT)

    def record(self, entry: dict[str, Any]) -> None:
        """Store one entry in memory and append it to the file."""
        self._entries.append(entry)
        try:
            append_private_line(self.path, json.dumps(entry, sort_keys=True))
        except OSError as error:
            logger.error("could not append to %s: %s", self.path, error)

    def entries(self) -> list[dict[str, Any]]:
        """Return the entries in the order served."""
        return list(self._entries)

    def clear(self) -> None:
        """Forget the entries in memory (the file is kept)."""
        self._entries.clear()
