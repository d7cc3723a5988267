"""Route tables that describe themselves.

A feature declares each endpoint once with ``Routes.route``; the same declaration
registers the aiohttp route and feeds the OpenAPI document, so the document cannot
drift from what is served.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.core.errors import BadRequest, Invalid, Problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)
ENDPOINT_ATTR = "__meridian_endpoint__"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, type[BaseModel] | str | None] = field(default_factory=dict)
    auth: bool = True


class Routes:
    """One feature's route table."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[tuple[Endpoint, Handler]] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        responses: Mapping[int, type[BaseModel] | str | None] | None = None,
        auth: bool = True,
    ) -> Callable[[Handler], Handler]:
        endpoint = Endpoint(
            method=method,
            path=path,
            summary=summary,
            tag=self.tag,
            body=body,
            query=query,
            responses=responses or {200: None},
            auth=auth,
        )

        def register(handler: Handler) -> Handler:
            setattr(handler, ENDPOINT_ATTR, endpoint)
            self.endpoints.append((endpoint, handler))
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for endpoint, handler in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, handler)


def endpoint_of(handler: Any) -> Endpoint | None:
    found = getattr(handler, ENDPOINT_ATTR, None)
    return found if isinstance(found, Endpoint) else None


async def read_json(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body; every failure is a problem a person can read."""
    if request.content_type != "application/json":
        raise Problem(
            415,
            "Send the body as JSON with Content-Type: application/json.",
            title="Unsupported Media Type",
        )
    raw = await request.read()
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return validate(model, data)


def read_query(request: web.Request, model: type[M]) -> M:
    return validate(model, dict(request.query))


def validate(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in err["loc"]) or "(body)",
                "message": _message(err),
            }
            for err in exc.errors(include_url=False)
        ]
        first = errors[0]
        raise Invalid(f"{first['field']}: {first['message']}", errors) from None


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def json_response(model: BaseModel | Mapping[str, Any], status: int = 200) -> web.Response:
    body = model.model_dump_json() if isinstance(model, BaseModel) else json.dumps(model)
    return web.Response(status=status, text=body, content_type="application/json")
