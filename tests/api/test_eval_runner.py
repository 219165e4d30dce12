"""The evaluation harness end to end: real stores, the public API, the CLI, the answer step."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memstrata import Memory
from memstrata.evals.cli import main
from memstrata.evals.locomo import load_locomo
from memstrata.evals.runner import (
    FullContext,
    ReferenceBM25,
    Retrieved,
    RetrieverRun,
    attainable_recall,
    open_library_retriever,
    run_locomo,
    summarize_run,
)
from memstrata.llms import OpenAICompatLLM
from memstrata.prompts import consolidate, extract_facts
from memstrata.testing import Reply, ScriptedLLMServer, facts_per_message

FIXTURES = Path(__file__).parents[1] / "fixtures"
LOCOMO = FIXTURES / "locomo_tiny.json"
LONGMEMEVAL = FIXTURES / "longmemeval_tiny.json"


class RecordingRetriever:
    """A retriever that keeps what it is given and returns every message it holds."""

    whole_context = False
    packs = False

    def __init__(self) -> None:
        self.name = "recording"
        self.ingested: dict[str, list[Mapping[str, Any]]] = {}
        self.queries: list[tuple[str, str, int]] = []

    def ingest(self, scope: str, batches: Sequence[Sequence[Mapping[str, Any]]]) -> int:
        assert scope not in self.ingested, "each conversation gets a fresh scope"
        self.ingested[scope] = [m for batch in batches for m in batch]
        return len(self.ingested[scope])

    def search(
        self, scope: str, query: str, limit: int, budget: int | None = None
    ) -> list[Retrieved]:
        assert budget is None, "a retriever that does not pack is never given a budget"
        self.queries.append((scope, query, limit))
        return [Retrieved(str(m["text"]), (str(m["id"]),)) for m in self.ingested[scope]][:limit]

    def close(self) -> None:
        pass


def test_only_the_raw_question_reaches_the_system() -> None:
    convs = load_locomo(LOCOMO)
    retriever = RecordingRetriever()
    run = run_locomo(convs, retriever, limit=50)
    asked = [(c.scope, q.question, 50) for c in convs for q in c.questions]
    assert retriever.queries == asked
    for messages in retriever.ingested.values():
        assert all(set(m) == {"id", "speaker", "text", "timestamp"} for m in messages)
    assert run.memories == 8
    assert len(run.outcomes) == 8


def test_locomo_through_the_public_api(tmp_path: Path) -> None:
    convs = load_locomo(LOCOMO)
    retriever = open_library_retriever("bm25", tmp_path, None)
    try:
        run = run_locomo(convs, retriever, limit=10)
    finally:
        retriever.close()
    # both conversations use ids D1:1, D1:2: only separate scopes store all eight turns
    assert run.memories == 8
    assert run.conversations == 2
    assert run.ingest_s > 0
    kitten = run.outcomes[0]
    assert kitten.sources[0] == ("D1:1",)
    summary = summarize_run(run, ks=(1, 5), budget_chars=4000)
    assert 0.0 < summary.recall[5]["overall"] <= 1.0
    assert summary.latency_p95_ms >= summary.latency_p50_ms > 0

    with Memory(tmp_path / "bm25.db", embedder=None) as mem:
        stored = {r.sources[0]: r for r in mem.list(user_id="tiny-1", limit=50).records}
    assert set(stored) == {"D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"}
    assert stored["D1:3"].text.endswith("[photo: a photo of tomatoes growing on a balcony]")
    assert stored["D2:1"].actor == "Bo"
    assert stored["D2:1"].valid_from == datetime(2023, 6, 21, 10, 5, tzinfo=UTC)


def library_run(workdir: Path, limit: int, budget_chars: int) -> RetrieverRun:
    """The tiny conversations through the library's default retriever."""
    retriever = open_library_retriever("default", workdir, None)
    try:
        return run_locomo(load_locomo(LOCOMO), retriever, limit=limit, budget_chars=budget_chars)
    finally:
        retriever.close()


