"""Time to the first interactive activity of a module app: stock Voilà vs the course's setup.

Two moments per load, read from the page's own clock (from the start of the navigation to the first
frame showing it): when a learner can start answering (the first answerable control, which on the
course's pages is a question's snapshot shown before Voilà's scripts load) and when the first live
widget control is enabled (its Check goes to the kernel).

Stock: Voilà's own lab template, a kernel started on demand for each page.
Ours: the course template and a preheated kernel pool (the kernel has imported everything and waits
for the learner's request; only restoring answers and drawing happen after the click).
Both run in this script, on the same notebook, in the same Chromium; loads are spaced so that the
pool can refill, as it would between two learners. Also prints the resident memory of the kernels.

    .venv/bin/python benchmarks/voila_apps.py [--loads 10] [--notebook module3.ipynb]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, NOTEBOOKS, VoilaServer

#: A live widget's control: the kernel answers it (Check, Mark as read…).
FIRST_ACTIVITY = ".se4u-activity button:not([disabled])"
#: A control a learner can already answer: a live one, or a question's snapshot (the course
#: template shows it before Voilà's scripts have loaded; the widget then adopts the answer).
FIRST_ANSWERABLE = f".se4u-ssr input, .se4u-activity input:not([disabled]), {FIRST_ACTIVITY}"


def kernel_rss_mb(server: VoilaServer) -> list[float]:
    """Resident memory of every kernel process started by this Voilà server, in MB."""
    sizes = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        if parent == server.process.pid and "ipykernel" in cmdline:
            rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
            sizes.append(int(rss) / 1024)
    return sizes


#: Runs in every page before its own scripts: notes, in the page's own clock (milliseconds since the
#: navigation started), the first frame in which each kind of control is on screen.
WATCH = """
(() => {
  const wanted = %s;
  const seen = window.__se4uFirst = {};
  function visible(sel) {
    for (const el of document.querySelectorAll(sel)) if (el.getClientRects().length) return true;
    return false;
  }
  function frame() {
    for (const [name, sel] of Object.entries(wanted)) {
      if (!(name in seen) && visible(sel)) seen[name] = performance.now();
    }
    if (Object.keys(seen).length < Object.keys(wanted).length) requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})();
"""


def measure(server: VoilaServer, browser, notebook: str, loads: int, pause: float,
            cold_cache: bool) -> tuple[list[float], list[float]]:
    """Seconds from navigation to the first answerable control and to the first live activity
    control, for each load.

    By default the browser keeps its cache between loads, as for a learner coming back to the
    course (one unmeasured load first fills it); ``cold_cache`` uses a fresh browser profile each time.
    """
    times, answerable = [], []
    time.sleep(pause * 2)  # let a preheated pool fill, and a cold server settle
    shared = None if cold_cache else browser.new_context(viewport={"width": 1280, "height": 900})
    for index in range(loads + (0 if cold_cache else 1)):
        context = shared or browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.add_init_script(WATCH % json.dumps({"answerable": FIRST_ANSWERABLE, "live": FIRST_ACTIVITY}))
        page.goto(server.url(notebook), wait_until="commit")
        page.wait_for_selector(FIRST_ACTIVITY, timeout=120_000)
        page.wait_for_function("() => ['live', 'answerable'].every(k => k in (window.__se4uFirst || {}))")
        seen = page.evaluate("window.__se4uFirst")
        if cold_cache or index > 0:
            times.append(seen["live"] / 1000)
            answerable.append(seen["answerable"] / 1000)
        page.close()
        if shared is None:
            context.close()
        time.sleep(pause)
    if shared is not None:
        shared.close()
    return answerable, times


def describe(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return (f"{label:<34} median {statistics.median(times):6.2f} s   p90 {p90:6.2f} s   "
            f"min {min(times):5.2f} s   max {max(times):5.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--notebook", default="module3.ipynb")
    parser.add_argument("--pause", type=float, default=6.0, help="seconds between loads")
    parser.add_argument("--cold-cache", action="store_true", help="a fresh browser profile per load")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="se4u-bench-"))
    results = {}
    rss = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, options in (("stock Voilà (cold kernel)", {"preheat": False, "template": None}),
                               ("course template + preheated pool", {"preheat": True})):
            server = VoilaServer(NOTEBOOKS, tmp / f"{len(results)}.sqlite", learner="bench", **options)
            try:
                results[label] = measure(server, browser, args.notebook, args.loads, args.pause,
                                         args.cold_cache)
                rss[label] = kernel_rss_mb(server)
            finally:
                server.stop()
        browser.close()
    cache = "a fresh browser profile each time" if args.cold_cache else "the browser cache kept"
    print(f"{args.notebook}, {args.loads} loads each, {cache}.")
    for index, what in enumerate(("a learner can start answering (first answerable control)",
                                  "the first live activity control (Check works)")):
        print(f"Time until {what}:")
        for label, pair in results.items():
            print(describe(label, pair[index]))
        stock, ours = (statistics.median(pair[index]) for pair in results.values())
        print(f"ratio ours / stock (medians): {ours / stock:.2f}")
    for label, sizes in rss.items():
        if sizes:
            print(f"kernel RSS, {label}: {len(sizes)} kernel(s) alive, "
                  f"largest {max(sizes):.0f} MB, median {statistics.median(sizes):.0f} MB")


if __name__ == "__main__":
    main()
