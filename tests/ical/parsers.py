"""Calendar parsers other than Meridian's, reading what Meridian writes.

``python_spans`` is icalendar with recurring-ical-events; ``icaljs_spans`` is Mozilla's
ical.js (Thunderbird's parser) run with node. ical.js comes from npm into a git-ignored
folder the first time a test needs it (``ICALJS_VERSION`` pinned, tests/node.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import recurring_ical_events

from tests.node import npm_package
from tests.services import unavailable

ICALJS_VERSION = "2.2.1"
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
    if shutil.which("node") is None:
        unavailable("node is needed to read calendars with ical.js: apt-get install npm")
    return npm_package("ical.js", ICALJS_VERSION)


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
