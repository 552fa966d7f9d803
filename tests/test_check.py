"""`netprop check` / netprop.check on the code students write: every convention passes with no flags,
every mistake fails naming itself, and the student's code runs apart, within limits.

The student's solution below is the course's exercise written here in plain NumPy in the course's
layout (examples as columns, W's then b's in one vector), independently of netprop's code; each
planted bug is one line of it changed, the way students get it wrong.  tests/student_corpus/ holds one
file per convention and per mistake seen in public solutions of the exercise, each written here.
"""

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import netprop
from netprop.teaching.homework import check
from netprop.teaching.homework.classroom import grade_folder, gradescope_results

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
    "act_swapped": ("return np.maximum(z, 0)\n\ndef relu_prime(z):\n    return (z > 0).astype(float)",
                    "return (z > 0)\n\ndef relu_prime(z):\n    return np.maximum(z, 0)", 0.0),
    "other_data": ("loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)",
                   "x = np.random.default_rng(0).normal(size=x.shape)\n"
                   "    loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)", 0.0),
}



CORPUS = Path(__file__).parent / "student_corpus"
CONVENTIONS = {
    # file: words its one line of detected conventions must hold
    "course_columns.py": ["examples as columns", "W1, W2, …, b1, b2, …", "(out, in)", "NUM_*"],
    "rows_in_columns_out.py": ["take examples as rows", "returns examples as columns", "hs starting with x",
                               "hs ending with ŷ"],
    "fce_gradce_labels.py": ["fCE and gradCE", "y as integer labels", "returns the loss only", "784-32-32-10"],
    "w_in_out_rows.py": ["(in, out)", "zs without the output layer's z"],
    "extra_size_params.py": ["examples as columns", "hs ending with ŷ", "784-12-12-10"],
    "five_tuple_keyword_sizes.py": ["keyword defaults", "784-24-16-10", "hs starting with x"],
    "two_layer_interleaved_at_import.py": ["W1, b1, W2, b2", "784-40-10"],
    "sizes_from_init.py": ["initWeightsAndBiases()", "784-30-30-10"],
    "hidden_width_named_otherwise.py": ["fCE and gradCE (found by name)", "HIDDEN_UNITS", "784-20-10",
                                        "returns the loss only"],
    "separate_arrays.py": ["fCE takes each W and b apart (W1, b1, W2, b2) with each W stored (in, out)",
                           "gradCE takes each W and b apart", "examples as rows", "784-32-10"],
    "grad_takes_forward_outputs.py": ["fCE and gradCE (found by name)", "examples as columns",
                                      "y one-hot as rows", "784-16-10"],
}
MISTAKE_FILES = sorted(p.name for p in CORPUS.glob("mistake_*.py"))
# corpus file, a statement of its mistake that the report must point at
NAMED_MISTAKE_LINES = [
    ("mistake_modifies_input.py", "weightsAndBiases -= 0.01"),
    ("mistake_relu_in_place.py", "h[h < 0] = 0"),
    ("mistake_bias_scalar.py", "dJdbs.append(np.sum(g) / n)"),
    ("mistake_softmax_axis.py", "ez = np.exp(z - z.max(axis=1, keepdims=True))"),
    ("mistake_l2_over_n.py", "ALPHA * Ws[layer] / n"),
    ("mistake_sum.py", "dJdWs.append(g.dot(h_prev.T))"),
    ("mistake_uses_last_forward.py", "global saved_h, saved_z, saved_p"),
    ("mistake_mean_twice.py", "dJdWs.append(g.dot(h_prev.T) / n)"),
]
# The corpus files the inner loop checks: those other tests read as well (each report is computed
# once), and the rows convention; the rest, a check of a 784-input network each, run in the slow tier
# (the planted bugs below name each mistake in the inner loop, on the course's layout).
INNER_LOOP_FILES = {"course_columns.py", "two_layer_interleaved_at_import.py", "rows_in_columns_out.py",
                    *(name for name, _ in NAMED_MISTAKE_LINES)}


def corpus_files(names):
    return [pytest.param(name, marks=[] if name in INNER_LOOP_FILES else [pytest.mark.slow]) for name in names]


