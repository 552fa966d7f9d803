"""netprop landscape: the loss surface around a run's SGD path; and train's --landscape flags."""

from __future__ import annotations

import json
from pathlib import Path

from ..storage.run_directory import (LANDSCAPE_ARRAYS, LANDSCAPE_CONTOUR, LANDSCAPE_SUMMARY, LANDSCAPE_SURFACE, REPORT,
                                     TRAJECTORY)
from .argtypes import non_negative_float, positive_int
from .common import CLIError
from .flags import add_json, add_quiet, add_seed
from .parsing import DeprecatedFlag, add_command


def add_landscape_arguments(g, train):
    """The landscape's flags: --directions ... for `landscape`, --landscape-directions ... for `train`."""
    if train:
        g.add_argument("--landscape", action="store_true",
                       help="record the parameter vector every k steps into OUT/trajectory/ (k chosen so "
                            "at most --landscape-snapshots are kept; the first holds all parameters in float32, "
                            "each later one its change in 8 bits, 0.4 MB for 784-512-10) and draw the loss "
                            "landscape around the path in report.md")
        g.add_argument("--landscape-snapshots", type=positive_int, default=200, metavar="N",
                       help="most snapshots kept on disk (default 200)")
    prefix = "--landscape-" if train else "--"
    g.add_argument(prefix + "directions", choices=["pca", "random"], default="pca",
                   help="pca: the plane of the path's two principal components (default); random: two "
                        "filter-normalised random directions through the final parameters (Li et al. 2018)")
    g.add_argument(prefix + "grid", type=positive_int, default=25, metavar="K",
                   help="K × K grid points (default 25)")
    g.add_argument(prefix + "examples", type=positive_int, default=2000, metavar="N",
                   help="training examples the loss is computed on (a fixed seeded subset; default 2000)")
    # --subset means "train on N examples" in train and tune; the landscape's count was renamed
    g.add_argument(prefix + "subset", dest=(prefix + "examples")[2:].replace("-", "_"), type=positive_int,
                   action=DeprecatedFlag, replacement=prefix + "examples N")
    g.add_argument(prefix + "margin", type=non_negative_float, default=0.25, metavar="FRACTION",
                   help="grid beyond the path's extent on each side, as a fraction of it (default 0.25)")


def landscape_options(args, out_dir):
    """LandscapeOptions for train_run: from the flags, or for --resume as the run was started."""
    from ..training.landscape import LandscapeOptions

    if args.resume:
        return LandscapeOptions.of_run(out_dir)
    if not args.landscape:
        return None
    if args.landscape_snapshots < 3:
        raise CLIError(f"--landscape-snapshots must be >= 3, got {args.landscape_snapshots}")
    return LandscapeOptions(args.landscape_directions, args.landscape_grid, args.landscape_examples,
                            args.landscape_margin, args.landscape_snapshots)


def print_landscape(result):
    """The landscape's summary after a training run that drew one."""
    from ..training.landscape import summary

    options = getattr(result, "landscape", None)
    if options is not None and options.result is not None:
        print(summary(options.result))


def add_parser(sub):
    """`netprop landscape RUN_DIR`: the plane, the grid and the examples the loss is computed on."""
    p = add_command(
        sub, "landscape", "the loss landscape around a run's SGD path (train --landscape)",
        description=(
            "Draw the training loss on a plane of weight space with the run's SGD path across it: "
            "the plane of the path's two principal components (PCA of the snapshots that netprop train "
            f"--landscape kept in RUN_DIR/{TRAJECTORY}/; the variance they explain is printed) or two "
            "filter-normalised random directions through the final parameters. The loss is the mean "
            "cross-entropy (+ the run's L2 term) on a fixed subset of the run's training split, rebuilt "
            f"from its config.json. Writes {LANDSCAPE_SURFACE} (3-D surface with the path), "
            f"{LANDSCAPE_CONTOUR} (contours, start and end marked), {LANDSCAPE_SUMMARY}, "
            f"{LANDSCAPE_ARRAYS} and a section of {REPORT}."),
        examples=[
            ("netprop landscape runs/path", "the plane of the path's two principal components"),
            ("netprop landscape runs/path --directions random --grid 15 --examples 1000",
             "two random directions, a coarser grid, the loss on 1,000 training examples"),
        ],
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by netprop train --landscape")
    add_landscape_arguments(p, train=False)
    add_seed(p, "seed for the subset and the random directions (default: the run's seed)", default=None)
    add_quiet(p, "print nothing but errors (the files are written all the same)")
    add_json(p, "print landscape.json")
    p.set_defaults(func=cmd_landscape)
    return p


def cmd_landscape(args):
    from ..storage.models import ModelFileError, load_model
    from ..training.landscape import landscape_for_run, summary
    from ..training.train_run import training_split

    try:
        model = load_model(args.run_dir)
        X, y, config = training_split(args.run_dir)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    result = landscape_for_run(args.run_dir, model.net, X, y, args.directions, args.grid, args.examples,
                               args.margin, l2=config.l2, seed=args.seed if args.seed is not None else config.seed)
    if args.json:
        print(json.dumps(json.loads((Path(args.run_dir) / LANDSCAPE_SUMMARY).read_text()), indent=2))
    elif not args.quiet:
        print(summary(result))
        print(f"{LANDSCAPE_SURFACE}, {LANDSCAPE_CONTOUR} and the report section in {args.run_dir}")
    return 0
