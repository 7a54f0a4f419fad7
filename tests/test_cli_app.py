"""Tests of `akv-onboard app`: the command line, the notebook, and a real Voilà run."""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner, Result
from support import (
    PORT_IN_USE,
    PortTakenError,
    run_cli_unprivileged,
    shared_temp_folder,
    start_on_free_port,
)

from akv_helpers.cli import main
from akv_helpers.cli.app import (
    APP_NOTEBOOK,
    DEFAULT_APP_PORT,
    DEFAULT_CULL_IDLE_SECONDS,
    app_directory,
)
from akv_helpers.connection import stop_simulator

URL_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+)")
START_SECONDS = 90.0


def run(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments), catch_exceptions=False)


def dry_run_words(*options: str) -> list[str]:
    result = run("app", "--dry-run", *options)
    assert result.exit_code == 0, result.output
    return shlex.split(result.stdout)


def option_value(words: list[str], name: str) -> str:
    values = [word.split("=", 1)[1] for word in words if word.startswith(name + "=")]
    assert len(values) == 1, f"{name} appears {len(values)} times"
    return values[0]


def test_app_dry_run_command() -> None:
    words = dry_run_words()

    assert words[:3] == [sys.executable, "-m", "voila"]
    assert words[3] == str(app_directory() / APP_NOTEBOOK)
    assert "--no-browser" in words
    assert "--token" in words
    assert option_value(words, "--Voila.ip") == "127.0.0.1"
    assert words[words.index("--port") + 1] == str(DEFAULT_APP_PORT)
    assert option_value(words, "--strip_sources") == "True"
    assert option_value(words, "--show_tracebacks") == "False"
    assert option_value(words, "--Voila.root_dir") == str(app_directory())


def test_app_dry_run_culls_idle_kernels() -> None:
    words = dry_run_words()

    timeout = option_value(words, "--MappingKernelManager.cull_idle_timeout")
    assert timeout == str(DEFAULT_CULL_IDLE_SECONDS)
    assert option_value(words, "--MappingKernelManager.cull_interval") == "60"


def test_app_dry_run_cull_seconds() -> None:
    words = dry_run_words("--cull-idle-seconds", "4")

    assert option_value(words, "--MappingKernelManager.cull_idle_timeout") == "4"
    assert option_value(words, "--MappingKernelManager.cull_interval") == "2"


def test_app_dry_run_culling_off() -> None:
    words = dry_run_words("--cull-idle-seconds", "0")

    assert not [word for word in words if "cull" in word]


def test_app_negative_cull_seconds_rejected() -> None:
    result = run("app", "--dry-run", "--cull-idle-seconds", "-1")

    assert result.exit_code == 2
    assert "-1" in result.output
    assert "--cull-idle-seconds" in result.output


def test_app_dry_run_port() -> None:
    words = dry_run_words("--port", "9123")

    assert words[words.index("--port") + 1] == "9123"


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_app_rejects_bad_port(port: str) -> None:
    result = CliRunner().invoke(main, ["app", "--dry-run", "--port", port])

    assert result.exit_code == 2
    assert "--port" in result.stderr


def test_app_dry_run_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.environ["AKV_ONBOARD_HOME"] = str(home)

    dry_run_words()

    assert list(home.iterdir()) == []


def test_app_port_in_use_rejected(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(
            main, ["app", "--port", str(port)], env={"AKV_ONBOARD_HOME": str(home)}
        )

    suggested = re.search(r"or use port (\d+), which is free now", result.stderr)
    assert result.exit_code == 1, result.output
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert suggested is not None
    assert int(suggested.group(1)) > port
    assert f"akv-onboard app --port {suggested.group(1)}" in result.stderr
    assert f"make app APP_PORT={suggested.group(1)}" in result.stderr
    assert "Traceback" not in result.output
    assert not (home / "simulator").exists()


def test_app_port_suggestion_skips_taken() -> None:
    # The port after the requested one is taken too, so a later one is named.
    with socket.socket() as held, socket.socket() as next_held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        try:
            next_held.bind(("127.0.0.1", port + 1))
        except OSError:
            pytest.skip(f"port {port + 1} is in use, so the test cannot hold it")
        next_held.listen()
        result = CliRunner().invoke(main, ["app", "--port", str(port)])

    suggested = re.search(r"or use port (\d+), which is free now", result.stderr)
    assert result.exit_code == 1, result.output
    assert suggested is not None
    assert int(suggested.group(1)) > port + 1


def test_app_privileged_port_rejected() -> None:
    # Linux closes the ports below this setting (1024 by default) to users
    # other than root; some containers set it to 0.
    setting = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    if not setting.exists() or int(setting.read_text()) <= 80:
        pytest.skip("port 80 is open to every user on this machine")
    lowest = int(setting.read_text())
    folder = shared_temp_folder()
    home = folder / "home"
    home.mkdir()
    try:
        result = run_cli_unprivileged("app", "--port", "80", home=home)
        started = (home / "simulator").exists()
    finally:
        shutil.rmtree(folder)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Port 80 on 127.0.0.1 cannot be listened on: permission denied" in (
        result.stderr
    )
    assert f"Choose a port from {lowest} to 65535" in result.stderr
    assert "akv-onboard app --port 8866" in result.stderr
    assert not started


