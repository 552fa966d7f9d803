"""A training run from data to report: what `netprop train` does, callable from Python.

Loads the data, splits off validation (stratified, seeded), fits the preprocessing on the
training split only, trains with checkpoints, then writes the model, history, metrics, plots
and report into the run directory.  The test set is read once, after training, for the report.
"""

from __future__ import annotations

import functools
import hashlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import data as data_mod
from ..storage import schema
from ..storage.models import (ModelFileError, TrainedModel, atomic_write, clean_stale_temporaries, directory_lock,
                              load_arrays, save_arrays, save_model, versions, write_json)
from ..storage.run_directory import (CHECKPOINT, CONFIG, HISTORY, HISTORY_COLUMNS, LANDSCAPE_SUMMARY,  # noqa: F401
                                     METRICS, MODEL, REPORT, TRAJECTORY, TRAJECTORY_META, write_history)
from ..core.limits import check_memory, network_bytes
from ..core.network import Network
from .evaluation import confusion_matrix
from .fit import TrainConfig, TrainState, evaluate, fit, state_from_json, state_to_json
from . import _kernels, plots
from .optimizers import make_optimizer
from .compiled_step import CompiledStep
from .step import score, train_step


@dataclass
class Dataset:
    """Raw (unpreprocessed) arrays of one run, and where they came from."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: list
    image_shape: tuple | None
    preprocessing_kind: str
    source: dict


def load_dataset(source, progress=None):
    """source: {"kind": "fashion-mnist", "data_dir": …} or {"kind": "file", "path": …, "test_path": …}."""
    if source["kind"] == "fashion-mnist":
        X, y, Xt, yt = data_mod.load_fashion_mnist(source.get("data_dir"), progress=progress)
        return Dataset(X, y, Xt, yt, list(data_mod.CLASS_NAMES), (28, 28), "pixels", source)
    X, y = data_mod.load_table(source["path"], header=bool(source.get("header")))
    if y is None:
        raise data_mod.DataError(f"{source['path']}: training data needs labels (an array y)")
    if len(np.unique(y)) < 2:
        raise data_mod.DataError(f"{source['path']}: every example has label {y[0]}; a classifier needs "
                                 f"at least two classes to learn anything")
    Xt = yt = None
    if source.get("test_path"):
        Xt, yt = data_mod.load_table(source["test_path"], header=bool(source.get("header")))
        if yt is None:
            raise data_mod.DataError(f"{source['test_path']}: test data needs labels (an array y)")
        if Xt.shape[1] != X.shape[1]:
            raise data_mod.DataError(f"{source['test_path']}: {Xt.shape[1]} features, but the "
                                     f"training data has {X.shape[1]}")
    n_classes = int(max(y.max(), yt.max() if yt is not None else 0)) + 1
    image_shape = (28, 28) if X.shape[1] == 784 else None
    return Dataset(X, y, Xt, yt, [str(k) for k in range(n_classes)], image_shape, "features", source)


@dataclass
class PreparedData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    preprocessing: data_mod.Preprocessing
    fill: float


def prepare(dataset, config, subset=None, dtype=np.float32):
    """Split off validation, fit preprocessing on the training split, optionally subsample it."""
    train_idx, val_idx = data_mod.stratified_split(dataset.y_train, config.validation, config.seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise data_mod.DataError(
            f"{len(dataset.y_train)} examples leave {len(train_idx)} for training and {len(val_idx)} for "
            f"validation (fraction {config.validation:g}); both need at least one: give more data")
    if subset is not None:
        if subset < 1:
            raise ValueError(f"--subset must be >= 1, got {subset}")
        if subset > len(train_idx):
            raise data_mod.DataError(f"--subset {subset}: the training split holds only {len(train_idx)} "
                                     f"examples; give at most {len(train_idx)}")
        if subset < len(train_idx):
            rng = np.random.default_rng(config.seed + 1)
            train_idx = np.sort(rng.choice(train_idx, size=subset, replace=False))
    pre = data_mod.Preprocessing.fit(dataset.X_train, dataset.preprocessing_kind, rows=train_idx)
    fill = float(pre.apply(np.zeros((1, dataset.X_train.shape[1])), dtype)[0, 0])
    return PreparedData(pre.apply(dataset.X_train, dtype, rows=train_idx), dataset.y_train[train_idx],
                        pre.apply(dataset.X_train, dtype, rows=val_idx), dataset.y_train[val_idx],
                        pre, fill)


def exercise_kernels(config):
    """One minibatch of training, as config's run will take it, of a 64-64-10 float32 network on 64
    examples with uint8 labels (the IDX files' type): large enough for every compiled kernel
    (_kernels.WORTH_FROM), so that the versions training calls are loaded before it starts."""
    net = Network([64, 64, 10], activation=config.activation, seed=0, dtype="float32")
    optimizer = make_optimizer(config.optimizer, net.parameters(), config.momentum)
    x = np.zeros((64, 64), dtype=np.float32)
    labels = (np.arange(64) % 10).astype(np.uint8)
    compiled = CompiledStep.for_training(net, optimizer, _kernels.get())
    if compiled is not None:
        compiled(x, labels, 1e-3, config.l2)
    else:
        cache = train_step(net, optimizer, x, np.eye(10, dtype=np.float32)[labels], 1e-3, config.l2)
        score(cache, labels, _kernels.get())


def build_network(n_features, n_classes, config):
    return Network([n_features, *config.hidden, n_classes], activation=config.activation,
                   seed=config.seed, dtype="float32")


def first_layer_change(net, config):
    """W1 − W1 at initialisation: what training changed, without the random start.

    The start is rebuilt from the run's seed (build_network draws it the same way every time), so
    it is right for resumed runs too.  Drawn as tiles it shows the learned shapes that the He
    initialisation's noise, still most of W1 after a short run, hides in W1 itself.
    """
    initial = build_network(net.layer_sizes[0], net.layer_sizes[-1], config).weights[0]
    return net.weights[0] - initial


# --- checkpoints ------------------------------------------------------------------


def checkpoint_contents(net, optimizer, state, run_info):
    """(arrays, metadata) of a checkpoint: parameters, the best epoch's, the optimizer's state, and
    the training state and settings."""
    arrays = {f"param.{k}": v for k, v in net.named_parameters().items()}
    arrays.update({f"best.{k}": v for k, v in zip(net.parameter_names(), state.best_params)})
    arrays.update({f"optimizer.{k}": v for k, v in optimizer.state().items()})
    return arrays, {"state": state_to_json(state), **run_info}


class CheckpointWriter:
    """fit()'s checkpoint callback, writing each epoch's checkpoint in a thread while the next trains.

    A checkpoint is 4–5 copies of the parameters, hashed, written and flushed to disk: ~20 ms an
    epoch at the defaults, which the next epoch's work now hides.  The arrays are copied when
    the epoch ends, so the file holds that epoch exactly; a write waits for the one before it,
    and close() — called before a run reports anything, finished or not — for the last, raising
    its error if it failed.  Each file is still written atomically: a kill leaves the previous one.

    The writing thread is started here, before training: a Ctrl-C or SIGTERM that lands while a
    thread starts leaves it half-started (the interrupted run then cannot wait for it).  One that
    lands while a write is handed over at worst skips the wait, and the interpreter still joins
    the thread, so the file is finished before the process exits.
    """

    def __init__(self, path, run_info):
        self.path, self.run_info = path, run_info
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netprop-checkpoint")
        self.pool.submit(int).result()          # the thread started now
        self.pending = None

    def __call__(self, net, optimizer, state):
        self.wait()
        arrays, meta = checkpoint_contents(net, optimizer, state, self.run_info)
        arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}       # the epoch as it ends
        self.pending = self.pool.submit(save_arrays, self.path, arrays, meta)

    def wait(self):
        """Return once the last checkpoint is on disk; raise the error its write met."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self):
        """wait(), then end the thread."""
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)


