"""Builders for test data, so tests state what matters and nothing else."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


@dataclass
class Person:
    client: TestClient[Any, Any]
    user: dict[str, Any]
    email: str
    password: str = PASSWORD

    @property
    def id(self) -> str:
        return str(self.user["id"])


def unique_email(stem: str = "person") -> str:
    return f"{stem}{next(_counter)}@example.org"


async def sign_up(
    client: TestClient[Any, Any],
    *,
    name: str = "Ada Lovelace",
    timezone: str = "Europe/Berlin",
    email: str | None = None,
) -> Person:
    email = email or unique_email(name.split()[0].lower())
    resp = await client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "name": name, "timezone": timezone},
    )
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    return Person(client=client, user=body["user"], email=email)
