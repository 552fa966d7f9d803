"""The live lecture's JSON API, through Starlette's TestClient: numbers against torch, every bad input a 4xx."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402


from netprop.cli import main  # noqa: E402
from netprop.explain import api  # noqa: E402
from netprop.explain.app import CSP, create_app  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def torch_loss_and_grads(state):
    """f and every ∇ of a state dict, by torch autograd (relu/tanh, cross-entropy or mse)."""
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in state["weights"]]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in state["biases"]]
    h = torch.tensor(state["x"], dtype=torch.float64)
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[state["activation"]]
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = W @ h + b
        h = act(z) if l < len(Ws) - 1 else z
    if state["loss"] == "cross_entropy":
        f = -torch.log_softmax(h, 0)[state["y"]]
    else:
        f = 0.5 * ((h - torch.tensor(state["y"], dtype=torch.float64)) ** 2).sum()
    f.backward()
    return f.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


def test_default_is_derives_network_and_its_numbers_are_torchs(client, tmp_path):
    lec = client.get("/api/lecture").json()
    st = lec["state"]
    # the same seeded network and example as `netprop derive` prints for the lecture's seed, chosen so
    # that one relu is dead (both on would make ∂h/∂z = I and hide the masking)
    assert st["seed"] == api.DEFAULT_SEED
    z = np.array(st["weights"][0]) @ np.array(st["x"]) + np.array(st["biases"][0])
    assert (z < 0).sum() == 1 and "dead" in lec["start_note"]
    out = tmp_path / "d.json"
    assert main(["derive", "--seed", str(api.DEFAULT_SEED), "--format", "json", "--output", str(out), "--quiet"]) == 0
    derived = json.loads(out.read_text())
    assert st["sizes"] == [2, 2, 3] and st["x"] == derived["x"] and st["weights"] == derived["weights"]
    assert np.eye(3)[st["y"]].tolist() == derived["y"]
    f, gW, gb = torch_loss_and_grads(st)
    d = lec["derivation"]
    assert d["forward"]["loss"] == pytest.approx(f, rel=1e-12)
    for l in range(2):
        for name, ref in ((f"W{l + 1}", gW[l]), (f"b{l + 1}", gb[l])):
            for key in ("backprop", "chain", "finite_difference"):
                np.testing.assert_allclose(d["gradients"][name][key], ref, rtol=1e-6, atol=1e-9)


def test_steps_of_the_lecture_network(client):
    lec = client.get("/api/lecture").json()
    assert [s["equation"] for s in lec["steps"]["forward"]] == [
        "z = W1 x + b1", "h = relu(z)", "ŷ = softmax(W2 h + b2)", "f = −Σₖ yₖ log ŷₖ"]
    kinds = [s["kind"] for s in lec["steps"]["backward"]["W1"]]
    assert kinds == ["factor"] * 4 + ["product", "reshape", "hadamard", "outer", "compare"]
    assert [s["kind"] for s in lec["steps"]["backward"]["b2"]] == ["factor", "factor", "product", "reshape", "compare"]
    assert lec["params"] == ["W1", "b1", "W2", "b2"]
    # the diagram lights the layer of each factor: ∂f/∂ŷ and ∂ŷ/∂h = W2 the output's, diag and ∂z/∂W1 the hidden
    assert [s["layer"] for s in lec["steps"]["backward"]["W1"][:4]] == [2, 2, 1, 1]


def test_simplifications_are_the_shortcut(client):
    lec = client.get("/api/lecture").json()
    st = lec["state"]
    _, gW, gb = torch_loss_and_grads(st)
    hadamard, outer = lec["simplifications"]["W1"]
    # g = ∇b1 f (torch), and the outer product g xᵀ is ∇W1 f
    np.testing.assert_allclose(hadamard["rhs"], [gb[0]], atol=1e-12)
    np.testing.assert_allclose(hadamard["lhs"], [gb[0]], atol=1e-12)
    np.testing.assert_allclose(outer["rhs"], np.outer(gb[0], st["x"]), atol=1e-12)
    np.testing.assert_allclose(outer["lhs"], gW[0], atol=1e-12)


def test_strict_chain_through_the_api(client):
    lecture = client.post("/api/lecture", json={"state": {"strict": False}}).json()["derivation"]["gradients"]
    strict = client.post("/api/lecture", json={"state": {"strict": True}}).json()
    g = strict["derivation"]["gradients"]
    assert [f["label"] for f in g["W1"]["factors"]] == ["∂f/∂ŷ", "∂ŷ/∂z2", "∂z2/∂h", "∂h/∂z", "∂z/∂W1"]
    np.testing.assert_allclose(g["W1"]["chain"], lecture["W1"]["chain"], atol=1e-14)
    assert "strictly" in strict["fold_note"] and strict["state"]["strict"] is True


def test_the_fold_is_said_where_it_happens(client):
    steps = client.get("/api/lecture").json()["steps"]["backward"]["W1"]
    assert "strictly ∂f/∂z2" in steps[0]["note"] and "this is ∂z2/∂h, not a Jacobian of ŷ" in steps[1]["note"]
    strict = client.get("/api/lecture?strict=1").json()["steps"]["backward"]["W1"]
    assert strict[1]["equation"] == "∂ŷ/∂z2" and "the softmax Jacobian" in strict[1]["note"]
    assert strict[2]["note"] == "= W2: z2 = W2 h + b2."                  # nothing folded any more
    mse = client.get("/api/lecture?loss=mse").json()["steps"]["backward"]["W1"]
    assert "exactly ∂f/∂ŷ" in mse[0]["note"]


def test_an_edit_recomputes_everything_downstream(client):
    st = client.get("/api/lecture").json()["state"]
    st["weights"][0][0][1] = "0.75"                        # as typed on the page
    lec = client.post("/api/lecture", json={"state": st}).json()
    assert lec["state"]["weights"][0][0][1] == 0.75
    f, gW, gb = torch_loss_and_grads(lec["state"])
    assert lec["derivation"]["forward"]["loss"] == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(lec["derivation"]["gradients"]["W1"]["backprop"], gW[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sizes,activation,loss", [([3, 4, 4, 4, 2], "tanh", "cross_entropy"),
                                                    ([3, 2, 2], "sigmoid", "mse")])
def test_query_round_trip_is_exact(client, sizes, activation, loss):
    rng = np.random.default_rng(3)
    st = client.post("/api/lecture", json={"sizes": sizes, "activation": activation, "loss": loss,
                                           "seed": 9}).json()["state"]
    st["weights"] = [(np.asarray(W) + rng.normal(size=np.shape(W)) / 3).tolist() for W in st["weights"]]
    first = client.post("/api/lecture", json=st).json()
    again = client.get(f"/api/lecture?{first['query']}").json()
    assert again["state"] == first["state"]                # every float bit for bit
    f, gW, _ = torch_loss_and_grads(again["state"])
    assert again["derivation"]["forward"]["loss"] == pytest.approx(f, rel=1e-12)


def test_sgd_step_against_torch(client):
    st = client.get("/api/lecture").json()["state"]
    f, gW, gb = torch_loss_and_grads(st)
    out = client.post("/api/sgd", json={"state": st, "lr": 0.5}).json()
    assert out["sgd"]["f_before"] == pytest.approx(f, rel=1e-12)
    expected = {**st, "weights": [(np.asarray(W) - 0.5 * g).tolist() for W, g in zip(st["weights"], gW)],
                "biases": [(np.asarray(b) - 0.5 * g).tolist() for b, g in zip(st["biases"], gb)]}
    np.testing.assert_allclose(out["state"]["weights"][0], expected["weights"][0], rtol=1e-14)
    f_after, _, _ = torch_loss_and_grads(expected)
    assert out["sgd"]["f_after"] == pytest.approx(f_after, rel=1e-12)
    assert out["sgd"]["f_after"] < out["sgd"]["f_before"]


def test_export_in_derives_formats(client):
    st = client.get("/api/lecture").json()["state"]
    r = client.post("/api/export", json={"state": st, "format": "json"})
    assert r.status_code == 200 and 'filename="netprop-derivation.json"' in r.headers["content-disposition"]
    _, gW, _ = torch_loss_and_grads(st)
    np.testing.assert_allclose(r.json()["gradients"]["W1"]["backprop"], gW[0], atol=1e-12)
    assert client.post("/api/export", json={"state": st, "format": "latex"}).text.startswith("\\documentclass")
    assert "$$" in client.get("/api/export?format=markdown").text


def test_index_forbids_other_hosts(client):
    r = client.get("/")
    assert r.headers["content-security-policy"] == CSP and "default-src 'self'" in CSP
    assert "http" not in r.text.replace('lang="en"', "")       # no absolute address to load from
    assert client.get("/static/lecture.js").status_code == 200
    assert client.get("/api/info").json()["run"] is False


BAD = [
    ("GET", "/api/lecture?sizes=2,2,3,3,3,3", None, "at most 4 weight matrices"),
    ("GET", "/api/lecture?sizes=2,9,3", None, "1 to 8 units"),
    ("GET", "/api/lecture?sizes=2,x,3", None, "sizes must be whole numbers"),
    ("GET", "/api/lecture?sizes=3", None, "at least an input and an output"),
    ("GET", "/api/lecture?sizes=3,1", None, "cross-entropy needs at least 2 classes"),
    ("GET", "/api/lecture?activation=swish", None, "unknown activation 'swish'"),
    ("GET", "/api/lecture?loss=hinge", None, "unknown loss 'hinge'"),
    ("GET", "/api/lecture?seed=-1", None, "seed must be"),
    ("GET", "/api/lecture?seed=1.5", None, "seed must be a whole number"),
    ("GET", "/api/lecture?strict=maybe", None, "strict must be true or false"),
    ("GET", "/api/lecture?x=abc,1", None, "x[0]: 'abc' is not a number"),
    ("GET", "/api/lecture?x=nan,1", None, "x[0]: 'nan' is not a finite number"),
    ("GET", "/api/lecture?x=1,inf", None, "x[1]: 'inf' is not a finite number"),
    ("GET", "/api/lecture?x=1,2,3", None, "x needs 2 values, got 3"),
    ("GET", "/api/lecture?x=1e300,1", None, "too large"),
    ("GET", "/api/lecture?y=3", None, "y (the true class) must be 0..2, got 3"),
    ("GET", "/api/lecture?W1=1,2;3", None, "W1 must be 2 × 2"),
    ("GET", "/api/lecture?W1=1,2;3,zz", None, "W1[1,1]: 'zz' is not a number"),
    ("POST", "/api/lecture", {"state": {"weights": [[[1, 2], [3, None]], [[0, 0]] * 3]}}, "W1[1,1]: expected a number"),
    ("POST", "/api/lecture", {"state": {"biases": [[0, 0]]}}, "biases must be a list of 2 vectors"),
    ("POST", "/api/lecture", {"state": {"loss": "mse", "y": [1, "two", 3]}}, "y[1]: 'two' is not a number"),
    ("POST", "/api/lecture", {"state": {"y": [1, 1, 0]}}, "y must be one class"),
    ("POST", "/api/lecture", [1, 2], "must be a JSON object"),
    ("POST", "/api/lecture", {"x": [10**400, 0]}, "x[0]: "),
    ("GET", "/api/lecture?x=1000,-1000&y=2&strict=1", None, "the strict chain cannot be shown here: ŷ2 underflowed"),
    ("POST", "/api/sgd", {"lr": -1}, "learning rate must be in (0, 100]"),
    ("POST", "/api/sgd", {"state": {"loss": "mse", "x": [1e6, 1e6], "weights": [[[1e6, 1e6]] * 2, [[1e6] * 2] * 3]},
                          "lr": 100}, "take a smaller learning rate"),
    ("POST", "/api/sgd", {"lr": "fast"}, "learning rate: 'fast' is not a number"),
    ("POST", "/api/export", {"format": "pdf"}, "unknown format 'pdf'"),
    ("GET", "/api/nothing", None, "no such page or API: /api/nothing"),
    ("PUT", "/api/lecture", None, "PUT is not allowed on /api/lecture"),
    ("GET", "/static/../explain/api.py", None, "no such page"),
    ("GET", "/static/%2e%2e/api.py", None, "no such page"),
]


# x = 1000, -1000 underflows ŷ2 to 0: the strict chain's y ⊘ ŷ divides by it (the 4xx is the point)
@pytest.mark.filterwarnings("ignore:divide by zero encountered in divide:RuntimeWarning",
                            "ignore:invalid value encountered in matmul:RuntimeWarning")
@pytest.mark.parametrize("method,url,body,message", BAD, ids=[b[1] + (json.dumps(b[2]) if b[2] else "") for b in BAD])
def test_bad_input_is_a_4xx_with_one_line(client, method, url, body, message):
    r = client.request(method, url, json=body)
    assert 400 <= r.status_code < 500, r.text
    error = r.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in error


def test_extreme_values_stay_finite_in_the_lectures_chain(client):
    r = client.get("/api/lecture?x=1000,-1000&y=2")             # ŷ2 underflows; (ŷ − y)ᵀ does not mind
    assert r.status_code == 200
    assert r.json()["derivation"]["gradients"]["W1"]["max_abs_difference"] < 1e-3


def test_bad_bodies(client):
    r = client.post("/api/lecture", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "the request body is not valid JSON"
    r = client.post("/api/lecture", content=b" " * (2 << 20))
    assert r.status_code == 400 and "too large" in r.json()["error"]


def test_host_header_must_be_the_served_address():
    client = TestClient(create_app(allowed_hosts={"127.0.0.1:8765", "localhost:8765"}), base_url="http://127.0.0.1:8765")
    assert client.get("/api/info").status_code == 200
    assert client.get("/api/info", headers={"host": "localhost:8765"}).status_code == 200
    for host in ("evil.example:8765", "127.0.0.1:9999", "evil.example"):
        r = client.get("/api/lecture", headers={"host": host})
        assert r.status_code == 421 and f"not to Host '{host}'" in r.json()["error"]
    assert client.get("/", headers={"host": "evil.example:8765"}).status_code == 421
    assert client.get("/static/lecture.js", headers={"host": "evil.example:8765"}).status_code == 421


def test_the_app_serves_a_run_view_only_when_given_a_run(run_dir):
    """netprop explain RUN_DIR: the real app (not a test app) answers the run view's API for that run."""
    import json

    assert TestClient(create_app()).get("/api/info").json()["run"] is False
    assert TestClient(create_app()).get("/api/run/summary").status_code == 404
    with TestClient(create_app(run_dir=run_dir)) as client:
        assert client.get("/api/info").json()["run"] is True
        summary = client.get("/api/run/summary").json()
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert summary["status"] == "finished"
        assert summary["metrics"]["test_accuracy"] == metrics["test_accuracy"]
        assert client.get("/static/run.js").status_code == 200
        assert client.get("/api/run/forward?index=-1").status_code == 400


