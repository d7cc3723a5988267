"""Everything render.py writes, read back by an independent parser (icalendar and
recurring-ical-events), plus the interoperability details calendar apps trip over."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from server.ical.render import Override, Recurrence, escape_text, fold
from server.ical.vcalendar import EventCache, FeedHeader, feed, invitation
from tests.ical.builders import MADE, event, local

NOW = datetime(2027, 1, 15, 8, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def weekly_series_with_exceptions() -> object:
    """18:00 Berlin weekly over the March change; the 3rd cancelled, the 4th moved."""
    cancelled = local("Europe/Berlin", 2027, 3, 25, 18, 0)
    moved_from = local("Europe/Berlin", 2027, 4, 1, 18, 0)
    moved_to = local("Europe/Berlin", 2027, 4, 2, 19, 30)
    return event(
        sequence=2,
        recurrence=Recurrence("WEEKLY", count=6),
        exdates=(cancelled,),
        overrides=(
            Override(
                recurrence_id=moved_from,
                start=moved_to,
                end=moved_to + timedelta(hours=1),
                sequence=3,
                last_modified=MADE + timedelta(days=1),
            ),
        ),
    )


def occurrences(data: bytes, start: datetime, end: datetime) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    found = recurring_ical_events.of(cal).between(start, end)
    return sorted(found, key=lambda e: e["DTSTART"].dt)


def rename_zone(data: bytes, zone: str) -> bytes:
    """Give ``zone`` a TZID no zone database knows, so the parser must use our VTIMEZONE.

    The name is unique per call: icalendar remembers VTIMEZONE blocks by TZID.
    """
    name = f"Meridian Test Zone {uuid.uuid4().hex}".encode()
    data = data.replace(b"TZID=" + zone.encode(), b"TZID=" + name)
    return data.replace(b"TZID:" + zone.encode(), b"TZID:" + name)


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    return lines


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("own_vtimezone", [False, True])
def test_weekly_series_keeps_berlin_evening_across_dst(own_vtimezone: bool) -> None:
    series = weekly_series_with_exceptions()
    data = feed(FeedHeader("Ada", "Europe/Berlin", 2027), [EventCache().get("s", lambda: series)])  # type: ignore[arg-type,return-value]
    if own_vtimezone:
        # An unknown TZID makes the parser use our VTIMEZONE block rather than its own
        # zone database, so the block itself is what is being checked.
        data = rename_zone(data, "Europe/Berlin")
    found = occurrences(data, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC))
    starts = [e["DTSTART"].dt for e in found]
    assert [s.astimezone(BERLIN).strftime("%m-%d %H:%M") for s in starts] == [
        "03-11 18:00",
        "03-18 18:00",
        "04-02 19:30",
        "04-08 18:00",
        "04-15 18:00",
    ]
    assert [s.astimezone(UTC).strftime("%m-%d %H:%M") for s in starts] == [
        "03-11 17:00",
        "03-18 17:00",
        "04-02 17:30",
        "04-08 16:00",
        "04-15 16:00",
    ]
    # New York changed on 14 March, Berlin on 28 March: the mentee's local hour moves.
    assert [s.astimezone(NEW_YORK).strftime("%H:%M") for s in starts] == [
        "12:00",
        "13:00",
        "13:30",
        "12:00",
        "12:00",
    ]
    ends = [e["DTEND"].dt - e["DTSTART"].dt for e in found]
    assert set(ends) == {timedelta(hours=1)}
    raw = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert [int(e["SEQUENCE"]) for e in raw] == [2, 3]


def test_series_written_once_with_rrule_exdate_and_recurrence_id() -> None:
    data = invitation(weekly_series_with_exceptions(), now=NOW)  # type: ignore[arg-type]
    cal = icalendar.Calendar.from_ical(data)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 2
    master, override = events
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["COUNT"] == [6]
    exdates = [d.dt for d in master["EXDATE"].dts]
    assert exdates == [datetime(2027, 3, 25, 18, 0, tzinfo=BERLIN)]
    assert override["RECURRENCE-ID"].dt == datetime(2027, 4, 1, 18, 0, tzinfo=BERLIN)
    assert override["UID"] == master["UID"]


@pytest.mark.parametrize(
    ("zone", "wall"),
    [
        ("America/New_York", (2027, 3, 14, 3, 0)),  # first hour after spring-forward
        ("America/New_York", (2027, 11, 7, 1, 30)),  # the ambiguous hour, first pass
        ("Australia/Sydney", (2027, 10, 3, 9, 0)),
        ("Asia/Kolkata", (2027, 6, 1, 9, 15)),
        ("America/Sao_Paulo", (2027, 2, 1, 18, 0)),
        ("Europe/Dublin", (2027, 1, 20, 10, 0)),
        ("Europe/Dublin", (2027, 7, 20, 10, 0)),
        ("Asia/Jerusalem", (2027, 3, 26, 10, 0)),
        ("Pacific/Chatham", (2027, 12, 1, 8, 0)),
    ],
)
def test_single_event_local_start_survives_round_trip(
    zone: str, wall: tuple[int, int, int, int, int]
) -> None:
    start = local(zone, *wall)
    data = invitation(event(zone=zone, start=start), now=NOW)
    data = rename_zone(data, zone)
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert parsed["DTSTART"].dt.astimezone(UTC) == start
    assert parsed["DTSTART"].dt.astimezone(ZoneInfo(zone)).timetuple()[:5] == wall


# --- invitations --------------------------------------------------------------------------


def test_invitation_is_a_request_then_a_cancel_with_the_same_uid() -> None:
    first = icalendar.Calendar.from_ical(invitation(event(), now=NOW))
    moved = event(sequence=1, start=local("Europe/Berlin", 2027, 3, 12, 9, 0))
    second = icalendar.Calendar.from_ical(invitation(moved, now=NOW + timedelta(hours=1)))
    gone = icalendar.Calendar.from_ical(
        invitation(replace(moved, sequence=2, status="CANCELLED"), now=NOW + timedelta(hours=2))
    )
    assert [str(c["METHOD"]) for c in (first, second, gone)] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [next(iter(c.walk("VEVENT"))) for c in (first, second, gone)]
    assert len({str(e["UID"]) for e in events}) == 1
    assert [int(e["SEQUENCE"]) for e in events] == [0, 1, 2]
    assert str(events[2]["STATUS"]) == "CANCELLED"
    assert events[1]["DTSTAMP"].dt == NOW + timedelta(hours=1)


def test_invitation_carries_people_room_and_agenda() -> None:
    (parsed,) = icalendar.Calendar.from_ical(invitation(event(), now=NOW)).walk("VEVENT")
    assert str(parsed["ORGANIZER"]) == "mailto:ada@example.org"
    assert parsed["ORGANIZER"].params["CN"] == "Ada Lovelace"
    attendees = parsed["ATTENDEE"]
    assert [str(a) for a in attendees] == ["mailto:ada@example.org", "mailto:grace@example.org"]
    assert str(parsed["URL"]) == "https://meridian.example/sessions/b1"
    assert str(parsed["DESCRIPTION"]) == event().description
    assert parsed["LAST-MODIFIED"].dt == MADE
    assert parsed["DTSTART"].params["TZID"] == "Europe/Berlin"


# --- feeds ----------------------------------------------------------------------------------


def test_feed_properties() -> None:
    data = feed(FeedHeader("Meridian: Ada", "America/New_York", 2027), [])
    text = data.decode()
    for line in (
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Meridian: Ada",
        "X-WR-TIMEZONE:America/New_York",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ):
        assert line + "\r\n" in text
    cal = icalendar.Calendar.from_ical(data)
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)


def test_feed_of_a_thousand_events_reuses_each_events_bytes() -> None:
    cache = EventCache()
    events = [
        event(uid=f"b{i}@m", start=local("Europe/Berlin", 2027, 1, 1, 9) + timedelta(hours=i))
        for i in range(1000)
    ]
    header = FeedHeader("Ada", "Europe/Berlin", 2027)
    first = feed(header, [cache.get((e.uid, 0), lambda e=e: e) for e in events])  # type: ignore[misc]
    assert cache.builds == 1000

    def never() -> object:
        raise AssertionError("a cached event was serialized again")

    again = feed(header, [cache.get((e.uid, 0), never) for e in events])  # type: ignore[arg-type]
    assert again == first and cache.builds == 1000
    assert len(list(icalendar.Calendar.from_ical(first).walk("VEVENT"))) == 1000


# --- interoperability details --------------------------------------------------------------


def test_lines_are_crlf_and_folded_at_75_octets() -> None:
    long = "Ünïcødé agenda — " * 20 + "🙂" * 30
    data = invitation(event(description=long, summary="Sitzung " * 30), now=NOW)
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = physical_lines(data)
    assert max(len(line) for line in lines) <= 75
    assert any(len(line) == 75 or len(line) >= 72 for line in lines)
    for line in lines:
        line.decode()  # no fold splits a UTF-8 sequence
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(parsed["DESCRIPTION"]) == long
    assert str(parsed["SUMMARY"]) == "Sitzung " * 30


def test_fold_splits_exactly_at_the_limit() -> None:
    folded = fold("X" * 200)
    parts = folded.split(b"\r\n")[:-1]
    assert [len(p) for p in parts] == [75, 75, 52]
    assert all(p.startswith(b" ") for p in parts[1:])


def test_text_is_escaped() -> None:
    tricky = 'Back\\slash; semi, comma\nnew line\r\nCRLF "quoted"'
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    data = invitation(event(description=tricky, summary="A; B, C"), now=NOW)
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(parsed["DESCRIPTION"]) == tricky.replace("\r\n", "\n")
    assert str(parsed["SUMMARY"]) == "A; B, C"
    assert b"SUMMARY:A\\; B\\, C\r\n" in data


def test_names_with_quotes_and_commas_stay_parameters() -> None:
    odd = replace(event().organizer, name='Ada "the Countess", Lovelace; FRS')
    data = invitation(event(organizer=odd, attendees=(odd,)), now=NOW)
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert parsed["ORGANIZER"].params["CN"] == "Ada 'the Countess', Lovelace; FRS"
    assert str(parsed["ORGANIZER"]) == "mailto:ada@example.org"


def test_every_tzid_used_has_its_vtimezone() -> None:
    cache = EventCache()
    zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
    pieces = [cache.get(z, lambda z=z: event(uid=z, zone=z)) for z in zones]  # type: ignore[misc]
    data = feed(FeedHeader("Ada", "America/Sao_Paulo", 2027), pieces)
    unfolded = data.replace(b"\r\n ", b"").decode()
    used = set(re.findall(r";TZID=([^:;]+)[:;]", unfolded))
    defined = set(re.findall(r"\r\nTZID:([^\r]+)\r\n", unfolded))
    assert used == set(zones)
    assert used <= defined


def test_uid_stable_and_sequence_increasing_across_updates() -> None:
    cache = EventCache()
    versions = [event(), event(sequence=1, description="new agenda"), event(sequence=2)]
    uids, sequences = set(), []
    for v in versions:
        piece = cache.get((v.uid, v.sequence), lambda v=v: v)  # type: ignore[misc]
        (parsed,) = icalendar.Calendar.from_ical(
            feed(FeedHeader("Ada", "Europe/Berlin", 2027), [piece])
        ).walk("VEVENT")
        uids.add(str(parsed["UID"]))
        sequences.append(int(parsed["SEQUENCE"]))
    assert len(uids) == 1
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_text_folds_within_75_octets_and_reads_back_unchanged(text: str) -> None:
    data = invitation(event(description=text or "x", summary=text[:200] or "x"), now=NOW)
    assert all(len(line) <= 75 for line in physical_lines(data))
    (parsed,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    expected = re.sub(
        r"[\x00-\x08\x0b-\x1f\x7f]", "", (text or "x").replace("\r\n", "\n").replace("\r", "\n")
    )
    assert str(parsed["DESCRIPTION"]) == expected
