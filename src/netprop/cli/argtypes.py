"""argparse types: each turns one command-line word into a value or one clear refusal."""

from __future__ import annotations

import argparse

import numpy as np


def int_at_least(lowest, words):
    """An argparse type: an integer >= lowest, refused as "expected {words}"."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}")
        return value
    return parse


positive_int = int_at_least(1, "a positive integer")
non_negative_int = int_at_least(0, "an integer >= 0")


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def positive_float(text):
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def int_list(text):
    try:
        values = [int(part) for part in text.split(",")]       # "2,,3" is a typo, not the 2-3 network
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 20,10,5, got {text!r}"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers like 20,10,5, got {text!r}"
        )
    return values


def port(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value
