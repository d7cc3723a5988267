"""Hostile text at the edge: NUL characters, lone surrogates and JSON nested without end.

PostgreSQL cannot store U+0000 in text while SQLite can, so a NUL that reached a query
failed on one database and was stored on the other; an unpaired surrogate (a JSON
``"\\udc80"``) is not text at all and fails on both. No field has a use for either, so
they are refused wherever text comes in, before a handler acts on it and with the same
422 on both databases: path and query parameters by the ``refuse_non_text`` middleware, JSON
bodies (keys and values at any depth) by ``read_json_value``, decoded header values and
form fields by their parsers through ``why_not_text`` and ``text_refused``. Header values
that are not UTF-8 are made readable rather than refused (see ``refuse_non_text``).

The nesting check is written here because the standard library's parser recurses with
no limit of its own (a 100,000-deep array ends in RecursionError) and the parsers that
do stop have a fixed limit far above what any request needs; it is one linear pass over
the bytes before parsing, so a deep document costs no more than a flat one of its size.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from server.core.errors import BadRequest, Invalid

NUL = "\x00"
MAX_JSON_DEPTH = 32
NUL_MESSAGE = "NUL characters (U+0000) are not allowed"
SURROGATE_MESSAGE = "unpaired surrogates (U+D800 to U+DFFF) are not text"
_SURROGATE = re.compile("[\ud800-\udfff]")

# A JSON string, escapes included; an unterminated one runs to the end (the parser
# refuses it later). Possessive, so matching is linear whatever the input.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


class TooDeep(ValueError):
    """The document nests arrays and objects deeper than ``MAX_JSON_DEPTH``."""


def nesting_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in ``raw`` open more than ``limit`` levels deep."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if len(brackets) <= limit:
        return False
    depth = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif depth == 0:
            return False  # a closer with nothing open: the parser stops there, refusing
        else:
            depth -= 1
    return False


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def loads(raw: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses, before parsing, a document nested deeper than ``limit``,
    and NaN or Infinity, which JSON does not have."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if nesting_exceeds(data, limit):
        raise TooDeep(f"arrays and objects are nested more than {limit} levels deep")
    return json.loads(raw, parse_constant=_not_json)


def field_name(path: tuple[str | int, ...]) -> str:
    """A dotted field path as error documents name it, printable whatever its keys hold."""
    name = ".".join(str(p) for p in path) or "(body)"
    return _SURROGATE.sub("\ufffd", name.replace(NUL, "\\u0000"))


def why_not_text(value: str) -> str | None:
    """Why ``value`` cannot be taken (or stored) as text, or None when it can."""
    if NUL in value:
        return NUL_MESSAGE
    if _SURROGATE.search(value):
        return SURROGATE_MESSAGE
    return None


def first_non_text(
    value: Any, path: tuple[str | int, ...] = ()
) -> tuple[tuple[str | int, ...], str] | None:
    """The path to the first string (value or key) in parsed JSON that is not text, and why."""
    if isinstance(value, str):
        why = why_not_text(value)
        return None if why is None else (path, why)
    if isinstance(value, dict):
        for key, item in value.items():
            why = why_not_text(key)
            if why is not None:
                return (*path, key), why
            found = first_non_text(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_non_text(item, (*path, index))
            if found is not None:
                return found
    return None


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
    if any(_SURROGATE.search(value) for value in request.headers.values()):
        readable = [(k, _SURROGATE.sub("\ufffd", v)) for k, v in request.headers.items()]
        request = request.clone(headers=readable)
    return await handler(request)
