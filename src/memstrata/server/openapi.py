"""The server's own rules, written into the OpenAPI schema FastAPI generates.

FastAPI describes each parameter on its own; some rules bind several or say more than a type.
``describe`` writes them in, so that a request the schema calls valid is one the server takes:

- ``confirm`` of purge and reset is required and must be ``true``;
- the ``metadata`` filter of a listing is a JSON object (``content: application/json``);
- the listing's ``where`` filter expression is a JSON object too; its grammar (docs/filters.md)
  is the library's to check, with a 422 that says where and why;
- the body of an import is JSON Lines, one export item a line (``exports``);
- a call whose scope is in its query names ``x-at-least-one-of: [user_id, agent_id, run_id]``
  and says so in words: OpenAPI has no way to require one of several parameters (a ``scope``
  object sent as ``style: form, explode: true`` could, but generated clients such as
  openapi-fetch send an object parameter as ``scope[user_id]=…``);
- a server without API keys leaves out the key scheme and its 401 answers.

Rules on one value (not blank, no NUL, the years of a timestamp, an enum narrower than its
type) and on a body (a scope, what an update needs) are in the models of ``schemas``. What no
schema can say (that a source message exists, that ``valid_to`` is not before ``valid_from``)
the server answers with a 4xx and a message.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from memstrata.server.exports import export_item_schema
from memstrata.server.schemas import MetadataFilter

SCOPE = ("user_id", "agent_id", "run_id")
COMPONENTS = "#/components/schemas/{model}"


def describe(schema: dict[str, Any], *, keys: bool) -> dict[str, Any]:
    """``schema`` with the rules above written in (changed in place, and returned)."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            if set(SCOPE) <= {p["name"] for p in parameters if p["in"] == "query"}:
                needs_a_scope(operation)
            for parameter in parameters:
                if parameter["in"] == "query" and parameter["name"] == "confirm":
                    must_be_true(parameter)
                if parameter["in"] == "query" and parameter["name"] in ("metadata", "where"):
                    as_json(parameter)
            if not keys:
                operation.pop("security", None)
                operation.get("responses", {}).pop("401", None)
    if not keys:
        schema.get("components", {}).pop("securitySchemes", None)
    import_body(schema)
    return schema


def needs_a_scope(operation: dict[str, Any]) -> None:
    operation["x-at-least-one-of"] = list(SCOPE)
    said = "Name a scope: at least one of `user_id`, `agent_id` and `run_id` (else 422)."
    operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{said}".lstrip()


def must_be_true(parameter: dict[str, Any]) -> None:
    parameter["required"] = True
    parameter["schema"] = {"type": "boolean", "enum": [True], "description": "Must be true."}


def as_json(parameter: dict[str, Any]) -> None:
    """A listing's JSON filter, sent as one string: ``metadata`` (an object of scalars) or
    ``where`` (an expression: an object)."""
    filter_schema: dict[str, Any] = {"type": "object", "minProperties": 1}
    if parameter["name"] == "metadata":
        filter_schema = TypeAdapter(MetadataFilter).json_schema()
    parameter.pop("schema", None)
    parameter["content"] = {"application/json": {"schema": filter_schema}}


def import_body(schema: dict[str, Any]) -> None:
    operation = schema["paths"].get("/v1/import", {}).get("post")
    if operation is None:
        return
    item, definitions = export_item_schema(COMPONENTS)
    schema.setdefault("components", {}).setdefault("schemas", {}).update(definitions)
    operation["requestBody"] = {
        "required": False,
        "description": "An export: JSON Lines, one item a line (a header, messages, then "
        "memories). Each line may be as long as the body limit, the whole as long as the "
        "import limit.",
        "content": {"application/x-ndjson": {"schema": {"type": "array", "items": item}}},
    }
