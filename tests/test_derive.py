"""`netprop derive`: the numbers in every format are those of jacobian_chain and backward."""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import netprop
from netprop.derive import derive

CASES = [
    ([2, 2, 3], "relu", "cross_entropy"),
    ([3, 4, 4, 2], "tanh", "cross_entropy"),
    ([2, 3, 2], "sigmoid", "mse"),
    ([4, 8, 8, 8, 3], "leaky_relu", "cross_entropy"),
]


def make(sizes, activation, loss, seed=1):
    net = netprop.Network(sizes, activation=activation, loss=loss, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, sizes[0])
    y = 1 if loss == "cross_entropy" else rng.uniform(-1, 1, sizes[-1])
    return net, x, y


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True,
                          timeout=120)


def references(net, x, y):
    chain = netprop.jacobian_chain(net, x, y)
    grads = net.backward(net.forward(x), y)
    return chain.named(), grads.named()


@pytest.mark.parametrize("sizes, activation, loss", CASES)
def test_json_numbers_are_the_chain_and_backward(sizes, activation, loss):
    net, x, y = make(sizes, activation, loss)
    d = json.loads(derive(net, x, y).to_json())
    chain, backprop = references(net, x, y)
    assert set(d) >= {"network", "x", "y", "weights", "biases", "forward", "gradients"}
    assert d["network"] == {"sizes": sizes, "activation": activation, "loss": loss}
    cache = net.forward(x)
    np.testing.assert_array_equal(d["forward"]["y_hat"], cache.y_hat)
    assert d["forward"]["loss"] == net.loss(x, y)
    assert list(d["gradients"]) == net.parameter_names()
    for name, g in d["gradients"].items():
        np.testing.assert_array_equal(g["chain"], chain[name])
        np.testing.assert_array_equal(g["backprop"], backprop[name])
        np.testing.assert_allclose(g["finite_difference"], backprop[name], rtol=1e-5, atol=1e-8)
        assert g["max_abs_difference"] < 1e-7
        product = np.array(g["factors"][0]["matrix"])
        for f in g["factors"][1:]:
            assert list(np.shape(f["matrix"])) == f["shape"]
            product = product @ np.array(f["matrix"])
        np.testing.assert_allclose(product.reshape(np.shape(backprop[name])), backprop[name], atol=1e-12)
    for s in d["simplifications"]:
        assert s["max_abs_difference"] <= 1e-12


