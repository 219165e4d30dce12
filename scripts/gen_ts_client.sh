#!/usr/bin/env bash
# Regenerate the TypeScript client's types from the REST API: dump the OpenAPI document of
# memstrata.server.rest.create_app to clients/typescript/openapi.json, then run
# openapi-typescript (pinned in clients/typescript/package-lock.json) to write src/schema.ts.
# Run it after changing the REST API; tests/integrations/test_typescript_client.py fails until
# the checked-in copies match the code.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-.venv/bin/python}"
"$python" scripts/dump_openapi.py clients/typescript/openapi.json
cd clients/typescript
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent generate
