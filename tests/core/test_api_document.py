"""The OpenAPI document states what the server does, where fuzzing found it did not."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.factories import sign_up

Client = TestClient[Any, Any]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/auth/login", "POST"),
        ("OPTIONS", "/api/mentorships/x/goals", "PUT"),
        ("GET", "/api/bookings/preview", "POST"),
        ("GET", "/api/uploads/", "OPTIONS,POST"),
    ],
)
async def test_a_method_an_api_path_does_not_serve_is_405_naming_the_ones_it_does(
    client: Client, method: str, path: str, allowed: str
) -> None:
    resp = await client.request(method, path)
    assert resp.status == 405, await resp.text()
    assert resp.content_type == "application/problem+json"
    assert sorted(resp.headers["Allow"].split(",")) == sorted(allowed.split(","))


async def test_pages_of_the_browser_app_are_still_served(client: Client) -> None:
    resp = await client.get("/mentorships/abc")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert (await client.get("/api/nothing-here")).status == 404


async def test_a_booking_is_still_found_by_its_id(client: Client) -> None:
    ada = await sign_up(client)
    resp = await ada.client.get("/api/bookings/previewX")  # only "preview" itself is reserved
    assert resp.status == 404
    assert resp.content_type == "application/problem+json"


async def test_tus_operations_declare_their_headers_and_bytes(client: Client) -> None:
    doc = await (await client.get("/api/openapi.json")).json()
    uploads = doc["paths"]["/api/uploads/"]
    one = doc["paths"]["/api/uploads/{upload_id}"]

    def headers(op: dict[str, Any]) -> dict[str, bool]:
        return {p["name"]: p["required"] for p in op.get("parameters", []) if p["in"] == "header"}

    for op in (uploads["post"], one["head"], one["patch"], one["delete"]):
        assert headers(op)["Tus-Resumable"] is True
    assert {"Upload-Length", "Upload-Defer-Length", "Upload-Metadata"} <= set(
        headers(uploads["post"])
    )
    assert headers(one["patch"])["Upload-Offset"] is True
    octets = one["patch"]["requestBody"]["content"]["application/offset+octet-stream"]
    assert octets["schema"] == {"type": "string", "format": "binary"}
    assert "parameters" not in uploads["options"]
