"""Defects found by reviewing main as a student and as an adversary: each test fails on the code as reviewed."""

import json
import math

import numpy as np
import pytest
from helpers import fashion_mnist_or_skip
from test_check import SOLUTION, write_module

import netprop
from netprop.teaching.homework import check
from netprop.cli import main
from netprop.teaching.course import course_layer_sizes
from netprop.teaching.derive import ParamsError, load_params
from netprop.teaching.gradcheck import gradcheck, rel_error
from netprop.training.landscape import pca_plane, random_plane

GRADIENT_RETURN = "return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])"


# --- rel_error and gradcheck: a NaN must never read as agreement ----------------------------------


def test_rel_error_of_nan_is_not_zero():
    # ‖nan − 1‖/(‖nan‖ + ‖1‖) is undefined; it was returned as 0.0, i.e. perfect agreement.
    assert not rel_error(np.array([np.nan]), np.array([1.0])) <= 1e-6
    assert not rel_error(np.array([np.inf, 0.0]), np.array([1.0, 0.0])) <= 1e-6


def test_rel_error_of_huge_finite_values():
    # a = [3e200, 4e200], b = a·(1 + 1e-9): ‖a − b‖/(‖a‖ + ‖b‖) = 1e-9·5e200 / (2·5e200) ≈ 5e-10 by hand;
    # the unscaled 2-norm squares 1e200 into inf and gave nan.
    a = np.array([3e200, 4e200])
    assert math.isclose(rel_error(a, a * (1 + 1e-9)), 5e-10, rel_tol=1e-3)


def test_gradcheck_fails_when_the_gradients_are_nan():
    net = netprop.Network([3, 4, 2], seed=0)
    net.biases[-1][0] = np.nan            # every loss and gradient is nan; gradcheck used to pass it
    result = gradcheck(net, np.ones((2, 3)), np.array([0, 1]))
    assert not result.passed
    assert math.isnan(result.max_error)


def test_gradcheck_agrees_at_huge_finite_gradients():
    # inputs of 1e300 make ∇W1 about 6e299; backprop and central differences agree, but the unscaled
    # norms overflowed to inf/inf = nan
    net = netprop.Network([3, 4, 2], seed=0)
    result = gradcheck(net, np.full((2, 3), 1e300), np.array([0, 1]))
    assert result.errors["W1"] < 1e-6


# --- netprop check on misbehaving student modules ------------------------------------------------


@pytest.mark.slow          # a check child; the other check commands here stay
def test_check_nan_loss_is_wrong_not_ok(tmp_path):
    source = SOLUTION.replace("return loss, zs, hs, yhat", "return float('nan'), zs, hs, yhat")
    report = check(write_module(tmp_path, source), images=False)
    assert not report.passed
    assert not report.cases[0].rows[0].ok and report.cases[0].rows[0].name == "loss"


# a check child per case; the inner loop keeps one of each kind
@pytest.mark.parametrize("where", ["forward_prop", pytest.param("back_prop", marks=pytest.mark.slow)])
def test_check_student_sys_exit_is_a_failure_not_a_silent_pass(tmp_path, where):
    # sys.exit(0) inside the student's function ended `netprop check` with status 0 and no output.
    source = SOLUTION.replace(f"def {where}(x, y, weightsAndBiases):",
                              f"def {where}(x, y, weightsAndBiases):\n    raise SystemExit(0)")
    path = write_module(tmp_path, source)
    report = check(path, images=False, isolated=False)
    assert report.exit_code == 2 and "SystemExit" in report.error
    assert main(["check", str(path), "--no-images"]) == 2


