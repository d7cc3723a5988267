"""Signalling relay: messages/s and latency, one process and two through Redis, idle sockets.

Reference, in the same run: a plain aiohttp relay written the obvious way (JSON in,
``from`` added, JSON out to the others in the room; aiohttp's defaults). The load
generator behaves like a browser: it offers permessage-deflate, which Meridian declines
and the obvious relay accepts.

Targets (bench/README.md):
* one room: ≥ 2x the messages/s of the obvious relay;
* 25 busy rooms: p99 ≤ 5 ms;
* two processes through Redis: ≥ 50 % of the single-process messages/s;
* 10,000 idle signalling sockets per process under 300 MB RSS.

Rooms are real bookings written straight into a SQLite database both processes share;
room tokens are minted with the SECRET_KEY the servers are given.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, free_port, process, report, wait_http

SECRET = "bench-secret-key-that-is-long-enough-0123456789"
DURATION = float(os.environ.get("BENCH_SECONDS", "4"))
IDLE = int(os.environ.get("BENCH_IDLE", "10000"))
WINDOW = 50  # messages in flight per peer in the throughput runs (one burst)
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BUSY_RATE = 100.0  # messages/s per room (both directions together) in the latency run

CANDIDATE = {
    "candidate": {
        "candidate": "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx "
        "raddr 192.168.1.5 rport 46154 generation 0 ufrag sXfA network-cost 999",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "sXfA",
    }
}
SDP_LINE = "a=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\na=rtpmap:97 rtx/90000\r\n"
DESCRIPTION = {"description": {"type": "offer", "sdp": "v=0\r\n" + SDP_LINE * 50}}

RELAY = """
import json, sys
from aiohttp import web, WSMsgType
rooms = {}
async def ws_handler(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    room = rooms.setdefault(request.match_info["room"], set())
    room.add(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                data["from"] = id(ws)
                for other in list(room):
                    if other is not ws:
                        await other.send_str(json.dumps(data))
    finally:
        room.discard(ws)
    return ws
async def health(request):
    return web.Response(text="ok")
app = web.Application()
app.router.add_get("/ws/{room}", ws_handler)
app.router.add_get("/healthz", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


# --- rooms in the database --------------------------------------------------------------------


@dataclass
class Seat:
    room_id: str
    user_id: str


async def make_rooms(database_url: str, count: int) -> list[tuple[Seat, Seat]]:
    from server.core.db import Database
    from tests.factories import rows, unique_email

    now = datetime.now(UTC)
    db = Database(database_url)
    pairs: list[tuple[Seat, Seat]] = []
    users: list[Any] = []
    mentorships: list[Any] = []
    bookings: list[Any] = []
    for i in range(count):
        # Rooms are made more than once per database (busy ones, then idle ones).
        mentor = rows.user(now=now, name=f"Mentor {i}", email=unique_email("mentor"))
        mentee = rows.user(now=now, name=f"Mentee {i}", email=unique_email("mentee"))
        users += [mentor, mentee]
        mentorship = rows.mentorship(mentor_id=mentor.id, mentee_id=mentee.id, now=now)
        mentorships.append(mentorship)
        booking = rows.booking(mentorship=mentorship, start=now + timedelta(minutes=5), now=now)
        bookings.append(booking)
        pairs.append((Seat(booking.id, mentor.id), Seat(booking.id, mentee.id)))
    try:
        async with db.write() as s:
            for batch in (users, mentorships, bookings):  # parents before children
                s.add_all(batch)
                await s.flush()
    finally:
        await db.close()
    return pairs


def token_for(seat: Seat) -> str:
    from server.live import tokens

    return tokens.issue(
        secret_key=SECRET,
        room_id=seat.room_id,
        user_id=seat.user_id,
        expires=datetime.now(UTC) + timedelta(hours=1),
    )


# --- servers --------------------------------------------------------------------------------


@contextlib.contextmanager
def meridian_server(database_url: str, media: Path, redis_url: str | None) -> Iterator[Any]:
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "MEDIA_DIR": str(media),
        "CALENDARS_DIR": str(media / "calendars"),
        "SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        "SIGNAL_RATE_LIMIT": "1000000/1",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    with process([PYTHON, "-m", "server", "serve", "--port", str(port)], env) as proc:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        proc.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        yield proc


@contextlib.contextmanager
def relay_server() -> Iterator[str]:
    port = free_port()
    with process([PYTHON, "-c", RELAY, str(port)]):
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    import shutil
    import subprocess

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is needed for the two-process figures")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- clients --------------------------------------------------------------------------------


@dataclass
class Pair:
    sender: aiohttp.ClientWebSocketResponse
    receiver: aiohttp.ClientWebSocketResponse
    to: str  # the receiver's peer id (Meridian) or "" (the relay)
    back: str = ""  # the sender's peer id


async def meridian_pairs(
    http: aiohttp.ClientSession, bases: tuple[str, str], rooms: list[tuple[Seat, Seat]]
) -> list[Pair]:
    pairs = []
    for first, second in rooms:
        sockets = []
        peer_ids = []
        for seat, base in ((first, bases[0]), (second, bases[1])):
            ws = await http.ws_connect(
                f"{base}/api/rooms/{seat.room_id}/ws?token={token_for(seat)}", compress=15
            )
            await ws.send_str('{"type":"join"}')
            while True:
                msg = json.loads(await ws.receive_str())
                if msg["type"] == "peers":
                    peer_ids.append(msg["you"]["peer_id"])
                    break
            sockets.append(ws)
        first_ws = sockets[0]
        while json.loads(await first_ws.receive_str())["type"] != "peer-joined":
            pass
        pairs.append(Pair(sockets[0], sockets[1], peer_ids[1], peer_ids[0]))
    return pairs


async def relay_pairs(http: aiohttp.ClientSession, base: str, rooms: int) -> list[Pair]:
    pairs = []
    for i in range(rooms):
        a = await http.ws_connect(f"{base}/ws/room{i}", compress=15)
        b = await http.ws_connect(f"{base}/ws/room{i}", compress=15)
        pairs.append(Pair(a, b, ""))
    await asyncio.sleep(0.2)
    return pairs


def frame(to: str, seq: int, sent: float) -> str:
    data = DESCRIPTION if seq % 20 == 0 else CANDIDATE
    return json.dumps({"type": "signal", "to": to, "data": {**data, "seq": seq, "sent": sent}})


def client_frames(texts: list[str]) -> bytes:
    """Text frames as a client sends them, built once: masked with a zero key (valid, and it
    leaves the payload as is), uncompressed (allowed under permessage-deflate too)."""
    out = []
    for text in texts:
        payload = text.encode()
        n = len(payload)
        if n < 126:
            header = bytes((0x81, 0x80 | n))
        elif n < 65536:
            header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            header = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
        out.append(header + b"\x00\x00\x00\x00" + payload)
    return b"".join(out)


async def throughput(pairs: list[Pair]) -> float:
    """Messages/s relayed for DURATION seconds, WINDOW messages in flight per room.

    The load generator is kept cheap so the server is what is measured: each window is a
    burst of pre-built frames written at once (as a browser's offer and its ICE
    candidates arrive), both peers of a room send at once, and receivers only count.
    """
    done = 0
    stop = time.perf_counter() + DURATION

    async def run(
        sender: aiohttp.ClientWebSocketResponse,
        receiver: aiohttp.ClientWebSocketResponse,
        to: str,
    ) -> None:
        nonlocal done
        burst = client_frames([frame(to, seq, 0.0) for seq in range(WINDOW)])
        transport = sender._writer.transport  # type: ignore[attr-defined]
        while time.perf_counter() < stop:
            transport.write(burst)
            for _ in range(WINDOW):
                msg = await receiver.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"the relay closed the socket: {msg}")
                done += 1

    started = time.perf_counter()
    await asyncio.gather(
        *(run(p.sender, p.receiver, p.to) for p in pairs),
        *(run(p.receiver, p.sender, p.back) for p in pairs),
    )
    return done / (time.perf_counter() - started)


async def latency(pairs: list[Pair]) -> list[float]:
    """One-way latencies (ms) with every room sending BUSY_RATE messages/s."""
    samples: list[float] = []
    interval = 1.0 / BUSY_RATE

    async def run(pair: Pair, offset: float) -> None:
        async def receive() -> None:
            while True:
                msg = await pair.receiver.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                sent = json.loads(msg.data)["data"]["sent"]
                samples.append((time.perf_counter() - sent) * 1000)

        reader = asyncio.create_task(receive())
        await asyncio.sleep(offset)
        start = time.perf_counter()
        seq = 0
        while time.perf_counter() - start < DURATION:
            await pair.sender.send_str(frame(pair.to, seq, time.perf_counter()))
            seq += 1
            await asyncio.sleep(max(0.0, start + seq * interval - time.perf_counter()))
        await asyncio.sleep(0.3)
        reader.cancel()

    await asyncio.gather(*(run(p, i * interval / len(pairs)) for i, p in enumerate(pairs)))
    return samples


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def close_all(pairs: list[Pair]) -> None:
    for pair in pairs:
        await pair.sender.close()
        await pair.receiver.close()


# --- the runs -------------------------------------------------------------------------------


async def relay_figures() -> dict[str, float]:
    out: dict[str, float] = {}
    with relay_server() as base:
        async with aiohttp.ClientSession() as http:
            pairs = await relay_pairs(http, base, 25)
            out["1 room"] = await throughput(pairs[:1])
            out["25 rooms"] = await throughput(pairs)
            lat = await latency(pairs)
            out["p50"], out["p99"] = statistics.median(lat), p99(lat)
            await close_all(pairs)
    return out


async def meridian_figures(
    database_url: str, media: Path, rooms: list[tuple[Seat, Seat]], redis_url: str | None
) -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(meridian_server(database_url, media, redis_url))
        second = first
        if redis_url:
            second = stack.enter_context(meridian_server(database_url, media, redis_url))
        async with aiohttp.ClientSession() as http:
            pairs = await meridian_pairs(http, (first.base, second.base), rooms)
            out["1 room"] = await throughput(pairs[:1])
            out["25 rooms"] = await throughput(pairs)
            lat = await latency(pairs)
            out["p50"], out["p99"] = statistics.median(lat), p99(lat)
            await close_all(pairs)
    return out


async def idle_figures(
    database_url: str, media: Path, rooms: list[tuple[Seat, Seat]]
) -> dict[str, float]:
    with meridian_server(database_url, media, None) as server:
        before = rss_mb(server.pid)
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            gate = asyncio.Semaphore(16)
            seats = [seat for pair in rooms for seat in pair][:IDLE]

            async def open_one(seat: Seat) -> None:
                async with gate:
                    ws = await http.ws_connect(
                        f"{server.base}/api/rooms/{seat.room_id}/ws?token={token_for(seat)}",
                        compress=15,
                    )
                    await ws.send_str('{"type":"join"}')
                    while json.loads(await ws.receive_str())["type"] != "peers":
                        pass
                    sockets.append(ws)

            started = time.perf_counter()
            await asyncio.gather(*(open_one(s) for s in seats))
            opened = time.perf_counter() - started
            await asyncio.sleep(2)
            after = rss_mb(server.pid)
            for ws in sockets:
                await ws.close()
    return {"sockets": len(sockets), "before": before, "after": after, "seconds": opened}


async def main() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from server.db.migrate import upgrade_async

    with tempfile.TemporaryDirectory(prefix="meridian-signalling-") as tmp:
        media = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{media}/bench.db"
        await upgrade_async(database_url)
        busy_rooms = await make_rooms(database_url, 25)
        relays, singles, doubles = [], [], []
        with redis_server() as redis_url:
            # Interleaved and repeated: the machine is shared, so each figure is the
            # median of RUNS measurements taken side by side with its reference.
            for _ in range(RUNS):
                relays.append(await relay_figures())
                singles.append(await meridian_figures(database_url, media, busy_rooms, None))
                doubles.append(await meridian_figures(database_url, media, busy_rooms, redis_url))
        idle_rooms = await make_rooms(database_url, (IDLE + 1) // 2)
        idle = await idle_figures(database_url, media, idle_rooms)
    relay, single, double = median_of(relays), median_of(singles), median_of(doubles)

    ratio = single["1 room"] / relay["1 room"]
    rows = [
        ("obvious relay, 1 room", f"{relay['1 room']:,.0f} msg/s", "reference"),
        ("Meridian, 1 room", f"{single['1 room']:,.0f} msg/s ({ratio:.2f}x)", "≥ 2x reference"),
        ("obvious relay, 25 rooms", f"{relay['25 rooms']:,.0f} msg/s", "reference"),
        (
            "Meridian, 25 rooms",
            f"{single['25 rooms']:,.0f} msg/s ({single['25 rooms'] / relay['25 rooms']:.2f}x)",
            "",
        ),
        (
            f"latency, 25 busy rooms ({BUSY_RATE:.0f} msg/s each), obvious relay",
            f"p50 {relay['p50']:.2f} ms, p99 {relay['p99']:.2f} ms",
            "reference",
        ),
        (
            f"latency, 25 busy rooms ({BUSY_RATE:.0f} msg/s each), Meridian",
            f"p50 {single['p50']:.2f} ms, p99 {single['p99']:.2f} ms",
            "p99 ≤ 5 ms",
        ),
        (
            "two processes through Redis, 1 room",
            f"{double['1 room']:,.0f} msg/s ({double['1 room'] / single['1 room']:.0%} of one)",
            "≥ 50 %",
        ),
        (
            "two processes through Redis, 25 rooms",
            f"{double['25 rooms']:,.0f} msg/s "
            f"({double['25 rooms'] / single['25 rooms']:.0%} of one)",
            "≥ 50 %",
        ),
        (
            "two processes, latency at 25 busy rooms",
            f"p50 {double['p50']:.2f} ms, p99 {double['p99']:.2f} ms",
            "",
        ),
        (
            f"{idle['sockets']:,.0f} idle joined sockets, one process",
            f"RSS {idle['after']:.0f} MB (was {idle['before']:.0f} MB idle; "
            f"{(idle['after'] - idle['before']) * 1024 / max(1, idle['sockets']):.1f} KB each; "
            f"opened in {idle['seconds']:.0f} s)",
            "10,000 under 300 MB",
        ),
    ]
    report("Signalling", rows)


if __name__ == "__main__":
    asyncio.run(main())
