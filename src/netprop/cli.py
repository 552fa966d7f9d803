"""The `netprop` command: argument parsing and printing only; the math lives in the library."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np

from ._version import __version__
from .core.activations import ACTIVATIONS
from .core.losses import LOSSES
from .training.optimizers import OPTIMIZERS, SCHEDULES


class CLIError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def _int_at_least(lowest, words):
    """An argparse type: an integer >= lowest, refused as "expected {words}"."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}")
        return value
    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "an integer >= 0")


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
        values = [int(part) for part in text.split(",")]       # "2,,3" is a typo, not the 2-3 network
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


def cmd_gradcheck(args):
    from .teaching.gradcheck import gradcheck, gradcheck_cases

    if args.sizes is not None and len(args.sizes) < 2:
        raise CLIError(f"--sizes needs at least two layer sizes, got {args.sizes}")
    cases = gradcheck_cases(args.sizes, hidden=args.hidden, lecture_only=args.lecture_only,
                            examples=args.examples, activation=args.activation, loss=args.loss,
                            seed=args.seed)
    results = []
    for label, net, X, y in cases:
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


def _timestamp_dir(prefix=""):
    from datetime import datetime

    return Path("runs") / datetime.now().strftime(f"{prefix}%Y%m%d-%H%M%S")


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
    from .storage.models import ModelFileError
    from .training.train_run import CHECKPOINT, RunFinished, train_run, verified_checkpoint_epoch
    from .training.fit import TrainConfig, TrainingDiverged

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
        if out_dir.exists() and not out_dir.is_dir():
            raise CLIError(f"--out {out_dir} is a file; give a directory for the run")
        if out_dir.exists() and any(out_dir.iterdir()):
            raise CLIError(f"--out {out_dir} already exists and is not empty; choose another "
                           f"directory (or --resume {out_dir} to continue that run)")
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
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
                           download_progress=_download_progress(quiet),
                           landscape=_landscape_options(args, out_dir))
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
    except RunFinished as exc:            # resuming a finished run: said, and nothing done
        print(f"netprop train: {exc}", file=sys.stderr)
        return 0
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
        _print_landscape(result)
        print(f"model, history, plots and report.md in {out_dir}")
    return 0


def _resume_flags():
    """The flags of `netprop train` that a checkpoint fixes: flag -> TrainConfig field (one flag per field)."""
    from .training.fit import TrainConfig

    return {"--" + f.name.replace("_", "-"): f.name for f in fields(TrainConfig)}


def _resume_options():
    return [*_resume_flags(), "--subset", "--out", "--data", "--test-data", "--data-dir", "--header"]


