"""The `netprop` command's parser, assembled from one module per command, and its entry point."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .._version import __version__
from . import check, derive, evaluate, explain, gradcheck, landscape, train, tune
from .common import CLIError
from .resume import resume_options


def build_parser():
    parser = argparse.ArgumentParser(
        prog="netprop",
        description="Forward and backward propagation as the lecture derives them.",
    )
    parser.add_argument("--version", action="version", version=f"netprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    gradcheck.add_parser(sub)
    train.add_parser(sub)
    evaluate.add_parsers(sub)
    derive.add_parser(sub)
    tune.add_parser(sub)
    check.add_parser(sub)
    landscape.add_parser(sub)
    explain.add_parser(sub)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt          # SIGTERM (kill, a job scheduler) stops a run as Ctrl-C does


def _given_flags(argv):
    """The flags typed, not defaulted: --resume compares exactly those with its checkpoint."""
    given = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    # argparse accepts unambiguous prefixes (--hid for --hidden): name them in full
    options = resume_options()
    return given | {full for token in given for full in options
                    if token not in options and full.startswith(token)
                    and sum(o.startswith(token) for o in options) == 1}


def main(argv=None):
    """Run one netprop command; its exit status (2 for a user error, printed as one line)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.given_flags = _given_flags(argv)
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
