"""What feedback taught about which memories answer which questions (pure functions).

A feedback says that some memories answered one question. It is kept as a lesson: the question
(its embedding, and its search terms for a store without an embedder) and the memories used for
it, with how often. A later search weighs a memory by the lesson it appears in whose question is
closest to the new one, in proportion to that closeness, and not at all below ``FLOOR``: a
memory that answered "what is Ada's cat called" rises for "what's the name of Ada's cat" and
stays where it was for "where does Ada live".

A scope keeps its ``MAX_LESSONS`` most recent questions, each with its ``MAX_USED`` most used
memories; a question as close as ``SAME`` to a kept one adds to it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

#: Below this similarity to the question of a lesson, the lesson does not apply. The default
#: embedder (MiniLM) puts paraphrases of a question at 0.85 to 0.98 and other questions about
#: the same person at 0.5 to 0.7.
FLOOR = 0.8
#: A feedback question at least this similar to a kept one adds to that lesson.
SAME = 0.95
MAX_LESSONS = 128
MAX_USED = 16

Vector = npt.NDArray[np.float32]


@dataclass
class Lesson:
    """One question feedback came from, and the memories that answered it (id: times used)."""

    terms: tuple[str, ...]
    vector: Vector | None
    used: dict[str, int] = field(default_factory=dict)


def similarity(lesson: Lesson, vector: Vector | None, terms: Sequence[str]) -> float:
    """How alike the lesson's question and a new one are: the cosine of their embeddings, or
    without them the overlap (Jaccard) of their search terms."""
    if vector is not None and lesson.vector is not None and lesson.vector.shape == vector.shape:
        norms = float(np.linalg.norm(lesson.vector) * np.linalg.norm(vector))
        return float(lesson.vector @ vector) / norms if norms > 0 else 0.0
    mine, theirs = set(lesson.terms), set(terms)
    return len(mine & theirs) / len(mine | theirs) if mine | theirs else 0.0


def closeness(value: float) -> float:
    """A similarity as a share from 0 (at or below ``FLOOR``) to 1 (the same question)."""
    return min(1.0, max(0.0, (value - FLOOR) / (1.0 - FLOOR)))


@dataclass
class Lessons:
    """The lessons of one scope; ``embedder`` names the model their vectors come from."""

    embedder: str | None = None
    items: list[Lesson] = field(default_factory=list)

    def asked(self, vector: Vector | None, terms: Sequence[str]) -> dict[str, float]:
        """Each memory used for a question like this one: the closeness of the closest such
        question times ``log(1 + times used)`` for it. Memories of no close lesson are absent."""
        out: dict[str, float] = {}
        for lesson in self.items:
            near = closeness(similarity(lesson, vector, terms))
            if near <= 0.0:
                continue
            for memory_id, count in lesson.used.items():
                out[memory_id] = max(out.get(memory_id, 0.0), near * math.log1p(count))
        return out

    def learn(
        self, vector: Vector | None, terms: Sequence[str], used: Sequence[str], embedder: str | None
    ) -> None:
        """Remember that ``used`` answered this question (vectors from ``embedder``)."""
        if not used:
            return
        if vector is not None and embedder != self.embedder:
            self.embedder = embedder
            for lesson in self.items:
                lesson.vector = None
        same = [i for i, x in enumerate(self.items) if similarity(x, vector, terms) >= SAME]
        if same:
            lesson = self.items.pop(
                max(same, key=lambda i: similarity(self.items[i], vector, terms))
            )
        else:
            lesson = Lesson(terms=tuple(sorted(set(terms))), vector=vector)
        for memory_id in dict.fromkeys(used):
            lesson.used[memory_id] = lesson.used.get(memory_id, 0) + 1
        kept = sorted(lesson.used.items(), key=lambda kv: -kv[1])[:MAX_USED]
        lesson.used = dict(kept)
        self.items.append(lesson)  # the most recent last
        del self.items[:-MAX_LESSONS]

    def to_dict(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "items": [
                {"terms": list(x.terms), "vector": _encode(x.vector), "used": dict(x.used)}
                for x in self.items
            ],
        }

    @classmethod
    def from_dict(cls, data: object, embedder: str | None) -> Lessons:
        """Lessons as ``to_dict`` wrote them; vectors of another embedder than ``embedder``
        are dropped (their questions still match by terms). Anything else reads as none."""
        if not isinstance(data, Mapping) or not isinstance(data.get("items"), list):
            return cls()
        same_model = data.get("embedder") == embedder
        items = []
        for raw in data["items"]:
            if not isinstance(raw, Mapping):
                continue
            terms, used = raw.get("terms"), raw.get("used")
            if not isinstance(terms, list) or not isinstance(used, Mapping):
                continue
            vector = _decode(raw.get("vector")) if same_model else None
            counts = {str(k): int(v) for k, v in used.items() if isinstance(v, int)}
            items.append(Lesson(terms=tuple(map(str, terms)), vector=vector, used=counts))
        return cls(embedder=embedder if same_model else None, items=items)


def _encode(vector: Vector | None) -> str | None:
    """A vector as base64 of its float16 values: a quarter of JSON floats' size, and far
    finer than the similarity floor needs."""
    if vector is None:
        return None
    return base64.b64encode(np.asarray(vector, "<f2").tobytes()).decode("ascii")


def _decode(text: object) -> Vector | None:
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    if not raw or len(raw) % 2:
        return None
    return np.frombuffer(raw, "<f2").astype(np.float32)
