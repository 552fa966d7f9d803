"""The live lecture in a real browser: Playwright driving Debian's Chromium against `netprop explain`'s server.

Every step of two networks, an edit of W1[0, 1] read back as ∇W1 (checked with netprop's Network and
with torch autograd), the URL in a fresh page, keyboard only, no console errors, no other host.
A screenshot of each step goes to tests/artifacts/explain/.
"""

import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

pytest.importorskip("playwright")
pytest.importorskip("pytest_playwright")      # its page and browser fixtures
pytest.importorskip("uvicorn")

import torch  # noqa: E402

from netprop import Network  # noqa: E402
from netprop.explain import api, make_server  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts" / "explain"


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's browser: Debian's Chromium (no browser downloads here)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise AssertionError("CI needs Chromium (make test-tools installs it)")
        pytest.skip("Chromium is not installed")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


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


@pytest.fixture
def lecture_page(page, server):
    """A page with watchers: after the test, no console error and no request beyond the server."""
    errors, foreign = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    origin = urlparse(server)

    def check_request(request):
        u = urlparse(request.url)
        if u.scheme in ("data", "blob") or (u.hostname, u.port) == (origin.hostname, origin.port):
            return
        foreign.append(request.url)

    page.on("request", check_request)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.refusals = 0                     # 4xx answers a test provokes: Chromium logs each as an error
    yield page
    refused = [e for e in errors if re.search(r"status of 4\d\d", e)]
    assert len(refused) == page.refusals and len(errors) == len(refused), f"console errors: {errors}"
    assert foreign == [], f"requests to other hosts: {foreign}"


def open_lecture(page, server, query=""):
    page.goto(server + (f"?{query}" if query else ""))
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")


def revision(page):
    return int(page.eval_on_selector(".np-lecture", "e => e.dataset.revision"))


def wait_for_update(page, before):
    # the answer is drawn, and the address bar (updated just after the frame) holds its state
    page.wait_for_function(f"() => document.querySelector('.np-lecture').dataset.revision > {before} "
                           f"&& !document.querySelector('.np-lecture').dataset.urlPending")


def edit_value(page, q, text):
    """Click the number data-q=q, type text, press Enter, and wait until the answer is drawn."""
    before = revision(page)
    page.click(f'button[data-q="{q}"]')
    page.fill("input.np-edit", text)
    page.keyboard.press("Enter")
    wait_for_update(page, before)


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def math_name(text):
    """A label as the page writes it: the layer number as a subscript (W1 → W₁, z2 → z₂)."""
    return re.sub(r"([A-Za-zŷδ])(\d+)", lambda m: m.group(1) + m.group(2).translate(SUBSCRIPTS), text)


def number(text):
    """A number as the page prints it (a real minus sign, U+2212) as a float."""
    return float(text.replace("−", "-"))


def shown_matrix(page, name):
    """The numbers of the matrix the page labels data-name=name, as printed."""
    rows = page.eval_on_selector(f'table[data-name="{name}"]',
                                 "t => [...t.rows].map(r => [...r.cells].map(c => c.textContent))")
    return np.array([[number(v) for v in row] for row in rows])


def assert_printed(shown, reference):
    """shown is reference printed to 4 significant digits: within half a unit of the 4th digit."""
    reference = np.asarray(reference, dtype=float).reshape(shown.shape)
    unit = 10.0 ** (np.floor(np.log10(np.maximum(np.abs(reference), 1e-300))) - 3)
    assert np.all(np.abs(shown - reference) <= 0.5 * unit * (1 + 1e-9) + 1e-300), (shown, reference)


