"""How a ``Memory`` retrieves and how its LLM write path runs: the options a caller passes.

``Retrieval`` weighs the read path's signals (``PRESETS`` names the ready-made ones);
``PipelineConfig`` tunes the LLM write path. Both are plain values, checked when built.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from memstrata.errors import ConfigurationError, InvalidInputError

#: The most similar memories one consolidation decision is shown.
MAX_SIMILAR = 10


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Which signals a search uses and how much each counts in the fusion."""

    keyword: float = 1.0
    vector: float = 1.0
    #: Memories naming the entities the query names (or their neighbours in the graph); only
    #: stores with an entity index, and only once the LLM write path has registered entities.
    entity: float = 1.0
    rrf_k: float = 60.0
    #: How many candidates each signal contributes, at least (more when ``limit`` is larger).
    candidates: int = 50
    #: Weight of retention (MemoryBank's forgetting curve) in the reranker's starting model.
    retention_weight: float = 0.0
    #: How many fused hits the (learned) reranker reorders before the list is cut to ``limit``
    #: (a reranker that learned nothing keeps the order: the feature ranker finds ``limit``).
    rerank_depth: int = 50
    #: ``"rrf"``: fuse the store's keyword, vector (and entity) rankings. ``"features"``: the
    #: read engine (``read.engine``): candidates from the store's indexes, expanded with their
    #: neighbours and sessions, scored on per-question features (``read.features``).
    ranker: str = "rrf"
    #: Feature weights of the ``"features"`` ranker (default ``read.features.DEFAULT_WEIGHTS``);
    #: a weight named ``"a*b"`` weighs the product of features ``a`` and ``b``
    #: (``read.features.PRODUCTS``); weights of ``"first"`` and ``"standing"`` make them a
    #: second pass over a first under ``read.features.FIRST_WEIGHTS``
    #: (``read.features.unit_scores``).
    weights: tuple[tuple[str, float], ...] = ()
    #: How much the ``"features"`` ranker prefers short units of similar score when it packs a
    #: context budget (``search(budget=...)``).
    alpha: float = 0.0
    #: How much the ``"features"`` ranker, packing a context budget, favours the other turns of
    #: a session once one of its memories is in the context (``read.pack``).
    cohesion: float = 0.0
    #: How far that favour reaches: the session's memories within this many of one in the
    #: context (in the order stored, among the candidates); ``None``: the whole session.
    cohesion_reach: int | None = None

    @property
    def uses_vectors(self) -> bool:
        """Whether ranking reads the query's embedding."""
        return self.ranker == "features" or self.vector > 0

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(name for name in ("keyword", "vector", "entity") if getattr(self, name) > 0)


PRESETS: dict[str, Retrieval] = {
    "bm25": Retrieval(vector=0.0, entity=0.0),
    "dense": Retrieval(keyword=0.0, entity=0.0),
    "hybrid": Retrieval(),
    "default": Retrieval(ranker="features", alpha=2.0, cohesion=0.75, cohesion_reach=3),
}


def preset(name: str) -> Retrieval:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown retriever {name!r}; choose one of {', '.join(sorted(PRESETS))}"
        ) from None


#: A category label: lower case words joined by ``_`` or ``-``.
CATEGORY = r"^[a-z0-9][a-z0-9_-]{0,39}$"


#: The characters Python counts as space (``str.split``'s), written out, since regex engines
#: disagree on ``\s``: pydantic's leaves out U+001C to U+001F, JavaScript's takes in U+FEFF.
SPACES = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A topic holds some character that is not a space.
TOPIC_PATTERN = f"[^{SPACES}]"
#: A topic to keep to or leave out: some words (not only spaces), at most 200 characters.
Topic = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TOPIC_PATTERN)]
#: A category label: lower case words joined by ``_`` or ``-`` (``CATEGORY``).
Label = Annotated[str, StringConstraints(pattern=CATEGORY)]
#: What a category covers, in the application's words.
Description = Annotated[str, StringConstraints(max_length=300)]


