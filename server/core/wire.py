"""What every feature's wire format shares: strict request bodies, time zone names, instants.

Request models refuse fields they do not know, so a typo is a 422 rather than a
setting silently ignored; instants are written in UTC with ``Z``, the one form clients
parse and compare as text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from server.config import is_timezone


def _timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Berlin")
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


def utc_text(instant: datetime) -> str:
    """An aware instant as the API writes it: ``2026-11-30T09:00:00Z``."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
