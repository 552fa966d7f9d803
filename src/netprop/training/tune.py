"""Hyper-parameter search chosen on the validation split only, on local processes or a Dask cluster.

Every trial trains on the training split and is scored on the validation split; no trial scores
or keeps the test set (a user's test file is not even opened).  run_sweep (what ``netprop tune``
does) scores it once, for the chosen setting, through run.train_run.  A trial's result depends
only on its setting and the data: each runs with one BLAS thread, so a sweep gives the same
leaderboard on one machine, on several processes or on a Dask cluster.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import csv
import io as _io
import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..storage.models import atomic_write, clean_stale_temporaries, directory_lock, write_json
from .fit import TrainConfig

# The course's suggested ranges: hidden 30/40/50 and larger, learning rate 0.001–0.5 (plain
# minibatch SGD, as in the exercise), minibatch 16–256; plus epochs and L2 strength.
DEFAULT_SPACE = {
    "hidden": [30, 40, 50, 100, 200],
    "lr": (0.001, 0.5),                 # log-uniform for random search
    "batch_size": [16, 32, 64, 128, 256],
    "epochs": [5, 10, 20],
    "l2": [0.0, 1e-5, 1e-4, 1e-3],
}
DEFAULT_GRID = {
    "hidden": [30, 50, 100],
    "lr": [0.01, 0.05, 0.2],
    "batch_size": [64],
    "epochs": [10],
    "l2": [0.0, 1e-4],
}


@dataclass
class Trial:
    """One setting to try: its number in the sweep and the TrainConfig fields it sets."""

    number: int
    params: dict

    @property
    def key(self):
        return hashlib.sha256(json.dumps(self.params, sort_keys=True).encode()).hexdigest()[:12]


def random_trials(n, seed, space=None, optimizer="sgd"):
    """n settings drawn from the space with a seeded generator (log-uniform learning rate)."""
    space = space or DEFAULT_SPACE
    rng = np.random.default_rng(seed)
    trials = []
    for k in range(n):
        lo, hi = space["lr"]
        params = {
            "hidden": [int(rng.choice(space["hidden"]))],
            "lr": float(f"{math.exp(rng.uniform(math.log(lo), math.log(hi))):.4g}"),
            "batch_size": int(rng.choice(space["batch_size"])),
            "epochs": int(rng.choice(space["epochs"])),
            "l2": float(rng.choice(space["l2"])),
            "optimizer": optimizer,
        }
        trials.append(Trial(k + 1, params))
    return trials


def grid_trials(grid=None, optimizer="sgd"):
    """Every combination of the grid's hidden, lr, batch_size, epochs and l2 values, numbered from 1."""
    grid = grid or DEFAULT_GRID
    trials = []
    for k, values in enumerate(itertools.product(*(grid[name] for name in ("hidden", "lr", "batch_size",
                                                                            "epochs", "l2"))), start=1):
        hidden, lr, batch, epochs, l2 = values
        trials.append(Trial(k, {"hidden": [int(hidden)], "lr": float(lr), "batch_size": int(batch),
                                "epochs": int(epochs), "l2": float(l2), "optimizer": optimizer}))
    return trials


@functools.lru_cache(maxsize=4)
def _prepared(source_json, seed, validation, subset):
    """Data for trials, loaded once per process (a Dask worker keeps it between trials).

    A user's test file is left unread: no trial may look at it.
    """
    from .train_run import load_dataset, prepare

    source = json.loads(source_json)
    if source.get("test_path"):
        source["test_path"] = None
    dataset = load_dataset(source)
    prepared = prepare(dataset, TrainConfig(seed=seed, validation=validation), subset)
    return dataset.image_shape, len(dataset.class_names), prepared


