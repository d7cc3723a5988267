"""Comfort marks: the viewer's comfort in the viewer's own zone and hours, early and late
judged by the nearer edge of the working hours, and skipped dates reported as they are."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.scheduling.slots import Person, comfort_of, to_minute
from tests.factories import Pair, ok

NINE_TO_FIVE = (*[((9 * 60, 17 * 60),)] * 5, (), ())
BERLIN = Person("Europe/Berlin", NINE_TO_FIVE)


def berlin(*args: int) -> int:
    return to_minute(datetime(*args, tzinfo=ZoneInfo("Europe/Berlin")))  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "minutes", "comfort"),
    [
        ((2027, 3, 2, 23, 45), 30, "late"),  # Tuesday night, into Wednesday
        ((2027, 3, 3, 0, 0), 30, "late"),  # just after midnight
        ((2027, 3, 3, 0, 30), 60, "late"),  # closer to last evening than to 09:00
        ((2027, 3, 3, 2, 0), 60, "early"),  # closer to 09:00
        ((2027, 3, 3, 6, 30), 30, "early"),
        ((2027, 3, 3, 8, 45), 30, "early"),  # runs into the start of the day
        ((2027, 3, 3, 10, 0), 60, "inside"),
        ((2027, 3, 3, 16, 45), 30, "late"),  # runs past the end of the day
        ((2027, 3, 3, 19, 0), 60, "late"),
        ((2027, 3, 7, 23, 45), 30, "late"),  # Sunday night, a day off, is still late
        ((2027, 3, 8, 5, 0), 60, "early"),  # Monday before work
    ],
)
def test_early_and_late_are_judged_by_the_nearer_edge_of_the_working_hours(
    start: tuple[int, ...], minutes: int, comfort: str
) -> None:
    begin = berlin(*start)
    assert comfort_of(BERLIN, begin, begin + minutes) == comfort


async def slots(pair: Pair, tz: str | None) -> list[dict[str, Any]]:
    query = "start=2026-11-30T00:00:00Z&end=2026-12-07T00:00:00Z&duration=60"
    if tz:
        query += f"&tz={tz}"
    body = await ok(await pair.mentee.client.get(f"/api/mentors/{pair.mentor.id}/slots?{query}"))
    assert body["items"]
    return body["items"]  # type: ignore[no-any-return]


async def test_the_viewers_comfort_is_judged_in_their_own_zone_whatever_zone_is_shown(
    pair: Pair,
) -> None:
    at_home = await slots(pair, None)  # the mentee lives in New York
    in_tokyo = await slots(pair, "Asia/Tokyo")
    assert [s["start"] for s in in_tokyo] == [s["start"] for s in at_home]
    assert [s["comfort"] for s in in_tokyo] == [s["comfort"] for s in at_home]
    assert all(s["viewer_local"].endswith("+09:00") for s in in_tokyo)
    assert all(s["viewer_local"].endswith("-05:00") for s in at_home)
    # 09:00-17:00 Berlin is 03:00-11:00 in New York: the mentee's own 09:00-11:00 is inside.
    inside = [s for s in at_home if s["comfort"]["viewer"] == "inside"]
    assert inside and all(s["start"][11:13] in ("14", "15") for s in inside)
    for s in at_home:
        hour = datetime.fromisoformat(s["start"].replace("Z", "+00:00")).astimezone(UTC).hour
        if hour < 14:
            assert s["comfort"]["viewer"] == "early", s


async def test_a_31st_that_a_month_lacks_is_reported_as_that_month(pair: Pair) -> None:
    preview = await ok(
        await pair.mentee.client.post(
            "/api/bookings/preview",
            json={
                "mentorship_id": pair.mentorship_id,
                "start": "2027-03-31T08:00:00Z",
                "duration_minutes": 60,
                "recurrence": {"frequency": "monthly", "count": 3},
            },
        )
    )
    assert preview["skipped"] == [{"index": 1, "date": "2027-04", "reason": "no-date"}]
