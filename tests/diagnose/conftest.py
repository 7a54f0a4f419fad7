"""Fixtures of the doctor's tests: each starts without a saved profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_saved_profile(kit_home: Path) -> Iterator[None]:
    """Remove the profile that an earlier test on this worker may have saved.

    The doctor falls back to the profile's identity when none is given, so a
    profile left behind would change what these tests check.
    """
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield
