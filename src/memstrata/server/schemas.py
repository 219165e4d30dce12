"""The wire format: pydantic models for REST requests and responses (and MCP tool results),
and the conversions between them and the library's types, in both directions.

The server builds responses with ``*_out`` functions; ``RemoteMemory`` turns the JSON back into
``MemoryRecord``, ``Hit``, ``HistoryEvent`` and ``Message`` with the ``*_from_wire`` functions, so
the two ends cannot drift apart. This module needs pydantic only (no FastAPI).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from memstrata.memory import MAX_BUDGET, MAX_LIMIT
from memstrata.options import Extraction
from memstrata.results import BatchResult
from memstrata.types import (
    KINDS,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    Change,
    HistoryEvent,
    Hit,
    Layer,
    MemoryKind,
    MemoryRecord,
    MemoryState,
    Message,
    Operation,
    Signal,
    as_utc,
)
from memstrata.types import Scope as MemoryScope
from memstrata.write.batch import MAX_BATCH, SHOWN_IDS
from memstrata.write.episodes import DERIVED_KINDS

#: The longest ``reason`` kept in history, in characters.
MAX_REASON_CHARS = 2000
INT64 = 2**63 - 1
#: What ``str.strip`` takes for white space, spelled out: ``\s`` means less in JSON Schema's
#: regular expressions (ECMA 262) than in Python's.
SPACE = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
#: A text the library takes (``check_text``, ``check_id``): not blank, no NUL character.
NOT_BLANK = rf"^[^\u0000]*[^\u0000{SPACE}][^\u0000]*$"
#: No NUL character (a name the library keeps as given otherwise).
NO_NUL = r"^[^\u0000]*$"
#: The same, or empty (a speaker or role left empty takes its default).
EMPTY_OR_NOT_BLANK = rf"^([^\u0000]*[^\u0000{SPACE}][^\u0000]*)?$"
#: A metadata filter key (``Filters``): letters, digits, ``_`` and ``-``, one letter or digit
#: at least.
FILTER_KEY = r"^[\p{L}\p{N}_-]*[\p{L}\p{N}][\p{L}\p{N}_-]*$"
#: The years a timestamp may name: in year 1 or 9999, a time zone's offset can move the moment
#: out of the calendar, so those years are refused whatever the offset.
YEARS = (
    r"^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"
)
#: What ``remember`` stores: any kind but an episode.
REMEMBERED_KINDS: list[JsonValue] = [kind for kind in KINDS if kind != "episode"]
#: Derived memories cite the messages they come from (``write.episodes.DERIVED_KINDS``).
CITING_KINDS: list[JsonValue] = [kind for kind in KINDS if kind in DERIVED_KINDS]


class Documented:
    """JSON Schema keywords for a rule the library checks itself, with its own message: they
    go into the type's schema, so that clients (and fuzzers) know the rule too."""

    def __init__(self, keywords: Mapping[str, Any]) -> None:
        self.keywords = dict(keywords)

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords)
        return schema

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Documented) and other.keywords == self.keywords

    def __hash__(self) -> int:  # types in ``Annotated`` are hashed
        return hash(json.dumps(self.keywords, sort_keys=True))


def some_of(*fields: str, **schemas: dict[str, Any]) -> dict[str, Any]:
    """An ``anyOf`` that wants at least one of ``fields`` given, as a string unless ``schemas``
    names another schema for it."""
    return {
        "anyOf": [
            {"required": [f], "properties": {f: schemas.get(f, {"type": "string"})}} for f in fields
        ]
    }


def _time(value: object) -> datetime:
    """An ISO 8601 string (or a datetime) as an aware UTC datetime; ValueError when out of range
    (a year from 0002 to 9998, written first)."""
    if not isinstance(value, str | datetime):
        raise ValueError("expected an ISO 8601 date-time string, e.g. 2026-05-03T10:00:00Z")
    year_ok = re.match(YEARS, value) if isinstance(value, str) else 2 <= value.year <= 9998
    if not year_ok:
        raise ValueError(f"{value!r} is outside the supported range of dates (years 2 to 9998)")
    parsed = as_utc(value)
    assert parsed is not None
    return parsed


