"""tune's library: trial generation and run_sweep (resume, refusals, the test set read once) on synthetic data."""

import json

import numpy as np
import pytest

import netprop
from helpers import synthetic_npz
from netprop import data as data_mod
from netprop.training import tune
from netprop.training.tune import SweepError, grid_trials, random_trials, run_sweep

# 4 settings of a tiny network: a few hundred milliseconds for the whole sweep
GRID = {"hidden": [4, 8], "lr": [0.05, 0.3], "batch_size": [32], "epochs": [3], "l2": [0.0]}


@pytest.fixture
def files(tmp_path):
    train = synthetic_npz(tmp_path / "train.npz", n=240, d=20, classes=3)
    test = synthetic_npz(tmp_path / "test.npz", n=90, d=20, classes=3, noise_seed=1)
    return {"kind": "file", "path": str(train), "test_path": str(test)}


@pytest.fixture
def reads(monkeypatch):
    """The paths data.load_table opens, in order (run.load_dataset reads users' files through it)."""
    seen = []
    real = data_mod.load_table

    def recording(path, **options):
        seen.append(str(path))
        return real(path, **options)

    monkeypatch.setattr(data_mod, "load_table", recording)
    return seen


def test_random_trials_cover_the_course_ranges():
    trials = random_trials(200, seed=0)
    assert len({t.key for t in trials}) == 200
    assert {t.params["hidden"][0] for t in trials} == {30, 40, 50, 100, 200}
    lrs = [t.params["lr"] for t in trials]
    assert 0.001 <= min(lrs) < 0.003 and 0.2 < max(lrs) <= 0.5
    assert {t.params["batch_size"] for t in trials} == {16, 32, 64, 128, 256}
    assert [t.params for t in random_trials(5, seed=0)] == [t.params for t in trials[:5]]


def test_grid_trials_are_the_product():
    trials = grid_trials(GRID, optimizer="momentum")
    assert [t.number for t in trials] == [1, 2, 3, 4]
    assert [(t.params["hidden"], t.params["lr"]) for t in trials] == [([4], 0.05), ([4], 0.3), ([8], 0.05),
                                                                      ([8], 0.3)]
    assert {t.params["optimizer"] for t in trials} == {"momentum"}


