"""The scheduling tests' pair: a mentor and a mentee in an active mentorship."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.factories import Pair, make_pair


@pytest.fixture
async def pair(client: TestClient[Any, Any], another_client: Any) -> Pair:
    """A mentor in Berlin (this client) and a mentee in New York."""
    return await make_pair(client, await another_client())
