"""Schemathesis against the server's own OpenAPI schema, over real HTTP: for every operation,
a bounded number of generated requests (valid and invalid), checking that nothing answers 5xx,
every response matches its documented status, content type and schema, invalid input is
refused, and nothing is served without the API key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from memstrata.ports import ApiKey
from memstrata.server.auth import hash_secret
from memstrata.server.rest import create_app
from memstrata.server.runner import running
from memstrata.stores import open_store

pytestmark = pytest.mark.slow

#: A fixed key: schemathesis asks for it while collecting, before any fixture runs.
SECRET = "ms_fuzzing-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schema = schemathesis.openapi.from_dict(
    create_app(":memory:", embedder="hashing", require_keys=True).openapi()
)


@schema.auth()
class Bearer:
    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return SECRET

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    store = open_store(db)
    store.put_api_key(
        ApiKey(id="key_fuzz", tenant="fuzz", key_hash=hash_secret(SECRET),
               created_at=datetime.now(UTC))
    )  # fmt: skip
    store.close()
    with running(create_app(db, embedder="hashing")) as url:
        yield url


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_survives_generated_requests(case: schemathesis.Case, server: str) -> None:
    # "Schema-valid data is accepted" cannot hold: the schema cannot say "at least one of
    # user_id, agent_id and run_id", that a cursor must come from next_cursor, or that
    # `sources` must name stored messages; those get a 4xx with a message, by design.
    case.call_and_validate(base_url=server, excluded_checks=[positive_data_acceptance])
