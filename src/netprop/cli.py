"""The `netprop` command: argument parsing and printing only; the math lives in the library."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .functions import ACTIVATIONS, LOSSES
from .optim import OPTIMIZERS, SCHEDULES


class CLIError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _positive_float(text):
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _int_list(text):
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 20,10,5, got {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 20,10,5, got {text!r}"
        )
    return values


def _progress(total, desc, enabled):
    """A tqdm bar on stderr (shown only on a terminal), or a no-op."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="param", leave=False, file=sys.stderr,
                disable=not enabled or not sys.stderr.isatty(), dynamic_ncols=True)


# --- gradcheck -----------------------------------------------------------------


def _gradcheck_cases(args):
    """The networks to check: a small random one, then the lecture's 784-H-10."""
    from .limits import check_memory, network_bytes
    from .network import Network

    rng = np.random.default_rng(args.seed)
    cases = []
    if args.sizes is not None or not args.lecture_only:
        sizes = args.sizes or [20, 10, 5]
        if len(sizes) < 2:
            raise CLIError(f"--sizes needs at least two layer sizes, got {sizes}")
        check_memory(network_bytes(sizes, 8, copies=5, batch=args.examples),
                     f"--sizes {','.join(map(str, sizes))} --examples {args.examples}")
        net = Network(sizes, activation=args.activation, loss=args.loss, seed=args.seed)
        X = rng.normal(size=(args.examples, sizes[0]))
        y = _random_targets(rng, net, args.examples)
        cases.append(("random " + "-".join(map(str, sizes)), net, X, y))
    if args.sizes is None:
        sizes = [784, args.hidden, 10]
        check_memory(network_bytes(sizes, 8, copies=5, batch=args.examples),
                     f"--hidden {args.hidden} --examples {args.examples}")
        net = Network(sizes, activation=args.activation, loss=args.loss, seed=args.seed)
        X, y, source = _lecture_examples(rng, net, args.examples)
        cases.append((f"lecture 784-{args.hidden}-10 ({source})", net, X, y))
    return cases


def _random_targets(rng, net, n):
    c = net.layer_sizes[-1]
    if net.loss_name == "cross_entropy":
        return rng.integers(0, c, size=n)
    return rng.normal(size=(n, c))


def _lecture_examples(rng, net, n):
    """A few inputs for the 784-input network: Fashion-MNIST images scaled to [0, 1] when the
    data set is installed (no download for a gradient check), else random pixel intensities."""
    from .data import DataError, load_fashion_mnist

    try:
        X, y, _, _ = load_fashion_mnist(download=False)
    except DataError:
        X = rng.uniform(0.0, 1.0, size=(n, 784))
        return X, _random_targets(rng, net, n), "random pixels"
    idx = rng.choice(len(X), size=n, replace=False)
    targets = y[idx] if net.loss_name == "cross_entropy" else np.eye(10)[y[idx]]
    return X[idx] / 255.0, targets, f"{n} Fashion-MNIST images"


def cmd_gradcheck(args):
    from .gradcheck import gradcheck

    results = []
    for label, net, X, y in _gradcheck_cases(args):
        bar = _progress(net.n_parameters, label, enabled=not (args.quiet or args.json))
        with bar:
            result = gradcheck(net, X, y, l2=args.l2, eps=args.eps, threshold=args.threshold,
                               progress=bar.update)
        results.append((label, net, result))

    ok = all(r.passed for _, _, r in results)
    if args.json:
        print(json.dumps({
            "passed": ok,
            "threshold": args.threshold,
            "networks": [{
                "network": label,
                "layer_sizes": net.layer_sizes,
                "activation": net.activation,
                "loss": net.loss_name,
                "examples": args.examples,
                "l2": args.l2,
                "relative_errors": r.errors,
                "max_relative_error": r.max_error,
                "max_absolute_error": r.max_abs_error,
                "passed": r.passed,
            } for label, net, r in results],
        }, indent=2))
    elif not args.quiet or not ok:
        print(f"gradient check: backward propagation vs central finite differences "
              f"(float64, eps={args.eps:g}, {args.examples} examples, l2={args.l2:g})")
        print("relative error = ‖∇backprop − ∇numerical‖ / (‖∇backprop‖ + ‖∇numerical‖)\n")
        for label, net, r in results:
            print(f"{label}  [{net.activation}, {net.loss_name}]")
            print(f"  {'parameter':<10}{'shape':>14}{'relative error':>18}   status")
            params = net.named_parameters()
            for name, err in r.errors.items():
                status = "ok" if err <= args.threshold else "FAIL"
                shape = "x".join(map(str, params[name].shape))
                print(f"  {name:<10}{shape:>14}{err:>18.3e}   {status}")
            print(f"  {'max':<10}{'':>14}{r.max_error:>18.3e}   "
                  f"{'ok' if r.passed else 'FAIL'} (threshold {args.threshold:g})\n")
        print("PASSED" if ok else "FAILED: backward propagation disagrees with finite differences")
    return 0 if ok else 1


# --- train -----------------------------------------------------------------------


