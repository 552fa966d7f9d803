"""`netprop derive`: the numbers in every format are those of jacobian_chain and backward."""

import html
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import error_line, netprop_here
from hypothesis import example, given, settings
from hypothesis import strategies as st

import netprop
import netprop.core.activations
from netprop.teaching.derive import MAX_LAYERS, MAX_UNITS, ParamsError, derive, load_params, seeded_inputs

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
    """The real console command in a child; netprop_here calls the same main() in this process."""
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
        # the cells' padding (\hphantom{-00.}{1.5}) goes; the number stays
        blocks = [re.sub(r"\\hphantom\{[^}]*\}\{([^}]*)\}", r"\1", body) for body in blocks]
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
    assert "<math" in d.to_html(standalone=False) and "<svg" in d.to_html(standalone=False)
    # a notebook shows the Markdown: with an HTML form too it would prefer that, and sanitise it in an
    # untrusted notebook until the numbers ran together
    assert not hasattr(d, "_repr_html_") and "$$" in d._repr_markdown_()
    assert d.gradients["W1"]["backprop_formula"] == "g xᵀ"
    assert d.gradients["W2"]["backprop_formula"] == "(ŷ − y) hᵀ"
    assert [f["label"] for f in d.gradients["W1"]["factors"]] == ["∂f/∂ŷ", "∂ŷ/∂h", "∂h/∂z", "∂z/∂W1"]


@pytest.mark.slow
def test_latex_compiles(tmp_path):
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            raise AssertionError("CI needs pdflatex (.ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed")
    proc = run_cli("derive", "--sizes", "3,4,4,2", "--activation", "tanh", "--format", "latex",
                   "--output", str(tmp_path / "d.tex"))
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


