"""One API suite, run twice: on an embedded ``Memory`` and on a ``RemoteMemory`` talking to a
real REST server (uvicorn on 127.0.0.1) over the same kind of store."""

from __future__ import annotations

import inspect
import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_type_hints

import pytest

from memstrata import (
    AddResult,
    ConfigurationError,
    ConfirmationRequiredError,
    ConflictError,
    Filters,
    HistoryEvent,
    Hit,
    InvalidInputError,
    Memory,
    MemoryRecord,
    Message,
    NotFoundError,
    Page,
    RemoteMemory,
    ScopeRequiredError,
    SearchResult,
    StoreError,
)
from memstrata.ports import Store
from memstrata.server.auth import create_key
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.write.pipeline import PipelineReport

Mem = Any  # Memory or RemoteMemory: the same interface


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    """One server for the module; each test gets a tenant of its own (a new API key)."""
    app = create_app(tmp_path_factory.mktemp("remote") / "m.db", embedder="hashing",
                     require_keys=True)  # fmt: skip
    with running(app) as url:
        yield url, app.state.tenants.store


@pytest.fixture(params=["embedded", "remote"])
def mem(request: pytest.FixtureRequest, db_path: Path, server: tuple[str, Store]) -> Iterator[Mem]:
    if request.param == "embedded":
        with Memory(db_path, embedder="hashing") as memory:
            yield memory
        return
    url, store = server
    key = create_key(store, f"tenant-{uuid.uuid4().hex}")
    with RemoteMemory(url, api_key=key.secret) as remote:
        yield remote


def conversation(mem: Mem) -> AddResult:
    result: AddResult = mem.add(
        [
            {
                "id": "m1",
                "speaker": "Ada",
                "text": "I moved to Lisbon in May",
                "timestamp": "2026-05-03T10:00:00Z",
                "metadata": {"topic": "travel"},
            },
            {"id": "m2", "role": "assistant", "text": "Lisbon is lovely in spring"},
            Message(text="My cat is called Pixel", id="m3", speaker="Ada"),
        ],
        user_id="ada",
        metadata={"session": 1},
    )
    return result


# -- the interface ---------------------------------------------------------------------------------
def test_remote_memory_has_the_methods_and_signatures_of_memory() -> None:
    def methods(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and not name.startswith("_") and name != "from_settings"
        }

    local, remote = methods(Memory), methods(RemoteMemory)
    assert set(local) == set(remote)
    for name, signature in local.items():
        twin = remote[name]
        assert list(twin.parameters) == list(signature.parameters), name
        for param, spec in signature.parameters.items():
            other = twin.parameters[param]
            assert (other.kind, other.default) == (spec.kind, spec.default), (name, param)
        returns = get_type_hints(getattr(RemoteMemory, name)).get("return")
        assert returns == get_type_hints(getattr(Memory, name)).get("return"), name


# -- write and read --------------------------------------------------------------------------------
def test_add_then_get_returns_the_same_records(mem: Mem) -> None:
    result = conversation(mem)
    assert isinstance(result, AddResult) and len(result.added) == 3
    first = result.added[0]
    assert isinstance(first, MemoryRecord)
    assert first.sources == ("m1",) and first.actor == "Ada" and first.kind == "episode"
    assert first.valid_from == datetime(2026, 5, 3, 10, tzinfo=UTC)
    assert first.metadata["session"] == 1
    assert mem.get(first.id, user_id="ada") == first
    again = mem.add({"id": "m1", "text": "I moved to Lisbon in May"}, user_id="ada")
    assert again.added == () and again.duplicates == ("m1",)


def test_search_returns_hits_with_signals_and_honours_filters(mem: Mem) -> None:
    added = conversation(mem)
    result = mem.search("what is the cat called", user_id="ada", limit=2)
    assert isinstance(result, SearchResult) and isinstance(result[0], Hit)
    assert result[0].text == "My cat is called Pixel" and result.query == "what is the cat called"
    assert result[0].signals and len(result.search_id) == 32
    assert result[0].record == mem.get(result[0].id, user_id="ada")
    may = mem.search(
        "Lisbon", user_id="ada", since="2026-05-01T00:00:00Z", until=datetime(2026, 5, 31)
    )
    assert [h.id for h in may] == [added.ids[0]]
    nothing = mem.search("Lisbon", user_id="ada", filters=Filters(kinds=("fact",)))
    assert len(nothing) == 0
    by_actor = mem.search("Lisbon", user_id="ada", filters=Filters(actor="assistant"))
    assert [h.id for h in by_actor] == [added.ids[1]]
    assert len(mem.search("Lisbon", user_id="bob")) == 0


