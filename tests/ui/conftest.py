"""Fixtures of the panel tests: a profile that each test removes, a fast connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from panel_support import FAST

from akv_helpers.connection import Connection, SimulatorEndpoint, connect
from akv_helpers.profile import Profile


@pytest.fixture
def profile_home(kit_home: Path) -> Iterator[Path]:
    """Return the kit home and remove the profile the test saved there."""
    yield kit_home
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture
def fast_connection(fresh_sim: SimulatorEndpoint, profile_home: Path) -> Connection:
    """Connect to a freshly reset simulator with short retry delays."""
    return connect(Profile(mode="simulator"), retry=FAST)