def test_a_packing_retriever_is_scored_on_its_own_budget_context(tmp_path: Path) -> None:
    run = library_run(tmp_path, limit=10, budget_chars=120)
    for outcome in run.outcomes:
        assert outcome.context is not None
        assert sum(outcome.context.lengths) <= 120
    summary = summarize_run(run, ks=(5,), budget_chars=120)
    assert 0 < summary.mean_context_chars <= 120


def test_the_budgeted_search_names_no_count_as_the_readme_shows_it(tmp_path: Path) -> None:
    run = library_run(tmp_path, limit=1, budget_chars=4000)
    assert all(len(o.sources) <= 1 for o in run.outcomes)  # the ranked list: one memory
    assert max(len(o.context.lengths) for o in run.outcomes if o.context) > 1  # all that fit


def test_full_context_reaches_the_attainable_ceiling() -> None:
    convs = load_locomo(LOCOMO)
    run = run_locomo(convs, FullContext())
    summary = summarize_run(run, ks=(5,), budget_chars=10)
    ceiling = attainable_recall(convs)
    assert summary.recall[5] == ceiling
    assert summary.budget_recall == ceiling  # no budget applies to the whole conversation
    # tiny-1 loses two malformed entries and its empty-evidence question: (6 - 3 + 2) of 8
    assert ceiling["overall"] == pytest.approx(5 / 8)
    assert summary.mean_context_chars > 100


def test_reference_bm25_finds_the_obvious_turn() -> None:
    convs = load_locomo(LOCOMO)
    run = run_locomo(convs, ReferenceBM25(), limit=3)
    assert ("D1:1",) in run.outcomes[0].sources  # "kitten" only appears there
    assert run.outcomes[6].sources[0] == ("D1:1",)  # "marathon" in the second conversation


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_json_has_the_promised_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        [
            "eval",
            "locomo",
            str(LOCOMO),
            "--retriever",
            "bm25",
            "--retriever",
            "reference-bm25",
            "--retriever",
            "full",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert data["dataset"] == "locomo_tiny.json"
    assert data["questions"] == 8
    assert set(data["retrievers"]) == {"bm25", "reference-bm25", "full"}
    for row in data["retrievers"].values():
        assert set(row["recall"]) == {"5", "10", "25", "50"}
        for values in row["recall"].values():
            assert set(values) == {"overall", "1", "2", "3", "4", "5"}
            assert all(0.0 <= v <= 1.0 for v in values.values())
        assert set(row["latency_ms"]) == {"p50", "p95"}
        assert isinstance(row["ingest_s"], float)
        assert isinstance(row["mean_context_chars"], float)
    assert data["retrievers"]["bm25"]["budget_recall"]["chars"] == 4000
    assert data["retrievers"]["bm25"]["memories"] == 8
    for row in data["retrievers"].values():
        # Adversarial questions (5) have no answer to look for.
        assert set(row["answer_coverage"]) == {"overall", "1", "2", "3", "4"}
        assert 0.0 < row["answer_coverage"]["overall"] <= 1.0
    assert data["settings"]["budget_chars"] == 4000
    assert "git_revision" in data["settings"]


def test_cli_writes_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "report"
    code, out, err = run_cli(
        [
            "eval",
            "locomo",
            str(LOCOMO),
            "--retriever",
            "hybrid",
            "--retriever",
            "reference-bm25",
            "--embedder",
            "hashing",
            "--budget-chars",
            "120",
            "--limit-conversations",
            "1",
            "--out",
            str(out_dir),
        ],
        capsys,
    )
    assert code == 0
    assert "| hybrid |" in out and "| reference-bm25 |" in out
    assert "wrote" in err
    data = json.loads((out_dir / "locomo.json").read_text())
    assert data["conversations"] == 1
    assert data["questions"] == 6
    assert data["retrievers"]["hybrid"]["budget_recall"]["chars"] == 120
    assert data["settings"]["embedder"]
    assert (out_dir / "locomo.md").read_text().startswith("## LoCoMo retrieval")
    assert (out_dir / "locomo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_longmemeval(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["eval", "longmemeval", str(LONGMEMEVAL), "--retriever", "bm25", "--json", "--k", "1"],
        capsys,
    )
    assert code == 0
    data = json.loads(out)
    assert data["questions"] == 3
    metrics = data["retrievers"]["bm25"]["metrics"]
    assert metrics["overall"]["questions"] == 3
    assert metrics["overall"]["session/recall_any@1"] == pytest.approx(1.0)
    assert "turn/ndcg@1" in metrics["overall"]


def test_cli_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["eval", "locomo", str(tmp_path / "missing.json")], capsys)
    assert code == 2 and "no such file" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "locomo"}')
    code, _, err = run_cli(["eval", "locomo", str(bad)], capsys)
    assert code == 2 and "not a locomo file" in err


