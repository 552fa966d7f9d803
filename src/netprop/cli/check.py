"""netprop check: a student's own forward_prop and back_prop against netprop's numbers."""

from __future__ import annotations

import contextlib
import json
import sys

from ..core.activations import ACTIVATIONS
from .argtypes import int_list, non_negative_float, positive_float
from .flags import add_data_dir, add_json, add_quiet, add_seed
from .parsing import add_command


def add_parser(sub):
    """`netprop check FILE.py`: the flags that say how the student's functions are called."""
    p = add_command(
        sub, "check", "your own forward_prop and back_prop against netprop (runs FILE)",
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
        examples=[
            ("netprop check homework.py", "your forward_prop and back_prop on the course's layout"),
            ("netprop check homework.py --layout rows --order interleaved",
             "x as rows (n, d); the vector W1, b1, W2, b2, ..."),
            ("netprop check homework.py --no-images --quiet",
             "only the exit status unless something disagrees: 0 agrees, 1 disagrees"),
        ],
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
    p.add_argument("--l2", type=non_negative_float, default=0.0,
                   help="the L2 strength your loss uses: mean cross-entropy + (l2/2)·Σ‖W‖² (default 0)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="relu",
                   help="your hidden activation (default relu)")
    p.add_argument("--sizes", type=int_list, default=None, metavar="D,H,...,C",
                   help="layer sizes your functions expect, for a module without NUM_* globals")
    p.add_argument("--tolerance", type=positive_float, default=1e-6,
                   help="largest relative error that agrees (default 1e-6)")
    p.add_argument("--no-images", action="store_true", help="skip the Fashion-MNIST case")
    add_data_dir(p)
    add_seed(p, "seed for the cases (default 0)")
    add_quiet(p, "print nothing unless something disagrees (the exit status says which)")
    add_json(p, "print one JSON object instead of the tables")
    p.set_defaults(func=cmd_check)
    return p


def cmd_check(args):
    from ..teaching.homework import check

    # With --json, standard output is for programs: what the student's code prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        report = check(args.file, forward=args.forward, backward=args.backward, layout=args.layout,
                       order=args.order, l2=args.l2, activation=args.activation, sizes=args.sizes,
                       seed=args.seed, tolerance=args.tolerance, images=not args.no_images,
                       data_dir=args.data_dir)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif not args.quiet or not report.passed:
        print(report.text())
    return 0 if report.passed else 1