def test_a_budgeted_search_returns_excerpts_that_fit(mem: Mem) -> None:
    text = "We hiked all day in the rain. The trail was muddy. My cat is called Pixel."
    mem.add({"speaker": "Ada", "text": text}, user_id="ada")
    [hit] = mem.search("what is the cat called", user_id="ada", budget=60)
    assert hit.excerpt == "My cat is called Pixel." and len(hit.context) <= 60
    assert hit.context.endswith(hit.excerpt) and hit.text == text


def test_with_a_budget_the_budget_decides_how_many_hits_and_a_limit_only_when_given(
    mem: Mem,
) -> None:
    mem.add([f"Ada's cat number {i} is called Pixel {i}." for i in range(15)], user_id="ada")
    assert len(mem.search("what is the cat called", user_id="ada")) == 10
    packed = mem.search("what is the cat called", user_id="ada", budget=4000)
    assert len(packed) == 15  # all fit: no count caps what the budget holds
    assert len(mem.search("what is the cat called", user_id="ada", limit=3, budget=4000)) == 3
    with pytest.raises(InvalidInputError):
        mem.search("cat", user_id="ada", limit=0, budget=4000)


def test_list_pages_through_every_memory_newest_first(mem: Mem) -> None:
    ids = mem.add([f"note number {i}" for i in range(7)], user_id="ada").ids
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = mem.list(user_id="ada", limit=3, cursor=cursor)
        assert isinstance(page, Page)
        seen += [r.id for r in page.records]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3 and seen == list(reversed(ids))
    mem.delete(ids[0], user_id="ada")
    assert ids[0] not in [r.id for r in mem.list(user_id="ada").records]
    deleted = mem.list(user_id="ada", states=["deleted"]).records
    assert [r.id for r in deleted] == [ids[0]]
    assert len(mem.list(user_id="ada", states=[]).records) == 7


def test_update_versions_history_and_conflicts(mem: Mem) -> None:
    memory_id = conversation(mem).ids[0]
    new = mem.update(memory_id, "I moved to Porto in June", user_id="ada", reason="corrected")
    assert new.version == 2 and new.text == "I moved to Porto in June"
    versions = mem.versions(memory_id, user_id="ada")
    assert [v.text for v in versions] == ["I moved to Lisbon in May", "I moved to Porto in June"]
    assert all(isinstance(v, MemoryRecord) for v in versions)
    with pytest.raises(ConflictError):
        mem.update(memory_id, "stale", user_id="ada", expected_version=1)
    mem.delete(memory_id, user_id="ada", reason="moved again")
    assert memory_id not in [h.id for h in mem.search("Porto", user_id="ada")]
    assert mem.restore(memory_id, user_id="ada").state == "active"
    assert mem.archive(memory_id, user_id="ada").state == "archived"
    history = mem.history(memory_id, user_id="ada")
    assert all(isinstance(e, HistoryEvent) for e in history)
    assert [e.op for e in history] == ["ADD", "UPDATE", "DELETE", "RESTORE", "ARCHIVE"]
    assert history[1].previous_text == "I moved to Lisbon in May"
    assert history[1].reason == "corrected" and history[2].reason == "moved again"


def test_sources_and_scopes(mem: Mem) -> None:
    memory_id = conversation(mem).ids[0]
    (message,) = mem.sources(memory_id, user_id="ada")
    assert isinstance(message, Message)
    assert (message.id, message.speaker, message.text) == ("m1", "Ada", "I moved to Lisbon in May")
    assert message.timestamp == datetime(2026, 5, 3, 10, tzinfo=UTC)
    assert dict(message.metadata) == {"topic": "travel"}
    mem.add("hello", agent_id="helper")
    scopes = {(s["user_id"], s["agent_id"]): s for s in mem.scopes()}
    assert scopes[("ada", None)]["memories"] == 3
    assert isinstance(scopes[("ada", None)]["last_recorded"], datetime)
    assert scopes[(None, "helper")]["active"] == 1


def test_remember_feedback_and_maintain(mem: Mem) -> None:
    conversation(mem)
    fact = mem.remember(
        "Ada lives in Lisbon", user_id="ada", sources=["m1"], entities=["Ada", "Lisbon"]
    )
    assert fact.kind == "fact" and fact.sources == ("m1",)
    assert mem.get(fact.id, user_id="ada") == fact
    with pytest.raises(InvalidInputError):
        mem.remember("no such source", user_id="ada", sources=["nope"])
    result = mem.search("where does Ada live", user_id="ada", limit=3)
    done = mem.feedback(result.search_id, [result[0].id], user_id="ada")
    assert (done.used, done.unused) == (1, len(result) - 1)
    with pytest.raises(NotFoundError):
        mem.feedback("0" * 32, [], user_id="ada")
    assert mem.maintain(user_id="ada", dry_run=True) == []


def test_as_of_reads_the_past_and_reprocess_needs_a_model(mem: Mem) -> None:
    memory_id = conversation(mem).ids[0]
    then = mem.get(memory_id, user_id="ada").recorded_at
    mem.update(memory_id, "I moved to Porto in June", user_id="ada")
    assert mem.get(memory_id, user_id="ada", as_of=then).text == "I moved to Lisbon in May"
    assert mem.get(memory_id, user_id="ada").text == "I moved to Porto in June"
    with pytest.raises(NotFoundError):
        mem.get(memory_id, user_id="ada", as_of="2000-01-01T00:00:00Z")
    past = mem.search("moved", user_id="ada", as_of=then)
    assert [h.text for h in past if h.id == memory_id] == ["I moved to Lisbon in May"]
    with pytest.raises(ConfigurationError):
        mem.reprocess(user_id="ada")
    report = mem.reprocess(user_id="ada", dry_run=True)
    assert isinstance(report, PipelineReport) and report.errors == []


def test_export_reset_and_import_round_trip(mem: Mem, tmp_path: Path) -> None:
    added = conversation(mem)
    mem.update(added.ids[0], "I moved to Porto", user_id="ada")
    before = [(r, mem.versions(r.id, user_id="ada")) for r in mem.list(user_id="ada").records]
    out = tmp_path / "ada.jsonl"
    assert mem.export(out, user_id="ada") == 3
    stream = io.StringIO()
    assert mem.export(stream, user_id="ada") == 3
    assert stream.getvalue() == out.read_text(encoding="utf-8")
    with pytest.raises(ConflictError):
        mem.import_(out)
    with pytest.raises(ConfirmationRequiredError):
        mem.reset(user_id="ada")
    assert mem.reset(user_id="ada", confirm=True) == 3
    assert mem.list(user_id="ada").records == ()
    assert mem.import_(io.StringIO(out.read_text(encoding="utf-8"))) == 3
    after = [(r, mem.versions(r.id, user_id="ada")) for r in mem.list(user_id="ada").records]
    assert after == before
    with pytest.raises(InvalidInputError):
        mem.import_(io.StringIO('{"type": "memory"}\n'))


def test_a_reset_that_spans_users_needs_all_users(mem: Mem) -> None:
    mem.add("Ada's note to the bot", user_id="ada", agent_id="bot")
    mem.add("Bob's note to the bot", user_id="bob", agent_id="bot")
    mem.add("Bob's note to another bot", user_id="bob", agent_id="other")
    with pytest.raises(ConfirmationRequiredError, match=r"2 users.*all_users=True"):
        mem.reset(agent_id="bot", confirm=True)
    assert len(mem.list(agent_id="bot").records) == 2  # nothing was erased
    assert mem.reset(agent_id="bot", user_id="bob", confirm=True) == 1  # one user: no flag
    mem.add("Bob's second note to the bot", user_id="bob", agent_id="bot")
    assert mem.reset(agent_id="bot", confirm=True, all_users=True) == 2
    assert mem.list(agent_id="bot").records == ()
    assert len(mem.list(user_id="bob").records) == 1  # another agent's memory stays


