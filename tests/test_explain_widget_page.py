"""The notebook widget's front-end in Chromium, as a notebook would host it: the bundle the widget ships
(/widget.js) rendered against a real LectureWidget, with the host's habits simulated where they bit
(issue 18): a document-level shortcut handler like JupyterLab's, a host that cancels Enter's default
action, JupyterLab's dark-theme variables, two views of one widget, a kernel that no longer answers.
"""

import re

import numpy as np
import pytest

pytest.importorskip("playwright")
pytest.importorskip("pytest_playwright")
pytest.importorskip("uvicorn")

from test_explain_browser import (  # noqa: E402
    browser_type_launch_args,  # noqa: F401  (Debian's Chromium)
    lecture_page,  # noqa: F401
    server,  # noqa: F401
)
from test_explain_geometry import contrast  # noqa: E402

import netprop  # noqa: E402
from netprop.explain import api  # noqa: E402

pytestmark = pytest.mark.slow

# JupyterLab 4's dark theme sets these on the body (its variables.css), and data-jp-theme-light="false".
DARK = {"--jp-layout-color0": "#111111", "--jp-layout-color1": "#212121", "--jp-layout-color2": "#424242",
        "--jp-ui-font-color0": "rgba(255, 255, 255, 1)", "--jp-ui-font-color1": "rgba(255, 255, 255, 0.87)",
        "--jp-ui-font-color2": "rgba(255, 255, 255, 0.54)", "--jp-border-color1": "#616161",
        "--jp-content-link-color": "#42a5f5"}

HARNESS = """<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/widget.css">
<body><div id="w1"></div><div id="w2"></div>
<script type="module">
// anywidget's model, standing in for the comm: traits and messages go to the Python LectureWidget
// through functions Playwright exposes. window.silentKernel drops every request (a restarted kernel).
import widget from "/widget.js";
const listeners = {};
const fire = (event, arg) => (listeners[event] || []).forEach((cb) => cb(arg));
const model = {
  state: await window.pyTraits(), dirty: {},
  get(k) { return this.state[k]; },
  set(k, v) {                      // as Backbone's set: every view hears the change at once
    const old = JSON.stringify(this.state[k]);
    this.state[k] = v; this.dirty[k] = v;
    if (old !== JSON.stringify(v)) fire(`change:${k}`);
  },
  async save_changes() { const d = this.dirty; this.dirty = {}; this.apply(await window.pySetState(d)); },
  on(event, cb) { (listeners[event] ||= []).push(cb); },
  send(msg) {
    if (window.silentKernel) return;
    window.pySend(msg).then(({ traits, messages }) => {
      this.apply(traits);
      messages.forEach((m) => fire("msg:custom", m));
    });
  },
  apply(traits) {
    for (const [k, v] of Object.entries(traits))
      if (JSON.stringify(this.state[k]) !== JSON.stringify(v)) { this.state[k] = v; fire(`change:${k}`); }
  },
};
window.model = model;
// the notebook's own keyboard shortcuts listen on the document, as JupyterLab 4's do
window.notebookKeys = [];
document.addEventListener("keydown", (e) => window.notebookKeys.push(e.key));
widget.render({ model, el: document.getElementById("w1") });
if (new URLSearchParams(location.search).has("twice")) widget.render({ model, el: document.getElementById("w2") });
</script></body>"""

SYNCED = ("sizes", "activation", "loss", "seed", "strict", "values", "step", "param", "lecture", "error",
          "request_timeout")


def open_widget(page, server, w, query=""):  # noqa: F811
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    traits = lambda: {k: getattr(w, k) for k in SYNCED}

    def py_send(msg):
        sent.clear()
        w._on_custom_message(w, msg, [])
        return {"traits": traits(), "messages": list(sent)}

    def py_set_state(delta):
        w.set_state(delta)
        return traits()

    page.expose_function("pyTraits", traits)
    page.expose_function("pySend", py_send)
    page.expose_function("pySetState", py_set_state)
    page.route(server + "widget-page*", lambda route: route.fulfill(body=HARNESS, content_type="text/html"))
    page.goto(server + "widget-page" + query)
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    return traits


def make_widget():
    seeded = api.seeded_state([2, 2, 3])
    net = netprop.Network([2, 2, 3], dtype="float64")
    net.weights, net.biases = [W.copy() for W in seeded.weights], [b.copy() for b in seeded.biases]
    return netprop.explain(net, seeded.x, seeded.y)


def test_keys_pressed_in_the_widget_stay_in_the_widget(lecture_page, server):  # noqa: F811
    page, w = lecture_page, make_widget()
    open_widget(page, server, w)
    page.focus("#w1.np-lecture")
    for key in ("x", "m", "ArrowRight", "ArrowRight", "Enter", "a", "b", "d"):
        page.keyboard.press(key)
    assert page.evaluate("window.notebookKeys") == []              # JupyterLab would have cut the cell on x
    page.wait_for_function("() => window.model.get('step') === 2")  # the arrows still step the lecture
    assert page.eval_on_selector("#w1.np-lecture", "e => e.dataset.lmSuppressShortcuts") == "true"


