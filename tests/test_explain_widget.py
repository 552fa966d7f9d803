"""netprop.explain(net, x, y): the notebook widget's state round-trips through anywidget's model, its
front-end is the web app's file byte for byte, and its answers are netprop's numbers (checked with torch)."""

import re

import numpy as np
import pytest
import torch

pytest.importorskip("anywidget")
pytest.importorskip("starlette")

from starlette.testclient import TestClient  # noqa: E402

import netprop  # noqa: E402
from netprop.explain.app import create_app  # noqa: E402
from netprop.explain.widget import LectureWidget  # noqa: E402


def torch_grad_W1(values, activation="tanh"):
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in values["weights"]]
    h = torch.tensor(values["x"], dtype=torch.float64)
    for l, (W, b) in enumerate(zip(Ws, values["biases"])):
        z = W @ h + torch.tensor(b, dtype=torch.float64)
        h = getattr(torch, activation)(z) if l < len(Ws) - 1 else z
    f = -torch.log_softmax(h, 0)[values["y"]]
    f.backward()
    return f.item(), Ws[0].grad.numpy()


class Sent(list):
    """Stands in for the comm: what the widget sends to the page."""


@pytest.fixture
def widget(monkeypatch):
    net = netprop.Network([3, 4, 2], activation="tanh", seed=5)
    w = netprop.explain(net, np.array([0.1, -0.2, 0.3]), 1)
    sent = Sent()
    monkeypatch.setattr(w, "send", lambda content, buffers=None: sent.append(content))
    w.sent = sent
    return w, net


def test_state_is_the_network_given(widget):
    w, net = widget
    assert isinstance(w, LectureWidget)
    assert w.sizes == [3, 4, 2] and w.activation == "tanh" and w.values["y"] == 1
    np.testing.assert_array_equal(w.values["weights"][0], net.weights[0])
    f, g = torch_grad_W1(w.values)
    assert w.lecture["derivation"]["forward"]["loss"] == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(w.lecture["derivation"]["gradients"]["W1"]["backprop"], g, rtol=1e-10, atol=1e-15)


def test_state_round_trips_through_the_model(widget):
    w, _ = widget
    w.step, w.param, w.strict = 5, "b1", True
    synced = w.get_state()                         # what anywidget sends to the page
    for name in ("sizes", "activation", "loss", "seed", "strict", "values", "step", "param"):
        assert synced[name] == getattr(w, name)
    other = LectureWidget()
    other.set_state({k: synced[k] for k in ("sizes", "activation", "loss", "seed", "strict", "values", "step",
                                             "param")})          # what the page sends back
    assert other.lecture["state"] == w.lecture["state"] and other.step == 5 and other.param == "b1"
    assert [f["label"] for f in other.lecture["derivation"]["gradients"]["W1"]["factors"]][1] == "∂ŷ/∂z2"


def test_the_bundle_is_the_web_apps_modules(widget):
    w, _ = widget
    client = TestClient(create_app())
    esm = w.get_state()["_esm"]
    esm = esm.encode() if isinstance(esm, str) else esm
    assert esm == client.get("/widget.js").content           # what the browser tests load
    # the bundle is KaTeX's script (served to the page) in a function scope, then the served modules, in
    # order, less their imports of each other (one module cannot import its siblings)
    text = esm.decode()
    prelude, modules = text.split("\n// ---- dom.js ----\n", 1)
    assert client.get("/static/vendored/katex/katex.min.js").text in prelude
    assert not re.search(r"^import ", modules, re.MULTILINE)
    expected = []
    for name in ("dom.js", "lecture.js"):
        served = client.get(f"/static/{name}").text
        expected += ([] if name == "dom.js" else [f"// ---- {name} ----"])
        expected += [line for line in served.splitlines() if not line.startswith('import {')]
    assert modules.splitlines() == expected
    assert "export function el(" in text and "function render({ model" in text
    # the style sheet: KaTeX's with its 20 fonts inlined (a notebook serves no files of ours), then explain.css
    css = w.get_state()["_css"]
    css = css.encode() if isinstance(css, str) else css
    assert css == client.get("/widget.css").content
    assert css.decode().endswith(client.get("/static/explain.css").text)
    assert css.decode().count("data:font/woff2;base64,") == 20 and "url(fonts/" not in css.decode()