def read_checkpoint(path):
    """(arrays, metadata) of a checkpoint: its checksum verified, its metadata checked field by field."""
    arrays, meta = load_arrays(path, require_checksum=True)
    if not isinstance(meta, dict) or "state" not in meta or "config" not in meta:
        raise ModelFileError(f"{path}: not a netprop checkpoint")
    schema.check_checkpoint_meta(meta, str(path), ModelFileError, TrainConfig.settings())
    try:
        TrainConfig.from_dict(meta["config"])
    except ValueError as exc:
        raise ModelFileError(f"{path}: field config: {exc}") from None
    return arrays, meta


def verified_checkpoint_epoch(out_dir):
    """The epoch of out_dir's checkpoint if it reads back whole and every parameter is finite, else None.

    What a diverged or interrupted run may call its "last good checkpoint".
    """
    try:
        arrays, meta = read_checkpoint(Path(out_dir) / CHECKPOINT)
    except ModelFileError:
        return None
    if not all(np.isfinite(a).all() for k, a in arrays.items() if k.startswith(("param.", "best."))):
        return None
    return meta["state"]["epoch"]


def data_fingerprint(dataset):
    """SHA-256 over the raw arrays of a data set (training and test): resume checks the data is the same."""
    h = hashlib.sha256()
    for a in (dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test):
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a.reshape(-1).view(np.uint8)))
    return h.hexdigest()


