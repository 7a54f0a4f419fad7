"""The copy button's click handler, run in headless Chromium on a static page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab_driver import CHROMIUM_ARGS
from playwright.sync_api import Page, Playwright

from akv_helpers.ui._render import command_block, copy_button

# The browser tests share one Playwright driver per process, which the sync API
# allows only once, so this file runs with them.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

HOSTILE = "\"'></button><script>window.injected = 1</script>`${x}` \\ end"
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
def copy_page(
    playwright_instance: Playwright, chromium_executable: str
) -> Iterator[Page]:
    browser = playwright_instance.chromium.launch(
        executable_path=chromium_executable, args=CHROMIUM_ARGS
    )
    context = browser.new_context()
    context.add_init_script(RECORDER)
    yield context.new_page()
    browser.close()


# A loopback origin is a secure context, which the Clipboard API needs. The
# route fulfils the request inside the browser, so no request leaves it.
PAGE_URL = "http://127.0.0.1:9/copy.html"


def show(page: Page, fragment: str) -> None:
    body = f"<html><body>{fragment}</body></html>"
    page.unroute(PAGE_URL)
    page.route(
        PAGE_URL,
        lambda route: route.fulfill(status=200, content_type="text/html", body=body),
    )
    page.goto(PAGE_URL)
    assert page.evaluate("window.isSecureContext")


def test_copy_clipboard_api_gets_value(copy_page: Page) -> None:
    page = copy_page
    show(page, copy_button(HOSTILE, "principal ID"))

    page.click("button.akv-copy")

    page.wait_for_function("window.copied.length > 0")
    assert page.evaluate("window.copied") == [["clipboard", HOSTILE]]
    assert page.evaluate("window.injected") is None
    assert page.inner_text("button.akv-copy") == "Copied"


def test_copy_label_back_after_two_seconds(copy_page: Page) -> None:
    page = copy_page
    show(page, copy_button("id-1", "ID"))

    page.click("button.akv-copy")

    page.wait_for_function("document.querySelector('button').textContent === 'Copied'")
    page.wait_for_function(
        "document.querySelector('button').textContent === 'Copy'", timeout=4000
    )


def test_copy_falls_back_to_exec_command(copy_page: Page) -> None:
    page = copy_page
    text = "az role assignment create \\\n  --scope '/subscriptions/x'\n"
    show(page, command_block(text, "grant command"))
    page.evaluate("window.useFallback = true")

    page.click("button.akv-copy")

    page.wait_for_function("window.copied.length > 0")
    assert page.evaluate("window.copied") == [["copy", text]]
    assert page.evaluate("document.querySelectorAll('textarea').length") == 0
    assert page.inner_text("button.akv-copy") == "Copied"