def _data_source(args):
    """Where train and tune read their data: --data (and --test-data) or Fashion-MNIST."""
    if args.data:
        if args.data_dir:
            raise CLIError("--data-dir is for Fashion-MNIST and would be ignored beside --data; give one of them")
        return {"kind": "file", "path": str(Path(args.data).resolve()),
                "test_path": str(Path(args.test_data).resolve()) if args.test_data else None,
                "header": args.header}
    if args.test_data:
        raise CLIError("--test-data needs --data (Fashion-MNIST brings its own test set)")
    if args.header:
        raise CLIError("--header is for a CSV given with --data")
    return {"kind": "fashion-mnist",
            "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None}


def _timestamp_dir():
    from datetime import datetime

    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


class _TrainProgress:
    """A progress bar per epoch (on a terminal) and one summary line per epoch."""

    def __init__(self, quiet, total_epochs):
        self.quiet, self.total = quiet, total_epochs
        self.bar = None

    def __call__(self, event, **info):
        if self.quiet:
            return
        from tqdm import tqdm

        if event == "epoch_start":
            self.bar = tqdm(total=info["steps"], desc=f"epoch {info['epoch']}/{self.total}",
                            unit="batch", leave=False, file=sys.stderr, dynamic_ncols=True,
                            disable=not sys.stderr.isatty(), mininterval=0.2)
            self._last = 0.0
        elif event == "batch" and self.bar is not None:
            self.bar.update(1)
            now = time.perf_counter()
            if now - self._last > 0.25:
                self._last = now
                self.bar.set_postfix(loss=f"{info['running_loss']:.4f}",
                                     acc=f"{100 * info['running_accuracy']:.2f}%", refresh=False)
        elif event == "epoch_end":
            if self.bar is not None:
                self.bar.close()
            r = info["record"]
            mark = "  *best" if info["best_epoch"] == r["epoch"] else ""
            print(f"epoch {r['epoch']:>3}/{self.total}  train loss {r['train_loss']:.4f}  "
                  f"acc {100 * r['train_accuracy']:6.2f}%  |  val loss {r['val_loss']:.4f}  "
                  f"acc {100 * r['val_accuracy']:6.2f}%  |  lr {r['lr']:.3g}  "
                  f"{r['seconds']:5.2f}s{mark}", file=sys.stderr, flush=True)
            if info["stopped"]:
                print(f"early stopping: no better validation accuracy for the last epochs; "
                      f"keeping epoch {info['best_epoch']}", file=sys.stderr)


def _download_progress(quiet):
    if quiet or not sys.stderr.isatty():
        return None
    state = {}

    def report(name, got, total):
        if state.get("name") != name:
            state["name"] = name
            print(f"downloading {name}", file=sys.stderr)
    return report


def cmd_train(args):
    from .io import ModelFileError
    from .run import CHECKPOINT, train_run, verified_checkpoint_epoch
    from .train import TrainConfig, TrainingDiverged

    if args.out is not None and not args.out.strip():
        raise CLIError("--out is empty; give a directory (or leave --out out for runs/<timestamp>)")
    if args.resume:
        out_dir = Path(args.resume)
        if not (out_dir / CHECKPOINT).is_file():
            raise CLIError(f"--resume {out_dir}: no {CHECKPOINT} there (nothing to resume)")
        _check_resume_flags(args, out_dir)
        config = source = None
    else:
        out_dir = Path(args.out) if args.out else _timestamp_dir()
        if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise CLIError(f"--out {out_dir} already exists and is not empty; choose another "
                           f"directory (or --resume {out_dir} to continue that run)")
        config = TrainConfig(
            hidden=args.hidden, activation=args.activation, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
            momentum=args.momentum, l2=args.l2, schedule=args.schedule, step_epochs=args.step_epochs,
            gamma=args.gamma, patience=args.patience,
            augment=args.augment, shift=args.shift, seed=args.seed, validation=args.validation)
        source = _data_source(args)

    quiet = args.quiet or args.json
    progress = _TrainProgress(quiet, config.epochs if config else None)

    def on_data(dataset, prepared):
        progress.total = progress.total or _saved_epochs(out_dir)
        if not quiet:
            what = "Fashion-MNIST" if dataset.source["kind"] == "fashion-mnist" else dataset.source["path"]
            print(f"{'resuming' if args.resume else 'training'} on {what}: {len(prepared.X_train)} "
                  f"training, {len(prepared.X_val)} validation examples -> {out_dir}",
                  file=sys.stderr)

    started = time.perf_counter()
    try:
        result = train_run(out_dir, config, source, subset=args.subset, resume=bool(args.resume),
                           callback=progress, on_data=on_data,
                           download_progress=_download_progress(quiet))
    except KeyboardInterrupt:
        if progress.bar is not None:
            progress.bar.close()
        saved = (out_dir / CHECKPOINT).is_file()
        print("\ninterrupted. " + (f"The checkpoint after the last finished epoch is in {out_dir}; "
              f"continue with: netprop train --resume {out_dir}" if saved
              else "No epoch had finished, so there is nothing to resume."), file=sys.stderr)
        return 130
    except TrainingDiverged as exc:
        if progress.bar is not None:
            progress.bar.close()
        kept = verified_checkpoint_epoch(out_dir)       # named only when it reads back whole and finite
        print(f"netprop train: error: {exc}" + (f" (the last good checkpoint, after epoch {kept}, stays in "
              f"{out_dir})" if kept else " (no epoch finished with finite weights: nothing was kept)"),
              file=sys.stderr)
        return 3
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    wall = time.perf_counter() - started
    metrics = dict(result.metrics, wall_seconds=wall, run_dir=str(out_dir))
    if args.json:
        print(json.dumps(metrics, indent=2))
    elif not args.quiet:
        line = (f"best epoch {metrics['best_epoch']}: validation accuracy "
                f"{100 * metrics['validation_accuracy']:.2f}%")
        if "test_accuracy" in metrics:
            line += f", test accuracy {100 * metrics['test_accuracy']:.2f}%"
        print(line + f"  ({wall:.1f} s)")
        print(f"model, history, plots and report.md in {out_dir}")
    return 0


# flags of `netprop train` that a checkpoint fixes: flag -> (TrainConfig field or source key)
_RESUME_FLAGS = {"--hidden": "hidden", "--activation": "activation", "--epochs": "epochs",
                 "--batch-size": "batch_size", "--lr": "lr", "--optimizer": "optimizer",
                 "--momentum": "momentum", "--l2": "l2", "--schedule": "schedule",
                 "--step-epochs": "step_epochs", "--gamma": "gamma", "--patience": "patience",
                 "--augment": "augment", "--shift": "shift", "--seed": "seed", "--validation": "validation"}


_RESUME_OPTIONS = [*_RESUME_FLAGS, "--subset", "--out", "--data", "--test-data", "--data-dir", "--header"]


def _check_resume_flags(args, out_dir):
    """Refuse flags given beside --resume that differ from the checkpoint's (they would be ignored)."""
    from .io import ModelFileError
    from .run import CHECKPOINT, read_checkpoint

    try:
        _, meta = read_checkpoint(out_dir / CHECKPOINT)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    saved, source = meta["config"], meta["source"]
    given = getattr(args, "given_flags", set())
    differ = [f"{flag} {getattr(args, field.replace('-', '_'))!r} (checkpoint: {saved[field]!r})"
              for flag, field in _RESUME_FLAGS.items()
              if flag in given and getattr(args, field) != saved[field]]
    if "--subset" in given and args.subset != meta.get("subset"):
        differ.append(f"--subset {args.subset} (checkpoint: {meta.get('subset')})")
    if "--out" in given and Path(args.out).resolve() != out_dir.resolve():
        differ.append(f"--out {args.out} (resuming writes to {out_dir})")
    for flag, key in (("--data", "path"), ("--test-data", "test_path"), ("--data-dir", "data_dir")):
        value = getattr(args, flag[2:].replace("-", "_"))
        if flag in given and str(Path(value).resolve()) != source.get(key):
            differ.append(f"{flag} {value} (checkpoint: {source.get(key) or 'not given'})")
    if "--header" in given and bool(source.get("header")) != args.header:
        differ.append("--header (checkpoint: without)")
    if differ:
        raise CLIError(f"--resume {out_dir} continues that run with its saved settings, but "
                       f"{'; '.join(differ)}; drop these flags, or start a new run with --out")


def _saved_epochs(out_dir):
    """The epoch count of the run being resumed in out_dir."""
    from .run import CHECKPOINT, read_checkpoint

    _, meta = read_checkpoint(Path(out_dir) / CHECKPOINT)
    return meta["config"]["epochs"]


# --- evaluate and predict -----------------------------------------------------------


def _load_run(run_dir, trust_unverified=False):
    from .io import ModelFileError, load_model

    try:
        return load_model(run_dir, trust_unverified=trust_unverified)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None


def cmd_evaluate(args):
    from . import data as data_mod
    from .plots import confusion_matrix
    from .train import evaluate

    if args.data and args.data_dir:
        raise CLIError("--data-dir is for Fashion-MNIST and would be ignored beside --data; give one of them")
    model = _load_run(args.run_dir, args.trust_unverified)
    net = model.net
    if args.data:
        X, y = data_mod.load_table(args.data)
        if y is None:
            raise CLIError(f"{args.data}: evaluation needs labels (an array y)")
        what = args.data
    else:
        _, _, X, y = data_mod.load_fashion_mnist(args.data_dir)
        what = "Fashion-MNIST test set"
    c = net.layer_sizes[-1]
    if X.shape[1] != net.layer_sizes[0]:
        raise CLIError(f"{what}: {X.shape[1]} features, but the model expects {net.layer_sizes[0]}")
    if y.max() >= c:
        raise CLIError(f"{what}: label {int(y.max())} but the model knows {c} classes")
    loss, acc, preds = evaluate(net, model.prepare(X), y)
    cm = confusion_matrix(y, preds, c)
    names = model.names()
    per_class = {name: (float(cm[k, k] / cm[k].sum()) if cm[k].sum() else None)
                 for k, name in enumerate(names)}
    if args.json:
        print(json.dumps({"data": str(what), "examples": int(len(y)), "accuracy": acc,
                          "cross_entropy": loss, "per_class_accuracy": per_class,
                          "confusion_matrix": cm.tolist(), "class_names": names}, indent=2))
        return 0
    print(f"{what}: {len(y)} examples")
    print(f"accuracy       {100 * acc:.2f}%")
    print(f"cross-entropy  {loss:.4f}\n")
    print("per-class accuracy")
    for name, a in per_class.items():
        print(f"  {name:<14}{'-' if a is None else f'{100 * a:6.2f}%'}")
    width = max(5, len(str(cm.max())) + 1)
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    print(" " * 16 + "".join(f"{k:>{width}}" for k in range(c)))
    for k, name in enumerate(names):
        print(f"  {k} {name[:12]:<12}" + "".join(f"{v:>{width}}" for v in cm[k]))
    return 0


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _predict_inputs(paths, d):
    """(label, raw row) pairs for image and .npy files."""
    from . import data as data_mod

    items = []
    for path in paths:
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".npy":
            try:
                a = np.load(p, allow_pickle=False)
            except FileNotFoundError:
                raise CLIError(f"{p}: no such file") from None
            except (ValueError, OSError) as exc:
                raise CLIError(f"{p}: not a readable .npy array ({exc})") from None
            if a.dtype == object or not np.issubdtype(a.dtype, np.number):
                raise CLIError(f"{p}: expected a numeric array, got {a.dtype}")
            if a.size == d:                      # one example: (784,), (28, 28) or (1, 784)
                rows = a.reshape(1, d)
            elif a.ndim >= 2 and int(np.prod(a.shape[1:])) == d:
                rows = a.reshape(len(a), d)
            else:
                raise CLIError(f"{p}: shape {a.shape} does not hold examples of {d} values")
            if not np.isfinite(rows).all():
                raise CLIError(f"{p}: contains NaN or infinite values")
            for i, row in enumerate(rows):
                items.append((f"{p}[{i}]" if len(rows) > 1 else str(p), row))
        elif suffix in IMAGE_SUFFIXES:
            if d != 784:
                raise CLIError(f"{p}: images need a model with 784 inputs (28×28); this one has {d}")
            items.append((str(p), data_mod.image_to_pixels(p)))
        else:
            raise CLIError(f"{p}: unsupported file type {suffix or '(none)'}; give PNG/JPEG images or .npy arrays")
    return items


def cmd_predict(args):
    model = _load_run(args.run_dir, args.trust_unverified)
    items = _predict_inputs(args.files, model.net.layer_sizes[0])
    proba = model.predict_proba(np.stack([row for _, row in items]).astype(np.float64))
    names = model.names()
    k = min(args.top, proba.shape[1])
    results = []
    for (label, _), p in zip(items, proba):
        top = np.argsort(-p, kind="stable")[:k]
        results.append({"input": label, "class": names[top[0]], "class_index": int(top[0]),
                        "top": [{"class": names[j], "probability": float(p[j])} for j in top]})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            tops = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in r["top"])
            print(f"{r['input']}: {r['class']}   ({tops})")
    return 0


