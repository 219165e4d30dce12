"""The read engine through the public API: one ranker at every size, nothing rebuilt per
process, caches per scope and bounded, other processes' writes seen on the next search, each
memory's terms read as stored and ranked exactly as if made from its text, and a store from an
earlier schema migrated and counted in."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memstrata import Memory
from memstrata.read.engine import Depths, gather
from memstrata.stores.sqlite import SQLiteStore
from memstrata.terms import encode, terms_of
from memstrata.types import Filters, Scope

TOPICS = ("pottery", "sailing", "chess", "baking", "cycling", "gardening", "painting", "jazz")


def chat(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"id": f"m{i}", "speaker": "Ana" if i % 2 else "Ben",
             "text": f"Talking about {TOPICS[i % len(TOPICS)]} again, round {i}.",
             "timestamp": f"2024-01-{1 + (i // 50) % 28:02d}T{10 + (i % 50) // 6:02d}:"
                          f"{(i % 6) * 9:02d}:00Z"}
            for i in range(start, start + n)]  # fmt: skip


def add_script(db: str, scope: str, text: str) -> None:
    code = textwrap.dedent("""
        import sys
        from memstrata import Memory
        with Memory(sys.argv[1], embedder="hashing") as mem:
            mem.add({"text": sys.argv[3]}, user_id=sys.argv[2])
    """)
    subprocess.run([sys.executable, "-c", code, db, scope, text], check=True, timeout=120)


def test_a_large_scope_is_ranked_by_the_same_features_as_a_small_one(tmp_path: Path) -> None:
    for size in (20, 3000):
        with Memory(tmp_path / f"s{size}.db", embedder="hashing") as mem:
            mem.add(chat(size), user_id="u")
            mem.add({"text": "My sister Clara adopted a greyhound named Comet.",
                     "speaker": "Ana"}, user_id="u")  # fmt: skip
            hits = mem.search("What dog did Clara adopt?", user_id="u", limit=3).hits
            assert hits[0].record.text.startswith("My sister Clara")
            # The feature ranker's signals, not fusion's ("keyword", "vector").
            assert {"cov", "t_bm25", "dense"} <= set(hits[0].signals)
            budgeted = mem.search("What dog did Clara adopt?", user_id="u", budget=400).hits
            assert "greyhound" in (budgeted[0].excerpt or budgeted[0].record.text)


def test_a_question_with_every_word_of_one_memory_finds_it_before_its_near_copies(
    tmp_path: Path,
) -> None:
    # Hundreds of memories that differ in one word or number: a lookup is not a paraphrase,
    # and a ranker fitted on paraphrased questions must still put the exact match first.
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        for name in ("alpha", "bravo", "charlie", "delta"):
            mem.add([{"id": f"{name}-{i}", "text": f"message {i} from {name}"}
                     for i in range(150)], user_id="u")  # fmt: skip
        for query, wanted in (("message 149 from charlie", "charlie-149"),
                              ("message 7 from alpha", "alpha-7")):  # fmt: skip
            [hit] = mem.search(query, user_id="u", limit=1).hits
            assert hit.record.sources == (wanted,)


def test_an_exact_lookup_comes_before_the_near_copy_stored_right_after_it(
    tmp_path: Path,
) -> None:
    # As four writers at once store them: each round's messages in some order. The turn after
    # a match gains from it (an answer follows its question), and in this order alpha's
    # "message 149" came right after charlie's and ranked above it.
    rounds = [("alpha", "bravo", "charlie", "delta")] * 149 + [("charlie", "alpha", "bravo",
                                                                "delta")]  # fmt: skip
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        for i, names in enumerate(rounds):
            mem.add([{"id": f"{name}-{i}", "text": f"message {i} from {name}"}
                     for name in names], user_id="u")  # fmt: skip
        [hit] = mem.search("message 149 from charlie", user_id="u", limit=1).hits
        assert hit.record.sources == ("charlie-149",)
        budgeted = mem.search("Message 149, from Charlie", user_id="u", budget=200).hits
        assert budgeted[0].record.sources == ("charlie-149",)


def test_a_question_asked_again_does_not_outrank_its_answer(tmp_path: Path) -> None:
    # An assistant's store keeps what its user asked: the question asked again matches its own
    # earlier asking word for word, which says nothing the asker does not know.
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        mem.add(["My favourite colour is teal, since I was a kid.",
                 "We went hiking in the hills last weekend.",
                 "What is my favourite colour?",
                 "Where do I keep the spare key?",
                 "The spare key is under the blue flowerpot by the door."],
                user_id="u")  # fmt: skip
        for query, wanted in (("What is my favourite colour?", "teal"),
                              ("what is my favourite colour", "teal"),
                              ("Where do I keep the spare key", "flowerpot")):  # fmt: skip
            [hit] = mem.search(query, user_id="u", limit=1).hits
            assert wanted in hit.record.text, query
            packed = mem.search(query, user_id="u", budget=300).hits
            assert wanted in packed[0].record.text, query
        # Asked before and never answered: the earlier asking is still found.
        hits = mem.search("Where do I keep the spare key?", user_id="u", limit=5).hits
        assert "Where do I keep the spare key?" in [h.record.text for h in hits]


def test_what_a_speaker_says_again_in_one_session_is_found_once(tmp_path: Path) -> None:
    # Sent five times, a message would fill a short list and a small budget with itself and
    # leave out the newer message that answers.
    with Memory(tmp_path / "m.db", embedder="hashing") as mem:
        mem.add([{"text": "I live in Lisbon with my cat.", "speaker": "Ana"}] * 5
                + [{"text": "I moved to Porto last month, the new flat is great.",
                    "speaker": "Ana"},
                   {"text": "I live in Lisbon with my cat.", "speaker": "Ben"},
                   {"text": "My office is in Braga.", "speaker": "Ana"}],
                user_id="u")  # fmt: skip
        for hits in (mem.search("where do I live", user_id="u", limit=3).hits,
                     mem.search("where do I live", user_id="u", budget=300).hits):  # fmt: skip
            said = [(h.record.actor, h.record.text) for h in hits]
            assert said.count(("Ana", "I live in Lisbon with my cat.")) == 1, said
            assert ("Ben", "I live in Lisbon with my cat.") in said, said
            assert any("Porto" in text for _, text in said), said
        # Every copy is kept, and a list wants them all.
        assert len(mem.search("where do I live", user_id="u", limit=10).hits) == 4
        assert len(mem.list(user_id="u", limit=20).records) == 8
        # Two users' "user" are two people: across users, each one's message counts.
        for user in ("ada", "bo"):
            mem.add([{"text": "I live in Lisbon with my cat.", "speaker": "user"}] * 2,
                    user_id=user, agent_id="bot")  # fmt: skip
        hits = mem.search("who lives in Lisbon", agent_id="bot", limit=5).hits
        assert sorted(h.record.scope.user_id for h in hits) == ["ada", "bo"]
        # Said in another session, the same words tell of another time.
        for day in ("2024-03-01", "2024-03-02", "2024-03-03"):
            mem.add({"text": "Went for a run along the river.", "speaker": "Ana",
                     "timestamp": f"{day}T07:00:00Z"}, user_id="u")  # fmt: skip
        runs = mem.search("how often did Ana go for a run", user_id="u", limit=5).hits
        assert [h.record.text for h in runs].count("Went for a run along the river.") == 3


def test_a_fresh_process_answers_without_scanning_the_scope(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(chat(300), user_id="u")
        mem.add({"text": "The spare key is under the blue flowerpot."}, user_id="u")
    with Memory(db, embedder="hashing") as fresh:

        def refuse(scope: Scope) -> object:
            raise AssertionError("a search scanned the scope")

        monkeypatch.setattr(fresh.store, "scan", refuse)
        hits = fresh.search("where is the spare key?", user_id="u", limit=1).hits
        assert "flowerpot" in hits[0].record.text


def test_another_process_writes_are_found_on_the_next_search(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(chat(100), user_id="u")
        assert mem.search("quetzal", user_id="u", limit=5).hits[0].record.text != ""
        add_script(str(db), "u", "We saw a quetzal in the cloud forest.")
        hits = mem.search("quetzal", user_id="u", limit=1).hits
        assert "quetzal" in hits[0].record.text


def test_a_write_to_one_scope_leaves_another_scopes_cache(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(chat(50), user_id="x")
        mem.add(chat(50), user_id="y")
        store = mem.store
        assert isinstance(store, SQLiteStore)
        mem.search("chess", user_id="y")
        cached = store._indexes.get(Scope(user_id="y"))
        assert cached is not None
        add_script(str(db), "x", "A new message in scope x about chess.")  # another process
        mem.add({"text": "And one more in x, from this process."}, user_id="x")
        mem.search("chess", user_id="y")
        assert store._indexes.get(Scope(user_id="y")) is cached
        mem.search("chess", user_id="x")  # x's own index sees both writes
        assert (
            mem.search("from this process", user_id="x", limit=1)
            .hits[0]
            .record.text.startswith("And one more")
        )


def test_the_vector_cache_keeps_within_its_bound(tmp_path: Path) -> None:
    limit = 200_000
    store = SQLiteStore(tmp_path / "m.db", cache_bytes=limit)
    with Memory(store=store, embedder="hashing") as mem:
        for i in range(6):
            mem.add(chat(60), user_id=f"user{i}")
            mem.search("jazz", user_id=f"user{i}")
            assert store._indexes.bytes <= limit or len(store._indexes) == 1
        assert len(store._indexes) < 6


def test_a_store_of_the_previous_schema_is_migrated_and_counted_in(
    tmp_path: Path, sqlite_back_to: Callable[[Path, int], None]
) -> None:
    db = tmp_path / "old.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(chat(200), user_id="u")
        mem.add({"text": "The wifi password is on the fridge."}, user_id="u")
        expected = mem.store.scope_stats(Scope(user_id="u"), ["wifi", "jazz"])
    sqlite_back_to(db, 1)  # no figures, no expiry
    with Memory(db, embedder="hashing") as mem:
        stats = mem.store.scope_stats(Scope(user_id="u"), ["wifi", "jazz"])
        assert (stats.memories, stats.tokens, stats.sessions, dict(stats.df)) == (
            expected.memories,
            expected.tokens,
            expected.sessions,
            dict(expected.df),
        )
        hits = mem.search("where is the wifi password?", user_id="u", limit=1).hits
        assert "fridge" in hits[0].record.text
        found = mem.store.keyword_search(Scope(user_id="u"), "wifi", Filters(), limit=5)
        assert [r.text for r, _ in found] == ["The wifi password is on the fridge."]


def test_the_cache_bound_is_read_from_the_settings(tmp_path: Path) -> None:
    from memstrata.settings import Settings

    settings = Settings.from_env({"MEMSTRATA_DB": str(tmp_path / "m.db"),
                                  "MEMSTRATA_EMBEDDER": "hashing",
                                  "MEMSTRATA_READ_CACHE_MB": "3"})  # fmt: skip
    with Memory.from_settings(settings) as mem:
        assert isinstance(mem.store, SQLiteStore)
        assert mem.store._indexes.limit + mem.store._memory.pages == 3 * 2**20


def _page_bytes(conn: sqlite3.Connection) -> int:
    """A connection's page cache bound in bytes (``PRAGMA cache_size``: pages, or -KiB)."""
    size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    if size < 0:
        return -size * 1024
    return size * int(conn.execute("PRAGMA page_size").fetchone()[0])


