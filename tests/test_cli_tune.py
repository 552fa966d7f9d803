"""`netprop tune` end to end: validation-only choice, resumable sweeps, local processes, a Dask LocalCluster.

The library's run_sweep is tested directly, on synthetic data, in test_tune.py.
"""

import json
import subprocess
import sys

import pytest

from helpers import error_line, fashion_mnist_or_skip, netprop_here, synthetic_npz
from netprop.training import tune
from netprop.cli import main
from netprop.training.tune import leaderboard

QUICK = ["--subset", "300", "--validation", "0.05", "--trials", "10", "--seed", "3"]


def run_cli(*args):
    """The real console command in a child; netprop_here calls the same main() in this process."""
    return subprocess.run([sys.executable, "-m", "netprop", *args], capture_output=True, text=True,
                          timeout=900)


def board_of(out):
    return [(r["trial"], r["val_accuracy"], r["val_loss"]) for r in
            leaderboard(json.loads((out / "trials.json").read_text()))]


@pytest.mark.slow
def test_sweep_chooses_on_validation_and_reads_test_once(tmp_path):
    fashion_mnist_or_skip()
    out = tmp_path / "sweep"
    proc = run_cli("tune", *QUICK, "--jobs", "2", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 10 and (out / "trials.csv").read_text().count("\n") == 11
    best = max(trials, key=lambda r: (r["val_accuracy"], -r["val_loss"], -r["trial"]))
    assert summary["best"]["trial"] == best["trial"]
    assert [r["trial"] for r in summary["leaderboard"]] == [t for t, _, _ in board_of(out)]
    # nothing in the sweep itself mentions the test set; the chosen setting's run does, once
    assert all("test" not in k for r in trials for k in r)
    final = json.loads((out / "best" / "metrics.json").read_text())
    assert final["validation_accuracy"] == pytest.approx(best["val_accuracy"])
    assert 0.3 < final["test_accuracy"] <= 1 and final["train_examples"] == 300
    report = (out / "report.md").read_text()
    assert "read once" in report and (out / "trials.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_interrupted_sweep_skips_finished_trials(tmp_path):
    fashion_mnist_or_skip()
    out = tmp_path / "sweep"
    first = run_cli("tune", *QUICK, "--out", str(out), "--no-final", "--quiet")
    assert first.returncode == 0, first.stderr
    full = board_of(out)
    kept = json.loads((out / "trials.json").read_text())[:7]      # as if stopped after 7 trials
    (out / "trials.json").write_text(json.dumps(kept))
    again = run_cli("tune", *QUICK, "--out", str(out), "--no-final")
    assert again.returncode == 0, again.stderr
    assert "7 already done" in again.stderr and "running 3" in again.stderr
    assert board_of(out) == full
    other = run_cli("tune", "--subset", "300", "--trials", "4", "--out", str(out), "--no-final")
    assert other.returncode == 2 and "holds a different sweep" in other.stderr


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_leaderboard(tmp_path):
    fashion_mnist_or_skip()
    distributed = pytest.importorskip("distributed")
    local = run_cli("tune", *QUICK, "--out", str(tmp_path / "local"), "--no-final", "--quiet")
    assert local.returncode == 0, local.stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = run_cli("tune", *QUICK, "--out", str(tmp_path / "cluster"), "--no-final",
                         "--scheduler", cluster.scheduler_address)
    assert remote.returncode == 0, remote.stderr
    assert "Dask cluster" in remote.stderr
    assert board_of(tmp_path / "cluster") == board_of(tmp_path / "local")


@pytest.mark.parametrize("args, fragment", [
    (["--grid", "--trials", "3"], "not allowed with argument"),
    (["--scheduler", "localhost:8786"], "must be an address like tcp://"),
    (["--scheduler", "tcp://127.0.0.1:9", "--jobs", "2"], "--jobs is for local processes"),
    (["--out", "{tmp}/notasweep"], "not a sweep directory"),
    (["--test-data", "{tmp}/t.npz"], "--test-data needs --data"),
])
def test_bad_input(tmp_path, args, fragment):
    (tmp_path / "notasweep").mkdir()
    (tmp_path / "notasweep" / "x").write_text("mine")
    # the sweep's own refusal through the console script; the parser's, through main() in this process
    run = run_cli if args[0] == "--out" else netprop_here
    proc = run("tune", *[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode == 2
    assert fragment in error_line(proc.stderr)
    assert (tmp_path / "notasweep" / "x").read_text() == "mine"


def test_ctrl_c_during_the_trials_says_how_to_continue(tmp_path, capsys, monkeypatch):
    data = synthetic_npz(tmp_path / "d.npz", n=120, d=10, classes=3)
    real = tune.run_trial

    def second_is_interrupted(trial, *args):
        if trial.number == 2:
            raise KeyboardInterrupt
        return real(trial, *args)

    monkeypatch.setattr(tune, "run_trial", second_is_interrupted)
    out = tmp_path / "sweep"
    assert main(["tune", "--data", str(data), "--trials", "3", "--out", str(out), "--no-final"]) == 130
    err = capsys.readouterr().err
    assert "interrupted after 1 of 3 trials; run the same command again" in err
    assert [r["trial"] for r in json.loads((out / "trials.json").read_text())] == [1]