def test_sweep_chooses_on_validation_and_reads_the_test_file_once(tmp_path, files, reads):
    events = []
    out = tmp_path / "sweep"
    sweep = run_sweep(out, grid_trials(GRID), files, seed=1, validation=0.25, search="grid",
                      callback=lambda event, **info: events.append(event))
    assert events == ["start", "result", "result", "result", "result", "final"]
    # the trials read the training file; only the chosen setting's run opened the test file
    assert reads.count(files["test_path"]) == 1 and reads[-1] == files["test_path"]

    trials = json.loads((out / "trials.json").read_text())
    assert [r["trial"] for r in trials] == [1, 2, 3, 4] and all("test" not in k for r in trials for k in r)
    best = max(trials, key=lambda r: (r["val_accuracy"], -r["val_loss"], -r["trial"]))
    assert sweep.best["trial"] == best["trial"] and sweep.leaderboard[0] == best
    assert (out / "trials.csv").read_text().count("\n") == 5
    assert json.loads((out / "summary.json").read_text())["best"]["trial"] == best["trial"]
    assert (out / "trials.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert "4 settings (grid, seed 1)" in report and "read once" in report

    # the retrain in best/ is the chosen trial again: same seed, same validation score
    final = json.loads((out / "best" / "metrics.json").read_text())
    assert final["validation_accuracy"] == pytest.approx(best["val_accuracy"])
    # its test accuracy, recomputed here from the saved W, b and preprocessing, forward by hand
    model = netprop.load(out / "best")
    with np.load(files["test_path"]) as d:
        X, y = d["X"].astype(np.float64), d["y"]
    h = (X - model.preprocessing.mean) / model.preprocessing.std
    for W, b in zip(model.net.weights[:-1], model.net.biases[:-1]):
        h = np.maximum(h @ W.T.astype(np.float64) + b, 0.0)
    logits = h @ model.net.weights[-1].T.astype(np.float64) + model.net.biases[-1]
    assert sweep.summary["final"]["test_accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y), abs=1e-9)
    assert sweep.final.metrics == sweep.summary["final"]


@pytest.mark.slow          # a sweep; the sweep that reads the test file once stays
def test_without_final_the_test_file_is_never_read(tmp_path, files, reads):
    sweep = run_sweep(tmp_path / "sweep", grid_trials(GRID), files, final=False)
    assert files["test_path"] not in reads and sweep.final is None
    assert not (tmp_path / "sweep" / "best").exists() and "final" not in sweep.summary


@pytest.mark.slow          # two sweeps; test_cli_tune.py's interrupted sweep stays
def test_resume_runs_only_the_unfinished_trials(tmp_path, files, monkeypatch):
    out = tmp_path / "sweep"
    trials = grid_trials(GRID)
    first = run_sweep(out, trials, files, final=False)
    kept = json.loads((out / "trials.json").read_text())[:2]      # as if stopped after 2 trials
    (out / "trials.json").write_text(json.dumps(kept))

    ran, real = [], tune.run_trial
    monkeypatch.setattr(tune, "run_trial", lambda trial, *a: ran.append(trial.number) or real(trial, *a))
    starts = []
    again = run_sweep(out, trials, files, final=False,
                      callback=lambda event, **info: starts.append(info) if event == "start" else None)
    assert ran == [3, 4]
    assert [len(starts[0]["done"]), len(starts[0]["todo"])] == [2, 2]
    # one BLAS thread and seeded trials: the resumed sweep ends with the very same numbers
    same = ["trial", "val_accuracy", "val_loss", "best_epoch"]
    assert [[r[k] for k in same] for r in again.leaderboard] == [[r[k] for k in same] for r in first.leaderboard]


@pytest.mark.slow          # two sweeps; test_cli_tune.py's interrupted sweep stays
def test_an_interrupted_sweep_keeps_its_finished_trials(tmp_path, files):
    out = tmp_path / "sweep"

    def stop_after_two(event, **info):
        if event == "result" and len(info["results"]) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(out, grid_trials(GRID), files, final=False, callback=stop_after_two)
    assert len(json.loads((out / "trials.json").read_text())) == 2
    assert not (out / "summary.json").exists()
    assert run_sweep(out, grid_trials(GRID), files, final=False).summary["trials"] == 4


@pytest.mark.slow          # a sweep; test_cli_tune.py's interrupted sweep stays
def test_a_different_sweep_or_a_foreign_directory_is_refused(tmp_path, files):
    out = tmp_path / "sweep"
    run_sweep(out, grid_trials(GRID), files, final=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(SweepError, match="holds a different sweep"):
        run_sweep(out, grid_trials(GRID), files, seed=5, final=False)
    with pytest.raises(SweepError, match="holds a different sweep"):
        run_sweep(out, grid_trials(GRID), dict(files, test_path=None), final=False)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before

    (out / "sweep.json").write_text("{not json")
    with pytest.raises(SweepError, match="sweep.json: not valid JSON"):
        run_sweep(out, grid_trials(GRID), files, final=False)

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(SweepError, match="not a sweep directory"):
        run_sweep(mine, grid_trials(GRID), files)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_bad_settings_are_refused_before_anything_is_written(tmp_path, files):
    with pytest.raises(ValueError, match="validation fraction must be in"):
        run_sweep(tmp_path / "a", grid_trials(GRID), files, validation=1.5)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        run_sweep(tmp_path / "b", grid_trials(GRID, optimizer="rmsprop"), files)
    with pytest.raises(SweepError, match="at least one trial"):
        run_sweep(tmp_path / "c", [], files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.npz", "train.npz"]


@pytest.mark.slow          # a sweep; the sweep that reads the test file once stays
def test_every_trial_diverging_is_an_error_with_the_trials_kept(tmp_path, files):
    wild = dict(GRID, lr=[1e30], hidden=[4])
    with pytest.raises(SweepError, match="every trial diverged"):
        run_sweep(tmp_path / "sweep", grid_trials(wild), files)
    (result,) = json.loads((tmp_path / "sweep" / "trials.json").read_text())
    assert result["status"].startswith("diverged at epoch 1")
    assert not (tmp_path / "sweep" / "summary.json").exists() and not (tmp_path / "sweep" / "best").exists()


@pytest.mark.slow          # two sweeps; test_cli_tune.py's interrupted sweep stays
def test_continuing_a_sweep_removes_what_a_killed_write_left(tmp_path, files):
    out = tmp_path / "sweep"
    run_sweep(out, grid_trials(GRID), files, final=False)
    stale = out / ".trials.json.k3j9x2ab.tmp"               # atomic_write's temporary, as kill -9 leaves it
    stale.write_text("[{half a list")
    kept = out / "notes.tmp"                                # not one of netprop's temporaries: left alone
    kept.write_text("mine")
    run_sweep(out, grid_trials(GRID), files, final=False)
    assert not stale.exists() and kept.read_text() == "mine"
