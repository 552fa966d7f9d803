"""Seconds per epoch: netprop vs PyTorch (CPU) vs scikit-learn, same network, batch, optimizer, data.

Each configuration trains the lecture's network 784-H-10 (relu, softmax, mean cross-entropy) with
SGD, momentum 0.9, constant learning rate, on the 60,000 Fashion-MNIST training images in float32,
a fresh shuffle each epoch.  Each library runs one warm-up epoch, then `--epochs` timed epochs; the
median is reported.  All three run in this one process, one after the other, so they share the
machine's state; ratios are netprop's time divided by the peer's (below 1: netprop is faster).

    python benchmarks/bench_epoch.py            # (H 128, batch 64) and (H 1024, batch 128)
    python benchmarks/bench_epoch.py --configs 256x128 --epochs 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from common import blas_description, fashion_mnist_float32, machine, sgemm_peak, table

LR = 0.01


def flops_per_epoch(n, sizes):
    """Forward z = h Wᵀ, ∇W = δᵀ h, and δ Wᵀ for every layer but the first: 2 flops per multiply-add."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    macs = sum(a * b for a, b in pairs) * 2 + sum(a * b for a, b in pairs[1:])
    return 2 * n * macs


def time_netprop(X, y, hidden, batch, epochs):
    import netprop
    from netprop.train import TrainConfig, fit

    config = TrainConfig(hidden=[hidden], epochs=epochs + 1, batch_size=batch, lr=LR,
                         optimizer="momentum", momentum=0.9, schedule="constant", seed=0)
    net = netprop.Network([784, hidden, 10], seed=0, dtype="float32")
    state = fit(net, X, y, X[:1000], y[:1000], config)
    return [r["seconds"] for r in state.history[1:]]


def time_torch(X, y, hidden, batch, epochs):
    import torch

    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for epoch in range(epochs + 1):
        t = time.perf_counter()
        perm = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return times[1:]


def time_sklearn(X, y, hidden, batch, epochs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), solver="sgd", momentum=0.9,
                        nesterovs_momentum=False, learning_rate_init=LR, batch_size=batch,
                        alpha=0.0, max_iter=1, shuffle=True, random_state=0)
    classes = np.arange(10)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for epoch in range(epochs + 1):
            t = time.perf_counter()
            clf.partial_fit(X, y, classes=classes)       # one pass over the data in minibatches
            times.append(time.perf_counter() - t)
    return times[1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="128x64,1024x128",
                        help="comma-separated HIDDENxBATCH pairs (default 128x64,1024x128)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per library (default 3)")
    parser.add_argument("--skip", default="", help="comma-separated peers to skip: torch,sklearn")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(len(__import__("os").sched_getaffinity(0)))
    X, y, _, _ = fashion_mnist_float32()
    peak = sgemm_peak()
    print(f"machine: {machine()}")
    print(f"NumPy BLAS: {blas_description()}; PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"sgemm peak (NumPy, 2048x2048 float32): {peak:.1f} GFLOP/s\n")

    rows = []
    skip = set(filter(None, args.skip.split(",")))
    for spec in args.configs.split(","):
        hidden, batch = (int(v) for v in spec.lower().split("x"))
        flops = flops_per_epoch(len(X), [784, hidden, 10])
        results = {"netprop": time_netprop(X, y, hidden, batch, args.epochs)}
        if "torch" not in skip:
            results["PyTorch"] = time_torch(X, y, hidden, batch, args.epochs)
        if "sklearn" not in skip:
            results["scikit-learn"] = time_sklearn(X, y, hidden, batch, args.epochs)
        ours = statistics.median(results["netprop"])
        for name, times in results.items():
            t = statistics.median(times)
            ratio = "1" if name == "netprop" else f"{ours / t:.2f}"
            rows.append([f"784-{hidden}-10", batch, name, f"{t:.3f}", f"{flops / t / 1e9:.1f}",
                         f"{100 * flops / t / 1e9 / peak:.0f} %", ratio])
    print(table(rows, ["network", "batch", "library", "s/epoch", "GFLOP/s", "of sgemm peak",
                       "netprop ÷ this"]))


if __name__ == "__main__":
    main()
