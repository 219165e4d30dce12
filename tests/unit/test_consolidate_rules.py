"""The pure decisions of the LLM write path: drafts, duplicates, review, plans, new versions,
A-MEM notes and links, entity keys and weights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memstrata.graph import entity_key, entity_weights, graph_of, query_keys, triples
from memstrata.ports import Entity, Triple
from memstrata.prompts import consolidate as prompt
from memstrata.prompts import extract_facts
from memstrata.read.search import bm25
from memstrata.types import Hit, MemoryRecord, Message, Scope, Signal
from memstrata.write import consolidate, link
from memstrata.write.extract import FactDraft, build_input, drafts

AT = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
SCOPE = Scope(user_id="ana")


def fact(text: str, **changes: object) -> MemoryRecord:
    base: dict[str, object] = {
        "id": "f1", "scope": SCOPE, "kind": "fact", "text": text, "sources": ("m1",),
        "subject": "Ana", "entities": ("Ana",), "valid_from": AT - timedelta(days=30),
        "metadata": {"text_hash": consolidate.text_hash(text)},
    }  # fmt: skip
    base.update(changes)
    return MemoryRecord(**base)  # type: ignore[arg-type]


def hit(record: MemoryRecord, vector: float | None = None, keyword: int | None = None) -> Hit:
    signals = {}
    if vector is not None:
        signals["vector"] = Signal(rank=1, score=vector)
    if keyword is not None:
        signals["keyword"] = Signal(rank=keyword, score=1.0)
    return Hit(record=record, score=0.1, signals=signals)


# -- extraction drafts ----------------------------------------------------------------------------

MESSAGES = [
    Message(id="m1", speaker="Ana", text="I moved to Lisbon last week!", timestamp=AT),
    Message(id="m2", speaker="Ben", text="Nice. I still live in Porto.", timestamp=AT),
]


def test_build_input_shows_messages_with_ids_speakers_and_times() -> None:
    data = build_input(MESSAGES, today=AT.date(), known_entities=["Ana"])
    assert [m.id for m in data.messages] == ["m1", "m2"]
    assert data.messages[0].timestamp == "2024-05-02T09:30:00"
    assert data.known_entities == ["Ana"]


def test_drafts_parse_times_and_fall_back_to_the_message_time() -> None:
    output = extract_facts.Output.model_validate(
        {
            "facts": [
                {"text": "Ana moved to Lisbon.", "sources": ["m1"], "valid_from": "2024-04-25",
                 "relations": [["Ana", "Lives In", "Lisbon"]], "entities": ["Ana"]},
                {"text": "Ben lives in Porto.", "sources": ["m2"], "flags": ["uncertain"],
                 "importance": 0.5},
                {"text": "Nobody said this.", "sources": ["m9"]},
            ]
        }
    )  # fmt: skip
    first, second = drafts(output, MESSAGES)
    assert first.valid_from == datetime(2024, 4, 25, tzinfo=UTC) and first.time_from == "model"
    assert first.actor == "Ana" and first.relations == (("Ana", "lives_in", "Lisbon"),)
    assert first.entities == ("Ana", "Lisbon")  # relation ends are entities too
    assert second.valid_from == AT and second.time_from == "message"
    assert second.importance == pytest.approx(0.3)  # an uncertain fact counts less


def test_drafts_drop_an_end_before_the_start() -> None:
    output = extract_facts.Output.model_validate(
        {"facts": [{"text": "x", "sources": ["m1"], "valid_from": "2024-05", "valid_to": "2023"}]}
    )
    (draft,) = drafts(output, MESSAGES)
    assert draft.valid_to is None


# -- duplicates -----------------------------------------------------------------------------------


@given(st.sampled_from(["Ana lives in Porto.", "ana LIVES in porto", "Ana  lives in Porto!"]))
def test_text_hash_ignores_case_spacing_and_punctuation(text: str) -> None:
    assert consolidate.text_hash(text) == consolidate.text_hash("Ana lives in Porto")


def test_a_restated_fact_is_a_noop_or_merges_new_sources() -> None:
    stored = fact("Ana lives in Porto.")
    same = FactDraft("Ana lives in Porto", ("m1",))
    assert consolidate.duplicate_plan(same, stored, "exact duplicate").op == "NOOP"
    again = FactDraft("Ana lives in Porto", ("m1", "m7"))
    plan = consolidate.duplicate_plan(again, stored, "exact duplicate")
    assert plan.op == "UPDATE" and plan.text is None and "m7" in plan.reason
    assert consolidate.merged(stored, again, plan.text).sources == ("m1", "m7")


# -- what a model is asked about ------------------------------------------------------------------


def test_review_needs_more_than_a_shared_subject() -> None:
    draft = FactDraft("Ana lives in Lisbon.", ("m1",), subject="Ana", entities=("Ana", "Lisbon"),
                      relations=(("Ana", "lives_in", "Lisbon"),))  # fmt: skip
    same_subject = fact("Ana likes tea.", id="a")
    same_place = fact("Ana's sister visited Lisbon.", id="b", entities=("Ana", "Lisbon"))
    same_claim = fact("Ana lives in Porto.", id="c", entities=("Ana", "Porto"),
                      metadata={"relations": [["Ana", "lives_in", "Porto"]]})  # fmt: skip
    close = fact("Ana resides in the capital.", id="d")
    far_place = fact("Trams run in Lisbon.", id="e", subject="Trams", entities=("Trams", "Lisbon"))
    similar = [hit(same_subject, 0.3), hit(same_place, 0.45), hit(same_claim, 0.1),
               hit(close, 0.8), hit(far_place, 0.1)]  # fmt: skip
    shown = consolidate.to_review(draft, similar, threshold=0.75, limit=5)
    assert [r.id for r in shown] == ["b", "c", "d"]
    assert consolidate.to_review(draft, similar, threshold=0.75, limit=2) == shown[:2]
    keyword_only = [hit(far_place, keyword=1), hit(same_subject, keyword=2)]
    assert [r.id for r in consolidate.to_review(draft, keyword_only, threshold=0.75, limit=5)] == [
        "e"
    ]  # without vectors, a shared entity is enough


def test_prompt_input_shows_dates() -> None:
    draft = FactDraft("Ana lives in Lisbon.", ("m1",), valid_from=AT)
    task = consolidate.prompt_input(draft, [fact("Ana lives in Porto.")], AT.date())
    assert task.fact_valid_from == "2024-05-02"
    assert task.memories[0].valid_from == "2024-04-02"


# -- the model's proposal, checked ----------------------------------------------------------------

OLD = fact("Ana lives in Porto.", id="old")
NEW = FactDraft("Ana lives in Lisbon.", ("m2",), subject="Ana", valid_from=AT)


@pytest.mark.parametrize(
    ("resolution", "op"),
    [
        (prompt.Resolution("ADD"), "ADD"),
        (prompt.Resolution("UPDATE", "old", "Ana lives in Porto and Lisbon."), "UPDATE"),
        (prompt.Resolution("INVALIDATE", "old"), "INVALIDATE"),
        (prompt.Resolution("NOOP", "old"), "NOOP"),
        (prompt.Resolution("INVALIDATE", "never-shown"), "ADD"),
    ],
)
def test_plan_follows_a_valid_proposal(resolution: prompt.Resolution, op: str) -> None:
    plan = consolidate.plan(resolution, NEW, [OLD])
    assert plan.op == op and plan.asked
    if op != "ADD":
        assert plan.target == OLD


def test_an_older_fact_never_invalidates_a_newer_one() -> None:
    old_news = FactDraft("Ana lived in Faro.", ("m3",), valid_from=AT - timedelta(days=400))
    plan = consolidate.plan(prompt.Resolution("INVALIDATE", "old"), old_news, [OLD])
    assert plan.op == "ADD" and "predates" in plan.reason


def test_an_update_without_text_merges_sources_only() -> None:
    plan = consolidate.plan(prompt.Resolution("UPDATE", "old", "  "), NEW, [OLD])
    assert plan.op == "UPDATE" and plan.text is None


def test_merged_unites_provenance_keys_entities_and_relations() -> None:
    draft = FactDraft("x", ("m2",), importance=0.9, entities=("Lisbon",), keywords=("home",),
                      relations=(("Ana", "lives_in", "Lisbon"),))  # fmt: skip
    new = consolidate.merged(OLD, draft, "Ana lives in Porto and Lisbon.")
    assert new.text == "Ana lives in Porto and Lisbon."
    assert new.sources == ("m1", "m2") and new.entities == ("Ana", "Lisbon")
    assert new.importance == 0.9 and new.keys == ("home",)
    assert new.metadata["relations"] == [["Ana", "lives_in", "Lisbon"]]
    assert new.metadata["text_hash"] == consolidate.text_hash(new.text)
    assert new.id == OLD.id and new.version == OLD.version  # the store numbers versions


def test_invalidated_ends_the_old_fact_where_the_new_one_starts() -> None:
    now = AT + timedelta(hours=1)
    retired = consolidate.invalidated(OLD, at=now, valid_to=AT)
    assert retired.valid_to == AT and retired.expired_at == now
    assert retired.text == OLD.text
    assert consolidate.expired(retired, now) and not consolidate.expired(OLD, now)
    undated = consolidate.invalidated(OLD, at=now, valid_to=None)
    assert undated.valid_to == now
    never_before_start = consolidate.invalidated(OLD, at=now, valid_to=AT - timedelta(days=99))
    assert never_before_start.valid_to == OLD.valid_from


# -- A-MEM notes ----------------------------------------------------------------------------------


def test_note_keys_tags_and_context() -> None:
    draft = FactDraft("Ana moved to Lisbon.", ("m1", "m2"), keywords=("move", "Lisbon"),
                      entities=("Ana", "lisbon"), relations=(("Ana", "lives_in", "Lisbon"),),
                      flags=("uncertain",))  # fmt: skip
    assert link.keys(draft) == ("move", "Lisbon", "Ana")
    assert link.tags(draft) == ["lives_in", "uncertain"]
    line = link.context_line(draft, {m.id or "": m for m in MESSAGES})
    assert line == 'Ana, Ben, 2024-05-02: "I moved to Lisbon last week!" (+1 more)'
    long = Message(id="m3", speaker="Ana", text="word " * 100, timestamp=AT)
    assert len(link.context_line(FactDraft("x", ("m3",)), {"m3": long})) <= link.CONTEXT_CHARS


def test_links_go_to_close_memories_and_to_the_superseded_fact() -> None:
    related = [hit(fact("a", id="a"), 0.9), hit(fact("b", id="b"), 0.2), hit(fact("c", id="c"))]
    found = link.links_for("new", related, threshold=0.5, limit=3, at=AT, supersedes="old")
    assert [(x.target, x.kind) for x in found] == [("old", "supersedes"), ("a", "related")]
    by_keyword = [hit(fact("k", id="k"), keyword=1), hit(fact("z", id="z"), keyword=5)]
    assert [x.target for x in link.links_for("new", by_keyword, threshold=0.5, limit=3, at=AT)] == [
        "k"
    ]


def test_evolve_extends_a_linked_notes_context_once() -> None:
    note = fact("Ana lives in Lisbon.", metadata={"context": "Ana, 2024-05-02"})
    new = fact("Ana's flat in Lisbon has a balcony.", id="n2")
    evolved = link.evolve(note, new)
    assert evolved is not None
    assert evolved.metadata["context"].endswith("later: Ana's flat in Lisbon has a balcony.")
    assert evolved.metadata["evolved_by"] == ["n2"]
    assert link.evolve(evolved, new) is None


# -- entities ------------------------------------------------------------------------------------


def test_entity_keys_normalise_names() -> None:
    assert entity_key("The Lisbon Zoo") == entity_key("lisbon zoo's") == "lisbon zoo"
    assert entity_key("Caroline's") == "caroline"
    assert entity_key("the") == "the"


def test_query_keys_are_word_runs_without_stop_words_at_the_edges() -> None:
    keys = query_keys("When did Caroline go to the LGBTQ support group?")
    assert "caroline" in keys and "lgbtq support group" in keys
    assert "the lgbtq" not in keys and "when" not in keys


def test_graph_of_keys_entities_and_triples() -> None:
    names, found = graph_of(["Ana", "ana", "Lisbon"], [("Ana", "has pet", "Biscuit")])
    assert [e.key for e in names] == ["ana", "lisbon", "biscuit"]
    assert found == [Triple("ana", "Ana", "has_pet", "biscuit", "Biscuit")]
    assert triples([("", "x", "y")]) == []


def test_entity_weights_favour_rare_entities_and_halve_neighbours() -> None:
    found = [Entity("caroline", "Caroline", 300), Entity("lgbtq support group", "LGBTQ", 1)]
    near = [Triple("caroline", "Caroline", "has_pet", "oscar", "Oscar")]
    weights = entity_weights(found, near)
    assert weights["lgbtq support group"] == 1.0
    assert weights["caroline"] < 0.2
    assert weights["oscar"] == pytest.approx(weights["caroline"] / 2)


def test_bm25_ranks_the_document_with_the_query_terms() -> None:
    scores = bm25(["Ana lives in Lisbon", "Ben likes tea", "Lisbon, Lisbon, and Lisbon"], "Lisbon")
    assert scores[1] == 0.0 and scores[0] > 0 and scores[2] > scores[0]
    assert bm25([], "x") == [] and bm25(["a"], "") == [0.0]
