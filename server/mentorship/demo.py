"""``python -m server seed-demo``: a small living community for a first look.

Mentors and mentees on five continents, each with a profile and working hours in
their own zone, and one active mentorship with a confirmed agreement, goals and an
action item. It only ever fills an empty database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select

from server.accounts import service as accounts
from server.accounts.models import User
from server.accounts.schemas import SignupIn
from server.core.bus import MemoryBus
from server.core.db import Database
from server.mentorship import agreements, goals, profiles, requests, transitions
from server.mentorship.schemas import (
    ActionItemIn,
    AgreementIn,
    MentorshipIn,
    ProfileIn,
    WorkingHours,
)

DEMO_PASSWORD: Final = "meridian-demo-2026"
DEMO_PASSWORD_SCORE: Final = 3  # the default PASSWORD_MIN_SCORE; zxcvbn gives it 4


class DemoRefused(Exception):
    """The database already holds people; the demo never mixes with real accounts."""


@dataclass(frozen=True)
class DemoPerson:
    name: str
    email: str
    timezone: str
    role: str
    profile: dict[str, Any] = field(default_factory=dict)
    hours: tuple[tuple[int, str, str], ...] = ()


def _weekdays(start: str, end: str, days: range = range(5)) -> tuple[tuple[int, str, str], ...]:
    return tuple((d, start, end) for d in days)


PEOPLE: Final = (
    DemoPerson(
        "Amara Okafor", "amara@demo.meridian.example", "Africa/Lagos", "mentor",
        {"headline": "Product lead at a fintech; ten years of shipping in Lagos and London",
         "languages": ["en", "yo"], "topics": ["product management", "career", "leadership"],
         "values": ["candour", "curiosity"], "style": "live", "cadence": "biweekly",
         "capacity": 3},
        _weekdays("09:00", "17:00"),
    ),
    DemoPerson(
        "Kenji Watanabe", "kenji@demo.meridian.example", "Asia/Tokyo", "mentor",
        {"headline": "Machine-learning engineer; reviews papers, writes Python",
         "languages": ["ja", "en"], "topics": ["machine learning", "python"],
         "values": ["craft", "patience"], "style": "async", "cadence": "weekly", "capacity": 2},
        _weekdays("10:00", "19:00"),
    ),
    DemoPerson(
        "Sofia Almeida", "sofia@demo.meridian.example", "America/Sao_Paulo", "mentor",
        {"headline": "Design director; accessibility advocate",
         "languages": ["pt-BR", "en", "es"], "topics": ["design", "accessibility", "career"],
         "values": ["inclusion", "candour"], "style": "mixed", "cadence": "biweekly",
         "capacity": 2},
        _weekdays("08:00", "16:00"),
    ),
    DemoPerson(
        "Liam O'Connor", "liam@demo.meridian.example", "Europe/Dublin", "mentor",
        {"headline": "Maintainer of a popular open-source queue; distributed systems",
         "languages": ["en", "ga"], "topics": ["python", "open source", "distributed systems"],
         "values": ["openness", "craft"], "style": "mixed", "cadence": "weekly", "capacity": 2},
        (*_weekdays("09:30", "13:00"), *_weekdays("14:00", "18:30")),
    ),
    DemoPerson(
        "Priya Raman", "priya@demo.meridian.example", "Asia/Kolkata", "mentor",
        {"headline": "Data-engineering manager; grew a team from 3 to 40",
         "languages": ["en", "hi", "ta"], "topics": ["data engineering", "leadership"],
         "values": ["curiosity", "inclusion"], "style": "live", "cadence": "monthly",
         "capacity": 4},
        _weekdays("11:00", "20:00"),
    ),
    DemoPerson(
        "Mateo García", "mateo@demo.meridian.example", "America/Mexico_City", "mentee",
        {"headline": "Backend developer wanting to contribute to open source",
         "languages": ["es", "en"], "topics": ["python", "open source"],
         "goals": ["Land a first merged pull request upstream", "Give a meetup talk"],
         "values": ["openness", "curiosity"], "style": "mixed", "cadence": "weekly"},
        _weekdays("07:00", "15:00"),
    ),
    DemoPerson(
        "Hannah Schmidt", "hannah@demo.meridian.example", "Europe/Berlin", "mentee",
        {"headline": "UX designer moving into accessibility",
         "languages": ["de", "en"], "topics": ["design", "accessibility"],
         "goals": ["Run an accessibility audit", "Lead a design critique"],
         "values": ["inclusion"], "style": "mixed", "cadence": "biweekly"},
        _weekdays("09:00", "17:00"),
    ),
    DemoPerson(
        "Noah Williams", "noah@demo.meridian.example", "Australia/Sydney", "mentee",
        {"headline": "Data analyst learning machine learning",
         "languages": ["en"], "topics": ["machine learning", "python"],
         "goals": ["Ship a model to production"], "values": ["craft"], "style": "async",
         "cadence": "weekly"},
        _weekdays("08:30", "17:00"),
    ),
    DemoPerson(
        "Aisha Mensah", "aisha@demo.meridian.example", "Africa/Accra", "both",
        {"headline": "Product manager; happy to mentor new PMs, looking for a leadership mentor",
         "languages": ["en", "fr"], "topics": ["product management", "leadership"],
         "goals": ["Grow into a head-of-product role"], "values": ["candour"],
         "style": "live", "cadence": "biweekly", "capacity": 1},
        _weekdays("09:00", "17:00"),
    ),
)  # fmt: skip


async def seed_demo(*, database_url: str, now: datetime) -> tuple[DemoPerson, ...]:
    """Create the demo community; raise DemoRefused if anyone has an account already."""
    db = Database(database_url)
    bus = MemoryBus()
    try:
        async with db.read() as s:
            existing = int(await s.scalar(select(func.count()).select_from(User)) or 0)
        if existing:
            raise DemoRefused(
                f"the database already holds {existing} account(s); seed-demo only fills an "
                "empty database"
            )
        users: dict[str, User] = {}
        for person in PEOPLE:
            user = await accounts.signup(
                db=db,
                now=now,
                data=SignupIn(
                    email=person.email,
                    password=DEMO_PASSWORD,
                    name=person.name,
                    timezone=person.timezone,
                ),
                min_score=DEMO_PASSWORD_SCORE,
            )
            roles = ["mentor", "mentee"] if person.role == "both" else [person.role]
            await profiles.put_profile(
                db=db,
                now=now,
                user_id=user.id,
                data=ProfileIn.model_validate(
                    {
                        **person.profile,
                        "roles": roles,
                        "working_hours": [
                            WorkingHours(weekday=d, start=a, end=b).model_dump()
                            for d, a, b in person.hours
                        ],
                    }
                ),
            )
            users[person.email] = user
        mentor = users["liam@demo.meridian.example"]
        mentee = users["mateo@demo.meridian.example"]
        agreement = AgreementIn(
            cadence="weekly",
            session_minutes=45,
            channel="mixed",
            recording_allowed=False,
            confidential_topics=["employer details"],
            media_retention_days=90,
            review_date=date(now.year, now.month, 1) + timedelta(days=92),
            note="Voice notes between sessions are welcome; answers within two working days.",
        )
        created = await requests.request_mentorship(
            db=db,
            bus=bus,
            now=now,
            mentee=mentee,
            data=MentorshipIn(
                mentor_id=mentor.id,
                goals=["Land a first merged pull request upstream", "Give a meetup talk"],
                message="Your talk on queue internals got me hooked. Would you mentor me?",
                proposal=agreement,
            ),
        )
        await transitions.act(
            db=db,
            bus=bus,
            now=now,
            user=mentor,
            mentorship_id=created.id,
            action="accept",
            reason="",
        )
        await agreements.confirm_agreement(
            db=db, bus=bus, now=now, user=mentor, mentorship_id=created.id, version=1
        )
        await goals.add_action_item(
            db=db,
            now=now,
            user=mentor,
            mentorship_id=created.id,
            data=ActionItemIn(
                title="Pick a good-first-issue and comment on it",
                owner_id=mentee.id,
                due_date=(now + timedelta(days=7)).date(),
            ),
        )
        return PEOPLE
    finally:
        await bus.close()
        await db.close()


def sign_in_table(people: tuple[DemoPerson, ...], public_url: str) -> str:
    width = max(len(p.email) for p in people)
    lines = [
        f"Demo community ready. Open {public_url}/login and sign in as anyone below,",
        f"all with the password {DEMO_PASSWORD!r}:",
        "",
    ]
    for p in people:
        lines.append(f"  {p.email:<{width}}  {p.role:<6}  {p.timezone:<20}  {p.name}")
    lines += [
        "",
        "Liam O'Connor (Dublin) already mentors Mateo García (Mexico City): their agreement is",
        "confirmed, and an action item waits for Mateo.",
    ]
    return "\n".join(lines)
