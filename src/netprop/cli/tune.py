"""netprop tune: hyper-parameter search scored on the validation split only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..training.optimizers import OPTIMIZERS
from .argtypes import positive_int
from .common import CLIError, timestamp_dir
from .config_flags import add_config_flag
from .flags import add_json, add_out, add_quiet, add_seed, add_training_data, data_source
from .parsing import add_command
from .progress import SweepProgress


def add_parser(sub):
    """`netprop tune`: the search (--trials or --grid), where it runs, and the shared data and output flags."""
    p = add_command(
        sub, "tune", "hyper-parameter search, scored on the validation split only",
        description=(
            "Try settings of hidden units, learning rate, minibatch size, epochs and L2 (random "
            "search over the course's ranges by default: hidden 30-200, learning rate 0.001-0.5 "
            "log-uniform, minibatch 16-256; or --grid). Each trial trains on the training split "
            "and is scored on the validation split; the test set is read once, at the end, for "
            "the chosen setting. Writes sweep.json, trials.csv, trials.json, trials.png, "
            "report.md and best/ (the chosen setting's run) to --out; running the same command "
            "again with the same --out skips the trials already finished."),
        examples=[
            ("netprop tune --trials 6 --subset 2000 --out runs/sweep",
             "six random settings, each trained on 2,000 images (again: finishes an interrupted sweep)"),
            ("netprop tune --grid --jobs 4 --out runs/grid", "the 18-setting grid in four processes"),
            ("netprop tune --trials 20 --optimizer adam --no-final --json",
             "Adam settings; the leaderboard as JSON, the test set left unread"),
        ],
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--trials", type=positive_int, metavar="N",
                   help="random search with N settings (default 12)")
    g.add_argument("--grid", action="store_true",
                   help="grid: hidden 30,50,100 × lr 0.01,0.05,0.2 × l2 0,1e-4 (batch 64, 10 epochs)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="update rule of every trial (default sgd, the course's minibatch SGD)")
    p.add_argument("--subset", type=positive_int, metavar="N",
                   help="train each trial on N examples of the training split, as train --subset "
                        "does (quick sweeps)")
    add_config_flag(p, "validation")
    add_training_data(p)
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="run trials in N local processes, one BLAS thread each (default 1)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the trials on this existing Dask distributed cluster instead")
    p.add_argument("--no-final", action="store_true",
                   help="stop after the sweep: do not train the chosen setting again or read the test set")
    add_seed(p, "seed for the settings, split and training (default 0)")
    add_out(p, "DIR", "sweep directory (default runs/tune-<timestamp>)")
    add_quiet(p)
    add_json(p, "print the leaderboard and result as JSON")
    p.set_defaults(func=cmd_tune)
    return p


def _check_where(args):
    """Refuse --jobs/--scheduler/--out combinations that cannot run."""
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


def cmd_tune(args):
    """Run (or finish) a sweep; exit 0, or 130 when interrupted during the trials."""
    from ..training.tune import grid_trials, random_trials, run_sweep

    _check_where(args)
    if args.trials:
        from ..core.limits import check_memory

        check_memory(4096 * args.trials, f"--trials {args.trials}: the settings and their results")
    trials = grid_trials(optimizer=args.optimizer) if args.grid else \
        random_trials(args.trials or 12, args.seed, optimizer=args.optimizer)
    source = data_source(args)
    out_dir = Path(args.out) if args.out else timestamp_dir("tune-")
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else \
        f"{args.jobs} local process{'es' if args.jobs > 1 else ''}"
    progress = SweepProgress(args.quiet or args.json, where)
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
    _print_sweep(args, sweep, out_dir)
    return 0


def _print_sweep(args, sweep, out_dir):
    summary, best = sweep.summary, sweep.best
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
    elif not args.quiet:
        print()
        print_board(sweep.leaderboard)
        line = (f"\nchosen on validation: trial {best['trial']} (validation accuracy "
                f"{100 * best['val_accuracy']:.2f}%)")
        if "final" in summary and "test_accuracy" in summary["final"]:
            line += f"; its test accuracy, read once: {100 * summary['final']['test_accuracy']:.2f}%"
        print(line)
        print(f"trials.csv, trials.json, trials.png and report.md in {out_dir}")


def print_board(board, file=None, limit=None):
    """The leaderboard as a table, best first (on standard output unless file is given)."""
    file = file or sys.stdout
    print(f"{'rank':>4} {'trial':>5} {'hidden':>7} {'lr':>8} {'batch':>5} {'epochs':>6} {'l2':>7}"
          f" {'val acc':>8} {'val loss':>8}  status", file=file)
    for rank, r in enumerate(board[:limit] if limit else board, start=1):
        print(f"{rank:>4} {r['trial']:>5} {','.join(map(str, r['hidden'])):>7} {r['lr']:>8.4g} "
              f"{r['batch_size']:>5} {r['epochs']:>6} {r['l2']:>7.2g} {100 * r['val_accuracy']:>7.2f}% "
              f"{r['val_loss']:>8.4f}  {r['status']}", file=file)
