"""One training step's time, for an A/B of two netprop trees on one machine.

Run it once per tree, alternating, with the tree's src first on the path, e.g.

    PYTHONPATH=/tmp/oldtree/src python benchmarks/bench_step_ab.py adam 784-128-10 64
    PYTHONPATH=src python benchmarks/bench_step_ab.py adam 784-128-10 64

It prints the best of 7 repetitions of 40 minibatches, in µs per step.  It reads the layout before
the house's folders (netprop.fast, netprop.optim) too, so that older trees can be timed.
"""

import sys
import time

import numpy as np

import netprop

try:
    from netprop.training.optimizers import make_optimizer
    from netprop.training.step import train_step
except ImportError:                       # a tree from before the folders
    from netprop.fast import train_step
    from netprop.optim import make_optimizer


def main(name, sizes, batch, steps=40, repetitions=7):
    rng = np.random.default_rng(0)
    net = netprop.Network(sizes, seed=0, dtype="float32")
    X = rng.normal(size=(batch * steps, sizes[0])).astype(np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], size=batch * steps)]
    params = net.parameters()
    optimizer = make_optimizer(name, params)
    best = float("inf")
    for _ in range(repetitions):
        start = time.perf_counter()
        for i in range(steps):
            rows = slice(i * batch, (i + 1) * batch)
            train_step(net, optimizer, X[rows], Y[rows], 0.001, 0.0, params)
        best = min(best, (time.perf_counter() - start) / steps)
    print(f"{best * 1e6:.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: bench_step_ab.py OPTIMIZER SIZES BATCH   (e.g. adam 784-128-10 64)")
    main(sys.argv[1], [int(s) for s in sys.argv[2].split("-")], int(sys.argv[3]))
