"""Sign-in failures of real azure-identity credentials, explained one line each.

No credential here may leave the machine. The sign-in environment is cleared,
and HOME and PATH point at empty temporary folders. The managed identity
credential is pointed at a closed loopback port through IDENTITY_ENDPOINT and
IDENTITY_HEADER, so azure-identity uses its App Service flow instead of the
169.254.169.254 instance metadata endpoint. Every socket connection to an
address other than 127.0.0.1 or ::1 is blocked and recorded, and each test
asserts that none was tried.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.identity import (
    AzureCliCredential,
    ChainedTokenCredential,
    EnvironmentCredential,
    ManagedIdentityCredential,
)
from click.testing import CliRunner

from akv_helpers.connection import SimulatorEndpoint, connect
from akv_helpers.errors import AuthenticationError
from akv_helpers.identities import find_identities
from akv_helpers.profile import Profile, save_profile

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
LOOPBACK = ("127.0.0.1", "::1")
TAGS = re.compile(r"<[^>]+>")


@pytest.fixture
def offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kit_home: Path, closed_port: int
) -> Iterator[list[Any]]:
    """Keep every credential on this machine; return the blocked addresses."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{closed_port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "header-for-a-closed-port")

    blocked: list[Any] = []
    original_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> None:
        internet = self.family in (socket.AF_INET, socket.AF_INET6)
        if internet and address[0] not in LOOPBACK:
            blocked.append(address)
            raise OSError(f"the test blocks a connection to {address[0]}")
        original_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    yield blocked
    (kit_home / "profile.json").unlink(missing_ok=True)


def _chain() -> ChainedTokenCredential:
    return ChainedTokenCredential(
        EnvironmentCredential(),
        AzureCliCredential(process_timeout=5),
        ManagedIdentityCredential(retry_total=0),
    )


def test_chain_failure_lists_each_credential(
    offline: list[Any], sim: SimulatorEndpoint
) -> None:
    connection = connect(Profile(mode="simulator"), credential=_chain())

    with pytest.raises(AuthenticationError) as caught:
        find_identities(connection)

    headline, *lines = caught.value.message.split("\n")
    assert headline.startswith("Sign-in failed, so the kit could not list")
    assert [line.split(":")[0] for line in lines] == [
        "EnvironmentCredential",
        "AzureCliCredential",
        "ManagedIdentityCredential",
    ]
    assert "the Python kernel cannot find `az`" in lines[1]
    assert "no managed identity endpoint answered" in lines[2]
    assert "its line says" in caught.value.fix
    assert offline == []


def test_unavailable_credential_explained(
    offline: list[Any], sim: SimulatorEndpoint
) -> None:
    # A lone EnvironmentCredential raises CredentialUnavailableError.
    connection = connect(Profile(mode="simulator"), credential=EnvironmentCredential())

    with pytest.raises(AuthenticationError) as caught:
        find_identities(connection)

    lines = caught.value.message.split("\n")[1:]
    assert len(lines) == 1
    assert lines[0].startswith("EnvironmentCredential: not configured")


def test_cli_sign_in_failure_lines(
    offline: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from akv_helpers.cli import main

    save_profile(Profile(mode="azure", subscription_id=SUBSCRIPTION))
    monkeypatch.setenv("AKV_ONBOARD_MODE", "azure")

    result = CliRunner().invoke(main, ["find-identity"], catch_exceptions=False)

    assert result.exit_code == 1
    assert "Error: Sign-in failed" in result.stderr
    lines = [
        line
        for line in result.stderr.splitlines()
        if re.match(r"[A-Za-z]+Credential: ", line)
    ]
    names = [line.split(":")[0] for line in lines]
    # DefaultAzureCredential stops at the managed identity credential, whose
    # endpoint refused the connection.
    assert names[0] == "EnvironmentCredential"
    assert names[-1] == "ManagedIdentityCredential"
    assert len(names) == len(set(names))
    assert all("does not know this credential" not in line for line in lines)
    assert offline == []


def test_start_panel_sign_in_failure_lines(offline: list[Any]) -> None:
    from akv_helpers.ui.start import StartPanel

    panel = StartPanel()
    panel._w_mode.value = "azure"
    panel._w_method.value = "cli"
    panel._w_subscription.value = SUBSCRIPTION

    panel._w_sign_in.click()

    status = panel._w_status.value
    items = [TAGS.sub("", item) for item in re.findall(r"<li>.*?</li>", status)]
    assert "Sign-in failed" in status
    assert len(items) == 1
    assert items[0].startswith("AzureCliCredential: the Python kernel cannot find")
    assert offline == []
