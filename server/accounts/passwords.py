"""Passwords: hashing with argon2id, and refusing the ones that are easy to guess.

Strength is estimated by ``zxcvbn`` (the PyPI package of that name, the maintained
Python port of Dropbox's estimator; ``zxcvbn-python`` is its unmaintained former name
and ``zxcvbn-rs-py`` binds a different implementation whose scores differ). It knows
common passwords, names, keyboard patterns, dates and repeats, and it is given the
person's own email and name so "ada.lovelace1815" is weak for Ada. Its feedback (a
warning and suggestions) is shown to the person as it is, in plain words.

The same estimate runs for sign-up, password change and reset, and behind
``POST /api/auth/password-strength`` for the live meter, so the page can never
promise what the server then refuses.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from server.core.errors import field_error

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verifying against this when the email is unknown keeps both paths equally slow.
_DUMMY = _HASHER.hash("meridian-timing-equaliser")

# zxcvbn's own cap: its matching grows quickly with length, so only the first 72
# characters are estimated (a password whose first 72 are strong is strong).
ESTIMATED_LENGTH = 72
# zxcvbn keeps the user inputs of the current call in a module-level dictionary, so two
# estimates must not run at once.
_ZXCVBN_LOCK = threading.Lock()
SCORE_WORDS = ("very weak", "weak", "fair", "good", "strong")
FALLBACK_SUGGESTION = "Add another word or two. Uncommon words are better."


@dataclass(frozen=True, slots=True)
class Strength:
    """zxcvbn's verdict: ``score`` from 0 (guessed at once) to 4 (very hard to guess)."""

    score: int
    warning: str
    suggestions: tuple[str, ...]

    @property
    def label(self) -> str:
        return SCORE_WORDS[self.score]

    def advice(self) -> str:
        """The warning and suggestions as sentences, or a general hint if zxcvbn has none."""
        words = [w for w in (self.warning, *self.suggestions) if w]
        return " ".join(_sentence(w) for w in words) or FALLBACK_SUGGESTION


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def personal_words(*, email: str = "", name: str = "") -> list[str]:
    """What an attacker knows about the person: the address, its parts, the name's words."""
    words = {"meridian"}
    email = email.strip().lower()
    if email:
        words.add(email)
        local, _, domain = email.partition("@")
        words.update(p for p in re.split(r"[^a-z0-9]+", local) if p)
        words.add(local)
        words.update(p for p in domain.split(".")[:-1] if p)
    name = name.strip().lower()
    if name:
        words.add(name)
        words.update(w for w in re.split(r"[\s\-'.]+", name) if w)
    return sorted(w for w in words if len(w) >= 2)


def estimate(password: str, *, email: str = "", name: str = "") -> Strength:
    """zxcvbn's estimate of ``password`` for this person (CPU-bound: tens of milliseconds)."""
    if not password:
        return Strength(0, "", ())
    inputs = personal_words(email=email, name=name)
    with _ZXCVBN_LOCK:
        result = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=inputs)
    feedback = result["feedback"]
    return Strength(
        score=int(result["score"]),
        warning=str(feedback.get("warning") or ""),
        suggestions=tuple(str(s) for s in feedback.get("suggestions") or ()),
    )


async def estimate_strength(password: str, *, email: str = "", name: str = "") -> Strength:
    return await asyncio.to_thread(estimate, password, email=email, name=name)


def refusal(strength: Strength) -> str:
    """The message for a password below the threshold, in the person's terms."""
    return f"This password is too easy to guess ({strength.label}). {strength.advice()}"


async def require_strong(
    password: str, *, email: str, name: str, min_score: int, field: str = "password"
) -> None:
    """Raise a 422 field error on ``field`` unless zxcvbn scores ``password`` ≥ ``min_score``."""
    strength = await estimate_strength(password, email=email, name=name)
    if strength.score < min_score:
        raise field_error(field, refusal(strength))


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _HASHER.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
