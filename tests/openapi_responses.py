"""Every response the suite sees is checked against the app's own OpenAPI document.

The tests' ``aiohttp_client`` and ``aiohttp_server`` put :class:`Checker`'s middleware
outermost on every app they serve, so what a handler sends is compared with what the
document (``server.core.openapi``) promises for that operation: the status is one the
operation lists (or an error under ``default``), the media type is the documented one,
and a JSON body validates against the documented schema. Objects may carry only the
properties their schema names: a field served but not documented is drift too.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from server.core.api import Handler, endpoint_of
from server.core.openapi import build_document, document_path

DOCUMENT_URI = "urn:meridian:openapi"
JSON_TYPES = ("application/json", "application/problem+json")


@dataclass
class Checked:
    """The documents built so far (apps of one route table share one) and their validators."""

    registry: Registry[Any]
    validators: dict[str, Any] = field(default_factory=dict)

    def validator(self, pointer: str) -> Any:
        found = self.validators.get(pointer)
        if found is None:
            found = OAS31Validator(
                {"$ref": f"{DOCUMENT_URI}#{pointer}"},
                registry=self.registry,
                format_checker=OAS31Validator.FORMAT_CHECKER,
            )
            self.validators[pointer] = found
        return found


_documents: dict[tuple[Any, ...], tuple[dict[str, Any], Checked]] = {}


def _document_of(app: web.Application) -> tuple[dict[str, Any], Checked]:
    key = tuple(
        (r.method, r.resource.canonical if r.resource else "", r.handler)
        for r in app.router.routes()
    )
    if key not in _documents:
        document = closed(build_document(app, title="Meridian API", version="1"))
        registry: Registry[Any] = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        _documents[key] = (document, Checked(registry))
    return _documents[key]


def closed(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every object schema refusing properties it does not name."""
    document = copy.deepcopy(document)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["components"]["schemas"])
    return document


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


class Checker:
    """Checks responses of the apps it watches; keeps the count and every mismatch."""

    KEY = web.AppKey("openapi_checker", object)

    def __init__(self) -> None:
        self.checked = 0
        self.violations: list[str] = []

    def watch(self, app: web.Application) -> None:
        """Put the check outermost on ``app``, unless it already runs or the app is frozen."""
        if app.frozen or self.KEY in app:
            return
        app[self.KEY] = self
        app.middlewares.insert(0, self._middleware)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.check(request, exc)
            raise
        self.check(request, response)
        return response

    def check(self, request: web.Request, response: web.StreamResponse) -> None:
        route = request.match_info.route
        endpoint = endpoint_of(route.handler)
        if endpoint is None:
            return  # pages, static files, feeds: not part of the API document
        document, checked = _document_of(request.app)
        path = document_path(route, endpoint)
        method = request.method.lower()
        where = f"{request.method} {path} → {response.status}"
        operation = document["paths"][path][method]
        status = str(response.status)
        self.checked += 1
        if status in operation["responses"]:
            key = status
        elif response.status >= 400 and "default" in operation["responses"]:
            key = "default"
        else:
            self.violations.append(f"{where}: status not documented")
            return
        content = operation["responses"][key].get("content", {})
        served = response.content_type
        body = response.body if isinstance(response, web.Response) else None
        if not content:
            if served in JSON_TYPES and body:
                self.violations.append(f"{where}: serves {served} the document does not mention")
            return
        if served not in content:
            documented = ", ".join(content)
            self.violations.append(f"{where}: serves {served}, documented {documented}")
            return
        if served not in JSON_TYPES or "schema" not in content[served] or body is None:
            return
        if not isinstance(body, bytes | bytearray):
            self.violations.append(f"{where}: a JSON body that is not bytes ({type(body)})")
            return
        value = json.loads(body)
        pointer = _pointer("paths", path, method, "responses", key, "content", served, "schema")
        for error in checked.validator(pointer).iter_errors(value):
            at = "/".join(str(p) for p in error.absolute_path) or "(body)"
            self.violations.append(f"{where}: {at}: {error.message}")

    def take(self) -> list[str]:
        """The mismatches found since the last call, forgotten once taken."""
        found, self.violations = self.violations, []
        return found