def test_parse_state_keeps_seeded_values_it_was_not_given():
    seeded = api.seeded_state([2, 2, 3])
    st = api.parse_state({"x": ["0.5", "−1"]})             # a typed minus sign counts
    np.testing.assert_array_equal(st.x, [0.5, -1.0])
    np.testing.assert_array_equal(st.weights[1], seeded.weights[1])


def test_allowed_hosts_are_the_printed_address_and_its_alias():
    from netprop.explain import _allowed_hosts

    assert _allowed_hosts("127.0.0.1", 8765) == {"127.0.0.1:8765", "localhost:8765"}
    assert _allowed_hosts("::1", 8765) == {"[::1]:8765"}
    assert _allowed_hosts("192.0.2.7", 80) == {"192.0.2.7:80"}
    assert {"127.0.0.1:80", "localhost:80"} <= _allowed_hosts("0.0.0.0", 80)


KEYS = ["sizes", "activation", "loss", "seed", "strict", "x", "y", "W1", "b1", "W2", "b2", "W5", "format", "lr"]
JUNK = st.one_of(st.text(max_size=12), st.sampled_from(["nan", "-inf", "1e400", "2,2,3", "3,3", "0.5,0.5", "1;2",
                                                         "tanh", "mse", "1", "-1", "", ",", ";;"]))
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6)),
                           lambda inner: st.lists(inner, max_size=4), max_leaves=12)