def test_enter_in_the_fields_acts_even_when_the_host_cancels_it(lecture_page, server):  # noqa: F811
    page, w = lecture_page, make_widget()
    open_widget(page, server, w)
    # a host that prevents Enter's default action (no implicit form submission) before the widget sees it
    page.evaluate("document.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); }, true)")
    before = int(page.eval_on_selector("#w1.np-lecture", "e => e.dataset.revision"))
    page.fill("#np-sizes", "3,2,2")
    page.press("#np-sizes", "Enter")
    page.wait_for_function(f"() => document.querySelector('#w1.np-lecture').dataset.revision > {before}")
    assert w.sizes == [3, 2, 2] and page.locator("#w1 .np-diagram .np-node").count() == 7
    before = int(page.eval_on_selector("#w1.np-lecture", "e => e.dataset.revision"))
    page.fill("#np-seed", "11")
    page.press("#np-seed", "Enter")
    page.wait_for_function(f"() => document.querySelector('#w1.np-lecture').dataset.revision > {before}")
    assert w.seed == 11
    np.testing.assert_array_equal(w.values["weights"][0], api.seeded_state([3, 2, 2], seed=11).weights[0])


def test_param_set_in_python_moves_the_dropdown(lecture_page, server):  # noqa: F811
    page, w = lecture_page, make_widget()
    traits = open_widget(page, server, w)
    w.step, w.param = 6, "b2"
    page.evaluate("t => window.model.apply(t)", traits())
    assert page.eval_on_selector("#np-param", "s => s.value") == "b2"
    assert page.text_content("#np-counter").startswith("step 7 of 9 · backward (b₂)")


def test_two_views_of_one_widget_repeat_no_element_id(lecture_page, server):  # noqa: F811
    page, w = lecture_page, make_widget()
    open_widget(page, server, w, "?twice")
    page.wait_for_function("() => document.querySelector('#w2.np-lecture')?.dataset.revision >= 1")
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map((e) => e.id)")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert repeated == [] and len(ids) > 40
    # and both views work: stepping one moves the other through the shared model
    page.click("#w2 .np-stepper[id^='np-next']")
    page.wait_for_function("() => document.querySelector('#w1.np-lecture').dataset.step === '1'")


def test_the_dark_theme_is_legible_and_does_not_glare(lecture_page, server):  # noqa: F811
    page, w = lecture_page, make_widget()
    open_widget(page, server, w)
    page.evaluate("vars => { document.body.dataset.jpThemeLight = 'false'; "
                  "for (const [k, v] of Object.entries(vars)) document.body.style.setProperty(k, v); "
                  "document.body.style.background = vars['--jp-layout-color0']; }", DARK)
    page.evaluate("() => document.querySelector('#w1.np-lecture').netpropView.go(6)")
    colours = page.evaluate("""() => {
      const css = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
      return { pane: css('#w1 .np-step', 'backgroundColor'), title: css('#w1 .np-step-title', 'color'),
               note: css('#w1 .np-step-note', 'color'), node: css('#w1 .np-node rect', 'fill'),
               nodeText: css('#w1 .np-node text', 'fill'), grad: css('#w1 .np-diagram .np-grad', 'fill'),
               diagram: css('#w1 .np-diagram', 'backgroundColor'), edgeLabel: css('#w1 .np-edge-label', 'fill'),
               target: css('#w1 .np-target', 'fill'), cell: css('#w1 .np-cell', 'color'),
               values: css('#w1 .np-values', 'backgroundColor') };
    }""")
    for text, ground in (("title", "pane"), ("note", "pane"), ("nodeText", "node"), ("grad", "node"),
                         ("edgeLabel", "diagram"), ("target", "diagram"), ("cell", "values")):
        assert contrast(colours[text], colours[ground]) >= 4.5, (text, ground, colours)
    for panel in ("pane", "diagram", "values"):                      # no white panel on a dark page
        assert max(int(v) for v in re.findall(r"\d+", colours[panel])[:3]) < 80, colours
    page.screenshot(path="tests/artifacts/lecture/widget-dark.png")


def test_a_kernel_that_does_not_answer_gets_a_message(lecture_page, server):  # noqa: F811
    page, w = lecture_page, make_widget()
    w.request_timeout = 0.5
    open_widget(page, server, w)
    page.evaluate("window.silentKernel = true")
    before = int(page.eval_on_selector("#w1.np-lecture", "e => e.dataset.revision"))
    page.click('button[data-q="W1.0.1"]')
    page.fill("input.np-edit", "0.5")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('#w1.np-lecture').dataset.revision > {before}")
    assert page.text_content("#w1 .np-error") == "the kernel did not answer: re-run the cell"
    assert page.is_visible("#w1 .np-error")
