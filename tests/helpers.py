"""Shared test data: small synthetic sets and the real Fashion-MNIST when it is installed; netprop's error line."""

import contextlib
import io
import os
import subprocess
import sys
import warnings

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


def torch_activation(name):
    """The torch function each registered hidden activation must equal: the independent witness that
    tests looping over netprop.core.activations.ACTIVATIONS compare against (test_functions.py checks
    that every record has one)."""
    import torch

    F = torch.nn.functional
    return {
        "relu": F.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.01),
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "identity": lambda z: z,
        "gelu": lambda z: F.gelu(z, approximate="tanh"),
    }[name]


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


def torch_optimizer(name, groups, lr=0.1):
    """The torch.optim optimizer each registered netprop optimizer must equal (same hyper-parameters):
    the witness that tests looping over netprop.training.optimizers.OPTIMIZERS compare against
    (test_fast.py checks that every registered name has one)."""
    import torch

    return {
        "sgd": lambda: torch.optim.SGD(groups, lr=lr),
        "momentum": lambda: torch.optim.SGD(groups, lr=lr, momentum=0.9),
        "nesterov": lambda: torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True),
        "adam": lambda: torch.optim.Adam(groups, lr=lr),
    }[name]()


TORCH_OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adam")


def netprop_here(*args, cwd=None):
    """`netprop ARGS` run by calling netprop.cli.main in this process, answered as subprocess.run
    answers for the console script in a child (returncode, stdout, stderr as text), without the
    child's half second of starting Python and importing NumPy and netprop again.

    The same main() the console script calls, seen as a child's caller sees it: argparse's exit
    (SystemExit) is the return code; warnings go to stderr under Python's default filters; help is
    wrapped for a pipe (argparse asks sys.__stdout__'s terminal, which a child writing to a pipe has
    not). An exception main() lets through propagates and fails the test, where a child would print
    its traceback. Each command keeps tests that start the real console script (run_cli).
    """
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()

    def show(message, category, filename, lineno, file=None, line=None):
        err.write(warnings.formatwarning(message, category, filename, lineno, line))

    from netprop.cli import main

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.resetwarnings()
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)      # Python's default filters, as in a child
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        warnings.showwarning = show
        columns = os.environ.get("COLUMNS")
        os.environ.setdefault("COLUMNS", "80")          # shutil.get_terminal_size's fallback for a pipe
        try:
            if cwd is not None:
                os.chdir(cwd)
            code = main([str(a) for a in args]) or 0       # python -m netprop: SystemExit(main())
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        finally:
            os.chdir(here)
            if columns is None:
                os.environ.pop("COLUMNS", None)
    return subprocess.CompletedProcess(["netprop", *args], code, out.getvalue(), err.getvalue())


def openblas32_functions():
    """netprop.training._blas's functions bound to scipy-openblas32 (a test dependency): the variant with
    32-bit integers of the library NumPy's wheels bundle (here the one with 64-bit integers); _blas
    binds either.  Skips where it is not installed."""
    import ctypes

    from netprop.training import _blas

    scipy_openblas32 = pytest.importorskip("scipy_openblas32")
    lib = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library(fullname=True)))
    functions = _blas._bind(lib)
    assert functions is not None and functions["max_int"] == 2**31 - 1
    return functions

