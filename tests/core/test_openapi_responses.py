"""The response check the suite runs on every app finds what the document does not describe."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server.core.api import Routes, json_response
from tests.openapi_responses import Checker


class Greeting(BaseModel):
    text: str


routes = Routes("greetings")


def _by_hand(body: dict[str, Any]) -> web.Response:
    """JSON built without its wire model (``json_response`` takes only models): drift."""
    return web.Response(text=json.dumps(body), content_type="application/json")


@routes.route("GET", "/api/right", summary="As documented", responses={200: Greeting}, auth=False)
async def right(request: web.Request) -> web.Response:
    return json_response(Greeting(text="hello"))


@routes.route("GET", "/api/wrong", summary="A number for text", responses={200: Greeting})
async def wrong(request: web.Request) -> web.Response:
    return _by_hand({"text": 3})


@routes.route("GET", "/api/extra", summary="A field too many", responses={200: Greeting})
async def extra(request: web.Request) -> web.Response:
    return _by_hand({"text": "hello", "secret": "s3cr3t"})


@routes.route("GET", "/api/accepted", summary="An unlisted status", responses={200: Greeting})
async def accepted(request: web.Request) -> web.Response:
    return json_response(Greeting(text="later"), status=202)


@routes.route("GET", "/api/text", summary="Documented as JSON", responses={200: Greeting})
async def text(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def page(request: web.Request) -> web.Response:
    return web.Response(text="<p>hello</p>", content_type="text/html")


async def test_every_mismatch_is_reported_and_a_match_is_not(
    aiohttp_client: Callable[..., Any],
) -> None:
    app = web.Application()
    routes.install(app)
    app.router.add_get("/page", page)  # not an API operation: not checked
    checker = Checker()
    checker.watch(app)
    client = await aiohttp_client(app)
    for path in ("/api/right", "/page"):
        assert (await client.get(path)).status == 200
    assert checker.take() == []
    for path in ("/api/wrong", "/api/extra", "/api/accepted", "/api/text"):
        await client.get(path)
    found = checker.take()
    assert len(found) == 4, found
    wrong_, extra_, accepted_, text_ = found
    assert wrong_.startswith("GET /api/wrong → 200: text: 3 is not of type 'string'")
    assert "'secret' was unexpected" in extra_
    assert accepted_ == "GET /api/accepted → 202: status not documented"
    assert text_ == "GET /api/text → 200: serves text/plain, documented application/json"
    assert checker.checked == 5  # the page is not an operation