def parse_text_matrix(text, label):
    """The matrix printed under 'label (r×c) =', joining column chunks."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip().startswith(label + " (") and l.rstrip().endswith("="))
    r, c = map(int, re.search(r"\((\d+)×(\d+)\) =$", lines[start].rstrip()).groups())
    rows = [[] for _ in range(r)]
    i, filled = start + 1, 0
    while filled < c:
        if "columns" in lines[i]:
            i += 1
        chunk = [[float(v) for v in lines[i + k].strip().strip("[]").split()] for k in range(r)]
        for k in range(r):
            rows[k].extend(chunk[k])
        filled += len(chunk[0])
        i += r
    return np.array(rows)


@pytest.mark.parametrize("sizes, activation, loss", CASES)
def test_text_numbers_parse_back(sizes, activation, loss):
    net, x, y = make(sizes, activation, loss)
    text = derive(net, x, y).to_text()
    chain, backprop = references(net, x, y)
    assert max(len(line) for line in text.splitlines()) <= 80
    sections = re.split(r"\n(?=∂f/∂)", text)
    for name in net.parameter_names():
        section = next(s for s in sections if s.startswith(f"∂f/∂{name} ="))
        got_chain = parse_text_matrix(section, f"reshaped to {name}'s shape: chain")
        np.testing.assert_allclose(got_chain.reshape(np.shape(chain[name])), chain[name], rtol=1e-5, atol=1e-6)
        label = next(l.strip().split(" (")[0] for l in section.splitlines() if l.strip().startswith("backprop:"))
        got_bp = parse_text_matrix(section, label)
        np.testing.assert_allclose(got_bp.reshape(np.shape(backprop[name])), backprop[name], rtol=1e-5, atol=1e-6)
        last = parse_text_matrix(section, "factor 1: ∂f/∂ŷ")
        np.testing.assert_allclose(last[0], net.forward(x).y_hat - net.targets(y, 1)[0], rtol=1e-5, atol=1e-6)


def tex_float(cell):
    """A matrix cell as a number: "-2.7 \\cdot 10^{-5}" is -2.7e-5."""
    m = re.fullmatch(r"\s*(\S+) \\cdot 10\^\{(-?\d+)\}\s*", cell)
    return float(m.group(1)) * 10.0 ** int(m.group(2)) if m else float(cell)


def parse_tex_matrices(tex):
    """Every bracketed matrix in tex in order, joining the column chunks of one broken over several lines."""
    matrices = []
    for group in re.findall(r"\\left\[(.*?)\\right\]", tex, re.S):
        blocks = re.findall(r"\\begin\{matrix\}(.*?)\\end\{matrix\}", group, re.S)
        matrices.append(np.hstack([np.array([[tex_float(v) for v in row.split("&")] for row in body.split(r"\\")])
                                   for body in blocks]))
    return matrices


@pytest.mark.parametrize("sizes, activation, loss", CASES)
def test_markdown_numbers_parse_back(sizes, activation, loss):
    net, x, y = make(sizes, activation, loss)
    md = derive(net, x, y).to_markdown()
    chain, backprop = references(net, x, y)
    factors = netprop.jacobian_chain(net, x, y).factors
    for name in net.parameter_names():
        section = md.split(f"#### Gradient of {name}\n", 1)[1]
        before, reshaped = section.split(rf"\text{{reshaped to {name}'s shape: }}", 1)
        np.testing.assert_allclose(parse_tex_matrices(reshaped)[0].reshape(np.shape(chain[name])), chain[name],
                                   rtol=1e-5, atol=1e-6)
        # the lines before it: the factors multiplied, then "= " their product
        *shown, product = parse_tex_matrices(before)
        assert len(shown) == len(factors[name])
        for got, (_, want) in zip(shown, factors[name]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(product.ravel(), chain[name].ravel(), rtol=1e-5, atol=1e-6)
    assert md.count("$$") % 2 == 0 and r"\frac{\partial f}{\partial W_{1}}" in md


def test_python_object_shows_itself():
    net, x, y = make([2, 2, 3], "relu", "cross_entropy")
    d = netprop.derive(net, x, y)
    assert str(d) == d.to_text() and d._repr_markdown_() == d.to_markdown()
    assert "<math" in d._repr_html_() and "<svg" in d._repr_html_()
    assert d.gradients["W1"]["backprop_formula"] == "g xᵀ"
    assert d.gradients["W2"]["backprop_formula"] == "(ŷ − y) hᵀ"
    assert [f["label"] for f in d.gradients["W1"]["factors"]] == ["∂f/∂ŷ", "∂ŷ/∂h", "∂h/∂z", "∂z/∂W1"]


def test_latex_compiles(tmp_path):
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            raise AssertionError("CI needs pdflatex (.ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed")
    proc = run_cli("derive", "--sizes", "3,4,4,2", "--activation", "tanh", "--format", "latex",
                   "--out", str(tmp_path / "d.tex"))
    assert proc.returncode == 0, proc.stderr
    latex = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert latex.returncode == 0, latex.stdout[-3000:]
    assert (tmp_path / "d.pdf").read_bytes()[:5] == b"%PDF-"


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI"):
        raise AssertionError("CI needs Debian's chromium (.ci/run installs it)")
    pytest.skip("chromium not installed")


def test_html_renders_math_and_the_network_in_chromium(tmp_path):
    browser = chromium()
    page = tmp_path / "derive.html"
    proc = run_cli("derive", "--format", "html", "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-quic", f"--user-data-dir={tmp_path / 'profile'}",
             # no network beyond loopback: every host name resolves to nothing
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<math") > 10 and "<mfrac>" in dom.stdout and "<mtable>" in dom.stdout
    assert "<svg" in dom.stdout and "<circle" in dom.stdout
    assert "\\begin{bmatrix}" not in dom.stdout and "$$" not in dom.stdout
    shot = subprocess.run([browser, *flags, f"--screenshot={tmp_path / 'derive.png'}",
                           "--window-size=1200,2400", page.as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    png = (tmp_path / "derive.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000


@pytest.mark.parametrize("args, fragment", [
    (["--sizes", "2,9,3"], "too large for a readable derivation"),
    (["--sizes", "2,2,2,2,2,2"], "too large"),
    (["--params", "{tmp}/missing.json"], "no such file"),
    (["--params", "{tmp}/bad.json"], "W2 has shape (3, 4) but layer 1 has 2 units"),
    (["--params", "{tmp}/bias.json"], "b1 has shape (3,), expected (2,)"),
    (["--params", "{tmp}/nokeys.json"], "needs the keys x, y, weights and biases"),
    (["--format", "pdf"], "invalid choice"),
])
def test_bad_input(tmp_path, args, fragment):
    ok = {"x": [1, 2], "y": 0, "weights": [[[1, 0], [0, 1]], [[1, 0], [0, 1], [1, 1]]],
          "biases": [[0, 0], [0, 0, 0]]}
    bad = dict(ok, weights=[[[1, 0], [0, 1]], [[1, 0, 0, 0]] * 3])
    bias = dict(ok, biases=[[0, 0, 0], [0, 0, 0]])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "bias.json").write_text(json.dumps(bias))
    (tmp_path / "nokeys.json").write_text(json.dumps({"x": [1]}))
    proc = run_cli("derive", *[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert fragment in proc.stderr.strip().splitlines()[-1]


def test_params_file_round_trip(tmp_path):
    proc = run_cli("derive", "--sizes", "3,2,2", "--seed", "5", "--format", "json")
    (tmp_path / "p.json").write_text(proc.stdout)
    again = run_cli("derive", "--params", str(tmp_path / "p.json"), "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["gradients"] == json.loads(proc.stdout)["gradients"]