def test_the_read_bound_holds_the_vectors_and_every_connection_s_page_cache(
    tmp_path: Path,
) -> None:
    limit = 8 * 2**20
    store = SQLiteStore(tmp_path / "m.db", cache_bytes=limit)
    with Memory(store=store, embedder="hashing") as mem:
        mem.add(chat(20), user_id="u")
        with store._reader(), store._reader(), store._reader():  # three searches at once
            pass
        assert len(store._reader_conns) == 3
        mem.search("jazz", user_id="u")
        pages = _page_bytes(store._conn) + sum(_page_bytes(c) for c in store._reader_conns)
        assert 0 < pages <= store._memory.pages
        assert store._indexes.limit + store._memory.pages == limit
        # One search connection alone has the readers' whole share.
        alone = SQLiteStore(tmp_path / "n.db", cache_bytes=limit)
        with alone._reader() as conn:
            assert _page_bytes(conn) == alone._memory.pages - _page_bytes(alone._conn)
        alone.close()


SPEAKERS = ("Ana", "Ben", "Cleo")
QUESTIONS = (
    "What dog did Clara adopt?", "When did Ben go sailing?", "What did Cleo say about jazz?",
    "Which photo showed the lake?", "How many times did they talk about chess?",
    "Did Ana like the pottery class last week?", "greyhound Comet", "round 17",
)  # fmt: skip


