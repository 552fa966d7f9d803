"""The lecture as its users see it: geometry measured in Chromium at a laptop, a projector and a phone.

At 1366×768, 1920×1080 and 390×844 and every step of a walk: the step buttons never move, the
diagram's smallest text and the step's equation are large enough to read from the back of a hall,
no two labels of the diagram overlap, the page never scrolls sideways, and during backward steps
the diagram carries δ on its nodes and ∇W on its edges, equal to Network.backward's. axe-core
(vendored from npm under tests/vendor/) finds no serious or critical violation on either view.
A screenshot of every step goes to tests/artifacts/lecture/ (git-ignored): look at them.
"""

import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

pytest.importorskip("playwright")
pytest.importorskip("pytest_playwright")
pytest.importorskip("uvicorn")

from test_explain_browser import (  # noqa: E402
    browser_type_launch_args,  # noqa: F401  (Debian's Chromium)
    math_name,
    number,
)

from netprop.explain import api, make_server  # noqa: E402

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent / "artifacts" / "lecture"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
VIEWPORTS = {"laptop": (1366, 768), "projector": (1920, 1080), "phone": (390, 844)}
# the smallest diagram text at 1920×1080, by network (issue 18: 14 px for 2-2-3, 11 px at 8 units)
MIN_DIAGRAM_PX = {"": 14.0, "sizes=8,8,8,8,8&seed=3": 11.0}
MIN_EQUATION_PX = 16.0

MEASURE = """() => {
  const root = document.querySelector('.np-lecture'), svg = root.querySelector('.np-diagram');
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const vb = svg.viewBox.baseVal, r = svg.getBoundingClientRect();
  const scale = Math.min(r.width / vb.width, r.height / vb.height);   // the SVG keeps its aspect ratio
  const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim() && t.getBBox().width > 0);
  return {
    back: box(root.querySelector('.np-stepper[id^="np-back"]')),
    next: box(root.querySelector('.np-stepper[id^="np-next"]')),
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    svg: box(svg), stepTitle: box(root.querySelector('.np-step-title')),
    diagramWidth: r.width,
    minDiagramPx: Math.min(...texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale)),
    equationPx: parseFloat(getComputedStyle(root.querySelector('.np-eq')).fontSize),
    labels: texts.map((t) => ({ text: t.textContent, cls: t.getAttribute('class') || '', box: box(t),
                                node: t.closest('[data-node]')?.dataset.node ?? null })),
    nodeBoxes: [...svg.querySelectorAll('.np-node rect')].map(box),
    nodes: [...svg.querySelectorAll('.np-node')].map((g) => ({ node: g.dataset.node,
      texts: [...g.querySelectorAll('text')].map((t) => [t.textContent, t.getAttribute('class')]) })),
    edgeTitles: [...svg.querySelectorAll('.np-edge-hit title')].map((t) => t.textContent),
    litNodes: [...new Set([...svg.querySelectorAll('.np-node.np-hl')]
      .map((g) => Number(g.dataset.node.split('.')[0])))],
    litEdges: [...new Set([...svg.querySelectorAll('line.np-edge.np-hl')]
      .map((e) => Number(e.dataset.edge.split('.')[0].slice(1))))],
    edgeLabels: [...svg.querySelectorAll('.np-edge-label')].map((t) =>
      [t.dataset.edge, t.textContent, t.getAttribute('class')]),
  };
}"""


@pytest.fixture(scope="module")
def server():
    srv, sock, url = make_server()
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not srv.started:
        assert time.time() < deadline, "the server did not start"
        time.sleep(0.02)
    yield url
    srv.should_exit = True
    thread.join(10)


def overlaps(a, b, slack=1.0):
    return a[0] + slack < b[2] and b[0] + slack < a[2] and a[1] + slack < b[3] and b[1] + slack < a[3]


def assert_no_label_overlap(m):
    labels = m["labels"]
    for k, a in enumerate(labels):
        for b in labels[k + 1:]:
            assert not overlaps(a["box"], b["box"]), f"labels overlap: {a['text']!r} and {b['text']!r}"
        if "np-edge-label" in a["cls"]:
            for rect in m["nodeBoxes"]:
                assert not overlaps(a["box"], rect), f"edge label {a['text']!r} covers a node"


def assert_printed_as(text, value, digits=4):
    """text is value printed to `digits` significant digits (half a unit of the last digit)."""
    shown = number(text)
    unit = 10.0 ** (np.floor(np.log10(max(abs(value), 1e-300))) - (digits - 1))
    assert abs(shown - value) <= 0.5 * unit * (1 + 1e-9) + 1e-300, (text, value)


