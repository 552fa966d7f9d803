"""Seconds per epoch: netprop vs PyTorch (CPU) vs scikit-learn, same network, batch, optimizer, data.

Each configuration trains the lecture's network 784-H-10 (relu, softmax, mean cross-entropy) with
SGD, momentum 0.9, constant learning rate, on the 60,000 Fashion-MNIST training images in float32,
a fresh shuffle each epoch.  All run in this one process, in `--cycles` cycles: in each, every
library trains a block of 1 + `--epochs` consecutive epochs (the first not counted), the order
reversed from one cycle to the next, so that each meets the same background load.  s/epoch is the
median over the cycles; "netprop ÷ this" is the median of the ratios taken within each cycle
(below 1: netprop is faster), with their range, which shows how much the machine's load moved.

Two more rows time only each epoch's matrix products (the same shapes, minibatches and momentum
buffer, nothing else), once through NumPy's BLAS as netprop calls it and once through PyTorch's
kernels: a floor under any implementation built on that library.  At a size where the products
are nearly the whole epoch, "NumPy, products only" ÷ PyTorch bounds from below the ratio netprop
can reach against PyTorch.

    python benchmarks/bench_epoch.py            # (H 128, batch 64) and (H 1024, batch 128)
    python benchmarks/bench_epoch.py --configs 256x128 --cycles 6
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


def netprop_epochs(X, y, hidden, batch):
    """A function that trains netprop one more epoch and returns its seconds."""
    import netprop
    from netprop.train import TrainConfig, Trainer

    config = TrainConfig(hidden=[hidden], epochs=1000, batch_size=batch, lr=LR, optimizer="momentum",
                         momentum=0.9, schedule="constant", seed=0)
    trainer = Trainer(netprop.Network([784, hidden, 10], seed=0, dtype="float32"), X, y, config)
    emit = lambda event, **info: None  # noqa: E731
    epoch = iter(range(1, 1001))
    return lambda: trainer.train_epoch(next(epoch), emit)[3]


def torch_epochs(X, y, hidden, batch):
    import torch

    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        t = time.perf_counter()
        perm = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            idx = perm[start:start + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        return time.perf_counter() - t
    return epoch


def sklearn_epochs(X, y, hidden, batch):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(hidden,), solver="sgd", momentum=0.9,
                        nesterovs_momentum=False, learning_rate_init=LR, batch_size=batch,
                        alpha=0.0, max_iter=1, shuffle=True, random_state=0)
    classes = np.arange(10)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t = time.perf_counter()
            clf.partial_fit(X, y, classes=classes)       # one pass over the data in minibatches
            return time.perf_counter() - t
    return epoch


def numpy_products_epochs(X, y, hidden, batch):
    """Only the epoch's matrix products, through NumPy's BLAS as netprop calls them: a floor.

    Per minibatch: Z1 = X W1ᵀ, Z2 = H W2ᵀ, ∇W2 = δ2ᵀH, G = δ2 W2 and v ← μv + GᵀX, on arrays of
    the training shapes, each computed the way round Network computes it (W hᵀ, Wᵀ δᵀ); no
    activation, softmax, update or bookkeeping.
    """
    from netprop._blas import gemm_tn

    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((hidden, X.shape[1]), dtype=np.float32) * 0.05
    W2 = rng.standard_normal((10, hidden), dtype=np.float32) * 0.05
    v = np.zeros_like(W1)

    def epoch():
        t = time.perf_counter()
        perm = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            xb = X[perm[start:start + batch]]
            h = (W1 @ xb.T).T
            d2 = (W2 @ h.T).T
            d2.T @ h
            g = (W2.T @ d2.T).T
            gemm_tn(g, xb, v, 1.0, 0.9)
        return time.perf_counter() - t
    return epoch


def torch_products_epochs(X, y, hidden, batch):
    """The same products through PyTorch's kernels, v updated in place as torch.optim does."""
    import torch

    gen = torch.Generator().manual_seed(0)
    Xt = torch.from_numpy(X)
    W1 = torch.randn(hidden, X.shape[1], generator=gen) * 0.05
    W2 = torch.randn(10, hidden, generator=gen) * 0.05
    v = torch.zeros_like(W1)

    def epoch():
        t = time.perf_counter()
        perm = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch):
            xb = Xt[perm[start:start + batch]]
            h = xb @ W1.T
            d2 = h @ W2.T
            d2.T @ h
            g = d2 @ W2
            v.mul_(0.9).addmm_(g.T, xb)
        return time.perf_counter() - t
    return epoch


PEERS = {"netprop": netprop_epochs, "PyTorch": torch_epochs, "scikit-learn": sklearn_epochs,
         "NumPy, products only": numpy_products_epochs, "PyTorch, products only": torch_products_epochs}
SKIP_NAMES = {"PyTorch": "torch", "scikit-learn": "sklearn", "NumPy, products only": "floor",
              "PyTorch, products only": "floor"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default="128x64,1024x128",
                        help="comma-separated HIDDENxBATCH pairs (default 128x64,1024x128)")
    parser.add_argument("--cycles", type=int, default=4,
                        help="cycles over the libraries, alternating their order (default 4)")
    parser.add_argument("--epochs", type=int, default=1,
                        help="timed epochs per library in each cycle, after one untimed (default 1)")
    parser.add_argument("--skip", default="",
                        help="comma-separated peers to skip: torch, sklearn, floor (the products-only rows)")
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
        runners = {name: make(X, y, hidden, batch) for name, make in PEERS.items()
                   if SKIP_NAMES.get(name) not in skip and not (name.startswith("PyTorch") and "torch" in skip)}
        # Each cycle runs every library once: a block of 1 + `--epochs` consecutive epochs, the
        # first not counted (another library's idle thread pool may still be spinning).  Cycles
        # alternate their order, so that slow drifts in the machine's load fall on every library
        # alike; the ratios are taken within each cycle (minutes apart at most) and then summarised.
        results = {name: [] for name in runners}
        names = list(runners)
        for c in range(args.cycles):
            for name in (names if c % 2 == 0 else names[::-1]):
                runners[name]()
                results[name].append(statistics.median(runners[name]() for _ in range(args.epochs)))
        for name, times in results.items():
            t = statistics.median(times)
            ratios = sorted(a / b for a, b in zip(results["netprop"], times))
            ratio = "1" if name == "netprop" else \
                f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})"
            rows.append([f"784-{hidden}-10", batch, name, f"{t:.3f}", f"{flops / t / 1e9:.1f}",
                         f"{100 * flops / t / 1e9 / peak:.0f} %", ratio])
    print(table(rows, ["network", "batch", "library", "s/epoch", "GFLOP/s", "of sgemm peak",
                       "netprop ÷ this (range)"]))


if __name__ == "__main__":
    main()