def test_an_edit_from_the_page_recomputes(widget):
    w, _ = widget
    state = dict(w.lecture["state"])
    state["weights"] = [list(map(list, W)) for W in state["weights"]]
    state["weights"][0][0][1] = "0.9"                # typed on the page
    w._on_custom_message(w, {"type": "request", "id": 7, "kind": "state", "payload": state}, [])
    assert w.sent[-1] == {"type": "response", "id": 7, "ok": True}
    assert w.values["weights"][0][0][1] == 0.9
    f, g = torch_grad_W1(w.values)
    np.testing.assert_allclose(w.lecture["derivation"]["gradients"]["W1"]["backprop"], g, rtol=1e-10, atol=1e-15)


def test_sgd_and_export_from_the_page(widget):
    w, _ = widget
    f0, _ = torch_grad_W1(w.values)
    w._on_custom_message(w, {"type": "request", "id": 1, "kind": "sgd", "payload": {"state": w.lecture["state"],
                                                                                    "lr": 0.3}}, [])
    reply = w.sent[-1]
    assert reply["ok"] and reply["sgd"]["f_before"] == pytest.approx(f0, rel=1e-12)
    f1, _ = torch_grad_W1(w.values)
    assert reply["sgd"]["f_after"] == pytest.approx(f1, rel=1e-12) and f1 < f0
    w._on_custom_message(w, {"type": "request", "id": 2, "kind": "export",
                             "payload": {"state": w.lecture["state"], "format": "markdown"}}, [])
    assert w.sent[-1]["ok"] and w.sent[-1]["ext"] == "md" and "$$" in w.sent[-1]["text"]


def test_bad_requests_answer_one_line_and_change_nothing(widget):
    w, _ = widget
    before = w.lecture
    state = dict(w.lecture["state"], x=["1", "nan", "2"])
    w._on_custom_message(w, {"type": "request", "id": 3, "kind": "state", "payload": state}, [])
    assert w.sent[-1] == {"type": "response", "id": 3, "ok": False, "error": "x[1]: 'nan' is not a finite number"}
    assert w.lecture == before
    w.values = {**w.values, "x": [1, 2]}             # from Python: refused in .error, lecture kept
    assert w.error == "x needs 3 values, got 2" and w.lecture == before


def test_too_large_a_network_is_refused_up_front():
    net = netprop.Network([3, 9, 2], seed=0)
    with pytest.raises(ValueError, match="1 to 8 units"):
        netprop.explain(net, np.zeros(3), 0)


def test_the_export_reply_stays_a_response(widget):
    # the export's media type once went out as the reply's "type", overwriting "response": the page,
    # which keeps only replies of type "response", dropped it and Export never answered
    w, _ = widget
    w._on_custom_message(w, {"type": "request", "id": 9, "kind": "export",
                             "payload": {"state": w.lecture["state"], "format": "latex"}}, [])
    reply = w.sent[-1]
    assert reply["type"] == "response" and reply["id"] == 9 and reply["ok"]
    assert reply["media"] == "application/x-latex" and reply["ext"] == "tex" and r"\begin{document}" in reply["text"]


def test_the_text_form_says_what_the_widget_shows(widget):
    w, net = widget
    w.step, w.param = 4, "W1"
    text = w._repr_mimebundle_()[0]["text/plain"]
    f = torch_grad_W1(w.values)[0]
    assert text.startswith("<LectureWidget: 3-4-2 tanh network, cross_entropy, f = ")
    assert float(re.search(r"f = (\S+);", text).group(1)) == pytest.approx(f, rel=1e-5)
    assert "step 5 of " in text and "backward for W1" in text and "object at 0x" not in text
