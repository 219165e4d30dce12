"""The browser the dashboard's tests share leaves nothing behind: Playwright's sync API runs an
event loop in the main thread while the browser is open, and a test that runs after the
dashboard's (an integration's ``asyncio.run``, say) must find none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a pytest run of its own, with a server and a browser

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import asyncio


def test_asyncio_runs_after_the_browser_tests():
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
"""


def test_a_test_after_the_browser_tests_can_run_an_event_loop(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    dashboard = Path(__file__).with_name("test_dashboard.py")
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
            "--rootdir", str(ROOT), f"{dashboard}::test_the_word_diff", str(probe),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout
