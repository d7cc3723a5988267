"""Settings from the environment: every bad value is refused with one line naming it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from server.config import DEV_SECRET_KEY, ENV_VARS, ConfigError, RateLimit, Settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s" * 40
POSTGRES = "postgresql+asyncpg://meridian:pw@db.internal:5432/meridian"


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers which variables were looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(key)
        return self.values.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("settings must ask for variables by name, not list them all")

    def __len__(self) -> int:
        return len(self.values)


def refused(env: Mapping[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    return str(caught.value)


BAD = [
    pytest.param({"PORT": "eighty"}, "PORT", id="port-not-a-number"),
    pytest.param({"PORT": "0"}, "PORT", id="port-zero"),
    pytest.param({"PORT": "70000"}, "PORT", id="port-too-high"),
    pytest.param({"SMTP_PORT": "-25"}, "SMTP_PORT", id="smtp-port-negative"),
    pytest.param({"PUBLIC_URL": "ftp://meridian.example.org"}, "PUBLIC_URL", id="url-scheme"),
    pytest.param({"PUBLIC_URL": "meridian.example.org"}, "PUBLIC_URL", id="url-no-scheme"),
    pytest.param({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL", id="redis-scheme"),
    pytest.param({"TRUST_PROXY_HEADERS": "maybe"}, "TRUST_PROXY_HEADERS", id="bool"),
    pytest.param({"SMTP_STARTTLS": "2"}, "SMTP_STARTTLS", id="bool-number"),
    pytest.param({"AUTH_RATE_LIMIT_IP": "x/y"}, "AUTH_RATE_LIMIT_IP", id="rate-words"),
    pytest.param({"AUTH_RATE_LIMIT_ACCOUNT": "10"}, "AUTH_RATE_LIMIT_ACCOUNT", id="rate-no-window"),
    pytest.param({"AUTH_RATE_LIMIT_IP": "0/60"}, "AUTH_RATE_LIMIT_IP", id="rate-zero"),
    pytest.param({"MERIDIAN_ENV": "staging"}, "MERIDIAN_ENV", id="environment"),
    pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", id="log-level"),
    pytest.param({"MERIDIAN_ENV": "production"}, "SECRET_KEY", id="production-needs-secret"),
    pytest.param({"SECRET_KEY": "short"}, "SECRET_KEY", id="secret-too-short"),
    pytest.param(
        {"TURN_URLS": "turn:turn.example.org:3478"}, "TURN_SECRET", id="turn-urls-without-secret"
    ),
    pytest.param({"TURN_SECRET": "abc"}, "TURN_URLS", id="turn-secret-without-urls"),
    pytest.param({"TURN_URLS": "stun:x.example.org"}, "TURN_URLS", id="turn-scheme"),
    pytest.param({"STUN_URLS": "https://stun.example.org"}, "STUN_URLS", id="stun-scheme"),
    pytest.param({"TURN_TTL_SECONDS": "5"}, "TURN_TTL_SECONDS", id="turn-ttl-too-short"),
    pytest.param({"DATABASE_URL": "mysql://db/meridian"}, "DATABASE_URL", id="db-driver"),
    pytest.param({"DATABASE_URL": "postgresql://db/meridian"}, "DATABASE_URL", id="db-sync-pg"),
    pytest.param({"DATABASE_URL": "sqlite:///var/x.db"}, "DATABASE_URL", id="db-sync-sqlite"),
    pytest.param({"MAX_BODY_BYTES": "1gb"}, "MAX_BODY_BYTES", id="body-size-units"),
    pytest.param({"MAX_BODY_BYTES": str(1 << 30)}, "MAX_BODY_BYTES", id="body-size-huge"),
    pytest.param({"SESSION_TTL_DAYS": "0"}, "SESSION_TTL_DAYS", id="session-ttl"),
    pytest.param({"TOKEN_TTL_DAYS": "0"}, "TOKEN_TTL_DAYS", id="token-ttl-zero"),
    pytest.param({"TOKEN_TTL_DAYS": "forever"}, "TOKEN_TTL_DAYS", id="token-ttl-words"),
    pytest.param({"PASSWORD_MIN_SCORE": "1"}, "PASSWORD_MIN_SCORE", id="password-score-low"),
    pytest.param({"PASSWORD_MIN_SCORE": "5"}, "PASSWORD_MIN_SCORE", id="password-score-high"),
    pytest.param({"EMAIL_RATE_LIMIT": "5"}, "EMAIL_RATE_LIMIT", id="email-rate"),
    pytest.param(
        {"PASSWORD_CHECK_RATE_LIMIT": "0/60"}, "PASSWORD_CHECK_RATE_LIMIT", id="check-rate"
    ),
    pytest.param({"SMTP_USERNAME": "mailer"}, "SMTP_HOST", id="smtp-login-without-host"),
    pytest.param(
        {
            "MERIDIAN_ENV": "production",
            "SECRET_KEY": SECRET,
            "REDIS_URL": "redis://localhost:6379/0",
        },
        "DATABASE_URL",
        id="production-sqlite-with-redis",
    ),
]


@pytest.mark.parametrize(("env", "variable"), BAD)
def test_bad_value_is_refused_with_one_line_naming_the_variable(
    env: dict[str, str], variable: str
) -> None:
    message = refused(env)
    assert "\n" not in message
    assert re.search(rf"\b{variable}\b", message), message
    assert len(message) < 200


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({"PORT": "eighty"}, "'eighty'"),
        ({"PORT": "70000"}, "70000"),
        ({"TRUST_PROXY_HEADERS": "maybe"}, "'maybe'"),
        ({"AUTH_RATE_LIMIT_IP": "x/y"}, "'x/y'"),
        ({"DATABASE_URL": "mysql://db/meridian"}, "'mysql'"),
    ],
)
def test_the_message_shows_the_offending_value(env: dict[str, str], shown: str) -> None:
    assert shown in refused(env)


def test_database_url_error_does_not_echo_the_password() -> None:
    message = refused({"DATABASE_URL": "mysql://root:hunter2@db/meridian"})
    assert "hunter2" not in message


def test_no_environment_means_the_embedded_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.environment == "development"
    assert settings.database_url == "sqlite+aiosqlite:///var/meridian.db"
    assert settings.redis_url is None
    assert settings.secret_key == DEV_SECRET_KEY
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert not settings.secure_cookies


def test_blank_values_count_as_unset() -> None:
    assert Settings.from_env({"REDIS_URL": "", "PORT": "  ", "SMTP_HOST": ""}) == Settings()


def test_good_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "MERIDIAN_ENV": "production",
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "DATABASE_URL": POSTGRES,
            "REDIS_URL": "redis://cache:6379/2/",
            "PUBLIC_URL": "https://meridian.example.org/",
            "SECRET_KEY": SECRET,
            "MEDIA_DIR": "/data/media",
            "CALENDARS_DIR": "/data/calendars",
            "MAX_BODY_BYTES": "2048",
            "SESSION_TTL_DAYS": "7",
            "AUTH_RATE_LIMIT_IP": "5/60",
            "AUTH_RATE_LIMIT_ACCOUNT": "3/600",
            "TRUST_PROXY_HEADERS": "yes",
            "LOG_LEVEL": "debug",
            "SMTP_HOST": "smtp.example.org",
            "SMTP_PORT": "2525",
            "SMTP_USERNAME": "mailer",
            "SMTP_PASSWORD": "pw",
            "SMTP_FROM": "Meridian <hello@example.org>",
            "SMTP_STARTTLS": "off",
            "STUN_URLS": "stun:a.example.org:3478, stun:b.example.org",
            "TURN_URLS": "turn:t.example.org:3478?transport=udp,turns:t.example.org:5349",
            "TURN_SECRET": "turn-secret",
            "TURN_TTL_SECONDS": "600",
            "TOKEN_TTL_DAYS": "30",
            "PASSWORD_MIN_SCORE": "4",
            "EMAIL_RATE_LIMIT": "3/900",
            "PASSWORD_CHECK_RATE_LIMIT": "60/60",
        }
    )
    assert settings.environment == "production"
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.database_url == POSTGRES and not settings.is_sqlite
    assert settings.redis_url == "redis://cache:6379/2"
    assert settings.public_url == "https://meridian.example.org"
    assert settings.public_origin == "https://meridian.example.org"
    assert settings.secure_cookies
    assert settings.media_dir == Path("/data/media")
    assert settings.calendars_dir == Path("/data/calendars")
    assert settings.max_body_bytes == 2048
    assert settings.session_ttl_days == 7
    assert settings.auth_rate_limit_ip == RateLimit(5, 60)
    assert settings.auth_rate_limit_account == RateLimit(3, 600)
    assert settings.trust_proxy_headers is True
    assert settings.log_level == "DEBUG"
    assert (settings.smtp_host, settings.smtp_port) == ("smtp.example.org", 2525)
    assert (settings.smtp_username, settings.smtp_password) == ("mailer", "pw")
    assert settings.smtp_from == "Meridian <hello@example.org>"
    assert settings.smtp_starttls is False
    assert settings.stun_urls == ("stun:a.example.org:3478", "stun:b.example.org")
    assert settings.turn_urls == (
        "turn:t.example.org:3478?transport=udp",
        "turns:t.example.org:5349",
    )
    assert settings.turn_secret == "turn-secret"
    assert settings.turn_ttl_seconds == 600
    assert settings.token_ttl_days == 30
    assert settings.password_min_score == 4
    assert settings.email_rate_limit == RateLimit(3, 900)
    assert settings.password_check_rate_limit == RateLimit(60, 60)
    assert settings.email_enabled


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


# --- docs that cannot drift -------------------------------------------------------------------


def test_env_vars_lists_exactly_what_from_env_reads() -> None:
    env = RecordingEnv({})
    Settings.from_env(env)
    assert env.read == set(ENV_VARS), (
        f"read but not in ENV_VARS: {sorted(env.read - set(ENV_VARS))}; "
        f"in ENV_VARS but never read: {sorted(set(ENV_VARS) - env.read)}"
    )
    assert len(ENV_VARS) == len(set(ENV_VARS))


def readme_settings_table() -> dict[str, list[str]]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        match = re.match(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|(.*)\|\s*$", line)
        if match:
            assert match[1] not in rows, f"{match[1]} appears twice in README's settings table"
            rows[match[1]] = [cell.strip() for cell in match[2].split("|")]
    return rows


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = readme_settings_table()
    missing = [name for name in ENV_VARS if name not in documented]
    assert not missing, f"add a row to README.md's Settings table for {missing}"


def test_the_readme_documents_no_setting_that_does_not_exist() -> None:
    stale = sorted(set(readme_settings_table()) - set(ENV_VARS))
    assert not stale, f"README.md's Settings table lists {stale}, which config.py never reads"


def test_every_readme_row_gives_a_default_and_a_meaning() -> None:
    for name, cells in readme_settings_table().items():
        assert len(cells) == 2, f"{name}: expected | name | default | meaning |"
        default, meaning = cells
        assert default, f"{name}: say the default, or (none)"
        assert len(meaning) > 10, f"{name}: say what it means"
