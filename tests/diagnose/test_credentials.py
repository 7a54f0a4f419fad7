"""Explanations of failed azure-identity credential chains, with real credentials.

No credential here may reach the network: the environment is cleared, HOME and
PATH point at temporary directories, and the managed identity credential is
pointed at a closed loopback port through IDENTITY_ENDPOINT and IDENTITY_HEADER
(azure-identity then uses its App Service flow, never the 169.254.169.254
instance metadata endpoint). DefaultAzureCredential runs without its managed
identity credential for the same reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    AzureCliCredential,
    ChainedTokenCredential,
    DefaultAzureCredential,
    EnvironmentCredential,
    ManagedIdentityCredential,
)

from akv_helpers.diagnose.credentials import (
    attempted_credentials,
    explain_credential_failure,
)

SCOPE = "https://management.azure.com/.default"
FAKE_AZ = """#!/bin/sh
echo "ERROR: Please run 'az login' to setup account." >&2
exit 1
"""


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clear the sign-in environment; return an empty directory to use as PATH."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "MSI_", "IDENTITY_", "IMDS_")):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(empty))
    return empty


def _chain_error(with_managed_identity: bool) -> ClientAuthenticationError:
    credentials = [EnvironmentCredential(), AzureCliCredential(process_timeout=5)]
    if with_managed_identity:
        credentials.append(ManagedIdentityCredential(retry_total=0))
    chain = ChainedTokenCredential(*credentials)
    with pytest.raises(ClientAuthenticationError) as caught:
        chain.get_token(SCOPE)
    return caught.value


def _loopback_managed_identity(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "header-for-a-closed-port")


def test_chain_az_not_on_path(
    offline: Path, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    _loopback_managed_identity(monkeypatch, closed_port)

    lines = explain_credential_failure(_chain_error(with_managed_identity=True))

    assert len(lines) == 3
    assert lines[0].startswith("EnvironmentCredential: not configured")
    assert lines[1].startswith("AzureCliCredential: the Python kernel cannot find")
    assert "start Jupyter from a shell where `az login` worked" in lines[1]
    assert "device code" in lines[1]
    assert lines[2] == (
        "ManagedIdentityCredential: no managed identity endpoint answered: this "
        "machine is not an Azure VM, App Service or Arc host."
    )


def test_chain_az_not_signed_in(offline: Path) -> None:
    fake = offline / "az"
    fake.write_text(FAKE_AZ, encoding="utf-8")
    fake.chmod(0o755)

    lines = explain_credential_failure(_chain_error(with_managed_identity=False))

    assert len(lines) == 2
    assert lines[1].startswith("AzureCliCredential: `az` is installed but not signed")
    assert "az login" in lines[1]


def test_default_chain_fails_fast(offline: Path) -> None:
    credential = DefaultAzureCredential(exclude_managed_identity_credential=True)
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(SCOPE)

    names = [name for name, _ in attempted_credentials(str(caught.value))]
    lines = explain_credential_failure(caught.value)

    assert "ManagedIdentityCredential" not in names
    assert "AzureCliCredential" in names
    assert len(lines) == len(names)
    for name, line in zip(names, lines, strict=True):
        assert line.startswith(f"{name}: ")
        assert "does not know this credential" not in line
    assert any("cannot find `az`" in line for line in lines)


def test_single_credential_error(offline: Path) -> None:
    with pytest.raises(ClientAuthenticationError) as caught:
        AzureCliCredential().get_token(SCOPE)

    lines = explain_credential_failure(caught.value)

    assert len(lines) == 1
    assert lines[0].startswith("AzureCliCredential: the Python kernel cannot find")


def test_continuation_lines_joined() -> None:
    text = (
        "DefaultAzureCredential failed to retrieve a token.\nAttempted credentials:\n"
        "\tEnvironmentCredential: unavailable.\nVisit https://aka.ms/x to fix.\n"
        "\tNewCredential: something\nTo mitigate this issue, see the guide.\n"
    )
    entries = attempted_credentials(text)
    assert entries == [
        ("EnvironmentCredential", "unavailable. Visit https://aka.ms/x to fix."),
        ("NewCredential", "something"),
    ]


def test_unrelated_error() -> None:
    assert explain_credential_failure(ValueError("no chain here")) == []


def test_one_line_chain_text() -> None:
    text = (
        "Azure rejected: DefaultAzureCredential failed. Attempted credentials: "
        "EnvironmentCredential: unavailable. AzureCliCredential: Azure CLI not found "
        "on path To mitigate this issue, see the guide."
    )
    lines = explain_credential_failure(ValueError(text))
    assert [line.split(":")[0] for line in lines] == [
        "EnvironmentCredential",
        "AzureCliCredential",
    ]
    assert "cannot find `az`" in lines[1]


@pytest.mark.parametrize(
    ("aadsts", "expected"),
    [
        ("AADSTS700082: The refresh token has expired due to inactivity.", "az login"),
        (
            "AADSTS50173: The provided grant has expired due to it being revoked.",
            "az login",
        ),
        (
            "AADSTS50076: Due to a configuration change made by your administrator, "
            "you must use multi-factor authentication.",
            "--tenant <tenant ID>",
        ),
        (
            "AADSTS53003: Access has been blocked by Conditional Access policies.",
            "administrator",
        ),
        ("AADSTS90002: Tenant not found.", "error reference"),
    ],
    ids=["inactive", "revoked", "mfa", "conditional-access", "unknown-code"],
)
def test_chain_az_entra_error(offline: Path, aadsts: str, expected: str) -> None:
    # `az` passes Microsoft Entra's error on when it cannot refresh its sign-in,
    # followed by its own advice to log in again.
    fake = offline / "az"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "ERROR: {aadsts} Trace ID: 0000" >&2\n'
        'echo "Run the command below to authenticate interactively: az login" >&2\n'
        "exit 1\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)

    lines = explain_credential_failure(_chain_error(with_managed_identity=False))

    code = aadsts.split(":", 1)[0]
    assert lines[1].startswith(
        f"AzureCliCredential: Microsoft Entra ID answered {code}:"
    )
    assert expected in lines[1]