def _differences(given, saved):
    """"name given vs saved" for every key whose values differ, e.g. ["lr 0.1 (checkpoint: 0.002)"]."""
    return [f"{k} {given[k]!r} (checkpoint: {saved.get(k)!r})" for k in given if given[k] != saved.get(k)]


# --- the run ------------------------------------------------------------------------


@dataclass
class RunResult:
    net: Network
    state: TrainState
    metrics: dict
    out_dir: Path
    landscape: object = None          # the LandscapeOptions given, its .result filled in


def train_run(out_dir, config=None, source=None, subset=None, resume=False, callback=None,
              on_data=None, download_progress=None, landscape=None):
    """Train and report into out_dir; resume=True continues the checkpoint found there.

    landscape: a landscape.LandscapeOptions to record the parameter path into out_dir/trajectory/
    and draw the loss landscape around it after the report (`netprop train --landscape`).
    The run holds an OS lock on out_dir from start to end: a second run into the same directory is
    refused (io.DirectoryBusyError), and so is a new run into a directory another run has written.
    On resume, the temporary files of writes a killed run left are removed, and config, source
    and subset, when given, must match the checkpoint's, as must the data itself (its SHA-256).

    Returns RunResult.  Raises TrainingDiverged (the last good checkpoint stays),
    KeyboardInterrupt (likewise), DataError / ModelFileError / ValueError on bad input.
    """
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    _kernels.warm_up(exercise=functools.partial(exercise_kernels, config or TrainConfig()))
    try:
        with directory_lock(out_dir):
            return _train_run_locked(out_dir, config, source, subset, resume, callback, on_data,
                                     download_progress, landscape)
    finally:
        if created and out_dir.is_dir() and not any(out_dir.iterdir()):
            out_dir.rmdir()                 # a run that wrote nothing leaves nothing


