"""The default `netprop train`'s time outside its training passes, for one tree or an A/B of two.

    python benchmarks/bench_overhead.py                       # this tree, 3 runs
    python benchmarks/bench_overhead.py --trees /tmp/before,. # two trees, alternating

Each run is the whole command as a user types it (a new Python process: start-up, imports, reading
and standardising Fashion-MNIST, 15 epochs with validation after each, test scoring, model, plots,
report), timed from outside; "outside training" is that wall time less metrics.json's
training_seconds (the epochs' training passes alone).  Runs alternate between the trees so that a
change in the machine's load falls on both.  NumPy alone, as `make train` installs netprop (no
Numba: NETPROP_NUMBA=0), unless --numba.  The OpenBLAS variables are left as they are; the kernel
threadpoolctl reports is printed.  Each tree's modules are byte-compiled first (compileall), as an
installed wheel's are: with PYTHONDONTWRITEBYTECODE=1 a checkout would otherwise compile them in
every run (~0.06 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import blas_description, byte_compile, machine, table


def one_run(tree, numba, extra):
    """(wall s, training s, test accuracy) of one `netprop train --quiet --json` with tree's src first."""
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve() / "src"))
    if not numba:
        env["NETPROP_NUMBA"] = "0"
    with tempfile.TemporaryDirectory(prefix="netprop-overhead-") as tmp:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "netprop", "train", "--quiet", "--json",
                               "--out", str(Path(tmp) / "run"), *extra],
                              env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{tree}: netprop train exited {done.returncode}: {done.stderr.strip()[-500:]}")
    metrics = json.loads(done.stdout)
    return wall, metrics["training_seconds"], metrics.get("test_accuracy")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", default=".", help="comma-separated netprop checkouts (default: this one)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each tree (default 3)")
    parser.add_argument("--numba", action="store_true", help="let netprop use Numba where it is installed")
    parser.add_argument("extra", nargs="*", help="flags passed on to netprop train (after --)")
    args = parser.parse_args()
    trees = args.trees.split(",")
    for tree in trees:
        byte_compile(Path(tree).resolve() / "src" / "netprop")
    print(f"{machine()}; BLAS: {blas_description()}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}; load {os.getloadavg()[0]:.2f}")
    results = {tree: [] for tree in trees}
    for k in range(args.rounds):
        for tree in trees:
            wall, training, accuracy = one_run(tree, args.numba, args.extra)
            results[tree].append((wall, training, accuracy))
            print(f"round {k + 1}, {tree}: wall {wall:.2f} s, training {training:.2f} s, "
                  f"outside {wall - training:.2f} s, test accuracy {accuracy}", flush=True)
    print(f"\nload {os.getloadavg()[0]:.2f}\n")
    rows = []
    for tree, runs in results.items():
        outside = [w - t for w, t, _ in runs]
        rows.append([tree, f"{statistics.median(w for w, _, _ in runs):.2f}",
                     f"{statistics.median(t for _, t, _ in runs):.2f}",
                     f"{statistics.median(outside):.2f} ({min(outside):.2f}–{max(outside):.2f})", runs[0][2]])
    print(table(rows, ["tree", "wall s (median)", "training passes s", "outside training s (median, range)",
                       "test accuracy"]))

if __name__ == "__main__":
    main()
