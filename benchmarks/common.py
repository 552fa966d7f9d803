"""Helpers shared by the benchmarks: data, BLAS description, an sgemm peak, a table printer, and
child processes that run under a chosen OpenBLAS kernel."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np


def fashion_mnist_float32():
    """The 60,000 training images as float32 rows scaled by the training statistics, and labels."""
    from netprop.data import Preprocessing, load_fashion_mnist

    X, y, Xt, yt = load_fashion_mnist()
    pre = Preprocessing.fit(X, "pixels")
    return pre.apply(X), y.astype(np.int64), pre.apply(Xt), yt.astype(np.int64)


def byte_compile(package_dir=None):
    """Write the .pyc files of netprop's modules (package_dir: a checkout's src/netprop; default the
    one imported), as pip does for an installed wheel.  An editable install under
    PYTHONDONTWRITEBYTECODE=1 (this machine sets it) would otherwise compile every module in every
    command a benchmark times (~0.06 s), a cost no installed netprop pays."""
    if package_dir is None:
        import netprop
        package_dir = os.path.dirname(netprop.__file__)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package_dir)], check=False)


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


def blas_kernel():
    """The kernel NumPy's OpenBLAS runs on here, as threadpoolctl names it ("Haswell", "SkylakeX"...)."""
    from threadpoolctl import threadpool_info

    kernels = [info.get("architecture") for info in threadpool_info() if info.get("internal_api") == "openblas"]
    return ", ".join(dict.fromkeys(kernels)) or "not OpenBLAS"     # SciPy's OpenBLAS, once loaded, runs the same


# OpenBLAS picks its kernel for the CPU it finds, unless these variables say otherwise.  The
# benchmarks measure under a setting given per child process; nothing here changes the variables
# of the process that runs it (tests and CI keep them as they are).
KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def kernel_environment(setting, base=None):
    """The environment for a child measured under `setting`, from base (os.environ when None).

    "as-is": base unchanged.  "unset": base without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (the
    CPU's own kernel).  Any other word is an OpenBLAS core type (e.g. "Haswell") forced through
    OPENBLAS_CORETYPE, the rest of base unchanged.
    """
    env = dict(os.environ if base is None else base)
    if setting == "unset":
        for name in KERNEL_VARIABLES:
            env.pop(name, None)
    elif setting != "as-is":
        env["OPENBLAS_CORETYPE"] = setting
    return env


def describe_setting(setting, base=None):
    """The kernel variables a child under `setting` sees: "OPENBLAS_CORETYPE=Haswell, OPENBLAS_L2_SIZE unset"."""
    env = kernel_environment(setting, base)
    return ", ".join(f"{name}={env[name]}" if name in env else f"{name} unset" for name in KERNEL_VARIABLES)


def child_cpus(count):
    """The first `count` CPUs this process may run on (all of them for None or 0)."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[:count] if count else cpus


_CONFINE = ("import json, os, sys; os.sched_setaffinity(0, json.loads(sys.argv[1])); "
            "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])")


def run_child(argv, setting, cpus=None):
    """Run `python argv…` under a kernel setting; return the JSON object it prints as its last line.

    cpus: CPUs to confine the child to (None: as this process).  OpenBLAS, PyTorch and XLA size their
    thread pools by the CPUs a process may use, so one CPU means one thread in every library: on a
    machine shared with other work, a second BLAS thread waits at every product for a core that
    someone else holds, and the timings measure the load rather than the libraries.
    The child's stderr passes through (progress, warnings); a failure stops the parent with the
    child's exit status.
    """
    if cpus is not None:       # confined by a launcher that execs the child (no preexec_fn: JAX's threads)
        argv = ["-c", _CONFINE, json.dumps(list(cpus)), *argv]
    proc = subprocess.run([sys.executable, *argv], env=kernel_environment(setting), stdout=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:1])} under {setting!r} failed with exit status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