def _train_run_locked(out_dir, config, source, subset, resume, callback, on_data, download_progress, landscape):
    """train_run's work once out_dir is locked: settings (the checkpoint's on resume), data, network,
    fit with a checkpoint after every epoch, then the files of a finished run."""
    arrays = meta = None
    if resume:
        arrays, meta, config, source, subset = _resumed_settings(out_dir, config, source, subset)
    else:
        taken = [name for name in (CHECKPOINT, CONFIG, MODEL) if (out_dir / name).exists()]
        if taken:
            raise ModelFileError(f"{out_dir}: already holds another run's {', '.join(taken)}; choose an "
                                 f"empty directory (or resume that run)")
    config = config or TrainConfig()
    source = source or {"kind": "fashion-mnist"}

    dataset = load_dataset(source, progress=download_progress)
    fingerprint = data_fingerprint(dataset)
    if arrays is not None and meta.get("data_sha256", fingerprint) != fingerprint:
        where = source.get("path") or source.get("data_dir") or "Fashion-MNIST"
        raise data_mod.DataError(f"{where}: the data changed since the checkpoint in {out_dir} was written "
                                 f"(SHA-256 {fingerprint[:12]}…, checkpoint {meta['data_sha256'][:12]}…); "
                                 f"resume needs the same data")
    n_classes = len(dataset.class_names)
    sizes = [dataset.X_train.shape[1], *config.hidden, n_classes]
    check_training_memory(sizes, config, len(dataset.y_train))
    prepared = prepare(dataset, config, subset)
    dataset.X_train = None                  # the raw training images are no longer needed
    steps = math.ceil(len(prepared.X_train) / config.batch_size) * config.epochs
    if landscape is not None:
        landscape.check_steps(steps)
    if on_data is not None:
        on_data(dataset, prepared)
    net = build_network(prepared.X_train.shape[1], n_classes, config)

    state = optimizer_state = None
    if arrays is not None:
        state, optimizer_state = _restore_checkpoint(out_dir, net, arrays, meta)
    run_info = {"config": asdict(config), "source": source, "subset": subset, "data_sha256": fingerprint}

    if landscape is not None:
        record = landscape.recorder(out_dir, net, steps, config.epochs)
        progress = callback
        callback = record if progress is None else lambda event, **info: (record(event, **info),
                                                                          progress(event, **info))
    checkpoint = CheckpointWriter(out_dir / CHECKPOINT, run_info)
    try:
        state = fit(net, prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val, config,
                    state=state, optimizer_state=optimizer_state, callback=callback,
                    checkpoint=checkpoint, image_shape=dataset.image_shape, fill=prepared.fill)
    finally:
        checkpoint.close()      # the last epoch's checkpoint on disk before a result, Ctrl-C or divergence

    metrics = finish_run(out_dir, net, state, config, dataset, prepared, run_info)
    if landscape is not None:
        landscape.after_run(out_dir, net, prepared.X_train, prepared.y_train, config)
    return RunResult(net, state, metrics, out_dir, landscape)


def _resumed_settings(out_dir, config, source, subset):
    """(arrays, metadata, config, source, subset) of the checkpoint in out_dir, whose settings a resume
    continues with; config, source and subset, where given, must equal the checkpoint's."""
    ckpt = out_dir / CHECKPOINT
    if not ckpt.is_file():
        raise ModelFileError(f"{out_dir}: no {CHECKPOINT} to resume from")
    arrays, meta = read_checkpoint(ckpt)
    refuse_finished(out_dir, meta)          # before anything is cleaned: a finished run is left as it is
    clean_stale_temporaries(out_dir)
    differ = []
    if config is not None:
        differ += _differences(asdict(config), meta["config"])
    if source is not None:
        differ += _differences(source, meta["source"])
    if subset is not None and subset != meta.get("subset"):
        differ.append(f"subset {subset!r} (checkpoint: {meta.get('subset')!r})")
    if differ:
        raise ValueError(f"{ckpt}: resuming continues the run with its saved settings, but these "
                         f"differ: {'; '.join(differ)}")
    return arrays, meta, TrainConfig.from_dict(meta["config"]), meta["source"], meta.get("subset")


def _restore_checkpoint(out_dir, net, arrays, meta):
    """Put the checkpoint's parameters into net; return (TrainState, optimizer state) to continue from."""
    names = net.parameter_names()
    try:
        net.unpack(np.concatenate([arrays[f"param.{k}"].ravel() for k in names]))
        best = [arrays[f"best.{k}"].copy() for k in names]
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{out_dir / CHECKPOINT}: does not match the run's network ({exc})") from None
    if any(b.shape != p.shape for b, p in zip(best, net.named_parameters().values())):
        raise ModelFileError(f"{out_dir / CHECKPOINT}: its best.* arrays do not match the run's network")
    optimizer_state = {k[len("optimizer."):]: v for k, v in arrays.items() if k.startswith("optimizer.")}
    state = state_from_json(meta["state"], best)
    if not math.isfinite(state.best_loss) and state.epoch:
        raise ModelFileError(f"{out_dir / CHECKPOINT}: field state.best_loss must be finite after an epoch")
    return state, optimizer_state


def check_training_memory(sizes, config, n_examples):
    """Refuse a network (and minibatch) that cannot fit in memory, naming the flag that asks for it.

    A minibatch larger than the training split is the whole split, one step per epoch (the
    Trainer's slices stop at the end): its activations are counted for at most n_examples rows.
    """
    batch = min(config.batch_size, n_examples)
    network = network_bytes(sizes) + 4 * sizes[-1] ** 2      # + the trainer's one-hot table of labels
    shape = '-'.join(map(str, sizes))
    check_memory(network, f"hidden {','.join(map(str, config.hidden))} (--hidden): a {shape} network with its "
                          f"optimizer state", ValueError)
    check_memory(network_bytes(sizes, batch=batch) + 4 * sizes[-1] ** 2,
                 f"--batch-size {batch}: a minibatch of {batch} through the {shape} network", ValueError)


