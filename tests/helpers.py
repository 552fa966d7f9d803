"""Shared test data: small synthetic sets and the real Fashion-MNIST when it is installed; netprop's error line."""

import os

import numpy as np
import pytest


def synthetic_npz(path, n=600, d=784, classes=4, seed=0, noise_seed=None):
    """Gaussian blobs around random class centres: learnable, small, 784 features by default.

    The same seed gives the same centres; noise_seed draws other examples around them.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, size=(classes, d))
    if noise_seed is not None:
        rng = np.random.default_rng([seed, noise_seed])
    y = np.arange(n) % classes
    X = (centres[y] + rng.normal(0, 1.0, size=(n, d))) * 20 + 100
    np.savez(path, X=X.astype(np.float32), y=y)
    return path


def fashion_mnist_or_skip():
    from netprop.data import DataError, find_fashion_mnist

    try:
        return find_fashion_mnist(download=False)
    except DataError as exc:
        if os.environ.get("CI"):
            raise AssertionError(f"CI needs Fashion-MNIST (make data installs it): {exc}") from None
        pytest.skip(f"Fashion-MNIST not installed: {exc}")


def error_line(stderr):
    """The one line naming the problem in netprop's stderr, after checking that nothing else is there.

    A usage mistake (caught by the parser) prints that line and then "see `netprop CMD --help`"; a
    problem found while running prints the line alone. Never a traceback, never a usage block.
    """
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    if len(lines) == 2 and lines[1].startswith("see `netprop") and lines[1].endswith(" --help`"):
        lines = lines[:1]
    assert len(lines) == 1 and "error" in lines[0], stderr
    return lines[0]
