"""Wire models of profiles, discovery, mentorships, agreements, goals and action items."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from server.core.hours import WeeklyInterval, parse_clock
from server.core.wire import Strict, TimeZone

Style = Literal["live", "async", "mixed"]
Cadence = Literal["weekly", "biweekly", "monthly"]
Role = Literal["mentor", "mentee"]
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


def _language(value: str) -> str:
    if not _BCP47.fullmatch(value):
        raise ValueError(f"{value!r} is not a language tag such as en, pt-BR or zh-Hant")
    head, *rest = value.split("-")
    return "-".join([head.lower(), *rest])


def _clock(value: str) -> str:
    parse_clock(value)
    return value


def _distinct(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for v in values:
        seen.setdefault(" ".join(v.lower().split()), v)
    return list(seen.values())


Language = Annotated[str, StringConstraints(max_length=35), AfterValidator(_language)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Sentence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Clock = Annotated[str, StringConstraints(max_length=5), AfterValidator(_clock)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class WorkingHours(Strict):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start: Clock = Field(description='Local wall time "HH:MM"')
    end: Clock = Field(description='Local wall time "HH:MM"; "24:00" is midnight')

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if parse_clock(self.start) >= parse_clock(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self

    def interval(self) -> WeeklyInterval:
        return WeeklyInterval(self.weekday, parse_clock(self.start), parse_clock(self.end))


class ProfileIn(Strict):
    """Fields left out keep their current value."""

    roles: Annotated[list[Role], Field(max_length=2)] | None = None
    headline: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    bio: Annotated[str, StringConstraints(max_length=4000)] | None = None
    timezone: TimeZone | None = None
    languages: Annotated[list[Language], Field(max_length=10)] | None = None
    topics: Annotated[list[Tag], Field(max_length=20)] | None = None
    goals: Annotated[list[Sentence], Field(max_length=10)] | None = None
    values: Annotated[list[Tag], Field(max_length=10)] | None = None
    style: Style | None = None
    cadence: Cadence | None = None
    working_hours: Annotated[list[WorkingHours], Field(max_length=42)] | None = None
    capacity: Annotated[int, Field(ge=0, le=50)] | None = None

    @model_validator(mode="after")
    def _tidy(self) -> ProfileIn:
        for name in ("languages", "topics", "goals", "values"):
            items = getattr(self, name)
            if items is not None:
                setattr(self, name, _distinct(items))
        if self.roles is not None:
            self.roles = sorted(set(self.roles))
        return self


class ProfileOut(BaseModel):
    user_id: str
    name: str
    timezone: str
    roles: list[Role]
    headline: str
    bio: str
    languages: list[str]
    topics: list[str]
    goals: list[str]
    values: list[str]
    style: Style
    cadence: Cadence
    working_hours: list[WorkingHours]
    capacity: int
    active_mentees: int
    local_time: datetime = Field(description="The person's current wall time, with offset")
    updated_at: datetime | None


class MentorsQuery(Strict):
    topic: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    language: Language | None = None
    limit: int = Field(20, ge=1, le=100)
    include_unavailable: bool = False

    @model_validator(mode="before")
    @classmethod
    def _blank_means_absent(cls, data: Any) -> Any:
        """``?topic=&language=`` (an empty search form) filters by nothing."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


class ReasonOut(BaseModel):
    component: str
    score: float
    weight: float
    text: str


class StripOut(BaseModel):
    """One day in the viewer's zone: minutes after local midnight inside each person's hours."""

    day: date
    timezone: str
    mine: list[tuple[int, int]]
    theirs: list[tuple[int, int]]
    both: list[tuple[int, int]]


class MentorMatch(BaseModel):
    mentor: ProfileOut
    score: float
    available: bool
    reasons: list[ReasonOut]
    overlap_hours_per_week: float
    strip: StripOut


class MentorList(BaseModel):
    week_start: datetime
    items: list[MentorMatch]


class AgreementIn(Strict):
    cadence: Cadence
    session_minutes: int = Field(ge=15, le=240)
    channel: Style
    recording_allowed: bool = False
    confidential_topics: Annotated[list[Tag], Field(max_length=20)] = []
    media_retention_days: int | None = Field(None, ge=1, le=3650)
    review_date: date | None = None
    note: Annotated[str, StringConstraints(max_length=1000)] = ""


class AgreementOut(BaseModel):
    version: int
    proposed_by: str
    proposed_at: datetime
    cadence: Cadence
    session_minutes: int
    channel: Style
    recording_allowed: bool
    confidential_topics: list[str]
    media_retention_days: int | None
    review_date: date | None
    note: str
    confirmed_by: list[str]
    in_force: bool


class ConfirmIn(Strict):
    version: int = Field(ge=1)


class GoalIn(Strict):
    id: Annotated[str, StringConstraints(max_length=32)] | None = None
    text: Sentence
    achieved: bool = False


class GoalsIn(Strict):
    goals: Annotated[list[GoalIn], Field(min_length=1, max_length=10)]


class GoalOut(BaseModel):
    id: str
    text: str
    achieved: bool


class MentorshipIn(Strict):
    mentor_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    goals: Annotated[list[Sentence], Field(min_length=1, max_length=10)]
    message: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    proposal: AgreementIn | None = None


class ReasonIn(Strict):
    reason: Reason = ""


class Party(BaseModel):
    id: str
    name: str
    timezone: str


class MentorshipOut(BaseModel):
    id: str
    state: str
    mentor: Party
    mentee: Party
    my_role: Role
    allowed_actions: list[str]
    message: str
    goals: list[GoalOut]
    created_at: datetime
    expires_at: datetime
    state_changed_at: datetime
    state_changed_by: str | None
    state_reason: str
    agreement: AgreementOut | None = Field(description="The latest proposed version")
    agreement_in_force: AgreementOut | None


class MentorshipsQuery(Strict):
    state: (
        Literal[
            "requested",
            "active",
            "paused",
            "completed",
            "declined",
            "withdrawn",
            "expired",
            "ended",
        ]
        | None
    ) = None


class MentorshipList(BaseModel):
    items: list[MentorshipOut]


class ActionItemIn(Strict):
    title: Sentence
    owner_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="Either participant; the creator when left out"
    )
    due_date: date | None = None


class ActionItemPatch(Strict):
    title: Sentence | None = None
    owner_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    due_date: date | None = None
    clear_due_date: bool = False
    done: bool | None = None


class ActionItemOut(BaseModel):
    id: str
    mentorship_id: str
    title: str
    owner_id: str
    due_date: date | None
    done: bool
    done_at: datetime | None
    created_by: str
    created_at: datetime


class ActionItemList(BaseModel):
    items: list[ActionItemOut]
