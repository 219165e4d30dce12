#!/usr/bin/env bash
# Set up a virtualenv with the dev extras (the agent frameworks included) and the TypeScript
# client's Node dependencies, then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
# The TypeScript client's Node dependencies, as its lock file pins them (its tests run from
# tests/integrations/test_typescript_client.py, against a real `memstrata serve`).
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
fi
# The dashboard's end-to-end tests (tests/e2e) drive the system's Chromium through Playwright.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
.venv/bin/ruff check src tests scripts/dump_openapi.py docs/integrations/examples
.venv/bin/ruff format --check src tests scripts/dump_openapi.py docs/integrations/examples
.venv/bin/mypy
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
