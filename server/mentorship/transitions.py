"""Lifecycle moves of a mentorship (accept, decline, withdraw, pause, resume, complete,
end): the pure state machine in lifecycle.py judges, this stores the move, frees or
takes the mentor's place and, when the mentorship stops, runs the other features' hooks
(``stopping.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from server.accounts.models import User
from server.core.bus import EventBus
from server.core.db import Database
from server.core.errors import Conflict, Forbidden
from server.mentorship import lifecycle
from server.mentorship.expiry import settle
from server.mentorship.lifecycle import Action, IllegalTransition, NotYourMove, State
from server.mentorship.models import Profile
from server.mentorship.profiles import occupied_places
from server.mentorship.records import WORKING, detail, other_party, participant_mentorship, role_in
from server.mentorship.schemas import MentorshipOut
from server.mentorship.stopping import AfterCommit, StopHook, Stopping
from server.notifications import service as notifications

_ANSWERS: dict[Action, str] = {
    "accept": "{actor} accepted your request",
    "decline": "{actor} declined your request",
    "withdraw": "{actor} withdrew their request",
    "pause": "{actor} paused your mentorship",
    "resume": "{actor} resumed your mentorship",
    "complete": "{actor} marked your mentorship completed",
    "end": "{actor} ended your mentorship",
}


async def act(
    *,
    db: Database,
    bus: EventBus,
    now: datetime,
    user: User,
    mentorship_id: str,
    action: Action,
    reason: str,
    on_stop: Sequence[StopHook] = (),
) -> MentorshipOut:
    """Move the mentorship through its lifecycle; 409 names the state when it cannot.

    When it stops working (ended or completed), each of ``on_stop`` runs in the same
    transaction (scheduling's cancels the upcoming sessions; a pause keeps them).
    """
    async with db.read() as s:
        await participant_mentorship(s, mentorship_id, user.id)
    await settle(db, bus, now, mentorship_id)
    async with db.write() as s:
        m = await participant_mentorship(s, mentorship_id, user.id, for_update=True)
        state: State = lifecycle.effective_state(m.state, m.expires_at, now)  # type: ignore[arg-type]
        try:
            move = lifecycle.transition(state, action, role_in(m, user.id))
        except IllegalTransition as exc:
            raise Conflict(str(exc), extra={"state": state}) from None
        except NotYourMove as exc:
            raise Forbidden(str(exc), extra={"state": state}) from None
        if action == "accept":  # paused mentorships keep their place, so resume needs none
            profile = await s.scalar(
                select(Profile).where(Profile.user_id == m.mentor_id).with_for_update()
            )
            capacity = profile.capacity if profile else 0
            taken = await occupied_places(s, m.mentor_id)
            if taken >= capacity:
                raise Conflict(
                    f"All your places are taken ({taken} of {capacity}); raise your capacity "
                    "in your profile or finish a mentorship first.",
                    extra={"state": state},
                )
        m.state = move.after
        m.state_changed_at = now
        m.state_changed_by = user.id
        m.state_reason = reason
        after: list[AfterCommit] = []
        if state in WORKING and move.after not in WORKING:
            stopping = Stopping(s, m.id, now, user, _session_reason(move.after, reason))
            after = [await hook(stopping) for hook in on_stop]
        note = notifications.stage(
            s,
            now=now,
            user_id=other_party(m, user.id),
            kind=f"mentorship.{move.after}",
            title=_ANSWERS[action].format(actor=user.name),
            body=reason,
            link=f"/mentorships/{m.id}",
            data={"mentorship_id": m.id, "state": move.after},
        )
        await s.flush()
        out = await detail(s, m, user.id, now)
    await notifications.announce(bus, [note])
    for announce in after:
        await announce(bus)
    return out


def _session_reason(after: str, reason: str) -> str:
    why = "The mentorship ended." if after == "ended" else "The mentorship was completed."
    return f"{why} {reason}" if reason else why
