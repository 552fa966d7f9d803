"""Helpers shared by the benchmarks: data, BLAS description, an sgemm peak, a table printer."""

from __future__ import annotations

import platform
import time

import numpy as np


def fashion_mnist_float32():
    """The 60,000 training images as float32 rows scaled by the training statistics, and labels."""
    from netprop.data import Preprocessing, load_fashion_mnist

    X, y, Xt, yt = load_fashion_mnist()
    pre = Preprocessing.fit(X, "pixels")
    return pre.apply(X), y.astype(np.int64), pre.apply(Xt), yt.astype(np.int64)


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            parts.append(f"{info.get('internal_api')} {info.get('version')} "
                         f"({info.get('architecture')}, {info.get('num_threads')} threads)")
    return "; ".join(parts) or "no BLAS found"


def sgemm_peak(n=2048, repeats=5):
    """GFLOP/s of NumPy's float32 matrix product on n×n matrices: the machine's ceiling here."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = a.copy()
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def machine():
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def table(rows, headers):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
