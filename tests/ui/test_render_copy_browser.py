"""The copy button's click handler, run in headless Chromium on a static page."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from akv_helpers.ui._render import command_block, copy_button

pytestmark = pytest.mark.browser

HOSTILE = "\"'></button><script>window.injected = 1</script>`${x}` \\ end"
CHROMIUM = os.environ.get("AKV_CHROMIUM", "/usr/bin/chromium")
# --no-sandbox because tests may run as root; the others keep Chromium off the
# network, which the page does not need.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
]

# Records what the page writes to the clipboard, through the Clipboard API or
# through the execCommand fallback, instead of touching the system clipboard.
RECORDER = """
window.copied = [];
window.useFallback = false;
const api = {writeText: (text) => {
  if (window.useFallback) { return Promise.reject(new Error('denied')); }
  window.copied.push(['clipboard', text]);
  return Promise.resolve();
}};
Object.defineProperty(navigator, 'clipboard', {get: () => api});
document.execCommand = (command) => {
  const area = document.activeElement;
  window.copied.push([command, area && area.value]);
  return true;
};
"""


@pytest.fixture(scope="module")
def page() -> Iterator[object]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        context = browser.new_context()
        context.add_init_script(RECORDER)
        yield context.new_page()
        browser.close()


# A loopback origin is a secure context, which the Clipboard API needs. The
# route fulfils the request inside the browser, so no request leaves it.
PAGE_URL = "http://127.0.0.1:9/copy.html"


def show(page, fragment: str) -> None:  # type: ignore[no-untyped-def]
    body = f"<html><body>{fragment}</body></html>"
    page.unroute(PAGE_URL)
    page.route(
        PAGE_URL,
        lambda route: route.fulfill(status=200, content_type="text/html", body=body),
    )
    page.goto(PAGE_URL)
    assert page.evaluate("window.isSecureContext")


def test_copy_clipboard_api_gets_value(page) -> None:  # type: ignore[no-untyped-def]
    show(page, copy_button(HOSTILE, "principal ID"))

    page.click("button.akv-copy")

    page.wait_for_function("window.copied.length > 0")
    assert page.evaluate("window.copied") == [["clipboard", HOSTILE]]
    assert page.evaluate("window.injected") is None
    assert page.inner_text("button.akv-copy") == "Copied"


def test_copy_label_back_after_two_seconds(page) -> None:  # type: ignore[no-untyped-def]
    show(page, copy_button("id-1", "ID"))

    page.click("button.akv-copy")

    page.wait_for_function("document.querySelector('button').textContent === 'Copied'")
    page.wait_for_function(
        "document.querySelector('button').textContent === 'Copy'", timeout=4000
    )


def test_copy_falls_back_to_exec_command(page) -> None:  # type: ignore[no-untyped-def]
    text = "az role assignment create \\\n  --scope '/subscriptions/x'\n"
    show(page, command_block(text, "grant command"))
    page.evaluate("window.useFallback = true")

    page.click("button.akv-copy")

    page.wait_for_function("window.copied.length > 0")
    assert page.evaluate("window.copied") == [["copy", text]]
    assert page.evaluate("document.querySelectorAll('textarea').length") == 0
    assert page.inner_text("button.akv-copy") == "Copied"
