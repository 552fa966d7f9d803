"""What several commands share at run time: the user-error exception, run directories, loading a run."""

from __future__ import annotations

import sys
from pathlib import Path


class CLIError(Exception):
    """A problem with what the user asked for: printed as one line, exit status 2."""


def timestamp_dir(prefix=""):
    """runs/<prefix><date>-<time>: the default output directory of train and tune."""
    from datetime import datetime

    return Path("runs") / datetime.now().strftime(f"{prefix}%Y%m%d-%H%M%S")


def download_progress(quiet):
    """A callback naming each Fashion-MNIST file as its download starts (on a terminal), or None."""
    if quiet or not sys.stderr.isatty():
        return None
    state = {}

    def report(name, got, total):
        if state.get("name") != name:
            state["name"] = name
            print(f"downloading {name}", file=sys.stderr)
    return report


def load_run(run_dir, trust_unverified=False):
    """The trained model in run_dir; a damaged or unverified one is a CLIError."""
    from ..storage.models import ModelFileError, load_model

    try:
        return load_model(run_dir, trust_unverified=trust_unverified)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
