"""Finding free slots: the service side of listing a mentor's slots, and of the nearest
free ones a refused booking offers instead.

Both read the people's plans and what is taken, add imported busy time, and ask the
pure engine (``slots.py``); comfort is always judged by the viewer's own hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from server.accounts.models import User
from server.core.db import Database
from server.core.errors import NotFound, Problem
from server.core.wire import utc_text
from server.scheduling import slots as sl
from server.scheduling.availability import NO_MENTOR, load_plans
from server.scheduling.busy import BusySource, imported_busy, load_taken
from server.scheduling.schemas import SlotOut, SlotsOut, SlotsQuery


def _slot_wire(slot: sl.Slot) -> dict[str, Any]:
    return {
        "start": sl.utc_iso(slot.start),
        "end": sl.utc_iso(slot.end),
        "viewer_local": sl.local_iso(slot.start, slot.viewer_offset),
        "host_local": sl.local_iso(slot.start, slot.host_offset),
        "comfort": {"host": slot.host_comfort, "viewer": slot.viewer_comfort},
    }


async def find_slots(
    *,
    db: Database,
    now: datetime,
    sources: Sequence[BusySource],
    viewer: User,
    mentor_id: str,
    query: SlotsQuery,
) -> SlotsOut:
    duration = query.duration
    async with db.read() as s:
        mentee = None if viewer.id == mentor_id else viewer.id
        plans, paired = await load_plans(
            s, mentor_id, viewer.id, pair=(mentor_id, viewer.id) if mentee else None
        )
        if mentor_id not in plans or not paired:
            raise NotFound(NO_MENTOR)
        host, guest = plans[mentor_id], plans[viewer.id]
        horizon = now + timedelta(days=host.rules.horizon_days)
        if query.start >= horizon or query.end > horizon + timedelta(minutes=1):
            raise Problem(
                422,
                f"Slots can be asked for up to {horizon.isoformat()} "
                f"({host.rules.horizon_days} days ahead); choose an earlier end.",
                title="Invalid input",
                errors=[{"field": "end", "message": "beyond the booking horizon"}],
                extra={"horizon_end": horizon.isoformat()},
            )
        pad = timedelta(minutes=host.rules.buffer_before + host.rules.buffer_after)
        lo = query.start - pad - timedelta(days=9)
        hi = query.end + timedelta(minutes=duration) + pad + timedelta(days=9)
        people = [mentor_id] if viewer.id == mentor_id else [mentor_id, viewer.id]
        taken = await load_taken(s, host_id=mentor_id, user_ids=people, lo=lo, hi=hi)
    taken.padded.extend(await imported_busy(sources, people, lo, hi))
    # Comfort is the viewer's own: their zone and hours, whatever zone times are shown in.
    viewer_person = sl.Person(viewer.timezone, guest.comfort.weekly)
    display = query.tz or viewer.timezone
    found = sl.free_slots(
        host.rules,
        taken.busy(),
        sl.Query(
            sl.to_minute(query.start),
            sl.to_minute(query.end),
            duration,
            sl.to_minute(now),
            viewer_person,
            host.comfort,
            display_timezone=display,
        ),
    )
    # One validation of the whole answer: the slots pass through their wire model in
    # one call rather than one model per slot (a 90-day answer has thousands).
    return SlotsOut.model_validate(
        {
            "mentor_id": mentor_id,
            "timezone": host.user.timezone,
            "viewer_timezone": display,
            "duration": duration,
            "horizon_end": utc_text(horizon),
            "items": [_slot_wire(x) for x in found],
        }
    )


async def nearest_slots(
    *,
    db: Database,
    now: datetime,
    sources: Sequence[BusySource],
    viewer: User,
    mentor_id: str,
    around: int,
    duration: int,
) -> list[SlotOut]:
    """Up to three free slots closest to ``around``, from three days either side."""
    async with db.read() as s:
        plans, _ = await load_plans(s, mentor_id, viewer.id)
        if mentor_id not in plans:
            raise NotFound(NO_MENTOR)
        host = plans[mentor_id]
        # Comfort on the viewer's side is judged by the viewer's own hours, as in find_slots.
        guest = plans.get(viewer.id, host)
        people = [mentor_id] if viewer.id == mentor_id else [mentor_id, viewer.id]
        lo, hi = around - 3 * sl.DAY, around + 3 * sl.DAY
        taken = await load_taken(
            s,
            host_id=mentor_id,
            user_ids=people,
            lo=sl.from_minute(lo - 10 * sl.DAY),
            hi=sl.from_minute(hi + 10 * sl.DAY),
        )
    taken.padded.extend(
        await imported_busy(
            sources, people, sl.from_minute(lo - sl.DAY), sl.from_minute(hi + sl.DAY)
        )
    )
    viewer_person = sl.Person(viewer.timezone, guest.comfort.weekly)
    found = sl.free_slots(
        host.rules,
        taken.busy(),
        sl.Query(lo, hi, duration, sl.to_minute(now), viewer_person, host.comfort),
    )
    return [SlotOut.model_validate(_slot_wire(x)) for x in sl.nearest(found, around)]
