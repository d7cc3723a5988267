"""`await assert_accessible(page)`: axe-core finds no WCAG 2.2 A/AA violation on the page.

axe-core comes from npm into tests/.node/ (tests/node.py). The app's Content-Security-
Policy allows only scripts from its own origin, so axe is not added as an inline
<script> (the browser would block it and the page would report a CSP violation):
Playwright's `page.evaluate` runs the library's source through the DevTools protocol,
which the page's CSP does not govern, so the test needs no `bypass_csp` and sees the
page under the same policy a person's browser enforces.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tests.node import npm_package

AXE_VERSION = "4.14.1"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@cache
def axe_source() -> str:
    folder = npm_package("axe-core", AXE_VERSION)
    return (folder / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(node['target'])}: {node['failureSummary']}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (loaded into the page on first use)."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source() + "\n;undefined")
    result: dict[str, Any] = await page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return found.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
              nodes: v.nodes.map((n) => ({
                target: n.target.map(String), html: n.html, failureSummary: n.failureSummary,
              })),
            }));
        }""",
        TAGS,
    )
    return list(result)


async def assert_accessible(page: Any) -> None:
    violations = await axe_violations(page)
    assert violations == [], "axe-core found accessibility violations:\n" + describe(violations)
