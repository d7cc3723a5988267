"""Profile and discovery use cases: what people say about themselves, and mentors
ranked for a mentee (candidates narrowed in SQL, ranked in matching.py)."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import User
from server.core import hours as hrs
from server.core.db import Database
from server.core.errors import NotFound
from server.mentorship import lifecycle, matching
from server.mentorship.models import Mentorship, Profile, ProfileTag
from server.mentorship.schemas import (
    MentorList,
    MentorMatch,
    MentorsQuery,
    ProfileIn,
    ProfileOut,
    ReasonOut,
    StripOut,
    WorkingHours,
)

OCCUPYING = tuple(lifecycle.OCCUPYING_STATES)


# --- profiles --------------------------------------------------------------------------


def roles_of(profile: Profile | None) -> list[lifecycle.Role]:
    if profile is None:
        return []
    roles: list[lifecycle.Role] = []
    if profile.is_mentee:
        roles.append("mentee")
    if profile.is_mentor:
        roles.append("mentor")
    return roles


def intervals_of(profile: Profile | None) -> tuple[hrs.WeeklyInterval, ...]:
    if profile is None:
        return ()
    return parsed_hours(hours_key(profile.working_hours))


def hours_key(stored: Sequence[dict[str, Any]]) -> tuple[tuple[int, str, str], ...]:
    return tuple((int(h["weekday"]), str(h["start"]), str(h["end"])) for h in stored)


@functools.lru_cache(maxsize=4096)
def parsed_hours(key: tuple[tuple[int, str, str], ...]) -> tuple[hrs.WeeklyInterval, ...]:
    """Stored hours as intervals; many people keep the same hours, so parse each set once."""
    return hrs.normalize(
        hrs.WeeklyInterval(day, hrs.parse_clock(start), hrs.parse_clock(end))
        for day, start, end in key
    )


@dataclass(frozen=True, slots=True)
class MentorFacts:
    """What ranking needs from a mentor's profile, decoded once per profile version."""

    languages: tuple[str, ...]
    topics: tuple[str, ...]
    values: tuple[str, ...]
    style: str
    cadence: str
    hours: tuple[hrs.WeeklyInterval, ...]


