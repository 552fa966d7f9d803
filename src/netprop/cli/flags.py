"""Flag groups that several commands share, declared once so that a flag means the same everywhere."""

from __future__ import annotations

from pathlib import Path

from .argtypes import non_negative_int
from .common import CLIError

DATA_DIR_HELP = "folder holding the four Fashion-MNIST IDX files"


def add_data_dir(group):
    """--data-dir: where the Fashion-MNIST IDX files are."""
    group.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)


def add_training_data(group):
    """--data-dir, --data, --test-data and --header: where train and tune read their data."""
    add_data_dir(group)
    group.add_argument("--data", metavar="FILE",
                       help="train on your own data instead: .npz with arrays X and y, or CSV with the "
                            "label in the first column")
    group.add_argument("--test-data", metavar="FILE", help="test data for --data (same format)")
    group.add_argument("--header", action="store_true",
                       help="the CSV's first row is a header (without this flag a first row is skipped "
                            "only when no field of it is a number; one that mixes numbers and text is an "
                            "error)")


def data_source(args):
    """Where train and tune read their data: --data (and --test-data) or Fashion-MNIST."""
    if args.data:
        if args.data_dir:
            raise CLIError("--data-dir is for Fashion-MNIST and would be ignored beside --data; give one of them")
        return {"kind": "file", "path": str(Path(args.data).resolve()),
                "test_path": str(Path(args.test_data).resolve()) if args.test_data else None,
                "header": args.header}
    if args.test_data:
        raise CLIError("--test-data needs --data (Fashion-MNIST brings its own test set)")
    if args.header:
        raise CLIError("--header is for a CSV given with --data")
    return {"kind": "fashion-mnist",
            "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None}


def add_seed(group, help, default=0):
    """--seed: a non-negative integer; help says what it seeds."""
    group.add_argument("--seed", type=non_negative_int, default=default, help=help)


def add_out(group, metavar, help):
    """--out: where the command writes."""
    group.add_argument("--out", metavar=metavar, help=help)


def add_quiet(group, help="print nothing but errors"):
    group.add_argument("--quiet", action="store_true", help=help)


def add_json(group, help):
    """--json: results as JSON on standard output, for programs."""
    group.add_argument("--json", action="store_true", help=help)
