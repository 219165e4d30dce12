"""A plain (``def``) route's work runs in the thread pool, and its answer is checked against the
response model on the event loop: one trip through the pool a request, not two."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, field_validator

from memstrata.server.rest import ThreadedRoute, create_app
from memstrata.server.runner import running

#: Where each step of a request ran, by the name of its thread.
SEEN: dict[str, str] = {}


class Answer(BaseModel):
    value: str

    @field_validator("value")
    @classmethod
    def noted(cls, value: str) -> str:
        SEEN["checked"] = threading.current_thread().name
        return value


def app_with(route_class: type[APIRoute]) -> FastAPI:
    router = APIRouter(route_class=route_class)

    @router.get("/plain", response_model=Answer)
    def plain() -> dict[str, str]:
        SEEN["work"] = threading.current_thread().name
        return {"value": "x"}  # made an Answer, and so checked, by FastAPI

    @router.get("/loop")
    async def loop() -> dict[str, str]:
        return {"loop": threading.current_thread().name}

    app = FastAPI()
    app.include_router(router)
    return app


def test_a_plain_route_works_in_the_pool_and_is_checked_on_the_loop() -> None:
    SEEN.clear()
    with running(app_with(ThreadedRoute)) as url:
        assert httpx.get(f"{url}/plain").json() == {"value": "x"}
        loop = httpx.get(f"{url}/loop").json()["loop"]
    assert SEEN["work"] != loop
    assert SEEN["checked"] == loop


def test_fastapi_alone_would_check_it_in_the_pool() -> None:
    """What ``ThreadedRoute`` saves: without it, the check is a second trip to the pool."""
    SEEN.clear()
    with running(app_with(APIRoute)) as url:
        httpx.get(f"{url}/plain").raise_for_status()
        loop = httpx.get(f"{url}/loop").json()["loop"]
    assert SEEN["work"] != loop
    assert SEEN["checked"] != loop


def test_every_api_route_is_threaded(tmp_path: Path) -> None:
    app = create_app(tmp_path / "m.db", embedder="hashing")
    api = [r for r in app.state.api.routes if isinstance(r, APIRoute)]
    assert len(api) > 20
    assert all(isinstance(r, ThreadedRoute) for r in api)
    assert all(inspect.iscoroutinefunction(r.endpoint) for r in api)
