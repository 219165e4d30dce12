"""The server's own rules, written into the OpenAPI schema FastAPI generates.

FastAPI describes each parameter on its own; some rules bind several or say more than a type.
``describe`` writes them in, so that a request the schema calls valid is one the server takes:

- a scope: ``user_id``, ``agent_id`` and ``run_id`` become one required ``scope`` object of at
  least one property, sent as query parameters of their own (``style: form, explode: true``);
- ``confirm`` of purge and reset is required and must be ``true``;
- the ``metadata`` filter of a listing is a JSON object (``content: application/json``);
- the body of an import is JSON Lines, one export item a line (``exports``);
- what a server without API keys or without a language model does not do is left out.

Rules on one value (not blank, no NUL, the years of a timestamp, an enum narrower than its
type) are in the types of ``schemas``. What no schema can say (that a source message exists,
that ``valid_to`` is not before ``valid_from``) the server answers with a 4xx and a message.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from memstrata.server.exports import export_item_schema
from memstrata.server.schemas import MetadataFilter

SCOPE = ("user_id", "agent_id", "run_id")
COMPONENTS = "#/components/schemas/{model}"


def describe(schema: dict[str, Any], *, keys: bool, llm: bool) -> dict[str, Any]:
    """``schema`` with the rules above written in (changed in place, and returned)."""
    if not llm:
        schema["paths"].pop("/v1/reprocess", None)
    for operations in schema["paths"].values():
        for operation in operations.values():
            parameters = operation.get("parameters", [])
            if set(SCOPE) <= {p["name"] for p in parameters if p["in"] == "query"}:
                parameters = operation["parameters"] = scope_parameter(parameters)
            for parameter in parameters:
                if parameter["in"] == "query" and parameter["name"] == "confirm":
                    must_be_true(parameter)
                if parameter["in"] == "query" and parameter["name"] == "metadata":
                    as_json(parameter)
            if not keys:
                operation.pop("security", None)
                operation.get("responses", {}).pop("401", None)
    if not keys:
        schema.get("components", {}).pop("securitySchemes", None)
    import_body(schema)
    return schema


def scope_parameter(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``parameters`` with the three scope fields replaced by one ``scope`` object."""
    fields = {p["name"]: p for p in parameters if p["in"] == "query" and p["name"] in SCOPE}
    properties = {
        name: {**_not_null(p["schema"]), "description": p.get("description", "")}
        for name, p in fields.items()
    }
    scope = {
        "name": "scope",
        "in": "query",
        "required": True,
        "style": "form",
        "explode": True,
        "description": "Whose memory: at least one of `user_id`, `agent_id` and `run_id`, "
        "each a query parameter of its own.",
        "schema": {
            "type": "object",
            "properties": properties,
            "minProperties": 1,
            "additionalProperties": False,
        },
    }
    rest = [p for p in parameters if not (p["in"] == "query" and p["name"] in SCOPE)]
    return [scope, *rest]


def must_be_true(parameter: dict[str, Any]) -> None:
    parameter["required"] = True
    parameter["schema"] = {"type": "boolean", "enum": [True], "description": "Must be true."}


def as_json(parameter: dict[str, Any]) -> None:
    """The listing's ``metadata`` filter: a JSON object of scalars, sent as one string."""
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


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an ``anyOf [X, null]`` schema."""
    branches = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    return dict(branches[0])
