"""The `netprop` command: argument parsing and printing only; the math lives in the library."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import __version__


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
    from .network import Network

    rng = np.random.default_rng(args.seed)
    cases = []
    if args.sizes is not None or not args.lecture_only:
        sizes = args.sizes or [20, 10, 5]
        if len(sizes) < 2:
            raise CLIError(f"--sizes needs at least two layer sizes, got {sizes}")
        net = Network(sizes, activation=args.activation, loss=args.loss, seed=args.seed)
        X = rng.normal(size=(args.examples, sizes[0]))
        y = _random_targets(rng, net, args.examples)
        cases.append(("random " + "-".join(map(str, sizes)), net, X, y))
    if args.sizes is None:
        sizes = [784, args.hidden, 10]
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
    """A few inputs for the 784-input network: pixel intensities in [0, 1]."""
    X = rng.uniform(0.0, 1.0, size=(n, 784))
    return X, _random_targets(rng, net, n), "random pixels"


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
    p.add_argument("--activation", choices=["relu", "leaky_relu", "tanh", "sigmoid"],
                   default="relu", help="hidden activation (default relu)")
    p.add_argument("--loss", choices=["cross_entropy", "mse"], default="cross_entropy",
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
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CLIError, ValueError, OSError) as exc:
        print(f"netprop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"netprop {args.command}: interrupted", file=sys.stderr)
        return 130
