"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web
from pydantic import BaseModel

from server.core.api import Routes, json_response
from server.core.errors import Problem
from server.core.keys import BUS, DB, METRICS, SETTINGS, WEBSOCKETS
from server.core.openapi import build_document

log = logging.getLogger(__name__)
routes = Routes("operations")
RETRY_SECONDS = 5


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@routes.route("GET", "/healthz", summary="Liveness", responses={200: Health}, auth=False)
async def healthz(request: web.Request) -> web.Response:
    return json_response(Health(status="ok"))


@routes.route(
    "GET",
    "/readyz",
    summary="Readiness: the database answers, and the Redis bus is connected",
    responses={200: Health, 503: "application/problem+json"},
    auth=False,
)
async def readyz(request: web.Request) -> web.Response:
    checks: dict[str, str] = {}
    app = request.app
    probes = {"database": app[DB].ping()}
    if app[SETTINGS].redis_url:
        probes["redis"] = app[BUS].ping()
    for name, probe in probes.items():
        try:
            await asyncio.wait_for(probe, 2)
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = "failing"
    failing = sorted(name for name, result in checks.items() if result != "ok")
    if failing:
        # A 5xx like any other: problem+json, with the checks for the operator.
        raise Problem(
            503,
            f"Not ready: {' and '.join(failing)} not answering.",
            headers={"Retry-After": str(RETRY_SECONDS)},
            extra={"checks": checks},
        )
    return json_response(Health(status="ok", checks=checks))


@routes.route(
    "GET", "/metrics", summary="Prometheus metrics", responses={200: "text/plain"}, auth=False
)
async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    m.websockets.set(len(request.app[WEBSOCKETS]))
    response = web.Response(body=m.render())
    response.headers["Content-Type"] = m.content_type
    return response


@routes.route(
    "GET",
    "/api/openapi.json",
    summary="This document",
    responses={200: "application/json"},
    auth=False,
)
async def openapi(request: web.Request) -> web.Response:
    # The document describes the wire models; it is not one itself.
    document = build_document(request.app, title="Meridian API", version="1")
    return web.Response(text=json.dumps(document), content_type="application/json")
