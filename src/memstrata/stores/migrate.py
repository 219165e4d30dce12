"""Copy everything from one store to another (SQLite to PostgreSQL, back, or alike), verified.

The copy goes tenant by tenant and scope by scope through the stores' own
``export``/``import_`` (with vectors), so any two stores can exchange data. It is:

- lossless for what the export format holds: messages with the LLM write path's status of each
  (done or failed, attempts, prompt version, error), memories, every version, every history row,
  vectors, the links between memories, the entity graph (the entities each memory names and the
  relations it states), the embedder, the API keys, what feedback taught (the reranker models
  of each tenant and of each copied scope, where the target has none of its own) and what the
  write path keeps of each copied scope (its people table, profiles and extraction rules, where
  the target keeps none of its own); history rows
  get new ids in the target, nothing else changes (saved searches, kept 30 days for feedback,
  are not copied);
- verified: counts and an order-free checksum of every record, version, history row, vector,
  link, entity mention, relation, message and message status are computed on both sides and
  compared (``TenantReport.ok``);
- resumable: memories are written in batches, each in one transaction, each memory with its
  graph and links (a link whose other end comes in a later batch is written all the same, and
  shows once that end is in); a memory the target already holds with the same checksum is
  skipped, one that differs stops the copy with a ``ConflictError``. Messages, and their status,
  are written only where missing.

Stop writers to the source while it runs: a memory changed during the copy shows as a mismatch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any, Protocol

from memstrata.errors import ConflictError, EmbedderMismatchError, InvalidInputError
from memstrata.ports import ApiKeys, Clock, StoredSettings, SystemClock, Transfer
from memstrata.read.learning import setting_keys
from memstrata.stores import codec
from memstrata.types import Scope
from memstrata.write import ledgers
from memstrata.write.pipeline import ruled_scopes, rules_key

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
_MODULUS = 1 << 256
#: Keys of an export item that are left out when there is nothing to carry.
_OPTIONAL = ("links", "graph", "status")

Progress = Callable[[str], None]


class Copyable(Transfer, ApiKeys, StoredSettings, Protocol):
    """What a copy reads of its source and writes to its target: scopes, API keys, settings
    and the embedder record."""


@dataclass
class Tally:
    """What one side holds of a tenant: counts, and a checksum that ignores order."""

    memories: int = 0
    versions: int = 0
    history: int = 0
    messages: int = 0
    vectors: int = 0
    #: Links (each counted with its source memory), entity mentions and relations of memories.
    links: int = 0
    entities: int = 0
    relations: int = 0
    #: Messages with a status of the LLM write path (done or failed).
    statuses: int = 0
    _sum: int = field(default=0, repr=False)

    @property
    def checksum(self) -> str:
        return f"{self._sum:064x}"

    def add(self, item: Mapping[str, Any], digest: bytes) -> None:
        if item["type"] == "message":
            self.messages += 1
            self.statuses += item.get("status") is not None
        else:
            self.memories += 1
            self.versions += len(item.get("versions") or ())
            self.history += len(item.get("history") or ())
            self.vectors += item.get("vector") is not None
            self.links += len(item.get("links") or ())
            graph = item.get("graph") or {}
            self.entities += len(graph.get("entities") or ())
            self.relations += len(graph.get("relations") or ())
        self._sum = (self._sum + int.from_bytes(digest, "big")) % _MODULUS

    def counts(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        out["checksum"] = self.checksum
        return out


@dataclass
class TenantReport:
    tenant: str
    source: Tally = field(default_factory=Tally)
    target: Tally = field(default_factory=Tally)
    copied: int = 0
    skipped: int = 0
    #: Memories the target holds in the copied scopes that the source does not.
    target_only: int = 0

    @property
    def ok(self) -> bool:
        return self.source == self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "ok": self.ok,
            "copied": self.copied,
            "skipped": self.skipped,
            "target_only": self.target_only,
            "source": self.source.counts(),
            "target": self.target.counts(),
        }


@dataclass
class MigrationReport:
    tenants: list[TenantReport] = field(default_factory=list)
    api_keys_copied: int = 0
    #: Reranker models that feedback trained (a tenant's or a scope's), copied.
    learned_models_copied: int = 0
    #: Settings of copied scopes (people tables, profiles, extraction rules), copied; the rules
    #: of scopes that hold nothing yet too.
    scope_settings_copied: int = 0
    embedder: tuple[str, int] | None = None

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tenants)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "embedder": list(self.embedder) if self.embedder else None,
            "api_keys_copied": self.api_keys_copied,
            "learned_models_copied": self.learned_models_copied,
            "scope_settings_copied": self.scope_settings_copied,
            "tenants": [t.to_dict() for t in self.tenants],
        }


def item_key(item: Mapping[str, Any]) -> tuple[str, ...]:
    """What identifies an item within a tenant: a memory's id; a message's exact scope and id."""
    if item["type"] == "memory":
        return ("memory", str(item["record"]["id"]))
    m = item["message"]
    return ("message", *(str(m.get(f) or "") for f in SCOPE_FIELDS), str(m["id"]))


def item_digest(item: Mapping[str, Any]) -> bytes:
    """The checksum of an item: everything it holds (links, graph and message status included)
    except store-assigned history ids; an empty ``links``, ``graph`` or ``status`` counts as
    absent."""
    canonical = {k: v for k, v in item.items() if k not in _OPTIONAL or v}
    if item["type"] == "memory":
        canonical["history"] = [{k: v for k, v in h.items() if k != "id"} for h in item["history"]]
        canonical.setdefault("vector", None)
    return hashlib.sha256(codec.dumps(canonical).encode("utf-8")).digest()


def roots(scopes: Sequence[Scope]) -> list[Scope]:
    """The scopes not contained in another one of ``scopes``: exporting these covers them all."""
    present = {(s.tenant, s.user_id, s.agent_id, s.run_id) for s in scopes}
    out = []
    for s in scopes:
        given = [(i, v) for i, v in enumerate((s.user_id, s.agent_id, s.run_id)) if v]
        covered = False
        for size in range(1, len(given)):
            for subset in combinations(given, size):
                values: list[str | None] = [None, None, None]
                for i, v in subset:
                    values[i] = v
                if (s.tenant, *values) in present:
                    covered = True
        if not covered:
            out.append(s)
    return out


def _matches(scope: Scope, only: Mapping[str, str]) -> bool:
    return all(getattr(scope, k) == v for k, v in only.items())


def _unique_items(
    store: Transfer, scopes: Iterable[Scope], seen: set[tuple[str, ...]] | None = None
) -> Iterator[tuple[Scope, dict[str, Any]]]:
    """Every message and memory under ``scopes``, once each (roots may overlap)."""
    own: set[tuple[str, ...]] = set() if seen is None else seen
    for root in scopes:
        for item in store.export(root, vectors=True):
            if item["type"] == "header":
                continue
            key = item_key(item)
            if key in own:
                continue
            own.add(key)
            yield root, item


def migrate(
    source: Copyable,
    target: Copyable,
    *,
    tenants: Sequence[str] | None = None,
    only: Mapping[str, str] | None = None,
    batch_size: int = 200,
    progress: Progress | None = None,
    clock: Clock | None = None,
) -> MigrationReport:
    """Copy ``source`` into ``target`` and verify the copy; see the module's docstring.

    ``tenants`` limits the copy to those tenants (default: every tenant of the source);
    ``only`` to the scopes whose ``user_id``/``agent_id``/``run_id`` equal the given values.
    ``progress`` is called with a line of text after each batch. The target receives the
    messages at the time ``clock`` says when the copy starts (default: now).
    """
    if batch_size < 1:
        raise InvalidInputError("batch_size must be at least 1")
    only = {k: v for k, v in (only or {}).items() if v}
    unknown = set(only) - set(SCOPE_FIELDS)
    if unknown:
        raise InvalidInputError(f"unknown scope fields: {', '.join(sorted(unknown))}")
    say = progress or (lambda line: None)
    report = MigrationReport()
    at = (clock or SystemClock()).now()

    embedder = source.embedder_info()
    there = target.embedder_info()
    if embedder is not None and there is not None and embedder != there:
        raise EmbedderMismatchError(
            f"the source was built with the embedder {embedder[0]} ({embedder[1]} dimensions) "
            f"and the target with {there[0]} ({there[1]}); copy into an empty store"
        )
    if embedder is not None and there is None:
        target.set_embedder_info(*embedder)
    report.embedder = embedder

    all_scopes = [s for s in source.exact_scopes() if _matches(s, only)]
    # Scopes given rules of their own before they held anything: their settings alone.
    ruled = [s for s in ruled_scopes(source) if _matches(s, only)]
    keys = source.api_keys()
    names = sorted({s.tenant for s in [*all_scopes, *ruled]} | {k.tenant for k in keys})
    if tenants is not None:
        names = [t for t in names if t in set(tenants)]

    if not only:
        held = {k.id: k for k in target.api_keys()}
        for key in keys:
            if key.tenant not in names:
                continue
            if key.id not in held:
                target.put_api_key(key)
                report.api_keys_copied += 1
            elif key.revoked_at is not None and held[key.id].revoked_at is None:
                target.revoke_api_key(key.id, key.revoked_at)

    for tenant in names:
        scopes = roots([s for s in all_scopes if s.tenant == tenant])
        result, copied_keys = _copy_tenant(source, target, tenant, scopes, batch_size, say, at)
        _verify(target, scopes, copied_keys, result)
        exact = [s for s in all_scopes if s.tenant == tenant]
        report.learned_models_copied += _copy_learned(source, target, exact, tenant_wide=not only)
        settled = dict.fromkeys([*exact, *(s for s in ruled if s.tenant == tenant)])
        report.scope_settings_copied += _copy_scope_settings(source, target, list(settled))
        report.tenants.append(result)
        say(
            f"tenant {tenant}: {result.copied} memories copied, {result.skipped} already there; "
            + ("verified" if result.ok else "MISMATCH")
        )
    return report


def _copy_learned(
    source: StoredSettings, target: StoredSettings, scopes: Sequence[Scope], *, tenant_wide: bool
) -> int:
    """Copy the reranker models feedback trained for the tenant (``tenant_wide``) and for each
    scope that holds some of ``scopes`` (feedback may be given at ``user_id`` alone for memories
    stored under a user and an agent) where the target has none; a model the target learned
    itself is kept."""
    keys: dict[str, None] = {}
    for scope in scopes:
        given = list(scope.as_dict().items())
        for size in range(1, len(given) + 1):
            for subset in combinations(given, size):
                tenant_key, scope_key = setting_keys(Scope(tenant=scope.tenant, **dict(subset)))
                if tenant_wide:
                    keys[tenant_key] = None
                keys[scope_key] = None
    copied = 0
    for key in keys:
        value = source.get_setting(key)
        if value is not None and target.get_setting(key) is None:
            target.put_setting(key, value)
            copied += 1
    return copied


def _copy_scope_settings(
    source: StoredSettings, target: StoredSettings, scopes: Sequence[Scope]
) -> int:
    """Copy what the write path keeps of each of ``scopes`` beside its memories: its people
    table and profiles (``write.ledgers``), all of them or, where the target keeps some of its
    own, none; and its own extraction rules, where the target has none."""
    copied = 0
    for scope in scopes:
        for keys in (ledgers.kept_keys(source, scope), [rules_key(scope)]):
            if any(target.get_setting(key) for key in keys):
                continue
            values = {key: source.get_setting(key) for key in keys}
            found = {key: value for key, value in values.items() if value}
            if found:
                target.put_settings(found)
                copied += len(found)
    return copied


def _copy_tenant(
    source: Copyable,
    target: Copyable,
    tenant: str,
    scopes: Sequence[Scope],
    batch_size: int,
    say: Progress,
    at: datetime,
) -> tuple[TenantReport, set[tuple[str, ...]]]:
    result = TenantReport(tenant=tenant)
    seen: set[tuple[str, ...]] = set()
    done: dict[str, bytes] = {}
    pending: list[dict[str, Any]] = []
    pending_memories = 0

    def flush() -> None:
        nonlocal pending_memories
        if not pending:
            return
        result.copied += target.import_(tenant, pending, at=at)
        pending.clear()
        pending_memories = 0
        say(f"tenant {tenant}: {result.copied} memories copied, {result.skipped} already there")

    current: Scope | None = None
    for root, item in _unique_items(source, scopes, seen):
        if root is not current:
            flush()  # what the target holds already, read one root scope at a time
            current = root
            done = {
                str(i["record"]["id"]): item_digest(i)
                for i in target.export(root, vectors=True)
                if i["type"] == "memory"
            }
        digest = item_digest(item)
        result.source.add(item, digest)
        if item["type"] == "memory":
            memory_id = str(item["record"]["id"])
            if memory_id in done:
                if done[memory_id] != digest:
                    raise ConflictError(
                        f"memory {memory_id!r} of tenant {tenant!r} is in the target already, "
                        "with other content; remove it there or copy into an empty store"
                    )
                result.skipped += 1
                continue
            pending_memories += 1
        pending.append(item)
        if pending_memories >= batch_size:
            flush()
    flush()
    return result, seen


def _verify(
    target: Transfer, scopes: Sequence[Scope], wanted: set[tuple[str, ...]], result: TenantReport
) -> None:
    """Tally the target's copies of what the source holds (and count what it holds besides)."""
    for _, item in _unique_items(target, scopes):
        if item_key(item) in wanted:
            result.target.add(item, item_digest(item))
        elif item["type"] == "memory":
            result.target_only += 1