class FactsCache:
    """Decoded mentor facts keyed by profile version (``updated_at`` only ever grows).

    Discovery reads a few narrow columns of every candidate and decodes the rest only
    for profiles it has not seen in their current version.
    """

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[datetime, MentorFacts]] = OrderedDict()

    def get(self, user_id: str, version: datetime) -> MentorFacts | None:
        found = self._items.get(user_id)
        if found is None or found[0] != version:
            return None
        self._items.move_to_end(user_id)
        return found[1]

    def put(self, user_id: str, version: datetime, facts: MentorFacts) -> None:
        self._items[user_id] = (version, facts)
        self._items.move_to_end(user_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def profile_out(user: User, profile: Profile | None, active: int, now: datetime) -> ProfileOut:
    p = profile
    return ProfileOut(
        user_id=user.id,
        name=user.name,
        timezone=user.timezone,
        roles=roles_of(p),
        headline=p.headline if p else "",
        bio=p.bio if p else "",
        languages=list(p.languages) if p else [],
        topics=list(p.topics) if p else [],
        goals=list(p.goals) if p else [],
        values=list(p.values) if p else [],
        style=p.style if p else "mixed",
        cadence=p.cadence if p else "biweekly",
        working_hours=[WorkingHours.model_validate(iv.to_wire()) for iv in intervals_of(p)],
        capacity=p.capacity if p else 0,
        active_mentees=active,
        local_time=now.astimezone(ZoneInfo(user.timezone)),
        updated_at=p.updated_at if p else None,
    )


async def occupied_places(s: AsyncSession, mentor_id: str) -> int:
    count = await s.scalar(
        select(func.count())
        .select_from(Mentorship)
        .where(Mentorship.mentor_id == mentor_id, Mentorship.state.in_(OCCUPYING))
    )
    return int(count or 0)


async def weekly_hours(s: AsyncSession, user_id: str) -> tuple[str, tuple[hrs.WeeklyInterval, ...]]:
    """A person's zone and weekly working hours: the default availability for scheduling."""
    row = (
        await s.execute(
            select(User, Profile)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(User.id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound("There is no such person.")
    user, profile = row
    return user.timezone, intervals_of(profile)


# The places a person has on becoming a mentor, until she says otherwise.
DEFAULT_CAPACITY = 3


async def get_profile(*, db: Database, now: datetime, user_id: str) -> ProfileOut:
    async with db.read() as s:
        row = (
            await s.execute(
                select(User, Profile)
                .outerjoin(Profile, Profile.user_id == User.id)
                .where(User.id == user_id)
            )
        ).first()
        if row is None:
            raise NotFound("There is no such person.")
        user, profile = row
        return profile_out(user, profile, await occupied_places(s, user.id), now)


async def put_profile(*, db: Database, now: datetime, user_id: str, data: ProfileIn) -> ProfileOut:
    async with db.write() as s:
        user = await s.get(User, user_id)
        if user is None:
            raise NotFound("There is no such person.")
        profile = await s.get(Profile, user_id)
        if profile is None:
            profile = Profile(
                user_id=user_id,
                is_mentor=False,
                is_mentee=False,
                headline="",
                bio="",
                languages=[],
                topics=[],
                goals=[],
                values=[],
                style="mixed",
                cadence="biweekly",
                working_hours=[],
                capacity=0,
                updated_at=now,
            )
            s.add(profile)
        if data.roles is not None:
            if "mentor" in data.roles and not profile.is_mentor and profile.capacity == 0:
                # A new mentor with no places would be hidden from every mentee.
                profile.capacity = DEFAULT_CAPACITY
            profile.is_mentor = "mentor" in data.roles
            profile.is_mentee = "mentee" in data.roles
        for name in ("headline", "bio", "style", "cadence", "capacity"):
            value = getattr(data, name)
            if value is not None:
                setattr(profile, name, value)
        for name in ("languages", "topics", "goals", "values"):
            value = getattr(data, name)
            if value is not None:
                setattr(profile, name, list(value))
        if data.working_hours is not None:
            merged = hrs.normalize(h.interval() for h in data.working_hours)
            profile.working_hours = [iv.to_wire() for iv in merged]
        if data.timezone is not None:
            user.timezone = data.timezone
        # Strictly increasing, so (user, updated_at) names one version of the profile.
        profile.updated_at = max(now, profile.updated_at + timedelta(microseconds=1))
        await s.flush()
        await s.execute(delete(ProfileTag).where(ProfileTag.user_id == user_id))
        tags = {("topic", matching.tag(t)[:80]) for t in profile.topics}
        tags |= {("language", matching.primary_language(x)) for x in profile.languages}
        s.add_all(ProfileTag(user_id=user_id, kind=k, value=v) for k, v in sorted(tags))
        active = await occupied_places(s, user_id)
        return profile_out(user, profile, active, now)


# --- discovery -------------------------------------------------------------------------


def _person(user: User, profile: Profile | None) -> matching.Person:
    p = profile
    return matching.Person(
        user_id=user.id,
        timezone=user.timezone,
        languages=tuple(p.languages) if p else (),
        topics=tuple(p.topics) if p else (),
        values=tuple(p.values) if p else (),
        style=p.style if p else "mixed",
        cadence=p.cadence if p else "biweekly",
        hours=intervals_of(p),
    )


async def discover(
    *,
    db: Database,
    now: datetime,
    viewer: User,
    query: MentorsQuery,
    facts: FactsCache | None = None,
) -> MentorList:
    """Candidates narrowed in SQL (role, filters, capacity, language); ranked in matching.py.

    Only narrow columns are read for every candidate; profiles are decoded when not in
    ``facts`` in their current version, and loaded whole for the few that are shown.
    """
    facts = facts if facts is not None else FactsCache()
    async with db.read() as s:
        mine = await s.get(Profile, viewer.id)
        me = _person(viewer, mine)
        active = (
            select(func.count(Mentorship.id))
            .where(Mentorship.mentor_id == Profile.user_id, Mentorship.state.in_(OCCUPYING))
            .correlate(Profile)
            .scalar_subquery()
        )
        q = (
            select(
                Profile.user_id,
                User.timezone,
                Profile.updated_at,
                Profile.capacity,
                active.label("active"),
            )
            .join(User, User.id == Profile.user_id)
            .where(Profile.is_mentor.is_(True), Profile.user_id != viewer.id)
        )

        def has_tag(kind: str, values: Sequence[str]) -> Any:
            return exists().where(
                ProfileTag.user_id == Profile.user_id,
                ProfileTag.kind == kind,
                ProfileTag.value.in_(list(values)),
            )

        if query.topic:
            q = q.where(has_tag("topic", [matching.tag(query.topic)]))
        if query.language:
            q = q.where(has_tag("language", [matching.primary_language(query.language)]))
        if not query.include_unavailable:
            q = q.where(Profile.capacity > active)
            spoken = sorted({matching.primary_language(x) for x in me.languages})
            q = q.where(has_tag("language", spoken))
        rows = (await s.execute(q)).all()
        missing = [r.user_id for r in rows if facts.get(r.user_id, r.updated_at) is None]
        for i in range(0, len(missing), 500):
            for r in await s.execute(
                select(
                    Profile.user_id,
                    Profile.updated_at,
                    Profile.languages,
                    Profile.topics,
                    Profile.values,
                    Profile.style,
                    Profile.cadence,
                    Profile.working_hours,
                ).where(Profile.user_id.in_(missing[i : i + 500]))
            ):
                facts.put(
                    r.user_id,
                    r.updated_at,
                    MentorFacts(
                        languages=tuple(r.languages),
                        topics=tuple(r.topics),
                        values=tuple(r.values),
                        style=r.style,
                        cadence=r.cadence,
                        hours=parsed_hours(hours_key(r.working_hours)),
                    ),
                )
        candidates = []
        for row in rows:
            f = facts.get(row.user_id, row.updated_at)
            if f is None:  # changed between the two reads; it will be seen next time
                continue
            person = matching.Person(
                user_id=row.user_id,
                timezone=row.timezone,
                languages=f.languages,
                topics=f.topics,
                values=f.values,
                style=f.style,
                cadence=f.cadence,
                hours=f.hours,
            )
            candidates.append(matching.Mentor(person, row.capacity, int(row.active)))
        start = hrs.week_start(now)
        ranked = matching.rank(
            me, candidates, start, limit=query.limit, include_unavailable=query.include_unavailable
        )
        taken = {c.person.user_id: c.active for c in candidates}
        shown = {
            user.id: (user, profile)
            for profile, user in await s.execute(
                select(Profile, User)
                .join(User, User.id == Profile.user_id)
                .where(Profile.user_id.in_([m.mentor_id for m in ranked]))
            )
        }
    items = []
    for match in ranked:
        user, profile = shown[match.mentor_id]
        strip = hrs.best_day_strip(
            viewer.timezone,
            (viewer.timezone, me.hours),
            (user.timezone, intervals_of(profile)),
            now,
        )
        items.append(
            MentorMatch(
                mentor=profile_out(user, profile, taken[user.id], now),
                score=match.score,
                available=match.available,
                reasons=[_reason(r) for r in match.reasons],
                overlap_hours_per_week=match.overlap_hours_per_week,
                strip=StripOut(
                    day=strip.day,
                    timezone=viewer.timezone,
                    mine=strip.mine,
                    theirs=strip.theirs,
                    both=strip.both,
                ),
            )
        )
    return MentorList(week_start=start, items=items)


def _reason(r: matching.Reason) -> ReasonOut:
    return ReasonOut(component=r.component, score=r.score, weight=r.weight, text=r.text)
