"""netprop derive: the lecture's derivation with real numbers."""

from __future__ import annotations

import sys
from pathlib import Path

from ..core.activations import ACTIVATIONS
from ..core.losses import LOSSES
from .argtypes import int_list
from .common import CLIError
from .flags import add_json, add_quiet, add_seed
from .parsing import DeprecatedFlag, add_command

FORMATS = ["text", "markdown", "latex", "html", "json"]


def add_parser(sub):
    """`netprop derive`: the network (--sizes or --params), the format and where the text goes."""
    p = add_command(
        sub, "derive", "the lecture's derivation in real numbers: Jacobians and backprop",
        description=(
            "Show forward propagation, then for every parameter the chain of Jacobians "
            "(∂f/∂ŷ · ∂ŷ/∂h · ∂h/∂z · ∂z/∂W1, each factor as a matrix), its product reshaped, the "
            "backprop shortcut (g xᵀ, ...) and central finite differences, with the largest "
            "difference between the three; then the lecture's two simplifications (diag = "
            "Hadamard, block matrix = outer product). Default: the lecture's 2-2-3 relu network "
            "with seeded x, y, W and b."),
        examples=[
            ("netprop derive", "the lecture's 2-2-3 relu network with seeded x, y, W and b"),
            ("netprop derive --sizes 3,4,2 --activation tanh --seed 1", "another small network"),
            ("netprop derive --format html --output lecture.html",
             "one self-contained page: MathML and an SVG of the network"),
            ("netprop derive --json --output numbers.json", "the numbers, to edit and read back"),
            ("netprop derive --params numbers.json --format markdown", "the derivation of your numbers"),
        ],
    )
    p.add_argument("--sizes", type=int_list, metavar="D,H,...,C",
                   help="layer sizes (default 2,2,3; at most 4 weight matrices and 8 units a layer)")
    p.add_argument("--activation", choices=list(ACTIVATIONS),
                   help="hidden activation (default relu, or the --params file's)")
    p.add_argument("--loss", choices=list(LOSSES),
                   help="loss (default cross_entropy: softmax output; or the --params file's)")
    add_seed(p, "seed for x, y, W and b (default 0)", default=None)
    p.add_argument("--params", metavar="FILE",
                   help="JSON with x, y, weights and biases (and optionally network: activation, "
                        "loss), as --format json writes them; --activation and --loss given here "
                        "win over the file's")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="text (terminal, default), markdown (LaTeX in $$ blocks), latex (a "
                        "standalone document), html (one self-contained page: MathML and an SVG "
                        "of the network), json")
    add_json(p, "the same as --format json: the network, inputs and every number as JSON")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--out", dest="output", action=DeprecatedFlag, replacement="--output FILE "
                   "(--out names a directory in every other command)")
    add_quiet(p, "no message after writing --output")
    p.set_defaults(func=cmd_derive)
    return p


def _format(args):
    """The output format: --format, or json for --json (the two must agree)."""
    if args.json and args.format not in (None, "json"):
        raise CLIError(f"--json is --format json; it contradicts --format {args.format}")
    return "json" if args.json else args.format or "text"


def _network_and_inputs(args):
    """(net, x, y): from --params (with --activation/--loss overriding the file's) or seeded."""
    from ..teaching.derive import ParamsError, load_params, seeded_inputs

    if not args.params:
        return seeded_inputs(args.sizes or [2, 2, 3], args.activation or "relu",
                             args.loss or "cross_entropy", args.seed or 0)
    if args.sizes is not None or args.seed is not None:
        raise CLIError("--sizes and --seed draw a seeded network; with --params the file gives it")
    try:
        net, x, y = load_params(args.params)
    except ParamsError as exc:
        raise CLIError(f"--params {exc}") from None
    if args.activation or args.loss:      # a flag given here wins over the file's "network" entry
        from ..core.network import Network

        weights, biases = net.weights, net.biases
        net = Network(net.layer_sizes, activation=args.activation or net.activation,
                      loss=args.loss or net.loss_name)
        net.weights, net.biases = weights, biases
    return net, x, y


def cmd_derive(args):
    from ..teaching.derive import derive
    from ..storage.models import atomic_write

    what = _format(args)
    net, x, y = _network_and_inputs(args)
    if args.output and Path(args.output).is_dir():
        raise CLIError(f"--output {args.output}: is a directory")
    text = derive(net, x, y).render(what)
    if args.output:
        with atomic_write(Path(args.output), "w") as fh:
            fh.write(text)
        if not args.quiet:
            print(f"wrote the {what} derivation to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
