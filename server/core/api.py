"""Route tables that describe themselves.

A feature declares each endpoint once with ``Routes.route``; the same declaration
registers the aiohttp route and feeds the OpenAPI document, so the document cannot
drift from what is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.core.edge import field_name, read_json_value
from server.core.errors import BadRequest, Invalid, Problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)
ENDPOINT_ATTR = "__meridian_endpoint__"


@dataclass(frozen=True)
class HeaderParam:
    """A request header an endpoint reads as a value (tus's Upload-Offset, say)."""

    name: str
    schema: Mapping[str, Any]
    required: bool = False
    description: str = ""


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
    headers: tuple[HeaderParam, ...] = ()
    raw_body: str | None = None
    """The media type of a body read as bytes rather than as a JSON model."""


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
        headers: tuple[HeaderParam, ...] = (),
        raw_body: str | None = None,
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
            headers=headers,
            raw_body=raw_body,
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
    """Parse and validate a JSON body; every failure is a problem a person can read.

    Nesting is capped, and NULs and lone surrogates are refused, before validation
    (``server.core.edge``); JSON values must then have exactly the documented types.
    """
    if request.content_type != "application/json":
        raise Problem(
            415,
            "Send the body as JSON with Content-Type: application/json.",
            title="Unsupported Media Type",
        )
    raw = await request.read()
    data = read_json_value(raw) if raw else None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    # JSON types are taken as they are, as the OpenAPI document states them: `false`
    # or "3" is not an integer. (Query strings are text, so read_query converts.)
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _invalid(exc) from None


def read_query(request: web.Request, model: type[M]) -> M:
    return validate(model, dict(request.query))


def validate(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> Invalid:
    errors = [
        {"field": field_name(err["loc"]), "message": _message(err)}
        for err in exc.errors(include_url=False)
    ]
    first = errors[0]
    return Invalid(f"{first['field']}: {first['message']}", errors)


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def json_response(model: BaseModel, status: int = 200) -> web.Response:
    """Serve a wire model: every JSON answer is one, so the OpenAPI document describes it."""
    return web.Response(
        status=status, text=model.model_dump_json(), content_type="application/json"
    )