class Extraction(BaseModel):
    """An application's own extraction rules: instructions in its words ("only remember the
    user's health and schedule"), topics to keep to (``include``) or leave out (``exclude``),
    and ``categories`` (label: what it covers) that each fact is labelled with. They narrow
    what is extracted; the prompt's own rules (provenance, dates, the guard) still hold.
    ``version`` names the rules in history, beside the prompt's version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instructions: str | None = Field(default=None, max_length=4000)
    include: tuple[Topic, ...] = Field(default=(), max_length=50)
    exclude: tuple[Topic, ...] = Field(default=(), max_length=50)
    categories: dict[Label, Description] = Field(
        default_factory=dict, max_length=50, json_schema_extra={"additionalProperties": False}
    )

    @field_validator("include", "exclude")
    @classmethod
    def _topics(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        # Spaces folded as Python reads them, which counts more characters as space than
        # ``Topic``'s pattern does (the record separator, U+001E): a topic must keep a word.
        folded = tuple(" ".join(t.split()) for t in topics)
        if not all(folded):
            raise ValueError("a topic needs some words, not only spaces")
        return folded

    @classmethod
    def stored(cls, raw: str) -> Extraction:
        """Rules as a store keeps them (their JSON). A topic that folds to nothing, which
        stores written before ``_topics`` checked it may hold, is dropped: it names nothing."""
        data = json.loads(raw)
        if isinstance(data, dict):
            for field in ("include", "exclude"):
                if isinstance(data.get(field), list):
                    data[field] = [t for t in data[field] if not isinstance(t, str) or t.split()]
        return cls.model_validate(data)

    @property
    def version(self) -> str:
        """``custom/`` and a hash of the rules' content."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return "custom/" + hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def lines(self) -> list[str]:
        """The rules as the prompt shows them."""
        out = [
            "APPLICATION RULES (from the application that keeps this memory: they narrow what "
            "you extract; the rules above still hold)"
        ]
        if self.instructions:
            out.append(self.instructions.strip())
        if self.include:
            out.append("Only extract facts about: " + "; ".join(self.include) + ".")
        if self.exclude:
            out.append("Never extract facts about: " + "; ".join(self.exclude) + ".")
        if self.categories:
            out.append(
                'Give each fact "categories": the labels below that apply to it ([] if none).'
            )
            out += [f"- {label}: {text}" if text else f"- {label}" for label, text in
                    self.categories.items()]  # fmt: skip
        return out


def as_extraction(value: Extraction | Mapping[str, object] | None) -> Extraction | None:
    """Extraction rules as a caller gives them (the model, or a mapping of its fields),
    checked: ``InvalidInputError`` says what is wrong."""
    if value is None or isinstance(value, Extraction):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            "extraction rules must be a mapping of instructions, include, exclude and categories"
        )
    try:
        return Extraction.model_validate(dict(value))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'rules'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidInputError(f"invalid extraction rules: {problems}") from None


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """How the LLM write path runs.

    ``batch_size``: most messages per extraction call. ``wait_for_full_batch``: ``add`` leaves
    a part-filled batch for later messages of the scope (``reprocess`` takes it anyway).
    ``duplicate_threshold``: vector cosine from which a new fact is a near-duplicate of a
    stored one (no model asked). ``review_threshold``: cosine from which a similar memory is
    shown to the consolidation prompt even without a shared subject or entity.
    ``max_similar``: most memories shown per decision. ``link_threshold`` / ``max_links``:
    which related memories a new note links to. ``evolve_links``: let a new note extend the
    context line of the notes it links to (as new versions). ``known_entities``: how many of
    the scope's entity names the extraction prompt is shown, for consistent naming.
    """

    batch_size: int = 10
    wait_for_full_batch: bool = True
    duplicate_threshold: float = 0.95
    review_threshold: float = 0.75
    max_similar: int = 5
    link_threshold: float = 0.5
    max_links: int = 3
    evolve_links: bool = False
    known_entities: int = 30
    #: One model call per batch: the extraction is shown the stored facts the batch may
    #: touch and decides ADD / UPDATE / INVALIDATE / NOOP with the facts; a fact whose
    #: decision is unusable is decided by a consolidation call, as without it.
    one_call: bool = True
    #: The application's own extraction rules for every scope (a scope's own, set with
    #: ``Memory.set_extraction``, and a call's, given to ``add``, take precedence).
    extraction: Extraction | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not 1 <= self.batch_size <= 100:
            raise InvalidInputError("batch_size must be an integer from 1 to 100")
        if not 1 <= self.max_similar <= MAX_SIMILAR:
            raise InvalidInputError(f"max_similar must be from 1 to {MAX_SIMILAR}")
        for name in ("duplicate_threshold", "review_threshold", "link_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInputError(f"{name} must be from 0 to 1")