class RunFinished(ValueError):
    """train_run(resume=True) on a run that finished: nothing to do, and nothing was changed."""


def run_is_finished(out_dir, meta):
    """True when the checkpoint's run trained all its epochs (or stopped early) and finish_run ended.

    finish_run writes report.md after the model, history and metrics; a run killed before that
    (or before its landscape was drawn, when it records one) still has its last stage to do.
    """
    state, epochs = meta["state"], meta["config"]["epochs"]
    if state["epoch"] < epochs and not state.get("stopped_early"):
        return False
    needed = [CONFIG, MODEL, METRICS, HISTORY, REPORT]
    if (out_dir / TRAJECTORY / TRAJECTORY_META).is_file():
        needed.append(LANDSCAPE_SUMMARY)
    return all((out_dir / name).is_file() for name in needed)


def refuse_finished(out_dir, meta):
    """Raise RunFinished when resuming out_dir would only redo a final stage that already ended."""
    if run_is_finished(out_dir, meta):
        state = meta["state"]
        raise RunFinished(f"{out_dir}: the run is finished ({state['epoch']} epochs, best epoch "
                          f"{state['best_epoch']}); nothing to resume, nothing changed. Its results are in "
                          f"{out_dir / 'report.md'}; to train more, start a new run with --out")


def training_split(run_dir):
    """(X_train, y_train, config) of a finished run, rebuilt from its config.json: the same seeded split,
    subset and preprocessing as training used (for pictures drawn after the run)."""
    import json

    config_path = Path(run_dir) / CONFIG
    try:
        info = json.loads(config_path.read_text())["training"]
        config = TrainConfig.from_dict(info["config"])
        source, subset = info["source"], info.get("subset")
    except FileNotFoundError:
        raise ModelFileError(f"{run_dir}: no {CONFIG} (is this a netprop run directory?)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{config_path}: no training settings to rebuild the data from ({exc})") from None
    prepared = prepare(load_dataset(source), config, subset)
    return prepared.X_train, prepared.y_train, config


