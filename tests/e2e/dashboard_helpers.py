"""What the dashboard tests (and ``scripts/dashboard_screenshots.py``) share: where Chromium is
and how it starts, logging in through the page, and the REST API as one tenant sees it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
from dashboard_seed import USER
from playwright.sync_api import Page, expect

#: No sandbox (tests may run as root in a container), no GPU, and nothing that calls home.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCOPE = f"user_id={USER}"


def chromium() -> str | None:
    """The system's Chromium (Debian's ``chromium`` package), or None."""
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def log_in(page: Page, key: str, tenant: str) -> None:
    page.goto("/")
    page.fill("#api-key", key)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("tenant")).to_have_text(tenant)


class Api:
    """The REST API as one tenant sees it, to check the dashboard against."""

    def __init__(self, url: str, key: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )

    def memories(self, **query: Any) -> list[dict[str, Any]]:
        params = {"user_id": USER, "limit": 1000, **query}
        response = self.client.get("/v1/memories", params=params)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["memories"]
        return found

    def find(self, text: str) -> dict[str, Any]:
        """The one memory of the seeded user with this text, in any state, current or not (a
        fact whose validity has ended is history)."""
        states = ["active", "archived", "deleted"]
        (found,) = [m for m in self.memories(state=states, history=True) if m["text"] == text]
        return found

    def get(self, path: str, **query: Any) -> Any:
        response = self.client.get(f"/v1{path}", params={"user_id": USER, **query})
        response.raise_for_status()
        return response.json()