def test_answer_step_scores_and_caches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "eval",
        "locomo",
        str(LOCOMO),
        "--retriever",
        "reference-bm25",
        "--limit-conversations",
        "1",
        "--json",
        "--answer-cache",
        str(tmp_path / "cache"),
    ]
    with ScriptedLLMServer() as server:
        server.on_prompt("eval_answer", Reply.text("Pixel"))
        server.on_prompt("eval_judge", Reply.json({"label": "CORRECT"}))
        code, out, _ = run_cli(
            [*args, "--answer-llm", server.base_url, "--answer-model", "scripted"], capsys
        )
        assert code == 0
        first = len(server.chat_requests)
        assert first == 2 * 6  # one answer and one verdict per question
        for request in server.chat_requests:
            if request.prompt == "eval_answer":
                user = request.last_user or ""
                assert "Question: " in user
                assert "D1:" not in user  # no evidence ids
        code, again, _ = run_cli(
            [*args, "--answer-llm", server.base_url, "--answer-model", "scripted"], capsys
        )
        assert code == 0
        assert len(server.chat_requests) == first  # every response came from the cache
    answers = json.loads(out)["retrievers"]["reference-bm25"]["answers"]
    assert answers["model"] == "scripted"
    assert answers["f1"]["4"] == pytest.approx(0.5)  # "Pixel" is right for one of two
    assert answers["f1"]["5"] == 0.0  # does not say "not mentioned"
    assert answers["judge"]["overall"] == 1.0
    assert answers["prompt_versions"] == {"answer": "eval_answer/1", "judge": "eval_judge/1"}
    assert json.loads(again)["retrievers"]["reference-bm25"]["answers"] == answers


def test_answer_step_survives_a_broken_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedLLMServer(default=Reply.error(400, "no such model")) as server:
        code, out, _ = run_cli(
            [
                "eval",
                "locomo",
                str(LOCOMO),
                "--retriever",
                "reference-bm25",
                "--json",
                "--answer-llm",
                server.base_url,
                "--answer-model",
                "nothing",
            ],
            capsys,
        )
    assert code == 0
    data = json.loads(out)
    assert data["retrievers"]["reference-bm25"]["answers"]["judge"]["overall"] == 0.0
    assert data["settings"]["answer_failures"] == 16