def run_trial(trial, source, seed, validation, subset):
    """Train one setting on the training split and score it on the validation split.

    Runs with one BLAS thread, so the numbers do not depend on where it runs.  Returns a dict.
    """
    from threadpoolctl import threadpool_limits

    from .train_run import build_network
    from .fit import TrainingDiverged, fit

    image_shape, n_classes, data = _prepared(json.dumps(source, sort_keys=True), seed, validation, subset)
    config = TrainConfig(seed=seed, validation=validation, **trial.params)
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        net = build_network(data.X_train.shape[1], n_classes, config)
        try:
            state = fit(net, data.X_train, data.y_train, data.X_val, data.y_val, config,
                        image_shape=image_shape, fill=data.fill)
            best = state.history[state.best_epoch - 1]
            outcome = {"val_accuracy": best["val_accuracy"], "val_loss": best["val_loss"],
                       "best_epoch": state.best_epoch, "status": "ok"}
        except TrainingDiverged as exc:
            outcome = {"val_accuracy": 0.0, "val_loss": math.inf, "best_epoch": 0,
                       "status": f"diverged at epoch {exc.epoch}"}
    return {"trial": trial.number, "key": trial.key, **trial.params, **outcome,
            "seconds": time.perf_counter() - started}


def _limit_blas():
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def run_trials(trials, source, seed, validation, subset, jobs=1, scheduler=None, on_result=None):
    """Run trials locally (jobs processes) or on the Dask cluster at scheduler; yields results as they end."""
    args = (source, seed, validation, subset)
    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler, timeout="30s") as client:
            futures = [client.submit(run_trial, t, *args, key=f"netprop-trial-{t.key}", pure=False)
                       for t in trials]
            for future in as_completed(futures):
                yield future.result()
        return
    if jobs <= 1:
        for t in trials:
            yield run_trial(t, *args)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_limit_blas) as pool:
        futures = [pool.submit(run_trial, t, *args) for t in trials]
        for future in as_completed(futures):
            yield future.result()


def leaderboard(results):
    """Results best first: by validation accuracy, then lower validation loss, then trial number."""
    return sorted(results, key=lambda r: (-r["val_accuracy"], r["val_loss"], r["trial"]))


def trial_from_result(result):
    """The Trial a result row (run_trial's dict) came from."""
    params = {k: result[k] for k in ("hidden", "lr", "batch_size", "epochs", "l2", "optimizer")}
    return Trial(result["trial"], params)


def sweep_spec(trials, source, seed, validation, subset):
    """What makes two sweeps the same sweep: written to sweep.json, compared when resuming."""
    return {"trials": [asdict(t) for t in trials], "source": source, "seed": seed,
            "validation": validation, "subset": subset}


# --- a whole sweep ---------------------------------------------------------------------

TRIAL_COLUMNS = ["trial", "hidden", "lr", "batch_size", "epochs", "l2", "optimizer", "val_accuracy",
                 "val_loss", "best_epoch", "status", "seconds"]


class SweepError(ValueError):
    """A sweep that cannot start or finish: a foreign --out, an unreachable cluster, no usable trial."""


@dataclass
class SweepResult:
    """What run_sweep made: every result best first, the chosen one, and its final run (or None).

    summary is summary.json as written: out_dir, trials, best, leaderboard and, after the final
    retrain, final (that run's metrics, with the test set's one score).
    """

    out_dir: Path
    leaderboard: list
    best: dict
    final: object = None                # run.RunResult of best/, or None with final=False
    summary: dict = field(default_factory=dict)


def write_trials(out_dir, results):
    """trials.json and trials.csv in out_dir, in trial order, each written atomically."""
    ordered = sorted(results, key=lambda r: r["trial"])
    write_json(Path(out_dir) / "trials.json", ordered)
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TRIAL_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in ordered:
        writer.writerow(dict(r, hidden=",".join(map(str, r["hidden"]))))
    with atomic_write(Path(out_dir) / "trials.csv", "w") as fh:
        fh.write(buf.getvalue())


