"""Stores take every time from their caller's clock: none of them reads the wall clock."""

from __future__ import annotations

import re
from pathlib import Path

STORES = Path(__file__).resolve().parents[2] / "src" / "memstrata" / "stores"
WALL_CLOCK = re.compile(r"\butcnow\(|\bdatetime\.now\(|\bdate\.today\(|\btime\.time\(")


def test_no_store_reads_the_wall_clock() -> None:
    offenders = [
        f"{path.relative_to(STORES)}:{number}"
        for path in sorted(STORES.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WALL_CLOCK.search(line)
    ]
    assert offenders == []