def walk_every_step(page, tag):
    """Each parameter's steps, forward then backward, with the arrow key; a screenshot each."""
    folder = ARTIFACTS / tag
    folder.mkdir(parents=True, exist_ok=True)
    state = api.parse_state(api.state_from_query(urlparse(page.url).query))
    lec = api.lecture(state)
    n_forward = len(lec["steps"]["forward"])
    seen = 0
    for param in lec["params"]:
        page.select_option("#np-param", param)
        steps = lec["steps"]["forward"] + lec["steps"]["backward"][param]
        page.click("#np-step-title")               # focus off the select, whose arrows change it
        while page.eval_on_selector("#np-back", "b => !b.disabled"):
            page.keyboard.press("ArrowLeft")
        for i, step in enumerate(steps):
            if i:
                page.keyboard.press("ArrowRight")
            assert page.text_content("#np-counter").startswith(f"step {i + 1} of {len(steps)}")
            assert page.text_content("#np-step-title") == math_name(step["title"])
            # typeset by KaTeX from the step's LaTeX, the Unicode form kept beside it
            assert page.get_attribute("#np-step-eq", "data-equation") == math_name(step["equation"])
            assert page.text_content("#np-step-eq annotation") == step["equation_tex"]
            if step["kind"] == "factor":
                assert page.text_content("#np-step-body .np-step-note") == math_name(step["note"])
                labels = [math_name(f["label"]) for f in lec["derivation"]["gradients"][param]["factors"]]
                assert page.text_content("#np-step-body .np-chain") == " · ".join(labels)
                assert page.text_content("#np-step-body .np-chain .np-current") == labels[step["index"]]
            assert page.locator("#np-step-body table.np-matrix, #np-step-f").count() >= 1
            assert page.locator(".np-diagram .np-hl").count() >= 1      # the part of the network in play
            if i >= n_forward or param == lec["params"][0]:
                page.screenshot(path=folder / f"{param}-{i + 1:02d}-{step['kind']}.png")
                seen += 1
        assert page.eval_on_selector("#np-next", "b => b.disabled")     # the last step is the last
        if step["kind"] == "compare":
            g = lec["derivation"]["gradients"][param]
            assert_printed(shown_matrix(page, f"grad-{param}"), g["backprop"])
            assert_printed(shown_matrix(page, f"{param}.fd"), g["finite_difference"])
    return seen


def test_every_step_of_the_lecture_network(lecture_page, server):
    open_lecture(lecture_page, server)
    # forward 4; W1: 4 factors, product, reshape, two simplifications, compare; b1 8; W2 6; b2 5
    assert walk_every_step(lecture_page, "default") == 4 + 9 + 8 + 6 + 5


def test_every_step_of_a_three_hidden_layer_tanh_network(lecture_page, server):
    open_lecture(lecture_page, server, "sizes=3,4,4,3,2&activation=tanh&seed=2")
    assert lecture_page.locator(".np-diagram .np-node").count() == 3 + 4 + 4 + 3 + 2
    assert lecture_page.locator(".np-diagram .np-edge").count() == 12 + 16 + 12 + 6
    assert walk_every_step(lecture_page, "tanh-3-hidden") > 40


