"""`memstrata bench` runs end to end and reports every figure (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from memstrata.bench import recall_at_k, synthetic_queries, synthetic_texts


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memstrata.cli", "bench", *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_bench_reports_every_figure_as_json(tmp_path: Path) -> None:
    out = bench("--n", "300", "--queries", "20", "--embedder", "hashing",
                "--store", str(tmp_path / "b.db"), "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["n"] == 300 and result["store"] == "SQLiteStore"
    figures = (
        "ingest_per_s", "embed_only_per_s", "peak_rss_mb", "bytes_per_memory", "first_search_ms",
        "reopened_first_search_ms", "ann_recall_at_10", "ann_recall_at_10_strict",
    )  # fmt: skip
    for key in figures:
        assert isinstance(result[key], float) and result[key] > 0, key
    for key in ("search_ms", "search_ms_no_embed", "search_ms_first_pass_no_embed"):
        assert 0 < result[key]["p50"] <= result[key]["p95"]
    assert result["ann_recall_at_10"] == 1.0  # below the ANN threshold search is exact
    assert result["index_build_s"] is None  # SQLite builds its index on the first search
    assert result["settings"]["queries"] == 20
    assert result["settings"]["vector_index"]["exact_below_rows"] == 20_000
    assert len(result["load_average"]["before"]) == 3
    machine = result["machine"]
    assert machine["cpus"] >= 1 and machine["git_revision"] and machine["python"]


def test_sizes_past_the_large_mark_need_the_flag(tmp_path: Path) -> None:
    out = bench("--n", "1000000", "--store", str(tmp_path / "b.db"))
    assert out.returncode == 2 and "--large" in out.stderr
    assert not (tmp_path / "b.db").exists()


def test_synthetic_data_is_deterministic_and_varied() -> None:
    texts = list(synthetic_texts(5_000))
    assert texts == list(synthetic_texts(5_000))
    assert len(set(texts)) > 4_950
    assert synthetic_queries(50) == synthetic_queries(50)
    assert len(set(synthetic_queries(200))) > 150


def test_recall_counts_a_tie_with_the_kth_as_found() -> None:
    documents = np.array([[1, 0], [1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    query = np.array([1, 0], dtype=np.float32)
    # the exact top 1 is row 0; row 1 has the same cosine
    assert recall_at_k(documents, query, [1], k=1) == (1.0, 0.0)
    assert recall_at_k(documents, query, [0], k=1) == (1.0, 1.0)
    assert recall_at_k(documents, query, [2, 3], k=2) == (0.0, 0.0)
    assert recall_at_k(documents, query, [1, 2], k=2) == (0.5, 0.5)
    ties_second = np.array([[1, 0], [0.6, 0.8], [0.6, 0.8], [0, 1]], dtype=np.float32)
    assert recall_at_k(ties_second, query, [0, 2], k=2) == (1.0, 0.5)
    assert recall_at_k(documents, query, [0, 0], k=2) == (0.5, 0.5)  # a repeat counts once
