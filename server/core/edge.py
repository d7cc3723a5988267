"""Hostile text at the edge: NUL characters, lone surrogates and JSON nested without end.

PostgreSQL cannot store U+0000 in text while SQLite can, so a NUL that reached a query
failed on one database and was stored on the other; an unpaired surrogate (a JSON
``"\\udc80"``) is not text at all and fails on both. No field has a use for either, so
they are refused wherever text comes in, before a handler acts on it and with the same
422 on both databases: path and query parameters by the ``refuse_non_text`` middleware, JSON
bodies (keys and values at any depth) by ``read_json_value``, decoded header values and
form fields by their parsers through ``why_not_text`` and ``text_refused``. Header values
that are not UTF-8 are made readable rather than refused (see ``refuse_non_text``).
The rules themselves (what is not text, how deep JSON may nest) live in
``server.core.jsontext``, which has no web framework in it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from server.core.errors import BadRequest, Invalid
from server.core.jsontext import (
    NUL_MESSAGE,
    SURROGATE,
    TooDeep,
    field_name,
    first_non_text,
    loads,
    why_not_text,
)

__all__ = ["field_name", "read_json_value", "refuse_non_text", "text_refused", "why_not_text"]


def text_refused(field: str, why: str = NUL_MESSAGE) -> Invalid:
    """The 422 for a value of ``field`` that is not text (a NUL, unless ``why`` says else)."""
    name = field_name((field,))
    return Invalid(f"{name}: {why}.", [{"field": name, "message": why}])


def read_json_value(raw: bytes) -> Any:
    """A request body parsed as JSON, or the 400/422 that explains why it cannot be."""
    try:
        data = loads(raw)
    except TooDeep as exc:
        raise BadRequest(f"The body is too deeply nested: {exc}.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.") from None
    found = first_non_text(data)
    if found is not None:
        path, why = found
        raise text_refused(field_name(path), why)
    return data


@web.middleware
async def refuse_non_text(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No path or query parameter that is not text (a NUL) reaches a handler or a database.

    Header values are bytes: those that are not UTF-8 (aiohttp hands them on as lone
    surrogates) are read with U+FFFD for each such byte, so a cookie, a bearer token or
    a User-Agent can be hashed, compared and stored like any other text.
    """
    for name, value in request.match_info.items():
        why = why_not_text(value)
        if why is not None:
            raise text_refused(name, why)
    for name, value in request.query.items():
        why = why_not_text(name) or why_not_text(value)
        if why is not None:
            raise text_refused(name, why)
    if any(SURROGATE.search(value) for value in request.headers.values()):
        readable = [(k, SURROGATE.sub("\ufffd", v)) for k, v in request.headers.items()]
        request = request.clone(headers=readable)
    return await handler(request)
