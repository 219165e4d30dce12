"""The change feed over every store: each change once, in order, within its tenant and scope."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from memstrata import AsyncMemory, Memory
from memstrata.ports import Store


@pytest.fixture
def mem(store: Store) -> Iterator[Memory]:
    yield Memory(store, embedder="hashing")


def test_every_change_is_in_the_feed_once_in_order(mem: Memory) -> None:
    first, second = mem.add(["I live in Porto", "I like tea"], user_id="ada").added
    mem.add("hello", user_id="bob")
    mem.update(first.id, "I live in Lisbon", user_id="ada")
    mem.delete(second.id, user_id="ada")
    mem.restore(second.id, user_id="ada")
    feed = mem.changes(user_id="ada")
    assert [(c.op, c.memory_id, c.version) for c in feed] == [
        ("ADD", first.id, 1),
        ("ADD", second.id, 1),
        ("UPDATE", first.id, 2),
        ("DELETE", second.id, 1),
        ("RESTORE", second.id, 1),
    ]
    assert all(c.scope is not None and c.scope.user_id == "ada" for c in feed)
    assert [c.id for c in feed] == sorted({c.id for c in feed})
    # Resuming from an id gives what came after it; the whole tenant without a scope.
    assert mem.changes(user_id="ada", after=feed[2].id) == feed[3:]
    assert len(mem.changes()) == 6
    assert [c.op for c in mem.changes(user_id="bob")] == ["ADD"]
    assert len(mem.changes(limit=2)) == 2


def test_a_tenant_sees_only_its_own_changes(mem: Memory) -> None:
    other = Memory(mem.store, embedder="hashing", tenant="acme")
    other.add("secret plans", user_id="ada")
    mem.add("hello", user_id="ada")
    assert [c.op for c in mem.changes()] == ["ADD"]
    assert [c.scope.tenant for c in other.changes() if c.scope] == ["acme"]


def test_follow_yields_what_was_there_then_what_comes(mem: Memory) -> None:
    mem.add("one", user_id="ada")
    seen = []
    for change in mem.follow(user_id="ada", poll=0.01, until=lambda: len(seen) >= 2):
        seen.append(change)
        if len(seen) == 1:
            mem.add("two", user_id="ada")
    assert [c.op for c in seen] == ["ADD", "ADD"]


def test_the_async_twin_follows_too(store: Store) -> None:
    async def main() -> list[str]:
        mem = AsyncMemory(store, embedder="hashing")
        await mem.add("one", user_id="ada")
        seen: list[str] = []
        async for change in mem.follow(user_id="ada", poll=0.01, until=lambda: len(seen) >= 2):
            seen.append(change.op)
            if len(seen) == 1:
                await mem.add("two", user_id="ada")
        return seen

    assert asyncio.run(main()) == ["ADD", "ADD"]