def _utf8(value: str) -> str:
    """Refuse strings that cannot be stored as UTF-8 (JSON can carry lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid UTF-8: the string holds a lone surrogate") from None
    return value


def _utf8_tree(value: Any) -> Any:
    if isinstance(value, str):
        _utf8(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _utf8(key)
            _utf8_tree(item)
    elif isinstance(value, list):
        for item in value:
            _utf8_tree(item)
    return value


def _integral(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


Utf8 = AfterValidator(_utf8)
Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_CHARS),
    Utf8,
    Documented({"pattern": NOT_BLANK}),
]
#: A speaker, role or entity name: as an id, and checked as one by the library.
Label = Id
#: A name kept as given (an actor, a subject, a prompt version).
Name = Annotated[str, StringConstraints(max_length=MAX_ID_CHARS), Utf8]
#: Who said or is meant by a memory (``actor``, ``subject``): any name without a NUL.
Person = Annotated[Name, Documented({"pattern": NO_NUL})]
#: A speaker or role, which may also be empty (for its default).
OptionalLabel = Annotated[Name, Documented({"pattern": EMPTY_OR_NOT_BLANK})]
#: Text as given; ``Text`` is what the library stores: not blank, no NUL.
Prose = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS), Utf8]
Text = Annotated[Prose, Documented({"pattern": NOT_BLANK})]
Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_CHARS), Utf8]
Metadata = Annotated[dict[str, Any], AfterValidator(_utf8_tree)]
Timestamp = Annotated[datetime, BeforeValidator(_time), Documented({"pattern": YEARS})]
#: A whole number may come written as ``3.0`` (a request body takes no string or bool for one);
#: it goes after the number's range in ``Annotated``, which keeps the range in the schema.
Integral = BeforeValidator(_integral)
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), Integral]
Budget = Annotated[int, Field(ge=1, le=MAX_BUDGET), Integral]
Scalar = Name | Annotated[int, Field(ge=-INT64 - 1, le=INT64)] | float | bool | None
#: Equality on top-level metadata keys; a key is a plain word (letters, digits, ``_``, ``-``).
MetadataFilter = Annotated[
    dict[str, Scalar], Documented({"propertyNames": {"pattern": FILTER_KEY}})
]

USER = "Whose memory: a user id."
AGENT = "Whose memory: an agent id."
RUN = "Whose memory: a run (session) id."


#: A ``where`` filter expression (``memstrata.where``, docs/filters.md): a JSON object whose
#: grammar the library checks, a 422 ``invalid_input`` saying where and why it is wrong.
WhereFilter = Annotated[dict[str, Any], Field(min_length=1)]
WHERE = (
    "A filter expression over fields and metadata, e.g. "
    '{"and": [{"metadata.topic": {"in": ["work"]}}, {"importance": {">=": 0.5}}]} '
    "(docs/filters.md)."
)
EXPIRES = "When the memory stops being recalled: it then reads as archived, never deleted."
HISTORY = "Also expired memories and facts whose valid_to has passed (as stored)."


class Wire(BaseModel):
    """A request body: no unknown fields, and no coercion (``"5"`` is not a number, ``false``
    not ``0.0``), so that it is valid exactly when its schema says so."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- requests -------------------------------------------------------------------------------------
class ScopeIn(Wire):
    """At least one of ``user_id``, ``agent_id`` and ``run_id`` is required."""

    model_config = ConfigDict(json_schema_extra=some_of("user_id", "agent_id", "run_id"))

    user_id: Id | None = Field(None, description=USER)
    agent_id: Id | None = Field(None, description=AGENT)
    run_id: Id | None = Field(None, description=RUN)

    def scope(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}


