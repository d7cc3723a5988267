"""Ranking mentors for a mentee, with a reason a person can read for every component.

The score is a weighted sum of components, each in [0, 1], so the score is in [0, 1].
Shared values, a common language, style, cadence and overlap are symmetric (swapping
the two people changes nothing); topics measure how much of the mentee's interests the
mentor covers, and capacity is the mentor's alone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from server.core import hours as hrs
from server.core.hours import WeeklyInterval

WEIGHTS: Final[dict[str, float]] = {
    "topics": 0.30,
    "values": 0.15,
    "language": 0.15,
    "style": 0.05,
    "cadence": 0.05,
    "overlap": 0.20,
    "capacity": 0.10,
}
# Overlap at or above this many hours a week scores fully: enough for a weekly
# session with room to move it.
OVERLAP_TARGET_HOURS: Final = 4.0
_STYLE: Final[dict[frozenset[str], float]] = {
    frozenset({"live"}): 1.0,
    frozenset({"async"}): 1.0,
    frozenset({"mixed"}): 1.0,
    frozenset({"live", "mixed"}): 0.6,
    frozenset({"async", "mixed"}): 0.6,
    frozenset({"live", "async"}): 0.0,
}
_CADENCE_RANK: Final[dict[str, int]] = {"weekly": 0, "biweekly": 1, "monthly": 2}
LANGUAGE_NAMES: Final[dict[str, str]] = {
    "ar": "Arabic",
    "bn": "Bengali",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fr": "French",
    "hi": "Hindi",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "pl": "Polish",
    "pt": "Portuguese",
    "ru": "Russian",
    "sv": "Swedish",
    "sw": "Swahili",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "yo": "Yoruba",
    "zh": "Chinese",
}


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    timezone: str
    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    style: str = "mixed"
    cadence: str = "biweekly"
    hours: tuple[WeeklyInterval, ...] = ()


@dataclass(frozen=True, slots=True)
class Mentor:
    person: Person
    capacity: int
    active: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.active, 0)


@dataclass(frozen=True, slots=True)
class Reason:
    component: str
    score: float
    weight: float
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    mentor_id: str
    score: float
    overlap_hours_per_week: float
    available: bool
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


@functools.lru_cache(maxsize=16384)
def tag(text: str) -> str:
    """Topics and values compare case- and space-insensitively."""
    return " ".join(text.lower().split())


@functools.lru_cache(maxsize=4096)
def primary_language(bcp47: str) -> str:
    """``pt-BR`` and ``pt-PT`` share Portuguese: compare primary subtags."""
    return bcp47.replace("_", "-").split("-", 1)[0].lower()


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def _listing(items: Sequence[str], limit: int = 3) -> str:
    shown = list(items[:limit])
    more = len(items) - len(shown)
    text = ", ".join(shown)
    return f"{text} and {more} more" if more > 0 else text


def topics_component(
    mentee: Iterable[str], mentor: Iterable[str], explain: bool = True
) -> tuple[float, str]:
    wanted = {tag(t): t for t in mentee}
    offered = {tag(t) for t in mentor}
    if not wanted:
        return 0.0, "Add topics to your profile to compare interests."
    shared = [wanted[k] for k in sorted(wanted) if k in offered]
    if not shared:
        return 0.0, "No shared topics."
    score = len(shared) / len(wanted)
    if not explain:
        return score, ""
    return score, f"Covers {len(shared)} of your {len(wanted)} topics: {_listing(shared)}."


def values_component(a: Iterable[str], b: Iterable[str], explain: bool = True) -> tuple[float, str]:
    left, right = {tag(v) for v in a}, {tag(v) for v in b}
    if not left or not right:
        return 0.0, "Values not stated by both."
    shared = sorted(left & right)
    if not shared:
        return 0.0, "No shared values."
    if not explain:
        return len(shared) / len(left | right), ""
    return len(shared) / len(left | right), f"Shared values: {_listing(shared)}."


def language_component(
    a: Iterable[str], b: Iterable[str], explain: bool = True
) -> tuple[float, str]:
    common = sorted({primary_language(x) for x in a} & {primary_language(x) for x in b})
    if not common:
        return 0.0, "No common language."
    if not explain:
        return 1.0, ""
    names = [language_name(c) for c in common]
    return 1.0, f"You both speak {_listing(names)}."


def style_component(a: str, b: str, explain: bool = True) -> tuple[float, str]:
    score = _STYLE.get(frozenset({a, b}), 0.0)
    if not explain:
        return score, ""
    if a == b:
        return score, f"Both prefer {a} communication."
    if score > 0:
        return score, f"Compatible styles: {a} and {b}."
    return score, f"Different styles: {a} and {b}."


def cadence_component(a: str, b: str, explain: bool = True) -> tuple[float, str]:
    gap = abs(_CADENCE_RANK.get(a, 1) - _CADENCE_RANK.get(b, 1))
    score = (1.0, 0.5, 0.0)[gap]
    if not explain:
        return score, ""
    if gap == 0:
        return score, f"Both want to meet {a}."
    return score, f"Cadence differs: {a} and {b}."


def overlap_component(hours: float, explain: bool = True) -> tuple[float, str]:
    score = min(hours / OVERLAP_TARGET_HOURS, 1.0)
    if hours <= 0:
        return 0.0, "Your working hours do not overlap in the coming week."
    if not explain:
        return score, ""
    shown = f"{hours:.1f}".removesuffix(".0")
    unit = "hour" if shown == "1" else "hours"
    return score, f"{shown} {unit} of shared working time in the coming week."


def capacity_component(capacity: int, active: int, explain: bool = True) -> tuple[float, str]:
    free = max(capacity - active, 0)
    if capacity <= 0:
        return 0.0, "Not taking mentees."
    if free == 0:
        return 0.0, f"At capacity ({active} of {capacity} places taken)."
    if not explain:
        return 0.5 + 0.5 * free / capacity, ""
    place = "place" if free == 1 else "places"
    return 0.5 + 0.5 * free / capacity, f"{free} of {capacity} {place} free."


def score(mentee: Person, mentor: Mentor, overlap: float, *, explain: bool = True) -> Match:
    """Score one mentor for ``mentee`` given their overlap hours in the coming week.

    Without ``explain`` the reasons are left out (ranking many mentors needs only the
    numbers; the few shown are scored again with their reasons).
    """
    m = mentor.person
    parts = {
        "topics": topics_component(mentee.topics, m.topics, explain),
        "values": values_component(mentee.values, m.values, explain),
        "language": language_component(mentee.languages, m.languages, explain),
        "style": style_component(mentee.style, m.style, explain),
        "cadence": cadence_component(mentee.cadence, m.cadence, explain),
        "overlap": overlap_component(overlap, explain),
        "capacity": capacity_component(mentor.capacity, mentor.active, explain),
    }
    reasons = (
        tuple(
            Reason(name, round(value, 3), WEIGHTS[name], text)
            for name, (value, text) in parts.items()
        )
        if explain
        else ()
    )
    total = sum(WEIGHTS[name] * value for name, (value, _) in parts.items())
    available = mentor.free > 0 and parts["language"][0] > 0
    return Match(
        mentor_id=m.user_id,
        score=round(min(max(total, 0.0), 1.0), 3),
        overlap_hours_per_week=round(overlap, 2),
        available=available,
        reasons=reasons,
    )


def rank(
    mentee: Person,
    mentors: Iterable[Mentor],
    week_start: datetime,
    *,
    limit: int = 20,
    include_unavailable: bool = False,
) -> list[Match]:
    """Best first; mentors at capacity or without a common language only when asked for."""
    lo, hi = hrs.week_window(week_start)
    mine = hrs.utc_intervals(mentee.timezone, mentee.hours, lo, hi)
    scored = []
    for mentor in mentors:
        if mentor.person.user_id == mentee.user_id:
            continue
        theirs = hrs.utc_intervals(mentor.person.timezone, mentor.person.hours, lo, hi)
        overlap = hrs.total_seconds(hrs.intersect(mine, theirs)) / hrs.HOUR
        match = score(mentee, mentor, overlap, explain=False)
        if match.available or include_unavailable:
            scored.append((match, mentor, overlap))
    scored.sort(key=lambda t: (-t[0].score, -t[0].overlap_hours_per_week, t[0].mentor_id))
    return [score(mentee, mentor, overlap) for _, mentor, overlap in scored[:limit]]
