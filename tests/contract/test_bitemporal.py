"""System time through ``Memory`` on each store: every change is stamped by the injected clock,
and every version and history row keeps ``recorded_at <= expired_at``, ``valid_from <=
valid_to`` and time order, whatever the operations and however the clock moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memstrata import InvalidInputError, Memory
from memstrata.ports import FixedClock, Store
from memstrata.types import Scope, new_id
from memstrata.write import consolidate

T0 = datetime(2021, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_changes_are_stamped_by_the_injected_clock_and_as_of_sees_them(store: Store) -> None:
    clock = FixedClock(T0)
    mem = Memory(store, embedder="hashing", clock=clock)
    (porto,) = mem.add({"id": "m1", "text": "Ana lives in Porto"}, user_id="ana").ids
    for hours, change in ((1, "update"), (2, "delete"), (3, "restore"), (4, "archive")):
        clock.at = T0 + hours * HOUR
        if change == "update":
            mem.update(porto, "Ana lives in Lisbon", user_id="ana")
        else:
            getattr(mem, change)(porto, user_id="ana")

    assert [(e.op, e.at) for e in mem.history(porto, user_id="ana")] == [
        ("ADD", T0), ("UPDATE", T0 + HOUR), ("DELETE", T0 + 2 * HOUR),
        ("RESTORE", T0 + 3 * HOUR), ("ARCHIVE", T0 + 4 * HOUR),
    ]  # fmt: skip
    old, new = mem.versions(porto, user_id="ana")
    assert (old.recorded_at, old.expired_at, new.recorded_at) == (T0, T0 + HOUR, T0 + HOUR)

    def found(at: datetime) -> list[str]:
        return [h.text for h in mem.search("where does Ana live", user_id="ana", as_of=at)]

    assert found(T0 + HOUR / 2) == ["Ana lives in Porto"]
    assert found(T0 + HOUR) == ["Ana lives in Lisbon"]
    assert found(T0 + 2.5 * HOUR) == []  # deleted then
    assert found(T0 + 3.5 * HOUR) == ["Ana lives in Lisbon"]  # restored
    assert found(T0 + 5 * HOUR) == []  # archived
    assert mem.get(porto, user_id="ana", as_of=T0 + HOUR / 2).text == "Ana lives in Porto"
    assert mem.get(porto, user_id="ana", as_of=T0 + HOUR).text == "Ana lives in Lisbon"


@dataclass
class Run:
    """One random sequence of operations on a scope of its own, with the clock's readings."""

    store: Store
    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    user: str = field(default_factory=new_id)
    ids: list[str] = field(default_factory=list)
    readings: set[datetime] = field(default_factory=lambda: {T0})

    def __post_init__(self) -> None:
        self.mem = Memory(self.store, embedder=None, clock=self.clock)
        self.scope = Scope(user_id=self.user)

    def step(self, op: str, pick: int, micros: int) -> None:
        self.clock.at += timedelta(microseconds=micros)
        self.readings.add(self.clock.at)
        now, user = self.clock.at, self.user
        if op == "add" or not self.ids:
            self.ids += self.mem.add(f"note {len(self.ids)}", user_id=user).ids
            return
        memory_id = self.ids[pick % len(self.ids)]
        if op == "update":
            self.mem.update(memory_id, f"note {memory_id} as of {now}", user_id=user)
        elif op == "invalidate":  # what the LLM write path does with a contradicted fact
            current = self.store.get(self.scope, memory_id)
            retired = consolidate.invalidated(current, at=now, valid_to=None)
            self.store.update(self.scope, retired, at=now, expected_version=current.version,
                              op="INVALIDATE")  # fmt: skip
        elif op in ("delete", "restore", "archive"):
            getattr(self.mem, op)(memory_id, user_id=user)
        else:  # "valid": a validity window that may end before it starts
            end = now + timedelta(microseconds=micros)
            before = self.mem.versions(memory_id, user_id=user)
            if end < now:
                with pytest.raises(InvalidInputError, match="valid_to"):
                    self.mem.update(memory_id, valid_from=now, valid_to=end, user_id=user)
                assert self.mem.versions(memory_id, user_id=user) == before
            else:
                self.mem.update(memory_id, valid_from=now, valid_to=end, user_id=user)

    def check(self) -> None:
        for memory_id in self.ids:
            versions = self.mem.versions(memory_id, user_id=self.user)
            history = self.mem.history(memory_id, user_id=self.user)
            assert [v.version for v in versions] == list(range(1, len(versions) + 1))
            for v in versions:
                assert v.recorded_at in self.readings
                assert v.expired_at is None or v.recorded_at <= v.expired_at
                assert v.valid_from is None or v.valid_to is None or v.valid_from <= v.valid_to
            for older, newer in pairwise(versions):
                assert older.expired_at is not None
                assert older.recorded_at <= older.expired_at <= newer.recorded_at
            times = [e.at for e in history]
            assert times == sorted(times) and set(times) <= self.readings
            assert all(e.at >= versions[e.version - 1].recorded_at for e in history)
            writes = [(e.version, e.at) for e in history if e.op in ("ADD", "UPDATE", "INVALIDATE")]
            assert writes == [(v.version, v.recorded_at) for v in versions]
            for v in versions:
                then = self.mem.get(memory_id, user_id=self.user, as_of=v.recorded_at)
                assert then.recorded_at == v.recorded_at and then.version >= v.version


OPS = ("add", "update", "invalidate", "delete", "restore", "archive", "valid")
#: Clock steps in microseconds: standing still (often), forward, and back.
STEPS = st.sampled_from([0, 0, 0, 1, 250_000, 3_600_000_000, -1, -90_000_000])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 7), STEPS), max_size=25))
def test_every_version_and_history_row_keeps_system_time_in_order(
    store: Store, steps: list[tuple[str, int, int]]
) -> None:
    run = Run(store)
    for op, pick, micros in steps:
        run.step(op, pick, micros)
    run.check()