def check_here(path, **kwargs):
    """The check in this process (fast), without the Fashion-MNIST case."""
    return check(path, isolated=False, images=kwargs.pop("images", False), **kwargs)


@functools.lru_cache(maxsize=None)
def corpus_report(name):
    """check_here of the corpus file `name`, once a session: several tests read one file's report."""
    return check_here(CORPUS / name)


def write_module(tmp_path, source, name="student.py"):
    path = tmp_path / name
    path.write_text(source)
    return path


def planted(key):
    old, new, alpha = PLANTED[key]
    assert old in SOLUTION, old
    return SOLUTION.replace(old, new).replace("ALPHA = 0.0", f"ALPHA = {alpha}"), alpha


def mistake_key(path):
    """The key a corpus file's first line names: '# MISTAKE key: …'."""
    first = path.read_text().splitlines()[0]
    assert first.startswith("# MISTAKE "), first
    return first.split()[2].rstrip(":")


# --- conventions: each passes with no flags ------------------------------------------------------


@pytest.mark.parametrize("name", corpus_files(sorted(CONVENTIONS)))
def test_each_convention_passes_with_no_flags(name):
    report = corpus_report(name)
    assert report.passed, report.text()
    for words in CONVENTIONS[name]:
        assert words in report.detected, (words, report.detected)
    # every gradient block has its second witness: central differences of the student's own loss
    grads = [r for c in report.cases for r in c.rows if r.name[0] in "Wb" and r.name[1:].isdigit()]
    assert grads and all(r.fd_error is not None and r.fd_error < 1e-4 for r in grads)


def test_the_course_template_is_compared_quantity_by_quantity():
    report = corpus_report("course_columns.py")
    assert len(report.cases) == 4                # its own sizes, then 1, 2 and 3 hidden layers
    assert [r.name for r in report.cases[1].rows] == ["loss", "z1", "z2", "h1", "yhat", "W1", "W2", "b1", "b2"]
    assert max(r.error for c in report.cases for r in c.rows) < 1e-12


def test_a_file_that_loads_data_at_import_is_checked_without_its_top_level_code():
    report = corpus_report("two_layer_interleaved_at_import.py")
    assert report.passed, report.text()
    note = report.notes[0]
    assert "fashion_mnist_train_images.npy, which is not there" in note
    assert "two_layer_interleaved_at_import.py:57" in note and 'if __name__ == "__main__":' in note


def test_l2_in_the_loss_is_found_and_reported_with_its_strength(tmp_path):
    source = SOLUTION.replace("ALPHA = 0.0", "ALPHA = 0.1")
    report = check_here(write_module(tmp_path, source))
    assert report.passed, report.text()
    assert np.isclose(report.l2, 0.1) and any("λ = 0.1" in n for n in report.notes)
    # the lecture's λ named with --l2: a loss of another strength is "not the lecture's"
    other = check_here(write_module(tmp_path, source, "b.py"), l2=0.2)
    assert "loss_l2" in other.mistakes(), other.text()


# --- mistakes: each fails naming itself ----------------------------------------------------------


@pytest.mark.parametrize("name", corpus_files(MISTAKE_FILES))
def test_each_corpus_mistake_fails_naming_itself(name):
    report = corpus_report(name)
    key = mistake_key(CORPUS / name)
    assert report.exit_code == 1, report.text()
    found = [k for k in report.mistakes() if k.split(":")[0] == key]
    assert found, (key, report.text())
    assert report.describe(found[0]) in report.text()
    # no block is left unexplained, and no other mistake is claimed
    assert {k.split(":")[0] for k in report.mistakes()} == {key}, report.mistakes()
    assert "no known mistake" not in report.verdict, report.text()


@pytest.mark.parametrize("name, statement", NAMED_MISTAKE_LINES)
def test_a_named_mistake_points_at_its_line(name, statement):
    lines = (CORPUS / name).read_text().splitlines()
    line = next(k for k, text in enumerate(lines, start=1) if statement in text and not text.startswith("#"))
    report = corpus_report(name)
    assert f"look at {name}:{line}" in report.text(), report.text()


@pytest.mark.parametrize("key", sorted(PLANTED))
def test_each_planted_bug_fails_with_its_mistake_named(tmp_path, key):
    source, _ = planted(key)
    report = check_here(write_module(tmp_path, source))
    assert not report.passed
    expected = {"l2_missing": "l2_missing"}.get(key, key)
    assert expected in report.mistakes(), (key, report.text())
    assert report.describe(expected) in report.text()