def finish_run(out_dir, net, state, config, dataset, prepared, run_info):
    """Write model, config, history, metrics, plots and report for a finished training run.

    The pictures (NumPy and Pillow, ~0.15 s together) are drawn on a thread while the test set is
    scored and the model written; report.md, written last, waits for them.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netprop-pictures") as pictures:
        drawn = []

        def draw(picture, *args, **kwargs):
            drawn.append(pictures.submit(picture, *args, **kwargs))

        draw(plots.plot_curves, state.history, out_dir / "curves.png")
        if dataset.image_shape is not None:
            draw(plots.plot_first_layer, net.weights[0], out_dir / "first_layer.png", dataset.image_shape)
            draw(plots.plot_first_layer, first_layer_change(net, config), out_dir / "first_layer_change.png",
                 dataset.image_shape, what="What training changed: W1 − W1 at initialisation")
        metrics, confusion = _score_and_save(out_dir, net, state, dataset, prepared, run_info, draw)
        for picture in drawn:
            picture.result()                   # a picture that failed raises here, before the report
    write_report(out_dir, net, config, run_info, metrics, state.history, dataset, confusion)
    return metrics


def _score_and_save(out_dir, net, state, dataset, prepared, run_info, draw):
    """finish_run's metrics, the test set's scoring (its confusion matrix handed to draw) and the files
    but the pictures and the report; returns (metrics, confusion matrix or None)."""
    best = state.history[state.best_epoch - 1]
    metrics = {
        "best_epoch": state.best_epoch,
        "epochs_run": state.epoch,
        "stopped_early": state.stopped_early,
        "validation_accuracy": best["val_accuracy"],
        "validation_loss": best["val_loss"],
        "train_examples": int(len(prepared.X_train)),
        "validation_examples": int(len(prepared.X_val)),
        "training_seconds": sum(r["seconds"] for r in state.history),
    }
    confusion = None
    if dataset.X_test is not None:
        # The test set's one use: scored once, after every choice was made on validation.
        test_loss, test_acc, preds = evaluate(net, dataset.X_test, dataset.y_test,
                                              transform=prepared.preprocessing.apply)
        confusion = confusion_matrix(dataset.y_test, preds, len(dataset.class_names))
        draw(plots.plot_confusion, confusion, dataset.class_names, out_dir / "confusion.png")
        metrics.update(test_accuracy=test_acc, test_loss=test_loss,
                       test_examples=int(len(dataset.X_test)))
    save_model(TrainedModel(net, prepared.preprocessing, dataset.class_names), out_dir,
               {"training": run_info, "versions": versions()})
    write_history(out_dir / HISTORY, state.history)
    write_json(out_dir / METRICS, metrics)
    return metrics, confusion


def write_report(out_dir, net, config, run_info, metrics, history, dataset, confusion):
    """report.md: the network, data, hyper-parameters, results, plots and per-epoch table of a finished run."""
    lines = [f"# netprop training run: {out_dir.name}", ""]
    lines.append(f"Network {'-'.join(map(str, net.layer_sizes))} ({net.activation} hidden, softmax "
                 f"output, mean cross-entropy{f' + (l2/2)·Σ‖W‖², l2 = {config.l2:g}' if config.l2 else ''}).")
    src = run_info["source"]
    where = "Fashion-MNIST" if src["kind"] == "fashion-mnist" else src["path"]
    lines.append(f"Data: {where}; {metrics['train_examples']} training and "
                 f"{metrics['validation_examples']} validation examples (stratified "
                 f"{config.validation:.0%} split, seed {config.seed}); preprocessing statistics from "
                 f"the training split only.")
    lines += ["", "## Hyper-parameters", "", "| parameter | value |", "|---|---|"]
    for k, v in asdict(config).items():
        lines.append(f"| {k} | {v} |")
    lines += ["", "## Results", "", "| metric | value |", "|---|---|"]
    lines.append(f"| best epoch (by validation accuracy; its weights are kept) | "
                 f"{metrics['best_epoch']} of {metrics['epochs_run']} |")
    lines.append(f"| validation accuracy | {100 * metrics['validation_accuracy']:.2f} % |")
    lines.append(f"| validation loss | {metrics['validation_loss']:.4f} |")
    if "test_accuracy" in metrics:
        lines.append(f"| test accuracy | {100 * metrics['test_accuracy']:.2f} % |")
        lines.append(f"| test loss | {metrics['test_loss']:.4f} |")
    lines.append(f"| training time (training passes only) | {metrics['training_seconds']:.1f} s |")
    if "test_accuracy" in metrics:
        lines += ["", "The test set was read once, after training; no choice used it."]
    lines += ["", "## Learning curves", "", "![loss and accuracy](curves.png)"]
    if (out_dir / "first_layer.png").exists():
        lines += ["", "## What the first layer learned", "",
                  "Each tile is one hidden unit's row of W1 drawn as a 28×28 image.", "",
                  "![first-layer weights](first_layer.png)", "",
                  "The same tiles for W1 minus its random initial value (rebuilt from the seed): "
                  "the part training wrote, where the shapes of the garments show.", "",
                  "![first-layer change](first_layer_change.png)"]
    if confusion is not None:
        per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
        lines += ["", "## Test confusion matrix", "", "![confusion matrix](confusion.png)", "",
                  "| class | test accuracy |", "|---|---|"]
        lines += [f"| {name} | {100 * a:.1f} % |" for name, a in zip(dataset.class_names, per_class)]
    lines += ["", "## Per epoch", "", "| epoch | train loss | train acc | val loss | val acc | lr | seconds |",
              "|---|---|---|---|---|---|---|"]
    for r in history:
        lines.append(f"| {r['epoch']} | {r['train_loss']:.4f} | {100 * r['train_accuracy']:.2f} % | "
                     f"{r['val_loss']:.4f} | {100 * r['val_accuracy']:.2f} % | {r['lr']:.3g} | "
                     f"{r['seconds']:.2f} |")
    with atomic_write(out_dir / REPORT, "w") as fh:
        fh.write("\n".join(lines) + "\n")
