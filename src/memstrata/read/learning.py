"""Feedback and the learned reranker's persistence: the store-facing side of ``read.rerank``.

The reranker is kept per store: one global model per tenant and, for scope adaptation, one per
scope, blended into the global one in proportion to how much feedback the scope has given. The
scope's setting also holds its lessons (``read.lessons``): which memories answered which of its
questions, so that feedback lifts a memory for questions like the one it came from only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from memstrata.errors import InvalidInputError, NotFoundError, ReadOnlyStoreError
from memstrata.lifecycle.strength import DEFAULT_POLICY, LifecyclePolicy, reinforce
from memstrata.ports import (
    Embedder,
    Lifecycle,
    RecordReads,
    SearchLog,
    StoredSettings,
    Vector,
)
from memstrata.read.lessons import MAX_LESSONS, MAX_USED, Lessons
from memstrata.read.lexical import query_terms
from memstrata.read.rerank import Features, LinearReranker, hit_features
from memstrata.results import FeedbackResult
from memstrata.types import KEEP_SEARCHES, Hit, Scope


class FeedbackStore(SearchLog, StoredSettings, RecordReads, Lifecycle, Protocol):
    """What feedback uses of a store: the kept search, the memories it returned, their
    strength, and the learned models."""


#: Feedback pairs after which a scope's own model counts as much as the global one.
SCOPE_HALF_WEIGHT_PAIRS = 50


def _global_key(scope: Scope) -> str:
    return f"reranker:{scope.tenant}"


def _scope_key(scope: Scope) -> str:
    parts = (scope.tenant, scope.user_id or "", scope.agent_id or "", scope.run_id or "")
    return "reranker-scope:" + json.dumps(parts)


def setting_keys(scope: Scope) -> tuple[str, str]:
    """The settings that hold what feedback taught for ``scope``: its tenant's reranker model,
    then the scope's own model and lessons (``memstrata migrate`` copies them)."""
    return _global_key(scope), _scope_key(scope)


def checked_feedback(data: object) -> str:
    """What feedback taught a scope (its model and lessons, as ``feedback`` keeps them) from
    outside the store, such as an export's ``settings`` item: checked and written as the store
    keeps it, or ``InvalidInputError`` saying what is wrong. A lesson's vector that does not
    decode is dropped (its question still matches by terms), as a search reads it."""
    if not isinstance(data, Mapping) or set(data) - {"weights", "updates", "lessons"}:
        raise InvalidInputError("feedback must be an object of weights, updates and lessons")
    weights, updates = data.get("weights", {}), data.get("updates", 0)
    if not isinstance(weights, Mapping) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in weights.values()
    ):
        raise InvalidInputError("feedback's 'weights' must map names to finite numbers")
    if not _count(updates):
        raise InvalidInputError("feedback's 'updates' must be a whole number, not negative")
    if data.get("lessons") is not None:
        _check_lessons(data["lessons"])
    return json.dumps(_as_kept({**data, "weights": weights, "updates": updates}))


def stored_feedback(raw: str) -> dict[str, Any]:
    """What feedback taught a scope as the store keeps it (``raw``), read as a search reads it
    (what does not parse reads as nothing): so that ``checked_feedback`` takes it back."""
    data = json.loads(raw)
    return _as_kept(data if isinstance(data, Mapping) else {})


