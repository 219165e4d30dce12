"""The default read pipeline, one path for a scope of any size (DESIGN §5).

parse the query (terms, time window, named speakers) → **candidates** from the store's own
indexes: keywords (full-text search) and the vector (ANN / pgvector), both again within the
question's time window and among what each named speaker said (by meaning, what the question
asks of them: its vector without their names) → **expand** them with
the neighbouring turns (two before, two after) of the best, and the other turns of the best
sessions (the narrower searches and the expansions go deeper in a larger scope: ``Depths.at``) →
**features** of every unit (sentence) of the candidates (``read.features``), with scope-wide
statistics (term document frequencies, lengths, session sizes and vectors) that the write path
keeps in the store (``ports.ScopeFigures``) → a linear score per unit → the best memories, or a
context packed within a budget (``read.pack``).

Nothing here scans a scope or holds one in memory: each search reads a few indexed queries'
worth, so a fresh process answers its first search as a warm one does, and another process's
writes show on the next search. Each candidate's tokens (``terms.terms_of``) come with it from
the store, which wrote them with the memory (``ports.Placed.stored``), and are read for all the
candidates at once (``terms.spread``): a search cuts and stems no candidate's text, and keeps
nothing between searches. The ranker reads what it needs of the candidates' records (their
``Brief``s) as columns, read from the store's rows all at once (``ports.Placed.columns``); the
whole record is made only for what the search returns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from memstrata import people
from memstrata.ports import (
    Placed,
    ScopeStats,
    Searchable,
    SessionKey,
    SessionStats,
    StoredSettings,
    Vector,
)
from memstrata.read.candidates import Arrays, Candidates, Docs, Pieces, ScopedBM25, SessionDocs
from memstrata.read.embedding import Embed, QueryVector, resolve
from memstrata.read.features import DEFAULT_WEIGHTS, best_of, features, unit_scores
from memstrata.read.lexical import query_terms
from memstrata.read.pack import groups, origin, pack, said_again
from memstrata.read.temporal import parse_query_time
from memstrata.terms import days, moment, prefix_lengths, spread
from memstrata.types import Filters, Hit, MemoryRecord, Scope, Signal

#: The signals a hit's explanation lists: the graded ones (binary features have no useful rank).
EXPLAINED = ("bm25", "t_bm25", "dense", "prf", "cov", "s_bm25", "s_dense", "tmax", "win")


@dataclass(frozen=True, slots=True)
class Depths:
    """How many candidates each source gives, and how far they are expanded."""

    keyword: int = 100
    vector: int = 100
    #: The searches (keyword and vector) within the question's time window, and among what
    #: each named speaker said.
    window: int = 50
    speaker: int = 50
    #: The best candidates (by reciprocal rank in all the searches above) whose neighbours
    #: join, and how many turns away on each side.
    expand: int = 40
    reach: int = 2
    #: The best sessions whose other turns join, and at most how many turns of each.
    sessions: int = 3
    session_members: int = 50
    #: A scope of up to ``small`` memories is searched this deep; the narrower searches and the
    #: expansions go twice as deep at ``large`` memories and beyond, log-linearly between: the
    #: more memories compete, the lower the evidence ranks in them. The whole scope's keyword
    #: and vector searches keep their depth: twice as deep, they cost a fifth of a search at
    #: 100,000 memories and kept no more evidence within the budget (docs/benchmarks.md).
    small: int = 10_000
    large: int = 100_000

    def at(self, memories: int) -> Depths:
        """These depths for a scope of ``memories`` memories."""
        if memories <= self.small:
            return self
        grow = 1.0 + min(1.0, math.log(memories / self.small) / math.log(self.large / self.small))
        return replace(self, **{name: round(getattr(self, name) * grow) for name in _GROWN})


#: The depths that ``Depths.at`` grows with the scope.
_GROWN = ("window", "speaker", "expand", "sessions")
DEPTHS = Depths()


def aliases_of(store: Any, scope: Scope) -> dict[str, tuple[str, ...]]:
    """The other names the scope's speakers go by (``people``), when the store keeps them."""
    if not callable(getattr(store, "get_setting", None)):
        return {}
    return people.aliases(people.stored(cast(StoredSettings, store), scope))


