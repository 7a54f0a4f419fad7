"""Helpers that test files in several folders share.

Test folders have no ``__init__.py``, so pytest puts ``tests/`` on ``sys.path``
(for its conftest) and a test file anywhere below imports this module by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from akv_helpers.simulator import seed

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