# --- derive ------------------------------------------------------------------------


def _derive_inputs(args):
    """(net, x, y): seeded, or from a --params JSON file (the keys of --format json)."""
    from .derive import check_size
    from .network import Network

    if args.params:
        from .schema import load_json

        spec = load_json(args.params, f"--params {args.params}")
        if not isinstance(spec, dict) or not {"weights", "biases", "x", "y"} <= set(spec):
            raise CLIError(f"--params {args.params}: needs the keys x, y, weights and biases")
        try:
            weights = [np.asarray(W, dtype=np.float64) for W in spec["weights"]]
            biases = [np.asarray(b, dtype=np.float64) for b in spec["biases"]]
        except (TypeError, ValueError) as exc:
            raise CLIError(f"--params {args.params}: weights and biases must be numeric arrays ({exc})") from None
        if not weights or len(weights) != len(biases) or any(W.ndim != 2 for W in weights):
            raise CLIError(f"--params {args.params}: weights must be a non-empty list of matrices, "
                           f"one bias vector each")
        sizes = [weights[0].shape[1]] + [W.shape[0] for W in weights]
        for l, (W, b) in enumerate(zip(weights, biases), start=1):
            if W.shape[1] != sizes[l - 1]:
                raise CLIError(f"--params {args.params}: W{l} has shape {W.shape} but layer {l - 1} "
                               f"has {sizes[l - 1]} units (W{l} must be ({sizes[l]}, {sizes[l - 1]}))")
            if b.shape != (sizes[l],):
                raise CLIError(f"--params {args.params}: b{l} has shape {b.shape}, expected ({sizes[l]},)")
        network = spec.get("network") or {}
        activation = network.get("activation", args.activation)
        loss = network.get("loss", args.loss)
        check_size(sizes)
        net = Network(sizes, activation=activation, loss=loss)
        net.weights, net.biases = weights, biases
        x = np.asarray(spec["x"], dtype=np.float64)
        if x.shape != (sizes[0],):
            raise CLIError(f"--params {args.params}: x has shape {x.shape}, expected ({sizes[0]},)")
        return net, x, spec["y"]
    sizes = args.sizes
    if len(sizes) < 2:
        raise CLIError(f"--sizes needs at least two layer sizes, got {sizes}")
    check_size(sizes)
    net = Network(sizes, activation=args.activation, loss=args.loss, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    x = np.round(rng.uniform(-1, 1, size=sizes[0]), 2)
    c = sizes[-1]
    y = int(rng.integers(0, c)) if args.loss == "cross_entropy" else np.round(rng.uniform(-1, 1, c), 2)
    return net, x, y


def cmd_derive(args):
    from .derive import derive
    from .io import atomic_write

    net, x, y = _derive_inputs(args)
    text = derive(net, x, y).render(args.format)
    if args.out:
        with atomic_write(Path(args.out), "w") as fh:
            fh.write(text)
        if not args.quiet:
            print(f"wrote the {args.format} derivation to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --- tune ----------------------------------------------------------------------------

TRIAL_COLUMNS = ["trial", "hidden", "lr", "batch_size", "epochs", "l2", "optimizer", "val_accuracy",
                 "val_loss", "best_epoch", "status", "seconds"]


def _write_trials(out_dir, results):
    import csv
    import io as _io

    from .io import atomic_write, write_json

    ordered = sorted(results, key=lambda r: r["trial"])
    write_json(out_dir / "trials.json", ordered)
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TRIAL_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in ordered:
        writer.writerow(dict(r, hidden=",".join(map(str, r["hidden"]))))
    with atomic_write(out_dir / "trials.csv", "w") as fh:
        fh.write(buf.getvalue())


def _plot_trials(board, path):
    from .plots import _pyplot, _save

    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax1.bar(range(len(board)), [100 * r["val_accuracy"] for r in board], color="#4c72b0")
    ax1.set_xticks(range(len(board)), [str(r["trial"]) for r in board], fontsize=7)
    ax1.set(xlabel="trial (best first)", ylabel="validation accuracy (%)", title="leaderboard")
    ok = [r for r in board if r["status"] == "ok"]
    if ok:
        sc = ax2.scatter([r["lr"] for r in ok], [100 * r["val_accuracy"] for r in ok],
                         c=[r["hidden"][0] for r in ok], cmap="viridis")
        fig.colorbar(sc, ax=ax2, label="hidden units")
    ax2.set_xscale("log")
    ax2.set(xlabel="learning rate", ylabel="validation accuracy (%)", title="accuracy by learning rate")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    lo = min((100 * r["val_accuracy"] for r in ok), default=0)
    ax1.set_ylim(max(0, lo - 5), 100)
    _save(fig, path)
    plt.close(fig)


def _print_board(board, file=sys.stdout, limit=None):
    print(f"{'rank':>4} {'trial':>5} {'hidden':>7} {'lr':>8} {'batch':>5} {'epochs':>6} {'l2':>7}"
          f" {'val acc':>8} {'val loss':>8}  status", file=file)
    for rank, r in enumerate(board[:limit] if limit else board, start=1):
        print(f"{rank:>4} {r['trial']:>5} {','.join(map(str, r['hidden'])):>7} {r['lr']:>8.4g} "
              f"{r['batch_size']:>5} {r['epochs']:>6} {r['l2']:>7.2g} {100 * r['val_accuracy']:>7.2f}% "
              f"{r['val_loss']:>8.4f}  {r['status']}", file=file)


def cmd_tune(args):
    from tqdm import tqdm

    from .io import directory_lock, write_json
    from .run import train_run
    from .train import TrainConfig
    from .tune import grid_trials, leaderboard, random_trials, run_trials, sweep_spec, trial_from_result

    if args.grid and args.trials is not None:
        raise CLIError("--grid and --trials exclude each other")
    if args.scheduler and args.jobs != 1:
        raise CLIError("--jobs is for local processes; with --scheduler the cluster's workers run the trials")
    if args.scheduler and not args.scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise CLIError(f"--scheduler must be an address like tcp://127.0.0.1:8786, got {args.scheduler!r}")
    if args.scheduler:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise CLIError("--scheduler needs Dask, which is not installed: pip install 'netprop[dask]'") from None
    if args.out is not None and not args.out.strip():
        raise CLIError("--out is empty; give a directory (or leave --out out for runs/tune-<timestamp>)")
    if args.trials:
        from .limits import check_memory

        check_memory(4096 * args.trials, f"--trials {args.trials}: the settings and their results")
    trials = grid_trials(optimizer=args.optimizer) if args.grid else \
        random_trials(args.trials or 12, args.seed, optimizer=args.optimizer)
    source = _data_source(args)
    from datetime import datetime

    out_dir = Path(args.out) if args.out else Path("runs") / datetime.now().strftime("tune-%Y%m%d-%H%M%S")
    spec = sweep_spec(trials, source, args.seed, args.validation, args.subset)
    done = {}
    if (out_dir / "sweep.json").is_file() and (out_dir / "trials.json").is_file():
        from .schema import load_sweep, load_trials

        if load_sweep(out_dir / "sweep.json") != json.loads(json.dumps(spec)):
            raise CLIError(f"--out {out_dir} holds a different sweep; choose another directory or "
                           f"repeat that sweep's flags to continue it")
        done = {r["key"]: r for r in load_trials(out_dir / "trials.json")}
    elif (out_dir / "sweep.json").is_file():
        pass        # a sweep that finished no trial (refused, say, for a bad flag): its correction replaces it
    elif out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise CLIError(f"--out {out_dir} already exists and is not a sweep directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    args.hold(directory_lock(out_dir))     # one sweep per directory at a time
    write_json(out_dir / "sweep.json", spec)

    quiet = args.quiet or args.json
    todo = [t for t in trials if t.key not in done]
    results = list(done.values())
    if not quiet:
        where = f"the Dask cluster at {args.scheduler}" if args.scheduler else \
            f"{args.jobs} local process{'es' if args.jobs > 1 else ''}"
        print(f"{len(trials)} settings, scored on the validation split only; {len(done)} already "
              f"done in {out_dir}; running {len(todo)} on {where}", file=sys.stderr)
    bar = tqdm(total=len(trials), initial=len(done), desc="trials", unit="trial", file=sys.stderr,
               disable=quiet or not sys.stderr.isatty(), dynamic_ncols=True)
    try:
        with bar:
            for result in run_trials(todo, source, args.seed, args.validation, args.subset,
                                     jobs=args.jobs, scheduler=args.scheduler):
                results.append(result)
                _write_trials(out_dir, results)
                bar.update(1)
                bar.set_postfix(best=f"{100 * max(r['val_accuracy'] for r in results):.2f}%")
    except KeyboardInterrupt:
        print(f"\ninterrupted after {len(results)} of {len(trials)} trials; run the same command "
              f"again to finish the rest", file=sys.stderr)
        return 130
    except OSError as exc:
        raise CLIError(f"could not reach the Dask scheduler {args.scheduler}: {exc}") from None

    board = leaderboard(results)
    _write_trials(out_dir, results)
    _plot_trials(board, out_dir / "trials.png")
    best = board[0]
    summary = {"out_dir": str(out_dir), "trials": len(board), "best": best, "leaderboard": board}
    if best["status"] != "ok":
        raise CLIError("every trial diverged; try smaller learning rates")
    if not args.no_final:
        if not quiet:
            print(f"\nbest setting: trial {best['trial']}; training it again in {out_dir / 'best'} "
                  f"and scoring the test set once", file=sys.stderr)
        chosen = trial_from_result(best)
        config = TrainConfig(seed=args.seed, validation=args.validation, **chosen.params)
        final_dir = out_dir / "best"
        if final_dir.exists():
            import shutil

            shutil.rmtree(final_dir)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):     # as the trial ran: same numbers
            final = train_run(final_dir, config, source, subset=args.subset)
        summary["final"] = final.metrics
    write_json(out_dir / "summary.json", summary)
    _write_tune_report(out_dir, board, summary, args)
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
    elif not args.quiet:
        print()
        _print_board(board)
        line = (f"\nchosen on validation: trial {best['trial']} (validation accuracy "
                f"{100 * best['val_accuracy']:.2f}%)")
        if "final" in summary and "test_accuracy" in summary["final"]:
            line += f"; its test accuracy, read once: {100 * summary['final']['test_accuracy']:.2f}%"
        print(line)
        print(f"trials.csv, trials.json, trials.png and report.md in {out_dir}")
    return 0


def _write_tune_report(out_dir, board, summary, args):
    from .io import atomic_write

    best = board[0]
    lines = [f"# netprop hyper-parameter sweep: {out_dir.name}", "",
             f"{len(board)} settings ({'grid' if args.grid else 'random search'}, seed {args.seed}), "
             f"each trained on the training split{f' ({args.subset} examples)' if args.subset else ''} "
             f"and scored on the validation split ({args.validation:.0%} of the training set, "
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


# --- parser ----------------------------------------------------------------------


def build_parser():
    parser = argparse.ArgumentParser(
        prog="netprop",
        description="Forward and backward propagation as the lecture derives them.",
    )
    parser.add_argument("--version", action="version", version=f"netprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "gradcheck",
        help="check backward propagation against central finite differences",
        description=(
            "Check every gradient of backward propagation against central finite differences "
            "in float64, and print the relative error per parameter (W1, b1, W2, ...). By "
            "default checks a small random 20-10-5 network and the lecture's 784-H-10 network. "
            "Exits 1 if any relative error exceeds --threshold."
        ),
    )
    p.add_argument("--sizes", type=_int_list, default=None, metavar="D,H,...,C",
                   help="check only this network, e.g. 20,10,5 (default: 20,10,5 and the "
                        "lecture's 784-H-10)")
    p.add_argument("--hidden", type=_positive_int, default=32, metavar="H",
                   help="hidden units of the lecture's 784-H-10 network (default 32; every one of its "
                        "784·H + H + 10·H + 10 parameters is perturbed twice, so 128 takes ~40 s)")
    p.add_argument("--lecture-only", action="store_true",
                   help="check only the lecture's 784-H-10 network")
    p.add_argument("--examples", type=_positive_int, default=4, metavar="N",
                   help="examples in the minibatch (default 4)")
    p.add_argument("--activation", choices=list(ACTIVATIONS),
                   default="relu", help="hidden activation (default relu)")
    p.add_argument("--loss", choices=list(LOSSES), default="cross_entropy",
                   help="loss (default cross_entropy: softmax output)")
    p.add_argument("--l2", type=_non_negative_float, default=0.0,
                   help="L2 strength: adds (l2/2)·Σ‖W‖² to the loss (default 0)")
    p.add_argument("--eps", type=_positive_float, default=1e-6,
                   help="finite-difference step (default 1e-6)")
    p.add_argument("--threshold", type=_positive_float, default=1e-6,
                   help="largest relative error that passes (default 1e-6)")
    p.add_argument("--seed", type=int, default=0, help="seed for weights and data (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--quiet", action="store_true", help="print nothing unless the check fails")
    p.set_defaults(func=cmd_gradcheck)

    from .train import TrainConfig
    defaults = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train the lecture's network (default: on Fashion-MNIST) and write a run directory",
        description=(
            "Train a fully-connected network with minibatch SGD/momentum/Nesterov/Adam on the "
            "lecture's loss (mean cross-entropy + (l2/2)·Σ‖W‖²). Default: Fashion-MNIST, found in "
            "--data-dir, $NETPROP_DATA, ~/.cache/netprop/fashion-mnist or "
            "/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), else downloaded "
            "and MD5-checked. 20%% of the training set (stratified, seeded) is held out for "
            "validation; the best epoch by validation accuracy is kept; the test set is scored "
            "once at the end. Writes model.safetensors, config.json, history.csv, metrics.json, "
            "PNG plots, report.md and a checkpoint after every epoch to --out."
        ),
    )
    g = p.add_argument_group("data")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding the four Fashion-MNIST IDX files")
    g.add_argument("--data", metavar="FILE",
                   help="train on your own data instead: .npz with arrays X and y, or CSV with the "
                        "label in the first column")
    g.add_argument("--test-data", metavar="FILE", help="test data for --data (same format)")
    g.add_argument("--header", action="store_true",
                   help="the CSV's first row is a header (without this flag a first row is skipped only "
                        "when no field of it is a number; one that mixes numbers and text is an error)")
    g.add_argument("--subset", type=_positive_int, metavar="N",
                   help="train on N examples of the training split (a quick run)")
    g.add_argument("--validation", type=float, default=defaults.validation, metavar="FRACTION",
                   help=f"fraction of the training set held out for validation (default {defaults.validation})")
    g = p.add_argument_group("network and optimisation")
    g.add_argument("--hidden", type=_int_list, default=defaults.hidden, metavar="H[,H...]",
                   help=f"hidden layer widths, e.g. 128 or 256,128 (default {','.join(map(str, defaults.hidden))})")
    g.add_argument("--activation", choices=list(ACTIVATIONS),
                   default=defaults.activation, help=f"hidden activation (default {defaults.activation})")
    g.add_argument("--epochs", type=_positive_int, default=defaults.epochs,
                   help=f"passes over the training split (default {defaults.epochs})")
    g.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size,
                   help=f"examples per minibatch (default {defaults.batch_size})")
    g.add_argument("--lr", type=_positive_float, default=defaults.lr,
                   help=f"learning rate (default {defaults.lr:g})")
    g.add_argument("--optimizer", choices=OPTIMIZERS,
                   default=defaults.optimizer, help=f"update rule (default {defaults.optimizer})")
    g.add_argument("--momentum", type=_non_negative_float, default=defaults.momentum,
                   help=f"momentum for momentum/nesterov (default {defaults.momentum:g})")
    g.add_argument("--l2", type=_non_negative_float, default=defaults.l2,
                   help=f"L2 strength: adds (l2/2)·Σ‖W‖² to the loss (default {defaults.l2:g})")
    g.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule,
                   help=f"learning-rate schedule (default {defaults.schedule}: annealed to 0 per minibatch)")
    g.add_argument("--step-epochs", type=_positive_int, default=defaults.step_epochs, metavar="EPOCHS",
                   help=f"with --schedule step: multiply the rate by --gamma every EPOCHS epochs "
                        f"(default {defaults.step_epochs})")
    g.add_argument("--gamma", type=_positive_float, default=defaults.gamma,
                   help=f"with --schedule step: the factor (default {defaults.gamma:g})")
    g.add_argument("--patience", type=int, default=defaults.patience, metavar="EPOCHS",
                   help="stop after this many epochs without a better validation accuracy "
                        "(default 0: run every epoch; the best epoch is kept either way)")
    g.add_argument("--augment", action="store_true",
                   help="random horizontal flips and shifts of training images")
    g.add_argument("--shift", type=int, default=defaults.shift, metavar="PIXELS",
                   help=f"largest shift for --augment (default {defaults.shift})")
    g.add_argument("--seed", type=int, default=defaults.seed,
                   help=f"seed for split, weights, shuffles and augmentation (default {defaults.seed})")
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help="run directory (default runs/<timestamp>)")
    g.add_argument("--resume", metavar="DIR",
                   help="continue the interrupted run in DIR from its last checkpoint with its saved "
                        "settings and data (both verified); a flag given beside it must match them")
    g.add_argument("--quiet", action="store_true", help="print nothing but errors")
    g.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate", help="accuracy, cross-entropy, per-class accuracy and confusion matrix of a run",
        description="Score a trained run on the Fashion-MNIST test set (default) or on --data.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by netprop train")
    p.add_argument("--data", metavar="FILE", help=".npz (X, y) or CSV (label first) to evaluate on")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the Fashion-MNIST IDX files")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--trust-unverified", action="store_true",
                   help="load a model whose config.json has no SHA-256 hashes (an older netprop's, or "
                        "edited by hand); without this flag such a model is refused")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict", help="class and top-3 probabilities for images or .npy arrays",
        description=(
            "Predict the class of each input. PNG/JPEG images are converted the way Fashion-MNIST "
            "is drawn: grayscale, scaled to fit 28×28 keeping the aspect ratio, centred on black, "
            "and inverted when the background is lighter than the middle (a product photo on white "
            "becomes a light article on black, as in the dataset). .npy arrays hold raw pixel "
            "values 0-255: one example of 784 values (or 28×28) or a stack of them."
        ),
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by netprop train")
    p.add_argument("files", metavar="FILE", nargs="+", help="PNG/JPEG images or .npy arrays")
    p.add_argument("--top", type=_positive_int, default=3, help="probabilities to show (default 3)")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--trust-unverified", action="store_true",
                   help="load a model whose config.json has no SHA-256 hashes (refused without this flag)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "derive",
        help="the lecture's derivation with real numbers: Jacobian chains beside backprop",
        description=(
            "Show forward propagation, then for every parameter the chain of Jacobians "
            "(∂f/∂ŷ · ∂ŷ/∂h · ∂h/∂z · ∂z/∂W1, each factor as a matrix), its product reshaped, the "
            "backprop shortcut (g xᵀ, ...) and central finite differences, with the largest "
            "difference between the three; then the lecture's two simplifications (diag = "
            "Hadamard, block matrix = outer product). Default: the lecture's 2-2-3 relu network "
            "with seeded x, y, W and b."),
    )
    p.add_argument("--sizes", type=_int_list, default=[2, 2, 3], metavar="D,H,...,C",
                   help="layer sizes (default 2,2,3; at most 4 weight matrices and 8 units a layer)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="relu",
                   help="hidden activation (default relu)")
    p.add_argument("--loss", choices=list(LOSSES), default="cross_entropy",
                   help="loss (default cross_entropy: softmax output)")
    p.add_argument("--seed", type=int, default=0, help="seed for x, y, W and b (default 0)")
    p.add_argument("--params", metavar="FILE",
                   help="JSON with x, y, weights and biases (and optionally network: activation, "
                        "loss), as --format json writes them")
    p.add_argument("--format", choices=["text", "markdown", "latex", "html", "json"], default="text",
                   help="text (terminal, default), markdown (LaTeX in $$ blocks), latex (a "
                        "standalone document), html (one self-contained page: MathML and an SVG "
                        "of the network), json")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--quiet", action="store_true", help="no message after writing --out")
    p.set_defaults(func=cmd_derive)

    p = sub.add_parser(
        "tune",
        help="hyper-parameter search scored on the validation split only",
        description=(
            "Try settings of hidden units, learning rate, minibatch size, epochs and L2 (random "
            "search over the course's ranges by default: hidden 30-200, learning rate 0.001-0.5 "
            "log-uniform, minibatch 16-256; or --grid). Each trial trains on the training split "
            "and is scored on the validation split; the test set is read once, at the end, for "
            "the chosen setting. Writes sweep.json, trials.csv, trials.json, trials.png, "
            "report.md and best/ (the chosen setting's run) to --out; running the same command "
            "again with the same --out skips the trials already finished."),
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--trials", type=_positive_int, metavar="N",
                   help="random search with N settings (default 12)")
    g.add_argument("--grid", action="store_true",
                   help="grid: hidden 30,50,100 × lr 0.01,0.05,0.2 × l2 0,1e-4 (batch 64, 10 epochs)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="update rule of every trial (default sgd, the course's minibatch SGD)")
    p.add_argument("--subset", type=_positive_int, metavar="N",
                   help="train each trial on N examples of the training split (quick sweeps)")
    p.add_argument("--validation", type=float, default=0.2, metavar="FRACTION",
                   help="fraction of the training set held out for validation (default 0.2)")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the Fashion-MNIST IDX files")
    p.add_argument("--data", metavar="FILE", help="your own .npz or CSV training data instead")
    p.add_argument("--test-data", metavar="FILE", help="test data for --data")
    p.add_argument("--header", action="store_true", help="the CSV's first row is a header")
    p.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                   help="run trials in N local processes, one BLAS thread each (default 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the trials on this existing Dask distributed cluster instead")
    p.add_argument("--no-final", action="store_true",
                   help="stop after the sweep: do not train the chosen setting again or read the test set")
    p.add_argument("--seed", type=int, default=0, help="seed for the settings, split and training (default 0)")
    p.add_argument("--out", metavar="DIR", help="sweep directory (default runs/tune-<timestamp>)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the leaderboard and result as JSON")
    p.set_defaults(func=cmd_tune)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt          # SIGTERM (kill, a job scheduler) stops a run as Ctrl-C does


def main(argv=None):
    import contextlib
    import signal
    import threading

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    # which flags were typed, not defaulted: --resume compares exactly those with its checkpoint
    args.given_flags = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    # argparse accepts unambiguous prefixes (--hid for --hidden): name them in full
    args.given_flags |= {full for token in args.given_flags for full in _RESUME_OPTIONS
                         if token not in _RESUME_OPTIONS and full.startswith(token)
                         and sum(o.startswith(token) for o in _RESUME_OPTIONS) == 1}
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    held = contextlib.ExitStack()
    args.hold = held.enter_context          # a command's directory locks last until it returns
    try:
        with held:
            return args.func(args)
    except (CLIError, ValueError, OSError) as exc:  # DataError, ModelFileError are ValueErrors
        print(f"netprop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"netprop {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
