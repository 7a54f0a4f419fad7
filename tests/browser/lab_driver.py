"""Start and stop JupyterLab and Voilà servers, and drive their pages in Chromium.

The servers listen on 127.0.0.1 with a random token. Their JupyterLab settings,
workspaces and configuration live in temporary folders, so no setting of the person
running the tests changes what the page shows.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from support import PORT_IN_USE, PortTakenError, is_cleared, start_on_free_port

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
BIN = Path(sys.executable).parent

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these three, Chromium keeps calling Google's hosts, and this
    # sandbox's closed network refuses its connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# pytest's own variables would make JupyterLab's kernels think they run under a test.
_CLEARED_PYTEST_PREFIX = "PYTEST_"

# JupyterLab settings that keep pop-ups and lazy rendering out of the tests: no
# news or update notifications over the cells, and every cell in the DOM.
_LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
    },
}

SERVER_START_SECONDS = 60
MAX_SCREENSHOT_HEIGHT = 6000
KERNEL_START_MS = 60_000


def browser_environment() -> dict[str, str]:
    """Return this process's environment without proxy and Azure variables."""
    return {
        name: value
        for name, value in os.environ.items()
        if not is_cleared(name) and not name.startswith(_CLEARED_PYTEST_PREFIX)
    }


def kit_environment(home: Path) -> dict[str, str]:
    """Return the environment of a kit process that works in kit home `home`."""
    environment = browser_environment()
    environment["AKV_ONBOARD_HOME"] = str(home)
    # Kernels import the checkout under test, whether or not it is installed.
    inherited = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), inherited] if inherited else [str(REPO)]
    )
    return environment


@dataclass
class LabServer:
    """A Jupyter server (JupyterLab or Voilà) started by the tests."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    root: Path
    log: Path
    config_dir: Path
    children: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        """URL of the server, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Return the URL of `path` on the server, with the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{separator}token={self.token}"

    def shut_down_kernels(self) -> None:
        """Delete every session, which shuts its kernel down."""
        with urllib.request.urlopen(self.url("/api/sessions"), timeout=10) as response:  # noqa: S310
            sessions = json.load(response)
        for session in sessions:
            request = urllib.request.Request(  # noqa: S310 (loopback URL)
                self.url(f"/api/sessions/{session['id']}"), method="DELETE"
            )
            urllib.request.urlopen(request, timeout=30).close()  # noqa: S310

    def log_text(self) -> str:
        """Return what the server wrote to its log, with the token hidden."""
        return self.log.read_text(errors="replace").replace(self.token, "<token>")


def write_lab_settings(settings_dir: Path) -> None:
    """Write the JupyterLab setting overrides of the tests into `settings_dir`."""
    for relative, values in _LAB_SETTINGS.items():
        path = settings_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def lab_environment(home: Path, base: Path) -> dict[str, str]:
    """Return the environment of a JupyterLab whose settings live under `base`."""
    environment = kit_environment(home)
    for name, folder in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
    ):
        path = base / folder
        path.mkdir(parents=True, exist_ok=True)
        environment[name] = str(path)
    write_lab_settings(base / "settings")
    return environment


def start_lab(
    home: Path, base: Path, environment: dict[str, str] | None = None
) -> LabServer:
    """Start JupyterLab on a copy of ``notebooks/`` in `base` and wait until ready.

    Parameters
    ----------
    home
        Kit home of the kernels (``AKV_ONBOARD_HOME``).
    base
        Empty folder for the notebook copies, settings and the server log.
    environment
        Environment of the server; default: `lab_environment` of `home`.
    """
    if environment is None:
        environment = lab_environment(home, base)
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".*"))
    token = secrets.token_hex(24)

    def start(port: int) -> LabServer:
        command = [
            str(BIN / "jupyter"),
            "lab",
            # The settings of `make lab`: first notebook, no outputs on disk.
            f"--config={REPO / 'jupyter_lab_config.py'}",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
        ]
        return _start_server(command, environment, port, token, root, base)

    return start_on_free_port(start)


def start_app(home: Path, base: Path, extra: list[str]) -> LabServer:
    """Start ``akv-onboard app`` and read its URL and token from its output."""
    environment = lab_environment(home, base)
    return start_on_free_port(
        lambda port: _start_app_on(port, environment, base, extra)
    )


def _start_app_on(
    port: int, environment: dict[str, str], base: Path, extra: list[str]
) -> LabServer:
    command = [str(BIN / "akv-onboard"), "app", "--port", str(port), *extra]
    server = _launch(command, environment, port, "", base, base / "app.log")
    process, log = server.process, server.log

    # Voilà prints the URL once it listens. A request for the page would start a
    # kernel, so the URL is the sign that it is ready.
    deadline = time.monotonic() + SERVER_START_SECONDS
    pattern = re.compile(rf"http://(?:127\.0\.0\.1|localhost):{port}\S*token=(\w+)")
    while time.monotonic() < deadline:
        match = pattern.search(log.read_text(errors="replace"))
        if match:
            server.token = match.group(1)
            break
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if not server.token:
        exited = process.poll() is not None
        stop_server(server)
        log_text = log.read_text(errors="replace")
        _raise_if_port_taken(server, exited, log_text)
        raise AssertionError(
            f"akv-onboard app printed no URL with a token:\n{log_text}"
        )
    return server


def _start_server(
    command: list[str],
    environment: dict[str, str],
    port: int,
    token: str,
    root: Path,
    base: Path,
) -> LabServer:
    if os.geteuid() == 0:
        # Jupyter rejects running as root without --allow-root, and containers
        # often run as root.
        command.append("--allow-root")
    server = _launch(command, environment, port, token, root, base / "server.log")
    _wait_ready(server, "/api/status")
    return server