def _as_kept(data: Mapping[str, Any]) -> dict[str, Any]:
    """Feedback's model and lessons as ``feedback`` keeps them, read as a search reads them."""
    model = LinearReranker.from_dict(data)
    weights = {n: w for n, w in model.weights.items() if math.isfinite(w)}
    lessons = data.get("lessons")
    embedder = lessons.get("embedder") if isinstance(lessons, Mapping) else None
    read = Lessons.from_dict(lessons, embedder if isinstance(embedder, str) else None)
    return {**replace(model, weights=weights).to_dict(), "lessons": read.to_dict()}


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_lessons(data: object) -> None:
    what = "feedback's 'lessons'"
    if not isinstance(data, Mapping) or set(data) - {"embedder", "items"}:
        raise InvalidInputError(f"{what} must be an object of embedder and items")
    items = data.get("items", [])
    if not isinstance(data.get("embedder"), str | None) or not isinstance(items, list):
        raise InvalidInputError(f"{what} need an embedder's name (or null) and a list of items")
    if len(items) > MAX_LESSONS:
        raise InvalidInputError(f"{what} hold at most {MAX_LESSONS} items")
    for item in items:
        if (
            not isinstance(item, Mapping)
            or set(item) - {"terms", "vector", "used"}
            or not isinstance(item.get("terms"), list)
            or not all(isinstance(t, str) for t in item["terms"])
            or not isinstance(item.get("vector"), str | None)
            or not isinstance(item.get("used"), Mapping)
            or not all(_count(n) for n in item["used"].values())
            or len(item["used"]) > MAX_USED
        ):
            raise InvalidInputError(
                f"each of {what} is an object of terms (words), vector (base64 or null) and "
                f"used (at most {MAX_USED} memory ids, and how often each was used)"
            )


def _read(store: StoredSettings, key: str) -> dict[str, object] | None:
    raw = store.get_setting(key)
    data = None if raw is None else json.loads(raw)
    return data if isinstance(data, dict) else None


def _load(store: StoredSettings, key: str, base: LinearReranker) -> LinearReranker:
    data = _read(store, key)
    if data is None:
        return LinearReranker(weights=dict(base.weights))
    return LinearReranker.from_dict(data).anchored(base.weights)


@dataclass(frozen=True, slots=True)
class Learned:
    """What feedback taught, as a search in one scope uses it."""

    model: LinearReranker
    lessons: Lessons


def learned_for(
    store: StoredSettings, scope: Scope, base: LinearReranker, embedder: str | None
) -> Learned:
    """The model a search in ``scope`` uses (global, blended with the scope's own) and the
    scope's lessons, read for vectors of ``embedder`` (its name)."""
    global_model = _load(store, _global_key(scope), base)
    local = _read(store, _scope_key(scope))
    if local is None:
        return Learned(global_model, Lessons())
    scope_model = LinearReranker.from_dict(local).anchored(base.weights)
    share = scope_model.updates / (scope_model.updates + SCOPE_HALF_WEIGHT_PAIRS)
    lessons = Lessons.from_dict(local.get("lessons"), embedder)
    return Learned(global_model.blended(scope_model, share), lessons)


def rerank(
    hits: Sequence[Hit], learned: Learned, query: str, vector: Vector | None, now: datetime
) -> tuple[list[Hit], list[Features]]:
    """Hits reordered by the model, with the features each was scored on. ``vector`` is the
    query's embedding (``None`` without one)."""
    asked = learned.lessons.asked(vector, query_terms(query)) if learned.lessons.items else {}
    features = [
        hit_features(hit, rank, now, asked.get(hit.id, 0.0))
        for rank, hit in enumerate(hits, start=1)
    ]
    order = learned.model.rank(features)
    return [hits[i] for i in order], [features[i] for i in order]


#: A ``Memory`` forgets the searches older than it keeps them (``keep_searches``) on its first
#: save, then every this many saves, at most ``PRUNE_AT_ONCE`` at a time: the log stays within
#: its time without a scheduled ``maintain``, and no save waits long for it.
PRUNE_SEARCHES_EVERY = 100
PRUNE_AT_ONCE = 1000


def save_search(
    store: SearchLog,
    scope: Scope,
    search_id: str,
    query: str,
    hits: Sequence[Hit],
    features: Sequence[Features],
    now: datetime,
    *,
    keep: timedelta = KEEP_SEARCHES,
    prune: bool = False,
) -> None:
    """Keep what a search returned so ``feedback`` can refer to it, for ``keep`` (nothing when
    that is 0); with ``prune``, forget up to ``PRUNE_AT_ONCE`` searches older than that. A
    read-only store keeps nothing, so feedback on its searches is not possible."""
    if keep <= timedelta(0):
        return
    with suppress(ReadOnlyStoreError):
        ids = [hit.id for hit in hits]
        store.save_search(scope, search_id, now, search_payload(query, ids, features))
        if prune:
            store.prune_searches(now - keep, limit=PRUNE_AT_ONCE)