def test_purge_needs_confirmation_then_erases(mem: Mem) -> None:
    memory_id = conversation(mem).ids[0]
    with pytest.raises(ConfirmationRequiredError):
        mem.purge(memory_id, user_id="ada")
    mem.purge(memory_id, user_id="ada", confirm=True)
    with pytest.raises(NotFoundError):
        mem.get(memory_id, user_id="ada")


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda m: m.add("no scope"), ScopeRequiredError),
        (lambda m: m.search("no scope"), ScopeRequiredError),
        (lambda m: m.add("", user_id="ada"), InvalidInputError),
        (lambda m: m.add([], user_id="ada"), InvalidInputError),
        (lambda m: m.add("x" * 32_001, user_id="ada"), InvalidInputError),
        (lambda m: m.add({"txt": "typo"}, user_id="ada"), InvalidInputError),
        (lambda m: m.add("x", user_id="ada", timestamp="not a date"), InvalidInputError),
        (lambda m: m.search("x", user_id="ada", limit=0), InvalidInputError),
        (lambda m: m.search("x", user_id="ada", limit=5000), InvalidInputError),
        (lambda m: m.search("x", user_id="ada", kinds=["nope"]), InvalidInputError),
        (lambda m: m.search("x", user_id="ada", metadata={"a b": 1}), InvalidInputError),
        (lambda m: m.list(user_id="ada", cursor="not-a-cursor"), InvalidInputError),
        (lambda m: m.get("0" * 32, user_id="ada"), NotFoundError),
        (lambda m: m.get("x" * 300, user_id="ada"), NotFoundError),
        (lambda m: m.history("0" * 32, user_id="ada"), NotFoundError),
        (lambda m: m.versions("0" * 32, user_id="ada"), NotFoundError),
        (lambda m: m.sources("0" * 32, user_id="ada"), NotFoundError),
        (lambda m: m.delete("0" * 32, user_id="ada"), NotFoundError),
        (lambda m: m.restore("0" * 32, user_id="ada"), NotFoundError),
        (lambda m: m.update("0" * 32, "x", user_id="ada"), NotFoundError),
        (lambda m: m.update("0" * 32, user_id="ada"), InvalidInputError),
        (lambda m: m.remember("x", kind="episode", user_id="ada"), InvalidInputError),
    ],
)
def test_errors_have_the_same_types(mem: Mem, call: Any, error: type[Exception]) -> None:
    mem.add("something", user_id="ada")
    with pytest.raises(error) as caught:
        call(mem)
    assert type(caught.value) is error
    assert str(caught.value)


def test_another_scope_cannot_see_a_memory(mem: Mem) -> None:
    memory_id = conversation(mem).ids[0]
    with pytest.raises(NotFoundError):
        mem.get(memory_id, user_id="bob")
    with pytest.raises(NotFoundError):
        mem.update(memory_id, "mine now", user_id="bob")


# -- remote only -----------------------------------------------------------------------------------
def test_remote_records_equal_the_embedded_records_of_the_same_store(db_path: Path) -> None:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, RemoteMemory(url) as remote:
        added = conversation(remote)
        remote.update(added.ids[0], "I moved to Porto", user_id="ada", reason="fix")
        with Memory(db_path, embedder="hashing") as local:
            for memory_id in added.ids:
                assert remote.get(memory_id, user_id="ada") == local.get(memory_id, user_id="ada")
                assert remote.versions(memory_id, user_id="ada") == local.versions(
                    memory_id, user_id="ada"
                )
                assert remote.history(memory_id, user_id="ada") == local.history(
                    memory_id, user_id="ada"
                )
                assert remote.sources(memory_id, user_id="ada") == local.sources(
                    memory_id, user_id="ada"
                )
            remote_hits = remote.search("Porto Lisbon cat", user_id="ada")
            local_hits = local.search("Porto Lisbon cat", user_id="ada")
            assert [h.record for h in remote_hits] == [h.record for h in local_hits]


def test_an_unreachable_server_is_a_store_error() -> None:
    with RemoteMemory("http://127.0.0.1:9", timeout=2) as remote, pytest.raises(StoreError):
        remote.get("x", user_id="ada")


def test_export_lines_are_json(db_path: Path) -> None:
    app = create_app(db_path, embedder="hashing")
    with running(app) as url, RemoteMemory(url) as remote:
        conversation(remote)
        stream = io.StringIO()
        remote.export(stream, user_id="ada")
        kinds = [json.loads(line)["type"] for line in stream.getvalue().splitlines()]
        assert kinds[0] == "header" and kinds.count("memory") == 3


class InProcess:
    """A transport of our own: each request is run by an embedded ``Memory``."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.verbs: list[str] = []

    def handle(self, request: Any) -> Any:
        self.verbs.append(request.verb)
        return getattr(self.memory, request.verb)(**request.arguments, **request.scope)

    def close(self) -> None:
        self.memory.close()


def test_the_client_hands_every_call_to_its_transport(db_path: Path) -> None:
    transport = InProcess(Memory(db_path, embedder="hashing"))
    with RemoteMemory(transport=transport) as mem:
        added = mem.add("I moved to Lisbon in May", user_id="ada")
        (hit,) = mem.search("Lisbon", user_id="ada", limit=1)
        assert hit.id == added.added[0].id
        assert mem.get(hit.id, user_id="ada").text == "I moved to Lisbon in May"
        with pytest.raises(TypeError, match="user"):
            mem.list(user="ada")  # type: ignore[call-arg]
    assert transport.verbs == ["add", "search", "get"]
