"""The export format as the wire describes it: one JSON object a line (a header, then messages,
then memories, then the scopes' settings), written by ``GET /v1/export`` and read by
``POST /v1/import``.

These models only describe: the import is checked by ``Memory.import_`` (every line, before
anything is written), as it is from a file. The schema says what each line of an export holds;
what ties a line to others or to the store (a memory's sources are messages of the file or of
its scope; more recalls allow more strength) is the importer's to check, with a 4xx naming the
line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from memstrata.lifecycle.strength import DEFAULT_POLICY
from memstrata.options import Extraction
from memstrata.read.lessons import MAX_LESSONS, MAX_USED
from memstrata.server.schemas import (
    CITING_KINDS,
    INT64,
    Id,
    Integral,
    Label,
    Metadata,
    Name,
    Person,
    Prose,
    Reason,
    ScopeIn,
    Text,
    Timestamp,
    Wire,
    cites_sources,
    some_of,
)
from memstrata.types import Layer, MemoryKind, MemoryState, Operation

#: The strength of a memory never recalled (more recalls allow more, which this leaves out).
STRENGTH = DEFAULT_POLICY.base_strength
Count = Annotated[int, Field(ge=0, le=2**31), Integral]
Version = Annotated[int, Field(ge=1, le=2**31), Integral]
Score = Annotated[float, Field(ge=-1e9, le=1e9)]
Base64 = Annotated[
    str, Field(pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
]


class ExportHeader(Wire):
    type: Literal["header"]
    format: Literal[1, 2, 3] = Field(description="3 is written now; 1 and 2 are still read.")
    scope: dict[str, Name | None] = Field({}, description="The scope exported.")


class ExportMessageBody(ScopeIn):
    id: Id
    role: Label = "user"
    speaker: Label | None = None
    text: Text
    timestamp: Timestamp | None = None
    metadata: Metadata = Field(default_factory=dict)


class ExportStatus(Wire):
    """How the LLM write path went for a message."""

    status: Literal["done", "failed"]
    attempts: Count = 1
    at: Timestamp
    prompt_version: Name | None = None
    error: Prose | None = None


class ExportMessage(Wire):
    type: Literal["message"]
    message: ExportMessageBody
    status: ExportStatus | None = None


class ExportRecord(ScopeIn):
    """A memory in one version, as ``GET /v1/memories/{id}`` shows it. An episode, fact,
    summary or thought cites the messages it comes from (each a message of the file, or one
    stored in its scope)."""

    model_config = ConfigDict(
        json_schema_extra={
            **some_of("user_id", "agent_id", "run_id"),
            **cites_sources(["episode", *CITING_KINDS], None),
        }
    )

    id: Id
    kind: MemoryKind
    text: Text
    sources: list[Id] = Field(default_factory=list)
    keys: list[Text] = Field(default_factory=list)
    entities: list[Label] = Field(default_factory=list)
    actor: Person | None = None
    subject: Person | None = None
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None
    recorded_at: Timestamp | None = None
    expired_at: Timestamp | None = None
    version: Version = 1
    supersedes: Id | None = None
    state: MemoryState = "active"
    importance: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    strength: Annotated[float, Field(ge=STRENGTH[0], le=STRENGTH[1])] = Field(
        description="Required: an import reads a missing one as 1, below any memory's least."
    )
    recall_count: Count = 0
    last_recalled: Timestamp | None = None
    layer: Layer = "short"
    metadata: Metadata = Field(default_factory=dict)


class ExportHistory(Wire):
    id: Annotated[int, Field(ge=1, le=INT64), Integral] | None = None
    memory_id: Id
    version: Version
    op: Operation
    at: Timestamp
    reason: Reason | None = None
    prompt_version: Name | None = None
    text: Prose | None = None
    previous_text: Prose | None = None
    state: MemoryState | None = None


class ExportLink(Wire):
    """A link whose source is the memory of its line."""

    target: Id
    kind: Name
    score: Score = 0.0
    at: Timestamp | None = None


class ExportEntity(Wire):
    key: Name
    name: Name | None = None


class ExportRelation(Wire):
    subject_key: Name
    subject: Name
    predicate: Name
    object_key: Name
    object: Name


class ExportGraph(Wire):
    entities: list[ExportEntity] = Field(default_factory=list)
    relations: list[ExportRelation] = Field(default_factory=list)


class ExportMemory(Wire):
    type: Literal["memory"]
    record: ExportRecord = Field(description="The current version.")
    versions: list[ExportRecord] = Field([], description="The earlier versions, oldest first.")
    history: list[ExportHistory] = Field([], description="Every change, oldest first.")
    links: list[ExportLink] | None = None
    graph: ExportGraph | None = None


class ExportScope(ScopeIn):
    """The scope a settings item is of, within the tenant the file is imported into."""


class ExportLesson(Wire):
    """A question feedback came from, and the memories that answered it."""

    terms: list[Name] = Field(description="The question's search terms.")
    vector: Base64 | None = Field(
        None, description="The question's embedding: base64 of little-endian float16 values."
    )
    used: dict[Id, Count] = Field(
        max_length=MAX_USED, description="Each memory that answered it, and how often."
    )


class ExportLessons(Wire):
    embedder: Name | None = Field(None, description="The embedder the vectors come from.")
    items: list[ExportLesson] = Field([], max_length=MAX_LESSONS)


class ExportFeedback(Wire):
    """What feedback taught a scope: its reranker model and its lessons."""

    weights: dict[Name, Score] = Field(default_factory=dict)
    updates: Count = 0
    lessons: ExportLessons | None = None


class ExportSettings(Wire):
    """A scope's own settings (format 3): written where the importing store has none."""

    type: Literal["settings"]
    scope: ExportScope
    extraction: Extraction | None = Field(None, description="The scope's own extraction rules.")
    feedback: ExportFeedback | None = None


ExportItem = Annotated[
    ExportHeader | ExportMessage | ExportMemory | ExportSettings, Field(discriminator="type")
]


def export_item_schema(ref_template: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON Schema of one line of an export, and the definitions it refers to."""
    schema = TypeAdapter(ExportItem).json_schema(ref_template=ref_template)
    return schema, schema.pop("$defs", {})
