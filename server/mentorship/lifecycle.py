"""The mentorship state machine (README, "Mentoring"), free of I/O.

``requested → active | declined | withdrawn | expired``; ``active ⇄ paused``;
``active | paused → completed | ended``. Every other move is illegal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

State = Literal[
    "requested", "active", "paused", "completed", "declined", "withdrawn", "expired", "ended"
]
Action = Literal["accept", "decline", "withdraw", "expire", "pause", "resume", "complete", "end"]
Role = Literal["mentor", "mentee", "system"]

STATES: Final[tuple[State, ...]] = (
    "requested",
    "active",
    "paused",
    "completed",
    "declined",
    "withdrawn",
    "expired",
    "ended",
)
ACTIONS: Final[tuple[Action, ...]] = (
    "accept",
    "decline",
    "withdraw",
    "expire",
    "pause",
    "resume",
    "complete",
    "end",
)
OPEN_STATES: Final[frozenset[State]] = frozenset({"requested", "active", "paused"})
# Active and paused mentorships take one of the mentor's places.
OCCUPYING_STATES: Final[frozenset[State]] = frozenset({"active", "paused"})
REQUEST_TTL: Final = timedelta(days=14)

# (state, action) -> next state
TRANSITIONS: Final[dict[tuple[State, Action], State]] = {
    ("requested", "accept"): "active",
    ("requested", "decline"): "declined",
    ("requested", "withdraw"): "withdrawn",
    ("requested", "expire"): "expired",
    ("active", "pause"): "paused",
    ("active", "complete"): "completed",
    ("active", "end"): "ended",
    ("paused", "resume"): "active",
    ("paused", "complete"): "completed",
    ("paused", "end"): "ended",
}

# Who may take each action.
ACTORS: Final[dict[Action, frozenset[Role]]] = {
    "accept": frozenset({"mentor"}),
    "decline": frozenset({"mentor"}),
    "withdraw": frozenset({"mentee"}),
    "expire": frozenset({"system"}),
    "pause": frozenset({"mentor", "mentee"}),
    "resume": frozenset({"mentor", "mentee"}),
    "complete": frozenset({"mentor", "mentee"}),
    "end": frozenset({"mentor", "mentee"}),
}

_ROLE_WORDS: Final[dict[Role, str]] = {
    "mentor": "the mentor",
    "mentee": "the mentee",
    "system": "Meridian itself",
}


class IllegalTransition(Exception):
    """The action does not apply to the current state."""

    def __init__(self, state: State, action: Action) -> None:
        super().__init__(f"This mentorship is {state}; it cannot be {past(action)} now.")
        self.state = state
        self.action = action


class NotYourMove(Exception):
    """The action applies, but not for this participant."""

    def __init__(self, action: Action, role: Role) -> None:
        allowed = " or ".join(_ROLE_WORDS[r] for r in sorted(ACTORS[action]))
        super().__init__(f"Only {allowed} can {action} this mentorship.")
        self.action = action
        self.role = role


@dataclass(frozen=True, slots=True)
class Move:
    before: State
    after: State
    action: Action


def past(action: Action) -> str:
    return {
        "accept": "accepted",
        "decline": "declined",
        "withdraw": "withdrawn",
        "expire": "expired",
        "pause": "paused",
        "resume": "resumed",
        "complete": "completed",
        "end": "ended",
    }[action]


def transition(state: State, action: Action, role: Role) -> Move:
    """The move ``role`` makes by taking ``action`` in ``state``, or why it cannot."""
    after = TRANSITIONS.get((state, action))
    if after is None:
        raise IllegalTransition(state, action)
    if role not in ACTORS[action]:
        raise NotYourMove(action, role)
    return Move(state, after, action)


def allowed_actions(state: State, role: Role) -> list[Action]:
    """What ``role`` may do now, in a stable order (drives the page's buttons)."""
    return [a for a in ACTIONS if (state, a) in TRANSITIONS and role in ACTORS[a]]


def is_terminal(state: State) -> bool:
    return not any(s == state for s, _ in TRANSITIONS)


def is_due_to_expire(state: State, expires_at: datetime, now: datetime) -> bool:
    """A request nobody answered within its time is expired, whether or not stored so yet."""
    return state == "requested" and now >= expires_at


def effective_state(state: State, expires_at: datetime, now: datetime) -> State:
    return "expired" if is_due_to_expire(state, expires_at, now) else state
