"""The test client every test uses: it speaks to the server as a page of that server would."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


class PageClient(TestClient[Any, Any]):
    """Every request carries the server's own ``Origin``, as a browser's fetch does.

    The server refuses cookie-authenticated unsafe requests that carry neither ``Origin``
    nor ``Sec-Fetch-Site`` (they could come from another site), so a client standing in
    for a browser must send one. Tests of that refusal use a plain client instead.
    """

    async def start_server(self) -> None:
        await super().start_server()
        self.session.headers.setdefault("Origin", self.origin)

    @property
    def origin(self) -> str:
        return str(self.make_url("")).rstrip("/")
