"""netprop train: train the lecture's network and write a run directory."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields
from pathlib import Path

from .argtypes import positive_int
from .common import CLIError, download_progress, timestamp_dir
from .config_flags import add_config_flag
from .flags import add_json, add_out, add_quiet, add_training_data, data_source
from .landscape import add_landscape_arguments, landscape_options, print_landscape
from .parsing import add_command
from .progress import TrainProgress
from .resume import check_resume_flags, saved_epochs


def add_parser(sub):
    """`netprop train`: data, one flag per TrainConfig field, output, and the landscape's flags."""
    from ..training.fit import TrainConfig

    p = add_command(
        sub, "train", "train a network (default: on Fashion-MNIST) into a run directory",
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
        examples=[
            ("netprop train --subset 2000 --epochs 1 --out runs/first",
             "a first run in seconds: 2,000 Fashion-MNIST images, one epoch"),
            ("netprop train --hidden 256,128 --optimizer adam --lr 0.001 --epochs 20 --out runs/adam",
             "two hidden layers trained with Adam"),
            ("netprop train --resume runs/adam", "continue an interrupted run from its last checkpoint"),
            ("netprop train --data mine.npz --test-data mine-test.npz --out runs/mine",
             "your own data: .npz files with arrays X and y (or CSV, label first)"),
            ("netprop train --subset 5000 --epochs 5 --landscape --out runs/path",
             "keep the SGD path and draw the loss landscape around it (see netprop landscape)"),
        ],
    )
    data = p.add_argument_group("data")
    add_training_data(data)
    data.add_argument("--subset", type=positive_int, metavar="N",
                      help="train on N examples of the training split (a quick run; validation and "
                           "test sets stay whole)")
    network = p.add_argument_group("network and optimisation")
    for f in fields(TrainConfig):           # one flag per field: the run's settings cannot drift
        add_config_flag(data if f.name == "validation" else network, f.name)
    g = p.add_argument_group("output")
    add_out(g, "DIR", "run directory (default runs/<timestamp>)")
    g.add_argument("--resume", metavar="DIR",
                   help="continue the interrupted run in DIR from its last checkpoint with its saved "
                        "settings and data (both verified); a flag given beside it must match them")
    add_quiet(g)
    add_json(g, "print the final metrics as one JSON object")
    add_landscape_arguments(p.add_argument_group("loss landscape (the course's exercise)"), train=True)
    p.set_defaults(func=cmd_train)
    return p


def _run_plan(args):
    """(run directory, TrainConfig, data source) of a new run; (run directory, None, None) to resume."""
    from ..storage.run_directory import CHECKPOINT
    from ..training.fit import TrainConfig

    if args.out is not None and not args.out.strip():
        raise CLIError("--out is empty; give a directory (or leave --out out for runs/<timestamp>)")
    if args.resume:
        out_dir = Path(args.resume)
        if not (out_dir / CHECKPOINT).is_file():
            raise CLIError(f"--resume {out_dir}: no {CHECKPOINT} there (nothing to resume)")
        check_resume_flags(args, out_dir)
        return out_dir, None, None
    out_dir = Path(args.out) if args.out else timestamp_dir()
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f"--out {out_dir} is a file; give a directory for the run")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CLIError(f"--out {out_dir} already exists and is not empty; choose another "
                       f"directory (or --resume {out_dir} to continue that run)")
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    return out_dir, config, data_source(args)


def cmd_train(args):
    """Train (or resume) a run; exit 0, 130 on Ctrl-C (checkpoint kept), 3 when training diverged."""
    from ..storage.models import ModelFileError
    from ..storage.run_directory import CHECKPOINT
    from ..training.train_run import RunFinished, train_run, verified_checkpoint_epoch
    from ..training.fit import TrainingDiverged

    out_dir, config, source = _run_plan(args)
    quiet = args.quiet or args.json
    progress = TrainProgress(quiet, config.epochs if config else None)

    def on_data(dataset, prepared):
        progress.total = progress.total or saved_epochs(out_dir)
        if not quiet:
            what = "Fashion-MNIST" if dataset.source["kind"] == "fashion-mnist" else dataset.source["path"]
            print(f"{'resuming' if args.resume else 'training'} on {what}: {len(prepared.X_train)} "
                  f"training, {len(prepared.X_val)} validation examples -> {out_dir}",
                  file=sys.stderr)

    started = time.perf_counter()
    try:
        result = train_run(out_dir, config, source, subset=args.subset, resume=bool(args.resume),
                           callback=progress, on_data=on_data,
                           download_progress=download_progress(quiet),
                           landscape=landscape_options(args, out_dir))
    except KeyboardInterrupt:
        progress.close()
        saved = (out_dir / CHECKPOINT).is_file()
        print("\ninterrupted. " + (f"The checkpoint after the last finished epoch is in {out_dir}; "
              f"continue with: netprop train --resume {out_dir}" if saved
              else "No epoch had finished, so there is nothing to resume."), file=sys.stderr)
        return 130
    except TrainingDiverged as exc:
        progress.close()
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
    _print_result(args, result, out_dir, time.perf_counter() - started)
    return 0


def _print_result(args, result, out_dir, wall):
    metrics = dict(result.metrics, wall_seconds=wall, run_dir=str(out_dir))
    if args.json:
        print(json.dumps(metrics, indent=2))
    elif not args.quiet:
        line = (f"best epoch {metrics['best_epoch']}: validation accuracy "
                f"{100 * metrics['validation_accuracy']:.2f}%")
        if "test_accuracy" in metrics:
            line += f", test accuracy {100 * metrics['test_accuracy']:.2f}%"
        print(line + f"  ({wall:.1f} s)")
        print_landscape(result)
        print(f"model, history, plots and report.md in {out_dir}")
