"""Text and JSON that a request may carry: what is not text, and JSON nested without end.

No web framework here, so the signalling protocol can parse its messages with the same
rules the HTTP edge applies (``server.core.edge`` turns these answers into responses).

The nesting check is written here because the standard library's parser recurses with
no limit of its own (a 100,000-deep array ends in RecursionError) and the parsers that
do stop have a fixed limit far above what any request needs; it is one linear pass over
the bytes before parsing, so a deep document costs no more than a flat one of its size.
"""

from __future__ import annotations

import json
import re
from typing import Any

NUL = "\x00"
MAX_JSON_DEPTH = 32
NUL_MESSAGE = "NUL characters (U+0000) are not allowed"
SURROGATE_MESSAGE = "unpaired surrogates (U+D800 to U+DFFF) are not text"
SURROGATE = re.compile("[\ud800-\udfff]")

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
    return SURROGATE.sub("\ufffd", name.replace(NUL, "\\u0000"))


def why_not_text(value: str) -> str | None:
    """Why ``value`` cannot be taken (or stored) as text, or None when it can."""
    if NUL in value:
        return NUL_MESSAGE
    if SURROGATE.search(value):
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
