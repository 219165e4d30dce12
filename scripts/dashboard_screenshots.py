"""Screenshots of the dashboard's main views, for docs/dashboard.md.

    python scripts/dashboard_screenshots.py                 # writes docs/img/dashboard-*.png
    python scripts/dashboard_screenshots.py --out /tmp/shots --chromium /usr/bin/chromium

1. Seeds a temporary store the way the end-to-end tests do (``tests/e2e/dashboard_seed.py``):
   the sample conversation of ``memstrata demo`` through the LLM write path with the scripted
   model, so there are facts with sources, entities, relations and links.
2. Starts ``memstrata serve`` on it (127.0.0.1, a free port) and corrects one memory through the
   REST API, so the memory page has two versions to compare.
3. Logs in with headless Chromium (the system browser, driven by Playwright) and saves the
   scopes, search, memory, timeline and graph views as PNG files.

Needs the ``dev`` extra (playwright) and Chromium (``apt-get install chromium``); no network.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from dashboard_helpers import CHROMIUM_ARGS, chromium, log_in  # noqa: E402
from dashboard_seed import USER, seed, serve  # noqa: E402

CORRECTED = "Ada adopted a grey cat called Pixel on 17 April 2026; Pixel is shy but purrs at night."


def correct_a_memory(url: str, key: str) -> str:
    """Correct the fact about Pixel through the API; return its id."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        found = client.post(
            "/v1/memories/search",
            json={"user_id": USER, "query": "Ada adopted a cat", "kinds": ["fact"], "limit": 1},
        ).json()["hits"][0]
        client.patch(
            f"/v1/memories/{found['id']}",
            params={"user_id": USER},
            json={"text": CORRECTED, "reason": "corrected by Ada in the dashboard",
                  "expected_version": found["version"]},
        ).raise_for_status()  # fmt: skip
        memory_id: str = found["id"]
        return memory_id


def shoot(page: Page, url: str, name: str, out: Path, wait_for: str, full: bool = False) -> Path:
    page.goto(url)
    page.wait_for_selector(wait_for)
    page.mouse.move(0, 0)  # no hover effects in the picture
    page.wait_for_timeout(300)
    path = out / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--chromium", default=chromium(), help="the browser (default: %(default)s)")
    args = parser.parse_args()
    if not args.chromium:
        parser.error("no Chromium found: install it (apt-get install chromium) or pass --chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        seeded = seed(Path(tmp) / "demo.db")
        key = seeded.keys["acme"]
        with serve(seeded.db) as url, sync_playwright() as playwright:
            memory_id = correct_a_memory(url, key)
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(base_url=url, viewport={"width": 1360, "height": 900})
            log_in(page, key, "acme")
            scope = f"user_id={USER}"
            views = [
                ("scopes", "#/scopes", "[data-testid=scopes]", False),
                ("search", f"#/search?{scope}&q=where+does+Ada+live", "[data-testid=hits]", False),
                ("memory", f"#/memory/{memory_id}?{scope}", "[data-testid=diff]", True),
                ("timeline", f"#/timeline?{scope}", "[data-testid=timeline-chart]", False),
                ("graph", f"#/graph?{scope}", "[data-testid=graph-chart]", False),
            ]
            for name, fragment, wait_for, full in views:
                path = shoot(page, f"/{fragment}", name, args.out, wait_for, full)
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
