"""`netprop check` / netprop.check: a correct student solution passes, planted bugs are named.

The student's solution below is the course's exercise written here in plain NumPy in the course's
layout (examples as columns, W's then b's in one vector), independently of netprop's code; each
planted bug is one line of it changed, the way students get it wrong.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import netprop
from netprop.teaching.homework import CheckError, check

SOLUTION = textwrap.dedent('''
    import numpy as np

    NUM_HIDDEN_LAYERS = 3
    NUM_INPUT = 784
    NUM_HIDDEN = 10
    NUM_OUTPUT = 10
    ALPHA = 0.0

    def unpack(weightsAndBiases):
        Ws = []
        start = 0
        end = NUM_INPUT * NUM_HIDDEN
        W = weightsAndBiases[start:end]
        Ws.append(W)
        for i in range(NUM_HIDDEN_LAYERS - 1):
            start = end
            end = end + NUM_HIDDEN * NUM_HIDDEN
            Ws.append(weightsAndBiases[start:end])
        start = end
        end = end + NUM_HIDDEN * NUM_OUTPUT
        Ws.append(weightsAndBiases[start:end])
        Ws[0] = Ws[0].reshape(NUM_HIDDEN, NUM_INPUT)
        for i in range(1, NUM_HIDDEN_LAYERS):
            Ws[i] = Ws[i].reshape(NUM_HIDDEN, NUM_HIDDEN)
        Ws[-1] = Ws[-1].reshape(NUM_OUTPUT, NUM_HIDDEN)
        bs = []
        start = end
        end = end + NUM_HIDDEN
        bs.append(weightsAndBiases[start:end])
        for i in range(NUM_HIDDEN_LAYERS - 1):
            start = end
            end = end + NUM_HIDDEN
            bs.append(weightsAndBiases[start:end])
        start = end
        end = end + NUM_OUTPUT
        bs.append(weightsAndBiases[start:end])
        return Ws, bs

    def relu(z):
        return np.maximum(z, 0)

    def relu_prime(z):
        return (z > 0).astype(float)

    def softmax(z):
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def forward_prop(x, y, weightsAndBiases):
        Ws, bs = unpack(weightsAndBiases)
        n = x.shape[1]
        zs, hs = [], []
        h = x
        for W, b in zip(Ws[:-1], bs[:-1]):
            z = W @ h + b[:, None]
            zs.append(z)
            h = relu(z)
            hs.append(h)
        z = Ws[-1] @ h + bs[-1][:, None]
        zs.append(z)
        yhat = softmax(z)
        loss = -np.sum(y * np.log(yhat)) / n
        loss += ALPHA / 2 * sum(np.sum(W * W) for W in Ws)
        return loss, zs, hs, yhat

    def back_prop(x, y, weightsAndBiases):
        loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)
        Ws, bs = unpack(weightsAndBiases)
        n = x.shape[1]
        dJdWs, dJdbs = [], []
        g = (yhat - y) / n
        for i in range(NUM_HIDDEN_LAYERS, -1, -1):
            h_prev = hs[i - 1] if i > 0 else x
            dJdWs.insert(0, g @ h_prev.T + ALPHA * Ws[i])
            dJdbs.insert(0, g.sum(axis=1))
            if i > 0:
                g = (Ws[i].T @ g) * relu_prime(zs[i - 1])
        return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])
''')

# Each planted bug: (the mistake's key, the line of SOLUTION replaced, its buggy version, ALPHA).
PLANTED = {
    "sum": ("g = (yhat - y) / n", "g = (yhat - y)", 0.0),
    "mean_twice": ("g = (yhat - y) / n", "g = (yhat - y) / n / n", 0.0),
    "l2_on_biases": ("dJdbs.insert(0, g.sum(axis=1))", "dJdbs.insert(0, g.sum(axis=1) + ALPHA * bs[i])", 0.1),
    "l2_missing": ("dJdWs.insert(0, g @ h_prev.T + ALPHA * Ws[i])", "dJdWs.insert(0, g @ h_prev.T)", 0.1),
    "act_not_prime": ("g = (Ws[i].T @ g) * relu_prime(zs[i - 1])", "g = (Ws[i].T @ g) * hs[i - 1]", 0.0),
    "no_prime": ("g = (Ws[i].T @ g) * relu_prime(zs[i - 1])", "g = Ws[i].T @ g", 0.0),
    "softmax_axis": ("e = np.exp(z - z.max(axis=0, keepdims=True))\n    return e / e.sum(axis=0, keepdims=True)",
                     "e = np.exp(z - z.max(axis=1, keepdims=True))\n    return e / e.sum(axis=1, keepdims=True)",
                     0.0),
    "transposed": ("dJdWs.insert(0, g @ h_prev.T + ALPHA * Ws[i])", "dJdWs.insert(0, (g @ h_prev.T).T)", 0.0),
    "order": ("return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])",
              "return np.hstack([p.flatten() for dW, db in zip(dJdWs, dJdbs) for p in (dW, db)])", 0.0),
    "sign": ("g = (yhat - y) / n", "g = (y - yhat) / n", 0.0),
    "no_propagation": ("g = (Ws[i].T @ g) * relu_prime(zs[i - 1])", "g = ((yhat - y) / n) * relu_prime(zs[i - 1])",
                       0.0),
    "other_data": ("loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)",
                   "x = np.random.default_rng(0).normal(size=x.shape)\n"
                   "    loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)", 0.0),
}


def write_module(tmp_path, source, name="student.py"):
    path = tmp_path / name
    path.write_text(source)
    return path


def planted(key):
    old, new, alpha = PLANTED[key]
    assert old in SOLUTION, old
    return SOLUTION.replace(old, new).replace("ALPHA = 0.0", f"ALPHA = {alpha}"), alpha


def test_the_correct_solution_passes(tmp_path):
    report = check(write_module(tmp_path, SOLUTION))
    assert report.passed, report.text()
    assert len(report.cases) >= 3
    depths = {len(c.rows) for c in report.cases}
    assert len(depths) == 3                      # 1, 2 and 3 hidden layers, each compared quantity by quantity
    # the loss, 2 z's, 1 h, ŷ, W1, W2, b1, b2 for one hidden layer: each its own row
    assert [r.name for r in report.cases[0].rows] == ["loss", "z1", "z2", "h1", "yhat", "W1", "W2", "b1", "b2"]
    assert max(r.error for c in report.cases for r in c.rows) < 1e-12


def test_the_correct_solution_passes_with_l2(tmp_path):
    report = check(write_module(tmp_path, SOLUTION.replace("ALPHA = 0.0", "ALPHA = 0.1")), l2=0.1)
    assert report.passed, report.text()


def test_fashion_mnist_images_are_a_case(tmp_path):
    from helpers import fashion_mnist_or_skip

    fashion_mnist_or_skip()
    report = check(write_module(tmp_path, SOLUTION))
    assert "Fashion-MNIST" in report.cases[-1].title
    assert report.cases[-1].rows[1].shape == (10, 8)          # z1 for 8 images as columns


@pytest.mark.parametrize("key", sorted(PLANTED))
def test_each_planted_bug_fails_with_its_mistake_named(tmp_path, key):
    source, alpha = planted(key)
    report = check(write_module(tmp_path, source), l2=alpha, images=False)
    assert not report.passed
    assert key in report.mistakes(), (key, report.text())
    assert report.describe(key) in report.text()


def test_relu_prime_on_h_for_tanh_is_named(tmp_path):
    """For relu, relu'(h) = relu'(z) (no mistake to see); with tanh, tanh'(h) ≠ tanh'(z) and is named."""
    tanh = (SOLUTION.replace("return np.maximum(z, 0)", "return np.tanh(z)")
            .replace("return (z > 0).astype(float)", "return 1 - np.tanh(z) ** 2"))
    assert check(write_module(tmp_path, tanh), activation="tanh", images=False).passed
    buggy = tanh.replace("relu_prime(zs[i - 1])", "relu_prime(hs[i - 1])")
    report = check(write_module(tmp_path, buggy, "b.py"), activation="tanh", images=False)
    assert "prime_on_h" in report.mistakes(), report.text()
    assert "tanh' evaluated on h instead of z" in report.text()


def test_another_activations_derivative_is_named(tmp_path):
    buggy = SOLUTION.replace("return (z > 0).astype(float)", "s = 1 / (1 + np.exp(-z))\n    return s * (1 - s)")
    report = check(write_module(tmp_path, buggy), images=False)
    assert "prime_of:sigmoid" in report.mistakes(), report.text()
    assert "sigmoid'(z) where relu'(z) belongs" in report.text()


def test_rows_and_interleaved_layouts(tmp_path):
    """Another version of the exercise: examples as rows, parameters interleaved; flags say so."""
    source = textwrap.dedent('''
        import numpy as np

        def _layers(theta, sizes):
            Ws, bs, k = [], [], 0
            for i, o in zip(sizes[:-1], sizes[1:]):
                Ws.append(theta[k:k + o * i].reshape(o, i)); k += o * i
                bs.append(theta[k:k + o]); k += o
            return Ws, bs

        SIZES = [6, 5, 4]

        def fwd(x, y, theta):
            Ws, bs = _layers(theta, SIZES)
            zs, hs, h = [], [], x
            for l, (W, b) in enumerate(zip(Ws, bs)):
                z = h @ W.T + b
                zs.append(z)
                if l < len(Ws) - 1:
                    h = np.maximum(z, 0)
                    hs.append(h)
            e = np.exp(zs[-1] - zs[-1].max(axis=1, keepdims=True))
            yhat = e / e.sum(axis=1, keepdims=True)
            return -np.mean(np.sum(y * np.log(yhat), axis=1)), zs, hs + [yhat], yhat

        def bwd(x, y, theta):
            Ws, bs = _layers(theta, SIZES)
            _, zs, hs, yhat = fwd(x, y, theta)
            d = (yhat - y) / len(x)
            out = []
            for l in range(len(Ws) - 1, -1, -1):
                h = x if l == 0 else hs[l - 1]
                out = [(d.T @ h).ravel(), d.sum(axis=0)] + out
                if l:
                    d = (d @ Ws[l]) * (zs[l - 1] > 0)
            return np.concatenate(out)
    ''')
    path = write_module(tmp_path, source)
    report = check(path, forward="fwd", backward="bwd", layout="rows", order="interleaved", sizes=[6, 5, 4])
    assert report.passed, report.text()
    with pytest.raises(CheckError, match="fwd raised ValueError: matmul"):     # fed x as (d, n) columns
        check(path, forward="fwd", backward="bwd", sizes=[6, 5, 4], order="interleaved")
    wrong_order = check(path, forward="fwd", backward="bwd", layout="rows", sizes=[6, 5, 4])
    assert "order" in wrong_order.mistakes()


@pytest.mark.parametrize("source, kwargs, fragment", [
    ("import numpy as np\nraise RuntimeError('no data here')\n", {},
     "failed to import: RuntimeError: no data here (line 2)"),
    ("def forward_prop(:\n", {}, "failed to import: SyntaxError"),
    ("NUM_INPUT = 4\n", {}, "has no function forward_prop"),
    (SOLUTION, {"backward": "backprop"}, "has no function backprop (name yours with --backward NAME)"),
    (SOLUTION.replace("return loss, zs, hs, yhat", "return loss, zs, yhat"), {},
     "forward_prop returned 3 values; expected 4"),
    (SOLUTION.replace("return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])",
                      "return np.hstack([dW.flatten() for dW in dJdWs])"), {},
     "back_prop returned shape"),
    (SOLUTION.replace("return loss, zs, hs, yhat", "return loss, zs, hs, yhat.T"), {},
     "yhat with shape (3, 4), expected (4, 3) in the columns layout; it looks like the rows layout"),
    (SOLUTION.replace("def back_prop(x, y, weightsAndBiases):", "def back_prop(x, y, weightsAndBiases):\n    1 / 0"),
     {}, "back_prop raised ZeroDivisionError: division by zero (line"),
    ("def forward_prop(x, y, w):\n    pass\ndef back_prop(x, y, w):\n    pass\n", {}, "NUM_HIDDEN_LAYERS"),
])
def test_modules_that_cannot_be_checked_get_one_line(tmp_path, source, kwargs, fragment):
    with pytest.raises(CheckError) as info:
        check(write_module(tmp_path, source), images=False, **kwargs)
    message = str(info.value)
    assert fragment in message, message
    assert "\n" not in message


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_exit_codes_table_and_json(tmp_path):
    good = write_module(tmp_path, SOLUTION, "good.py")
    proc = run_cli("check", str(good), "--no-images")
    assert proc.returncode == 0, proc.stderr
    assert "PASSED" in proc.stdout and "∇W1" in proc.stdout
    source, _ = planted("sum")
    bad = write_module(tmp_path, source, "bad.py")
    proc = run_cli("check", str(bad), "--no-images", "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert not result["passed"] and "sum" in result["mistakes"]
    proc = run_cli("check", str(tmp_path / "missing.py"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"netprop check: error: {tmp_path / 'missing.py'}: no such file"
    help_text = run_cli("check", "--help").stdout
    assert "runs the file's code" in " ".join(help_text.split())


def test_python_entry_point_is_public(tmp_path):
    assert netprop.check is check
    report = netprop.check(write_module(tmp_path, SOLUTION), images=False)
    assert report.passed
    assert np.isclose(report.l2, 0.0)
