"""Round trip of one edit in the live lecture: a click on W1[0, 0] to the page redrawn, in a real browser.

`netprop explain`'s server runs in this process; Debian's Chromium (headless, through Playwright)
opens the page. Each edit clicks the weight, types a new value, presses Enter, and waits until the
page has drawn the server's answer ("redrawn": the DOM holds the new numbers) and the browser has
painted the next frame ("next frame": what the user sees). Timed in the page
(performance.now), so Playwright's own messages are not counted. Beside it, in the same page and
run: the fetch of /api/lecture alone (the server's share: validation, derive, JSON) — the peer
that says how much of the round trip is Python and how much is drawing.

    python benchmarks/bench_explain.py                 # 2-2-3 (the lecture's) and 8-8-8-8, 50 edits each
    python benchmarks/bench_explain.py --edits 20 --sizes 2,2,3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import threading
import time

from common import machine, table

TARGET_MS = 50.0
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# In the page: click, type, Enter; resolve when the view's revision moves and a frame has been drawn.
EDIT = """async (value) => {
  const root = document.querySelector('.np-lecture');
  const before = Number(root.dataset.revision);
  const t0 = performance.now();
  document.querySelector('button[data-q="W1.0.0"]').click();
  const input = document.querySelector('input.np-edit');
  input.value = String(value);
  input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
  while (Number(root.dataset.revision) === before) await new Promise(r => setTimeout(r, 0));
  const drawn = performance.now();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));   // runs once that frame is painted
  return [drawn - t0, performance.now() - t0];
}"""

FETCH = """async (query) => {
  const t0 = performance.now();
  const r = await fetch('/api/lecture?' + query);
  await r.json();
  return performance.now() - t0;
}"""


def measure(page, url, sizes, edits):
    page.goto(f"{url}?sizes={sizes}&seed=1")
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    for i in range(5):                                   # warm-up: JIT, first layouts, the server's imports
        page.evaluate(EDIT, 0.1 + i / 100)
    drawn, framed, fetched = [], [], []
    for i in range(edits):
        d, f = page.evaluate(EDIT, round(0.2 + (i % 17) / 50, 3))
        drawn.append(d)
        framed.append(f)
        query = page.url.split("?", 1)[1]
        fetched.append(page.evaluate(FETCH, query))
    return statistics.median(drawn), statistics.median(framed), statistics.median(fetched)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["2,2,3", "8,8,8,8"], help="networks to time")
    parser.add_argument("--edits", type=int, default=50, help="edits per network (default 50)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from netprop.explain import make_server

    server, sock, url = make_server()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            for sizes in args.sizes:
                drawn, framed, fetched = measure(page, url, sizes, args.edits)
                rows.append([sizes.replace(",", "-"), f"{framed:.1f}", f"{drawn:.1f}", f"{fetched:.1f}",
                             f"{framed / TARGET_MS:.2f}"])
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    print(f"{machine()}; median of {args.edits} edits each, milliseconds")
    print(table(rows, ["network", "edit → next frame", "edit → page redrawn", "fetch /api/lecture alone",
                       f"÷ target {TARGET_MS:g} ms"]))


if __name__ == "__main__":
    main()
