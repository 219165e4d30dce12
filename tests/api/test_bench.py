"""`memstrata bench` runs end to end and reports every figure (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_reports_every_figure_as_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "memstrata.cli", "bench", "--n", "300", "--queries", "20",
         "--embedder", "hashing", "--store", str(tmp_path / "b.db"), "--json"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    result = json.loads(out.stdout)
    assert result["n"] == 300
    for key in ("ingest_per_s", "peak_rss_mb", "bytes_per_memory", "ann_recall_at_10"):
        assert isinstance(result[key], float) and result[key] > 0
    for key in ("search_ms", "search_ms_no_embed"):
        assert 0 < result[key]["p50"] <= result[key]["p95"]
    assert result["ann_recall_at_10"] == 1.0  # below the ANN threshold search is exact