def test_the_two_witnesses_separate_a_wrong_gradient_from_a_loss_that_is_not_the_lectures(tmp_path):
    # summed loss and summed gradient: right for its own loss (central differences agree), not the lecture's
    consistent = (SOLUTION.replace("loss = -np.sum(y * np.log(yhat)) / n", "loss = -np.sum(y * np.log(yhat))")
                  .replace("g = (yhat - y) / n", "g = (yhat - y)"))
    report = check_here(write_module(tmp_path, consistent))
    assert "your gradient matches your own loss" in report.verdict and "loss is not the lecture's" in report.verdict
    assert "the loss is summed over the n examples" in report.verdict
    assert "your gradient is wrong for your own loss" not in report.verdict
    grads = [r for r in report.cases[0].rows if r.name[0] in "Wb" and r.name[1:].isdigit()]
    assert all(not r.ok and r.fd_error < 1e-6 for r in grads)
    # the lecture's loss with a summed gradient: wrong for its own loss
    source, _ = planted("sum")
    wrong = check_here(write_module(tmp_path, source, "b.py"))
    assert "your gradient is wrong for your own loss" in wrong.verdict


def test_l2_added_to_the_gradient_with_lambda_over_n_is_named_in_its_own_terms():
    report = corpus_report("mistake_l2_over_n.py")
    text = report.describe("l2_strength")
    # the file's ALPHA = 0.001 in the loss, ALPHA·W/n in ∇W: n = 5 examples at its own sizes, c = 0.0002
    assert "+ 0.0002·W" in text and "λ = 0.001" in text and "(λ/n)" in text


def test_relu_prime_on_h_for_tanh_is_named(tmp_path):
    """For relu, relu'(h) = relu'(z) (no mistake to see); with tanh, tanh'(h) ≠ tanh'(z) and is named."""
    tanh = (SOLUTION.replace("return np.maximum(z, 0)", "return np.tanh(z)")
            .replace("return (z > 0).astype(float)", "return 1 - np.tanh(z) ** 2"))
    assert check_here(write_module(tmp_path, tanh), activation="tanh").passed
    buggy = tanh.replace("relu_prime(zs[i - 1])", "relu_prime(hs[i - 1])")
    report = check_here(write_module(tmp_path, buggy, "b.py"), activation="tanh")
    assert "prime_on_h" in report.mistakes(), report.text()
    assert "tanh' evaluated on h instead of z" in report.text()


@pytest.mark.parametrize("activation, function, derivative", [
    ("tanh", "np.tanh(z)", "1 - np.tanh(z) ** 2"),
    ("sigmoid", "1 / (1 + np.exp(-z))", "np.exp(-z) / (1 + np.exp(-z)) ** 2"),
])
def test_an_activation_and_its_derivative_swapped_are_named(tmp_path, activation, function, derivative):
    right = (SOLUTION.replace("return np.maximum(z, 0)", f"return {function}")
             .replace("return (z > 0).astype(float)", f"return {derivative}"))
    assert check_here(write_module(tmp_path, right), activation=activation).passed
    swapped = (SOLUTION.replace("return np.maximum(z, 0)", f"return {derivative}")
               .replace("return (z > 0).astype(float)", f"return {function}"))
    report = check_here(write_module(tmp_path, swapped, "b.py"), activation=activation)
    assert set(report.mistakes()) == {"act_swapped"}, report.text()
    assert "no known mistake" not in report.verdict, report.text()
    assert (f"{activation} and {activation}' swapped: {activation}'(z) used as the activation "
            f"(h = {activation}'(z)) and {activation}(z) as its derivative") in report.text()
    # the loss row carries it, and the hidden layers' h are the derivative's values
    case = report.cases[1]                              # 6-5-4: one hidden layer
    rows = {r.name: r for r in case.rows}
    assert rows["loss"].mistake == rows["h1"].mistake == rows["W1"].mistake == "act_swapped"