#: A string a content part holds: UTF-8 and no NUL (the request body bounds its length).
PartText = Annotated[str, Utf8, Documented({"pattern": NO_NUL})]
#: An image's URL: an http(s) URL or a ``data:`` URL (only a short reference is stored).
ImageUrl = Annotated[str, Utf8, Documented({"pattern": NOT_BLANK})]


class TextPartIn(Wire):
    """Text (``input_text`` and ``output_text`` are the Responses API's names)."""

    type: Literal["text", "input_text", "output_text"]
    text: PartText


class Captioned(Wire):
    caption: PartText | None = Field(None, description="What the image shows, in words.")
    alt: PartText | None = Field(None, description="Alt text (used when no caption).")
    name: PartText | None = Field(None, description="A name for it (used when no alt text).")


class ImageUrlIn(Wire):
    url: ImageUrl = Field(description="An http(s) URL or a data: URL.")
    detail: PartText | None = None


class ImagePartIn(Captioned):
    """An image: stored as ``[photo: CAPTION]`` in the text and its reference in
    ``metadata.attachments``; a model that sees images writes the caption."""

    type: Literal["image_url"]
    image_url: ImageUrlIn


class InputImagePartIn(Captioned):
    """An image, as the Responses API sends it."""

    type: Literal["input_image"]
    image_url: ImageUrl
    detail: PartText | None = None


class AudioIn(Wire):
    data: str = Field(description="The audio, base64 (not stored).")
    format: PartText | None = None
    transcript: PartText | None = None


class AudioPartIn(Wire):
    """Audio: only its transcript is stored (memstrata does not transcribe)."""

    type: Literal["input_audio"]
    input_audio: AudioIn
    transcript: PartText | None = Field(None, description="What was said in it.")


ContentPart = Annotated[
    TextPartIn | ImagePartIn | InputImagePartIn | AudioPartIn, Field(discriminator="type")
]
#: A content list holds something to store: a text or a transcript that is not blank, or an
#: image (which is stored as its caption).
_HAS_CONTENT: dict[str, Any] = {
    "anyOf": [
        {"properties": {"type": {"enum": ["text", "input_text", "output_text"]},
                        "text": {"type": "string", "pattern": NOT_BLANK}}},
        {"properties": {"type": {"enum": ["image_url", "input_image"]}}},
        {"properties": {"type": {"const": "input_audio"}},
         "anyOf": [
             {"required": ["transcript"],
              "properties": {"transcript": {"type": "string", "pattern": NOT_BLANK}}},
             {"required": ["input_audio"], "properties": {"input_audio": {
                 "required": ["transcript"],
                 "properties": {"transcript": {"type": "string", "pattern": NOT_BLANK}}}}},
         ]},
    ]
}  # fmt: skip