def _launch(
    command: list[str],
    environment: dict[str, str],
    port: int,
    token: str,
    root: Path,
    log: Path,
) -> LabServer:
    """Start `command` in `root` in a session of its own, its output in `log`."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LabServer(
        process, port, token, root, log, Path(environment["JUPYTER_CONFIG_DIR"])
    )


def _wait_ready(server: LabServer, path: str) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(server.url(path), timeout=2) as response:  # noqa: S310 (loopback URL built here)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    exited = server.process.poll() is not None
    log = server.log_text()
    stop_server(server)
    _raise_if_port_taken(server, exited, log)
    raise AssertionError(f"the server did not become ready:\n{log}")


def _raise_if_port_taken(server: LabServer, exited: bool, log: str) -> None:
    """Raise `PortTakenError` if `server` exited because its port was in use.

    `exited` tells whether the server had exited before the tests stopped it.
    """
    if exited and PORT_IN_USE in log:
        raise PortTakenError(f"port {server.port} was taken:\n{log}")


def child_pids(parent: int) -> set[int]:
    """Return the IDs of the processes whose parent is `parent`, from /proc."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The second field, the command name in brackets, may contain spaces.
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == parent:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def stop_server(server: LabServer) -> None:
    """Shut the server and its kernels down, and kill what is left after 15 s.

    Kernels run in sessions of their own, so the server's children are collected
    before it stops and checked afterwards.
    """
    children = child_pids(server.process.pid) | server.children
    if server.process.poll() is None:
        try:
            request = urllib.request.Request(server.url("/api/shutdown"), method="POST")  # noqa: S310
            urllib.request.urlopen(request, timeout=5).close()  # noqa: S310
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=5)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    for pid in children:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


class Screenshots:
    """Save numbered screenshots of one test under ``test-artifacts/screenshots/``."""

    def __init__(self, page: Page, test_name: str) -> None:
        self.page = page
        self.folder = SCREENSHOTS / re.sub(r"[^\w.-]+", "_", test_name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def take(self, step: str, target: Locator | None = None) -> Path:
        """Save a screenshot of `target`, scrolled into view, or of the whole page."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        if target is None:
            self.page.screenshot(path=path)
            return path
        # JupyterLab scrolls the notebook inside a box as tall as the window, so an
        # output taller than the window would be cut off: grow the window first.
        viewport = self.page.viewport_size
        box = target.bounding_box()
        if viewport is not None and box is not None:
            needed = min(int(box["height"]) + 400, MAX_SCREENSHOT_HEIGHT)
            if needed > viewport["height"]:
                self.page.set_viewport_size(
                    {"width": viewport["width"], "height": needed}
                )
        try:
            target.scroll_into_view_if_needed()
            target.screenshot(path=path)
        finally:
            if viewport is not None:
                self.page.set_viewport_size(viewport)
        return path


class Notebook:
    """A notebook opened in JupyterLab, in its own browser tab."""

    opened = 0

    def __init__(self, page: Page, lab: LabServer, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name
        # A workspace of its own, so JupyterLab restores no tab of an earlier test.
        Notebook.opened += 1
        workspace = f"test-{Notebook.opened}"
        page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{name}"))
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        expect(self.panel).to_be_visible(timeout=KERNEL_START_MS)
        self.wait_idle()

    def wait_idle(self) -> None:
        """Wait until the kernel is connected and idle."""
        # The toolbar's execution indicator reads "idle" before a kernel exists;
        # the status bar names the kernel once it is connected.
        expect(self.page.locator("#jp-main-statusbar")).to_contain_text(
            re.compile(r"\(ipykernel\) \| Idle"), timeout=KERNEL_START_MS
        )

    def menu(self, menu: str, item: str) -> None:
        """Click `item` in the menu bar's menu `menu`."""
        self.page.locator(
            ".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")
        ).click()
        self.page.locator(
            ".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")
        ).click()

    def run_all(self) -> None:
        """Run every cell from the Run menu and wait until each has run."""
        self.panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
        self.menu("Run", "Run All Cells")
        self.wait_cells_done()

    def wait_cells_done(self) -> None:
        """Wait until every code cell shows an execution count and the kernel idles."""
        prompts = self.panel.locator(".jp-CodeCell .jp-InputPrompt")
        expect(prompts.filter(has_text=re.compile(r"\[(\*| )?\]"))).to_have_count(
            0, timeout=KERNEL_START_MS
        )
        self.wait_idle()

    def mark_outputs_stale(self) -> None:
        """Mark the current cell outputs, so that `wait_rerun` detects new ones."""
        self.panel.evaluate(
            "panel => panel.querySelectorAll('.jp-OutputArea-output')"
            ".forEach(output => { output.dataset.akvStale = '1'; })"
        )

    def wait_rerun(self) -> None:
        """Wait until the marked outputs are gone and every cell has run again."""
        stale = self.panel.locator(".jp-OutputArea-output[data-akv-stale]")
        expect(stale).to_have_count(0, timeout=KERNEL_START_MS)
        self.wait_cells_done()

    def output_with(self, text: str) -> Locator:
        """Return the cell output whose widgets include a button labelled `text`."""
        return (
            self.panel.locator(".jp-OutputArea-output")
            .filter(has=button(self.page, text))
            .first
        )


def button(scope: Page | Locator, label: str) -> Locator:
    """Return the widget button labelled exactly `label` in `scope`."""
    return scope.locator("button.jupyter-button").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")
    )
