"""A training run from data to report: what `netprop train` does, callable from Python.

Loads the data, splits off validation (stratified, seeded), fits the preprocessing on the
training split only, trains with checkpoints, then writes the model, history, metrics, plots
and report into the run directory.  The test set is read once, after training, for the report.
"""

from __future__ import annotations

import csv
import io as _io
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import data as data_mod
from .io import ModelFileError, TrainedModel, atomic_write, load_arrays, save_arrays, save_model, versions, write_json
from .network import Network
from .train import TrainConfig, TrainState, evaluate, fit, state_from_json, state_to_json

CHECKPOINT = "checkpoint.safetensors"


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
    X, y = data_mod.load_table(source["path"])
    if y is None:
        raise data_mod.DataError(f"{source['path']}: training data needs labels (an array y)")
    Xt = yt = None
    if source.get("test_path"):
        Xt, yt = data_mod.load_table(source["test_path"])
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
    if subset is not None:
        if subset < 1:
            raise ValueError(f"--subset must be >= 1, got {subset}")
        if subset < len(train_idx):
            rng = np.random.default_rng(config.seed + 1)
            train_idx = np.sort(rng.choice(train_idx, size=subset, replace=False))
    pre = data_mod.Preprocessing.fit(dataset.X_train, dataset.preprocessing_kind, rows=train_idx)
    fill = float(pre.apply(np.zeros((1, dataset.X_train.shape[1])), dtype)[0, 0])
    return PreparedData(pre.apply(dataset.X_train, dtype, rows=train_idx), dataset.y_train[train_idx],
                        pre.apply(dataset.X_train, dtype, rows=val_idx), dataset.y_train[val_idx],
                        pre, fill)


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


def write_checkpoint(path, net, optimizer, state, run_info):
    arrays = {f"param.{k}": v for k, v in net.named_parameters().items()}
    arrays.update({f"best.{k}": v for k, v in zip(net.parameter_names(), state.best_params)})
    arrays.update({f"optimizer.{k}": v for k, v in optimizer.state().items()})
    save_arrays(path, arrays, {"state": state_to_json(state), **run_info})


def read_checkpoint(path):
    arrays, meta = load_arrays(path)
    if not meta or "state" not in meta or "config" not in meta:
        raise ModelFileError(f"{path}: not a netprop checkpoint")
    return arrays, meta


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

    Returns RunResult.  Raises TrainingDiverged (the last good checkpoint stays),
    KeyboardInterrupt (likewise), DataError / ValueError on bad input.
    """
    out_dir = Path(out_dir)
    arrays = None
    if resume:
        ckpt = out_dir / CHECKPOINT
        if not ckpt.is_file():
            raise ModelFileError(f"{out_dir}: no {CHECKPOINT} to resume from")
        arrays, meta = read_checkpoint(ckpt)
        config = TrainConfig.from_dict(meta["config"])
        source, subset = meta["source"], meta.get("subset")
    config = config or TrainConfig()
    source = source or {"kind": "fashion-mnist"}

    dataset = load_dataset(source, progress=download_progress)
    prepared = prepare(dataset, config, subset)
    dataset.X_train = None                  # the raw training images are no longer needed
    n_classes = len(dataset.class_names)
    if on_data is not None:
        on_data(dataset, prepared)
    net = build_network(prepared.X_train.shape[1], n_classes, config)

    state = optimizer_state = None
    if arrays is not None:
        names = net.parameter_names()
        try:
            net.unpack(np.concatenate([arrays[f"param.{k}"].ravel() for k in names]))
            best = [arrays[f"best.{k}"].copy() for k in names]
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"{out_dir / CHECKPOINT}: does not match the run's network ({exc})") from None
        optimizer_state = {k[len("optimizer."):]: v for k, v in arrays.items() if k.startswith("optimizer.")}
        state = state_from_json(meta["state"], best)
    out_dir.mkdir(parents=True, exist_ok=True)
    run_info = {"config": asdict(config), "source": source, "subset": subset}

    def checkpoint(net_, optimizer, state_):
        write_checkpoint(out_dir / CHECKPOINT, net_, optimizer, state_, run_info)

    if landscape is not None:
        steps = math.ceil(len(prepared.X_train) / config.batch_size) * config.epochs
        record = landscape.recorder(out_dir, net, steps, config.epochs)
        progress = callback
        callback = record if progress is None else lambda event, **info: (record(event, **info),
                                                                          progress(event, **info))
    state = fit(net, prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val, config,
                state=state, optimizer_state=optimizer_state, callback=callback,
                checkpoint=checkpoint, image_shape=dataset.image_shape, fill=prepared.fill)

    metrics = finish_run(out_dir, net, state, config, dataset, prepared, run_info)
    if landscape is not None:
        landscape.after_run(out_dir, net, prepared.X_train, prepared.y_train, config)
    return RunResult(net, state, metrics, out_dir, landscape)


def training_split(run_dir):
    """(X_train, y_train, config) of a finished run, rebuilt from its config.json: the same seeded split,
    subset and preprocessing as training used (for pictures drawn after the run)."""
    import json

    config_path = Path(run_dir) / "config.json"
    try:
        info = json.loads(config_path.read_text())["training"]
        config = TrainConfig.from_dict(info["config"])
        source, subset = info["source"], info.get("subset")
    except FileNotFoundError:
        raise ModelFileError(f"{run_dir}: no config.json (is this a netprop run directory?)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{config_path}: no training settings to rebuild the data from ({exc})") from None
    prepared = prepare(load_dataset(source), config, subset)
    return prepared.X_train, prepared.y_train, config


def finish_run(out_dir, net, state, config, dataset, prepared, run_info):
    """Write model, config, history, metrics, plots and report for a finished training run."""
    from . import plots

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
        confusion = plots.confusion_matrix(dataset.y_test, preds, len(dataset.class_names))
        metrics.update(test_accuracy=test_acc, test_loss=test_loss,
                       test_examples=int(len(dataset.X_test)))
    save_model(TrainedModel(net, prepared.preprocessing, dataset.class_names), out_dir,
               {"training": run_info, "versions": versions()})
    write_history(out_dir / "history.csv", state.history)
    write_json(out_dir / "metrics.json", metrics)
    plots.plot_curves(state.history, out_dir / "curves.png")
    if dataset.image_shape is not None:
        plots.plot_first_layer(net.weights[0], out_dir / "first_layer.png", dataset.image_shape)
        plots.plot_first_layer(first_layer_change(net, config), out_dir / "first_layer_change.png",
                               dataset.image_shape, what="What training changed: W1 − W1 at initialisation")
    if confusion is not None:
        plots.plot_confusion(confusion, dataset.class_names, out_dir / "confusion.png")
    write_report(out_dir, net, config, run_info, metrics, state.history, dataset, confusion)
    return metrics


HISTORY_COLUMNS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]


def write_history(path, history):
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in history:
        writer.writerow({k: (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]) for k in HISTORY_COLUMNS})
    with atomic_write(path, "w") as fh:
        fh.write(buf.getvalue())


def write_report(out_dir, net, config, run_info, metrics, history, dataset, confusion):
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
    with atomic_write(out_dir / "report.md", "w") as fh:
        fh.write("\n".join(lines) + "\n")
