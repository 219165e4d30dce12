"""The library API end to end, on a real SQLite file with the hashing embedder."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memstrata import (
    AsyncMemory,
    ConfirmationRequiredError,
    ConflictError,
    EmbedderMismatchError,
    InvalidInputError,
    Memory,
    NotFoundError,
    Retrieval,
    ScopeRequiredError,
)
from memstrata.options import PRESETS
from memstrata.types import MAX_TEXT_CHARS


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_add_stores_each_message_as_an_episode_with_its_id_as_source(mem: Memory) -> None:
    result = mem.add(
        [
            {
                "id": "m1",
                "speaker": "Ada",
                "text": "I moved to Lisbon in May",
                "timestamp": "2026-05-03T10:00:00Z",
            },
            {"id": "m2", "role": "assistant", "text": "Lisbon is lovely in spring"},
        ],
        user_id="ada",
    )
    assert [r.sources for r in result.added] == [("m1",), ("m2",)]
    first = mem.get(result.ids[0], user_id="ada")
    assert first.kind == "episode"
    assert first.actor == "Ada"
    assert first.valid_from == datetime(2026, 5, 3, 10, tzinfo=UTC)
    assert result.added[1].actor == "assistant"


def test_plain_text_gets_a_generated_message_id(mem: Memory) -> None:
    record = mem.add("I like green tea", user_id="ada").added[0]
    assert len(record.sources) == 1 and len(record.sources[0]) == 32


def test_search_finds_by_keyword_and_reports_signals(db_path: Path) -> None:
    mem = Memory(db_path, embedder="hashing", retriever="hybrid")
    mem.add(
        ["I moved to Lisbon in May", "My cat is called Pixel", "I run on Sundays"], user_id="ada"
    )
    hits = mem.search("what is the cat called", user_id="ada", limit=2)
    assert hits[0].text == "My cat is called Pixel"
    assert "keyword" in hits[0].signals and hits[0].signals["keyword"].rank == 1
    assert len(hits) == 2
    assert hits.search_id and hits.query == "what is the cat called"


def test_scopes_do_not_leak(mem: Memory) -> None:
    ada = mem.add("Ada's secret is the blue door", user_id="ada").added[0]
    mem.add("Bob's secret is the red door", user_id="bob")
    assert [h.text for h in mem.search("secret door", user_id="bob")] == [
        "Bob's secret is the red door"
    ]
    with pytest.raises(NotFoundError):
        mem.get(ada.id, user_id="bob")
    with pytest.raises(NotFoundError):
        mem.update(ada.id, "stolen", user_id="bob")
    with pytest.raises(NotFoundError):
        mem.delete(ada.id, user_id="bob")
    with pytest.raises(NotFoundError):
        mem.history(ada.id, user_id="bob")


def test_scope_filter_matches_given_fields_only(mem: Memory) -> None:
    mem.add("from agent one", user_id="ada", agent_id="one")
    mem.add("from agent two", user_id="ada", agent_id="two")
    assert len(mem.list(user_id="ada").records) == 2
    assert [r.text for r in mem.list(user_id="ada", agent_id="two").records] == ["from agent two"]
    assert mem.list(agent_id="one").records[0].scope.user_id == "ada"


def test_every_call_needs_a_scope(mem: Memory) -> None:
    with pytest.raises(ScopeRequiredError):
        mem.add("hello")
    with pytest.raises(ScopeRequiredError):
        mem.search("hello")
    with pytest.raises(ScopeRequiredError):
        mem.list()


def test_same_message_id_is_not_stored_twice(mem: Memory) -> None:
    mem.add({"id": "m1", "text": "hello"}, user_id="ada")
    again = mem.add([{"id": "m1", "text": "hello"}, {"id": "m2", "text": "bye"}], user_id="ada")
    assert again.duplicates == ("m1",)
    assert [r.sources for r in again.added] == [("m2",)]
    # the same id in another scope is another message
    assert mem.add({"id": "m1", "text": "hello"}, user_id="bob").added


def test_update_keeps_the_old_version_and_writes_history(mem: Memory) -> None:
    record = mem.add("I live in Paris", user_id="ada").added[0]
    new = mem.update(record.id, "I live in Lisbon", user_id="ada", reason="moved")
    assert new.version == 2 and new.text == "I live in Lisbon"
    versions = mem.versions(record.id, user_id="ada")
    assert [v.text for v in versions] == ["I live in Paris", "I live in Lisbon"]
    assert versions[0].expired_at is not None and versions[1].expired_at is None
    events = mem.history(record.id, user_id="ada")
    assert [e.op for e in events] == ["ADD", "UPDATE"]
    assert events[1].previous_text == "I live in Paris" and events[1].reason == "moved"
    assert [h.text for h in mem.search("Lisbon", user_id="ada")] == ["I live in Lisbon"]
    assert all("keyword" not in h.signals for h in mem.search("Paris", user_id="ada"))


def test_stale_update_is_a_conflict(mem: Memory) -> None:
    record = mem.add("I live in Paris", user_id="ada").added[0]
    mem.update(record.id, "I live in Lisbon", user_id="ada")
    with pytest.raises(ConflictError):
        mem.update(record.id, "I live in Rome", user_id="ada", expected_version=1)
    assert mem.get(record.id, user_id="ada").text == "I live in Lisbon"


def test_delete_restore_archive_and_purge(mem: Memory, db_path: Path) -> None:
    record = mem.add("a passing thought", user_id="ada").added[0]
    mem.delete(record.id, user_id="ada")
    assert mem.get(record.id, user_id="ada").state == "deleted"
    assert not mem.search("passing thought", user_id="ada").hits
    assert not mem.list(user_id="ada").records
    assert mem.list(user_id="ada", states=["deleted"]).records[0].id == record.id
    mem.restore(record.id, user_id="ada")
    assert mem.search("passing thought", user_id="ada")[0].id == record.id
    mem.archive(record.id, user_id="ada")
    assert not mem.search("passing thought", user_id="ada").hits
    assert [e.op for e in mem.history(record.id, user_id="ada")] == [
        "ADD",
        "DELETE",
        "RESTORE",
        "ARCHIVE",
    ]
    with pytest.raises(ConfirmationRequiredError):
        mem.purge(record.id, user_id="ada")
    mem.purge(record.id, user_id="ada", confirm=True)
    with pytest.raises(NotFoundError):
        mem.get(record.id, user_id="ada")
    assert rows(db_path, "history") == 0 and rows(db_path, "memories_fts") == 0


def test_reset_needs_confirmation_and_clears_only_its_scope(mem: Memory) -> None:
    mem.add(["one", "two"], user_id="ada")
    mem.add("three", user_id="bob")
    with pytest.raises(ConfirmationRequiredError):
        mem.reset(user_id="ada")
    assert mem.reset(user_id="ada", confirm=True) == 2
    assert not mem.list(user_id="ada").records
    assert len(mem.list(user_id="bob").records) == 1


def test_the_async_twin_packs_without_a_count_and_guards_a_reset_across_users(
    db_path: Path,
) -> None:
    async def run() -> None:
        async with AsyncMemory(db_path, embedder="hashing") as mem:
            await mem.add([f"cat number {i} is called Pixel {i}" for i in range(12)],
                          user_id="ada", agent_id="bot")  # fmt: skip
            await mem.add("Bob's cat", user_id="bob", agent_id="bot")
            assert len(await mem.search("cat called", agent_id="bot")) == 10
            assert len(await mem.search("cat called", agent_id="bot", budget=4000)) == 13
            with pytest.raises(ConfirmationRequiredError, match="2 users"):
                await mem.reset(agent_id="bot", confirm=True)
            assert await mem.reset(agent_id="bot", confirm=True, all_users=True) == 13

    asyncio.run(run())


def test_list_pages_through_everything_once(mem: Memory) -> None:
    mem.add([f"memory number {i}" for i in range(25)], user_id="ada")
    seen: list[str] = []
    cursor = None
    while True:
        page = mem.list(user_id="ada", limit=10, cursor=cursor)
        seen += [r.id for r in page.records]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 25


def test_filters_by_kind_time_and_metadata(mem: Memory) -> None:
    mem.add(
        {"text": "trip to Porto", "timestamp": "2026-01-10T00:00:00Z"},
        user_id="ada",
        metadata={"topic": "travel"},
    )
    mem.add(
        {"text": "trip to Rome", "timestamp": "2026-06-10T00:00:00Z"},
        user_id="ada",
        metadata={"topic": "travel", "pinned": True},
    )
    mem.add(
        {"text": "trip budget", "timestamp": "2026-06-11T00:00:00Z"},
        user_id="ada",
        metadata={"topic": "money"},
    )
    texts = {h.text for h in mem.search("trip", user_id="ada", since="2026-06-01")}
    assert texts == {"trip to Rome", "trip budget"}
    texts = {h.text for h in mem.search("trip", user_id="ada", metadata={"topic": "travel"})}
    assert texts == {"trip to Porto", "trip to Rome"}
    assert [h.text for h in mem.search("trip", user_id="ada", metadata={"pinned": True})] == [
        "trip to Rome"
    ]
    assert not mem.search("trip", user_id="ada", kinds=["fact"]).hits
    assert len(mem.search("trip", user_id="ada", until="2026-06-10T12:00:00Z").hits) == 2


def test_vector_signal_finds_what_keywords_miss(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing", retriever="hybrid") as mem:
        mem.add(["the kitten sleeps on the sofa", "quarterly tax forms are due"], user_id="ada")
        hits = mem.search("kittens sleeping", user_id="ada")
        assert hits[0].text == "the kitten sleeps on the sofa"
        assert "vector" in hits[0].signals


def test_default_ranker_explains_each_hit_by_its_features(mem: Memory) -> None:
    mem.add(["I moved to Lisbon in May", "My cat is called Pixel", "I run on Sundays"],
            user_id="ada")  # fmt: skip
    hits = mem.search("what is the cat called", user_id="ada", limit=3)
    assert hits[0].text == "My cat is called Pixel"
    assert {"bm25", "dense"} <= set(hits[0].signals)
    assert hits[0].signals["bm25"].rank == 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_budgeted_search_packs_the_sentences_that_answer(mem: Memory) -> None:
    filler = " ".join(f"Sentence {i} is about nothing in particular." for i in range(20))
    mem.add(
        [
            {"speaker": "Ada", "text": f"{filler} My cat is called Pixel. {filler}"},
            {"speaker": "Bo", "text": "Pixel the cat likes the sofa."},
            {"speaker": "Ada", "text": "I run on Sundays."},
        ],
        user_id="ada",
    )
    whole = mem.search("what is the cat called", user_id="ada", limit=3)
    assert all(h.excerpt is None and h.context.endswith(h.text) for h in whole)
    packed = mem.search("what is the cat called", user_id="ada", limit=3, budget=200)
    assert sum(len(h.context) for h in packed) <= 200
    long = next(h for h in packed if h.text.startswith("Sentence 0"))
    assert long.excerpt is not None and "My cat is called Pixel." in long.excerpt
    assert long.context.endswith(long.excerpt) and len(long.excerpt) < len(long.text)
    assert len(mem.search("cat", user_id="ada", limit=1, budget=4000)) == 1
    with pytest.raises(InvalidInputError):
        mem.search("cat", user_id="ada", budget=0)


def test_a_budget_favours_the_other_turns_of_a_session_it_already_holds(db_path: Path) -> None:
    said = ["I finally picked a name for my new puppy.", "Oh nice, how old is she?",
            "Ten weeks, and very loud.", "Ha, they always are.",
            "We call her Biscuit, after the colour of her fur."]  # fmt: skip
    chat = [{"id": f"a{i}", "speaker": "Ada" if i % 2 == 0 else "Bo", "text": text,
             "timestamp": f"2026-03-01T10:0{i}:00Z"} for i, text in enumerate(said)]  # fmt: skip
    # Other days, other sessions with Bo: each a near miss of the question.
    for i in range(6):
        chat += [{"id": f"b{i}", "speaker": "Ada",
                  "text": f"My friend {i} says her puppy needs a lot of walks.",
                  "timestamp": f"2026-04-{10 + i:02d}T10:00:00Z"},
                 {"id": f"c{i}", "speaker": "Bo", "text": "Sounds tiring.",
                  "timestamp": f"2026-04-{10 + i:02d}T10:01:00Z"}]  # fmt: skip
    query = "What name did Ada pick for her puppy?"
    packed = {}
    for name, retriever in (("cohesive", Retrieval(ranker="features", alpha=2.0, cohesion=1.5)),
                            ("plain", Retrieval(ranker="features", alpha=2.0))):  # fmt: skip
        with Memory(db_path.with_name(f"{name}.db"), embedder="hashing", retriever=retriever) as m:
            m.add(chat, user_id="ada")
            packed[name] = {h.record.sources[0] for h in m.search(query, user_id="ada", budget=250)}
    session = {f"a{i}" for i in range(len(said))}
    assert "a0" in packed["plain"] and any(s.startswith("b") for s in packed["plain"])
    # The session's turns displace near misses: the answer, three turns on, among them.
    assert len(packed["cohesive"] & session) > len(packed["plain"] & session)
    assert "a4" in packed["cohesive"] and "a4" not in packed["plain"]
    assert 0 < PRESETS["default"].cohesion < 1.5  # the default retriever leans the same way


def test_a_budget_is_not_spent_twice_on_one_sentence_of_one_message(mem: Memory) -> None:
    mem.add(
        [
            {"id": "m1", "speaker": "Ada", "text": "I moved to Lisbon in May.",
             "timestamp": "2026-05-03T10:00:00Z"},
            {"id": "m2", "speaker": "Ada", "timestamp": "2026-05-03T10:01:00Z",
             "text": "Now I live in a small flat by the river in the old Alfama quarter of town."},
            {"id": "m3", "speaker": "Bo", "text": "Work is fine.",
             "timestamp": "2026-05-03T10:02:00Z"},
        ],
        user_id="ada",
    )  # fmt: skip
    # A fact restating message m1 word for word: the same provenance and the same text.
    mem.remember("I moved to Lisbon in May.", kind="fact", sources=["m1"], actor="Ada",
                 valid_from="2026-05-03T10:00:00Z", user_id="ada")  # fmt: skip
    query = "Ada moved to Lisbon in May: where does she live now?"
    texts = [h.text for h in mem.search(query, user_id="ada")]
    assert texts.count("I moved to Lisbon in May.") == 2
    packed = mem.search(query, user_id="ada", budget=160)
    lines = [h.context for h in packed]
    assert sum(len(line) for line in lines) <= 160
    assert sum("I moved to Lisbon in May." in line for line in lines) == 1
    assert any("Alfama" in line for line in lines)  # the sentence that answers now fits


def test_a_sentence_said_twice_in_a_message_is_packed_once(mem: Memory) -> None:
    text = "My cat is called Pixel. Yes, really. My cat is called Pixel."
    mem.add({"speaker": "Ada", "text": text}, user_id="ada")
    [hit] = mem.search("what is the cat called", user_id="ada", budget=4000)
    assert hit.excerpt is not None and hit.excerpt.count("My cat is called Pixel.") == 1


def test_a_budget_also_holds_for_the_fusion_retrievers(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing", retriever="hybrid") as mem:
        mem.add(["the kitten sleeps on the sofa " * 8, "a kitten naps", "kittens purr"],
                user_id="ada")  # fmt: skip
        hits = mem.search("kitten", user_id="ada", budget=60)
        assert hits and sum(len(h.context) for h in hits) <= 60
        assert all(h.excerpt is None for h in hits)


def test_the_fusion_retrievers_pack_one_memory_of_a_restated_message(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing", retriever="hybrid") as mem:
        mem.add({"id": "m1", "speaker": "Ada", "text": "the kitten sleeps on the sofa"},
                user_id="ada")  # fmt: skip
        mem.remember("the kitten sleeps on the sofa", sources=["m1"], actor="Ada", user_id="ada")
        assert len(mem.search("kitten", user_id="ada")) == 2
        [hit] = mem.search("kitten", user_id="ada", budget=4000)
        assert hit.sources == ("m1",)


def test_sources_returns_the_original_messages(mem: Memory) -> None:
    record = mem.add(
        {"id": "d1:1", "speaker": "Ada", "text": "hi there", "timestamp": "2026-02-01T08:00:00Z"},
        user_id="ada",
    ).added[0]
    [message] = mem.sources(record.id, user_id="ada")
    assert (message.id, message.speaker, message.text) == ("d1:1", "Ada", "hi there")
    assert message.timestamp == datetime(2026, 2, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "x" * (MAX_TEXT_CHARS + 1),
        "bad \ud800 surrogate",
        b"\xff\xfe not utf-8",
        "nul \x00 inside",
        {"text": "ok", "colour": "blue"},
        {"role": "user"},
        42,
    ],
)
def test_bad_input_is_a_typed_error_and_writes_nothing(
    mem: Memory, db_path: Path, bad: object
) -> None:
    with pytest.raises(InvalidInputError):
        mem.add(["a good message", bad], user_id="ada")  # type: ignore[list-item]
    assert rows(db_path, "memories") == 0 and rows(db_path, "messages") == 0


def test_unknown_ids_and_bad_arguments(mem: Memory) -> None:
    with pytest.raises(NotFoundError):
        mem.get("no-such-id", user_id="ada")
    with pytest.raises(NotFoundError):
        mem.history("no-such-id", user_id="ada")
    with pytest.raises(InvalidInputError):
        mem.search("x", user_id="ada", limit=0)
    for cursor in ("not-a-cursor", "9" * 30, "-5"):
        with pytest.raises(InvalidInputError):
            mem.list(user_id="ada", cursor=cursor)
    with pytest.raises(InvalidInputError):
        mem.add([], user_id="ada")
    with pytest.raises(InvalidInputError):
        mem.add([{"id": "same", "text": "a"}, {"id": "same", "text": "b"}], user_id="ada")
    with pytest.raises(InvalidInputError):
        mem.search("x", user_id="ada", kinds=["nonsense"])  # type: ignore[list-item]


def test_opening_a_store_with_another_embedder_is_refused(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing") as mem:
        mem.add("hello", user_id="ada")
    with pytest.raises(EmbedderMismatchError, match="memstrata reembed"):
        Memory(db_path, embedder="hashing:64")
    with Memory(db_path, embedder=None) as keyword_only:
        assert keyword_only.search("hello", user_id="ada")[0].text == "hello"


def test_default_store_lives_in_the_user_data_directory() -> None:
    from memstrata.settings import Settings, default_db_path

    path = default_db_path()
    assert path.name == "memstrata.db" and "memstrata" in str(path.parent)
    assert not str(path).startswith("/tmp")
    assert Settings.from_env({}).db == str(path)
    assert Settings.from_env({"MEMSTRATA_DB": "/data/x.db"}).db == "/data/x.db"


def test_remember_stores_a_derived_memory_with_checked_sources(mem: Memory) -> None:
    mem.add({"id": "m1", "speaker": "Ada", "text": "I moved to Lisbon in May"}, user_id="ada")
    fact = mem.remember(
        "Ada lives in Lisbon", kind="fact", sources=["m1"], subject="Ada", user_id="ada",
        valid_from="2026-05-01", importance=0.9,
    )  # fmt: skip
    assert mem.get(fact.id, user_id="ada").sources == ("m1",)
    assert [m.id for m in mem.sources(fact.id, user_id="ada")] == ["m1"]
    assert mem.search("Lisbon", user_id="ada", kinds=["fact"])[0].id == fact.id
    with pytest.raises(InvalidInputError, match="unknown source"):
        mem.remember("made up", sources=["nope"], user_id="ada")
    with pytest.raises(InvalidInputError, match="unknown source"):
        mem.remember("another user's message", sources=["m1"], user_id="bob")
    with pytest.raises(InvalidInputError):
        mem.remember("x", kind="episode", user_id="ada")
    with pytest.raises(InvalidInputError):
        mem.remember("x", importance=2, user_id="ada")


def test_interleaved_adds_and_searches_see_every_new_memory(mem: Memory) -> None:
    for i in range(30):
        mem.add(f"note number {i} about topic {i % 5}", user_id="ada")
        mem.add(f"other user's note {i}", user_id="bob")
        hits = mem.search(f"note number {i}", user_id="ada", limit=50)
        assert any(h.text.startswith(f"note number {i} ") for h in hits)
        assert all(h.record.scope.user_id == "ada" for h in hits)
    assert len(mem.search("note", user_id="ada", limit=100)) == 30


def test_another_process_writes_are_seen_by_vector_search(db_path: Path) -> None:
    with Memory(db_path, embedder="hashing") as first, Memory(db_path, embedder="hashing") as other:
        first.add("zebras graze on the savanna", user_id="ada")
        assert len(first.search("zebra", user_id="ada")) == 1
        other.add("zebra crossings are striped", user_id="ada")
        assert len(first.search("zebra", user_id="ada")) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"text": "hi", "speaker": "lone \ud800"},
        {"text": "hi", "metadata": {"k": "lone \udc00"}},
        {"text": "hi", "metadata": {"k": object()}},
        {"text": "hi", "timestamp": "0001-01-01T00:00:00+01:00"},
        {"text": "hi", "timestamp": 1e300},
    ],
)
def test_odd_speakers_metadata_and_times_are_typed_errors(
    mem: Memory, db_path: Path, bad: dict[str, object]
) -> None:
    with pytest.raises(InvalidInputError):
        mem.add(bad, user_id="ada")
    assert rows(db_path, "memories") == 0


def test_reembed_lets_a_store_move_to_another_embedder(db_path: Path) -> None:
    import subprocess
    import sys

    with Memory(db_path, embedder="hashing") as mem:
        record = mem.add("zebras graze on the savanna", user_id="ada").added[0]
        mem.update(record.id, "zebras graze on the wide savanna", user_id="ada")
        mem.add("another tenant's note", user_id="ada", agent_id="x")
    with pytest.raises(EmbedderMismatchError):
        Memory(db_path, embedder="hashing:64")
    out = subprocess.run(
        [sys.executable, "-m", "memstrata.cli", "reembed", "--db", str(db_path),
         "--embedder", "hashing:64", "--json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout) == {"memories": 2, "from": "hashing-256", "to": "hashing-64"}
    with Memory(db_path, embedder="hashing:64", retriever="dense") as mem:
        hit = mem.search("zebra on a savanna", user_id="ada")[0]
        assert hit.id == record.id and hit.record.version == 2
        assert len(mem.versions(record.id, user_id="ada")) == 2


def test_a_contradicted_fact_is_never_expired_before_it_was_recorded(db_path: Path) -> None:
    """The LLM write path retires a fact (INVALIDATE) at the time the clock gives, and the
    retiring version is recorded at that same time, not a moment later by the wall clock."""
    from memstrata.llms import OpenAICompatLLM
    from memstrata.ports import FixedClock
    from memstrata.testing import Reply, ScriptedLLMServer
    from memstrata.write.pipeline import PipelineConfig

    def lives_in(city: str, source: str) -> Reply:
        fact = {"text": f"Ana lives in {city}.", "subject": "Ana", "sources": [source],
                "relations": [["Ana", "lives_in", city]]}  # fmt: skip
        return Reply.json({"facts": [fact]})

    clock = FixedClock(datetime(2024, 6, 1, 12, tzinfo=UTC))
    with ScriptedLLMServer() as server:
        server.on_prompt("extract_facts", lives_in("Porto", "m1"), lives_in("Lisbon", "m2"))
        server.on_prompt("consolidate", Reply.json({"decision": "INVALIDATE", "id": "1"}))
        llm = OpenAICompatLLM(server.base_url, model="scripted", backoff=0.01, max_retries=1)
        with Memory(db_path, embedder="hashing", llm=llm, clock=clock,
                    pipeline=PipelineConfig(wait_for_full_batch=False)) as mem:  # fmt: skip
            mem.add({"id": "m1", "speaker": "Ana", "text": "I live in Porto."}, user_id="ana")
            (porto,) = mem.list(user_id="ana", kinds=["fact"]).records
            clock.at += timedelta(days=1)
            mem.add({"id": "m2", "speaker": "Ana", "text": "I moved to Lisbon!"}, user_id="ana")
            versions = mem.versions(porto.id, user_id="ana")
            event = mem.history(porto.id, user_id="ana")[-1]
        llm.close()
    assert [(v.recorded_at, v.expired_at) for v in versions] == [
        (porto.recorded_at, clock.at),
        (clock.at, clock.at),
    ]
    assert (event.op, event.at) == ("INVALIDATE", clock.at)


def test_import_and_export_name_the_path_they_cannot_use(mem: Memory, tmp_path: Path) -> None:
    mem.add("a fact worth keeping", user_id="ada")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"type": "header", "note": "café"}\n'.encode("latin-1"))
    for source, message in (
        (tmp_path / "missing.jsonl", "missing.jsonl: No such file"),
        (tmp_path, "it is a directory"),
        (latin, "latin.jsonl is not UTF-8 text"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            mem.import_(source)
    nowhere = tmp_path / "nowhere" / "out.jsonl"
    with pytest.raises(InvalidInputError, match=r"directory .*nowhere does not exist"):
        mem.export(nowhere, user_id="ada")
    with pytest.raises(InvalidInputError, match="it is a directory"):
        mem.export(tmp_path, user_id="ada")
    assert not nowhere.parent.exists()
    assert [r.text for r in mem.list(user_id="ada").records] == ["a fact worth keeping"]
