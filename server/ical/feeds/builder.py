"""A person's feed built from their sessions' rows, reusing each event's bytes.

Pure: rows in, feed bytes out; the service reads the rows. A feed is rebuilt after
every change that touches its owner, so the builder first plans from each session's
fingerprint (id, sequence, change time, status, agenda, and the names and zones of
both people) which events it has serialized before: those cost one dictionary look-up,
and only the others need their whole rows (``Plan.missing_bookings`` and
``Plan.missing_series``), which the service loads and hands to ``attach``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any

from server.ical.render import Event
from server.ical.sessions import (
    BookingRow,
    Links,
    SeriesRow,
    Who,
    series_event,
    single_event,
)
from server.ical.vcalendar import EventCache, FeedHeader, Piece, feed

Fingerprint = Sequence[Any]
"""One session as (booking id, series id, start, sequence, change time, status, mentor
id, mentee id, agenda): raw column values, compared, never converted."""


@dataclass
class Plan:
    """The feed's events in order, the cached ones with their bytes, and what is missing."""

    order: list[tuple[tuple[Any, str], tuple[object, ...], Piece | None]] = field(
        default_factory=list
    )
    missing_bookings: dict[str, tuple[object, ...]] = field(default_factory=dict)
    missing_series: dict[str, tuple[object, ...]] = field(default_factory=dict)
    builders: dict[tuple[object, ...], Callable[[], Event]] = field(
        default_factory=lambda: _Missing()
    )

    @property
    def complete(self) -> bool:
        """Whether every event's bytes are cached, so no whole row needs loading."""
        return not self.missing_bookings and not self.missing_series


class _Missing(dict[tuple[object, ...], Callable[[], Event]]):
    """Builders of missed keys; a cached key never needs one."""

    def __missing__(self, key: tuple[object, ...]) -> Callable[[], Event]:
        def cached() -> Event:
            raise LookupError(f"no builder for {key[:2]}")

        return cached


class FeedBuilder:
    """Plans and assembles feeds, keeping the serialized events of every feed it built."""

    def __init__(self, links: Links) -> None:
        self.cache = EventCache()
        self.links = links

    def plan(self, marks: Iterable[Fingerprint], people: Mapping[str, Who]) -> Plan:
        """Which events of the feed are cached, from the sessions' fingerprints."""
        prints = {i: "\x1f".join(astuple(w)) for i, w in people.items()}
        plan = Plan()
        grouped: dict[str, list[Any]] = {}
        for m in marks:
            (
                booking_id,
                series_id,
                start,
                sequence,
                updated,
                status,
                mentor_id,
                mentee_id,
                agenda,
            ) = m
            if mentor_id not in prints or mentee_id not in prints:
                continue
            if series_id is not None:
                grouped.setdefault(series_id, []).append(m)
                continue
            if status == "cancelled":
                continue  # a cancelled single session leaves the feed
            key = (
                "b",
                booking_id,
                sequence,
                updated,
                status,
                agenda,
                prints[mentor_id],
                prints[mentee_id],
            )
            piece = self.cache.peek(key)
            plan.order.append(((start, booking_id), key, piece))
            if piece is None:
                plan.missing_bookings[booking_id] = key
        for series_id, members in grouped.items():
            if all(m[5] == "cancelled" for m in members):
                continue
            first = members[0]
            state = tuple(sorted((m[0], m[3], m[4], m[5], m[8]) for m in members))
            series_key: tuple[object, ...] = (
                "s",
                series_id,
                state,
                prints[first[6]],
                prints[first[7]],
            )
            piece = self.cache.peek(series_key)
            plan.order.append(((min(m[2] for m in members), series_id), series_key, piece))
            if piece is None:
                plan.missing_series[series_id] = series_key
        return plan

    def attach(
        self,
        plan: Plan,
        series: Mapping[str, SeriesRow],
        rows: Iterable[BookingRow],
        people: Mapping[str, Who],
    ) -> None:
        """Builders for the missing events, from the whole rows the service loaded.

        ``rows`` holds the missing single sessions and every booking of the missing
        series; a series whose rows are gone meanwhile leaves the feed.
        """
        wanted = set(plan.missing_bookings)
        members: dict[str, list[BookingRow]] = {}
        for row in rows:
            if row.series_id in plan.missing_series:
                members.setdefault(row.series_id, []).append(row)
            if row.id in wanted:
                plan.builders[plan.missing_bookings[row.id]] = partial(
                    single_event, row, people[row.mentor_id], people[row.mentee_id], self.links
                )
        for series_id, key in plan.missing_series.items():
            rows_of = members.get(series_id, [])
            if series_id not in series or not rows_of:
                plan.order = [o for o in plan.order if o[1] is not key]
                continue
            head = rows_of[0]
            plan.builders[key] = partial(
                series_event,
                series[series_id],
                rows_of,
                people[head.mentor_id],
                people[head.mentee_id],
                self.links,
            )

    def assemble(self, plan: Plan, owner: Who, now: datetime) -> bytes:
        """The feed's bytes: cached pieces as they are, the missing ones serialized now."""
        plan.order.sort(key=itemgetter(0))
        pieces = [
            piece if piece is not None else self.cache.get(key, plan.builders[key])
            for _, key, piece in plan.order
        ]
        header = FeedHeader(
            name=f"Meridian: {owner.name}",
            timezone=owner.timezone,
            year=now.year,
            description="Mentoring sessions booked in Meridian",
        )
        return feed(header, pieces)
