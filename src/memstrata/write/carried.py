"""What an export carries of a scope besides its messages and memories: the ``settings`` items
of export format 3 (``stores.codec``), one for each scope of the export (the one exported,
each that one of its messages or memories is stored in, and each within it given rules of its
own, ``pipeline.ruled_scopes``, though it holds nothing yet) that has any of them.

- ``extraction``: the scope's own extraction rules (``Memory.set_extraction``), as
  ``Memory.extraction`` shows them;
- ``feedback``: what feedback taught the scope (``read.learning``): its reranker model and its
  lessons, which memories answered which questions.

An import writes them where the importing store has none of its own: rules a scope was given
there, or feedback it learned there, are kept. The tenant's own model (learned from every scope)
is not carried: a scope's export is not the tenant's. The people table and the profiles are not
carried either: an import learns them again from the memories (``ledgers.learn_imported``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from memstrata.api import SCOPE_FIELDS
from memstrata.errors import InvalidInputError
from memstrata.options import Extraction, as_extraction
from memstrata.ports import StoredSettings
from memstrata.read import learning
from memstrata.types import Scope
from memstrata.write.pipeline import rules_key

#: The fields of a ``settings`` item, beside its ``type``.
FIELDS = frozenset({"type", "scope", "extraction", "feedback"})


def items(store: StoredSettings, scopes: Iterable[Scope]) -> Iterator[dict[str, Any]]:
    """A ``settings`` item for each of ``scopes`` that has rules or feedback of its own."""
    for scope in scopes:
        item: dict[str, Any] = {"type": "settings", "scope": scope.as_dict()}
        rules = store.get_setting(rules_key(scope))
        if rules:
            item["extraction"] = Extraction.stored(rules).model_dump(mode="json")
        taught = store.get_setting(learning.setting_keys(scope)[1])
        if taught:
            item["feedback"] = learning.stored_feedback(taught)
        if len(item) > 2:
            yield item


def scope_of(item: Mapping[str, Any], tenant: str) -> Scope | None:
    """The exact scope of an export's message or memory item (``None`` for another item)."""
    data = item.get("message") or item.get("record")
    return _exact(data, tenant) if isinstance(data, Mapping) else None


def to_store(item: Mapping[str, Any], tenant: str) -> dict[str, str]:
    """The settings a ``settings`` item writes in ``tenant``, keyed and written as the store
    keeps them; ``InvalidInputError`` saying what is wrong with it."""
    unknown = set(item) - FIELDS
    if unknown:
        raise InvalidInputError(f"a settings item has no field {sorted(unknown)[0]!r}")
    scope = _scope(item.get("scope"), tenant)
    out: dict[str, str] = {}
    if item.get("extraction") is not None:
        rules = as_extraction(item["extraction"])
        assert rules is not None
        out[rules_key(scope)] = rules.model_dump_json()
    if item.get("feedback") is not None:
        out[learning.setting_keys(scope)[1]] = learning.checked_feedback(item["feedback"])
    return out


def _scope(data: object, tenant: str) -> Scope:
    if not isinstance(data, Mapping) or set(data) - set(SCOPE_FIELDS):
        raise InvalidInputError(
            "a settings item needs a 'scope': an object of user_id, agent_id and run_id"
        )
    return _exact(data, tenant)


def _exact(data: Mapping[str, Any], tenant: str) -> Scope:
    """The exact scope whose fields ``data`` holds (``Scope`` checks each id)."""
    return Scope(tenant=tenant, **{f: data.get(f) for f in SCOPE_FIELDS})
