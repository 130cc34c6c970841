"""How quickly does a drop show its feedback, and a Check its verdict? Voilà + Chromium, gallery.

Run:  .venv/bin/python benchmarks/drop_feedback.py [--drops 50] [--checks 50]

Three figures, each the median and p95 of N samples, all measured in the page with
performance.now() and "painted" taken as the first task after the next animation frame
(requestAnimationFrame, then a MessageChannel message: the frame has been produced by then):

* baseline — a trivial DOM mutation (a text node in a probe element) until painted: what any
  visible change in this page costs, so the others can be read as a ratio;
* drop — pointerup of a mouse drag on the DragToCategories activity until the item is in the
  target's slot AND the live region says where it was placed, painted. 50 drops alternate the
  items and the two categories (each drop moves the item to the category it is not in);
* check — click on Check until the verdict text ("Score: ...") is painted; this includes the
  kernel round-trip (model.send -> Python -> traitlet sync). DragToCategories in the gallery
  allows only 3 attempts, so Check is timed on OrderItems, which runs the same placing.js and
  PlacingActivity code with unlimited attempts: before each Check one item is moved (which clears
  the previous verdict), and the answer is never complete, so the activity never locks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, NOTEBOOKS, VoilaServer  # noqa: E402

SORT = ".se4u-placing[data-layout='categories']"
ORDER = ".se4u-placing[data-layout='order']"
PICTURE = ".se4u-placing[data-layout='jigsaw'][data-mode='image']"

# Timing helpers installed in the page. arm*() set up one measurement; window.__bench.done turns
# into the elapsed milliseconds once the awaited change has been painted.
PROBE = """() => {
  const paintedAfter = (t0) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { window.__bench.done = performance.now() - t0; };
    channel.port2.postMessage(null);
  });
  const watch = (root, ready) => {
    const observer = new MutationObserver(() => {
      if (window.__bench.t0 === null || !ready()) return;
      observer.disconnect();
      window.__bench.dom = performance.now() - window.__bench.t0;
      paintedAfter(window.__bench.t0);
    });
    observer.observe(root, { childList: true, subtree: true, characterData: true, attributes: true });
  };
  const probe = document.createElement('div');
  probe.id = 'se4u-bench-probe';
  probe.setAttribute('aria-hidden', 'true');
  probe.textContent = '0';
  document.body.append(probe);
  window.__bench = { t0: null, done: null };
  window.__benchArmBaseline = () => {
    window.__bench = { t0: null, done: null };
    watch(probe, () => true);
    window.__bench.t0 = performance.now();
    probe.textContent = String(Number(probe.textContent) + 1);
  };
  window.__benchArmDrop = (widget, piece, target, label) => {
    window.__bench = { t0: null, done: null };
    const root = document.querySelector(widget);
    const announce = root.querySelector('.se4u-announce');
    watch(root, () => !!root.querySelector(`[data-drop="${target}"] [data-piece="${piece}"]`)
      && announce.textContent.includes(`placed in ${label}`));
    // Capture phase on window: runs before the activity's own pointerup handler.
    window.addEventListener('pointerup', () => { window.__bench.t0 = performance.now(); },
      { capture: true, once: true });
  };
  window.__benchArmCheck = (widget) => {
    window.__bench = { t0: null, done: null };
    const root = document.querySelector(widget);
    const feedback = root.querySelector('.se4u-feedback');
    watch(root, () => feedback.textContent.includes('Score:'));
    window.addEventListener('click', () => { window.__bench.t0 = performance.now(); },
      { capture: true, once: true });
  };
}"""


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{name:<34} n={len(samples):>3}  median {statistics.median(samples):7.2f} ms"
            f"  p95 {p95:7.2f} ms  min {ordered[0]:6.2f}  max {ordered[-1]:7.2f}")


#: Milliseconds from the start of each measurement to the DOM change itself (before the frame).
DOM_ONLY: dict[str, list[float]] = {"baseline": [], "drop": [], "check": []}


def wait_done(page, kind: str = "baseline") -> float:
    page.wait_for_function("() => window.__bench.done !== null", timeout=30_000)
    done, dom = page.evaluate("() => [window.__bench.done, window.__bench.dom]")
    DOM_ONLY[kind].append(dom)
    return done


def drag(page, widget: str, piece: str, target: str) -> None:
    root = page.locator(widget)
    start = root.locator(f"[data-piece='{piece}']").bounding_box()
    end = root.locator(f"[data-drop='{target}']").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=5)


def measure_baseline(page, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        page.evaluate("() => window.__benchArmBaseline()")
        samples.append(wait_done(page))
    return samples


def measure_drops(page, count: int) -> list[float]:
    root = page.locator(SORT)
    root.locator(".se4u-board").evaluate("node => node.scrollIntoView({block: 'center'})")
    pieces = root.locator(".se4u-piece").evaluate_all("nodes => nodes.map(n => n.dataset.piece)")
    labels = dict(root.locator("[data-target]").evaluate_all(
        "nodes => nodes.map(n => [n.dataset.target, n.querySelector('.se4u-target-label').textContent])"))
    categories = list(labels)
    where: dict[str, str] = {}
    samples = []
    for i in range(count):
        piece = pieces[i % len(pieces)]
        current = where.get(piece)
        target = categories[i % 2] if current is None else next(c for c in categories if c != current)
        drag(page, SORT, piece, target)
        page.evaluate("(a) => window.__benchArmDrop(...a)", [SORT, piece, target, labels[target]])
        page.mouse.up()
        samples.append(wait_done(page, "drop"))
        where[piece] = target
    return samples


def measure_checks(page, count: int) -> list[float]:
    root = page.locator(ORDER)
    root.locator(".se4u-board").evaluate("node => node.scrollIntoView({block: 'center'})")
    piece = root.locator(".se4u-piece").first.get_attribute("data-piece")
    feedback = root.locator(".se4u-feedback")
    samples = []
    for i in range(count):
        # One item only, moved between two positions: never a complete answer, so never locked.
        target = "pos-1" if i % 2 == 0 else "pos-3"
        drag(page, ORDER, piece, target)
        page.mouse.up()
        root.locator(f"[data-drop='{target}'] [data-piece='{piece}']").wait_for()
        page.wait_for_function("f => f.textContent === ''", arg=feedback.element_handle())
        page.evaluate("(w) => window.__benchArmCheck(w)", ORDER)
        root.locator(".se4u-check").click()
        samples.append(wait_done(page, "check"))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drops", type=int, default=50)
    parser.add_argument("--checks", type=int, default=50)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = VoilaServer(NOTEBOOKS, Path(tmp) / "responses.sqlite", learner="benchmark-learner")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(server.url("gallery.ipynb"))
                page.wait_for_selector(f"{PICTURE} .se4u-piece", timeout=60_000)
                page.evaluate(PROBE)
                measure_baseline(page, 5)  # warm-up
                DOM_ONLY["baseline"].clear()
                baseline = measure_baseline(page, args.drops)
                drops = measure_drops(page, args.drops)
                checks = measure_checks(page, args.checks)
                version = browser.version
                browser.close()
        finally:
            server.stop()

    print(f"Chromium {version}, headless, 1280x1000; gallery.ipynb in Voilà (painted = rAF + task)")
    print(summary("baseline: DOM mutation -> painted", baseline))
    print(summary("drop: pointerup -> feedback painted", drops))
    print(summary("check: click -> verdict painted", checks))
    for kind, values in DOM_ONLY.items():
        print(summary(f"  {kind}: to the DOM change only", values))
    base = statistics.median(baseline)
    print(f"ratio to baseline (median): drop {statistics.median(drops) / base:.2f}x, "
          f"check {statistics.median(checks) / base:.2f}x")


if __name__ == "__main__":
    main()
