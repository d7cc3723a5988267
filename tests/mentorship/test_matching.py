"""Scores stay in [0, 1], symmetric components are symmetric, and reasons explain each."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.hours import WeeklyInterval
from server.mentorship import matching
from server.mentorship.matching import Mentor, Person, rank, score

WORDS = st.sampled_from(["python", "Leadership", "design", "career", "ML", "honesty", "rust"])
LANGS = st.sampled_from(["en", "en-GB", "pt-BR", "pt", "de", "ja", "sw"])
STYLES = st.sampled_from(["live", "async", "mixed"])
CADENCES = st.sampled_from(["weekly", "biweekly", "monthly"])
ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"])
START = datetime(2026, 11, 25, 12, tzinfo=UTC)


@st.composite
def hours(draw: st.DrawFn) -> tuple[WeeklyInterval, ...]:
    out = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, 1439))
        out.append(
            WeeklyInterval(draw(st.integers(0, 6)), start, draw(st.integers(start + 1, 1440)))
        )
    return tuple(out)


@st.composite
def people(draw: st.DrawFn, user_id: str = "p") -> Person:
    return Person(
        user_id=user_id,
        timezone=draw(ZONES),
        languages=tuple(draw(st.lists(LANGS, max_size=3))),
        topics=tuple(draw(st.lists(WORDS, max_size=4))),
        values=tuple(draw(st.lists(WORDS, max_size=4))),
        style=draw(STYLES),
        cadence=draw(CADENCES),
        hours=draw(hours()),
    )


@settings(max_examples=200, deadline=None)
@given(
    mentee=people("a"),
    mentor=people("b"),
    capacity=st.integers(0, 5),
    active=st.integers(0, 6),
    overlap=st.floats(0, 168),
)
def test_score_is_within_unit_interval_and_every_component_explained(
    mentee: Person, mentor: Person, capacity: int, active: int, overlap: float
) -> None:
    match = score(mentee, Mentor(mentor, capacity, active), overlap)
    assert 0.0 <= match.score <= 1.0
    assert {r.component for r in match.reasons} == set(matching.WEIGHTS)
    assert all(0.0 <= r.score <= 1.0 and r.text for r in match.reasons)
    assert abs(sum(matching.WEIGHTS.values()) - 1.0) < 1e-9
    # Ranking scores everyone without reasons; the number must be the same.
    quick = score(mentee, Mentor(mentor, capacity, active), overlap, explain=False)
    assert (quick.score, quick.available) == (match.score, match.available)


@settings(max_examples=200, deadline=None)
@given(a=people("a"), b=people("b"))
def test_symmetric_components_are_symmetric(a: Person, b: Person) -> None:
    assert (
        matching.values_component(a.values, b.values)[0]
        == matching.values_component(b.values, a.values)[0]
    )
    assert (
        matching.language_component(a.languages, b.languages)[0]
        == (matching.language_component(b.languages, a.languages)[0])
    )
    assert (
        matching.style_component(a.style, b.style)[0]
        == matching.style_component(b.style, a.style)[0]
    )
    assert (
        matching.cadence_component(a.cadence, b.cadence)[0]
        == matching.cadence_component(b.cadence, a.cadence)[0]
    )
    ab = rank(a, [Mentor(b, 1, 0)], START, include_unavailable=True)[0]
    ba = rank(b, [Mentor(a, 1, 0)], START, include_unavailable=True)[0]
    assert ab.overlap_hours_per_week == ba.overlap_hours_per_week


def test_a_common_primary_language_is_enough() -> None:
    value, text = matching.language_component(["pt-BR"], ["pt-PT", "en"])
    assert value == 1.0 and "Portuguese" in text


def test_topics_count_what_the_mentee_wants() -> None:
    value, text = matching.topics_component(["Python", "career"], ["python", "rust", "go"])
    assert value == 0.5
    assert "1 of your 2 topics" in text and "Python" in text


def test_ranking_leaves_out_full_mentors_and_strangers_unless_asked() -> None:
    mentee = Person("me", "Europe/Berlin", languages=("en",), topics=("python",))
    good = Mentor(Person("good", "Europe/Paris", languages=("en",), topics=("python",)), 2, 0)
    full = Mentor(Person("full", "Europe/Paris", languages=("en",), topics=("python",)), 1, 1)
    foreign = Mentor(Person("foreign", "Asia/Tokyo", languages=("ja",), topics=("python",)), 2, 0)
    ranked = rank(mentee, [full, foreign, good], START)
    assert [m.mentor_id for m in ranked] == ["good"]
    everyone = rank(mentee, [full, foreign, good], START, include_unavailable=True)
    assert {m.mentor_id for m in everyone} == {"good", "full", "foreign"}
    assert everyone[0].mentor_id == "good"
    assert not any(m.available for m in everyone[1:])


def test_more_overlap_ranks_higher_all_else_equal() -> None:
    day = tuple(WeeklyInterval(d, 9 * 60, 17 * 60) for d in range(5))
    mentee = Person("me", "Europe/Berlin", languages=("en",), hours=day)
    near = Mentor(Person("near", "Europe/Lisbon", languages=("en",), hours=day), 1, 0)
    far = Mentor(Person("far", "Pacific/Auckland", languages=("en",), hours=day), 1, 0)
    ranked = rank(mentee, [far, near], START)
    assert [m.mentor_id for m in ranked] == ["near", "far"]
    assert ranked[0].overlap_hours_per_week == 35.0
    overlap_reason = next(r for r in ranked[0].reasons if r.component == "overlap")
    assert "35 hours" in overlap_reason.text
