"""The mentorship state machine, every state against every action and every role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.mentorship import lifecycle
from server.mentorship.lifecycle import (
    ACTIONS,
    STATES,
    IllegalTransition,
    NotYourMove,
    allowed_actions,
    effective_state,
    transition,
)

# Written out from the lifecycle as README describes it, independently of the module's own table.
LEGAL = {
    ("requested", "accept"): ("active", {"mentor"}),
    ("requested", "decline"): ("declined", {"mentor"}),
    ("requested", "withdraw"): ("withdrawn", {"mentee"}),
    ("requested", "expire"): ("expired", {"system"}),
    ("active", "pause"): ("paused", {"mentor", "mentee"}),
    ("paused", "resume"): ("active", {"mentor", "mentee"}),
    ("active", "complete"): ("completed", {"mentor", "mentee"}),
    ("paused", "complete"): ("completed", {"mentor", "mentee"}),
    ("active", "end"): ("ended", {"mentor", "mentee"}),
    ("paused", "end"): ("ended", {"mentor", "mentee"}),
}
ROLES = ("mentor", "mentee", "system")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_every_state_action_and_role(state: str, action: str, role: str) -> None:
    expected = LEGAL.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            transition(state, action, role)  # type: ignore[arg-type]
        assert state in str(info.value)
        return
    after, actors = expected
    if role in actors:
        move = transition(state, action, role)  # type: ignore[arg-type]
        assert (move.before, move.after, move.action) == (state, after, action)
    else:
        with pytest.raises(NotYourMove):
            transition(state, action, role)  # type: ignore[arg-type]


def test_the_table_has_exactly_the_spec_transitions() -> None:
    assert {k: v for k, v in lifecycle.TRANSITIONS.items()} == {k: v[0] for k, v in LEGAL.items()}


def test_terminal_states_allow_nothing() -> None:
    for state in ("completed", "declined", "withdrawn", "expired", "ended"):
        assert lifecycle.is_terminal(state)  # type: ignore[arg-type]
        for role in ROLES:
            assert allowed_actions(state, role) == []  # type: ignore[arg-type]


def test_allowed_actions_drive_the_buttons() -> None:
    assert allowed_actions("requested", "mentor") == ["accept", "decline"]
    assert allowed_actions("requested", "mentee") == ["withdraw"]
    assert allowed_actions("active", "mentee") == ["pause", "complete", "end"]
    assert allowed_actions("paused", "mentor") == ["resume", "complete", "end"]


def test_illegal_message_names_the_current_state() -> None:
    with pytest.raises(IllegalTransition, match="This mentorship is declined"):
        transition("declined", "accept", "mentor")


def test_requests_expire_after_fourteen_days() -> None:
    sent = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    expires = sent + lifecycle.REQUEST_TTL
    assert effective_state("requested", expires, expires - timedelta(seconds=1)) == "requested"
    assert effective_state("requested", expires, expires) == "expired"
    assert effective_state("active", expires, expires + timedelta(days=30)) == "active"