class MessageIn(Wire):
    """One message; ``content`` and ``name`` are accepted as OpenAI-style aliases (``text``
    and a non-empty ``speaker`` win over them)."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"anyOf": [
                    {"required": ["text"], "properties": {"text": {"type": "string"}}},
                    {"required": ["content"], "properties": {
                        "text": {"type": "null"},
                        "content": {"type": "string", "pattern": NOT_BLANK}}},
                    {"required": ["content"], "properties": {
                        "text": {"type": "null"},
                        "content": {"type": "array", "minItems": 1, "contains": _HAS_CONTENT},
                        "metadata": {"not": {"type": "object", "required": ["attachments"]}}}},
                ]},
                {"anyOf": [
                    {"required": ["speaker"],
                     "properties": {"speaker": {"type": "string", "minLength": 1}}},
                    {"properties": {"name": {"anyOf": [
                        {"type": "null"}, {"type": "string", "pattern": NOT_BLANK}]}}},
                ]},
            ]
        }
    )  # fmt: skip

    text: Text | None = Field(None, description="What was said (or use `content`).")
    content: Prose | list[ContentPart] | None = Field(
        None,
        description="What was said (OpenAI style): a string, or a list of content parts "
        "(text, image_url, input_audio with a transcript; input_text, input_image).",
    )
    role: OptionalLabel | None = Field(None, description="user (default), assistant, system…")
    speaker: OptionalLabel | None = Field(None, description="Who said it (default: the role).")
    name: Name | None = None
    id: Id | None = Field(None, description="Your message id; becomes the memory's `sources`.")
    timestamp: Timestamp | None = Field(None, description="When it was said (default: now).")
    metadata: Metadata | None = None


class AddIn(ScopeIn):
    messages: Annotated[list[Text | MessageIn], Field(min_length=1)] = Field(
        description="Message texts or message objects; all are stored, or none (the request "
        "body limit bounds how many)."
    )
    metadata: Metadata | None = Field(None, description="Kept with every new memory.")
    timestamp: Timestamp | None = Field(None, description="Time of messages that carry none.")
    extraction: Extraction | None = Field(
        None, description="Extraction rules for the model batches this call runs."
    )
    expires_at: Timestamp | None = Field(None, description=EXPIRES)


class ExtractionIn(ScopeIn):
    extraction: Extraction | None = Field(
        None, description="The scope's own extraction rules; null returns it to the server's."
    )


class FiltersIn(Wire):
    kinds: list[MemoryKind] | None = Field(None, description="Only these kinds.")
    states: list[MemoryState] | None = Field(None, description="Default: active only.")
    layers: list[Layer] | None = None
    since: Timestamp | None = Field(None, description="Event time from (inclusive).")
    until: Timestamp | None = Field(None, description="Event time until (inclusive).")
    metadata: MetadataFilter | None = Field(None, description="Equality on top-level keys.")
    actor: Name | None = Field(None, description="Only memories said by this speaker.")
    where: WhereFilter | None = Field(None, description=WHERE)


class SearchIn(ScopeIn, FiltersIn):
    query: Text = Field(description="What to look for, in plain words.")
    limit: Limit | None = Field(
        None,
        description="How many hits at most: 10 when not given; with a `budget`, only when "
        "given (the budget decides how many fit).",
    )
    as_of: Timestamp | None = Field(
        None, description="Search memory as it stood then (system time): versions then current."
    )
    history: bool = Field(False, description=HISTORY)
    budget: Budget | None = Field(
        None,
        description="Pack the hits into this many characters of context: their `context` "
        "lines fit together, and a hit may carry only the sentences that answer (`excerpt`).",
    )


class UpdateIn(Wire):
    """At least one of ``text``, ``metadata``, ``valid_from``, ``valid_to`` and ``expires_at``
    is required."""

    model_config = ConfigDict(
        json_schema_extra=some_of(
            "text", "metadata", "valid_from", "valid_to", "expires_at", metadata={"type": "object"}
        )
    )

    text: Text | None = Field(None, description="The new text (a new version is written).")
    metadata: Metadata | None = Field(None, description="Replaces the metadata.")
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    expected_version: Annotated[int, Field(ge=1, le=2**31), Integral] | None = Field(
        None, description="Fail with 409 if the memory has changed since this version."
    )
    reason: Reason | None = Field(None, description="Why (kept in history).")
    expires_at: Timestamp | None = Field(None, description=EXPIRES)


def cites_sources(kinds: list[JsonValue], default_kind: str | None) -> dict[str, Any]:
    """An ``if``/``then``: a memory of one of ``kinds`` names at least one source (its kind left
    out is ``default_kind``)."""
    kind: dict[str, Any] = {"properties": {"kind": {"enum": kinds}}}
    if default_kind not in kinds:
        kind["required"] = ["kind"]
    return {
        "if": kind,
        "then": {"required": ["sources"], "properties": {"sources": {"minItems": 1}}},
    }


class RememberIn(ScopeIn):
    """A fact, summary or thought cites at least one stored message in ``sources``."""

    model_config = ConfigDict(
        json_schema_extra={
            **some_of("user_id", "agent_id", "run_id"),
            **cites_sources(CITING_KINDS, "fact"),
        }
    )

    text: Text = Field(description="The derived memory: a fact, summary, thought…")
    kind: MemoryKind = Field(
        "fact",
        description="Any kind but episode (use add for those).",
        json_schema_extra={"enum": REMEMBERED_KINDS},
    )
    sources: list[Id] = Field([], description="Ids of stored messages it was derived from.")
    actor: Person | None = None
    subject: Person | None = None
    keys: list[Text] = Field([], description="Extra index text: keywords, paraphrases.")
    entities: list[Label] = []
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    importance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    metadata: Metadata | None = None
    reason: Reason | None = None
    prompt_version: Name | None = None
    expires_at: Timestamp | None = Field(None, description=EXPIRES)


class FeedbackIn(ScopeIn):
    search_id: Id = Field(description="The `search_id` of the search answered.")
    used: list[Id] = Field(description="Ids of the hits the answer used.")
    unused: list[Id] | None = Field(None, description="Default: the other hits of the search.")


# -- batch changes (``Memory.delete_many`` and its twins) -----------------------------------------
IDS = f"The memories, by id (at most {MAX_BATCH}); or leave out and give `where`."
STATES = "The states a `where` filter chooses among (default: those the change applies to)."
DRY_RUN = "Only count what would change (and list the first ids); change nothing."
#: A batch names its memories by ids or by a filter, and its scope.
_CHOOSES: list[JsonValue] = [
    some_of("user_id", "agent_id", "run_id"),
    some_of("ids", "where", ids={"type": "array"}, where={"type": "object"}),
]


class BatchIn(ScopeIn):
    """At least one of ``ids`` and ``where`` is required."""

    model_config = ConfigDict(json_schema_extra={"allOf": _CHOOSES})

    ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_BATCH, description=IDS)
    where: WhereFilter | None = Field(None, description=WHERE)
    states: list[MemoryState] | None = Field(None, min_length=1, description=STATES)
    dry_run: bool = Field(False, description=DRY_RUN)
    reason: Reason | None = Field(None, description="Why (kept in each memory's history).")

    def selection(self) -> dict[str, Any]:
        return {
            **self.scope(),
            "where": self.where,
            "states": self.states,
            "dry_run": self.dry_run,
            "reason": self.reason,
        }


class BatchUpdateIn(BatchIn):
    """At least one of ``metadata``, ``valid_from``, ``valid_to`` and ``expires_at`` is
    required too."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                *_CHOOSES,
                some_of("metadata", "valid_from", "valid_to", "expires_at",
                        metadata={"type": "object"}),
            ]
        }
    )  # fmt: skip

    metadata: Metadata | None = Field(
        None, description="Merged into each memory's metadata (a key set to null is removed)."
    )
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    expires_at: Timestamp | None = Field(
        None, description="When the memories stop being recalled (archived, never deleted)."
    )


