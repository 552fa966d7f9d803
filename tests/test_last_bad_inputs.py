"""Issue 21's last bad inputs: each refused (or done right) with one line naming the file or flag.

Every test here failed on the code before the fix: complex and out-of-range .npy arrays were
predicted, a corrupt sweep.json was overwritten, a batch larger than the split blamed --hidden,
--lr 1e300 suggested 1e+299, explain served an empty directory, --resume redid a finished run.
"""

import json

import numpy as np
import pytest

import netprop
from helpers import synthetic_npz
from netprop.cli import main
from netprop.data import DataError, Preprocessing, load_predict_inputs
from netprop.storage.models import TrainedModel, directory_lock, save_model
from netprop.training import train_run as train_run_mod
from netprop.training.fit import TrainConfig
from netprop.training.tune import SweepError, grid_trials, run_sweep

GRID = {"hidden": [4], "lr": [0.05, 0.3], "batch_size": [32], "epochs": [2], "l2": [0.0]}


def last_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


def snapshot(directory):
    """Every file under directory: its bytes and modification time (what "nothing changed" means)."""
    return {str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def pixel_model(tmp_path):
    """A saved 784-8-10 model whose preprocessing is Fashion-MNIST's kind: pixels 0..255."""
    net = netprop.Network([784, 8, 10], seed=0)
    pre = Preprocessing("pixels", np.full(784, 72.0), np.full(784, 90.0))
    return save_model(TrainedModel(net, pre, [f"c{k}" for k in range(10)]), tmp_path / "model")


# --- predict --------------------------------------------------------------------------------


def test_predict_refuses_a_complex_npy_naming_it(tmp_path, pixel_model, capsys):
    path = tmp_path / "x.npy"
    np.save(path, np.full(784, 100.0) + 3j)
    assert main(["predict", str(pixel_model), str(path)]) == 2
    line = last_error_line(capsys)
    assert "x.npy" in line and "complex" in line


@pytest.mark.parametrize("value", [-5000.0, 40000.0])
def test_predict_refuses_pixels_far_outside_0_255(tmp_path, pixel_model, capsys, value):
    pixels = np.full((2, 28, 28), 30.0)
    pixels[1, 5, 5] = value
    path = tmp_path / "far.npy"
    np.save(path, pixels)
    assert main(["predict", str(pixel_model), str(path)]) == 2
    line = last_error_line(capsys)
    assert "far.npy" in line and f"{value:g}" in line and "0..255" in line


def test_gray_levels_are_predicted_and_other_units_only_for_feature_models(tmp_path, pixel_model, capsys):
    np.save(tmp_path / "ok.npy", np.array([[0, 255] * 392], dtype=np.uint8))
    assert main(["predict", str(pixel_model), str(tmp_path / "ok.npy"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    # a model trained on a user's table reads features in its own units: no pixel range applies
    np.save(tmp_path / "far.npy", np.full(784, 40000.0))
    assert len(load_predict_inputs([tmp_path / "far.npy"], 784, pixels=False)) == 1
    with pytest.raises(DataError, match="40000"):
        load_predict_inputs([tmp_path / "far.npy"], 784, pixels=True)


# --- tune -------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    train = synthetic_npz(tmp_path / "train.npz", n=150, d=12, classes=3)
    test = synthetic_npz(tmp_path / "test.npz", n=60, d=12, classes=3, noise_seed=1)
    return {"kind": "file", "path": str(train), "test_path": str(test)}


@pytest.mark.parametrize("text", ['{"trials": [{"number": 1, "par', "[" * 10_000 + "]" * 10_000])
def test_tune_refuses_a_corrupt_sweep_json_without_trials(tmp_path, files, text):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "sweep.json").write_text(text)
    with pytest.raises(SweepError, match="sweep.json"):
        run_sweep(out, grid_trials(GRID), files, final=False)
    assert [p.name for p in out.iterdir()] == ["sweep.json"]
    assert (out / "sweep.json").read_text() == text


@pytest.mark.slow          # a sweep; test_tune.py's sweep tests stay
def test_tune_replaces_a_readable_sweep_json_that_finished_no_trial(tmp_path, files):
    out = tmp_path / "sweep"
    out.mkdir()
    stale = tune_spec = {"trials": [{"number": 1, "params": {"hidden": [9]}}], "source": files,
                         "seed": 7, "validation": 0.3, "subset": None}
    (out / "sweep.json").write_text(json.dumps(stale))
    result = run_sweep(out, grid_trials(GRID), files, final=False)
    assert result.summary["trials"] == 2
    assert json.loads((out / "sweep.json").read_text())["seed"] == 0 != tune_spec["seed"]


@pytest.mark.slow          # two sweeps; test_tune.py's sweep tests stay
def test_tune_rerun_with_other_flags_names_the_flag(tmp_path, capsys):
    data = synthetic_npz(tmp_path / "d.npz", n=150, d=12, classes=3)
    out = tmp_path / "sweep"
    base = ["tune", "--data", str(data), "--trials", "1", "--no-final", "--quiet", "--out", str(out)]
    assert main([*base, "--seed", "1"]) == 0
    before = snapshot(out)
    assert main([*base, "--seed", "2"]) == 2
    line = last_error_line(capsys)
    assert "holds a different sweep" in line and "--seed 2 (that sweep: 1)" in line
    assert main([*base, "--seed", "1", "--validation", "0.3"]) == 2
    assert "--validation 0.3 (that sweep: 0.2)" in last_error_line(capsys)
    assert main([*base[:4], "2", *base[5:], "--seed", "1"]) == 2
    assert "2 trials" in last_error_line(capsys)
    assert snapshot(out) == before


@pytest.mark.parametrize("command", ["train", "tune"])
def test_out_given_a_file_says_it_is_a_file(tmp_path, capsys, command):
    data = synthetic_npz(tmp_path / "d.npz", n=60, d=6, classes=2)
    (tmp_path / "notes.txt").write_text("precious")
    assert main([command, "--data", str(data), "--out", str(tmp_path / "notes.txt")]) == 2
    line = last_error_line(capsys)
    assert "notes.txt is a file" in line and "not empty" not in line
    assert (tmp_path / "notes.txt").read_text() == "precious"


# --- train ------------------------------------------------------------------------------------


def test_a_batch_larger_than_the_split_is_one_minibatch(tmp_path, capsys):
    data = synthetic_npz(tmp_path / "d.npz", n=400, d=20, classes=3)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--subset", "200", "--batch-size", "1000000000",
                 "--hidden", "8", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    _, meta = train_run_mod.read_checkpoint(out / train_run_mod.CHECKPOINT)
    assert meta["state"]["step"] == 3                     # one step per epoch: the whole split at once
    assert json.loads((out / "metrics.json").read_text())["train_examples"] == 200


def test_a_batch_too_large_for_memory_is_blamed_on_batch_size_not_hidden():
    config = TrainConfig(hidden=[512], batch_size=10**9)
    with pytest.raises(ValueError, match=r"--batch-size 1000000000") as caught:
        train_run_mod.check_training_memory([784, 512, 10], config, n_examples=10**9)
    assert "--hidden" not in str(caught.value)
    with pytest.raises(ValueError, match=r"\(--hidden\)"):         # the network itself too large
        train_run_mod.check_training_memory([784, 10**8, 10], TrainConfig(hidden=[10**8]), n_examples=200)


@pytest.mark.slow          # trains until it diverges; test_train.py's NaN tests stay
def test_divergence_suggests_a_rate_that_works(tmp_path, capsys):
    data = synthetic_npz(tmp_path / "d.npz", n=300, d=20, classes=3)
    common = ["train", "--data", str(data), "--hidden", "8", "--epochs", "20", "--batch-size", "16", "--quiet"]
    assert main([*common, "--lr", "1e300", "--out", str(tmp_path / "wild")]) == 3
    line = last_error_line(capsys)
    assert "1e+299" not in line and "--lr 0.002 (the default)" in line
    suggested = line.split("--lr ")[1].split()[0]
    assert main([*common, "--lr", suggested, "--out", str(tmp_path / "tame")]) == 0
    assert json.loads((tmp_path / "tame" / "metrics.json").read_text())["validation_accuracy"] > 0.9


@pytest.fixture
def finished_run(tmp_path):
    train = synthetic_npz(tmp_path / "train.npz", n=200, d=784, classes=3)
    test = synthetic_npz(tmp_path / "test.npz", n=60, d=784, classes=3, noise_seed=1)
    out = tmp_path / "run"
    assert main(["train", "--data", str(train), "--test-data", str(test), "--hidden", "8", "--epochs", "2",
                 "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.slow          # a training run; test_train.py's resume test stays
def test_resuming_a_finished_run_changes_nothing_and_reads_no_data(finished_run, capsys, monkeypatch):
    before = snapshot(finished_run)
    assert "report.md" in before and "first_layer.png" in before

    def no_reading(*args, **kwargs):
        raise AssertionError("a finished run's data (its test set) was read again")

    monkeypatch.setattr(train_run_mod, "load_dataset", no_reading)
    assert main(["train", "--resume", str(finished_run)]) == 0
    err = capsys.readouterr().err
    assert "is finished" in err and "nothing changed" in err and "Traceback" not in err
    assert snapshot(finished_run) == before


@pytest.mark.slow          # a training run; test_train.py's resume test stays
def test_a_run_killed_before_its_report_still_finishes_on_resume(finished_run):
    (finished_run / "report.md").unlink()
    assert main(["train", "--resume", str(finished_run), "--quiet"]) == 0
    assert "test accuracy" in (finished_run / "report.md").read_text()


# --- explain ---------------------------------------------------------------------------------


def test_explain_refuses_a_directory_that_is_not_a_run(tmp_path, capsys, monkeypatch):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    import importlib

    def serving(**kwargs):           # the run view would wait forever for this directory's epochs
        raise AssertionError(f"served {kwargs['run_dir']}")

    # the module: netprop.explain as an attribute is the notebook function of the same name
    monkeypatch.setattr(importlib.import_module("netprop.explain"), "serve", serving)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    assert main(["explain", str(tmp_path / "notes"), "--no-browser"]) == 2
    line = last_error_line(capsys)
    assert "not a run directory" in line and "notes" in line


def test_a_run_just_started_is_still_a_run_directory(tmp_path):
    from netprop.explain import run_directory_problem

    starting = tmp_path / "starting"
    starting.mkdir()
    assert "not a run directory" in run_directory_problem(starting)
    with directory_lock(starting):                     # what netprop train holds before its first epoch
        assert run_directory_problem(starting) is None
    (starting / "checkpoint.safetensors").write_bytes(b"")
    assert run_directory_problem(starting) is None
