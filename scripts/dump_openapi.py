"""Write the REST API's OpenAPI document as JSON (the TypeScript client is generated from it).

    python scripts/dump_openapi.py clients/typescript/openapi.json

The document is the one a server with API keys serves (so it names the key scheme and the 401
answers); ``scripts/gen_ts_client.sh`` runs this, then the TypeScript generator.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from memstrata.server.rest import create_app


def openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Path(tmp) / "openapi.db", embedder="hashing", require_keys=True)
        document: dict[str, Any] = app.openapi()
        app.state.tenants.close()
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/dump_openapi.py OUT.json")
    Path(sys.argv[1]).write_text(render(openapi_document()), encoding="utf-8")
