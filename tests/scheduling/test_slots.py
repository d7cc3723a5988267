"""The slot engine against a brute-force reference, and on named DST nights."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.scheduling.slots import (
    DAY,
    Busy,
    Person,
    Query,
    Rules,
    Slot,
    ZoneTable,
    free_slots,
    local_iso,
    to_minute,
)

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Sao_Paulo",
)
NINE_TO_FIVE = tuple(((9 * 60, 17 * 60),) if d < 5 else () for d in range(7))


def at(zone: str, text: str, fold: int = 0) -> int:
    return to_minute(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone), fold=fold))


def every_day(*windows: tuple[int, int]) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(tuple(windows) for _ in range(7))


def wall(zone: str, slot: Slot) -> str:
    return datetime.fromtimestamp(slot.start * 60, ZoneInfo(zone)).strftime("%H:%M%z")


def slots_on(rules: Rules, day: str, duration: int, busy: Busy | None = None) -> list[Slot]:
    start = at(rules.timezone, f"{day}T00:00")
    query = Query(start, start + DAY, duration, start - DAY, Person(rules.timezone, rules.weekly))
    return free_slots(rules, busy or Busy(), query)


# --- named nights ---------------------------------------------------------------------------


def test_new_york_spring_forward_gives_no_slot_at_0230() -> None:
    rules = Rules("America/New_York", every_day((60, 4 * 60)), step=30)
    found = [wall(rules.timezone, s) for s in slots_on(rules, "2027-03-14", 30)]
    assert found == ["01:00-0500", "01:30-0500", "03:00-0400", "03:30-0400"]


def test_new_york_0230_rule_on_spring_forward_day_has_nothing() -> None:
    rules = Rules("America/New_York", every_day((150, 180)), step=30)
    assert slots_on(rules, "2027-03-14", 30) == []
    assert [wall(rules.timezone, s) for s in slots_on(rules, "2027-03-15", 30)] == ["02:30-0400"]


def test_berlin_fall_back_counts_the_repeated_hour_once() -> None:
    rules = Rules("Europe/Berlin", every_day((60, 4 * 60)), step=60)
    found = slots_on(rules, "2026-10-25", 60)
    assert [wall(rules.timezone, s) for s in found] == ["01:00+0200", "02:00+0200", "03:00+0100"]
    # The repeated hour is still working time: a session may run through it.
    assert found[1].end - found[1].start == 60
    long = slots_on(rules, "2026-10-25", 120)
    assert [wall(rules.timezone, s) for s in long] == ["01:00+0200", "02:00+0200"]


def test_lord_howe_half_hour_changes() -> None:
    # Clocks go 02:00 -> 02:30 on the first Sunday of October.
    rules = Rules("Australia/Lord_Howe", every_day((90, 4 * 60)), step=30)
    found = [wall(rules.timezone, s) for s in slots_on(rules, "2026-10-04", 30)]
    assert found == ["01:30+1030", "02:30+1100", "03:00+1100", "03:30+1100"]
    # ...and 02:00 -> 01:30 on the first Sunday of April: 01:30 happens twice, taken once.
    found = [wall(rules.timezone, s) for s in slots_on(rules, "2027-04-04", 30)]
    assert found == ["01:30+1100", "02:00+1030", "02:30+1030", "03:00+1030", "03:30+1030"]


def test_kolkata_viewer_sees_half_hour_offsets_and_comfort() -> None:
    rules = Rules("Europe/Berlin", NINE_TO_FIVE, step=60)
    start = at("Europe/Berlin", "2026-12-01T00:00")
    viewer = Person("Asia/Kolkata", NINE_TO_FIVE)
    found = free_slots(rules, Busy(), Query(start, start + DAY, 60, start - DAY, viewer))
    assert len(found) == 8
    first, last = found[0], found[-1]
    assert local_iso(first.start, first.viewer_offset) == "2026-12-01T13:30:00+05:30"
    assert local_iso(first.start, first.host_offset) == "2026-12-01T09:00:00+01:00"
    assert first.viewer_comfort == "inside"
    assert local_iso(last.start, last.viewer_offset) == "2026-12-01T20:30:00+05:30"
    assert last.viewer_comfort == "late"
    assert all(s.host_comfort == "inside" for s in found)
    early = Person("America/Los_Angeles", NINE_TO_FIVE)
    found = free_slots(rules, Busy(), Query(start, start + DAY, 60, start - DAY, early))
    assert found[0].viewer_comfort == "late"  # 00:00 in Los Angeles: nearer last evening
    assert found[-1].viewer_comfort == "early"  # 07:00 in Los Angeles


def test_bookings_buffers_notice_and_limits() -> None:
    rules = Rules(
        "Europe/Berlin",
        NINE_TO_FIVE,
        buffer_before=10,
        buffer_after=5,
        step=15,
        notice=60,
        max_per_day=2,
    )
    day = at("Europe/Berlin", "2026-12-02T00:00")
    booked = (at("Europe/Berlin", "2026-12-02T11:00"), at("Europe/Berlin", "2026-12-02T12:00"))
    viewer = Person("Europe/Berlin", NINE_TO_FIVE)
    now = at("Europe/Berlin", "2026-12-02T09:10")
    found = free_slots(
        rules,
        Busy(bookings=[booked], host_sessions=[booked]),
        Query(day, day + DAY, 30, now, viewer),
    )
    walls = [wall("Europe/Berlin", s)[:5] for s in found]
    # Notice: nothing before 10:10. Buffers: a slot's 5 minutes after plus the booking's
    # 10 before, and the booking's 5 after plus a slot's 10 before.
    assert walls[:2] == ["10:15", "12:15"]
    # One more session makes the day full.
    second = (at("Europe/Berlin", "2026-12-02T15:00"), at("Europe/Berlin", "2026-12-02T15:30"))
    full = free_slots(
        rules,
        Busy(bookings=[booked, second], host_sessions=[booked, second]),
        Query(day, day + DAY, 30, now, viewer),
    )
    assert full == []


def test_overrides_add_hours_and_take_days_off() -> None:
    rules = Rules(
        "Europe/Berlin",
        NINE_TO_FIVE,
        overrides={date(2026, 12, 5): ((10 * 60, 11 * 60),), date(2026, 12, 7): ()},
        step=60,
    )
    assert [wall(rules.timezone, s)[:5] for s in slots_on(rules, "2026-12-05", 60)] == ["10:00"]
    assert slots_on(rules, "2026-12-07", 60) == []
    assert len(slots_on(rules, "2026-12-08", 60)) == 8


def test_imported_busy_blocks_without_double_padding() -> None:
    rules = Rules("Europe/Berlin", NINE_TO_FIVE, buffer_after=15, step=15)
    busy = (at("Europe/Berlin", "2026-12-02T12:00"), at("Europe/Berlin", "2026-12-02T13:00"))
    walls = [
        wall(rules.timezone, s)[:5] for s in slots_on(rules, "2026-12-02", 60, Busy(taken=[busy]))
    ]
    assert "10:45" in walls and "11:00" not in walls and "13:00" in walls


def test_ninety_days_three_hundred_bookings_across_both_changes_match_reference() -> None:
    rules = Rules(
        "Europe/Berlin", NINE_TO_FIVE, buffer_before=5, buffer_after=5, step=30, horizon_days=120
    )
    start = at("Europe/Berlin", "2027-02-01T00:00")
    bookings = [(start + i * 430, start + i * 430 + 60) for i in range(300)]
    viewer = Person("America/New_York", NINE_TO_FIVE)
    query = Query(start, start + 90 * DAY, 60, start - DAY, viewer)
    found = free_slots(rules, Busy(bookings=bookings), query)
    assert len(found) > 500
    assert [(s.start, s.end) for s in found] == reference(rules, Busy(bookings=bookings), query)
    offsets = {s.viewer_offset - s.host_offset for s in found}
    assert offsets == {-360, -300}  # New York is 5 hours behind Berlin, but 4 for two weeks


# --- the brute-force reference ---------------------------------------------------------------


def reference(rules: Rules, busy: Busy, query: Query) -> list[tuple[int, int]]:
    """Minute by minute, straight from the definition, with zoneinfo doing every lookup."""
    zone = ZoneInfo(rules.timezone)
    duration = query.duration
    lo = max(query.start, query.now + rules.notice)
    hi = min(query.end, query.now + rules.horizon_days * DAY)
    if lo >= hi:
        return []

    def reading(minute: int) -> datetime:
        return datetime.fromtimestamp(minute * 60, zone)

    def working(minute: int) -> bool:
        dt = reading(minute)
        windows = rules.overrides.get(dt.date(), rules.weekly[dt.weekday()])
        return any(a <= dt.hour * 60 + dt.minute < b for a, b in windows)

    works = [working(m) for m in range(lo, hi + duration)]
    idle = [0]
    for w in works:
        idle.append(idle[-1] + (0 if w else 1))
    per_day: dict[date, int] = {}
    per_week: dict[tuple[int, int], int] = {}
    for a, _ in busy.host_sessions:
        d = reading(a).date()
        per_day[d] = per_day.get(d, 0) + 1
        per_week[d.isocalendar()[:2]] = per_week.get(d.isocalendar()[:2], 0) + 1
    before, after = rules.buffer_before, rules.buffer_after
    out = []
    for s in range(lo, hi):
        dt = reading(s)
        if dt.fold == 1 or (dt.hour * 60 + dt.minute) % rules.step:
            continue
        if rules.max_per_day is not None and per_day.get(dt.date(), 0) >= rules.max_per_day:
            continue
        week = dt.date().isocalendar()[:2]
        if rules.max_per_week is not None and per_week.get(week, 0) >= rules.max_per_week:
            continue
        if idle[s - lo + duration] - idle[s - lo]:
            continue
        pa, pb = s - before, s + duration + after
        if any(pa < b + after and a - before < pb for a, b in busy.bookings):
            continue
        if any(pa < b and a < pb for a, b in busy.taken):
            continue
        out.append((s, s + duration))
    return out


def _transitions(zone: str) -> list[int]:
    lo, hi = (
        to_minute(datetime(2026, 1, 1, tzinfo=UTC)),
        to_minute(datetime(2028, 1, 1, tzinfo=UTC)),
    )
    return list(ZoneTable.build(zone, lo, hi).starts[1:])


TRANSITIONS = {z: _transitions(z) for z in ZONES}
windows = st.lists(
    st.tuples(st.integers(0, 143), st.integers(1, 36)).map(
        lambda t: (t[0] * 10, min(1440, t[0] * 10 + t[1] * 10))
    ),
    max_size=2,
).map(lambda ws: tuple(sorted(ws)))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Rules, Busy, Query]:
    zone = draw(st.sampled_from(ZONES))
    if TRANSITIONS[zone] and draw(st.booleans()):
        around = draw(st.sampled_from(TRANSITIONS[zone]))
    else:
        around = to_minute(datetime(2026, 1, 1, tzinfo=UTC)) + draw(st.integers(0, 700)) * DAY
    start = around + draw(st.integers(-3 * DAY, DAY))
    end = start + draw(st.integers(60, 3 * DAY))
    weekly = tuple(draw(windows) for _ in range(7))
    first_day = datetime.fromtimestamp(start * 60, ZoneInfo(zone)).date()
    overrides = {
        first_day + timedelta(days=draw(st.integers(0, 3))): draw(windows)
        for _ in range(draw(st.integers(0, 2)))
    }
    rules = Rules(
        zone,
        weekly,
        overrides,
        buffer_before=draw(st.sampled_from((0, 5, 15, 30))),
        buffer_after=draw(st.sampled_from((0, 10, 15))),
        notice=draw(st.sampled_from((0, 45, 600))),
        horizon_days=draw(st.integers(1, 5)),
        step=draw(st.sampled_from((10, 15, 20, 30, 45, 60))),
        max_per_day=draw(st.none() | st.integers(1, 2)),
        max_per_week=draw(st.none() | st.integers(1, 3)),
    )
    booking = st.tuples(st.integers(start - DAY, end + DAY), st.integers(15, 180)).map(
        lambda t: (t[0], t[0] + t[1])
    )
    bookings = draw(st.lists(booking, max_size=6))
    host_sessions = [b for b in bookings if draw(st.booleans())]
    taken = draw(st.lists(booking, max_size=3))
    now = start - draw(st.integers(0, 2 * DAY))
    duration = draw(st.sampled_from((15, 30, 45, 60, 90, 150)))
    viewer = Person(draw(st.sampled_from(ZONES)), NINE_TO_FIVE)
    return rules, Busy(bookings, host_sessions, taken), Query(start, end, duration, now, viewer)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_slots_match_the_minute_by_minute_reference(scenario: tuple[Rules, Busy, Query]) -> None:
    rules, busy, query = scenario
    found = free_slots(rules, busy, query)
    assert [(s.start, s.end) for s in found] == reference(rules, busy, query)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_slot_invariants(scenario: tuple[Rules, Busy, Query]) -> None:
    rules, busy, query = scenario
    zone = ZoneInfo(rules.timezone)
    pad_b, pad_a = rules.buffer_before, rules.buffer_after
    for slot in free_slots(rules, busy, query):
        # No slot overlaps a booking or its buffers.
        for a, b in busy.bookings:
            assert slot.end + pad_a <= a - pad_b or b + pad_a <= slot.start - pad_b
        # Every minute of it lies inside the host's hours in the host's zone.
        for minute in range(slot.start, slot.end):
            dt = datetime.fromtimestamp(minute * 60, zone)
            hours = rules.overrides.get(dt.date(), rules.weekly[dt.weekday()])
            assert any(a <= dt.hour * 60 + dt.minute < b for a, b in hours)
        # It starts at a wall time that exists, at its first occurrence.
        local = datetime.fromtimestamp(slot.start * 60, zone)
        naive = local.replace(tzinfo=None)
        assert to_minute(naive.replace(tzinfo=zone, fold=0)) == slot.start
        assert local.fold == 0
        assert slot.host_offset * 60 == int(local.utcoffset().total_seconds())  # type: ignore[union-attr]