def chromium_flags(tmp_path, width=1200, height=2400):
    return ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-quic", f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},{height}",
            # no network beyond loopback: every host name resolves to nothing
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@pytest.mark.slow
def test_html_renders_math_and_the_network_in_chromium(tmp_path):
    browser = chromium()
    page = tmp_path / "derive.html"
    proc = run_cli("derive", "--format", "html", "--output", str(page))
    assert proc.returncode == 0, proc.stderr
    flags = chromium_flags(tmp_path)
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<math") > 10 and "<mfrac>" in dom.stdout and "<mtable>" in dom.stdout
    assert "<svg" in dom.stdout and "<circle" in dom.stdout
    assert "\\begin{" not in dom.stdout and "\\left[" not in dom.stdout and "$$" not in dom.stdout
    shot = subprocess.run([browser, *flags, f"--screenshot={tmp_path / 'derive.png'}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
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
    proc = netprop_here("derive", *[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode == 2
    assert fragment in error_line(proc.stderr)


def test_params_file_round_trip(tmp_path):
    proc = run_cli("derive", "--sizes", "3,2,2", "--seed", "5", "--format", "json")
    (tmp_path / "p.json").write_text(proc.stdout)
    again = netprop_here("derive", "--params", str(tmp_path / "p.json"), "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["gradients"] == json.loads(proc.stdout)["gradients"]


# --- the library's inputs -------------------------------------------------------------------------


def test_seeded_inputs_are_the_readmes_lecture_example():
    net, x, y = seeded_inputs([2, 2, 3], "relu", "cross_entropy", seed=0)
    # README.md's `netprop derive` output, written down when it was first run
    np.testing.assert_array_equal(x, [0.27, -0.46])
    np.testing.assert_allclose(net.weights[1], [[-0.535669, 0.361595], [1.304, 0.947081], [-0.703735, -1.26542]],
                               rtol=1e-5)
    assert y == 0
    again = seeded_inputs([2, 2, 3], "relu", "cross_entropy", seed=0)
    np.testing.assert_array_equal(again[0].weights[0], net.weights[0])
    net, x, y = seeded_inputs([3, 4, 2], "tanh", "mse", seed=3)
    assert x.shape == (3,) and np.shape(y) == (2,) and np.all(np.abs(y) <= 1)
    assert np.array_equal(np.round(x, 2), x)


@pytest.mark.parametrize("sizes, fragment", [([3], "at least two layer sizes"), ([2, 9, 3], "too large"),
                                             ([2, 2, 2, 2, 2, 2], "too large")])
def test_seeded_inputs_refuse(sizes, fragment):
    with pytest.raises(ValueError, match=fragment):
        seeded_inputs(sizes)


def test_load_params_reads_what_json_writes(tmp_path):
    net, x, y = make([3, 4, 2], "sigmoid", "mse")
    (tmp_path / "p.json").write_text(derive(net, x, y).to_json())
    again, x2, y2 = load_params(tmp_path / "p.json")        # the file's activation and loss win
    assert (again.activation, again.loss_name) == ("sigmoid", "mse")
    for W, W2 in zip(net.weights + net.biases, again.weights + again.biases):
        np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(x2, x)
    np.testing.assert_array_equal(y2, y)
    with pytest.raises(ParamsError, match="p.json: needs the keys"):
        (tmp_path / "p.json").write_text(json.dumps({"x": [1]}))
        load_params(tmp_path / "p.json")


def test_one_output_class():
    # softmax over one class is 1 whatever z is: ŷ = y = [1], f = −log 1 = 0 and every gradient 0
    net, x, y = seeded_inputs([2, 3, 1], "relu", "cross_entropy")
    d = derive(net, x, y)
    assert d.forward["y_hat"] == [1.0] and d.forward["loss"] == 0.0
    for g in d.gradients.values():
        assert not np.any(g["backprop"]) and not np.any(g["chain"])


# --- readable at every size derive accepts ---------------------------------------------------------

ACTIVATIONS = list(netprop.core.activations.ACTIVATIONS)   # every registered activation
sizes_strategy = st.lists(st.integers(1, MAX_UNITS), min_size=2, max_size=MAX_LAYERS + 1)


@pytest.mark.slow          # 28 derivations rendered (a property search); test_long_chains_* stays
@settings(max_examples=25)
@given(sizes=sizes_strategy, activation=st.sampled_from(ACTIVATIONS), loss=st.sampled_from(["cross_entropy", "mse"]),
       seed=st.integers(0, 5))
@example(sizes=[MAX_UNITS] * (MAX_LAYERS + 1), activation="tanh", loss="cross_entropy", seed=0)
@example(sizes=[MAX_UNITS] * (MAX_LAYERS + 1), activation="sigmoid", loss="mse", seed=1)
@example(sizes=[4, 8, 6, 3], activation="relu", loss="cross_entropy", seed=0)
def test_text_fits_80_columns_and_keeps_y_hat_minus_y_whole(sizes, activation, loss, seed):
    text = derive(*seeded_inputs(sizes, activation, loss, seed)).to_text()
    for line in text.splitlines():
        assert len(line) <= 80, line
        assert line.count("(ŷ") == line.count("(ŷ − y)"), line


def test_long_chains_continue_on_the_next_line():
    text = derive(*seeded_inputs([8] * 5, "tanh", "cross_entropy")).to_text()
    lines = text.splitlines()
    # 8 factors do not fit in 80 columns: the last goes on an indented line of its own
    k = lines.index(next(l for l in lines if l.startswith("∂f/∂W1 = ∂f/∂ŷ · ∂ŷ/∂h3")))
    assert lines[k + 1] == "    ∂z1/∂W1"
    # ∂z1/∂W1 is 8×64: its columns come in chunks, the last one ending at column 64
    assert re.search(r"\n {4}columns 1–\d+ of 64:\n", text) and re.search(r"\n {4}columns \d+–64 of 64:\n", text)


TRANSPOSED_GROUP_MATHML = ("<msup><mrow><mo>(</mo><mrow><mi>ŷ</mi><mo>−</mo><mi>y</mi></mrow><mo>)</mo></mrow>"
                           "<mi>T</mi></msup>")


@pytest.mark.parametrize("sizes", [[2, 2, 3], [3, 4, 4, 2]])
def test_transposed_difference_is_one_unit_in_tex_and_html(sizes):
    d = derive(*seeded_inputs(sizes, "tanh", "cross_entropy"))
    labels = [v for block in d.to_dict()["document"] for k, v in block.items()
              if k in ("symbol", "formula", "text") and isinstance(v, str)]
    n = sum(label.count("(ŷ − y)ᵀ") for label in labels)
    assert n == 2        # both sides of the first simplification start with ((ŷ − y)ᵀ W_L)
    for form in (d.to_latex(), d.to_markdown()):
        assert form.count(r"(\hat{y} - y)^{\top}") == form.count(r"{(\hat{y} - y)^{\top}}") == n
    assert d.to_html().count(TRANSPOSED_GROUP_MATHML) == n


def pdflatex():
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            raise AssertionError("CI needs pdflatex (.ci/run installs texlive-latex-base)")
        pytest.skip("pdflatex not installed")


@pytest.mark.slow
@pytest.mark.parametrize("sizes, loss", [([3, 4, 3], "cross_entropy"), ([4, 8, 6, 3], "cross_entropy"),
                                         ([8, 1, 8], "mse"), ([MAX_UNITS] * (MAX_LAYERS + 1), "cross_entropy")])
def test_latex_lines_fit_the_page(tmp_path, sizes, loss):
    pdflatex()
    (tmp_path / "d.tex").write_text(derive(*seeded_inputs(sizes, "sigmoid", loss)).to_latex())
    latex = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert latex.returncode == 0, latex.stdout[-3000:]
    log = (tmp_path / "d.log").read_text(errors="replace")
    assert "Overfull \\hbox" not in log
    # the lines were broken before TeX saw them: none needed the scaling fallback either
    assert "netprop: scaled" not in log


MEASURE = """<script>
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const found = {labels: [...document.querySelectorAll("text.edge-label")].map(e => [e.textContent, ...box(e)]),
               halos: [...document.querySelectorAll("text.edge-label")].map(e => {
                 const r = e.previousElementSibling;
                 return r && r.matches("rect.label-halo") ? box(r) : null; }),
               nodes: [...document.querySelectorAll("circle")].map(box),
               blocks: [...document.querySelectorAll(".eq, .chain > .factor")].map(box),
               pageWidth: document.documentElement.scrollWidth, viewWidth: document.documentElement.clientWidth};
const out = document.createElement("pre");
out.id = "measured";
out.textContent = JSON.stringify(found);
document.body.appendChild(out);
</script>"""


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.slow
@pytest.mark.parametrize("sizes, width", [([4, 8, 6, 3], 1200), ([MAX_UNITS] * (MAX_LAYERS + 1), 900)])
def test_html_labels_apart_and_nothing_off_the_page_in_chromium(tmp_path, sizes, width):
    browser = chromium()
    net, x, y = seeded_inputs(sizes, "tanh", "cross_entropy")
    page = tmp_path / "d.html"
    page.write_text(derive(net, x, y).to_html().replace("</body>", MEASURE + "</body>"))
    dom = subprocess.run([browser, *chromium_flags(tmp_path, width, 3000), "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = json.loads(html.unescape(re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout, re.S).group(1)))
    labels = found["labels"]
    # every edge has its label, and each shows its gradient: compare as sorted values, to 3 digits
    assert len(labels) == sum(a * b for a, b in zip(sizes, sizes[1:]))
    grads = np.sort(np.concatenate([g.ravel() for g in net.backward(net.forward(x), y).weights]))
    np.testing.assert_allclose(np.sort([float(t) for t, *_ in labels]), grads, rtol=5e-3, atol=5e-6)
    boxes = [b for _, *b in labels]
    assert all(b[2] - b[0] > 10 and b[3] - b[1] > 5 for b in boxes)       # really laid out
    clashes = [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if overlap(boxes[i], boxes[j])]
    assert clashes == []
    assert not any(overlap(b, node) for b in boxes for node in found["nodes"])
    # each label sits on its own halo (drawn after its layer's edges): no edge strikes it through
    for label, halo in zip(boxes, found["halos"]):
        assert halo is not None
        assert halo[0] <= label[0] + 0.5 and halo[1] <= label[1] + 0.5 and halo[2] >= label[2] - 0.5
        assert halo[3] >= label[3] - 0.5
    # wide matrices scroll inside their own block; the page itself never scrolls sideways
    assert found["pageWidth"] <= found["viewWidth"]
    assert all(b[2] <= found["viewWidth"] for b in found["blocks"])


def test_a_chunked_block_matrix_keeps_its_columns_in_line():
    # ∂z1/∂W1 of 8-8-8-8-8 is 8×64: too wide for a line, it comes in chunks. Chunks that are each their
    # own display line are centred apart and their columns wander; here they share one array (so they
    # start at one place), hold the same number of columns, and every cell is padded to one make-up of
    # digits, points and minus signs (each of one width in the math fonts): the columns line up.
    latex = derive(*seeded_inputs([MAX_UNITS] * (MAX_LAYERS + 1), "tanh", "cross_entropy")).to_latex()
    arrays = re.findall(r"\\begin\{array\}\{cl\}(.*?\\right\]\\end\{array\})", latex, re.S)
    wide = [a for a in arrays if a.count(r"\begin{matrix}") > 1]
    assert wide, "no matrix was broken into chunks"
    for body in wide:
        chunks = re.findall(r"\\begin\{matrix\}(.*?)\\end\{matrix\}", body, re.S)
        widths = [len(chunk.split(r"\\")[0].split("&")) for chunk in chunks]
        assert len(set(widths[:-1])) == 1 and widths[-1] <= widths[0]
        make_up = set()
        for chunk in chunks:
            for cell in re.split(r"&|\\\\", chunk):
                padded = re.sub(r"\\hphantom\{([^}]*)\}\{([^}]*)\}", r"\1\2", cell.strip())
                make_up.add((padded.count("-"), sum(c.isdigit() for c in padded), padded.count(".")))
        assert len(make_up) == 1, make_up


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_is_set_by_its_records_latex_name(activation):
    """The derivation's LaTeX names the hidden activation as its record does (h = act(z) and act'(z))."""
    from netprop.core.activations import ACTIVATIONS as RECORDS

    latex = derive(*seeded_inputs([2, 3, 2], activation=activation)).render("latex")
    assert RECORDS[activation].latex + r"(z" in latex