def _finished_trials(out_dir, spec):
    """The results already in out_dir for this very sweep, by trial key; refuses any other sweep.

    sweep.json and trials.json are read with bounded depth and checked field by field (schema).
    A readable sweep.json without trials.json is a sweep that finished no trial (refused, say, for
    a bad flag): a corrected command replaces it.  An unreadable one (truncated, too deeply nested)
    is refused naming it: netprop did not write it, so it is not netprop's to overwrite.
    """
    from ..storage.schema import SchemaError, load_sweep, load_trials

    if out_dir.exists() and not out_dir.is_dir():
        raise SweepError(f"--out {out_dir} is a file; give a directory for the sweep")
    has_sweep, has_trials = (out_dir / "sweep.json").is_file(), (out_dir / "trials.json").is_file()
    try:
        previous = load_sweep(out_dir / "sweep.json") if has_sweep else None
        finished = load_trials(out_dir / "trials.json") if has_sweep and has_trials else None
    except SchemaError as exc:
        raise SweepError(f"{exc}; choose another directory, or remove the file to start over") from None
    if finished is not None:
        # through JSON, so tuples and lists compare as they were saved
        differ = sweep_differences(previous, json.loads(json.dumps(spec)))
        if differ:
            raise SweepError(f"--out {out_dir} holds a different sweep: {'; '.join(differ)}; repeat that "
                             f"sweep's flags to continue it, or choose another directory")
        return {r["key"]: r for r in finished}
    if has_sweep:
        return {}
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SweepError(f"--out {out_dir} already exists and is not a sweep directory")
    return {}


def sweep_differences(saved, given):
    """What differs between two sweep specs (sweep_spec), each named by the flag that sets it."""
    differ = []
    for key, flag in (("seed", "--seed"), ("validation", "--validation"), ("subset", "--subset")):
        if saved.get(key) != given.get(key):
            differ.append(f"{flag} {given.get(key)} (that sweep: {saved.get(key)})")
    for key in sorted(set(saved["source"]) | set(given["source"])):
        if saved["source"].get(key) != given["source"].get(key):
            flag = {"path": "--data", "test_path": "--test-data", "data_dir": "--data-dir",
                    "header": "--header", "kind": "--data"}.get(key, key)
            differ.append(f"{flag} {given['source'].get(key)} (that sweep: {saved['source'].get(key)})")
    saved_trials, given_trials = saved["trials"], given["trials"]
    saved_opt = {t["params"].get("optimizer") for t in saved_trials}
    given_opt = {t["params"].get("optimizer") for t in given_trials}
    if saved_opt != given_opt:
        differ.append(f"--optimizer {', '.join(map(str, given_opt))} (that sweep: {', '.join(map(str, saved_opt))})")
    if len(saved_trials) != len(given_trials):
        differ.append(f"{len(given_trials)} trials (--trials or --grid; that sweep: {len(saved_trials)})")
    elif saved_trials != given_trials and not differ:
        differ.append("the trials' settings (--grid or --trials, drawn with --seed)")
    return differ


def run_sweep(out_dir, trials, source, seed=0, validation=0.2, subset=None, jobs=1, scheduler=None,
              final=True, search="random search", callback=None):
    """Run the trials not yet finished in out_dir, choose on validation, retrain the choice once.

    Parameters
    ----------
    out_dir : the sweep directory; one holding this same sweep (sweep.json) is continued, its
        finished trials (trials.json) skipped; a non-empty directory holding anything else is refused.
    trials : list of Trial (random_trials, grid_trials); source : run.load_dataset's source dict.
    seed, validation, subset : as TrainConfig.seed, TrainConfig.validation and train_run's subset,
        the same for every trial.
    jobs : local processes (one BLAS thread each); scheduler : a Dask scheduler address instead.
    final : train the best setting again in out_dir/best and score the test set there, once.
    search : how the trials were drawn, in words for report.md ("random search", "grid").
    callback : optional callable(event, **info): "start" (trials, done, todo: lists of Trial and
        result dicts; out_dir), "result" (result, results: all so far) after each trial is saved, and
        "final" (best, out_dir) before the retrain.  A KeyboardInterrupt inside a trial leaves
        every finished trial saved; the same call continues the sweep.

    Writes sweep.json, trials.json, trials.csv (after every trial), trials.png, summary.json,
    report.md and best/.  Returns SweepResult.  Raises SweepError (a ValueError) as listed
    above or when every trial diverged, ValueError for settings TrainConfig refuses.
    """
    out_dir = Path(out_dir)
    callback = callback or (lambda event, **info: None)
    if not trials:
        raise SweepError("a sweep needs at least one trial")
    for t in trials:                    # refuse bad settings before anything is written
        TrainConfig(seed=seed, validation=validation, **t.params)
    spec = sweep_spec(trials, source, seed, validation, subset)
    _finished_trials(out_dir, spec)               # refuse another sweep before creating anything
    out_dir.mkdir(parents=True, exist_ok=True)
    with directory_lock(out_dir):                 # one sweep per directory at a time
        clean_stale_temporaries(out_dir)          # what a killed sweep's writes left (trials.json, …)
        done = _finished_trials(out_dir, spec)    # as it is now that no one else writes there
        write_json(out_dir / "sweep.json", spec)
        return _sweep(out_dir, trials, done, source, seed, validation, subset, jobs, scheduler, final,
                      search, callback)