@pytest.mark.slow          # a fuzzer (60 requests); test_bad_input_is_a_4xx_with_one_line stays
@given(st.dictionaries(st.sampled_from(KEYS), JUNK, max_size=5))
def test_no_query_is_a_server_error(client, params):
    from urllib.parse import urlencode

    for path in ("/api/lecture", "/api/export"):
        r = client.get(f"{path}?{urlencode(params)}")
        assert r.status_code in (200, 400), (params, r.text)
        if r.status_code == 400:
            assert "\n" not in r.json()["error"]


@pytest.mark.slow          # a fuzzer (60 requests); test_bad_input_is_a_4xx_with_one_line stays
@given(st.dictionaries(st.sampled_from(["sizes", "activation", "loss", "seed", "strict", "x", "y", "weights",
                                        "biases", "W1", "b2"]), JSON_VALUES, max_size=4), JSON_VALUES)
def test_no_json_body_is_a_server_error(client, state, lr):
    r = client.post("/api/sgd", json={"state": state, "lr": lr})
    assert r.status_code in (200, 400), (state, lr, r.text)


def test_each_step_lights_exactly_its_factor(client):
    # the lecture's chain for W1 of 2-2-3, by hand: ∂f/∂ŷ is the output's δ (its units), ∂ŷ/∂h = W2
    # (W2's edges), ∂h/∂z = diag(relu'(z)) (the hidden units, not W1's edges), ∂z/∂W1 (W1's edges)
    steps = client.get("/api/lecture").json()["steps"]
    lit = lambda s: (s["lights"]["nodes"], s["lights"]["edges"])
    assert [lit(s) for s in steps["backward"]["W1"][:4]] == [([2], []), ([], [2]), ([1], []), ([], [1])]
    # b1's last factor ∂z/∂b1 is the identity on the hidden units; the Hadamard step combines W2 and z's units
    assert [lit(s) for s in steps["backward"]["b1"][:4]] == [([2], []), ([], [2]), ([1], []), ([1], [])]
    hadamard = next(s for s in steps["backward"]["W1"] if s["kind"] == "hadamard")
    outer = next(s for s in steps["backward"]["W1"] if s["kind"] == "outer")
    assert lit(hadamard) == ([1], [2]) and lit(outer) == ([0, 1], [1])
    assert [lit(s) for s in steps["forward"]] == [([0, 1], [1]), ([1], []), ([1, 2], [2]), ([2], [])]


def test_the_steps_show_their_operands(client):
    lec = client.get("/api/lecture").json()
    st = lec["state"]
    _, gW, gb = torch_loss_and_grads(st)
    W1, W2 = (torch.tensor(W, dtype=torch.float64) for W in st["weights"])
    x = torch.tensor(st["x"], dtype=torch.float64)
    z = W1 @ x + torch.tensor(st["biases"][0], dtype=torch.float64)
    hadamard, outer = lec["simplifications"]["W1"]
    # (ŷ − y)ᵀ W2 with ŷ − y = ∇b2 f (torch), and relu'(z) as 0/1
    (row, mask) = (np.array(o["value"]) for o in hadamard["operands"])
    np.testing.assert_allclose(row, [gb[1] @ W2.numpy()], atol=1e-12)
    np.testing.assert_array_equal(mask, [(z > 0).double().numpy()])
    assert [o["formula"] for o in hadamard["operands"]] == ["(ŷ − y)ᵀ W2", "relu'(zᵀ)"]
    # the default example has one dead unit: its zero is in the mask
    assert mask.tolist() == [[1.0, 0.0]]
    # g (a column) and xᵀ (a row), whose outer product is ∇W1 f
    (g, xT) = (np.array(o["value"]) for o in outer["operands"])
    np.testing.assert_allclose(g, gb[0][:, None], atol=1e-12)
    np.testing.assert_array_equal(xT, [st["x"]])
    np.testing.assert_allclose(g @ xT, gW[0], atol=1e-12)


def test_every_g_is_defined_before_it_is_used(client):
    lec = client.get("/api/lecture?sizes=4,8,8,3&seed=1").json()
    for param in ("W1", "b1"):
        defined, used = [], []
        for step in lec["steps"]["backward"][param]:
            if step["kind"] == "hadamard":
                used += [g for g in ("g1", "g2") if f"{g}ᵀ W" in step["equation"]]
                assert all(g in defined for g in used), (param, step["equation"], defined)
                defined.append(step["title"].rsplit(": ", 1)[1])
        assert defined == ["g2", "g1"] and used == ["g2"]
    # the g2 the W1 walk defines is b2's gradient (torch)
    _, _, gb = torch_loss_and_grads(lec["state"])
    np.testing.assert_allclose(lec["simplifications"]["W1"][0]["rhs"], [gb[1]], atol=1e-12)
