"""Conflict judgement: which occurrences of a booking or a move cannot have their time.

Pure: what is taken comes in as minutes (``Taken``), the verdict goes out as one
``Refusal`` per occurrence that cannot be booked, with the sessions it runs into, and
``refusal_detail`` words the 409 a person reads. Loading what is taken, and finding the
nearest free slots to offer instead, are the services'.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.scheduling import slots as sl

FAR = 100 * 365


@dataclass
class Taken:
    """Stored sessions of the people concerned, plus imported busy time, as minutes."""

    padded: list[sl.Interval]
    host_sessions: list[sl.Interval]
    owners: dict[sl.Interval, tuple[int, int]]

    def busy(self) -> sl.Busy:
        return sl.Busy(taken=self.padded, host_sessions=self.host_sessions)


@dataclass
class Refusal:
    """Why one occurrence cannot be booked: unavailable, busy, limit or nonexistent-time."""

    index: int
    start: int
    end: int
    reason: str
    overlaps: list[sl.Interval] = dataclasses.field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "start": sl.utc_iso(self.start),
            "end": sl.utc_iso(self.end),
            "reason": self.reason,
            "conflicting": [
                {"start": sl.utc_iso(a), "end": sl.utc_iso(b)} for a, b in self.overlaps
            ],
        }


def _rules_for(rules: sl.Rules, first: bool) -> sl.Rules:
    """Later occurrences of a series are held to the hours, not to notice or horizon."""
    if first:
        return rules
    return dataclasses.replace(rules, notice=0, horizon_days=FAR)


def available(rules: sl.Rules, start: int, duration: int, now: int, first: bool) -> bool:
    return sl.is_bookable(_rules_for(rules, first), sl.Busy(), start, duration, now)


def judge(
    rules: sl.Rules,
    taken: Taken,
    starts: Sequence[tuple[int, int]],
    duration: int,
    now: int,
    *,
    first_strict: bool = True,
) -> list[Refusal]:
    """Refusals of each ``(index, start)``; free ones are added to ``taken`` as they pass."""
    refusals: list[Refusal] = []
    before, after = rules.buffer_before, rules.buffer_after
    for n, (index, start) in enumerate(starts):
        end = start + duration
        strict = first_strict and n == 0
        if not available(rules, start, duration, now, strict):
            refusals.append(Refusal(index, start, end, "unavailable"))
            continue
        if not sl.is_bookable(_rules_for(rules, strict), taken.busy(), start, duration, now):
            overlaps = [
                taken.owners.get((a, b), (a, b))
                for a, b in taken.padded
                if a < end + after and start - before < b
            ]
            refusals.append(
                Refusal(index, start, end, "busy" if overlaps else "limit", sorted(set(overlaps)))
            )
            continue
        padded = (start - before, end + after)
        taken.padded.append(padded)
        taken.owners[padded] = (start, end)
        taken.host_sessions.append((start, end))
    return refusals


def refusal_detail(refusals: Sequence[Refusal], series: bool) -> str:
    """What the 409 says: the series as a whole, the mentor's limit, or a taken time."""
    if series:
        return (
            f"{len(refusals)} occurrence(s) of this series cannot be booked; change the series "
            "or send skip_conflicts to book the others."
        )
    if refusals[0].reason == "limit":
        return "The mentor's session limit for that day or week is reached."
    return "This time was just booked by someone else — here are the nearest free slots."