def assert_gradients_on_diagram(m, step, grads, sizes):
    """δ of every layer the backward pass has reached on its nodes, ∇W on its edges: Network.backward's."""
    L = len(sizes) - 1
    seen_nodes = 0
    for node in m["nodes"]:
        layer, unit = map(int, node["node"].split("."))
        grad_texts = [t for t, cls in node["texts"] if "np-grad" in (cls or "")]
        if layer >= 1 and layer >= step["layer"]:
            assert len(grad_texts) == 1, node
            assert_printed_as(grad_texts[0].split(" ")[-1], grads.biases[layer - 1][unit])
            seen_nodes += 1
        else:
            assert grad_texts == [], node
    assert seen_nodes == sum(sizes[k] for k in range(max(1, step["layer"]), L + 1))
    pattern = re.compile(r"W(\S+)\[(\d+),(\d+)\] = \S+; ∇W\S+\[\d+,\d+\] f = (\S+)")
    for title in m["edgeTitles"]:
        sub, i, j, g = pattern.match(title).groups()
        layer = int(sub.translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")))
        assert_printed_as(g, grads.weights[layer - 1][int(i), int(j)])
    for edge, text, cls in m["edgeLabels"]:
        layer, i, j = int(edge[1:].split(".")[0]), int(edge.split(".")[1]), int(edge.split(".")[2])
        if layer >= step["layer"]:
            assert "np-grad" in cls
            assert_printed_as(text, grads.weights[layer - 1][i, j], digits=3)


def walk(page, server, query, viewport, params):
    """Every step of the forward pass and the backward walks of `params`, measured; returns the measurements."""
    state = api.parse_state(api.state_from_query(query))
    lec = api.lecture(state)
    net = state.network()
    grads = net.backward(net.forward(state.x), state.y)
    folder = ARTIFACTS / viewport / (query.replace("&", "_").replace("=", "-").replace(",", "") or "default")
    folder.mkdir(parents=True, exist_ok=True)
    page.goto(server + (f"?{query}" if query else ""))
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    measured, home = [], None
    for param in params:
        page.select_option("#np-param", param)
        steps = lec["steps"]["forward"] + lec["steps"]["backward"][param]
        page.evaluate("() => document.querySelector('.np-lecture').netpropView.go(0)")
        for k, step in enumerate(steps):
            if k:
                page.click("#np-next")
            assert page.text_content("#np-counter").startswith(f"step {k + 1} of {len(steps)}")
            m = page.evaluate(MEASURE)
            home = home or (m["back"], m["next"])
            assert (m["back"], m["next"]) == home, f"the step buttons moved at {param} step {k + 1}"
            assert m["scrollWidth"] <= m["innerWidth"], f"the page scrolls sideways at {param} step {k + 1}"
            assert_no_label_overlap(m)
            # nothing starts left of the drawing (its frame clips there: the phone's layer labels once did)
            clipped = [a["text"] for a in m["labels"] if a["box"][0] < m["svg"][0] - 0.5]
            assert clipped == [], f"labels cut off at the diagram's left edge: {clipped}"
            assert m["equationPx"] >= MIN_EQUATION_PX
            # exactly the current factor's node columns and edge layers are lit, no other
            assert (sorted(m["litNodes"]), sorted(m["litEdges"])) == (step["lights"]["nodes"], step["lights"]["edges"])
            if step.get("param"):
                assert_gradients_on_diagram(m, step, grads, state.sizes)
            measured.append(m)
            if k >= len(lec["steps"]["forward"]) or param == params[0]:
                page.screenshot(path=folder / f"{param}-{k + 1:02d}-{step['kind']}.png")
    return measured


@pytest.mark.parametrize("query", list(MIN_DIAGRAM_PX))
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_stage_at_every_step(browser, server, viewport, query):
    width, height = VIEWPORTS[viewport]
    phone = viewport == "phone"
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=phone, is_mobile=phone,
                                  device_scale_factor=2 if phone else 1)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    params = ["W1", "b1", "W2", "b2"] if not query else ["W1"]
    measured = walk(page, server, query, viewport, params)
    smallest = min(m["minDiagramPx"] for m in measured)
    figures = {"viewport": viewport, "query": query or "default 2-2-3", "min_diagram_px": round(smallest, 2),
               "equation_px": measured[0]["equationPx"], "diagram_width_px": round(measured[0]["diagramWidth"])}
    (ARTIFACTS / viewport).mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / viewport / f"figures-{query.replace('&', '_') or 'default'}.json").write_text(json.dumps(figures))
    print(figures)
    if viewport == "projector":
        assert measured[0]["diagramWidth"] >= 0.45 * width            # the diagram is the stage
        assert smallest >= MIN_DIAGRAM_PX[query], figures
    if phone:
        first = measured[0]
        # diagram and step on one screen, touch-sized step buttons, no keyboard hints on touch
        assert first["stepTitle"][1] < height and first["svg"][3] <= first["stepTitle"][1]
        assert first["next"][3] - first["next"][1] >= 44
        assert not page.is_visible(".np-help")
    assert errors == []
    context.close()