def varied(n: int) -> list[dict[str, object]]:
    """Turns of a chat with questions, photos, several sentences, dates and keys."""
    out = chat(n)
    for i, turn in enumerate(out):
        turn["speaker"] = SPEAKERS[i % 3]
        if i % 7 == 0:
            turn["text"] = f"Look at this [photo: a lake at dusk, number {i}] from the trip."
        elif i % 5 == 0:
            turn["text"] = f"Did you try {TOPICS[i % 8]}? Dr. Lee said it helps. I agree!"
        elif i % 11 == 0:
            turn["text"] = f"My sister Clara adopted a greyhound named Comet, turn {i}."
    return out


def results(db: Path) -> list[object]:
    """Every hit of each question, plain and within a budget, with its score and signals."""
    out: list[object] = []
    with Memory(db, embedder="hashing") as mem:
        for question in QUESTIONS:
            for budget in (None, 600):
                hits = mem.search(question, user_id="u", limit=8, budget=budget).hits
                out.append([(h.record.id, h.score, h.excerpt, h.signals) for h in hits])
    return out


def stored_terms(db: Path) -> dict[int, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT pk, terms FROM memory_terms").fetchall())


def test_stored_terms_rank_exactly_as_terms_made_from_the_text(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(varied(400), user_id="u")
        store = mem.store
        assert isinstance(store, SQLiteStore)
        with store._read() as tx:
            memories = tx.fetchall("SELECT pk, text FROM memories")
    assert len(stored_terms(db)) == len(memories) == 400
    stored = results(db)
    # The same store without its stored terms: the read path makes them from each text.
    bare = tmp_path / "bare.db"
    shutil.copyfile(db, bare)
    with sqlite3.connect(bare) as conn:
        conn.execute("DELETE FROM memory_terms")
    assert stored == results(bare)
    assert stored_terms(bare) == {}


def test_a_store_of_schema_4_stores_each_memorys_terms_and_ranks_as_before(
    tmp_path: Path, sqlite_back_to: Callable[[Path, int], None]
) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(varied(300), user_id="u")
    before = results(db)
    # Take the file back to schema version 4: no stored terms, figures counted, no epochs.
    sqlite_back_to(db, 4)
    assert results(db) == before
    with Memory(db, embedder="hashing") as mem:
        records = mem.store.list(Scope(user_id="u"), Filters(), limit=1000).records
        with mem.store._read() as tx:  # type: ignore[attr-defined]
            keys = dict(tx.fetchall("SELECT id, pk FROM memories"))
    terms = stored_terms(db)
    assert len(records) == len(terms) == 300
    assert all(terms[keys[r.id]] == encode(terms_of(r), r.text) for r in records)


def test_terms_counted_another_way_are_stored_again_when_the_store_opens(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder="hashing") as mem:
        mem.add(varied(50), user_id="u")
    right = stored_terms(db)
    with sqlite3.connect(db) as conn:  # as under another ``TERMS_VERSION``
        conn.execute("UPDATE memory_terms SET terms = '0\x1e\x1e0 1\x1ex'")
        conn.execute("DELETE FROM meta WHERE key = 'engine_terms'")
    SQLiteStore(db).close()
    assert stored_terms(db) == right


@pytest.mark.parametrize(
    ("question", "speaker", "at"),
    [
        ("What does Cleo think of pottery?", "Cleo", "2024-01-02T09:00:00Z"),
        ("What was said about pottery in March 2024?", "Ana", "2024-03-05T09:00:00Z"),
    ],
)
def test_a_named_person_and_the_question_time_are_searched_by_keywords_too(
    tmp_path: Path, question: str, speaker: str, at: str
) -> None:
    """Without an embedder too: the keyword search alone, too shallow to reach the answer among
    many shorter matches, is searched again among what the person said, or within the time."""
    said = ("After a long week at the office and many errands in town, I find that pottery is "
            "dull and I would rather read.")  # fmt: skip
    with Memory(tmp_path / "k.db", embedder=None) as mem:
        mem.add(chat(200), user_id="u")
        (answer,) = mem.add({"text": said, "speaker": speaker, "timestamp": at}, user_id="u").added
        shallow = Depths(keyword=3, speaker=3, window=3, expand=0, sessions=0)
        found, _ = gather(mem.store, None, Scope(user_id="u"), question,
                          Filters(states=("active",)), datetime.now(UTC), shallow)  # fmt: skip
        assert found is not None and answer.id in {b.id for b in found.briefs}
        plain, _ = gather(mem.store, None, Scope(user_id="u"), "pottery",
                          Filters(states=("active",)), datetime.now(UTC), shallow)  # fmt: skip
        assert plain is not None and answer.id not in {b.id for b in plain.briefs}


def test_what_a_narrower_search_found_lends_its_neighbours_too(tmp_path: Path) -> None:
    """The turn after one that only the named person's search found joins the candidates: in a
    large scope the narrower searches find what the whole scope's searches rank too deep."""
    said = ("After a long week at the office and many errands in town, I find that pottery is "
            "dull and I would rather read.")  # fmt: skip
    with Memory(tmp_path / "n.db", embedder=None) as mem:
        mem.add(chat(200), user_id="u")
        added = mem.add(
            [{"text": said, "speaker": "Cleo", "timestamp": "2024-02-02T09:00:00Z"},
             {"text": "Then try the studio on Elm Street instead.", "speaker": "Ana",
              "timestamp": "2024-02-02T09:01:00Z"}],
            user_id="u",
        ).added  # fmt: skip
        turn, reply = (r.id for r in added)
        shallow = Depths(keyword=3, speaker=3, window=3, expand=10, reach=1, sessions=0)
        found, _ = gather(mem.store, None, Scope(user_id="u"), "What does Cleo think of pottery?",
                          Filters(states=("active",)), datetime.now(UTC), shallow)  # fmt: skip
        assert found is not None
        assert {turn, reply} <= {b.id for b in found.briefs}


def test_candidates_carry_their_stored_vectors_after_searches_and_adds(tmp_path: Path) -> None:
    import numpy as np

    scope, everything = Scope(user_id="u"), Filters(states=("active", "archived", "deleted"))
    with Memory(tmp_path / "vectors.db", embedder="hashing") as mem:
        mem.add(chat(60), user_id="u")
        store = mem.store
        query = mem.embedder.embed(["jazz"], kind="query")[0] if mem.embedder else None
        assert query is not None

        def compare() -> int:
            stored = {r.id: v for r, v in store.scan(scope)}
            keys = [k for k, _ in store.vector_keys(scope, query, everything, limit=1000)]
            placed = store.placed(scope, everything, keys=keys)
            assert len(placed) == len(stored)
            for p in placed:
                assert p.vector is not None and np.array_equal(p.vector, stored[p.record.id])
            _, members = store.sessions(scope, everything, [placed[0].session], members=100)
            for p in members:
                assert p.vector is not None and np.array_equal(p.vector, stored[p.record.id])
            return len(placed)

        assert compare() == 60  # the scope's vector index made by its first search
        mem.add(chat(30, start=60), user_id="u")  # rows the index lacks until brought up
        assert compare() == 90
    with Memory(tmp_path / "vectors.db", embedder="hashing") as mem:  # a fresh process
        store = mem.store
        placed = store.placed(scope, everything, keys=list(range(1, 200)))
        stored = {r.id: v for r, v in store.scan(scope)}
        assert len(placed) == 90
        assert all(np.array_equal(p.vector, stored[p.record.id]) for p in placed)


def test_a_key_that_looks_like_a_day_and_is_none_is_searched_as_a_word(tmp_path: Path) -> None:
    with Memory(tmp_path / "s.db", embedder="hashing") as mem:
        said = mem.add({"text": "Ana likes tea.", "speaker": "Ana"}, user_id="u").added[0]
        mem.remember("Ana likes green tea.", sources=said.sources, keys=["2023-13-01"],
                     user_id="u")  # fmt: skip
        hits = mem.search("What tea does Ana like?", user_id="u", budget=400).hits
        assert "green tea" in " ".join(hit.record.text for hit in hits)


def test_the_question_names_people_among_all_the_scopes_speakers(tmp_path: Path) -> None:
    """The scope has a speaker "Paolo", so a question about him names him, not Paola, even
    where only Paola's turns are candidates: the names are read among the scope's speakers,
    once a search, not among the candidates' (where "Paolo" would pass for a spelling of
    "Paola")."""
    from memstrata.read.features import features

    turns = [{"text": f"I cooked {dish} for the family tonight.", "speaker": speaker,
              "timestamp": f"2024-01-0{1 + i}T09:00:00Z"}
             for i, (speaker, dish) in enumerate([("Paola", "risotto"), ("Paolo", "lasagne"),
                                                  ("Paola", "gnocchi")])]  # fmt: skip
    with Memory(tmp_path / "names.db", embedder=None) as mem:
        mem.add(turns, user_id="u")
        only_paola = Filters(states=("active",), actor="Paola")
        found, _ = gather(mem.store, None, Scope(user_id="u"), "What did Paolo cook?", only_paola,
                          datetime.now(UTC))  # fmt: skip
        assert found is not None and {b.actor for b in found.briefs} == {"Paola"}
        assert found.named == ("Paolo",)
        said = features(found, "What did Paolo cook?", None, datetime.now(UTC))["spk_named"]
        assert not said.any()
