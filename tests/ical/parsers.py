"""Calendar parsers other than Meridian's, reading what Meridian writes.

``python_spans`` is icalendar with recurring-ical-events; ``icaljs_spans`` is Mozilla's
ical.js (Thunderbird's parser) run with node. ical.js comes from npm into a git-ignored
folder the first time a test needs it (``ICALJS_VERSION`` pinned).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import recurring_ical_events

from tests.services import unavailable

ICALJS_VERSION = "2.2.1"
ICALJS_DIR = Path(__file__).resolve().parent.parent / ".node" / f"ical.js-{ICALJS_VERSION}"
SCRIPT = Path(__file__).resolve().parent / "interop" / "expand.mjs"

Span = tuple[str, datetime, datetime]
"""(UID, start, end), instants in UTC."""


def python_spans(data: bytes, start: datetime, end: datetime) -> set[Span]:
    cal = icalendar.Calendar.from_ical(data)
    return {
        (
            str(e["UID"]),
            e["DTSTART"].dt.astimezone(UTC),
            e["DTEND"].dt.astimezone(UTC) if "DTEND" in e else e["DTSTART"].dt + e["DURATION"].dt,
        )
        for e in recurring_ical_events.of(cal).between(start, end)
    }


def install_icaljs() -> Path:
    """ical.js from npm, once per machine (a clean clone gets it on its first run)."""
    if (ICALJS_DIR / "node_modules" / "ical.js" / "package.json").exists():
        return ICALJS_DIR
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed to read calendars with ical.js: apt-get install npm")
    ICALJS_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm or "npm",
            "install",
            "--prefix",
            str(ICALJS_DIR),
            "--no-audit",
            "--no-fund",
            "--no-save",
            f"ical.js@{ICALJS_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"npm could not install ical.js: {done.stderr[-500:]}")
    return ICALJS_DIR


def icaljs_spans(data: bytes, start: datetime, end: datetime, directory: Path) -> set[Span]:
    done = subprocess.run(
        ["node", str(SCRIPT), str(directory), end.astimezone(UTC).isoformat()],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    found = set()
    for line in done.stdout.decode().splitlines():
        row = json.loads(line)
        a = datetime.fromisoformat(row["start"].replace("Z", "+00:00"))
        b = datetime.fromisoformat(row["end"].replace("Z", "+00:00"))
        if b > start and a < end:
            found.add((row["uid"], a, b))
    return found