def _check_resume_flags(args, out_dir):
    """Refuse flags given beside --resume that differ from the checkpoint's (they would be ignored)."""
    from .storage.models import ModelFileError
    from .training.train_run import CHECKPOINT, read_checkpoint

    try:
        _, meta = read_checkpoint(out_dir / CHECKPOINT)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    saved, source = meta["config"], meta["source"]
    given = getattr(args, "given_flags", set())
    differ = [f"{flag} {getattr(args, field.replace('-', '_'))!r} (checkpoint: {saved[field]!r})"
              for flag, field in _resume_flags().items()
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
    from .training.train_run import CHECKPOINT, read_checkpoint

    _, meta = read_checkpoint(Path(out_dir) / CHECKPOINT)
    return meta["config"]["epochs"]


# --- evaluate and predict -----------------------------------------------------------


def _load_run(run_dir, trust_unverified=False):
    from .storage.models import ModelFileError, load_model

    try:
        return load_model(run_dir, trust_unverified=trust_unverified)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None


def cmd_evaluate(args):
    from . import data as data_mod
    from .training.evaluation import evaluate_model

    if args.data and args.data_dir:
        raise CLIError("--data-dir is for Fashion-MNIST and would be ignored beside --data; give one of them")
    model = _load_run(args.run_dir, args.trust_unverified)
    if args.data:
        X, y = data_mod.load_table(args.data)
        if y is None:
            raise CLIError(f"{args.data}: evaluation needs labels (an array y)")
        what = args.data
    else:
        _, _, X, y = data_mod.load_fashion_mnist(args.data_dir)
        what = "Fashion-MNIST test set"
    report = evaluate_model(model, X, y, name=what)
    cm, names = report["confusion_matrix"], report["class_names"]
    if args.json:
        print(json.dumps({"data": str(what), **report, "confusion_matrix": cm.tolist()}, indent=2))
        return 0
    print(f"{what}: {report['examples']} examples")
    print(f"accuracy       {100 * report['accuracy']:.2f}%")
    print(f"cross-entropy  {report['cross_entropy']:.4f}\n")
    print("per-class accuracy")
    for name, a in report["per_class_accuracy"].items():
        print(f"  {name:<14}{'-' if a is None else f'{100 * a:6.2f}%'}")
    width = max(5, len(str(cm.max())) + 1)
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    digits = len(str(len(names) - 1))         # row labels as wide as the largest class index
    print(" " * (15 + digits) + "".join(f"{k:>{width}}" for k in range(len(names))))
    for k, name in enumerate(names):
        print(f"  {k:>{digits}} {name[:12]:<12}" + "".join(f"{v:>{width}}" for v in cm[k]))
    return 0


def cmd_predict(args):
    from .data import load_predict_inputs
    from .training.evaluation import predict_top

    model = _load_run(args.run_dir, args.trust_unverified)
    pixels = model.preprocessing is not None and model.preprocessing.kind == "pixels"
    items = load_predict_inputs(args.files, model.net.layer_sizes[0], pixels=pixels)
    tops = predict_top(model, np.stack([row for _, row in items]), args.top)
    results = [{"input": label, **top} for (label, _), top in zip(items, tops)]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            shown = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in r["top"])
            print(f"{r['input']}: {r['class']}   ({shown})")
    return 0


# --- derive ------------------------------------------------------------------------


