"""What the write path keeps per scope beside the memories, in the store's settings: the people
table (``write.people``) and the profile ledger (``write.profile``), updated with every batch of
episodes (and every fact a model adds or updates) and read back by ``Memory.people`` and
``Memory.profile``.

A ledger is read, updated and written back: two processes adding to one scope at the same
moment can lose each other's counts for that batch (never a memory). ``forget`` erases a scope's
ledgers with its memories.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from memstrata import people
from memstrata.ports import StoredSettings
from memstrata.read.entities import relations_of
from memstrata.results import Person
from memstrata.types import MemoryRecord, Scope
from memstrata.write import profile
from memstrata.write.guard import flagged


def _key(kind: str, scope: Scope) -> str:
    return f"{kind}:" + json.dumps(list(scope.key))


def learn(store: StoredSettings, scope: Scope, records: Sequence[MemoryRecord]) -> None:
    """Fold a batch of new episodes of ``scope`` into its people table and profile ledger."""
    said = [(r.sources[0] if r.sources else r.id, r.actor, r.text) for r in records]
    if any(actor for _, actor, _ in said):
        key = people.key(scope)
        raw = store.get_setting(key)
        tally = people.observe(people.Tally.loads(raw) if raw else people.Tally(), said)
        store.put_setting(key, tally.dumps())
    stated = [
        (source, actor or "user", found, record.valid_from or record.recorded_at)
        for (source, actor, text), record in zip(said, records, strict=True)
        if not flagged(record.metadata) and (found := profile.statements(text))
    ]
    if stated:
        _fold_into_ledger(store, scope, stated)


def _fold_into_ledger(
    store: StoredSettings,
    scope: Scope,
    stated: Sequence[tuple[str, str, Sequence[profile.Statement], datetime]],
) -> None:
    """Read the scope's profile ledger, fold ``stated`` into it (``profile.fold``), write it."""
    key = _key("profile", scope)
    raw = store.get_setting(key)
    ledger = profile.Ledger.loads(raw) if raw else profile.Ledger()
    store.put_setting(key, profile.fold(ledger, stated).dumps())


def learn_facts(store: StoredSettings, scope: Scope, facts: Sequence[MemoryRecord]) -> None:
    """Fold what a model's facts of ``scope`` state through their relations into its profile
    ledger: each relation's subject is the person (the speaker whose name or alias it is, when
    one is known), each fact's messages its sources."""
    said = []
    for record in facts:
        for subject, predicate, value in relations_of(record):
            found = profile.relation_statement(predicate, value)
            if found is not None and subject.strip():
                said.append((record, subject.strip(), found))
    if said:
        known = people.stored(store, scope)  # read only when a fact states something
        stated = [
            (source, _person(subject, known), [found], record.valid_from or record.recorded_at)
            for record, subject, found in said
            for source in record.sources or (record.id,)
        ]
        _fold_into_ledger(store, scope, stated)


def _person(subject: str, known: Sequence[Person]) -> str:
    """The speaker a fact's subject names (by label or alias), else the subject itself; "user"
    for the user without a name, as the rules call a message without a speaker."""
    if subject.casefold() == "user":
        return "user"
    for person in known:
        if any(people.same_name(subject, name) for name in person.names):
            return person.name
    return subject


def people_of(store: StoredSettings, scope: Scope) -> list[Person]:
    """The people of exactly ``scope``, most talkative first."""
    return people.stored(store, scope)


def ledger_of(store: StoredSettings, scope: Scope) -> profile.Ledger:
    """The profile ledger of exactly ``scope``."""
    raw = store.get_setting(_key("profile", scope))
    return profile.Ledger.loads(raw) if raw else profile.Ledger()


def forget(store: StoredSettings, scopes: Sequence[Scope]) -> None:
    """Erase the ledgers of ``scopes`` (their memories were reset)."""
    for scope in scopes:
        store.put_setting(people.key(scope), "")
        store.put_setting(_key("profile", scope), "")
