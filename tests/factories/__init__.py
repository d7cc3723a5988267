"""Builders for test and benchmark data, so each states what matters and nothing else.

``people`` makes people and mentorships through the API, as the browser app does;
``rows`` writes rows straight to the database for setups the API would take long to
reach (an active mentorship with an agreement, a year of sessions). The benchmarks
import them too: they need only what the server itself needs.
"""

from tests.factories import rows
from tests.factories.people import (
    AGREEMENT,
    NINE_TO_FIVE,
    OPEN,
    PASSWORD,
    Http,
    Pair,
    Person,
    act,
    ask,
    count,
    make_mentorship,
    make_pair,
    mentee,
    mentor,
    ok,
    profile,
    set_working_hours,
    sign_up,
    unique_email,
)

__all__ = [
    "AGREEMENT",
    "NINE_TO_FIVE",
    "OPEN",
    "PASSWORD",
    "Http",
    "Pair",
    "Person",
    "act",
    "ask",
    "count",
    "make_mentorship",
    "make_pair",
    "mentee",
    "mentor",
    "ok",
    "profile",
    "rows",
    "set_working_hours",
    "sign_up",
    "unique_email",
]
