"""The page checks every browser test leans on can fail: axe-core finds a nameless
button, the phone check finds a page that scrolls sideways or spills out of a card, and
neither switches the app's Content-Security-Policy off to do it."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.axe import assert_accessible
from tests.e2e.conftest import OpenPage
from tests.e2e.shots import assert_no_horizontal_scroll, current_test, shoot

pytestmark = pytest.mark.browser


def png_width(path: Path) -> int:
    """The width a PNG's header (IHDR, right after the signature) states."""
    width: int = struct.unpack(">I", path.read_bytes()[16:20])[0]
    return width


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


async def test_axe_finds_a_button_without_a_name_under_the_apps_csp(open_page: OpenPage) -> None:
    watched = await open_page()
    page = watched.page
    await watched.goto("/login")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await assert_accessible(page)

    await page.evaluate(
        "() => document.querySelector('main').append(document.createElement('button'))"
    )
    with pytest.raises(AssertionError, match="button-name"):
        await assert_accessible(page)
    # The page still runs under its own policy: inline code stays refused.
    blocked = await page.evaluate(
        """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation", () => resolve(true));
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.append(script);
            setTimeout(() => resolve(false), 1000);
        })"""
    )
    assert blocked and not await page.evaluate("window.inlineRan === true")
    watched.errors = [e for e in watched.errors if "Content Security Policy" not in e]
    watched.errors = [e for e in watched.errors if "CSP violation" not in e]
    watched.assert_no_errors()


async def test_phone_checks_find_sideways_scroll_and_a_spilling_card(open_page: OpenPage) -> None:
    watched = await open_page()
    page = watched.page
    await watched.goto("/login")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    before = page.viewport_size
    written = await shoot(page, "login")
    assert [p.name for p in written] == [
        f"{current_test()}-login-1280.png",
        f"{current_test()}-login-390.png",
    ]
    assert [png_width(p) for p in written] == [1280, 390]
    assert page.viewport_size == before  # the test goes on at its own size

    # Wider than a phone, inside a card: both the scroll and the spill are named.
    await page.evaluate(
        """() => {
            const wide = document.createElement("div");
            wide.className = "too-wide";
            wide.style.width = "600px";
            wide.style.height = "1rem";
            document.querySelector(".card").append(wide);
        }"""
    )
    with pytest.raises(AssertionError, match=r"scrolls sideways .*div\.too-wide"):
        await assert_no_horizontal_scroll(page)
    await page.evaluate("() => { document.querySelector('.too-wide').style.width = '0'; }")
    await assert_no_horizontal_scroll(page)

    await page.evaluate(
        """() => {
            const out = document.querySelector(".too-wide");
            out.style.width = "40px";
            out.style.marginLeft = "-60px";
        }"""
    )
    with pytest.raises(AssertionError, match=r"spilling out of its card: div\.too-wide"):
        await shoot(page, "spilling")
    assert page.viewport_size == before
    watched.assert_no_errors()
