"""`netprop train`, `evaluate` and `predict` end to end, and every command's bad-input errors."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import error_line, fashion_mnist_or_skip, netprop_here, synthetic_npz
from netprop.cli import main
from netprop.storage.models import load_arrays


def run_cli(*args, cwd=None):
    """The real console command in a child; netprop_here calls the same main() in this process."""
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def assert_one_line_error(proc, *fragments, code=2):
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    last = error_line(proc.stderr)
    for fragment in fragments:
        assert fragment in last, (fragment, last)


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """A quick Fashion-MNIST run through the command line, shared by the tests below.

    main() in this process: test_train_on_users_npz_and_csv starts `netprop train` and `evaluate`
    as children, test_predict_images_and_arrays `netprop predict`.
    """
    fashion_mnist_or_skip()
    out = tmp_path_factory.mktemp("runs") / "quick"
    proc = netprop_here("train", "--subset", "2000", "--epochs", "2", "--hidden", "32",
                        "--optimizer", "adam", "--lr", "0.003", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_train_writes_a_complete_run(fashion_run):
    out, metrics = fashion_run
    assert metrics["train_examples"] == 2000 and metrics["test_examples"] == 10000
    assert metrics["test_accuracy"] > 0.6 and metrics["run_dir"] == str(out)
    config = json.loads((out / "config.json").read_text())
    assert config["network"]["layer_sizes"] == [784, 32, 10]
    assert config["class_names"][0] == "T-shirt/top"
    assert config["training"]["config"]["optimizer"] == "adam"
    assert config["preprocessing"]["kind"] == "pixels"
    assert set(config["versions"]) >= {"netprop", "numpy", "python"}
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test_accuracy"] == metrics["test_accuracy"]
    report = (out / "report.md").read_text()
    assert "test accuracy" in report and "![confusion matrix](confusion.png)" in report
    for png in ("curves.png", "first_layer.png", "confusion.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_reproduces_the_test_accuracy(fashion_run):
    out, metrics = fashion_run
    proc = netprop_here("evaluate", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-12)
    assert report["cross_entropy"] == pytest.approx(metrics["test_loss"], rel=1e-9)
    cm = np.array(report["confusion_matrix"])
    assert cm.sum() == 10000 and np.trace(cm) / 1e4 == pytest.approx(report["accuracy"])
    text = netprop_here("evaluate", out).stdout
    assert "per-class accuracy" in text and "Ankle boot" in text and "confusion matrix" in text


def test_predict_images_and_arrays(fashion_run, tmp_path):
    from PIL import Image

    from netprop.data import load_fashion_mnist

    out, _ = fashion_run
    _, _, Xt, yt = load_fashion_mnist()
    trouser = Xt[yt == 1][0]
    np.save(tmp_path / "one.npy", trouser.reshape(28, 28))
    np.save(tmp_path / "stack.npy", Xt[:3])
    Image.fromarray(trouser.reshape(28, 28)).save(tmp_path / "trouser.png")
    proc = run_cli("predict", str(out), str(tmp_path / "one.npy"), str(tmp_path / "trouser.png"),
                   str(tmp_path / "stack.npy"), "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert [r["input"].rsplit("/", 1)[-1] for r in results] == [
        "one.npy", "trouser.png", "stack.npy[0]", "stack.npy[1]", "stack.npy[2]"]
    assert results[0]["class"] == "Trouser" and results[1]["class"] == "Trouser"
    for r in results:
        probs = [t["probability"] for t in r["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    text = netprop_here("predict", out, tmp_path / "trouser.png").stdout
    assert text.startswith(str(tmp_path / "trouser.png") + ": Trouser")


def test_train_on_users_npz_and_csv(tmp_path):
    train = synthetic_npz(tmp_path / "train.npz", d=40, n=400)
    test = synthetic_npz(tmp_path / "test.npz", d=40, n=200, noise_seed=1)   # same class centres
    proc = run_cli("train", "--data", str(train), "--test-data", str(test), "--hidden", "8",
                   "--epochs", "10", "--batch-size", "32", "--optimizer", "adam", "--lr", "0.01", "--out",
                   str(tmp_path / "run"), "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)
    assert metrics["test_accuracy"] > 0.9 and metrics["test_examples"] == 200
    with np.load(test) as d:
        rows = np.column_stack([d["y"], d["X"]])
    np.savetxt(tmp_path / "test.csv", rows, delimiter=",", fmt="%.6f")
    proc = run_cli("evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "test.csv"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=0.01)
    assert not (tmp_path / "run" / "first_layer.png").exists()    # 40 features are no image
    assert not (tmp_path / "run" / "first_layer_change.png").exists()


@pytest.mark.slow
def test_ctrl_c_saves_and_resume_matches_an_uninterrupted_run(tmp_path):
    data = synthetic_npz(tmp_path / "d.npz", n=6000, d=784)
    # 200 short epochs (~0.03 s each with the compiled step): the run must still be training when
    # the signal lands, however quick its steps become
    common = ["train", "--data", str(data), "--hidden", "64", "--epochs", "200", "--batch-size",
              "16", "--optimizer", "momentum", "--lr", "0.01"]
    whole = run_cli(*common, "--out", str(tmp_path / "whole"), "--quiet")
    assert whole.returncode == 0, whole.stderr

    cut = tmp_path / "cut"
    # A shell that starts this suite in the background makes its children ignore SIGINT, and
    # Python then installs no KeyboardInterrupt handler; give the child the default back.
    proc = subprocess.Popen([sys.executable, "-m", "netprop", *common, "--out", str(cut)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # The first checkpoint appears when epoch 1 ends; press Ctrl-C then, 199 epochs before the end.
    deadline = time.time() + 120
    while not (cut / "checkpoint.safetensors").exists() and time.time() < deadline:
        assert proc.poll() is None, "train ended before its first checkpoint"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"netprop train --resume {cut}" in err and "Traceback" not in err
    assert not (cut / "model.safetensors").exists()

    resumed = run_cli("train", "--resume", str(cut), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    a, _ = load_arrays(tmp_path / "whole" / "model.safetensors")
    b, _ = load_arrays(cut / "model.safetensors")
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_nan_loss_stops_with_a_hint_and_exit_3(tmp_path, capsys, monkeypatch):
    data = synthetic_npz(tmp_path / "d.npz", d=20)
    code = main(["train", "--data", str(data), "--hidden", "8", "--epochs", "3", "--lr", "1e30",
                 "--optimizer", "sgd", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert "became" in err[-1] and "--lr" in err[-1] and "epoch 1, step" in err[-1]


@pytest.mark.parametrize("args, fragments", [
    (["train", "--hidden", "0"], ["--hidden", "positive integers"]),
    (["train", "--hidden", "12,x"], ["--hidden"]),
    (["train", "--epochs", "-2"], ["--epochs"]),
    (["train", "--lr", "0"], ["--lr", "> 0"]),
    (["train", "--optimizer", "rmsprop"], ["invalid choice"]),
    (["train", "--validation", "1.5", "--data", "{npz}", "--out", "{tmp}/v"], ["validation fraction"]),
    (["train", "--data", "{tmp}/missing.npz", "--out", "{tmp}/x"], ["missing.npz", "no such file"]),
    (["train", "--data", "{tmp}/bad.csv", "--out", "{tmp}/x"], ["bad.csv", "numeric CSV"]),
    (["train", "--test-data", "{npz}"], ["--test-data needs --data"]),
    (["train", "--out", "{tmp}/full", "--data", "{npz}"], ["already exists and is not empty"]),
    (["train", "--resume", "{tmp}/nothing"], ["nothing to resume"]),
    (["train", "--data-dir", "{tmp}/empty", "--out", "{tmp}/y"], ["does not hold the four"]),
    (["evaluate", "{tmp}/nothing"], ["not a directory"]),
    (["evaluate", "{tmp}/empty"], ["missing config.json"]),
    (["predict", "{tmp}/empty", "x.png"], ["missing config.json"]),
])
def test_bad_input_one_line_no_traceback(tmp_path, args, fragments):
    npz = synthetic_npz(tmp_path / "d.npz", d=10, n=40)
    (tmp_path / "bad.csv").write_text("a,b\nc,d\n")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("precious")
    (tmp_path / "empty").mkdir()
    args = [a.format(tmp=tmp_path, npz=npz) for a in args]
    proc = netprop_here(*args)
    assert_one_line_error(proc, *fragments)
    assert (tmp_path / "full" / "keep.txt").read_text() == "precious"


def test_evaluate_and_predict_bad_input(tmp_path, fashion_run):
    out, _ = fashion_run
    np.savez(tmp_path / "wrong.npz", X=np.ones((3, 5)), y=[0, 1, 2])
    assert_one_line_error(netprop_here("evaluate", str(out), "--data", str(tmp_path / "wrong.npz")),
                          "5 features", "expects 784")
    np.savez(tmp_path / "labels.npz", X=np.ones((2, 784)), y=[0, 12])
    assert_one_line_error(netprop_here("evaluate", str(out), "--data", str(tmp_path / "labels.npz")),
                          "label 12")
    (tmp_path / "notes.txt").write_text("hello")
    assert_one_line_error(netprop_here("predict", str(out), str(tmp_path / "notes.txt")),
                          "unsupported file type .txt")
    np.save(tmp_path / "short.npy", np.ones(10))
    assert_one_line_error(netprop_here("predict", str(out), str(tmp_path / "short.npy")),
                          "does not hold examples of 784 values")
    (tmp_path / "fake.png").write_bytes(b"not an image")
    assert_one_line_error(netprop_here("predict", str(out), str(tmp_path / "fake.png")),
                          "not a readable image")
    assert_one_line_error(netprop_here("predict", str(out), str(tmp_path / "absent.npy")), "no such file")


def test_help_tells_the_truth():
    text = " ".join(netprop_here("train", "--help").stdout.split())
    from netprop.training.fit import TrainConfig
    d = TrainConfig()
    assert f"(default {d.hidden[0]})" in text and f"(default {d.epochs})" in text
    assert f"(default {d.optimizer})" in text and "/usr/share/datasets/fashion-mnist" in text
    predict_help = " ".join(netprop_here("predict", "--help").stdout.split())
    assert "inverted" in predict_help and "28×28" in predict_help


def test_step_schedule_flags_reach_the_run(tmp_path, capsys):
    data = synthetic_npz(tmp_path / "d.npz", d=20)
    code = main(["train", "--data", str(data), "--hidden", "8", "--epochs", "3", "--lr", "0.08",
                 "--optimizer", "momentum", "--schedule", "step", "--step-epochs", "1", "--gamma", "0.5",
                 "--out", str(tmp_path / "run"), "--quiet"])
    assert code == 0
    lines = (tmp_path / "run" / "history.csv").read_text().splitlines()[1:]
    # the last minibatch of epoch k (1-based) runs at lr·γ^(k−1)
    assert [float(line.split(",")[5]) for line in lines] == [0.08, 0.04, 0.02]


# a value other than the default for every TrainConfig field, as typed on the command line
SETTINGS = {"hidden": ("6,5", [6, 5]), "activation": ("tanh", "tanh"), "epochs": ("2", 2),
            "batch_size": ("17", 17), "lr": ("0.03", 0.03), "optimizer": ("nesterov", "nesterov"),
            "momentum": ("0.5", 0.5), "l2": ("0.001", 0.001), "schedule": ("step", "step"),
            "step_epochs": ("1", 1), "gamma": ("0.5", 0.5), "patience": ("4", 4), "augment": (None, True),
            "shift": ("3", 3), "seed": ("9", 9), "validation": ("0.3", 0.3)}


def subcommand_actions(name):
    from netprop.cli import build_parser

    (sub,) = [a for a in build_parser()._actions if a.choices and name in a.choices]
    return {a.dest: a for a in sub.choices[name]._actions}


def test_train_flags_are_the_fields_of_trainconfig(tmp_path):
    from dataclasses import asdict, fields

    from netprop.cli import CONFIG_FLAGS, build_parser
    from netprop.training.fit import TrainConfig

    names = [f.name for f in fields(TrainConfig)]
    assert set(SETTINGS) == set(names) and set(CONFIG_FLAGS) == set(names)   # each with written help
    args = vars(build_parser().parse_args(["train"]))
    not_settings = {"command", "func", "data_dir", "data", "test_data", "header", "subset", "out", "resume",
                    "quiet", "json",
                    # what the run records besides training (the course's landscape), not hyper-parameters
                    "landscape", "landscape_snapshots", "landscape_directions", "landscape_grid",
                    "landscape_examples", "landscape_margin"}
    assert set(args) - not_settings == set(names)
    assert TrainConfig(**{n: args[n] for n in names}) == TrainConfig()        # the same defaults

    # every flag reaches the run: its saved config is the values typed
    data = synthetic_npz(tmp_path / "d.npz", n=60, d=784, classes=3)
    flags = []
    for name, (text, _) in SETTINGS.items():
        flags += ["--" + name.replace("_", "-")] + ([text] if text is not None else [])
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet", *flags]) == 0
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["training"]["config"]
    assert saved == {name: value for name, (_, value) in SETTINGS.items()}
    assert saved == asdict(TrainConfig(**saved))


def test_tune_flags_that_set_trainconfig_fields_parse_as_train_does():
    from dataclasses import fields

    from netprop.training.fit import TrainConfig

    train, tune = subcommand_actions("train"), subcommand_actions("tune")
    shared = {f.name for f in fields(TrainConfig)} & set(tune)
    assert shared == {"optimizer", "validation", "seed"}
    for name in shared:
        assert (tune[name].type, tune[name].choices) == (train[name].type, train[name].choices), name
    assert tune["validation"].default == TrainConfig().validation and tune["seed"].default == TrainConfig().seed
    assert tune["optimizer"].default == "sgd"          # the course's plain minibatch SGD, on purpose
