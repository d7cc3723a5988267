"""Real Redis and PostgreSQL servers for the test run: private, on loopback, temporary.

Each is started once per test session on a free port with a throw-away data
directory and stopped at the end. When a server binary is missing, tests that need it
are skipped with a reason that says how to install it — except in CI (CI=true) or when
MERIDIAN_REQUIRE_SERVICES=1, where a missing component fails the run instead, so a
green build always means the PostgreSQL, Redis and browser tests really ran.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def services_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("MERIDIAN_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip (developer machine) or fail (CI) for a missing component."""
    if services_required():
        pytest.fail(f"{reason} (required in CI)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout}s")


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no goodbye to any client."""
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> None:
        """A fresh, empty redis-server on the same port (the data was never saved)."""
        if self.process.poll() is None:
            self.kill()
        self.process = _spawn_redis(self.port, self.directory)
        wait_for_port(self.port)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def _spawn_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    assert binary is not None
    return subprocess.Popen(
        [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--maxclients", "20000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def start_redis() -> RedisServer | str:
    if shutil.which("redis-server") is None:
        return (
            "redis-server is not installed: run `make test` as root "
            "or `apt-get install redis-server`"
        )
    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="meridian-redis-"))
    process = _spawn_redis(port, directory)
    wait_for_port(port)
    return RedisServer(port, process, directory)


@dataclass
class PostgresServer:
    port: int
    directory: Path
    bindir: Path
    as_user: str | None

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = list(args)
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def halt(self) -> None:
        """Stop the server as an operator would (fast shutdown), keeping its data."""
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w",
            "stop",
        )  # fmt: skip

    def resume(self) -> None:
        """Start the halted server again on the same port and data."""
        self._start()

    def _start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D", str(self.directory / "data"),
            "-l", str(self.directory / "log"),
            "-w",
            "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=400",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-m",
                "immediate",
                "stop",
            )
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def start_postgres() -> PostgresServer | str:
    bindir = _postgres_bindir()
    if bindir is None:
        return (
            "PostgreSQL is not installed: run `make test` as root or `apt-get install postgresql`"
        )
    as_user = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="meridian-pg-"))
    if as_user:
        shutil.chown(directory, as_user)
    port = free_port()
    server = PostgresServer(port, directory, bindir, as_user)
    data = directory / "data"
    server._run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
    )
    server._start()
    return server