def test_editing_W1_01_gives_backprops_gradient(lecture_page, server):
    open_lecture(lecture_page, server)
    edit_value(lecture_page, "W1.0.1", "0.5")
    assert lecture_page.text_content('button[data-q="W1.0.1"]') == "0.5"
    shown = shown_matrix(lecture_page, "grad-W1")

    # the reference: netprop's Network on the edited parameters, and torch autograd beside it
    seeded = api.seeded_state([2, 2, 3])
    net = Network([2, 2, 3], dtype="float64")
    net.weights = [W.copy() for W in seeded.weights]
    net.biases = [b.copy() for b in seeded.biases]
    net.weights[0][0, 1] = 0.5
    grad = net.backward(net.forward(seeded.x), seeded.y).weights[0]
    W1 = torch.tensor(net.weights[0], requires_grad=True)
    z = W1 @ torch.tensor(seeded.x) + torch.tensor(net.biases[0])
    logits = torch.tensor(net.weights[1]) @ torch.relu(z) + torch.tensor(net.biases[1])
    (-torch.log_softmax(logits, 0)[seeded.y]).backward()
    np.testing.assert_allclose(grad, W1.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert_printed(shown, grad)
    # what changed is marked: the edited weight's gradients and downstream values, not x
    assert lecture_page.locator('[data-name="grad-W1"] td.np-changed').count() >= 1
    assert lecture_page.locator('td.np-changed button[data-q="x.0.0"]').count() == 0
    assert "W1=0.0012301533574825742,0.5;" in lecture_page.url


def test_the_url_reproduces_the_state_in_a_fresh_page(lecture_page, server, browser):
    open_lecture(lecture_page, server, "sizes=3,3,2&activation=sigmoid&seed=4")
    edit_value(lecture_page, "b1.2.0", "-0.123456789")
    before = revision(lecture_page)
    lecture_page.check("#np-strict")
    wait_for_update(lecture_page, before)
    lecture_page.select_option("#np-param", "W2")
    lecture_page.click("#np-step-title")
    for _ in range(6):
        lecture_page.keyboard.press("ArrowRight")
    lecture_page.wait_for_function("() => !document.querySelector('.np-lecture').dataset.urlPending")
    url = lecture_page.url
    snapshot = "() => [document.querySelector('#np-counter').textContent, document.querySelector('#np-param').value, " \
               "document.querySelector('#np-step-body').innerText, document.querySelector('.np-values').innerText, " \
               "document.querySelector('#np-strict').checked, " \
               "[...document.querySelectorAll('.np-cell')].map(b => b.title)]"
    expected = lecture_page.evaluate(snapshot)
    fresh = browser.new_context().new_page()
    fresh.goto(url)
    fresh.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    assert fresh.evaluate(snapshot) == expected
    assert "-0.123456789" in expected[5]                  # the full value, not only the printed one
    fresh.context.close()


def tab_to(page, selector, limit=300):
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only(lecture_page, server):
    open_lecture(lecture_page, server)
    page = lecture_page
    # step forward and back with the arrows
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.text_content("#np-counter").startswith("step 4 of")
    page.keyboard.press("ArrowLeft")
    assert page.text_content("#np-counter").startswith("step 3 of")
    # edit a number: Tab to it, Enter, type, Enter
    before = revision(page)
    tab_to(page, 'button[data-q="x.1.0"]')
    page.keyboard.press("Enter")
    page.keyboard.press("Control+A")
    page.keyboard.type("0.9")
    page.keyboard.press("Enter")
    wait_for_update(page, before)
    assert page.text_content('button[data-q="x.1.0"]') == "0.9"
    # the strict toggle, the parameter, SGD, next/back buttons: all by keyboard
    before = revision(page)
    tab_to(page, "#np-strict")
    page.keyboard.press("Space")
    wait_for_update(page, before)
    tab_to(page, "#np-param")
    page.keyboard.press("ArrowDown")                       # W1 → b1
    assert page.eval_on_selector("#np-param", "s => s.value") == "b1"
    tab_to(page, "#np-next")
    page.keyboard.press("Enter")
    assert page.text_content("#np-counter").startswith("step 4 of")
    before = revision(page)
    tab_to(page, "#np-sgd")
    page.keyboard.press("Enter")
    wait_for_update(page, before)
    assert re.fullmatch(r"f: \S+ → \S+", page.text_content("#np-sgd-out"))
    # a new network from the controls
    before = revision(page)
    tab_to(page, "#np-sizes")
    page.keyboard.press("Control+A")
    page.keyboard.type("2,3,3,2")
    page.keyboard.press("Enter")
    wait_for_update(page, before)
    assert page.locator(".np-diagram .np-node").count() == 10
    page.screenshot(path=ARTIFACTS / "keyboard-end.png")


def test_sgd_step_shows_f_before_and_after(lecture_page, server):
    open_lecture(lecture_page, server)
    before = revision(lecture_page)
    lecture_page.fill("#np-lr", "0.5")
    lecture_page.click("#np-sgd")
    wait_for_update(lecture_page, before)
    new, summary = api.sgd_step(api.seeded_state([2, 2, 3]), 0.5)
    shown = lecture_page.text_content("#np-sgd-out")
    f_before, f_after = (number(v) for v in re.fullmatch(r"f: (\S+) → (\S+)", shown).groups())
    # f for the seeded network by hand from torch, and after the step W − 0.5 ∇W
    assert_printed(np.array([[f_before, f_after]]), [summary["f_before"], summary["f_after"]])
    assert_printed(shown_matrix(lecture_page, "W1"), new.weights[0])


def test_bad_input_is_shown_on_the_page(lecture_page, server):
    open_lecture(lecture_page, server)
    edit_value(lecture_page, "W1.0.0", "abc")
    assert lecture_page.text_content(".np-error") == "W1[0,0]: 'abc' is not a number"
    assert lecture_page.is_visible(".np-error")
    before = revision(lecture_page)
    lecture_page.fill("#np-sizes", "2,12,3")
    lecture_page.click("#np-apply")
    wait_for_update(lecture_page, before)
    assert lecture_page.text_content(".np-error") == "every layer needs 1 to 8 units, got 12"
    lecture_page.refusals = 2
    assert lecture_page.text_content('button[data-q="W1.0.0"]') == "0.00123"      # the state is kept


def test_export_downloads_derives_json(lecture_page, server):
    import json

    open_lecture(lecture_page, server)
    lecture_page.select_option("#np-format", "json")
    with lecture_page.expect_download() as download:
        lecture_page.click("#np-export")
    data = json.loads(Path(download.value.path()).read_text())
    assert download.value.suggested_filename == "netprop-derivation.json"
    assert data["weights"] == api.seeded_state([2, 2, 3]).to_dict()["weights"]


# --- the notebook widget's front-end: lecture.js's render() against a real LectureWidget --------------

HARNESS = """<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/widget.css">
<div id="w"></div>
<script type="module">
// A stand-in for anywidget's model: traits and custom messages go to the Python LectureWidget
// through functions Playwright exposes, the way the notebook's comm would carry them.
import widget from "/widget.js";   // the widget's bundle, byte for byte
const listeners = {};
const fire = (event, arg) => (listeners[event] || []).forEach((cb) => cb(arg));
const model = {
  state: await window.pyTraits(), dirty: {},
  get(k) { return this.state[k]; },
  set(k, v) { this.state[k] = v; this.dirty[k] = v; },
  async save_changes() { const d = this.dirty; this.dirty = {}; this.apply(await window.pySetState(d)); },
  on(event, cb) { (listeners[event] ||= []).push(cb); },
  send(msg) {
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
widget.render({ model, el: document.getElementById("w") });
</script>"""

SYNCED = ("sizes", "activation", "loss", "seed", "strict", "values", "step", "param", "lecture", "error")


def test_the_widget_front_end_drives_the_python_widget(lecture_page, server):
    import netprop

    page = lecture_page
    seeded = api.seeded_state([2, 2, 3])
    net = Network([2, 2, 3], dtype="float64")
    net.weights, net.biases = [W.copy() for W in seeded.weights], [b.copy() for b in seeded.biases]
    w = netprop.explain(net, seeded.x, seeded.y)
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
    page.route(server + "widget-harness", lambda route: route.fulfill(body=HARNESS, content_type="text/html"))
    page.goto(server + "widget-harness")
    page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 1")
    assert page.text_content("#np-f") == "1.013"

    # an edit on the page reaches the Python widget's traits, and its answer reaches the page
    edit_value(page, "W1.0.1", "0.5")
    assert w.values["weights"][0][0][1] == 0.5
    net.weights[0][0, 1] = 0.5
    assert_printed(shown_matrix(page, "grad-W1"), net.backward(net.forward(seeded.x), seeded.y).weights[0])
    # stepping on the page sets the step trait; setting it in Python moves the page
    page.click("#np-step-title")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.model.get('step') === 2")
    assert w.step == 2
    w.step, w.param = 7, "W2"
    page.evaluate("t => window.model.apply(t)", traits())
    assert page.text_content("#np-counter").startswith("step 8 of 10 · backward (W₂)")
    # SGD on the page runs in Python
    f_before, W2_before = w.lecture["derivation"]["forward"]["loss"], w.values["weights"][1]
    before = revision(page)
    page.click("#np-sgd")
    wait_for_update(page, before)
    assert re.fullmatch(r"f: \S+ → \S+", page.text_content("#np-sgd-out"))
    assert w.lecture["derivation"]["forward"]["loss"] < f_before and w.values["weights"][1] != W2_before


def test_activation_loss_and_y_from_the_controls(lecture_page, server):
    page = lecture_page
    open_lecture(page, server)
    before = revision(page)
    page.select_option("#np-activation", "tanh")            # applies at once, keeping W, b, x, y
    wait_for_update(page, before)
    page.click("#np-next")
    assert page.get_attribute("#np-step-eq", "data-equation") == "h = tanh(z)"   # one hidden layer: plain z, h
    assert page.text_content('button[data-q="W1.0.0"]') == "0.00123"
    # cross-entropy: clicking a class of y makes it the true one
    before = revision(page)
    page.click('button[data-q="y.2.0"]')
    wait_for_update(page, before)
    assert "&y=2&" in page.url and page.text_content('button[data-q="y.2.0"]') == "1"
    state = api.parse_state(api.state_from_query(urlparse(page.url).query))
    f = api.lecture(state)["derivation"]["forward"]["loss"]
    h = torch.tanh(torch.tensor(state.weights[0]) @ torch.tensor(state.x) + torch.tensor(state.biases[0]))
    logits = torch.tensor(state.weights[1]) @ h + torch.tensor(state.biases[1])
    assert f == pytest.approx(-torch.log_softmax(logits, 0)[2].item(), rel=1e-12)
    assert_printed(np.array([[number(page.text_content("#np-f"))]]), [f])
    # mse: y becomes real targets, edited like any number
    before = revision(page)
    page.select_option("#np-loss", "mse")
    wait_for_update(page, before)
    edit_value(page, "y.1.0", "0.25")
    assert page.text_content('button[data-q="y.1.0"]') == "0.25"
    assert "loss=mse" in page.url and ",0.25," in page.url


def test_a_bad_link_says_why_and_shows_the_default(lecture_page, server):
    lecture_page.goto(server + "?sizes=2,99,3")
    lecture_page.wait_for_function("() => document.querySelector('.np-lecture')?.dataset.revision >= 2")
    assert lecture_page.text_content(".np-error") == ("every layer needs 1 to 8 units, got 99 — showing the "
                                                      "default network instead")
    assert lecture_page.locator(".np-diagram .np-node").count() == 2 + 2 + 3
    lecture_page.refusals = 1


@pytest.mark.parametrize("query", ["sizes=1,1&loss=mse", "sizes=8,1,8&activation=sigmoid&strict=1",
                                   "sizes=2,8,8,8,2&activation=leaky_relu&strict=1&seed=7"])
def test_odd_shapes_draw_every_step_of_W1(lecture_page, server, query):
    open_lecture(lecture_page, server, query)
    lec = api.lecture(api.parse_state(api.state_from_query(query)))
    n = len(lec["steps"]["forward"]) + len(lec["steps"]["backward"]["W1"])
    lecture_page.click("#np-step-title")
    for _ in range(n - 1):
        lecture_page.keyboard.press("ArrowRight")
    assert lecture_page.text_content("#np-counter").startswith(f"step {n} of {n}")
    assert_printed(shown_matrix(lecture_page, "grad-W1"), lec["derivation"]["gradients"]["W1"]["backprop"])