def test_app_root_only_notebook() -> None:
    assert sorted(path.name for path in app_directory().iterdir()) == [APP_NOTEBOOK]


def test_app_notebook_cells() -> None:
    notebook = json.loads((app_directory() / APP_NOTEBOOK).read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    markdown = [cell for cell in notebook["cells"] if cell["cell_type"] == "markdown"]

    assert len(code) <= 2
    assert "".join(markdown[0]["source"]).startswith("# ")
    source = "".join("".join(cell["source"]) for cell in code)
    assert "from akv_helpers.ui.walkthrough import Walkthrough" in source
    assert source.rstrip().endswith("Walkthrough()")
    assert all(cell["outputs"] == [] for cell in code)


class AppProcess:
    """`akv-onboard app` in a subprocess, with the URL read from its stderr."""

    def __init__(self, home: Path, port: int) -> None:
        self.port = port
        environment = {**os.environ, "AKV_ONBOARD_HOME": str(home)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "akv_helpers.cli", "app", "--port", str(port)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stdout = ""
        self.stderr: list[str] = []
        self.found = threading.Event()
        self.url: str | None = None
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            # The token never reaches the test output: it is masked here.
            self.stderr.append(URL_LINE.sub("http://127.0.0.1:<port>/?token=…", line))
            match = URL_LINE.search(line)
            if match and self.url is None:
                self.url = match.group(0)
                self.found.set()

    def wait_for_url(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.found.wait(0.2):
                assert self.url is not None
                return self.url
        exited = self.process.poll() is not None
        if exited:
            # The reader may not have read the last lines yet.
            self.reader.join(5)
        tail = "".join(self.stderr[-20:])
        if exited and PORT_IN_USE in tail:
            raise PortTakenError(f"port {self.port} was taken:\n{tail}")
        raise AssertionError("Voilà printed no URL in time; stderr:\n" + tail)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
            if self.process.stdout is not None:
                self.stdout = self.process.stdout.read()
                self.process.stdout.close()
            self.reader.join(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()


def start_app_process(home: Path) -> tuple[AppProcess, str]:
    """Start `akv-onboard app` on a free port; return it and its printed URL."""

    def start(port: int) -> tuple[AppProcess, str]:
        running = AppProcess(home, port)
        try:
            return running, running.wait_for_url()
        except BaseException:
            running.stop()
            raise

    return start_on_free_port(start)


def alive(process: psutil.Process) -> bool:
    """Tell whether `process` still runs; a zombie waiting to be reaped does not."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
        return response.status, response.read().decode()


@pytest.mark.skipif(sys.platform != "linux", reason="reads child processes on Linux")
def test_app_serves_walkthrough(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    try:
        running, url = start_app_process(home)
    except BaseException:
        stop_simulator(home)
        raise
    port = running.port
    try:
        voila = psutil.Process(running.process.pid)
        status, page = get(url)
        children = voila.children(recursive=True)

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/")
        anonymous = connection.getresponse().status
        connection.close()
    finally:
        running.stop()
        stop_simulator(home)

    # Checked without showing the URL, which carries the token.
    printed = URL_LINE.fullmatch(url)
    assert printed is not None
    assert printed.group(1) == str(port)
    assert status == 200
    shows_heading = "Key Vault onboarding kit" in page
    shows_mode = "Simulator mode" in page
    # Voilà highlights a code cell's source in <span>s, so search the text.
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    shows_import = "from akv_helpers.ui.walkthrough import Walkthrough" in text
    shows_call = "Walkthrough()" in text
    assert shows_heading
    assert shows_mode
    assert not shows_import
    assert not shows_call
    assert anonymous in (302, 403)
    assert "The simulator is running at https://127.0.0.1:" in running.stdout
    assert (home / "simulator").is_dir()

    assert children, "Voilà started no kernel and no simulator"
    left = [" ".join(child.cmdline()) for child in children if alive(child)]
    assert left == []
    assert running.process.returncode is not None
