"""Hyper-parameter search chosen on the validation split only, on local processes or a Dask cluster.

Every trial trains on the training split and is scored on the validation split; the test set is
never read here (``netprop tune`` reads it once, for the chosen setting, through run.train_run).
A trial's result depends only on its setting and the data: each runs with one BLAS thread, so a
sweep gives the same leaderboard on one machine, on several processes or on a Dask cluster.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from .train import TrainConfig

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
    """Data for trials, loaded once per process (a Dask worker keeps it between trials)."""
    from .run import load_dataset, prepare

    dataset = load_dataset(json.loads(source_json))
    prepared = prepare(dataset, TrainConfig(seed=seed, validation=validation), subset)
    return dataset.image_shape, len(dataset.class_names), prepared


def run_trial(trial, source, seed, validation, subset):
    """Train one setting on the training split and score it on the validation split.

    Runs with one BLAS thread, so the numbers do not depend on where it runs.  Returns a dict.
    """
    from threadpoolctl import threadpool_limits

    from .run import build_network
    from .train import TrainingDiverged, fit

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
    params = {k: result[k] for k in ("hidden", "lr", "batch_size", "epochs", "l2", "optimizer")}
    return Trial(result["trial"], params)


def sweep_spec(trials, source, seed, validation, subset):
    return {"trials": [asdict(t) for t in trials], "source": source, "seed": seed,
            "validation": validation, "subset": subset}