class BatchOut(BaseModel):
    """What a batch change chose."""

    count: int = Field(description="How many memories changed (or would, on a dry run).")
    ids: list[str] = Field(description=f"Their ids (on a dry run, the first {SHOWN_IDS}).")
    dry_run: bool


# -- responses ------------------------------------------------------------------------------------
class MemoryOut(BaseModel):
    """One memory (the current version unless it comes from a versions listing)."""

    id: str
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None
    kind: MemoryKind
    text: str
    sources: list[str]
    keys: list[str]
    entities: list[str]
    actor: str | None
    subject: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    recorded_at: datetime
    expired_at: datetime | None
    version: int
    supersedes: str | None
    state: MemoryState
    importance: float
    strength: float
    recall_count: int
    last_recalled: datetime | None
    layer: Layer
    metadata: dict[str, Any]
    expires_at: datetime | None = None


class SignalOut(BaseModel):
    rank: int
    score: float


class HitOut(MemoryOut):
    score: float
    context: str = Field(description="The line a prompt carries: '(date) speaker: text'.")
    excerpt: str | None = Field(
        None, description="The sentences a budgeted search chose, when not the whole text."
    )
    signals: dict[str, SignalOut] = Field(description="Which signals found it, at what rank.")


class SearchOut(BaseModel):
    search_id: str
    query: str
    hits: list[HitOut]