def test_an_activation_swapped_with_its_derivative_is_told_apart_from_the_other_activation_mistakes(tmp_path):
    # relu'(z) called in the forward, the backward right: the same forward numbers as the swap, but ∇ of the
    # hidden layers has δ ⊙ relu'(z), not δ ⊙ relu(z)
    forward_only = SOLUTION.replace("h = relu(z)", "h = relu_prime(z)")
    report = check_here(write_module(tmp_path, forward_only))
    assert set(report.mistakes()) == {"prime_as_act"}, report.text()
    assert "relu'(z) used as the activation: h = relu(z) on the way up" in report.text()
    line = forward_only.splitlines().index("        h = relu_prime(z)") + 1
    assert f"look at student.py:{line}" in report.text(), report.text()
    for key in ("act_not_prime", "no_prime"):
        source, _ = planted(key)
        assert set(check_here(write_module(tmp_path, source, f"{key}.py")).mistakes()) == {key}


def test_a_sentence_names_the_activation_wherever_it_says_act():
    report = check_here(CORPUS / "mistake_no_prime.py")
    assert "δ never multiplied by relu'(z) on its way down (as if relu were the identity)" in report.text()


def test_another_activations_derivative_is_named(tmp_path):
    buggy = SOLUTION.replace("return (z > 0).astype(float)", "s = 1 / (1 + np.exp(-z))\n    return s * (1 - s)")
    report = check_here(write_module(tmp_path, buggy))
    assert "prime_of:sigmoid" in report.mistakes(), report.text()
    assert "sigmoid'(z) where relu'(z) belongs" in report.text()


def test_fashion_mnist_images_are_a_case(tmp_path):
    from helpers import fashion_mnist_or_skip

    fashion_mnist_or_skip()
    report = check_here(write_module(tmp_path, SOLUTION), images=True)
    assert "Fashion-MNIST" in report.cases[-1].title and report.passed


@pytest.mark.parametrize("source, fragment", [
    ("def forward_prop(:\n", "is not valid Python: invalid syntax (student.py:1)"),
    ("NUM_INPUT = 4\n", "found no forward or loss function"),
    ("def forward_prop(x, y, w):\n    return 1.0\n", "found no gradient function"),
    ("def forward_prop(x, y, w):\n    pass\ndef back_prop(x, y, w):\n    pass\n", "cannot tell the network's sizes"),
    (SOLUTION.replace("def forward_prop(x, y, weightsAndBiases):",
                      "def forward_prop(x, y, weightsAndBiases):\n    1 / 0"),
     "forward_prop raised ZeroDivisionError: division by zero (student.py:"),
])
def test_modules_that_cannot_be_checked_get_one_line(tmp_path, source, fragment):
    report = check_here(write_module(tmp_path, source))
    assert report.exit_code == 2
    assert fragment in report.error, report.error
    assert "\n" not in report.error


def test_an_error_in_the_gradient_function_is_named_with_its_line(tmp_path):
    source = SOLUTION.replace("def back_prop(x, y, weightsAndBiases):", "def back_prop(x, y, weightsAndBiases):\n"
                                                                         "    1 / 0")
    line = source.splitlines().index("    1 / 0") + 1
    report = check_here(write_module(tmp_path, source))
    assert report.exit_code == 2                # it raised in every case: nothing could be compared
    assert report.error.startswith(f"back_prop raised ZeroDivisionError: division by zero (student.py:{line}) "
                                   f"(in every case")


def test_python_entry_point_is_public(tmp_path):
    assert netprop.check is check
    report = netprop.check(write_module(tmp_path, SOLUTION), isolated=False, images=False)
    assert report.passed


