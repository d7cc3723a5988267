"""Settings read from the environment once, validated, and frozen.

Every setting is documented in README.md (a test keeps the two in step). A bad value
raises ``ConfigError`` whose message is one line a person can act on; the CLI prints
it and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import available_timezones

DEV_SECRET_KEY: Final = "dev-only-insecure-secret-key-change-me-0000"
ENVIRONMENTS: Final = ("development", "production", "test")
GIB: Final = 1024**3

# Every environment variable Settings.from_env reads. README.md's settings table and
# docker-compose.yml are checked against this list; add a name here with each new setting.
ENV_VARS: Final[tuple[str, ...]] = (
    "MERIDIAN_ENV",
    "HOST",
    "PORT",
    "DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_URL",
    "SECRET_KEY",
    "MEDIA_DIR",
    "CALENDARS_DIR",
    "MAX_BODY_BYTES",
    "SESSION_TTL_DAYS",
    "AUTH_RATE_LIMIT_IP",
    "AUTH_RATE_LIMIT_ACCOUNT",
    "PASSWORD_MIN_SCORE",
    "PASSWORD_CHECK_RATE_LIMIT",
    "EMAIL_RATE_LIMIT",
    "TOKEN_TTL_DAYS",
    "TRUST_PROXY_HEADERS",
    "LOG_LEVEL",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_STARTTLS",
    "STUN_URLS",
    "TURN_URLS",
    "TURN_SECRET",
    "TURN_TTL_SECONDS",
    "ROOM_OPENS_BEFORE_MINUTES",
    "ROOM_CLOSES_AFTER_MINUTES",
    "DEVICE_CHECK_MAX",
    "SIGNAL_RATE_LIMIT",
    "SIGNAL_HEARTBEAT_SECONDS",
    "UPLOAD_MAX_BYTES",
    "UPLOAD_QUOTA_BYTES",
    "UPLOAD_EXPIRY_HOURS",
    "BUSY_POLL_MINUTES",
    "BUSY_FETCH_TIMEOUT_SECONDS",
    "BUSY_MAX_BYTES",
    "BUSY_ALLOW_PRIVATE_ADDRESSES",
    "BUSY_READ_MILLISECONDS",
    "BUSY_READERS",
    "OUTBOX_INTERVAL_SECONDS",
    "REMINDER_INTERVAL_SECONDS",
)


class ConfigError(ValueError):
    """A setting has a value Meridian cannot run with."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` attempts per ``seconds``."""

    count: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///var/meridian.db"
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = DEV_SECRET_KEY
    media_dir: Path = Path("var/media")
    calendars_dir: Path = Path("calendars")
    static_dir: Path = Path(__file__).resolve().parent.parent / "static"
    max_body_bytes: int = 1024 * 1024
    session_ttl_days: int = 30
    auth_rate_limit_ip: RateLimit = RateLimit(30, 300)
    auth_rate_limit_account: RateLimit = RateLimit(10, 300)
    password_min_score: int = 3
    password_check_rate_limit: RateLimit = RateLimit(120, 60)
    email_rate_limit: RateLimit = RateLimit(5, 3600)
    token_ttl_days: int = 90
    trust_proxy_headers: bool = False
    log_level: str = "INFO"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Meridian <meridian@localhost>"
    smtp_starttls: bool = True
    stun_urls: tuple[str, ...] = ("stun:stun.l.google.com:19302",)
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl_seconds: int = 3600
    room_opens_before_minutes: int = 10
    room_closes_after_minutes: int = 30
    device_check_max: int = 8
    signal_rate_limit: RateLimit = RateLimit(200, 5)
    signal_heartbeat_seconds: float = 20
    upload_max_bytes: int = 2 * GIB
    upload_quota_bytes: int = 10 * GIB
    upload_expiry_hours: int = 24
    busy_poll_minutes: int = 30
    busy_fetch_timeout_seconds: int = 20
    busy_max_bytes: int = 10 * 1024 * 1024
    busy_allow_private_addresses: bool = False
    busy_read_milliseconds: int = 1500
    busy_readers: int = 2
    outbox_interval_seconds: float = 15

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def email_enabled(self) -> bool:
        """Whether Meridian can send mail (verification, password reset, reminders)."""
        return self.smtp_host is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; raise ConfigError on the first bad one."""
        r = _Reader(env)
        environment = r.choice("MERIDIAN_ENV", ENVIRONMENTS, "development")
        settings = cls(
            environment=environment,
            host=r.text("HOST", "127.0.0.1"),
            port=r.integer("PORT", 8080, 1, 65535),
            database_url=r.database_url("DATABASE_URL", "sqlite+aiosqlite:///var/meridian.db"),
            redis_url=r.url("REDIS_URL", ("redis", "rediss", "unix")),
            public_url=r.url("PUBLIC_URL", ("http", "https")) or "http://127.0.0.1:8080",
            secret_key=r.text("SECRET_KEY", DEV_SECRET_KEY),
            media_dir=Path(r.text("MEDIA_DIR", "var/media")),
            calendars_dir=Path(r.text("CALENDARS_DIR", "calendars")),
            max_body_bytes=r.integer("MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
            session_ttl_days=r.integer("SESSION_TTL_DAYS", 30, 1, 365),
            auth_rate_limit_ip=r.rate("AUTH_RATE_LIMIT_IP", RateLimit(30, 300)),
            auth_rate_limit_account=r.rate("AUTH_RATE_LIMIT_ACCOUNT", RateLimit(10, 300)),
            password_min_score=r.integer("PASSWORD_MIN_SCORE", 3, 2, 4),
            password_check_rate_limit=r.rate("PASSWORD_CHECK_RATE_LIMIT", RateLimit(120, 60)),
            email_rate_limit=r.rate("EMAIL_RATE_LIMIT", RateLimit(5, 3600)),
            token_ttl_days=r.integer("TOKEN_TTL_DAYS", 90, 1, 3650),
            trust_proxy_headers=r.boolean("TRUST_PROXY_HEADERS", False),
            log_level=r.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
            smtp_host=r.optional("SMTP_HOST"),
            smtp_port=r.integer("SMTP_PORT", 587, 1, 65535),
            smtp_username=r.optional("SMTP_USERNAME"),
            smtp_password=r.optional("SMTP_PASSWORD"),
            smtp_from=r.text("SMTP_FROM", "Meridian <meridian@localhost>"),
            smtp_starttls=r.boolean("SMTP_STARTTLS", True),
            stun_urls=r.url_list("STUN_URLS", ("stun:stun.l.google.com:19302",), ("stun",)),
            turn_urls=r.url_list("TURN_URLS", (), ("turn", "turns")),
            turn_secret=r.optional("TURN_SECRET"),
            turn_ttl_seconds=r.integer("TURN_TTL_SECONDS", 3600, 60, 86400),
            room_opens_before_minutes=r.integer("ROOM_OPENS_BEFORE_MINUTES", 10, 0, 24 * 60),
            room_closes_after_minutes=r.integer("ROOM_CLOSES_AFTER_MINUTES", 30, 0, 24 * 60),
            device_check_max=r.integer("DEVICE_CHECK_MAX", 8, 1, 1000),
            signal_rate_limit=r.rate("SIGNAL_RATE_LIMIT", RateLimit(200, 5)),
            signal_heartbeat_seconds=r.integer("SIGNAL_HEARTBEAT_SECONDS", 20, 5, 300),
            upload_max_bytes=r.integer("UPLOAD_MAX_BYTES", 2 * GIB, 1024, 1024 * GIB),
            upload_quota_bytes=r.integer("UPLOAD_QUOTA_BYTES", 10 * GIB, 1024, 1024 * 1024 * GIB),
            upload_expiry_hours=r.integer("UPLOAD_EXPIRY_HOURS", 24, 1, 24 * 30),
            busy_poll_minutes=r.integer("BUSY_POLL_MINUTES", 30, 5, 24 * 60),
            busy_fetch_timeout_seconds=r.integer("BUSY_FETCH_TIMEOUT_SECONDS", 20, 1, 300),
            busy_max_bytes=r.integer("BUSY_MAX_BYTES", 10 * 1024 * 1024, 64 * 1024, GIB),
            busy_allow_private_addresses=r.boolean("BUSY_ALLOW_PRIVATE_ADDRESSES", False),
            busy_read_milliseconds=r.integer("BUSY_READ_MILLISECONDS", 1500, 100, 60_000),
            busy_readers=r.integer("BUSY_READERS", 2, 1, 64),
            # REMINDER_INTERVAL_SECONDS is the name it had when only reminders used it.
            outbox_interval_seconds=r.integer(
                "OUTBOX_INTERVAL_SECONDS",
                r.integer("REMINDER_INTERVAL_SECONDS", 15, 1, 3600),
                1,
                3600,
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that are individually valid but unsafe or useless together."""
        if self.environment == "production":
            if self.secret_key == DEV_SECRET_KEY:
                raise ConfigError("SECRET_KEY must be set in production (32 or more characters)")
            if self.is_sqlite and self.redis_url:
                raise ConfigError(
                    "DATABASE_URL is SQLite but REDIS_URL is set: several processes need PostgreSQL"
                )
        if len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long")
        if bool(self.turn_urls) != bool(self.turn_secret):
            raise ConfigError("TURN_URLS and TURN_SECRET must be set together")
        if self.smtp_username and not self.smtp_host:
            raise ConfigError("SMTP_USERNAME is set but SMTP_HOST is not")


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.optional(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        raw = self.optional(name)
        if raw is None:
            return default
        value = raw.upper() if options[0].isupper() else raw.lower()
        if value not in options:
            raise ConfigError(f"{name} must be one of {', '.join(options)}, got {raw!r}")
        return value

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        raw = self.optional(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            raise ConfigError(
                f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
                f"got {raw!r}"
            )
        return raw.rstrip("/")

    def url_list(
        self, name: str, default: tuple[str, ...], schemes: tuple[str, ...]
    ) -> tuple[str, ...]:
        raw = self.optional(name)
        if raw is None:
            return default
        urls = tuple(u.strip() for u in raw.split(",") if u.strip())
        for u in urls:
            if u.split(":", 1)[0] not in schemes:
                raise ConfigError(
                    f"{name} entries must start with {' or '.join(s + ':' for s in schemes)}, "
                    f"got {u!r}"
                )
        return urls

    def database_url(self, name: str, default: str) -> str:
        raw = self.text(name, default)
        if not raw.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError(
                f"{name} must start with sqlite+aiosqlite:// or postgresql+asyncpg://, got "
                f"{raw.split('://', 1)[0]!r}"
            )
        return raw

    def rate(self, name: str, default: RateLimit) -> RateLimit:
        raw = self.optional(name)
        if raw is None:
            return default
        count, _, seconds = raw.partition("/")
        try:
            limit = RateLimit(int(count), int(seconds))
        except ValueError:
            raise ConfigError(
                f"{name} must look like COUNT/SECONDS (e.g. 10/300), got {raw!r}"
            ) from None
        if limit.count < 1 or limit.seconds < 1:
            raise ConfigError(f"{name} must have a positive count and window, got {raw!r}")
        return limit


def is_timezone(name: str) -> bool:
    return name in known_timezones()


@functools.cache
def known_timezones() -> frozenset[str]:
    """IANA zone names from the bundled tzdata (the set never changes while running)."""
    return frozenset(z for z in available_timezones() if "/" in z or z == "UTC")