@pytest.mark.parametrize("old, new, fragment", [
    ("return loss, zs, hs, yhat", "return None, zs, hs, yhat", "forward_prop returned NoneType where the loss"),
    pytest.param("return loss, zs, hs, yhat", "return 'abc', zs, hs, yhat",
                 "forward_prop returned str where the loss belongs", marks=pytest.mark.slow),      # a check child each
    pytest.param(GRADIENT_RETURN, "return 'x'", "back_prop returned something that is not an array of numbers",
                 marks=pytest.mark.slow),
])
def test_check_non_numeric_returns_get_one_line_naming_the_function(tmp_path, capsys, old, new, fragment):
    path = write_module(tmp_path, SOLUTION.replace(old, new))
    assert main(["check", str(path), "--no-images", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert fragment in err, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("netprop check: error: ")


@pytest.mark.parametrize("old, new, fragment", [
    ("return loss, zs, hs, yhat", "return loss, [[[1, 2], [3]]] * len(zs), hs, yhat", "zs[0] is not an array"),
    ("zs, hs = [], []", "zs, hs = [], [x]", "hs starting with x"),
])
def test_check_other_returns_are_read_and_said(tmp_path, old, new, fragment):
    # an unreadable zs is left out of the comparison (and said); here back_prop itself then fails on it,
    # which is named with its line
    report = check(write_module(tmp_path, SOLUTION.replace(old, new)), images=False, isolated=False)
    assert fragment in report.detected
    assert report.exit_code == 2 and report.error.startswith("back_prop raised") and "(student.py:" in report.error


def test_check_a_gradient_returned_as_a_list_of_blocks_is_read(tmp_path):
    report = check(write_module(tmp_path, SOLUTION.replace(GRADIENT_RETURN, "return dJdWs + dJdbs")),
                   images=False, isolated=False)
    assert report.passed, report.text()


@pytest.mark.slow          # a check child; the other check commands here stay
def test_check_json_is_not_corrupted_by_the_students_prints(tmp_path, capsys):
    source = SOLUTION.replace("def back_prop(x, y, weightsAndBiases):",
                              "def back_prop(x, y, weightsAndBiases):\n    print('debug', x.shape)")
    assert main(["check", str(write_module(tmp_path, source)), "--no-images", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["passed"] is True
    assert "debug" not in out.out


def test_check_l2_convention_off_by_two_is_not_called_other_data(tmp_path):
    # loss α·Σ‖W‖² with gradient 2αW (the penalty twice the lecture's (α/2)·Σ‖W‖²): the checker named it
    # "a gradient computed from a second forward pass on other data", which it is not.
    source = (SOLUTION.replace("loss += ALPHA / 2 *", "loss += ALPHA *")
              .replace("+ ALPHA * Ws[i]", "+ 2 * ALPHA * Ws[i]").replace("ALPHA = 0.0", "ALPHA = 0.1"))
    report = check(write_module(tmp_path, source), l2=0.1, images=False, isolated=False)
    assert not report.passed
    found = report.mistakes()
    assert "other_data" not in found, found
    assert "loss_l2" in found and "loss (case 1)" in found["loss_l2"]
    assert "l2_strength" in found and "(2λ)" in report.describe("l2_strength")
    # without --l2 the file is consistent: its loss has λ = 0.2 in the lecture's (λ/2)·Σ‖W‖², ∇W has 0.2·W
    assert check(write_module(tmp_path, source, "b.py"), images=False, isolated=False).passed


def test_check_a_path_that_is_not_a_file(tmp_path, capsys):
    assert main(["check", str(tmp_path), "--no-images"]) == 2
    assert "no .py or .ipynb file in it" in capsys.readouterr().err


@pytest.mark.parametrize("sizes", [(784, 0, 2, 10), (784, 1.5, 2, 10), (784, 10, -1, 10), (784, True, 1, 10),
                                   (0, 10, 1, 10), (784, float("inf"), 1, 10), (784, 10, float("nan"), 10)])
def test_course_layer_sizes_rejects_what_is_not_a_network(sizes):
    # [784, 0, 0, 10], [784, 1, 1, 10] (1.5 truncated), [784, 10] (-1 hidden layers) came back as sizes.
    with pytest.raises(ValueError):
        course_layer_sizes(*sizes)


def test_course_layer_sizes_accepts_integral_values():
    assert course_layer_sizes(784, 10, 2.0, np.int64(10)) == [784, 10, 10, 10]
    assert course_layer_sizes(784, 10, 0, 10) == [784, 10]


# --- derive --params -----------------------------------------------------------------------------


@pytest.mark.parametrize("key, value", [("weights", [[[float("nan"), 0], [0, 0]], [[1, 0], [0, 1], [1, 1]]]),
                                        ("biases", [[0, float("inf")], [0, 0, 0]]),
                                        ("x", [float("nan"), 0.5])])
def test_derive_params_rejects_non_finite_numbers(tmp_path, key, value):
    spec = {"x": [0.27, -0.46], "y": 0, "weights": [[[0.1, -0.1], [0.6, 0.1]], [[-0.5, 0.3], [1.3, 0.9], [-0.7, -1.2]]],
            "biases": [[0.01, 0.01], [0, 0, 0]]}
    spec[key] = value
    path = tmp_path / "p.json"
    path.write_text(json.dumps(spec))           # json writes NaN and Infinity, as Python's json reads them
    with pytest.raises(ParamsError, match=f"{key}.*(NaN|infinite)"):
        load_params(path)


def test_derive_out_to_a_directory_names_it(tmp_path, capsys):
    assert main(["derive", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"netprop derive: error: --output {tmp_path}: is a directory", err


# --- seeds and sizes on the command line ---------------------------------------------------------


@pytest.mark.parametrize("argv", [["derive", "--seed", "-1"], ["gradcheck", "--seed", "-1"],
                                  ["check", "x.py", "--seed", "-1"], ["landscape", "run", "--seed", "-1"]])
def test_negative_seed_is_refused_naming_the_flag(capsys, argv):
    # numpy's "expected non-negative integer" reached the user without the flag's name
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "argument --seed" in capsys.readouterr().err


def test_empty_entry_in_sizes_is_refused(capsys):
    # "2,,3" was read as the 2-3 network
    with pytest.raises(SystemExit):
        main(["derive", "--sizes", "2,,3"])
    assert "argument --sizes" in capsys.readouterr().err


# --- landscape on damaged trajectories -----------------------------------------------------------


def _trajectory(tmp_path, m=4, P=6):
    rng = np.random.default_rng(0)
    paths = []
    for k in range(m):
        path = tmp_path / f"step-{k:08d}.npy"
        np.save(path, rng.normal(size=P))
        paths.append(path)
    return paths


def test_landscape_truncated_snapshot_is_named(tmp_path):
    paths = _trajectory(tmp_path)
    paths[2].write_bytes(paths[2].read_bytes()[:100])
    with pytest.raises(ValueError, match=str(paths[2].name)):
        pca_plane(paths)


def test_landscape_nan_snapshot_is_named(tmp_path):
    paths = _trajectory(tmp_path)
    np.save(paths[1], np.full(6, np.nan))
    with pytest.raises(ValueError, match=f"{paths[1].name}.*(NaN|infinite)"):
        pca_plane(paths)


def test_landscape_random_plane_names_a_bad_snapshot(tmp_path):
    net = netprop.Network([2, 2], seed=0)             # 6 parameters, as _trajectory writes
    paths = _trajectory(tmp_path)
    np.save(paths[1], np.full(6, np.inf))
    with pytest.raises(ValueError, match=f"{paths[1].name}.*(NaN|infinite)"):
        random_plane(net, paths)
    np.save(paths[1], np.zeros(7))
    with pytest.raises(ValueError, match=f"{paths[1].name}.*6 parameters"):
        random_plane(net, paths)


# --- the Numba kernels against NumPy when a weight has gone NaN ----------------------------------


def test_numba_relu_keeps_nan_like_numpy():
    # relu(NaN) was 0 in the compiled bias_relu, so a NaN weight never reached the loss: the run's
    # NaN guard did not fire and the NaN was saved with the model.  np.maximum(NaN, 0) is NaN.
    pytest.importorskip("numba")
    from netprop.training import _kernels
    from netprop.training import step as fast

    if not _kernels.available():
        pytest.skip("compiled kernels switched off (NETPROP_NUMBA=0)")
    net = netprop.Network([3, 4, 2], seed=0, dtype="float32")
    net.weights[0][1, 0] = np.nan
    x = np.ones((2, 3), np.float32)
    cache = fast.forward(net, x)
    assert np.isnan(cache.h[0][:, 1]).all()
    assert np.isnan(cache.y_hat).all()

    kernels = _kernels.get()
    delta = np.array([[np.nan, 1.0, np.inf, -2.0]], np.float32).T.copy()   # (out, n) = (4, 1)
    z = np.array([[-1.0, -1.0, -1.0, -1.0]], np.float32).T.copy()
    with np.errstate(invalid="ignore"):                 # inf · 0 is NaN, as the kernel must give too
        expected = delta * (z > 0)                      # NumPy: nan, -0, nan, -0
    kernels["relu_backward"](delta, z)
    np.testing.assert_array_equal(delta, expected)


def test_check_data_dir_without_the_data_is_an_error(tmp_path):
    # --data-dir naming an empty or mistyped folder silently dropped the Fashion-MNIST case
    report = check(write_module(tmp_path, SOLUTION), data_dir=tmp_path / "nowhere", isolated=False)
    assert report.exit_code == 2 and str(tmp_path / "nowhere") in report.error


def test_derive_params_with_activation_flag_uses_the_flag(tmp_path, capsys):
    # the file's "network" entry silently beat an --activation typed on the command line
    path = tmp_path / "p.json"
    assert main(["derive", "--format", "json", "--output", str(path), "--quiet"]) == 0
    assert json.loads(path.read_text())["network"]["activation"] == "relu"
    capsys.readouterr()
    assert main(["derive", "--params", str(path), "--activation", "tanh", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["network"]["activation"] == "tanh"
    assert main(["derive", "--params", str(path), "--sizes", "3,3"]) == 2
    assert "--sizes and --seed" in capsys.readouterr().err


# --- defects in modules other helpers are changing now (data.py, train.py, run.py, cli's train flags):
# reported by the review in files being changed then, fixed on merging.


def _npz(path, n, d, classes, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    np.savez(path, X=rng.normal(size=(n, d)) * scale, y=np.arange(n) % classes)
    return path


def test_train_on_too_few_examples_is_one_line(tmp_path, capsys):
    # 3 examples of 3 classes: the stratified split leaves no validation example; ZeroDivisionError traceback
    data = _npz(tmp_path / "tiny.npz", 3, 4, 3)
    code = main(["train", "--data", str(data), "--epochs", "1", "--hidden", "2", "--out", str(tmp_path / "run"),
                 "--quiet"])
    assert code == 2 and "validation" in capsys.readouterr().err


def test_train_on_one_class_is_refused(tmp_path, capsys):
    data = _npz(tmp_path / "one.npz", 50, 4, 1)
    code = main(["train", "--data", str(data), "--epochs", "1", "--hidden", "2", "--out", str(tmp_path / "run"),
                 "--quiet"])
    assert code == 2 and "class" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "tune"])
def test_train_and_tune_negative_seed_names_the_flag(tmp_path, capsys, command):
    data = _npz(tmp_path / "d.npz", 50, 4, 2)
    with pytest.raises(SystemExit):
        main([command, "--seed", "-1", "--data", str(data), "--out", str(tmp_path / "run")]
             + (["--epochs", "1"] if command == "train" else ["--trials", "1", "--no-final"]))
    assert "argument --seed" in capsys.readouterr().err


def test_feature_standardisation_keeps_a_feature_with_a_large_offset():
    # 1e9 + N(0, 10²) (a timestamp-like column): its std, 10 by construction, was taken as 0 ("constant")
    # and set to 1; a column of N(0, 1)·1e160 overflowed the sum of squares to a std of nan.
    from netprop.data import Preprocessing

    rng = np.random.default_rng(0)
    X = np.c_[1e9 + rng.normal(0, 10, 1000), rng.normal(0, 1, 1000) * 1e160]
    p = Preprocessing.fit(X, "features")
    expected = np.array([np.std(X[:, 0] - 1e9), np.std(X[:, 1] / 1e160) * 1e160])   # two-pass, by hand
    np.testing.assert_allclose(p.std, expected, rtol=1e-6)


def test_landscape_on_a_one_step_run_is_refused_before_training(tmp_path, capsys):
    # 40 training examples, batch 256, 1 epoch: one step, snapshots 0 and 1; the run trained, wrote its
    # model, then failed with exit 2 ("a plane needs at least 3")
    data = _npz(tmp_path / "d.npz", 50, 4, 2)
    out = tmp_path / "run"
    code = main(["train", "--data", str(data), "--epochs", "1", "--hidden", "2", "--out", str(out), "--quiet",
                 "--landscape"])
    assert code == 0 or not (out / "model.safetensors").exists()


def test_check_says_why_a_size_computed_at_import_breaks_the_random_cases(tmp_path):
    # A correct solution that computes W1's size from NUM_* at import failed the three random cases with
    # bare "cannot reshape array of size 59 into shape (5,6)" and no word on why.
    fashion_mnist_or_skip()
    source = (SOLUTION.replace("ALPHA = 0.0", "ALPHA = 0.0\nW1_SIZE = NUM_INPUT * NUM_HIDDEN")
              .replace("end = NUM_INPUT * NUM_HIDDEN\n", "end = W1_SIZE\n"))
    report = check(write_module(tmp_path, source), isolated=False)
    assert report.passed and report.cases[-1].passed    # its own sizes, on the images
    assert any("did not run at other sizes than your own" in n and "a size computed at import" in n
               for n in report.notes)


def test_train_with_a_huge_label_is_one_line(tmp_path, capsys):
    # labels {0, 10⁷}: a 10,000,001-class output layer; np.eye(10⁷ + 1) raised MemoryError (a traceback)
    rng = np.random.default_rng(0)
    data = tmp_path / "sparse.npz"
    np.savez(data, X=rng.normal(size=(100, 4)), y=np.where(np.arange(100) % 2, 10 ** 7, 0))
    code = main(["train", "--data", str(data), "--epochs", "1", "--hidden", "2", "--out", str(tmp_path / "run"),
                 "--quiet"])
    assert code == 2 and "label" in capsys.readouterr().err


@pytest.mark.slow          # a check child; the other check commands here stay
def test_check_json_stays_strict_json_when_the_student_returns_nan(tmp_path, capsys):
    # a NaN relative error was written as the bare token NaN, which JSON parsers other than Python's reject
    source = SOLUTION.replace("return loss, zs, hs, yhat", "return float('nan'), zs, hs, yhat")
    assert main(["check", str(write_module(tmp_path, source)), "--no-images", "--json"]) == 1

    def refuse(token):
        raise AssertionError(f"not JSON: {token}")

    result = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert result["cases"][0]["rows"][0] == {"name": "loss", "shape": [], "rel_error": None, "ok": False,
                                             "mistake": None, "fd_error": None, "line": None}