# --- the child process: limits, isolation, notebooks ---------------------------------------------


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(Path(netprop.__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


@pytest.mark.slow
def test_a_file_looping_at_import_ends_within_the_limit_with_its_message(tmp_path):
    path = write_module(tmp_path, SOLUTION + "\nwhile True:\n    pass\n", "hw3.py")
    lines = []
    report = check(path, images=False, timeout=3, progress=lines.append)
    assert lines[0] == "importing hw3.py (this runs its code)"
    assert any("still running its top-level code" in line for line in lines)
    assert "did not finish within 3 s" in report.notes[0] and 'if __name__ == "__main__":' in report.notes[0]
    assert report.passed, report.text()          # then its definitions alone were checked


def test_a_file_deleting_files_at_import_touches_only_its_working_copy(tmp_path):
    (tmp_path / "keep.txt").write_text("the instructor's file")
    attack = ("import os, shutil\n"
              "here = os.path.dirname(os.path.abspath(__file__))\n"
              "for name in os.listdir(here):\n"
              "    p = os.path.join(here, name)\n"
              "    shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)\n"
              "for name in os.listdir(os.path.expanduser('~')):\n"
              "    p = os.path.join(os.path.expanduser('~'), name)\n"
              "    shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.remove(p)\n")
    path = write_module(tmp_path, attack + SOLUTION, "hw3.py")
    report = check(path, images=False)
    assert (tmp_path / "keep.txt").read_text() == "the instructor's file"
    assert path.read_text().startswith(attack)
    assert report.passed, report.text()


@pytest.mark.slow
def test_no_stdin_and_the_memory_limit(tmp_path):
    asks = write_module(tmp_path, "name = input('your name? ')\n" + SOLUTION, "asks.py")
    report = check(asks, images=False)
    assert "EOFError" in report.notes[0] and report.passed
    greedy = write_module(tmp_path, SOLUTION + "\nbig = [0.0] * (2 ** 31)\n", "greedy.py")
    report = check(greedy, images=False, memory_mb=1024)
    assert "MemoryError" in report.notes[0] and report.passed


def test_a_module_not_installed_is_named_with_what_to_do(tmp_path):
    path = write_module(tmp_path, "import tensorflow_not_here as tf\n" + SOLUTION, "hw3.py")
    report = check_here(path)
    assert "imports tensorflow_not_here, which is not installed here (" in report.notes[0]
    assert "pip install tensorflow_not_here, or remove the import" in report.notes[0]
    assert report.passed


@pytest.mark.slow
def test_a_notebook_is_read_without_magics_or_shell_lines(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    cells = [nbformat.v4.new_markdown_cell("# Homework 3"),
             nbformat.v4.new_code_cell("%matplotlib inline\n!pip install numpy"),
             nbformat.v4.new_code_cell(SOLUTION),
             nbformat.v4.new_code_cell("%%bash\nrm -rf /"),
             nbformat.v4.new_code_cell("def gradCE_unused():\n    pass")]
    path = tmp_path / "hw3.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    assert check(path, images=False).passed
    broken = SOLUTION.replace("def back_prop(x, y, weightsAndBiases):", "def back_prop(x, y, weightsAndBiases):\n"
                                                                        "    1 / 0")
    cells[2] = nbformat.v4.new_code_cell(broken)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    line = broken.splitlines().index("    1 / 0") + 1
    report = check(path, images=False)
    assert f"(hw3.ipynb cell 2, line {line})" in report.cases[0].error, report.text()


@pytest.mark.slow
def test_cli_exit_codes_json_and_relative_paths(tmp_path):
    write_module(tmp_path, SOLUTION + "\nprint('hello from the student')\n", "good.py")
    proc = run_cli("check", "good.py", "--no-images", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["passed"] is True and "hello" not in proc.stdout
    source, _ = planted("sum")
    write_module(tmp_path, source, "bad.py")
    proc = run_cli("check", "bad.py", "--no-images", "--json", cwd=tmp_path)
    assert proc.returncode == 1 and "sum" in json.loads(proc.stdout)["mistakes"]
    broken = SOLUTION.replace("def forward_prop(x, y, weightsAndBiases):",
                              "def forward_prop(x, y, weightsAndBiases):\n    raise KeyError(3)")
    line = broken.splitlines().index("    raise KeyError(3)") + 1
    write_module(tmp_path, broken, "broken.py")
    proc = run_cli("check", "broken.py", "--no-images", "--json", cwd=tmp_path)
    assert proc.returncode == 2 and f"KeyError: 3 (broken.py:{line})" in json.loads(proc.stdout)["error"]
    proc = run_cli("check", "broken.py", "--no-images", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("netprop check: error: forward_prop raised KeyError")
    proc = run_cli("check", str(tmp_path / "missing.py"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"netprop check: error: {tmp_path / 'missing.py'}: no such file"
    assert "runs the file's code" in " ".join(run_cli("check", "--help").stdout.split())


# --- a whole class -------------------------------------------------------------------------------


def make_class(folder):
    folder.mkdir()
    for name in ("course_columns.py", "mistake_sum.py", "mistake_reversed.py", "fce_gradce_labels.py"):
        (folder / name).write_text((CORPUS / name).read_text())
    (folder / "zoe").mkdir()
    (folder / "zoe" / "hw3.py").write_text((CORPUS / "mistake_sum.py").read_text())
    (folder / "yan.py").write_text("def forward_prop(:\n")
    return folder


@pytest.mark.slow
def test_grading_a_class_writes_reports_csv_gradescope_and_a_summary(tmp_path):
    import csv

    folder, out = make_class(tmp_path / "submissions"), tmp_path / "grades"
    lines = []
    results = grade_folder(folder, out, {"images": False}, jobs=2, gradescope=True, progress=lines.append)
    assert sorted(results) == ["course_columns", "fce_gradce_labels", "mistake_reversed", "mistake_sum", "yan", "zoe"]
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["course_columns"]["status"] == "PASSED" and rows["yan"]["status"] == "ERROR"
    assert rows["zoe"]["mistakes"] == "∇ summed over the examples where the mean belongs"
    summary = (out / "summary.md").read_text()
    assert "6 submissions: 2 passed, 3 failed, 1 could not be checked." in summary
    assert "| 2 | ∇ summed over the examples where the mean belongs |" in summary
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "FAILED" in (out / "zoe" / "report.txt").read_text()
    # Gradescope's documented results format: a score, and tests with name, score, max_score and status
    gs = json.loads((out / "mistake_sum" / "results.json").read_text())
    assert isinstance(gs["score"], (int, float)) and gs["tests"]
    assert all({"name", "score", "max_score", "status"} <= set(t) for t in gs["tests"])
    assert {t["status"] for t in gs["tests"]} == {"passed", "failed"}
    assert gs["score"] == sum(t["score"] for t in gs["tests"]) < sum(t["max_score"] for t in gs["tests"])
    # resumable: nothing changed, nothing regraded; one file changed, only it
    stamp = (out / "zoe" / "report.json").stat().st_mtime_ns
    lines.clear()
    grade_folder(folder, out, {"images": False}, jobs=2, gradescope=True, progress=lines.append)
    assert lines == ["6 submissions unchanged since they were graded: skipped"]
    (folder / "yan.py").write_text((CORPUS / "course_columns.py").read_text())
    lines.clear()
    results = grade_folder(folder, out, {"images": False}, jobs=2, gradescope=True, progress=lines.append)
    assert lines[1:] == ["graded yan: PASSED"] and results["yan"]["passed"]
    assert (out / "zoe" / "report.json").stat().st_mtime_ns == stamp


def test_gradescope_results_of_a_file_that_cannot_be_checked(tmp_path):
    report = check_here(write_module(tmp_path, "def forward_prop(:\n"))
    results = gradescope_results(report)
    assert results["score"] == 0 and results["tests"][0]["status"] == "failed"


@pytest.mark.slow
def test_a_real_dask_cluster_grades_as_the_local_jobs_do(tmp_path):
    pytest.importorskip("distributed")
    folder = make_class(tmp_path / "submissions")
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=str(Path(netprop.__file__).parents[1]))
    dask = Path(sys.executable).with_name("dask")
    procs = [subprocess.Popen([str(dask), "scheduler", "--scheduler-file", str(scheduler_file), "--port", "0",
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(600):
            if scheduler_file.is_file() and scheduler_file.stat().st_size:
                break
            import time
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        procs.append(subprocess.Popen([str(dask), "worker", address, "--nworkers", "1", "--nthreads", "2",
                                       "--no-dashboard"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        on_dask = grade_folder(folder, tmp_path / "dask", {"images": False}, scheduler=address)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
    local = grade_folder(folder, tmp_path / "local", {"images": False}, jobs=2)
    grades = lambda results: {s: (d["passed"], d["exit_code"], sorted(d["mistakes"])) for s, d in results.items()}
    assert grades(on_dask) == grades(local)
    assert (tmp_path / "dask" / "grades.csv").read_text() == (tmp_path / "local" / "grades.csv").read_text()


def test_several_mistakes_in_one_file_are_each_named_on_their_blocks():
    # gradient lists built last layer first and ∇b without axis (one number per layer), together
    report = corpus_report("mistakes_together.py")
    found = report.mistakes()
    assert set(found) == {"reversed", "bias_scalar"}, report.text()
    assert all(w.startswith("∇W") for w in found["reversed"]) and all(w.startswith("∇b") for w in found["bias_scalar"])


# --- found on real public solutions (issue 17's keep-back corpus, judged here first) ---------------


def test_a_helper_forward_taking_two_arguments_is_not_taken_for_the_forward():
    # forward(X, w) beside fCE(X, Y, w): the usual name "forward" comes first in the list, but it cannot
    # take (x, y, weights)
    source = (CORPUS / "hidden_width_named_otherwise.py").read_text().replace("HIDDEN_UNITS", "NUM_HIDDEN")
    report = check_here(write_module_text(source))
    assert (report.forward, report.backward) == ("fCE", "gradCE"), report.text()
    assert report.passed, report.text()


def write_module_text(source, name="student_helper.py"):
    import tempfile
    folder = Path(tempfile.mkdtemp())
    return write_module(folder, source, name)


def test_an_error_is_the_one_of_the_layout_that_ran_furthest(tmp_path):
    # examples as rows, W stored (in, out); the loss needs a name the file only defines under __main__.
    # Fed columns, the first product fails; fed rows, the file gets to its real problem.
    source = textwrap.dedent("""
        import numpy as np
        NUM_INPUT, NUM_HIDDEN, NUM_OUTPUT = 784, 8, 10

        def unpack(w):
            W1 = w[:NUM_INPUT * NUM_HIDDEN].reshape(NUM_INPUT, NUM_HIDDEN)
            b1 = w[NUM_INPUT * NUM_HIDDEN:NUM_INPUT * NUM_HIDDEN + NUM_HIDDEN]
            W2 = w[NUM_INPUT * NUM_HIDDEN + NUM_HIDDEN:-NUM_OUTPUT].reshape(NUM_HIDDEN, NUM_OUTPUT)
            return W1, b1, W2, w[-NUM_OUTPUT:]

        def forward_prop(x, y, w):
            W1, b1, W2, b2 = unpack(w)
            z1 = x.dot(W1) + b1
            h1 = np.maximum(z1, 0)
            z2 = h1.dot(W2) + b2
            yhat = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
            labels = encoder.inverse_transform(y)
            return -np.mean(np.log(yhat[np.arange(len(labels)), labels])), [z1, z2], [h1], yhat

        def back_prop(x, y, w):
            return np.zeros_like(w)
    """)
    report = check_here(write_module(tmp_path, source))
    assert report.exit_code == 2
    assert "NameError: name 'encoder' is not defined (student.py:17)" in report.error, report.error


def test_code_written_for_an_older_numpy_is_checked_with_its_removed_aliases(tmp_path):
    # np.float was float until NumPy 1.24: the student's maths is checked, and told what changed
    source = SOLUTION.replace("return (z > 0).astype(float)", "return (z > 0).astype(np.float)")
    report = check_here(write_module(tmp_path, source))
    assert report.passed, report.text()
    assert any("np.float, which NumPy 1.24 removed" in note for note in report.notes), report.notes
    assert not hasattr(np, "float")            # numpy itself is left as it is


def test_a_numpy_bool_used_as_an_index_is_told_what_changed(tmp_path):
    source = SOLUTION.replace("return (z > 0).astype(float)",
                              "return np.array([[[0.0, 1.0][v > 0] for v in row] for row in z])")
    report = check_here(write_module(tmp_path, source))
    assert report.exit_code == 2
    assert "a NumPy bool is no longer an index (NumPy 2)" in report.error, report.text()


def test_two_mistakes_in_one_loss_are_both_named():
    # softmax over the examples and a mean over the classes: the loss row carries both, ŷ the first
    report = corpus_report("mistakes_softmax_and_loss_axis.py")
    assert report.exit_code == 1, report.text()
    assert set(report.mistakes()) == {"softmax_axis", "softmax_axis+loss_over_c"}, report.mistakes()
    both = report.describe("softmax_axis+loss_over_c")
    assert "softmax over the wrong axis" in both and "divided by c, the number of classes" in both
    assert "no known mistake" not in report.verdict, report.text()


def test_a_loss_divided_by_the_classes_is_named(tmp_path):
    # columns: summing over axis=1 first leaves one number per class; the mean then divides by c
    source = SOLUTION.replace("loss = -np.sum(y * np.log(yhat)) / n",
                              "loss = -np.mean(np.sum(y * np.log(yhat), axis=1))")
    report = check_here(write_module(tmp_path, source))
    assert "loss_over_c" in report.mistakes(), report.text()
    # the gradient is the lecture's, so it is wrong for this loss: the second witness says so
    assert "your gradient is wrong for your own loss" in report.verdict, report.text()


def test_a_gradient_returned_as_lists_of_in_out_blocks_is_read_as_stored(tmp_path):
    # each ∇W (in, out) like the W's in the vector: no transposition to name
    source = (CORPUS / "w_in_out_rows.py").read_text().replace(
        "return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])", "return dJdWs, dJdbs")
    assert "return dJdWs, dJdbs" in source
    report = check_here(write_module(tmp_path, source))
    assert report.passed, report.text()


def test_a_name_assigned_only_under_main_is_said(tmp_path):
    # the gradient reads W2 from the script's own globals (set under __main__), not from its arguments
    source = SOLUTION.replace("g = (Ws[i].T @ g) * relu_prime(zs[i - 1])", "g = (W2.T @ g) * relu_prime(zs[i - 1])")
    source += "\nif __name__ == '__main__':\n    W2 = np.zeros((10, 10))\n"
    report = check_here(write_module(tmp_path, source))
    assert "NameError: name 'W2' is not defined" in report.error, report.text()
    assert "W2 is assigned only outside your functions" in report.error, report.error


def test_two_mistakes_in_one_gradient_block_are_both_named(tmp_path):
    # ∇W2 from the wrong softmax and not divided by n: neither mistake alone reproduces the block
    source = (CORPUS / "mistakes_softmax_and_loss_axis.py").read_text()
    source = source.replace("(d2 @ hs[0].T).ravel()", "((yhat - Y) @ hs[0].T).ravel()")
    assert "((yhat - Y) @ hs[0].T).ravel()" in source
    report = check_here(write_module(tmp_path, source))
    w2 = [r for c in report.cases for r in c.rows if r.name == "W2"]
    assert w2 and all(r.mistake == "softmax_axis+sum" for r in w2), report.text()
    assert "n times too large" in report.describe("softmax_axis+sum")
    assert "no known mistake" not in report.verdict, report.text()


@pytest.mark.slow          # grading a class: a check child per student; test_gradescope_results_* stays
def test_a_class_summary_counts_each_of_two_mistakes_in_one_block(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "ana.py").write_text((CORPUS / "mistakes_softmax_and_loss_axis.py").read_text())
    grade_folder(folder, tmp_path / "grades", {"images": False}, jobs=1)
    summary = (tmp_path / "grades" / "summary.md").read_text()
    assert "| 1 | softmax over the wrong axis |" in summary, summary
    assert "| 1 | loss divided by c instead of n |" in summary, summary
    assert " and " not in summary.split("## Most common mistakes")[1].split("##")[0], summary


def test_a_class_summary_counts_a_swapped_activation_under_its_title(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "bo.py").write_text((CORPUS / "mistake_act_swapped.py").read_text())
    results = grade_folder(folder, tmp_path / "grades", {"images": False}, jobs=1)
    assert set(results["bo"]["mistakes"]) == {"act_swapped"}, results["bo"]["mistakes"]
    summary = (tmp_path / "grades" / "summary.md").read_text()
    assert "| 1 | act swapped with act' |" in summary, summary
    rows = (tmp_path / "grades" / "grades.csv").read_text()
    assert "FAILED" in rows and "act swapped with act'" in rows, rows


def test_a_mistake_in_functions_taking_the_arrays_apart_is_named(tmp_path):
    source = (CORPUS / "separate_arrays.py").read_text().replace("G2 = (P - Y) / X.shape[0]", "G2 = P - Y")
    assert "G2 = P - Y" in source
    report = check_here(write_module(tmp_path, source))
    assert report.exit_code == 1, report.text()
    assert set(report.mistakes()) == {"sum"}, report.text()
