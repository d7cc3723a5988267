"""docs/API.md lists exactly the operations the OpenAPI document describes."""

from __future__ import annotations

import re
from pathlib import Path

from server.app import create_app
from server.config import Settings
from server.core.openapi import build_document
from tests.conftest import TEST_SECRET

API_MD = Path(__file__).resolve().parents[1] / "docs" / "API.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^`]*)` \|", re.MULTILINE)


def documented() -> set[tuple[str, str]]:
    return {(method, path) for method, path in ROW.findall(API_MD.read_text())}


def served() -> set[tuple[str, str]]:
    settings = Settings(
        environment="test", database_url="sqlite+aiosqlite:///unused.db", secret_key=TEST_SECRET
    )
    document = build_document(create_app(settings), title="Meridian", version="1")
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }


def test_every_operation_is_in_the_api_page_and_nothing_else_is() -> None:
    missing = sorted(served() - documented())
    stale = sorted(documented() - served())
    assert missing == [], f"operations missing from docs/API.md: {missing}"
    assert stale == [], f"docs/API.md lists operations the server does not have: {stale}"


def test_the_page_lists_each_operation_once() -> None:
    rows = ROW.findall(API_MD.read_text())
    assert len(rows) == len(set(rows)) > 50
