"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import is_cleared

from akv_helpers.connection import (
    Connection,
    SimulatorEndpoint,
    connect,
    ensure_simulator,
    stop_simulator,
)
from akv_helpers.profile import Profile
from akv_helpers.steps import set_front_end


def _clear_environment() -> None:
    for name in list(os.environ):
        if is_cleared(name):
            del os.environ[name]


@pytest.fixture(scope="session")
def kit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the kit home that every test in this session shares."""
    home = tmp_path_factory.mktemp("kit-home")
    home.chmod(0o700)
    return home


@pytest.fixture(autouse=True)
def clean_environment(kit_home: Path) -> Iterator[None]:
    """Clear Azure, proxy and CA-bundle variables and point the kit at `kit_home`."""
    saved = dict(os.environ)
    _clear_environment()
    os.environ["AKV_ONBOARD_HOME"] = str(kit_home)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def no_profile(kit_home: Path) -> Iterator[None]:
    """Start and end the test without a profile file in the shared kit home."""
    (kit_home / "profile.json").unlink(missing_ok=True)
    yield
    (kit_home / "profile.json").unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def notebook_places() -> Iterator[None]:
    """Name the notebooks in messages again after a test that built the app."""
    yield
    set_front_end("notebooks")


@pytest.fixture(scope="session")
def sim(kit_home: Path) -> Iterator[SimulatorEndpoint]:
    """Start the simulator once for the session, in `kit_home`, and stop it."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if is_cleared(name):
                patch.delenv(name)
        endpoint = ensure_simulator(kit_home)
    yield endpoint
    stop_simulator(kit_home)


@pytest.fixture
def fresh_sim(sim: SimulatorEndpoint) -> SimulatorEndpoint:
    """Reseed the simulator's demo tenant and clear its request log."""
    sim.reset()
    sim.clear_requests()
    return sim


@pytest.fixture
def connection(sim: SimulatorEndpoint) -> Connection:
    """Connect to the simulator as the seeded operator."""
    return connect(Profile(mode="simulator"))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """Return a loopback port that refuses connections for the whole test.

    The port stays bound, without listening, until the test ends, so a
    connection to it is refused and no other process can start serving on it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        yield int(holder.getsockname()[1])