class AddOut(BaseModel):
    added: list[MemoryOut]
    duplicates: list[str] = Field(description="Message ids already stored (not stored again).")


class PageOut(BaseModel):
    memories: list[MemoryOut]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page.")


class HistoryEventOut(BaseModel):
    id: int | None
    memory_id: str
    version: int
    op: Operation
    at: datetime
    reason: str | None
    prompt_version: str | None
    text: str | None
    previous_text: str | None
    state: MemoryState | None


class ChangeScopeOut(BaseModel):
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None


class ChangeOut(BaseModel):
    """One entry of the change feed; resume after its ``id``."""

    id: int
    op: Operation
    memory_id: str
    version: int
    at: datetime
    scope: ChangeScopeOut | None = Field(description="None for a memory purged since.")
    state: MemoryState | None


class AliasOut(BaseModel):
    name: str
    count: int = Field(description="How often the person was called by this name.")
    sources: list[str] = Field(description="Ids of the first messages that did.")


class PersonOut(BaseModel):
    name: str = Field(description="The speaker's label, as the messages gave it.")
    aliases: list[AliasOut]
    messages: int


class TraitOut(BaseModel):
    attribute: str = Field(description="home, origin, job, employer, family:RELATION, ...")
    value: str
    since: datetime
    sources: list[str]
    until: datetime | None = Field(description="When a later message superseded it.")


class ProfileOut(BaseModel):
    person: str
    names: list[str]
    traits: list[TraitOut] = Field(description="What holds now.")
    history: list[TraitOut] = Field(description="What held before, superseded.")


class ProfilesOut(BaseModel):
    profiles: list[ProfileOut]
    text: str = Field(description="The profiles as compact lines within the budget.")


class MessageOut(BaseModel):
    id: str | None
    role: str
    speaker: str | None
    text: str
    timestamp: datetime | None
    metadata: dict[str, Any]


class ScopeOut(BaseModel):
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    memories: int
    active: int
    last_recorded: datetime | None


class LinkOut(BaseModel):
    """A link between two memories, seen from one of them."""

    kind: str = Field(description="`related` or `supersedes`.")
    direction: Literal["out", "in"] = Field(description="`out` when this memory is the source.")
    score: float
    at: datetime | None
    memory: MemoryOut = Field(description="The memory at the other end.")


class EntityOut(BaseModel):
    key: str = Field(description="The normalised name that identifies it.")
    name: str = Field(description="How it was first written.")
    mentions: int = Field(description="Active memories naming it.")


class TripleOut(BaseModel):
    subject_key: str
    subject: str
    predicate: str
    object_key: str
    object: str
    memory_id: str = Field(description="The memory that states it.")


class EntityViewOut(BaseModel):
    entity: EntityOut
    relations: list[TripleOut] = Field(description="The relations it takes part in.")
    memories: list[MemoryOut] = Field(description="The memories that name it.")


class GraphNodeOut(BaseModel):
    id: str = Field(description="`memory:<id>` or `entity:<key>`.")
    type: Literal["memory", "entity"]
    label: str = Field(description="The memory's text, or the entity's name.")
    memory_id: str | None = None
    kind: MemoryKind | None = None
    state: MemoryState | None = None
    mentions: int | None = Field(default=None, description="Active memories naming the entity.")


