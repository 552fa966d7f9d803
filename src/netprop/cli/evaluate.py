"""netprop evaluate and netprop predict: use a trained run."""

from __future__ import annotations

import json

import numpy as np

from .argtypes import positive_int
from .common import CLIError, load_run
from .flags import add_data_dir, add_json
from .parsing import add_command

TRUST_UNVERIFIED_HELP = ("load a model whose config.json has no SHA-256 hashes (an older netprop's, or "
                         "edited by hand); without this flag such a model is refused")


def add_parsers(sub):
    """`netprop evaluate RUN_DIR` and `netprop predict RUN_DIR FILE...`."""
    p = add_command(
        sub, "evaluate", "accuracy, per-class accuracy and confusion matrix of a run",
        description="Score a trained run on the Fashion-MNIST test set (default) or on --data.",
        examples=[
            ("netprop evaluate runs/first", "score the run on the Fashion-MNIST test set"),
            ("netprop evaluate runs/mine --data mine-test.npz --json", "on your own labelled data, as JSON"),
        ])
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by netprop train")
    p.add_argument("--data", metavar="FILE", help=".npz (X, y) or CSV (label first) to evaluate on")
    add_data_dir(p)
    add_json(p, "print one JSON object")
    p.add_argument("--trust-unverified", action="store_true", help=TRUST_UNVERIFIED_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = add_command(
        sub, "predict", "class and top-3 probabilities of PNG/JPEG images or .npy arrays",
        description=(
            "Predict the class of each input. PNG/JPEG images are converted the way Fashion-MNIST "
            "is drawn: grayscale, scaled to fit 28×28 keeping the aspect ratio, centred on black, "
            "and inverted when the background is lighter than the middle (a product photo on white "
            "becomes a light article on black, as in the dataset). .npy arrays hold raw pixel "
            "values 0-255: one example of 784 values (or 28×28) or a stack of them."
        ),
        examples=[
            ("netprop predict runs/first shirt.png boot.jpg", "the class of two photos"),
            ("netprop predict runs/first images.npy --top 5 --json", "a stack of arrays, five classes each"),
        ],
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by netprop train")
    p.add_argument("files", metavar="FILE", nargs="+", help="PNG/JPEG images or .npy arrays")
    p.add_argument("--top", type=positive_int, default=3, help="probabilities to show (default 3)")
    add_json(p, "print a JSON list")
    p.add_argument("--trust-unverified", action="store_true", help=TRUST_UNVERIFIED_HELP)
    p.set_defaults(func=cmd_predict)


def cmd_evaluate(args):
    """Score a run on the Fashion-MNIST test set or --data: a report, or one JSON object."""
    from .. import data as data_mod
    from ..training.evaluation import evaluate_model

    if args.data and args.data_dir:
        raise CLIError("--data-dir is for Fashion-MNIST and would be ignored beside --data; give one of them")
    model = load_run(args.run_dir, args.trust_unverified)
    if args.data:
        X, y = data_mod.load_table(args.data)
        if y is None:
            raise CLIError(f"{args.data}: evaluation needs labels (an array y)")
        what = args.data
    else:
        _, _, X, y = data_mod.load_fashion_mnist(args.data_dir)
        what = "Fashion-MNIST test set"
    report = evaluate_model(model, X, y, name=what)
    if args.json:
        print(json.dumps({"data": str(what), **report,
                          "confusion_matrix": report["confusion_matrix"].tolist()}, indent=2))
    else:
        _print_report(what, report)
    return 0


def _print_report(what, report):
    cm, names = report["confusion_matrix"], report["class_names"]
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


def cmd_predict(args):
    from ..data import load_predict_inputs
    from ..training.evaluation import predict_top

    model = load_run(args.run_dir, args.trust_unverified)
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
