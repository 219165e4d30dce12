"""The dashboard end to end: headless Chromium (the system's, driven by Playwright) against a
real ``memstrata serve`` on 127.0.0.1 over a seeded store (``dashboard_seed.py``).

Chromium must be installed (``apt-get install chromium``; ``scripts/test.sh`` does it): without
it these tests fail, they do not skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashboard_helpers import CHROMIUM_ARGS, Api, chromium
from dashboard_seed import Seeded, seed, serve
from playwright.sync_api import Browser, Page, expect, sync_playwright

expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("dashboard") / "dashboard.db")


@pytest.fixture(scope="session")
def server(seeded: Seeded) -> Iterator[str]:
    with serve(seeded.db) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, for the tests of one module. Playwright's sync API keeps an event loop running
    in the main thread while it is open, so it closes when the module's tests are done: a test
    of another directory that runs an event loop of its own (``asyncio.run``) finds none."""
    path = chromium()
    if path is None:
        pytest.fail(
            "Chromium is not installed, and the dashboard tests need it: "
            "`apt-get install chromium` (scripts/test.sh installs it)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage: logged out); an uncaught script error fails it."""
    context = browser.new_context(base_url=server, viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"script errors in the page: {errors}"


@pytest.fixture(scope="session")
def acme(server: str, seeded: Seeded) -> Iterator[Api]:
    api = Api(server, seeded.keys["acme"])
    yield api
    api.client.close()


@pytest.fixture(scope="session")
def globex(server: str, seeded: Seeded) -> Iterator[Api]:
    api = Api(server, seeded.keys["globex"])
    yield api
    api.client.close()
