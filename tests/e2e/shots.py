"""Screenshots at a desktop and a phone width, and the phone's horizontal-scroll check.

`await shoot(page, "booking-chosen")` writes
tests/e2e/screenshots/<test>-booking-chosen-1280.png and -390.png (whole pages, for a
person to look at; the folder is git-ignored), and fails if the page scrolls sideways
on the phone or something sticks out of its card there. `await
assert_no_horizontal_scroll(page)` is that check alone. Both put
the viewport back as it was, so the test goes on at the size it had.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Wider than the viewport, in CSS pixels, with the elements that stick out the most; and
# what spills out of its card sideways (clipped or scrolled content excepted), which a
# page can do while still fitting the screen.
OVERFLOW = """() => {
  const root = document.documentElement;
  const name = (el) => [el.tagName.toLowerCase(), ...el.classList].join(".");
  const edge = (el) => Math.round(el.getBoundingClientRect().right);
  const wide = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5)
    .filter((el) => getComputedStyle(el).position !== "fixed")
    .slice(0, 5)
    .map((el) => `${name(el)} (right edge ${edge(el)} px)`);
  const clipped = (el, card) => {
    for (let up = el.parentElement; up && up !== card; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== "visible") return true;
    }
    return false;
  };
  const spills = [];
  for (const card of document.querySelectorAll(".card")) {
    const box = card.getBoundingClientRect();
    for (const el of card.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || clipped(el, card)) continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) {
        spills.push(`${name(el)} (${Math.round(r.left)} to ${edge(el)} px) in ${name(card)}`);
      }
    }
  }
  return {
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide, spills: spills.slice(0, 5),
  };
}"""


def current_test() -> str:
    """The running test's function name, parameters included ("test_x-sqlite")."""
    running = os.environ.get("PYTEST_CURRENT_TEST", "test").split("::")[-1].split(" ")[0]
    return re.sub(r"[^\w-]+", "-", running).strip("-")


async def _overflow(page: Any) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate(OVERFLOW)
    return found


def _assert_fits(found: dict[str, Any]) -> None:
    assert found["scrollWidth"] <= found["clientWidth"], (
        f"the page scrolls sideways on a {PHONE['width']} px phone: it is "
        f"{found['scrollWidth']} px wide in {found['clientWidth']} px; widest: {found['wide']}"
    )
    assert found["spills"] == [], f"on a {PHONE['width']} px phone, spilling out of its card: " + (
        "; ".join(found["spills"])
    )


async def shoot(page: Any, name: str) -> list[Path]:
    """Full-page screenshots of `page` at 1280 and at 390 px wide."""
    SHOTS.mkdir(exist_ok=True)
    before = page.viewport_size
    written = []
    try:
        for size in (DESKTOP, PHONE):
            await page.set_viewport_size(size)
            path = SHOTS / f"{current_test()}-{name}-{size['width']}.png"
            await page.screenshot(path=str(path), full_page=True)
            written.append(path)
        found = await _overflow(page)
    finally:
        if before:
            await page.set_viewport_size(before)
    _assert_fits(found)
    return written


async def assert_no_horizontal_scroll(page: Any) -> None:
    """At 390 px wide the page is no wider than the screen: nothing to scroll sideways."""
    before = page.viewport_size
    try:
        await page.set_viewport_size(PHONE)  # reading the sizes lays the page out anew
        found = await _overflow(page)
    finally:
        if before:
            await page.set_viewport_size(before)
    _assert_fits(found)
