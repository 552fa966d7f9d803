"""Seconds per epoch: netprop vs PyTorch (CPU) vs scikit-learn, same network, batch, optimizer, data.

Each configuration trains a network 784-…-10 (relu, softmax, mean cross-entropy) with its row's
optimizer (SGD, momentum 0.9, or Adam), constant learning rate, on 48,000 Fashion-MNIST training
images in float32 (the size of `netprop train`'s training split, so that s/epoch compares with
history.csv), a fresh shuffle each epoch.  All run in this one process, in `--cycles` cycles: in
each, every library trains a block of 1 + `--epochs` consecutive epochs (the first not counted),
the order reversed from one cycle to the next, so that each meets the same background load.
s/epoch is the median over the cycles; "netprop ÷ this" is the median of the ratios taken within
each cycle (below 1: netprop is faster), with their range, which shows how much the machine's load
moved.

Two more rows time only each epoch's matrix products (the same shapes and minibatches, nothing
else), once through NumPy's BLAS as netprop calls it and once through PyTorch's kernels: a floor
under any implementation built on that library.  "floor share" is the NumPy floor's time as a
share of each library's epoch: how much of the epoch is the products netprop cannot avoid.

    python benchmarks/bench_epoch.py                       # every row of the README's table
    python benchmarks/bench_epoch.py --configs 784-512-10x256:adam --cycles 6 --skip sklearn
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from common import blas_description, fashion_mnist_float32, machine, sgemm_peak, table

LR = {"sgd": 0.01, "momentum": 0.01, "adam": 0.002}
EXAMPLES = 48_000

# (layer sizes, batch, optimizer): the course's tuning range, deeper nets, and netprop train's default
CONFIGS = ("784-30-10x16:sgd,784-50-50-50-10x16:sgd,784-40-40-40-40-10x64:sgd,784-128-10x64:adam,"
           "784-128-10x64:momentum,784-1024-10x128:momentum,784-512-10x256:adam")


def parse_config(spec):
    """"784-512-10x256:adam" -> ([784, 512, 10], 256, "adam")."""
    net, _, optimizer = spec.partition(":")
    sizes, batch = net.lower().split("x")
    optimizer = optimizer or "momentum"
    if optimizer not in LR:
        raise SystemExit(f"unknown optimizer {optimizer!r} in {spec!r}; use sgd, momentum or adam")
    return [int(s) for s in sizes.split("-")], int(batch), optimizer


def flops_per_epoch(n, sizes):
    """Forward z = h Wᵀ, ∇W = δᵀ h, and δ Wᵀ for every layer but the first: 2 flops per multiply-add."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    macs = sum(a * b for a, b in pairs) * 2 + sum(a * b for a, b in pairs[1:])
    return 2 * n * macs


def netprop_epochs(X, y, sizes, batch, optimizer):
    """A function that trains netprop one more epoch and returns its seconds."""
    import netprop
    from netprop.training.fit import TrainConfig, Trainer

    config = TrainConfig(hidden=sizes[1:-1], epochs=1000, batch_size=batch, lr=LR[optimizer],
                         optimizer=optimizer, momentum=0.9, schedule="constant", seed=0)
    trainer = Trainer(netprop.Network(sizes, seed=0, dtype="float32"), X, y, config)
    emit = lambda event, **info: None  # noqa: E731
    epoch = iter(range(1, 1001))
    return lambda: trainer.train_epoch(next(epoch), emit)[3]


def torch_epochs(X, y, sizes, batch, optimizer):
    import torch

    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=LR[optimizer])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=LR[optimizer], momentum=0.9 if optimizer == "momentum" else 0)
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


def sklearn_epochs(X, y, sizes, batch, optimizer):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), solver="adam" if optimizer == "adam" else "sgd",
                        momentum=0.9 if optimizer == "momentum" else 0.0, nesterovs_momentum=False,
                        learning_rate_init=LR[optimizer], batch_size=batch, alpha=0.0, max_iter=1,
                        shuffle=True, random_state=0)
    classes = np.arange(10)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t = time.perf_counter()
            clf.partial_fit(X, y, classes=classes)       # one pass over the data in minibatches
            return time.perf_counter() - t
    return epoch


def numpy_products_epochs(X, y, sizes, batch, optimizer):
    """Only the epoch's matrix products, through NumPy's BLAS as netprop calls them: a floor.

    Per minibatch and layer: z = W hᵀ forward; backward ∇W = δᵀh (into the velocity with β, as
    SGD with momentum does; into a buffer otherwise) and δ Wᵀ for every layer but the first; on
    arrays of the training shapes, computed the way round fast.py computes them.  No activation,
    softmax, update or bookkeeping.
    """
    from netprop.training._blas import gemm_tn

    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((b, a), dtype=np.float32) * 0.05 for a, b in zip(sizes[:-1], sizes[1:])]
    buffers = [np.zeros_like(W) for W in Ws]
    beta = 0.9 if optimizer == "momentum" else 0.0

    def epoch():
        t = time.perf_counter()
        perm = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            hs = [X[perm[start:start + batch]]]
            for W in Ws:
                hs.append((W @ hs[-1].T).T)
            delta = hs.pop()
            for l in reversed(range(len(Ws))):
                gemm_tn(delta, hs[l], buffers[l], 1.0, beta)
                if l:
                    delta = (Ws[l].T @ delta.T).T
        return time.perf_counter() - t
    return epoch


def torch_products_epochs(X, y, sizes, batch, optimizer):
    """The same products through PyTorch's kernels, buffers updated in place as torch.optim does."""
    import torch

    gen = torch.Generator().manual_seed(0)
    Xt = torch.from_numpy(X)
    Ws = [torch.randn(b, a, generator=gen) * 0.05 for a, b in zip(sizes[:-1], sizes[1:])]
    buffers = [torch.zeros_like(W) for W in Ws]
    beta = 0.9 if optimizer == "momentum" else 0.0

    def epoch():
        t = time.perf_counter()
        perm = torch.randperm(len(Xt), generator=gen)
        for start in range(0, len(Xt), batch):
            hs = [Xt[perm[start:start + batch]]]
            for W in Ws:
                hs.append(hs[-1] @ W.T)
            delta = hs.pop()
            for l in reversed(range(len(Ws))):
                buffers[l].mul_(beta).addmm_(delta.T, hs[l])
                if l:
                    delta = delta @ Ws[l]
        return time.perf_counter() - t
    return epoch


PEERS = {"netprop": netprop_epochs, "PyTorch": torch_epochs, "scikit-learn": sklearn_epochs,
         "NumPy, products only": numpy_products_epochs, "PyTorch, products only": torch_products_epochs}
SKIP_NAMES = {"PyTorch": "torch", "scikit-learn": "sklearn", "NumPy, products only": "floor",
              "PyTorch, products only": "floor"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", default=CONFIGS,
                        help="comma-separated SIZESxBATCH:OPTIMIZER, e.g. 784-512-10x256:adam (default: "
                             "the README's rows)")
    parser.add_argument("--cycles", type=int, default=3,
                        help="cycles over the libraries, alternating their order (default 3)")
    parser.add_argument("--epochs", type=int, default=1,
                        help="timed epochs per library in each cycle, after one untimed (default 1)")
    parser.add_argument("--skip", default="",
                        help="comma-separated peers to skip: torch, sklearn, floor (the products-only rows)")
    args = parser.parse_args()

    import torch

    try:
        from netprop.training import _kernels
        kernels = "Numba" if _kernels.available() else "NumPy (no Numba)"
    except ImportError:                                 # a netprop from before the kernels
        kernels = "none"

    torch.set_num_threads(len(__import__("os").sched_getaffinity(0)))
    X, y, _, _ = fashion_mnist_float32()
    X, y = X[:EXAMPLES], y[:EXAMPLES]
    peak = sgemm_peak()
    print(f"machine: {machine()}")
    print(f"NumPy BLAS: {blas_description()}; PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"netprop's element-wise kernels: {kernels}")
    print(f"sgemm peak (NumPy, 2048x2048 float32): {peak:.1f} GFLOP/s; {len(X)} images per epoch\n")

    rows = []
    skip = set(filter(None, args.skip.split(",")))
    for spec in args.configs.split(","):
        sizes, batch, optimizer = parse_config(spec)
        flops = flops_per_epoch(len(X), sizes)
        runners = {name: make(X, y, sizes, batch, optimizer) for name, make in PEERS.items()
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
        floor = results.get("NumPy, products only")
        for name, times in results.items():
            t = statistics.median(times)
            ratios = sorted(a / b for a, b in zip(results["netprop"], times))
            ratio = "1" if name == "netprop" else \
                f"{statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f})"
            share = "" if floor is None or name.endswith("only") else \
                f"{100 * statistics.median(f / x for f, x in zip(floor, times)):.0f} %"
            rows.append(["-".join(map(str, sizes)), batch, optimizer, name, f"{t:.3f}", f"{flops / t / 1e9:.1f}",
                         share, ratio])
    print(table(rows, ["network", "batch", "optimizer", "library", "s/epoch", "GFLOP/s", "floor share",
                       "netprop ÷ this (range)"]))


if __name__ == "__main__":
    main()