def test_answer_step_keeps_what_a_capped_answer_said(capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedLLMServer() as server:
        server.on_prompt("eval_answer", Reply.truncated("Pixel, the kitten Ada adopted"))
        server.on_prompt("eval_judge", Reply.truncated('{"label": "CORRECT'))
        code, out, _ = run_cli(
            ["eval", "locomo", str(LOCOMO), "--retriever", "reference-bm25", "--json",
             "--limit-conversations", "1", "--answer-llm", server.base_url,
             "--answer-model", "scripted"],
            capsys,
        )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["settings"]["answer_failures"] == 0
    answers = data["retrievers"]["reference-bm25"]["answers"]
    assert answers["f1"]["4"] > 0 and answers["judge"]["overall"] == 1.0


# -- ingesting through the LLM write path --------------------------------------------------------


@pytest.fixture
def model() -> Iterator[ScriptedLLMServer]:
    """A scripted model: one fact per message shown, every consolidation an ADD."""
    with ScriptedLLMServer(default=Reply.json({"decision": "ADD", "reason": "new"})) as server:
        server.on_prompt("extract_facts", facts_per_message())
        yield server


def ingest_through(llm: OpenAICompatLLM, workdir: Path) -> tuple[RetrieverRun, Any]:
    """The tiny LoCoMo file through the ``bm25`` preset with ``llm``: the run and what the
    write path did."""
    retriever = open_library_retriever("bm25", workdir, None, llm)
    try:
        return run_locomo(load_locomo(LOCOMO), retriever, limit=10), retriever.write_path()
    finally:
        retriever.close()


def test_the_harness_ingests_through_the_model_and_scores_facts_by_their_sources(
    tmp_path: Path, model: ScriptedLLMServer
) -> None:
    with OpenAICompatLLM(model.base_url, "scripted") as llm:
        run, write_path = ingest_through(llm, tmp_path)
    assert write_path is not None and write_path["model"] == "scripted"
    # one extraction call per conversation: a part-filled batch is done once it is all in
    assert write_path["extraction_calls"] == 2 and write_path["pending"] == 0
    assert write_path["added"] == 8 and run.memories == 8 + 8  # episodes and facts
    assert write_path["calls"] == len(model.chat_requests)
    kitten = run.outcomes[0]  # "What is the name of Ada's kitten?", evidence D1:1
    assert ("D1:1",) in kitten.sources and len(kitten.sources) > 1
    with Memory(tmp_path / "bm25.db", embedder=None) as mem:
        facts = mem.list(user_id="tiny-1", kinds=["fact"], limit=50).records
    by_source = {f.sources: f.text for f in facts}
    assert by_source[("D1:1",)] == "Ada said: Hi Bo! I adopted a kitten called Pixel last week."


def test_the_harness_reports_what_a_failing_model_left_undone(
    tmp_path: Path, model: ScriptedLLMServer
) -> None:
    model.on_prompt("extract_facts", Reply.server_error())
    with OpenAICompatLLM(model.base_url, "scripted", max_retries=0) as llm:
        run, write_path = ingest_through(llm, tmp_path)
    assert write_path is not None and run.memories == 8  # every message kept, as episodes
    assert (write_path["pending"], write_path["failed"], write_path["added"]) == (8, 8, 0)
    assert write_path["failed_batches"] == write_path["extraction_calls"] == 2
    assert "HTTP 500" in write_path["errors"][-1]


def test_eval_cli_with_a_model_records_model_prompts_and_calls(
    model: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEMSTRATA_LLM_API_KEY", "sk-eval")
    code, out, _ = run_cli(
        ["eval", "locomo", str(LOCOMO), "--retriever", "bm25", "--retriever", "reference-bm25",
         "--llm", model.base_url, "--model", "scripted", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["settings"]["llm_model"] == "scripted"
    assert data["settings"]["llm_prompts"] == f"{extract_facts.VERSION},{consolidate.VERSION}"
    write_path = data["retrievers"]["bm25"]["write_path"]
    requests = model.chat_requests
    assert write_path["calls"] == len(requests) >= 2
    assert write_path["extraction_calls"] == sum(r.prompt == "extract_facts" for r in requests)
    assert {r.headers["authorization"] for r in requests} == {"Bearer sk-eval"}
    assert {r.body["model"] for r in requests} == {"scripted"}
    assert write_path["added"] == 8 and data["retrievers"]["bm25"]["memories"] == 16
    assert "write_path" not in data["retrievers"]["reference-bm25"]  # it has no model

    code, _, err = run_cli(["eval", "locomo", str(LOCOMO), "--llm", model.base_url], capsys)
    assert code == 2 and "--model" in err


def test_eval_markdown_says_what_the_model_did(
    model: ScriptedLLMServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["eval", "longmemeval", str(LONGMEMEVAL), "--retriever", "bm25", "--k", "1",
         "--llm", model.base_url, "--model", "scripted"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert "LLM write path:" in out
    assert f"- bm25: {len(model.chat_requests)} calls to scripted" in out
    assert "llm_model=scripted" in out
