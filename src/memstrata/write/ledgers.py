"""What the write path keeps per scope beside the memories, in the store's settings: the people
table (``write.people``) and the profile ledger (``write.profile``), updated with every batch of
episodes (and every fact a model adds or updates) and read back by ``Memory.people`` and
``Memory.profile``.

A ledger is read, updated and written back: two processes adding to one scope at the same
moment can lose each other's counts for that batch (never a memory). The profile ledger is kept a
person to a setting, with a roll of the people who have one, so a batch reads and writes only
its speakers' traits: what an add costs does not grow with the scope (a scope's whole ledger in
one setting, as earlier stores kept it, is read as it is and split on the scope's next add).
``forget`` erases a scope's ledgers with its memories.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from datetime import datetime

from memstrata import people
from memstrata.ports import StoredSettings
from memstrata.read.entities import relations_of
from memstrata.results import Person, Trait
from memstrata.types import MemoryRecord, Scope
from memstrata.write import profile
from memstrata.write.guard import flagged

#: The tallies this process wrote last, by their text: the next add of a scope reads back the
#: text it wrote and need not decode it again (a scope where a hundred people talk has a tally
#: of hundreds of kB). Looked up by the whole text, so a tally another process wrote since is
#: decoded afresh.
_WRITTEN: dict[str, people.Tally] = {}
_WRITTEN_KEPT = 8
_WRITTEN_LOCK = threading.Lock()


def _tally(raw: str) -> people.Tally:
    found = _WRITTEN.get(raw)
    return people.Tally.loads(raw) if found is None else found


def _remember(text: str, tally: people.Tally) -> None:
    with _WRITTEN_LOCK:
        _WRITTEN[text] = tally
        while len(_WRITTEN) > _WRITTEN_KEPT:
            del _WRITTEN[next(iter(_WRITTEN))]


def _key(kind: str, scope: Scope) -> str:
    return f"{kind}:" + json.dumps(list(scope.key))


def _person_key(scope: Scope, person: str) -> str:
    return "profile-of:" + json.dumps([*scope.key, person], ensure_ascii=False)


def _roll(store: StoredSettings, scope: Scope) -> list[str]:
    """The people of ``scope`` with a profile setting of their own."""
    raw = store.get_setting(_key("profile-people", scope))
    return [str(p) for p in json.loads(raw)] if raw else []


def _whole(store: StoredSettings, scope: Scope) -> profile.Ledger:
    """The whole-scope profile ledger an earlier store kept (empty once split)."""
    raw = store.get_setting(_key("profile", scope))
    return profile.Ledger.loads(raw) if raw else profile.Ledger()


def learn(store: StoredSettings, scope: Scope, records: Sequence[MemoryRecord]) -> None:
    """Fold a batch of new episodes of ``scope`` into its people table and profile ledger."""
    said = [(r.sources[0] if r.sources else r.id, r.actor, r.text) for r in records]
    if any(actor for _, actor, _ in said):
        key = people.key(scope)
        raw = store.get_setting(key)
        tally = people.observe(_tally(raw) if raw else people.Tally(), said)
        text = tally.dumps()
        store.put_setting(key, text)
        _remember(text, tally)
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
    """Fold ``stated`` into the profiles of the people it names (``profile.fold``): read and
    write theirs alone, in one transaction."""
    persons = list(dict.fromkeys(person for _, person, _, _ in stated))
    roll, whole = _roll(store, scope), _whole(store, scope)
    before = {p: _traits(store, scope, p, roll, whole) for p in persons}
    after = profile.fold(profile.Ledger({p: ts for p, ts in before.items() if ts}), stated)
    writes = {_person_key(scope, p): profile.dump_traits(after.traits.get(p, ())) for p in persons}
    if whole.traits:  # an earlier store's whole ledger: the others' traits move to their keys
        for person, traits in whole.traits.items():
            writes.setdefault(_person_key(scope, person), profile.dump_traits(traits))
        writes[_key("profile", scope)] = ""
    grown = [p for p in dict.fromkeys([*whole.traits, *persons]) if p not in roll]
    if grown:
        writes[_key("profile-people", scope)] = json.dumps([*roll, *grown], ensure_ascii=False)
    store.put_settings(writes)


def _traits(
    store: StoredSettings, scope: Scope, person: str, roll: Sequence[str], whole: profile.Ledger
) -> tuple[Trait, ...]:
    if person not in roll:
        return tuple(whole.traits.get(person, ()))
    return profile.load_traits(store.get_setting(_person_key(scope, person)) or "")


def learn_imported(store: StoredSettings, records: Sequence[MemoryRecord]) -> None:
    """Fold imported memories into their scopes' people tables and profile ledgers, as the
    verbs that wrote them folded them (an export holds the messages, not what was learned from
    them): each scope's episodes in the order given, then the relations its other memories
    state."""
    by_scope: dict[Scope, list[MemoryRecord]] = {}
    for record in records:
        by_scope.setdefault(record.scope, []).append(record)
    for scope, found in by_scope.items():
        episodes = [r for r in found if r.kind == "episode"]
        if episodes:
            learn(store, scope, episodes)
        learn_facts(store, scope, [r for r in found if r.kind != "episode"])


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
    roll, whole = _roll(store, scope), _whole(store, scope)
    traits = dict(whole.traits)
    for person in roll:
        traits[person] = _traits(store, scope, person, roll, whole)
    return profile.Ledger({p: ts for p, ts in traits.items() if ts})


def kept_keys(store: StoredSettings, scope: Scope) -> list[str]:
    """The settings that hold the ledgers of exactly ``scope`` (for a copy of the store)."""
    kinds = ("profile", "profile-people")
    return [
        people.key(scope),
        *(_key(k, scope) for k in kinds),
        *(_person_key(scope, p) for p in _roll(store, scope)),
    ]


def forget(store: StoredSettings, scopes: Sequence[Scope]) -> None:
    """Erase the ledgers of ``scopes`` (their memories were reset)."""
    for scope in scopes:
        store.put_settings(dict.fromkeys(kept_keys(store, scope), ""))
