"""Progress bars for the benchmark commands: tqdm on stderr, quiet when asked to be."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "it") -> Any:
    """A tqdm bar on stderr, or ``None`` when disabled or tqdm is missing (the ``eval`` extra).

    Off a terminal (a log file) the bar redraws at most every 30 seconds.
    """
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    interval = 0.1 if sys.stderr.isatty() else 30.0
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=interval)
