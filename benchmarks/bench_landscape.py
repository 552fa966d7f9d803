"""Seconds for a loss-landscape grid: netprop's plane evaluation against the naive loop over net.loss.

The course's setting: the 784-512-10 relu network, 2,000 Fashion-MNIST training images, a 25 × 25
grid on a plane θ₀ + a·d₁ + b·d₂ (here: He-initialised θ₀, two filter-normalised random directions).
netprop's PlaneLoss computes the first layer's three products X W1⁰ᵀ, X D1ᵀ, X E1ᵀ once and then
spends only element-wise work and the small second layer per grid point; the naive way sets the
network's parameters to θ(a, b) and calls net.loss at every point.  The naive loop is timed on
--naive-points points (it costs the same at every point) and scaled to the grid; the ratio is per
point, both measured in this run.

    python benchmarks/bench_landscape.py
    python benchmarks/bench_landscape.py --grid 41 --examples 5000 --hidden 1024
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import blas_description, machine, table

from netprop import Network
from netprop.training.landscape import Plane, PlaneLoss, filter_normalised_direction


def images(n, seed):
    try:
        from common import fashion_mnist_float32

        X, y, _, _ = fashion_mnist_float32()
        source = f"{n} Fashion-MNIST training images"
    except Exception as exc:  # no data set here: random pixels keep the shapes and the cost
        print(f"(Fashion-MNIST unavailable: {exc}; using random inputs)")
        rng = np.random.default_rng(seed)
        X, y = rng.normal(size=(60000, 784)).astype(np.float32), rng.integers(0, 10, size=60000)
        source = f"{n} random inputs"
    rows = np.random.default_rng(seed).choice(len(X), size=n, replace=False)
    return X[rows].astype(np.float64), y[rows], source


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=25)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--naive-points", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    X, y, source = images(args.examples, args.seed)
    net = Network([784, args.hidden, 10], seed=args.seed)
    theta = net.pack()
    rng = np.random.default_rng(args.seed)
    plane = Plane(theta, filter_normalised_direction(net, theta, rng), filter_normalised_direction(net, theta, rng),
                  np.zeros((0, 2)), "random")
    axis = np.linspace(-1, 1, args.grid)
    points = args.grid * args.grid
    print(f"{machine()}; BLAS: {blas_description()}")
    print(f"784-{args.hidden}-10, {source}, {args.grid}x{args.grid} grid\n")

    rows, per_point = [], {}
    for dtype in (np.float64, np.float32):
        started = time.perf_counter()
        f = PlaneLoss(net, plane, X, y, dtype=dtype)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        grid = f.grid(axis, axis)
        seconds = time.perf_counter() - started
        total = setup + seconds
        per_point[dtype] = total / points
        rows.append([f"netprop PlaneLoss ({np.dtype(dtype).name})", f"{setup:.2f}", f"{total:.2f}",
                     f"{1e3 * total / points:.2f}", ""])
        if dtype == np.float64:
            reference = grid

    naive = net.copy()
    started = time.perf_counter()
    worst = 0.0
    for k in range(args.naive_points):
        j, i = divmod(k * (points // args.naive_points), args.grid)
        naive.unpack(plane.origin + axis[i] * plane.d1 + axis[j] * plane.d2)
        value = naive.loss(X, y)
        worst = max(worst, abs(value - reference[j, i]) / abs(value))
    naive_point = (time.perf_counter() - started) / args.naive_points
    rows.append([f"naive: net.unpack + net.loss per point ({args.naive_points} timed, scaled)", "",
                 f"{naive_point * points:.2f}", f"{1e3 * naive_point:.2f}", "1"])
    for row, dtype in zip(rows, (np.float64, np.float32)):
        row[4] = f"{per_point[dtype] / naive_point:.3f}"
    print(table(rows, ["method", "setup s", f"{points} points s", "ms/point", "÷ naive"]))
    print(f"\nlargest relative difference, float64 grid vs net.loss at the timed points: {worst:.1e}")


if __name__ == "__main__":
    main()