def cmd_derive(args):
    from .teaching.derive import ParamsError, derive, load_params, seeded_inputs
    from .storage.models import atomic_write

    if args.params:
        if args.sizes is not None or args.seed is not None:
            raise CLIError("--sizes and --seed draw a seeded network; with --params the file gives it")
        try:
            net, x, y = load_params(args.params)
        except ParamsError as exc:
            raise CLIError(f"--params {exc}") from None
        if args.activation or args.loss:      # a flag given here wins over the file's "network" entry
            from .core.network import Network

            weights, biases = net.weights, net.biases
            net = Network(net.layer_sizes, activation=args.activation or net.activation,
                          loss=args.loss or net.loss_name)
            net.weights, net.biases = weights, biases
    else:
        net, x, y = seeded_inputs(args.sizes or [2, 2, 3], args.activation or "relu",
                                  args.loss or "cross_entropy", args.seed or 0)
    if args.out and Path(args.out).is_dir():
        raise CLIError(f"--out {args.out}: is a directory")
    text = derive(net, x, y).render(args.format)
    if args.out:
        with atomic_write(Path(args.out), "w") as fh:
            fh.write(text)
        if not args.quiet:
            print(f"wrote the {args.format} derivation to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --- explain -------------------------------------------------------------------------


def _port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def cmd_explain(args):
    try:
        from .explain import run_directory_problem, serve
        import starlette  # noqa: F401  (the extra's two packages, checked before binding a port)
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CLIError(f"the live lecture needs the explain extra ({exc.name} is missing): "
                       f"pip install 'netprop[explain]'") from None
    run_dir = None
    if args.run_dir is not None:
        run_dir = Path(args.run_dir)
        if not run_dir.exists():
            raise CLIError(f"{args.run_dir}: no such run directory")
        problem = run_directory_problem(run_dir)
        if problem:
            raise CLIError(problem)
    serve(run_dir=run_dir, host=args.host, port=args.port, open_browser=not args.no_browser)
    return 0


# --- tune ----------------------------------------------------------------------------


class _SweepProgress:
    """The sweep's opening line, a trial bar (on a terminal), and the line before the final retrain."""

    def __init__(self, quiet, where):
        self.quiet, self.where = quiet, where
        self.bar, self.phase, self.finished, self.total = None, "setup", 0, 0

    def __call__(self, event, **info):
        from tqdm import tqdm

        if event == "start":
            self.phase, self.total, self.finished = "trials", len(info["trials"]), len(info["done"])
            if not self.quiet:
                print(f"{self.total} settings, scored on the validation split only; {self.finished} "
                      f"already done in {info['out_dir']}; running {len(info['todo'])} on {self.where}",
                      file=sys.stderr)
            self.bar = tqdm(total=self.total, initial=self.finished, desc="trials", unit="trial",
                            file=sys.stderr, disable=self.quiet or not sys.stderr.isatty(), dynamic_ncols=True)
        elif event == "result":
            self.finished = len(info["results"])
            self.bar.update(1)
            self.bar.set_postfix(best=f"{100 * max(r['val_accuracy'] for r in info['results']):.2f}%")
        elif event == "final":
            self.close()
            self.phase = "final"
            if not self.quiet:
                print(f"\nbest setting: trial {info['best']['trial']}; training it again in "
                      f"{info['out_dir']} and scoring the test set once", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_board(board, file=sys.stdout, limit=None):
    print(f"{'rank':>4} {'trial':>5} {'hidden':>7} {'lr':>8} {'batch':>5} {'epochs':>6} {'l2':>7}"
          f" {'val acc':>8} {'val loss':>8}  status", file=file)
    for rank, r in enumerate(board[:limit] if limit else board, start=1):
        print(f"{rank:>4} {r['trial']:>5} {','.join(map(str, r['hidden'])):>7} {r['lr']:>8.4g} "
              f"{r['batch_size']:>5} {r['epochs']:>6} {r['l2']:>7.2g} {100 * r['val_accuracy']:>7.2f}% "
              f"{r['val_loss']:>8.4f}  {r['status']}", file=file)


def cmd_tune(args):
    from .training.tune import grid_trials, random_trials, run_sweep

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
        from .core.limits import check_memory

        check_memory(4096 * args.trials, f"--trials {args.trials}: the settings and their results")
    trials = grid_trials(optimizer=args.optimizer) if args.grid else \
        random_trials(args.trials or 12, args.seed, optimizer=args.optimizer)
    source = _data_source(args)
    out_dir = Path(args.out) if args.out else _timestamp_dir("tune-")
    quiet = args.quiet or args.json
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else \
        f"{args.jobs} local process{'es' if args.jobs > 1 else ''}"
    progress = _SweepProgress(quiet, where)
    try:
        sweep = run_sweep(out_dir, trials, source, seed=args.seed, validation=args.validation,
                          subset=args.subset, jobs=args.jobs, scheduler=args.scheduler,
                          final=not args.no_final, search="grid" if args.grid else "random search",
                          callback=progress)
    except KeyboardInterrupt:
        progress.close()
        if progress.phase != "trials":
            raise
        print(f"\ninterrupted after {progress.finished} of {progress.total} trials; run the same command "
              f"again to finish the rest", file=sys.stderr)
        return 130
    finally:
        progress.close()
    summary, best = sweep.summary, sweep.best
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
    elif not args.quiet:
        print()
        _print_board(sweep.leaderboard)
        line = (f"\nchosen on validation: trial {best['trial']} (validation accuracy "
                f"{100 * best['val_accuracy']:.2f}%)")
        if "final" in summary and "test_accuracy" in summary["final"]:
            line += f"; its test accuracy, read once: {100 * summary['final']['test_accuracy']:.2f}%"
        print(line)
        print(f"trials.csv, trials.json, trials.png and report.md in {out_dir}")
    return 0


# --- landscape: the loss surface around the SGD path ------------------------------------------


def _add_landscape_arguments(g, train):
    if train:
        g.add_argument("--landscape", action="store_true",
                       help="record the parameter vector every k steps into OUT/trajectory/ (k chosen so "
                            "at most --landscape-snapshots are kept; the first holds all parameters in float32, "
                            "each later one its change in 8 bits, 0.4 MB for 784-512-10) and draw the loss landscape around the path in report.md")
        g.add_argument("--landscape-snapshots", type=_positive_int, default=200, metavar="N",
                       help="most snapshots kept on disk (default 200)")
    prefix = "--landscape-" if train else "--"
    g.add_argument(prefix + "directions", choices=["pca", "random"], default="pca",
                   help="pca: the plane of the path's two principal components (default); random: two "
                        "filter-normalised random directions through the final parameters (Li et al. 2018)")
    g.add_argument(prefix + "grid", type=_positive_int, default=25, metavar="K",
                   help="K × K grid points (default 25)")
    g.add_argument(prefix + "subset", type=_positive_int, default=2000, metavar="N",
                   help="training examples the loss is computed on (a fixed seeded subset; default 2000)")
    g.add_argument(prefix + "margin", type=_non_negative_float, default=0.25, metavar="FRACTION",
                   help="grid beyond the path's extent on each side, as a fraction of it (default 0.25)")


def _landscape_options(args, out_dir):
    """LandscapeOptions for train_run: from the flags, or for --resume as the run was started."""
    from .training.landscape import LandscapeOptions

    if args.resume:
        return LandscapeOptions.of_run(out_dir)
    if not args.landscape:
        return None
    if args.landscape_snapshots < 3:
        raise CLIError(f"--landscape-snapshots must be >= 3, got {args.landscape_snapshots}")
    return LandscapeOptions(args.landscape_directions, args.landscape_grid, args.landscape_subset,
                            args.landscape_margin, args.landscape_snapshots)


def _print_landscape(result):
    from .training.landscape import summary

    options = getattr(result, "landscape", None)
    if options is not None and options.result is not None:
        print(summary(options.result))


def cmd_landscape(args):
    from .storage.models import ModelFileError, load_model
    from .training.landscape import landscape_for_run, summary
    from .training.train_run import training_split

    try:
        model = load_model(args.run_dir)
        X, y, config = training_split(args.run_dir)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    result = landscape_for_run(args.run_dir, model.net, X, y, args.directions, args.grid, args.subset,
                               args.margin, l2=config.l2, seed=args.seed if args.seed is not None else config.seed)
    if args.json:
        print(json.dumps(json.loads((Path(args.run_dir) / "landscape.json").read_text()), indent=2))
    else:
        print(summary(result))
        print(f"landscape_surface.png, landscape_contour.png and the report section in {args.run_dir}")
    return 0


# --- check: a student's own forward_prop and back_prop -----------------------------------


def cmd_check(args):
    import contextlib

    from .teaching.homework import check

    # With --json, standard output is for programs: what the student's code prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        report = check(args.file, forward=args.forward, backward=args.backward, layout=args.layout,
                       order=args.order, l2=args.l2, activation=args.activation, sizes=args.sizes,
                       seed=args.seed, tolerance=args.tolerance, images=not args.no_images,
                       data_dir=args.data_dir)
    print(json.dumps(report.to_json(), indent=2) if args.json else report.text())
    return 0 if report.passed else 1


# --- parser ----------------------------------------------------------------------


# The flag of every TrainConfig field: how it parses and what --help says; {default} is the
# field's default as TrainConfig sets it.  test_cli_train checks that each field has an entry.
CONFIG_FLAGS = {
    "hidden": dict(type=_int_list, metavar="H[,H...]",
                   help="hidden layer widths, e.g. 128 or 256,128 (default {default})"),
    "activation": dict(choices=list(ACTIVATIONS), help="hidden activation (default {default})"),
    "epochs": dict(type=_positive_int, help="passes over the training split (default {default})"),
    "batch_size": dict(type=_positive_int, help="examples per minibatch (default {default})"),
    "lr": dict(type=_positive_float, help="learning rate (default {default})"),
    "optimizer": dict(choices=OPTIMIZERS, help="update rule (default {default})"),
    "momentum": dict(type=_non_negative_float, help="momentum for momentum/nesterov (default {default})"),
    "l2": dict(type=_non_negative_float,
               help="L2 strength: adds (l2/2)·Σ‖W‖² to the loss (default {default})"),
    "schedule": dict(choices=SCHEDULES,
                     help="learning-rate schedule (default {default}; cosine anneals the rate to 0, "
                          "minibatch by minibatch)"),
    "step_epochs": dict(type=_positive_int, metavar="EPOCHS",
                        help="with --schedule step: multiply the rate by --gamma every EPOCHS epochs "
                             "(default {default})"),
    "gamma": dict(type=_positive_float, help="with --schedule step: the factor (default {default})"),
    "patience": dict(type=int, metavar="EPOCHS",
                     help="stop after this many epochs without a better validation accuracy (default "
                          "{default}; 0 runs every epoch; the best epoch is kept either way)"),
    "augment": dict(help="random horizontal flips and shifts of training images"),
    "shift": dict(type=int, metavar="PIXELS", help="largest shift for --augment (default {default})"),
    "seed": dict(type=_non_negative_int,
                 help="seed for split, weights, shuffles and augmentation (default {default})"),
    "validation": dict(type=float, metavar="FRACTION",
                       help="fraction of the training set held out for validation (default {default})"),
}


def _shown(value):
    """A default as --help prints it: 256,128 for a list, 0.002 rather than 0.0020 for a float."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _add_config_flag(group, name):
    """Add --name (underscores as dashes) setting TrainConfig's field name, default from TrainConfig.

    A field missing from CONFIG_FLAGS still gets a flag, parsed by its default's type.
    """
    from .training.fit import TrainConfig

    default = getattr(TrainConfig(), name)
    spec = dict(CONFIG_FLAGS.get(name) or {"help": f"TrainConfig.{name} (default {{default}})"})
    spec["help"] = spec["help"].format(default=_shown(default))
    flag = "--" + name.replace("_", "-")
    if isinstance(default, bool):
        spec.setdefault("action", argparse.BooleanOptionalAction if default else "store_true")
        group.add_argument(flag, dest=name, default=default, **spec)
        return
    if "type" not in spec and "choices" not in spec:
        spec["type"] = _int_list if isinstance(default, list) else type(default)
    group.add_argument(flag, dest=name, default=default, **spec)


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
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed for weights and data (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--quiet", action="store_true", help="print nothing unless the check fails")
    p.set_defaults(func=cmd_gradcheck)

    from .training.fit import TrainConfig

    p = sub.add_parser(
        "train",
        help="train the lecture's network (default: on Fashion-MNIST) and write a run directory",
        description=(
            "Train a fully-connected network with minibatch SGD/momentum/Nesterov/Adam on the "
            "lecture's loss (mean cross-entropy + (l2/2)·Σ‖W‖²). Default: Fashion-MNIST, found in "
            "--data-dir, $NETPROP_DATA, ~/.cache/netprop/fashion-mnist or "
            "/usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), else downloaded "
            f"and MD5-checked. {TrainConfig().validation:.0%} of the training set (stratified, "
            "seeded) is held out for validation; the best epoch by validation accuracy is kept; the "
            "test set is scored "
            "once at the end. Writes model.safetensors, config.json, history.csv, metrics.json, "
            "PNG plots, report.md and a checkpoint after every epoch to --out."
        ),
    )
    data = p.add_argument_group("data")
    data.add_argument("--data-dir", metavar="DIR", help="folder holding the four Fashion-MNIST IDX files")
    data.add_argument("--data", metavar="FILE",
                      help="train on your own data instead: .npz with arrays X and y, or CSV with the "
                           "label in the first column")
    data.add_argument("--test-data", metavar="FILE", help="test data for --data (same format)")
    data.add_argument("--header", action="store_true",
                      help="the CSV's first row is a header (without this flag a first row is skipped only "
                           "when no field of it is a number; one that mixes numbers and text is an error)")
    data.add_argument("--subset", type=_positive_int, metavar="N",
                      help="train on N examples of the training split (a quick run)")
    network = p.add_argument_group("network and optimisation")
    for f in fields(TrainConfig):           # one flag per field: the run's settings cannot drift
        _add_config_flag(data if f.name == "validation" else network, f.name)
    g = p.add_argument_group("output")
    g.add_argument("--out", metavar="DIR", help="run directory (default runs/<timestamp>)")
    g.add_argument("--resume", metavar="DIR",
                   help="continue the interrupted run in DIR from its last checkpoint with its saved "
                        "settings and data (both verified); a flag given beside it must match them")
    g.add_argument("--quiet", action="store_true", help="print nothing but errors")
    g.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")
    _add_landscape_arguments(p.add_argument_group("loss landscape (the course's exercise)"), train=True)
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
    p.add_argument("--sizes", type=_int_list, metavar="D,H,...,C",
                   help="layer sizes (default 2,2,3; at most 4 weight matrices and 8 units a layer)")
    p.add_argument("--activation", choices=list(ACTIVATIONS),
                   help="hidden activation (default relu, or the --params file's)")
    p.add_argument("--loss", choices=list(LOSSES),
                   help="loss (default cross_entropy: softmax output; or the --params file's)")
    p.add_argument("--seed", type=_non_negative_int, help="seed for x, y, W and b (default 0)")
    p.add_argument("--params", metavar="FILE",
                   help="JSON with x, y, weights and biases (and optionally network: activation, "
                        "loss), as --format json writes them; --activation and --loss given here "
                        "win over the file's")
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
    _add_config_flag(p, "validation")
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
    p.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed for the settings, split and training (default 0)")
    p.add_argument("--out", metavar="DIR", help="sweep directory (default runs/tune-<timestamp>)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.add_argument("--json", action="store_true", help="print the leaderboard and result as JSON")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser(
        "check",
        help="check your own forward_prop and back_prop against netprop (this runs FILE's code)",
        description=(
            "Import FILE.py -- this runs the file's code, as python would -- then call its forward and "
            "backward functions on seeded cases (random networks with 1, 2 and 3 hidden layers, set "
            "through the module's NUM_INPUT, NUM_HIDDEN, NUM_HIDDEN_LAYERS and NUM_OUTPUT, then 8 "
            "Fashion-MNIST images at the module's own sizes when the data set is installed) and compare "
            "the loss, every z, every h, yhat and each gradient block with netprop's float64 numbers. "
            "Prints a table per case (relative error and verdict per quantity) and names the mistake "
            "where one known mistake reproduces your numbers. Defaults follow the course: "
            "forward_prop(x, y, weightsAndBiases) returns loss, zs, hs, yhat; back_prop(x, y, "
            "weightsAndBiases) returns the flat gradient; x is (784, n) with examples as columns, y "
            "one-hot columns, the vector W1, W2, ..., b1, b2, ... Exits 0 when everything agrees, 1 "
            "when something disagrees, 2 when FILE cannot be checked."),
    )
    p.add_argument("file", metavar="FILE.py", help="your Python file (it is imported: its code runs)")
    p.add_argument("--forward", default="forward_prop", metavar="NAME",
                   help="name of the forward function (default forward_prop)")
    p.add_argument("--backward", default="back_prop", metavar="NAME",
                   help="name of the backward function (default back_prop)")
    p.add_argument("--layout", choices=["columns", "rows"], default="columns",
                   help="columns: x (d, n), y (c, n), the course's (default); rows: x (n, d), y (n, c)")
    p.add_argument("--order", choices=["weights-first", "interleaved"], default="weights-first",
                   help="flat vector order: W1, W2, ..., b1, b2, ... (default) or W1, b1, W2, b2, ...")
    p.add_argument("--l2", type=_non_negative_float, default=0.0,
                   help="the L2 strength your loss uses: mean cross-entropy + (l2/2)·Σ‖W‖² (default 0)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="relu",
                   help="your hidden activation (default relu)")
    p.add_argument("--sizes", type=_int_list, default=None, metavar="D,H,...,C",
                   help="layer sizes your functions expect, for a module without NUM_* globals")
    p.add_argument("--tolerance", type=_positive_float, default=1e-6,
                   help="largest relative error that agrees (default 1e-6)")
    p.add_argument("--no-images", action="store_true", help="skip the Fashion-MNIST case")
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the Fashion-MNIST IDX files")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed for the cases (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "landscape",
        help="the loss landscape around a run's SGD path (a run trained with --landscape)",
        description=(
            "Draw the training loss on a plane of weight space with the run's SGD path across it: "
            "the plane of the path's two principal components (PCA of the snapshots that netprop train "
            "--landscape kept in RUN_DIR/trajectory/; the variance they explain is printed) or two "
            "filter-normalised random directions through the final parameters. The loss is the mean "
            "cross-entropy (+ the run's L2 term) on a fixed subset of the run's training split, rebuilt "
            "from its config.json. Writes landscape_surface.png (3-D surface with the path), "
            "landscape_contour.png (contours, start and end marked), landscape.json, "
            "landscape.safetensors and a section of report.md."),
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by netprop train --landscape")
    _add_landscape_arguments(p, train=False)
    p.add_argument("--seed", type=_non_negative_int, default=None,
                   help="seed for the subset and the random directions (default: the run's seed)")
    p.add_argument("--json", action="store_true", help="print landscape.json")
    p.set_defaults(func=cmd_landscape)

    p = sub.add_parser(
        "explain",
        help="the lecture, live: step through forward and backward propagation in the browser",
        description=(
            "Start a local web app (needs the explain extra: pip install 'netprop[explain]') and open "
            "it in the browser: the lecture's network as a diagram, forward propagation one equation "
            "at a time, each parameter's Jacobian chain beside backprop and finite differences, the "
            "strict chain with the softmax Jacobian, editable x, y, W and b, an SGD step, and a URL "
            "that reproduces the page. All numbers are computed by netprop in Python. Given RUN_DIR "
            "(a run written by netprop train), a Run view shows it too. Serves 127.0.0.1 only unless "
            "--host says otherwise; Ctrl-C stops."),
    )
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None,
                   help="a run directory to show in the Run view (optional)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 serves "
                        "every interface, to anyone who can reach this machine)")
    p.add_argument("--port", type=_port, default=0, help="port (default 0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the address but do not open a browser")
    p.set_defaults(func=cmd_explain)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt          # SIGTERM (kill, a job scheduler) stops a run as Ctrl-C does


def main(argv=None):
    import signal
    import threading

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    # which flags were typed, not defaulted: --resume compares exactly those with its checkpoint
    args.given_flags = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    # argparse accepts unambiguous prefixes (--hid for --hidden): name them in full
    options = _resume_options()
    args.given_flags |= {full for token in args.given_flags for full in options
                         if token not in options and full.startswith(token)
                         and sum(o.startswith(token) for o in options) == 1}
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_DFL and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
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