def _rrf(rankings: Sequence[Sequence[int]], k: float = 60.0) -> dict[int, float]:
    out: dict[int, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            out[key] = out.get(key, 0.0) + 1.0 / (k + rank + 1)
    return out


def gather(
    store: Searchable,
    vector: QueryVector,
    scope: Scope,
    query: str,
    filters: Filters,
    now: datetime,
    depths: Depths = DEPTHS,
    embed: Embed | None = None,
) -> tuple[Candidates | None, ScopeStats]:
    """The candidates of a search and the scope's statistics (``None``: nothing found). A
    speaker counts as named by the question under any of the names they go by. ``vector`` is
    asked for once the keyword searches are done. ``embed`` embeds the question without the
    names of the people it names (``people.names_in``), while the keyword searches run: the
    searches among what each of them said take that vector, and so do the features' matches
    by meaning (``Candidates.unnamed``). Among one person's words their name tells nothing
    apart, and a name pulls a vector towards every text that says it (a greeting, a
    namesake); who is named, the speaker features say. Without ``embed``, all take
    ``vector``."""
    terms = query_terms(query)
    stats = store.scope_stats(scope, terms)
    if stats.memories == 0:
        return None, stats
    depths = depths.at(stats.memories)
    aliases = aliases_of(store, scope)
    speakers, asked = people.names_in(query, stats.speakers, aliases)
    named = tuple(speakers)
    unnamed: QueryVector = None
    if named and embed is not None and asked and asked != query:
        unnamed = embed(asked)
    rankings: dict[str, list[int]] = {}

    def keys_of(found: list[tuple[int, float]]) -> list[int]:
        return [key for key, _ in found]

    # The whole scope's searches, then again within the question's time window and among what
    # each person it names said, by keywords and by meaning: in a large scope the answer ranks
    # deep in the searches of all. (A name, the filters, the keyword and the vector depths.)
    searches = [("", filters, depths.keyword, depths.vector)]
    for name, narrowed, depth in _narrowed(query, filters, now, named, depths):
        searches.append((f"{name}:", narrowed, depth, depth))
    # The keyword searches first: the query's vector may still be being made.
    for name, only, depth, _ in searches:
        rankings[f"{name}keyword"] = keys_of(store.keyword_keys(scope, query, only, limit=depth))
    made = resolve(vector)
    bare = resolve(unnamed)
    if made is not None:
        for name, only, _, depth in searches:
            theirs = bare if bare is not None and name.startswith("speaker:") else made
            rankings[f"{name}vector"] = keys_of(store.vector_keys(scope, theirs, only, limit=depth))
    keys = list(dict.fromkeys(key for ranking in rankings.values() for key in ranking))
    if not keys:
        return None, stats
    placed = {p.key: p for p in store.placed(scope, filters, keys=keys)}
    # The best by reciprocal rank in every search, the narrower ones too: in a large scope they
    # find what the whole scope's searches rank too deep to be among their best.
    fused = _rrf(list(rankings.values()))
    best = sorted((placed[k] for k in fused if k in placed), key=lambda p: -fused[p.key])
    # Neighbouring turns of the best, ``reach`` deep on each side.
    frontier = best[: depths.expand]
    for _ in range(depths.reach):
        wanted = {k for p in frontier for k in (p.prev, p.next) if k is not None} - placed.keys()
        if not wanted:
            break
        found = store.placed(scope, filters, keys=sorted(wanted))
        placed.update((p.key, p) for p in found)
        frontier = found

    # The other turns of the best sessions; then every candidate session's statistics.
    top_sessions: list[SessionKey] = []
    for p in best:
        if p.session is not None and p.session not in top_sessions:
            top_sessions.append(p.session)
            if len(top_sessions) >= depths.sessions:
                break
    if top_sessions:
        _, members = store.sessions(scope, filters, top_sessions, members=depths.session_members,
                                    known=placed.keys())  # fmt: skip
        placed.update((p.key, p) for p in members if p.key not in placed)
    sessions = sorted({p.session for p in placed.values() if p.session is not None})
    session_stats, _ = store.sessions(scope, filters, sessions)
    ordered = [placed[k] for k in sorted(placed)]
    candidates = build(ordered, stats, session_stats,
                       lambda more: store.term_counts(scope, more))  # fmt: skip
    candidates.aliases, candidates.named, candidates.unnamed = aliases, named, bare
    return candidates, stats


def _narrowed(
    query: str,
    filters: Filters,
    now: datetime,
    named: Sequence[str],
    depths: Depths,
) -> list[tuple[str, Filters, int]]:
    """The narrower searches of a question (a name, their filters, their depth): within its
    time window (where the filters allow), and among what each speaker it ``named`` said
    (unless the filters name one already)."""
    out = []
    window = parse_query_time(query, now).window
    if window is not None:
        # The window within the filters' own bounds: the later start, the earlier end.
        since = max((t for t in (window.start, filters.since) if t is not None), default=None)
        until = min((t for t in (window.end, filters.until) if t is not None), default=None)
        out.append(("window", replace(filters, since=since, until=until), depths.window))
    if filters.actor is None:
        for name in named:
            out.append((f"speaker:{name}", replace(filters, actor=name), depths.speaker))
    return out


def build(
    placed: Sequence[Placed],
    stats: ScopeStats,
    session_stats: Mapping[SessionKey, SessionStats],
    lookup: Any = None,
    allowed: Sequence[bool] | None = None,
) -> Candidates:
    """The candidates' columns, in the order given (the order memories were stored)."""
    df = dict(stats.df)
    memories = max(stats.memories, len(placed))
    size = len(placed)
    briefs, vectors = Placed.columns(placed)
    read = spread([p.encoded() for p in placed], briefs.texts)
    position = {p.key: i for i, p in enumerate(placed)}
    prev = [-1 if p.prev is None else position.get(p.prev, -1) for p in placed]
    nxt = [-1 if p.next is None else position.get(p.next, -1) for p in placed]
    session_index: dict[SessionKey, int] = {}
    session_of = [
        session_index.setdefault(p.session if p.session is not None else (-1, -p.key),
                                 len(session_index))
        for p in placed
    ]  # fmt: skip
    actors: dict[str, int] = {}
    actor_of = [actors.setdefault(actor, len(actors)) if actor else -1 for actor in briefs.actors]
    span_of, span_day = days(briefs)
    dim = vectors.shape[1]
    # Every candidate's tokens in pieces (its head's, then each unit's): a memory is its
    # pieces, a unit its memory's head's and its own.
    heads, counts, own = read.heads, read.units, read.unit_tokens
    units = np.repeat(np.arange(size, dtype=np.int64), counts)
    lengths = (heads + np.bincount(units, weights=own, minlength=size).astype(np.int64)).tolist()
    pieces = Pieces(read.pieces)
    memory_docs = Docs(pieces, np.arange(len(pieces), dtype=np.int64),
                       np.repeat(np.arange(size, dtype=np.int64), counts + 1), size)  # fmt: skip
    unit_docs = Docs(pieces, np.concatenate([read.head_piece[units], read.unit_piece]),
                     np.tile(np.arange(len(units), dtype=np.int64), 2), len(units))  # fmt: skip
    unit_lengths = heads[units] + own
    unit_text = read.unit_text
    origins = [
        origin(found or (id_,)) for found, id_ in zip(briefs.sources, briefs.ids, strict=True)
    ]
    if len(set(briefs.texts)) < size:  # a text said twice
        said_by = list(map(_speaker, placed, actor_of, briefs.kinds))
        repeats: Sequence[Hashable | None] = said_again(said_by, briefs.texts)
    else:
        repeats = ()
    unit_group = groups(origins, units.tolist(), unit_text, repeats)
    first_units = np.cumsum(counts) - counts
    unit_start = first_units.tolist()
    unit_count = len(unit_text)
    unit_prev = np.arange(unit_count, dtype=np.int64) - 1
    opens = counts > 0
    unit_prev[first_units[opens]] = _openings(prev, unit_start, counts)[opens]
    unit_next = np.full(unit_count, -1, np.int64)
    linked = np.flatnonzero(unit_prev >= 0)
    unit_next[unit_prev[linked]] = linked
    lexical = ScopedBM25(memory_docs, lengths, df, memories,
                         stats.tokens / max(stats.memories, 1), lookup)  # fmt: skip
    unit_lexical = ScopedBM25(unit_docs, unit_lengths.tolist(), df, memories,
                              stats.unit_tokens / max(stats.units, 1), lookup)  # fmt: skip
    session_vectors = np.zeros((len(session_index), dim), np.float32)
    tokens = np.bincount(session_of, weights=lengths, minlength=len(session_index))
    session_lengths = tokens.astype(np.int64).tolist()
    for key, s in session_index.items():
        found = session_stats.get(key)
        if found is not None:
            session_lengths[s] = max(found.tokens, 1)
            if found.vector is not None and dim and len(found.vector) == dim:
                session_vectors[s] = found.vector
        elif dim:
            members = [i for i, x in enumerate(session_of) if x == s]
            session_vectors[s] = vectors[members].sum(axis=0)
    session_docs = SessionDocs(lexical, np.asarray(session_of, np.int64), len(session_index))
    sessions = ScopedBM25(session_docs, session_lengths, df, memories,
                          stats.tokens / max(stats.sessions, 1))  # fmt: skip
    norms = np.linalg.norm(session_vectors, axis=1, keepdims=True)
    session_vectors = (session_vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    sizes = np.fromiter(map(len, unit_text), np.int64, len(unit_text))
    prefix = np.asarray(prefix_lengths(briefs), np.int64)
    cost = prefix[units] + sizes if len(units) else sizes
    columns = Arrays(
        size=size,
        session_of=np.asarray(session_of, np.int64),
        prev=np.asarray(prev, np.int64),
        next=np.asarray(nxt, np.int64),
        has_time=np.asarray(read.has_time, np.float32),
        is_question=np.asarray(read.is_question, np.float32),
        actor_of=np.asarray(actor_of, np.int64),
        span_of=np.asarray(span_of, np.int64),
        span_day=np.asarray(span_day, np.int64),
        photo=np.asarray(read.photo, np.float32),
        procedure=np.fromiter((kind == "procedure" for kind in briefs.kinds), np.float32, size),
        unit_of=units,
        unit_prev=unit_prev,
        unit_next=unit_next,
        unit_length=sizes,
        unit_cost=cost,
        unit_log_cost=np.log(np.maximum(cost, 1)).astype(np.float32),
        unit_group=np.asarray(unit_group, np.int64),
        unit_person=np.asarray(read.unit_person, np.int64),
        allowed=np.ones(len(placed), bool) if allowed is None else np.asarray(allowed, bool),
    )
    return Candidates(placed=list(placed), lexical=lexical, unit_lexical=unit_lexical,
                      sessions=sessions, unit_text=unit_text, unit_start=unit_start,
                      actors=list(actors), dim=dim, vectors=vectors,
                      session_vectors=session_vectors, columns=columns,
                      texts=briefs.texts, repeats=repeats)  # fmt: skip


def _speaker(placed: Placed, actor: int, kind: str) -> Hashable | None:
    """Who said a memory, when, as what (``pack.said``): its session (in its scope), its
    speaker (``actor``, its number among the candidates'; -1: none) and its kind (a fact that
    restates a message is listed beside it, and packed once as its provenance says). Said in
    another session, the same words are another time ("Went for a run.", each day)."""
    return None if placed.session is None else (placed.session, actor, kind)


def _openings(prev: Sequence[int], first: Sequence[int], counts: npt.NDArray[np.int64]
              ) -> npt.NDArray[np.int64]:  # fmt: skip
    """Each memory's first unit's previous unit: units follow on from the previous memory's
    last unit when it is a candidate (``prev``, its position, else -1) that came before; a
    memory without units passes its previous memory's last unit on."""
    if counts.all():  # no memory without units: each previous memory's own last unit
        before = np.asarray(prev, np.int64)
        last = np.asarray(first, np.int64) + counts - 1
        follows = (before >= 0) & (before < np.arange(len(before)))
        return np.where(follows, last[before], -1)
    opening: list[int] = []
    last_unit = [-1] * len(prev)
    for i, (start, count) in enumerate(zip(first, counts.tolist(), strict=True)):
        came = last_unit[prev[i]] if prev[i] >= 0 else -1
        opening.append(came)
        last_unit[i] = start + count - 1 if count else came
    return np.asarray(opening, np.int64)


def rank(
    store: Searchable,
    vector: QueryVector,
    scope: Scope,
    query: str,
    filters: Filters,
    *,
    limit: int,
    now: datetime,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    alpha: float = 0.0,
    cohesion: float = 0.0,
    reach: int | None = None,
    budget: int | None = None,
    depths: Depths = DEPTHS,
    embed: Embed | None = None,
) -> list[Hit]:
    """The ``limit`` best memories of ``scope`` for ``query`` (with ``budget``: the memories
    and sentences that fit in that many characters of context, see ``read.pack``). ``vector``
    is the query's embedding (``None`` without an embedder), or the call that returns it;
    ``embed`` embeds another text of the query (``gather``)."""
    candidates, _ = gather(store, vector, scope, query, filters, now, depths, embed)
    if candidates is None or not len(candidates):
        return []
    return score(candidates, query, resolve(vector), now, limit=limit, weights=weights, alpha=alpha,
                 cohesion=cohesion, reach=reach, budget=budget)  # fmt: skip


#: A query of at least this many words that a memory's text holds whole, word for word, looks
#: that memory up: it comes first, before the near copies around it, whatever the features say
#: (the turn after a match gains from it, as an answer follows its question). The lift is more
#: than the scores of one search spread. A question that asks what the query asks
#: (``asked_again``: an assistant's store keeps what its user asked) is the query asked before,
#: not its answer, and goes down by as much, after every other candidate; the turns after it
#: still gain from its match.
LOOKUP_WORDS = 3
LOOKUP_LIFT = np.float32(100.0)
_WORD = re.compile(r"\w+")


def looked_up(query: str, texts: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Which of ``texts`` hold ``query`` whole: its words (``LOOKUP_WORDS`` at least), case
    folded, one after another, whatever the spaces and punctuation between them."""
    words = _WORD.findall(query.casefold())
    out = np.zeros(len(texts), dtype=bool)
    if len(words) < LOOKUP_WORDS:
        return out
    phrase = f" {' '.join(words)} "
    first, last = words[0], words[-1]
    for i, text in enumerate(texts):
        folded = text.casefold()
        if first in folded and last in folded:
            out[i] = phrase in f" {' '.join(_WORD.findall(folded))} "
    return out


def asked_again(
    query: str, texts: Sequence[str], questions: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Which of ``texts``, among the ``questions``, ask what ``query`` asks: questions whose
    search terms (``query_terms``, two at least) the query holds, all but a third of them at
    most ("Hey, what is my favourite colour again?" for "what is my favourite colour")."""
    out = np.zeros(len(texts), dtype=bool)
    asked = set(query_terms(query))
    if not asked:
        return out
    for i in np.flatnonzero(questions).tolist():
        own = set(query_terms(texts[i]))
        out[i] = len(own) >= 2 and len(own - asked) <= len(own) // 3
    return out


def _may_ask_again(candidates: Candidates, query: str) -> npt.NDArray[np.bool_]:
    """The candidates that ``asked_again`` reads: questions that hold two of the query's terms
    at least (as the features counted them), since its rule needs that many."""
    questions = candidates.arrays().is_question > 0
    terms = set(query_terms(query))
    if not questions.any() or len(terms) < 2:
        return np.zeros(len(candidates), dtype=bool)
    held = sum(candidates.lexical.tf(term) > 0 for term in terms)
    return questions & (np.asarray(held) >= 2)


def score(
    candidates: Candidates,
    query: str,
    vector: Vector | None,
    now: datetime,
    *,
    limit: int,
    weights: Mapping[str, float],
    alpha: float,
    budget: int | None,
    cohesion: float = 0.0,
    reach: int | None = None,
) -> list[Hit]:
    columns = features(candidates, query, vector, now)
    cols = candidates.arrays()
    unit_of = cols.unit_of
    unit_score = unit_scores(columns, weights, unit_of)
    found = looked_up(query, candidates.texts)
    again = asked_again(query, candidates.texts, _may_ask_again(candidates, query))
    if found.any() or again.any():
        lift = np.where(again, -LOOKUP_LIFT, np.where(found, LOOKUP_LIFT, np.float32(0)))
        unit_score += lift.astype(np.float32)[unit_of]
    unit_score = np.where(cols.allowed[unit_of], unit_score, -np.inf)
    if budget is not None:
        key = unit_score - np.float32(alpha) * cols.unit_log_cost
        packed = pack(key, unit_score, unit_of, cols.unit_cost, cols.unit_length, budget, limit,
                      cols.unit_group, cols.session_of, cohesion, reach)  # fmt: skip
        chosen = [(p.memory, p.score, p.units) for p in packed]
        return _hits(candidates, columns, weights, unit_score, chosen)
    best = best_of(unit_score, unit_of, len(candidates))
    # Equal scores in the order stored: a shorter list is the start of a longer one.
    ranked = np.argsort(-best, kind="stable")[: int(np.isfinite(best).sum())].tolist()
    hits: list[Hit] = []
    taken = 0
    # What a speaker sent again in one session comes once, the better-ranked (``build`` read
    # which candidates say what another says: ``pack.said_again``).
    repeats = candidates.repeats
    seen: set[Hashable] = set()
    # A memory gone by the time its record is read gives its place to the next.
    while len(hits) < limit and taken < len(ranked):
        more: list[int] = []
        while len(more) < limit - len(hits) and taken < len(ranked):
            i = ranked[taken]
            taken += 1
            repeat = repeats[i] if repeats else None
            if repeat not in seen:
                more.append(i)
                if repeat is not None:
                    seen.add(repeat)
        hits += _hits(candidates, columns, weights, unit_score,
                      [(i, float(best[i]), None) for i in more])  # fmt: skip
    return hits


def _hits(
    candidates: Candidates,
    columns: Mapping[str, npt.NDArray[np.float32]],
    weights: Mapping[str, float],
    score: npt.NDArray[np.float32],
    chosen: Sequence[tuple[int, float, tuple[int, ...] | None]],
) -> list[Hit]:
    """Hits for the chosen memories, each explained by the signals of its best unit."""
    mask = np.isfinite(score)
    spans = [candidates.units_of(memory) for memory, _, _ in chosen]
    best = np.asarray(
        [span.start + int(np.argmax(score[span.start : span.stop])) for span in spans], np.int64
    )
    explained = [name for name in EXPLAINED if weights.get(name) and name in columns]
    # Plain lists: one conversion per signal instead of a numpy scalar per hit and signal.
    values = {name: columns[name][best] for name in explained}
    ranks = {name: _ranks(columns[name][mask], values[name]).tolist() for name in explained}
    scores = {name: values[name].tolist() for name in explained}
    hits = []
    records = candidates.records([memory for memory, _, _ in chosen])
    for j, ((_, value, units), record) in enumerate(zip(chosen, records, strict=True)):
        if record is None:  # changed since the search found it: no longer what was asked for
            continue
        signals = {
            name: Signal(rank=int(ranks[name][j]), score=float(scores[name][j]))
            for name in explained
        }
        excerpt = None
        if units is not None:
            joined = " ".join(candidates.unit_text[u] for u in units)
            excerpt = None if joined == record.text else joined
        hits.append(Hit(record=record, score=value, signals=signals, excerpt=excerpt))
    return hits


def _ranks(
    column: npt.NDArray[np.float32], values: npt.NDArray[np.float32]
) -> npt.NDArray[np.int64]:
    """The rank (from 1) that each of ``values`` has in ``column``, best (largest) first."""
    ascending = np.sort(column)
    return np.asarray(len(column) - np.searchsorted(ascending, values, side="right") + 1)


def labels_of(candidates: Candidates, evidence: set[str]) -> npt.NDArray[np.bool_]:
    """Per unit: whether its memory's sources name one of ``evidence`` (for fitting)."""
    memory = np.array([bool(evidence & set(p.brief.sources)) for p in candidates.placed])
    return memory[candidates.arrays().unit_of]


def when_of(records: Iterable[MemoryRecord]) -> datetime:
    """The latest moment among ``records`` (a fit's "now")."""
    return max(moment(r) for r in records)