def test_present_mode_hides_the_controls_and_grows_the_diagram(browser, server):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.goto(server + "?param=W1&step=6")
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    before = page.evaluate(MEASURE)
    page.click("#np-step-title")
    page.keyboard.press("p")
    assert not page.is_visible("#np-sizes") and not page.is_visible(".np-values") and not page.is_visible(".np-header")
    after = page.evaluate(MEASURE)
    assert after["diagramWidth"] > before["diagramWidth"] and after["minDiagramPx"] > before["minDiagramPx"]
    page.screenshot(path=ARTIFACTS / "present-1920.png")
    page.click("#np-present")
    assert page.is_visible("#np-sizes")
    context.close()


def run_axe(page):
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
                           ".map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3)"
                           ".map((n) => n.html) }))")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation_in_the_lecture(browser, server):
    # the page's CSP allows no inline script: the test's own injection of axe bypasses it
    context = browser.new_context(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page = context.new_page()
    page.goto(server + "?param=W1&step=8")
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    assert run_axe(page) == []
    context.close()


def test_the_focus_ring_is_visible_and_not_the_highlight(browser, server):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(server)
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    page.focus("#np-next")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")                        # keyboard focus: :focus-visible
    ring = page.eval_on_selector("#np-next", "b => getComputedStyle(b).outlineColor")
    lit = page.eval_on_selector(".np-diagram .np-node.np-hl rect", "r => getComputedStyle(r).stroke")
    panel = page.eval_on_selector(".np-step", "s => getComputedStyle(s).backgroundColor")
    assert contrast(ring, panel) >= 3.0 and ring != lit
    context.close()


def rgb(css):
    return [int(v) for v in re.findall(r"\d+", css)[:3]]


def contrast(a, b):
    """WCAG 2 contrast ratio of two CSS rgb() colours."""
    def luminance(c):
        ch = [v / 255 for v in rgb(c)]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_is_the_wcag_formula():
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(240, 164, 0)", "rgb(255, 255, 255)") == pytest.approx(2.1, abs=0.05)   # the old amber ring


def test_an_edge_edits_its_weight(browser, server):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(server)
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    before = int(page.eval_on_selector(".np-lecture", "e => e.dataset.revision"))
    page.click('.np-edge-label[data-edge="W2.1.0"]')
    page.fill(".np-edge-edit", "0.75")
    page.keyboard.press("Enter")
    # the redraw, then the address bar, which follows it a frame later (data-url-pending until then)
    page.wait_for_function(f"() => document.querySelector('.np-lecture').dataset.revision > {before} "
                           f"&& !document.querySelector('.np-lecture').dataset.urlPending")
    assert page.text_content('button[data-q="W2.1.0"]') == "0.75"
    state = api.parse_state(api.state_from_query(urlparse(page.url).query))
    assert state.weights[1][1, 0] == 0.75
    context.close()


def test_the_last_step_suggests_the_next_parameter(browser, server):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(server + "?param=W1&step=12")
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    assert page.text_content("#np-counter").startswith("step 13 of 13")
    assert page.text_content("#np-continue") == "continue with ∇b₁ f ▶"
    page.click("#np-continue")
    assert page.eval_on_selector("#np-param", "s => s.value") == "b1"
    assert page.text_content("#np-counter").startswith("step 5 of 12 · backward (b₁)")
    # the first step says where to start; the fold note shows only where the lecture folds the softmax
    page.evaluate("() => document.querySelector('.np-lecture').netpropView.go(0)")
    assert page.is_visible(".np-start") and "Start here" in page.text_content(".np-start")
    assert not page.is_visible("#np-note")
    page.evaluate("() => document.querySelector('.np-lecture').netpropView.go(4)")
    assert page.is_visible("#np-note") and "folds the softmax" in page.text_content("#np-note")
    page.evaluate("() => document.querySelector('.np-lecture').netpropView.go(5)")
    assert not page.is_visible("#np-note")
    assert math_name("W1 z2") == "W₁ z₂"
    context.close()


def test_the_strict_toggle_marks_nothing_changed(browser, server):
    # the strict chain inserts the softmax Jacobian: its factors are other factors, not changed numbers
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(server + "?param=W1&step=8")
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    before = int(page.eval_on_selector(".np-lecture", "e => e.dataset.revision"))
    page.check("#np-strict")
    page.wait_for_function(f"() => document.querySelector('.np-lecture').dataset.revision > {before}")
    assert page.text_content("#np-counter").startswith("step 9 of 14")       # one factor more
    assert page.locator(".np-changed").count() == 0
    context.close()
