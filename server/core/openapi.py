"""The OpenAPI 3.1 document, generated from the app's route tables and pydantic models."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from server.core.api import Endpoint, endpoint_of

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        # Extension members (RFC 9457 section 3.2) some problems carry, so a client can act.
        "retry_after": {"type": "integer", "description": "Seconds until trying again helps"},
        "state": {"type": "string", "description": "The mentorship's or booking's state"},
        "mentorship_id": {"type": "string"},
        "latest_version": {"type": "integer"},
        "booking_ids": {"type": "array", "items": {"type": "string"}},
        "horizon_end": {"type": "string", "format": "date-time"},
        "opens_at": {"type": "string", "format": "date-time"},
        "closed_at": {"type": "string", "format": "date-time"},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        "conflicts": {"type": "array", "items": {"$ref": "#/components/schemas/Conflict"}},
        "nearest": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
INTERVAL_SCHEMA = {
    "type": "object",
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
    },
    "required": ["start", "end"],
}
CONFLICT_SCHEMA = {
    "type": "object",
    "description": "A time that could not be booked, and why",
    "properties": {
        "index": {"type": "integer"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "reason": {"type": "string"},
        "conflicting": {"type": "array", "items": INTERVAL_SCHEMA},
    },
    "required": ["index", "start", "end", "reason", "conflicting"],
}


def build_document(app: web.Application, *, title: str, version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA, "Conflict": CONFLICT_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = sub
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    for route in app.router.routes():
        endpoint = endpoint_of(route.handler)
        if endpoint is None:
            continue
        path = document_path(route, endpoint)
        op: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "operationId": f"{endpoint.method.lower()}_{_slug(path)}",
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(path)
        ]
        if endpoint.query is not None:
            for name, info in endpoint.query.model_fields.items():
                schema = endpoint.query.model_json_schema()["properties"][name]
                params.append(
                    {
                        "name": info.alias or name,
                        "in": "query",
                        "required": info.is_required(),
                        "schema": schema,
                    }
                )
        params.extend(
            {
                "name": header.name,
                "in": "header",
                "required": header.required,
                "schema": dict(header.schema),
                **({"description": header.description} if header.description else {}),
            }
            for header in endpoint.headers
        )
        if params:
            op["parameters"] = params
        if endpoint.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(endpoint.body)}},
            }
        elif endpoint.raw_body is not None:
            op["requestBody"] = {
                "required": False,
                "content": {endpoint.raw_body: {"schema": {"type": "string", "format": "binary"}}},
            }
        for status, response in endpoint.responses.items():
            if isinstance(response, type) and issubclass(response, BaseModel):
                content = {"application/json": {"schema": ref(response)}}
                op["responses"][str(status)] = {
                    "description": response.__name__,
                    "content": content,
                }
            elif isinstance(response, str) and status >= 400:
                # Every error leaves as a problem (core.middlewares.problems); the text says when.
                op["responses"][str(status)] = {"description": response, "content": PROBLEM}
            elif isinstance(response, str):
                # A media type, or several separated by commas (a file served as it is).
                types = [t.strip() for t in response.split(",")] if "/" in response else []
                op["responses"][str(status)] = {
                    "description": response,
                    "content": {t: {} for t in types},
                }
            else:
                op["responses"][str(status)] = {"description": "OK"}
        op["responses"]["default"] = {"description": "A problem (RFC 9457)", "content": PROBLEM}
        if endpoint.auth:
            op["security"] = [{"cookie": []}, {"bearer": []}]
        paths.setdefault(path, {})[endpoint.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "meridian_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def document_path(route: web.AbstractRoute, endpoint: Endpoint) -> str:
    """The route's key in the document's paths, so a served request finds its operation."""
    # aiohttp's canonical form drops each parameter's regex, whatever braces it holds.
    canonical = route.resource.canonical if route.resource is not None else endpoint.path
    return _PARAM.sub(r"{\1}", canonical)


def _slug(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", path).strip("_")
