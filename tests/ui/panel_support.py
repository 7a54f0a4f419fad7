"""Values and helpers that the panel tests share: the seeded IDs and copy buttons."""

from __future__ import annotations

import threading
from html.parser import HTMLParser

from akv_helpers.connection import RetrySettings
from akv_helpers.profile import IdentityRef

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CLIENT = "aaaaaaaa-0000-4000-8000-000000000001"
# Short retry delays, so that tests of failures do not wait out real backoff.
FAST = RetrySettings(backoff_factor=0.01, principal_not_found_backoff=0.02)


class _CopyButtons(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.copied: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "button" and values.get("class") == "akv-copy":
            self.copied.append(values.get("data-copy") or "")


def copied_values(fragment: str) -> list[str]:
    """Return the values of the copy buttons in `fragment`, in order."""
    parser = _CopyButtons()
    parser.feed(fragment)
    return parser.copied


def identity(principal_id: str = PRINCIPAL) -> IdentityRef:
    """Return the seeded data-plane identity as the profile stores it."""
    return IdentityRef(
        name="userflyterole",
        resource_group="rg-union-dp",
        resource_id=(
            "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/"
            "rg-union-dp/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
            "userflyterole"
        ),
        client_id=CLIENT,
        principal_id=principal_id,
    )


def timer_threads() -> list[threading.Thread]:
    """Return the progress line's timer threads that are still alive."""
    return [t for t in threading.enumerate() if t.name == "akv-progress-timer"]