def _sweep(out_dir, trials, done, source, seed, validation, subset, jobs, scheduler, final, search, callback):
    """run_sweep's work, in out_dir locked and holding this sweep's sweep.json."""
    from .plots import plot_trials
    from .train_run import train_run

    todo = [t for t in trials if t.key not in done]
    results = list(done.values())
    callback("start", trials=trials, done=results[:], todo=todo, out_dir=out_dir)
    pending = run_trials(todo, source, seed, validation, subset, jobs=jobs, scheduler=scheduler)
    while True:
        try:
            result = next(pending)
        except StopIteration:
            break
        except OSError as exc:
            if scheduler:
                raise SweepError(f"could not reach the Dask scheduler {scheduler}: {exc}") from None
            raise
        results.append(result)
        write_trials(out_dir, results)
        callback("result", result=result, results=results)

    board = leaderboard(results)
    write_trials(out_dir, results)
    plot_trials(board, out_dir / "trials.png")
    best = board[0]
    summary = {"out_dir": str(out_dir), "trials": len(board), "best": best, "leaderboard": board}
    if best["status"] != "ok":
        raise SweepError("every trial diverged; try smaller learning rates")
    final_run = None
    if final:
        callback("final", best=best, out_dir=out_dir / "best")
        config = TrainConfig(seed=seed, validation=validation, **trial_from_result(best).params)
        final_dir = out_dir / "best"
        if final_dir.exists():
            shutil.rmtree(final_dir)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):     # as the trial ran: same numbers
            final_run = train_run(final_dir, config, source, subset=subset)
        summary["final"] = final_run.metrics
    write_json(out_dir / "summary.json", summary)
    write_report(out_dir, board, summary, search, seed, subset, validation)
    return SweepResult(out_dir, board, best, final_run, summary)


def write_report(out_dir, board, summary, search, seed, subset, validation):
    """report.md: the leaderboard, how the choice was made, and the chosen setting's test score."""
    out_dir = Path(out_dir)
    best = board[0]
    lines = [f"# netprop hyper-parameter sweep: {out_dir.name}", "",
             f"{len(board)} settings ({search}, seed {seed}), "
             f"each trained on the training split{f' ({subset} examples)' if subset else ''} "
             f"and scored on the validation split ({validation:.0%} of the training set, "
             f"stratified). The choice below used the validation split only.", "",
             "| rank | trial | hidden | lr | batch | epochs | l2 | validation accuracy | validation loss |",
             "|---|---|---|---|---|---|---|---|---|"]
    for rank, r in enumerate(board, start=1):
        lines.append(f"| {rank} | {r['trial']} | {','.join(map(str, r['hidden']))} | {r['lr']:.4g} | "
                     f"{r['batch_size']} | {r['epochs']} | {r['l2']:.2g} | "
                     f"{100 * r['val_accuracy']:.2f} % | {r['val_loss']:.4f} |")
    lines += ["", "![leaderboard](trials.png)", ""]
    final = summary.get("final")
    if final and "test_accuracy" in final:
        lines.append(f"Chosen: trial {best['trial']}. Trained again with the same seed (`best/`), its "
                     f"test accuracy is {100 * final['test_accuracy']:.2f} %: the test set was read "
                     f"once, for this setting only, after the choice was made.")
    with atomic_write(out_dir / "report.md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