class GraphEdgeOut(BaseModel):
    source: str
    target: str
    type: Literal["link", "mentions", "relation"]
    label: str = Field(description="The link kind, `mentions`, or the relation's predicate.")
    score: float | None = None


class GraphOut(BaseModel):
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]


class FeedbackOut(BaseModel):
    used: int
    unused: int
    pairs: int


class MaintainOut(BaseModel):
    archived: list[str] = Field(description="Ids of the memories archived (or to be).")


class CountOut(BaseModel):
    memories: int


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str


class WhoAmIOut(BaseModel):
    tenant: str
    authenticated: bool = Field(description="False when the server runs without API keys.")


class ErrorBody(BaseModel):
    code: str = Field(description="invalid_input, scope_required, not_found, conflict, …")
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


# -- library types -> wire ------------------------------------------------------------------------
def memory_out(record: MemoryRecord) -> MemoryOut:
    return MemoryOut.model_validate(record.to_dict())


def hit_out(hit: Hit) -> HitOut:
    return HitOut.model_validate(hit.to_dict())


def batch_out(result: BatchResult) -> BatchOut:
    return BatchOut(count=result.count, ids=list(result.ids), dry_run=result.dry_run)


def history_out(event: HistoryEvent) -> HistoryEventOut:
    return HistoryEventOut.model_validate(event.to_dict())


def message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        role=message.role,
        speaker=message.speaker,
        text=message.text,
        timestamp=message.timestamp,
        metadata=dict(message.metadata),
    )


# -- wire -> library types (for RemoteMemory) -----------------------------------------------------
def record_from_wire(data: Mapping[str, Any], tenant: str) -> MemoryRecord:
    return MemoryRecord.from_dict(data, tenant=tenant)


def hit_from_wire(data: Mapping[str, Any], tenant: str) -> Hit:
    signals = {
        name: Signal(rank=int(s["rank"]), score=float(s["score"]))
        for name, s in (data.get("signals") or {}).items()
    }
    excerpt = data.get("excerpt")
    return Hit(
        record=record_from_wire(data, tenant),
        score=float(data["score"]),
        signals=signals,
        excerpt=None if excerpt is None else str(excerpt),
    )


def when_from_wire(value: object) -> datetime | None:
    return as_utc(value) if isinstance(value, str) else None


def history_from_wire(data: Mapping[str, Any]) -> HistoryEvent:
    return HistoryEvent(
        id=data.get("id"),
        memory_id=data["memory_id"],
        version=int(data["version"]),
        op=data["op"],
        at=when_from_wire(data["at"]) or datetime.now(UTC),
        reason=data.get("reason"),
        prompt_version=data.get("prompt_version"),
        text=data.get("text"),
        previous_text=data.get("previous_text"),
        state=data.get("state"),
    )


def message_from_wire(data: Mapping[str, Any]) -> Message:
    return Message(
        id=data.get("id"),
        role=data["role"],
        speaker=data.get("speaker"),
        text=data["text"],
        timestamp=when_from_wire(data.get("timestamp")),
        metadata=dict(data.get("metadata") or {}),
    )


def scope_from_wire(data: Mapping[str, Any]) -> dict[str, Any]:
    return {**data, "last_recorded": when_from_wire(data.get("last_recorded"))}


def change_from_wire(data: Mapping[str, Any], tenant: str) -> Change:
    where = data.get("scope")
    scope = None
    if isinstance(where, Mapping) and any(where.get(f) for f in ("user_id", "agent_id", "run_id")):
        ids = {f: where.get(f) for f in ("user_id", "agent_id", "run_id")}
        scope = MemoryScope(tenant=tenant, **ids)
    at = when_from_wire(data["at"]) or datetime.now(UTC)
    return Change(
        int(data["id"]), data["op"], data["memory_id"], int(data["version"]), at, scope,
        data.get("state"),
    )  # fmt: skip
