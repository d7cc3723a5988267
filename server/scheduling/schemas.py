"""Wire models of availability, slots and bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    model_validator,
)

from server.core.hours import parse_clock
from server.core.wire import Strict, TimeZone
from server.mentorship.schemas import Clock, WorkingHours
from server.scheduling.slots import STEPS

Scope = Literal["this", "following", "all"]
Step = Literal[5, 10, 15, 20, 30, 45, 60, 90, 120]
Comfort = Literal["inside", "early", "late"]
assert tuple(Step.__args__) == STEPS  # type: ignore[attr-defined]
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _sane(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("give a time between 1971 and 2200")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_sane)]


class Window(Strict):
    start: Clock = Field(description='Local wall time "HH:MM"')
    end: Clock = Field(description='Local wall time "HH:MM"; "24:00" is midnight')

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if parse_clock(self.start) >= parse_clock(self.end):
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class Override(Strict):
    date: date
    windows: Annotated[list[Window], Field(max_length=8)] = Field(
        default_factory=list,
        description="Hours on that date instead of the weekly ones; none: a day off",
    )


class AvailabilityIn(Strict):
    """Everything in the owner's own zone (their account's time zone)."""

    weekly: Annotated[list[WorkingHours], Field(max_length=70)]
    overrides: Annotated[list[Override], Field(max_length=400)] = Field(default_factory=list)
    buffer_before_minutes: int = Field(0, ge=0, le=240)
    buffer_after_minutes: int = Field(0, ge=0, le=240)
    notice_minutes: int = Field(240, ge=0, le=30 * 24 * 60)
    horizon_days: int = Field(60, ge=1, le=365)
    slot_step_minutes: Step = 30
    max_per_day: int | None = Field(None, ge=1, le=24)
    max_per_week: int | None = Field(None, ge=1, le=100)

    @model_validator(mode="after")
    def _distinct_dates(self) -> AvailabilityIn:
        seen: set[date] = set()
        for o in self.overrides:
            if o.date in seen:
                raise ValueError(f"{o.date} has two overrides; give each date once")
            seen.add(o.date)
        return self


class AvailabilityOut(BaseModel):
    user_id: str
    timezone: str
    source: Literal["saved", "profile", "default"] = Field(
        description="saved: set on the availability page; profile: the profile's working "
        "hours; default: Monday to Friday 09:00-17:00"
    )
    weekly: list[WorkingHours]
    overrides: list[Override]
    buffer_before_minutes: int
    buffer_after_minutes: int
    notice_minutes: int
    horizon_days: int
    slot_step_minutes: int
    max_per_day: int | None
    max_per_week: int | None
    horizon_end: datetime
    updated_at: datetime | None


class SlotsQuery(Strict):
    start: Instant
    end: Instant
    duration: int = Field(ge=5, le=480, description="Session length in minutes")
    tz: TimeZone | None = Field(None, description="The viewer's zone (default: their account's)")

    @model_validator(mode="after")
    def _ordered(self) -> SlotsQuery:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days > 100:
            raise ValueError("ask for at most 100 days of slots at a time")
        return self


class SlotComfort(BaseModel):
    host: Comfort
    viewer: Comfort


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    viewer_local: str
    host_local: str
    comfort: SlotComfort


class SlotsOut(BaseModel):
    mentor_id: str
    timezone: str = Field(description="The host's zone")
    viewer_timezone: str
    duration: int
    horizon_end: datetime
    items: list[SlotOut]


class RecurrenceIn(Strict):
    frequency: Literal["weekly", "monthly"]
    interval: int = Field(1, ge=1, le=12)
    count: int | None = Field(None, ge=1, description="Number of periods, at most 200")
    until: date | None = Field(
        None,
        description="Last date, in the mentor's zone",
        ge=date(1971, 1, 1),
        le=date(2199, 1, 1),
    )

    @model_validator(mode="after")
    def _one_end(self) -> RecurrenceIn:
        if (self.count is None) == (self.until is None):
            raise ValueError("give either count or until")
        return self


class BookingIn(Strict):
    mentorship_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    start: Instant
    duration_minutes: int = Field(ge=5, le=480, multiple_of=5)
    recurrence: RecurrenceIn | None = None
    skip_conflicts: bool = False


class RescheduleIn(Strict):
    start: Instant
    scope: Scope = "this"


class CancelIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    scope: Scope = "this"


class AgendaItem(Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    done: bool = False


class AgendaIn(Strict):
    items: Annotated[list[AgendaItem], Field(max_length=50)]


class NotesIn(Strict):
    text: Annotated[str, StringConstraints(max_length=20_000)]


class FeedbackIn(Strict):
    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""


class BookingsQuery(Strict):
    start: Instant | None = None
    end: Instant | None = None
    include_cancelled: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> BookingsQuery:
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class PersonOut(BaseModel):
    id: str
    name: str
    timezone: str


class FeedbackOut(BaseModel):
    user_id: str
    rating: int
    comment: str
    created_at: datetime


class ShiftOut(BaseModel):
    """The mentee's wall time of this occurrence differs from the previous one's."""

    index: int
    start: datetime
    previous_local: str
    local: str
    minutes: int
    cause: Literal["host", "guest", "both"]


class BookingOut(BaseModel):
    id: str
    mentorship_id: str
    series_id: str | None
    occurrence_index: int | None
    status: str
    sequence: int
    start: datetime
    end: datetime
    duration_minutes: int
    original_start: datetime | None
    mentor: PersonOut
    mentee: PersonOut
    mentor_local: str
    mentee_local: str
    agenda: list[AgendaItem]
    notes: str
    feedback: list[FeedbackOut]
    cancel_reason: str
    created_at: datetime
    updated_at: datetime
    shift: ShiftOut | None = None


class SkippedOut(BaseModel):
    index: int
    date: str = Field(
        description="The local date (2027-03-28); for a day the month lacks (31 February), "
        "the month (2027-02)"
    )
    reason: str = Field(description="nonexistent-time or no-date")


class BookingCreated(BaseModel):
    booking: BookingOut
    items: list[BookingOut]
    series_id: str | None
    skipped: list[SkippedOut]
    shifts: list[ShiftOut]


class PreviewOccurrence(BaseModel):
    index: int
    start: datetime
    end: datetime
    mentor_local: str
    mentee_local: str
    problem: str | None = Field(None, description="unavailable, busy, limit or None if free")


class BookingPreview(BaseModel):
    items: list[PreviewOccurrence]
    skipped: list[SkippedOut]
    shifts: list[ShiftOut]


class BookingList(BaseModel):
    items: list[BookingOut]


class ChangeOut(BaseModel):
    items: list[BookingOut]