#: The significant digits a kept search holds of each feature: far finer than what learning
#: (steps of a tenth of a difference of features) can tell apart.
KEPT_DIGITS = 6


def search_payload(query: str, ids: Sequence[str], features: Sequence[Features]) -> dict[str, Any]:
    """A search as the store keeps it: its hits' ``ids``, the names of the features any of them
    has, and each hit's values under those names (``None`` where it has none), to
    ``KEPT_DIGITS`` digits. A budgeted search of about 50 hits takes about 3.4 kB this way; as
    a list of one object a hit (what stores kept before), 7.7 kB."""
    names = sorted({name for f in features for name in f})
    return {
        "query": query,
        "ids": list(ids),
        "names": names,
        "values": [[_kept(f[n]) if n in f else None for n in names] for f in features],
    }


def _kept(value: float) -> float:
    return float(f"{value:.{KEPT_DIGITS}g}")


def returned_hits(search: Mapping[str, Any]) -> dict[str, Features]:
    """The features of each hit a kept search returned, by id, in the order returned; as
    ``search_payload`` keeps them, or as a list of hits (what stores kept before)."""
    if "hits" in search:
        return {str(h["id"]): dict(h["features"]) for h in search["hits"]}
    names = search["names"]
    return {
        str(i): {n: float(v) for n, v in zip(names, row, strict=True) if v is not None}
        for i, row in zip(search["ids"], search["values"], strict=True)
    }


def feedback(
    store: FeedbackStore,
    scope: Scope,
    search_id: str,
    used: Sequence[str],
    unused: Sequence[str] | None,
    now: datetime,
    base: LinearReranker,
    policy: LifecyclePolicy = DEFAULT_POLICY,
    *,
    embedder: Embedder | None = None,
) -> FeedbackResult:
    """Strengthen the used memories, teach the rerankers that used beats unused, and keep the
    lesson that the used memories answer the search's question (embedded with ``embedder``)."""
    search = store.load_search(scope, search_id)
    if search is None:
        raise NotFoundError(f"no search {search_id!r} in scope {scope}")
    returned = returned_hits(search)
    unknown = (set(used) | set(unused or ())) - set(returned)
    if unknown:
        raise InvalidInputError(
            f"these ids were not returned by search {search_id}: {', '.join(sorted(unknown))}"
        )
    if unused is None:
        unused = [i for i in returned if i not in set(used)]
    records = store.get_many(scope, list(used))
    reinforced = []
    for record in records:
        change = reinforce(record, now, policy)
        reinforced.append(
            replace(record, strength=change.strength, recall_count=change.recall_count,
                    layer=change.layer, last_recalled=change.last_recalled)
        )  # fmt: skip
    store.set_lifecycle(scope, reinforced)
    good = [returned[i] for i in used]
    bad = [returned[i] for i in unused]
    global_model = _load(store, _global_key(scope), base)
    local = _read(store, _scope_key(scope)) or {}
    # A scope's own model starts as a copy of the global one, then learns only its own pairs.
    scope_model = (
        LinearReranker.from_dict(local).anchored(base.weights)
        if local
        else LinearReranker(weights=dict(global_model.weights))
    )
    pairs = global_model.learn(good, bad, prior=base.weights)
    scope_model.learn(good, bad, prior=base.weights)
    name = None if embedder is None else embedder.name
    lessons = Lessons.from_dict(local.get("lessons"), name)
    query = str(search.get("query", ""))
    if used:
        vector = embedder.embed([query], kind="query")[0] if embedder and query else None
        lessons.learn(vector, query_terms(query), list(used), name)
    store.put_setting(_global_key(scope), json.dumps(global_model.to_dict()))
    store.put_setting(
        _scope_key(scope), json.dumps({**scope_model.to_dict(), "lessons": lessons.to_dict()})
    )
    return FeedbackResult(used=len(good), unused=len(bad), pairs=pairs)
