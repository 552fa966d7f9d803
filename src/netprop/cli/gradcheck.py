"""netprop gradcheck: backward propagation against central finite differences."""

from __future__ import annotations

import json

from ..core.activations import ACTIVATIONS
from ..core.losses import LOSSES
from .argtypes import int_list, non_negative_float, positive_float, positive_int
from .common import CLIError
from .flags import add_json, add_quiet, add_seed
from .parsing import add_command
from .progress import progress_bar


def add_parser(sub):
    """`netprop gradcheck`: which networks, the finite-difference step and the pass threshold."""
    p = add_command(
        sub, "gradcheck", "backward propagation against central finite differences",
        description=(
            "Check every gradient of backward propagation against central finite differences "
            "in float64, and print the relative error per parameter (W1, b1, W2, ...). By "
            "default checks a small random 20-10-5 network and the lecture's 784-H-10 network. "
            "Exits 1 if any relative error exceeds --threshold."
        ),
        examples=[
            ("netprop gradcheck", "the default networks: a random 20-10-5 and the lecture's 784-32-10"),
            ("netprop gradcheck --sizes 4,3,2 --activation tanh --l2 0.01",
             "one small network with tanh and the L2 term"),
            ("netprop gradcheck --lecture-only --hidden 128 --json",
             "the lecture's 784-128-10 network (about 40 s), as JSON"),
        ],
    )
    p.add_argument("--sizes", type=int_list, default=None, metavar="D,H,...,C",
                   help="check only this network, e.g. 20,10,5 (default: 20,10,5 and the "
                        "lecture's 784-H-10)")
    p.add_argument("--hidden", type=positive_int, default=32, metavar="H",
                   help="hidden units of the lecture's 784-H-10 network (default 32; every one of its "
                        "784·H + H + 10·H + 10 parameters is perturbed twice, so 128 takes ~40 s)")
    p.add_argument("--lecture-only", action="store_true",
                   help="check only the lecture's 784-H-10 network")
    p.add_argument("--examples", type=positive_int, default=4, metavar="N",
                   help="examples in the minibatch (default 4)")
    p.add_argument("--activation", choices=list(ACTIVATIONS),
                   default="relu", help="hidden activation (default relu)")
    p.add_argument("--loss", choices=list(LOSSES), default="cross_entropy",
                   help="loss (default cross_entropy: softmax output)")
    p.add_argument("--l2", type=non_negative_float, default=0.0,
                   help="L2 strength: adds (l2/2)·Σ‖W‖² to the loss (default 0)")
    p.add_argument("--eps", type=positive_float, default=1e-6,
                   help="finite-difference step (default 1e-6)")
    p.add_argument("--threshold", type=positive_float, default=1e-6,
                   help="largest relative error that passes (default 1e-6)")
    add_seed(p, "seed for weights and data (default 0)")
    add_json(p, "print one JSON object instead of a table")
    add_quiet(p, "print nothing unless the check fails")
    p.set_defaults(func=cmd_gradcheck)
    return p


def cmd_gradcheck(args):
    """Check every case; exit 0 when every relative error is within --threshold, else 1."""
    from ..teaching.gradcheck import gradcheck, gradcheck_cases

    if args.sizes is not None and len(args.sizes) < 2:
        raise CLIError(f"--sizes needs at least two layer sizes, got {args.sizes}")
    cases = gradcheck_cases(args.sizes, hidden=args.hidden, lecture_only=args.lecture_only,
                            examples=args.examples, activation=args.activation, loss=args.loss,
                            seed=args.seed)
    results = []
    for label, net, X, y in cases:
        bar = progress_bar(net.n_parameters, label, enabled=not (args.quiet or args.json))
        with bar:
            result = gradcheck(net, X, y, l2=args.l2, eps=args.eps, threshold=args.threshold,
                               progress=bar.update)
        results.append((label, net, result))

    ok = all(r.passed for _, _, r in results)
    if args.json:
        print(json.dumps(_report_json(args, results, ok), indent=2))
    elif not args.quiet or not ok:
        _print_tables(args, results, ok)
    return 0 if ok else 1


def _report_json(args, results, ok):
    return {
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
    }


def _print_tables(args, results, ok):
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
