"""axe-core in a real page: the serious and critical violations of the whole document."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def page_violations(page, within: str | None = None) -> list[str]:
    """Each serious or critical axe violation on the page (or in the elements matching the CSS
    selector ``within``) as one line (rule, help, where)."""
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # evaluated through the DevTools protocol, so a page's Content-Security-Policy (the course
        # service allows no script at all) does not stop the scan
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate("""async ([blocking, within]) => (await axe.run(
            within ? {include: [within]} : document,
            {resultTypes: ['violations']}))
        .violations.filter(v => blocking.includes(v.impact))
        .map(v => `${v.id}: ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)""",
                         [list(BLOCKING), within])
