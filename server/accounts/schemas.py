"""Wire models of accounts."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from server.core.wire import Strict, TimeZone

# Addresses end up in mail headers and calendar properties: only the characters an
# ordinary address uses, so nothing can smuggle a line break or a second address in.
_EMAIL = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.fullmatch(value) or ".." in value:
        raise ValueError("enter an email address like ada@example.org")
    return value


_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(value: str) -> str:
    """Names are shown in mail subjects and calendars: no control characters."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI for c in value):
        raise ValueError("use letters, spaces and punctuation only (no line breaks)")
    return value


Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]


PASSWORD_RULE = (
    "At least 10 characters, and hard enough to guess: zxcvbn must score it at least "
    "PASSWORD_MIN_SCORE (3 of 4 unless configured)."
)
# A secret from a mail link (43 URL-safe characters); anything much longer is not one.
LinkToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SignupIn(Strict):
    email: Email
    password: Password = Field(description=PASSWORD_RULE)
    name: Name
    timezone: TimeZone


class LoginIn(Strict):
    email: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=254)]
    password: Annotated[str, StringConstraints(max_length=200)]


class AccountUpdate(Strict):
    name: Name | None = None
    timezone: TimeZone | None = None


class PasswordStrengthIn(Strict):
    password: Annotated[str, StringConstraints(max_length=200)]
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    name: Annotated[str, StringConstraints(max_length=100)] = ""


class PasswordStrengthOut(BaseModel):
    score: int = Field(description="zxcvbn's score, 0 (guessed at once) to 4.")
    label: str = Field(description="The score in words: very weak, weak, fair, good, strong.")
    min_score: int
    acceptable: bool
    warning: str
    suggestions: list[str]
    message: str = Field(description="What to show the person: the verdict and the advice.")


class PasswordChangeIn(Strict):
    current_password: Annotated[str, StringConstraints(max_length=200)]
    password: Password = Field(description=PASSWORD_RULE)


class VerifyEmailIn(Strict):
    token: LinkToken


class PasswordResetIn(Strict):
    email: Email


class PasswordResetConfirmIn(Strict):
    token: LinkToken
    password: Password = Field(description=PASSWORD_RULE)


class Accepted(BaseModel):
    detail: str


class AuthOptions(BaseModel):
    email_enabled: bool = Field(description="Whether this server can send mail at all.")
    password_min_score: int
    token_ttl_days: int


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    timezone: str
    created_at: datetime
    email_verified: bool = Field(description="Whether the person confirmed their address.")


class UserEnvelope(BaseModel):
    user: UserOut


class TokenIn(Strict):
    name: Name


class TokenCreated(BaseModel):
    id: str
    name: str
    token: str = Field(description="Shown once; only its hash is stored.")
    created_at: datetime
    expires_at: datetime


class TokenOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="To the minute: updated once a minute.")
    expires_at: datetime
    expired: bool


class TokenList(BaseModel):
    items: list[TokenOut]


class TimezoneList(BaseModel):
    items: list[str]
