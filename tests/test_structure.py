"""The house rules a reader relies on, checked over the source: small modules, public APIs.

The layering itself is checked by ``lint-imports`` (``make lint``); these are the rules
import-linter cannot see.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1] / "server"
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for p in SERVER.rglob("*.py") if "migrations" not in p.parts)


def private_attributes(source: str) -> list[tuple[int, str]]:
    """Each ``x._name`` (or ``getattr(x, "_name")``) on something other than self or cls."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            name, owner = node.attr, node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            name, owner = node.args[1].value, node.args[0]
        else:
            continue
        if not name.startswith("_") or name.startswith("__"):
            continue
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_module_in_server_is_over_400_lines() -> None:
    modules = _modules()
    assert len(modules) > 50, "the walk must see the server package"
    too_long = {
        str(p.relative_to(SERVER.parent)): n
        for p in modules
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these modules along their seams: {too_long}"


def test_no_private_attribute_of_another_object_is_used() -> None:
    """Private names of library objects (``ws._writer``) break silently on an upgrade."""
    used = {
        f"{p.relative_to(SERVER.parent)}:{line}": text
        for p in _modules()
        for line, text in private_attributes(p.read_text(encoding="utf-8"))
    }
    assert used == {}, f"use the library's public API instead: {used}"


def test_the_private_attribute_check_sees_what_it_must() -> None:
    source = (
        "ws._writer.transport.write(b'')\n"
        "getattr(response, '_payload')\n"
        "self._queue.put(1)\n"
        "cls._instances.clear()\n"
        "obj.__class__\n"
    )
    assert sorted(private_attributes(source)) == [
        (1, "ws._writer"),
        (2, "getattr(response, '_payload')"),
    ]
