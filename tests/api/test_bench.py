"""`memstrata bench` runs end to end and reports every figure (no timing is asserted)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memstrata import Memory
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
    assert result["settings"]["vector_index"]["link_step"] == 64
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


# -- eval scale, bench cold, bench serve: end to end on tiny inputs ----------------------------

TINY = Path(__file__).parents[1] / "fixtures" / "locomo_tiny.json"


def memstrata(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "memstrata.cli", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def other_chats(path: Path) -> Path:
    """A second LoCoMo-format file: one short conversation of its own."""
    turns = [
        {"speaker": "Ada", "dia_id": f"D1:{i}", "text": f"Line {i} about the harbour in Hobart."}
        for i in range(1, 6)
    ]
    sample = {
        "sample_id": "other-1",
        "conversation": {"speaker_a": "Ada", "speaker_b": "Eve",
                         "session_1_date_time": "9:00 am on 3 March, 2021", "session_1": turns},
        "qa": [],
    }  # fmt: skip
    path.write_text(json.dumps([sample]), encoding="utf-8")
    return path


def test_eval_scale_reports_each_size_and_reuses_its_store(tmp_path: Path) -> None:
    args = (
        "eval", "scale", str(TINY), "--distractors", "0", "--distractors", "120",
        "--other", str(other_chats(tmp_path / "other.json")), "--embedder", "hashing",
        "--cache", str(tmp_path / "cache"), "--json", "--quiet",
    )  # fmt: skip
    out = memstrata(*args)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["questions"] == 8 and report["conversations"] == 2
    assert report["categories"] == [1, 2, 3, 4, 5]
    none, some = report["sizes"]
    assert none["n"] == 0 and none["memories_in_scope"] == 8
    assert some["distractors"]["other_turns"] == 5 and some["distractors"]["synthetic"] == 115
    assert some["distractors"]["cached"] is False and some["memories_in_scope"] == 128
    for row in report["sizes"]:
        assert set(row["budget_recall"]) == {"overall", "1", "2", "3", "4", "5"}
        assert 0 < row["budget_recall"]["overall"] <= report["attainable_recall"]["overall"]
        assert set(row["recall"]) == {"5", "10", "25", "50"}
        assert 0 < row["search_ms"]["p50"] <= row["search_ms"]["p95"]
        assert row["ingest_s"] > 0 and len(row["load_average"]["before"]) == 3
    assert report["settings"]["embedder"] == "hashing-256"
    assert report["settings"]["other"] == "other.json" and report["settings"]["seed"] == 0
    assert report["machine"]["git_revision"] and report["machine"]["cpus"] >= 1
    again = json.loads(memstrata(*args).stdout)
    assert again["sizes"][1]["distractors"]["cached"] is True
    for before, after in zip(report["sizes"], again["sizes"], strict=True):
        assert before["budget_recall"] == after["budget_recall"]
        assert before["recall"] == after["recall"]


def test_eval_scale_keeps_the_stores_it_asked_in(tmp_path: Path) -> None:
    keep, work = tmp_path / "kept", tmp_path / "work" / "not yet made"
    out = memstrata(
        "eval", "scale", str(TINY), "--distractors", "0", "--distractors", "40",
        "--embedder", "hashing", "--cache", str(tmp_path / "cache"), "--keep", str(keep),
        "--workdir", str(work), "--json", "--quiet",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert work.is_dir() and not any(work.iterdir())  # made, and its run's stores removed
    assert sorted(p.name for p in keep.glob("*.db")) == [
        "scale-locomo_tiny-0.db", "scale-locomo_tiny-40.db",
    ]  # fmt: skip
    for n, size in ((0, 8), (40, 48)):
        with sqlite3.connect(keep / f"scale-locomo_tiny-{n}.db") as conn:
            (count,) = conn.execute(
                "SELECT count(*) FROM memories WHERE user_id = ?", ("scale",)
            ).fetchone()
        assert count == size


def test_eval_scale_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    out = memstrata("eval", "scale", str(TINY), "--distractors", "1000000",
                    "--cache", str(tmp_path / "cache"))  # fmt: skip
    assert out.returncode == 2 and "--large" in out.stderr
    assert not (tmp_path / "cache").exists()
    out = memstrata("eval", "scale", str(TINY), "--other", str(TINY))
    assert out.returncode == 2 and "--other names the dataset itself" in out.stderr
    out = memstrata("eval", "scale", str(tmp_path / "missing.json"))
    assert out.returncode == 2 and "no such file" in out.stderr
    a_file = other_chats(tmp_path / "a-file.json")
    for dataset, *more in (("scale", "--distractors", "0"), ("locomo",)):
        out = memstrata("eval", dataset, str(TINY), *more, "--embedder", "hashing",
                        "--workdir", str(a_file))  # fmt: skip
        assert out.returncode == 1 and "File exists" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_bench_cold_times_each_step_in_fresh_processes(tmp_path: Path) -> None:
    out = memstrata("bench", "cold", "--n", "300", "--repeat", "2", "--embedder", "hashing",
                    "--cache", str(tmp_path / "cache"), "--json", "--quiet")  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    (row,) = report["sizes"]
    assert row["n"] == 300 and row["store"]["memories"] == 300
    assert len(row["repetitions"]) == 2
    steps = ("start_ms", "embedder_ms", "open_ms", "first_search_ms", "second_search_ms")
    for rep in row["repetitions"]:
        assert all(rep[step] > 0 for step in steps)
        assert rep["process_ms"] > rep["first_search_ms"]
        assert rep["memory_mb"]["VmHWM"] >= rep["memory_mb"]["VmRSS"] > 0
    assert set(row["median"]) == {*steps, "process_ms"}
    assert report["settings"]["repeat"] == 2 and report["machine"]["processor"]
    out = memstrata("bench", "cold", "--n", "1000000", "--cache", str(tmp_path / "c2"))
    assert out.returncode == 2 and "--large" in out.stderr


def test_bench_cold_times_a_scope_of_a_store_of_ones_own(tmp_path: Path) -> None:
    store = tmp_path / "mine.db"
    with Memory(store, embedder="hashing") as mem:
        mem.add([{"text": f"Note {i}: the ferry to Hobart leaves at nine."} for i in range(30)],
                user_id="alice")  # fmt: skip
    before = store.read_bytes()
    out = memstrata("bench", "cold", "--store", str(store), "--scope", "alice", "--repeat", "1",
                    "--embedder", "hashing", "--json", "--quiet")  # fmt: skip
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)["sizes"]
    assert row["store"]["path"] == str(store) and row["store"]["scope"] == "alice"
    assert row["n"] == row["store"]["memories"] == 30
    (rep,) = row["repetitions"]
    assert rep["first_search_hits"] > 0  # the scope asked is the one that holds the memories
    assert store.read_bytes() == before  # the runs open a copy
    both = memstrata("bench", "cold", "--store", str(store), "--n", "300")
    assert both.returncode == 2 and "--store" in both.stderr
    missing = memstrata("bench", "cold", "--store", str(tmp_path / "none.db"))
    assert missing.returncode == 2 and "no such store" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def serve_report(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = memstrata(
        "bench", "serve", "--scopes", "3", "--memories", "40", "--clients", "2",
        "--duration", "2", "--probes", "2", "--cache", str(tmp_path / "cache"),
        "--json", "--quiet", *extra, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def check_serve_report(report: dict[str, Any], processes: int, workers: int = 1) -> None:
    assert report["settings"]["processes"] == processes
    assert report["settings"]["workers"] == workers
    assert report["search_ms"]["all"]["count"] > 0 and report["searches_per_s"] > 0
    assert report["errors"] == 0 and report["missing_adds"] == 0
    assert report["acknowledged_adds"] >= 4  # the probes' adds at least
    assert report["freshness_ms"]["count"] == 2 and report["freshness_ms"]["not_found"] == 0
    assert report["interference_ms"]["before"]["count"] == 2
    assert report["interference_ms"]["after"]["count"] == 2
    assert report["freshness_ms"]["reader"] == processes - 1
    # Each server's process, and its workers' when it has more than one.
    assert len(report["server_memory_mb"]) == processes * (1 + workers * (workers > 1))
    for server in report["server_memory_mb"]:
        assert server["after_load"]["VmRSS"] > 0 and server["end"]["VmHWM"] > 0


def test_bench_serve_drives_two_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    report = serve_report(tmp_path, "--processes", "2")
    check_serve_report(report, 2)
    assert report["settings"]["backend"] == "sqlite" and report["fill"]["memories"] == 120


def test_bench_serve_drives_a_server_of_two_workers(tmp_path: Path) -> None:
    report = serve_report(tmp_path, "--workers", "2")
    check_serve_report(report, 1, workers=2)


@pytest.mark.postgres
def test_bench_serve_on_postgres(tmp_path: Path) -> None:
    pytest.importorskip("pgserver")
    report = serve_report(tmp_path, "--backend", "postgres")
    check_serve_report(report, 1)
    assert report["settings"]["backend"] == "postgres"
