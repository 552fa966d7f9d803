"""netprop check: a student's own forward (or loss) and gradient functions against netprop, or a folder of
submissions graded; all logic in netprop.teaching.homework, this module parses and prints."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.activations import ACTIVATIONS
from .argtypes import int_list, non_negative_float, positive_float, positive_int
from .common import CLIError
from .flags import add_data_dir, add_json, add_out, add_quiet, add_seed
from .parsing import add_command


def add_parser(sub):
    """`netprop check FILE`: how the student's functions are called, and how a class is graded."""
    p = add_command(
        sub, "check", "a student's backprop against netprop (runs FILE); grade a class",
        description=(
            "Import FILE (.py or .ipynb; a notebook's code cells without magics or shell lines) in a child "
            "process -- this runs the file's code, as python would, with a time and a memory limit -- then "
            "call its forward (or loss) and gradient functions on seeded cases: a random network at the "
            "file's own sizes, random networks of 1, 2 and 3 hidden layers where its NUM_* or size "
            "parameters can set them, and Fashion-MNIST images when the data set is installed. The "
            "conventions are detected on every call: examples as rows or columns (in and out), labels "
            "one-hot or integers, the weight vector's order and each W's orientation, hs and zs with or "
            "without x and yhat, extra return values and parameters, sizes from NUM_* (ints or lists), "
            "keyword defaults or the file's initWeightsAndBiases(). Every quantity is compared with "
            "netprop's float64 numbers and every gradient block also with central differences of your "
            "own loss; known mistakes are named with the line to look at. Where importing the whole file "
            "fails (a data file or module missing here, a training loop past --timeout), the functions it "
            "defines are checked without its top-level code. Exits 0 when everything agrees, 1 when "
            "something disagrees, 2 when FILE cannot be checked. Given a folder and --out DIR, grades every "
            ".py, .ipynb or sub-folder in it (one per student): a report per student, grades.csv and a "
            "class summary. The child process is robustness, not a security sandbox."),
        examples=[
            ("netprop check hw3.py", "your functions, whatever their conventions: detected and said in one line"),
            ("netprop check hw3.ipynb --json", "a notebook's code cells; one JSON object on every exit code"),
            ("netprop check submissions/ --out grades/ --jobs 2",
             "a class: a report per student, grades.csv, summary.md and summary.png"),
            ("netprop check submissions/ --out grades/ --format gradescope",
             "also Gradescope's results.json per submission"),
        ],
    )
    p.add_argument("path", metavar="FILE", help="your .py or .ipynb file (it is run), a student's folder, or "
                                                "with --out a folder of submissions")
    p.add_argument("--forward", metavar="NAME", help="the forward (or loss) function, where it is not found "
                                                     "by its usual names (forward_prop, fCE, …)")
    p.add_argument("--backward", metavar="NAME", help="the gradient function (back_prop, gradCE, … by default)")
    p.add_argument("--layout", choices=["columns", "rows"], help="try only this input layout (default: detected)")
    p.add_argument("--order", choices=["weights-first", "interleaved"],
                   help="try only this order of the weight vector (default: detected)")
    p.add_argument("--l2", type=non_negative_float, default=None,
                   help="the L2 strength the lecture's loss should have: mean cross-entropy + (l2/2)·Σ‖W‖² "
                        "(default: the one your loss uses, detected and reported)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default="relu",
                   help="your hidden activation (default relu)")
    p.add_argument("--sizes", type=int_list, default=None, metavar="D,H,...,C",
                   help="layer sizes your functions expect, where the file does not say them")
    p.add_argument("--tolerance", type=positive_float, default=1e-6,
                   help="largest relative error that agrees (default 1e-6)")
    p.add_argument("--no-images", action="store_true", help="skip the Fashion-MNIST case")
    add_data_dir(p)
    add_seed(p, "seed for the cases (default 0)")
    p.add_argument("--timeout", type=positive_float, default=60.0, metavar="SECONDS",
                   help="time limit for importing and checking one file (default 60; a file whose import "
                        "runs past it is checked again without its top-level code, with the same limit)")
    p.add_argument("--memory", type=positive_int, default=4096, metavar="MB",
                   help="memory limit of the child process (default 4096)")
    add_out(p, "DIR", "with a folder: where the reports, grades.csv and the summary go; with --format "
                      "gradescope and a file: where results.json goes")
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="grade N submissions at a time (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) instead")
    p.add_argument("--format", choices=["text", "gradescope"], default="text",
                   help="gradescope: Gradescope's autograder results.json (per submission in a folder)")
    add_quiet(p, "no progress lines, and no report unless something disagrees (the exit status says which)")
    add_json(p, "print one JSON object (on every exit code); your file's prints are left out of it")
    p.set_defaults(func=cmd_check)
    return p


def cmd_check(args):
    """One submission checked in a limited child process, or (a folder with --out) a whole class graded."""
    from ..teaching.homework import check
    from ..teaching.homework.classroom import gradescope_results

    options = dict(forward=args.forward, backward=args.backward, layout=args.layout, order=args.order,
                   l2=args.l2, activation=args.activation, sizes=args.sizes, seed=args.seed,
                   tolerance=args.tolerance, images=not args.no_images, data_dir=args.data_dir)
    if args.jobs != 1 or args.scheduler:
        if not (Path(args.path).is_dir() and args.out):
            raise CLIError("--jobs and --scheduler grade a folder of submissions: give the folder and --out DIR")
    if Path(args.path).is_dir() and args.out:
        return _grade_class(args, options)
    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    report = check(args.path, timeout=args.timeout, memory_mb=args.memory, progress=say, **options)
    if report.output and not args.json and args.format == "text":
        say(f"(what {report.path} printed is left out; {len(report.output.splitlines())} lines)")
    if args.format == "gradescope":
        results = json.dumps(gradescope_results(report), indent=2)
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            (Path(args.out) / "results.json").write_text(results)
        else:
            print(results)
    elif args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif not report.error and not (args.quiet and report.passed):
        print(report.text())
    if report.error:
        if not args.json and args.format == "text":
            print("\n".join(report.text().splitlines()[1:-1]), file=sys.stderr)
        print(f"netprop check: error: {report.error}", file=sys.stderr)
    return report.exit_code


def _grade_class(args, options):
    from dataclasses import asdict

    from ..teaching.homework.classroom import grade_folder
    from ..teaching.homework.engine import Options

    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    results = grade_folder(args.path, args.out, asdict(Options(**{**options, "sizes": options["sizes"]})),
                           jobs=args.jobs, scheduler=args.scheduler, timeout=args.timeout, memory_mb=args.memory,
                           gradescope=args.format == "gradescope", progress=say)
    if args.json:
        print(json.dumps({s: {"passed": d["passed"], "exit_code": d["exit_code"], "error": d.get("error"),
                              "mistakes": sorted(d.get("mistakes", {}))} for s, d in results.items()}, indent=2))
    else:
        print((Path(args.out) / "summary.md").read_text().rstrip())
        print(f"\nreports per student, grades.csv, summary.md and summary.png in {args.out}")
    return 0
