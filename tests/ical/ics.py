"""Hand-written .ics documents, as other calendar apps write them."""

from __future__ import annotations


def calendar(*events: str, head: str = "") -> bytes:
    body = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Elsewhere//Test//EN",
            *filter(None, [head]),
            *events,
            "END:VCALENDAR",
            "",
        ]
    )
    return body.encode()


def vevent(uid: str, *lines: str) -> str:
    return "\r\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z", *lines, "END:VEVENT"]
    )


NEW_YORK_VTIMEZONE = "\r\n".join(
    [
        "BEGIN:VTIMEZONE",
        "TZID:America/New_York",
        "BEGIN:STANDARD",
        "DTSTART:20071104T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:20070311T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]
)

WEEKLY_STANDUP = vevent(
    "standup",
    "SUMMARY:Standup",
    "DTSTART;TZID=America/New_York:20261202T090000",
    "DTEND;TZID=America/New_York:20261202T093000",
    "RRULE:FREQ=WEEKLY;COUNT=20",
    "EXDATE;TZID=America/New_York:20261216T090000",
)
TOKYO_HOLIDAY = vevent(
    "holiday", "SUMMARY:Holiday", "DTSTART;VALUE=DATE:20261203", "DTEND;VALUE=DATE:20261204"
)
FREE_LUNCH = vevent(
    "lunch",
    "SUMMARY:Lunch (free)",
    "DTSTART:20261204T120000Z",
    "DTEND:20261204T130000Z",
    "TRANSP:TRANSPARENT",
)
CANCELLED = vevent(
    "gone",
    "SUMMARY:Called off",
    "DTSTART:20261205T120000Z",
    "DTEND:20261205T130000Z",
    "STATUS:CANCELLED",
)


def sample() -> bytes:
    """Recurring, all-day in Tokyo, transparent and cancelled events together."""
    return calendar(
        NEW_YORK_VTIMEZONE,
        WEEKLY_STANDUP,
        TOKYO_HOLIDAY,
        FREE_LUNCH,
        CANCELLED,
        head="X-WR-TIMEZONE:Asia/Tokyo",
    )
