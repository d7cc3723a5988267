"""Errors as RFC 9457 problem documents.

Services raise ``Problem`` (or one of its named subclasses); the error middleware turns
it, any aiohttp HTTP error and any unexpected exception into
``application/problem+json`` so a client never sees an HTML error page or a bare 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://meridian.example/problems/"


class Problem(Exception):
    """An error a client can act on, rendered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_ or TYPE_BASE + self.title.lower().replace(" ", "-")
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors is not None:
            doc["errors"] = self.errors
        doc.update(self.extra)
        return doc

    def response(self) -> web.Response:
        return problem_response(self.status, self.body(), self.headers)


def problem_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


class BadRequest(Problem):
    def __init__(self, detail: str, **kw: Any) -> None:
        super().__init__(400, detail, **kw)


class Unauthorized(Problem):
    def __init__(self, detail: str = "Sign in to continue.", **kw: Any) -> None:
        super().__init__(401, detail, **kw)


class Forbidden(Problem):
    def __init__(self, detail: str, **kw: Any) -> None:
        super().__init__(403, detail, **kw)


class NotFound(Problem):
    def __init__(self, detail: str = "There is nothing here.", **kw: Any) -> None:
        super().__init__(404, detail, **kw)


class Conflict(Problem):
    def __init__(self, detail: str, **kw: Any) -> None:
        super().__init__(409, detail, **kw)


class Invalid(Problem):
    """422 with per-field ``errors``: ``[{"field": "email", "message": "..."}]``."""

    def __init__(self, detail: str, errors: Sequence[Mapping[str, Any]], **kw: Any) -> None:
        super().__init__(422, detail, title="Invalid input", errors=errors, **kw)


class TooManyRequests(Problem):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(
            429,
            detail,
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )


def field_error(field: str, message: str) -> Invalid:
    return Invalid(message, [{"field": field, "message": message}])


class ServiceUnavailable(Problem):
    """503 with ``Retry-After``: something the request needs is away for a moment."""

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(
            503,
            detail,
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )
