"""The `netprop` command's parser, assembled from one module per command, and its entry point."""

from __future__ import annotations

import gc
import signal
import sys
import textwrap
import threading

from .._version import __version__
from . import check, completion, derive, evaluate, explain, gradcheck, landscape, train, tune
from .common import CLIError
from .parsing import NetpropParser

START_HERE = [
    ("netprop derive", "the lecture's example, all numbers"),
    ("netprop train --subset 2000 --epochs 1", "a first training run in seconds"),
    ("netprop explain", "the lecture, live in your browser"),
    ("netprop train --help", "a command's flags, with examples"),
]

SAME_EVERYWHERE = """\
flags that mean the same in every command that has them:
  --quiet         no progress, no messages: errors and the output asked for
  --json          the results as JSON on standard output
  --out DIR       the directory it writes (derive's one file: --output FILE)
  --subset N      train on N examples of the training split
  --seed N        the seed of everything random
  --data-dir DIR  the folder holding the Fashion-MNIST IDX files"""

EXIT_STATUS = ("exit status: 0 done, 1 a check found a disagreement, 2 a usage or input error, 3 training "
               "diverged, 130 interrupted. `netprop` alone prints this overview and exits 0.")


class OverviewParser(NetpropParser):
    """The top-level parser: its help is the overview (commands in order, one line each)."""

    commands = None               # the subparsers action, set by build_parser

    def format_help(self):
        commands = [(action.dest, action.help) for action in self.commands._choices_actions]
        width = max(len(name) for name, _ in commands) + 2
        start = max(len(command) for command, _ in START_HERE) + 2
        return "\n".join([
            f"usage: {self.prog} COMMAND [FLAGS]", "", self.description, "",
            "commands:", *(f"  {name:<{width}}{summary}" for name, summary in commands), "",
            "start here:", *(f"  {command:<{start}}{what}" for command, what in START_HERE), "",
            SAME_EVERYWHERE, "",
            "options:", "  -h, --help  this overview", "  --version   netprop's version", "",
            textwrap.fill(EXIT_STATUS, 79), ""])

    def parse_args(self, args=None, namespace=None):
        """Bare `netprop` prints the overview and exits 0; anything else parses as usual."""
        if not (sys.argv[1:] if args is None else list(args)):
            self.print_help()
            self.exit(0)
        return super().parse_args(args, namespace)

    def error(self, message):
        if message.startswith("the following arguments are required: COMMAND"):
            names = self.commands.choices
            message = f"no command given; the commands are {', '.join(names)}"
        super().error(message)


def build_parser():
    """The netprop parser: the commands in the overview's order, train first."""
    parser = OverviewParser(prog="netprop",
                            description="Forward and backward propagation as the lecture derives them.")
    parser.add_argument("--version", action="version", version=f"netprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=NetpropParser)
    sub.required = True
    parser.commands = sub
    train.add_parser(sub)
    evaluate.add_parsers(sub)
    tune.add_parser(sub)
    landscape.add_parser(sub)
    derive.add_parser(sub)
    explain.add_parser(sub)
    gradcheck.add_parser(sub)
    check.add_parser(sub)
    completion.add_parser(sub)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt          # SIGTERM (kill, a job scheduler) stops a run as Ctrl-C does


def main(argv=None):
    """Run one netprop command; its exit status (2 for a user error, printed as one line)."""
    parser = build_parser()
    completion.complete_if_asked(parser)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    # which flags were typed, not defaulted: --resume compares exactly those with its checkpoint
    args.given_flags = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
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


def command():
    """The `netprop` program (the console script and `python -m netprop`): main() on sys.argv.

    Its exit status is returned once everything is written; the interpreter's shutdown then
    collects garbage over every object still alive, and after a training run that loaded Numba
    these are ~120,000 (~90,000 of them Numba's typing registries): 0.2 s of a default run spent
    leaving.  Frozen (gc.freeze), they are freed by reference count alone, and an object in a
    reference cycle not yet collected is not finalised (atexit handlers still run; netprop's files
    are closed by then).  Only here, where the process ends: main() called in a longer-lived
    process (tests, a notebook) leaves the collector alone.
    """
    status = main()
    if hasattr(gc, "freeze"):                # CPython's; PyPy's collector has none
        gc.freeze()
    return status
