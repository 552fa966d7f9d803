"""The libraries bench_epoch.py times: each a function (X, y, sizes, batch, optimizer) that builds
one and returns epoch(), which trains one more epoch and returns its seconds.

Every peer trains the same network 784-…-10 (relu, softmax, mean cross-entropy) with the same
minibatch size, optimizer and learning rate on the same float32 images, a fresh shuffle each
epoch.  The "products only" rows run nothing but each epoch's matrix products.
"""

from __future__ import annotations

import time

import numpy as np

LR = {"sgd": 0.01, "momentum": 0.01, "adam": 0.002}
MOMENTUM = 0.9
SEED = 0


def netprop_trainer(X, y, sizes, batch, optimizer, dtype="float32"):
    """netprop's Trainer (what `netprop train` runs each epoch) for a new network, seed 0."""
    import netprop
    from netprop.training.fit import TrainConfig, Trainer

    config = TrainConfig(hidden=sizes[1:-1], epochs=1000, batch_size=batch, lr=LR[optimizer],
                         optimizer=optimizer, momentum=MOMENTUM, schedule="constant", seed=SEED)
    return Trainer(netprop.Network(sizes, seed=SEED, dtype=dtype), X, y, config)


def netprop_epochs(X, y, sizes, batch, optimizer):
    """A function that trains netprop one more epoch and returns its seconds."""
    trainer = netprop_trainer(X, y, sizes, batch, optimizer)
    epoch = iter(range(1, 1001))
    return lambda: trainer.train_epoch(next(epoch), ignore_event)[3]


def ignore_event(event, **info):
    """The Trainer's progress callback, unused here."""


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
        opt = torch.optim.SGD(model.parameters(), lr=LR[optimizer], momentum=MOMENTUM if optimizer == "momentum" else 0)
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
                        momentum=MOMENTUM if optimizer == "momentum" else 0.0, nesterovs_momentum=False,
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


def jax_epochs(X, y, sizes, batch, optimizer):
    """The JAX peer (jax_peer.py): the whole step compiled; compile_seconds on the returned function."""
    import jax_peer

    return jax_peer.jax_epochs(X, y, sizes, batch, optimizer, LR[optimizer])


def xla_products_epochs(X, y, sizes, batch, optimizer):
    import jax_peer

    return jax_peer.jax_products_epochs(X, y, sizes, batch, optimizer)


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
    beta = MOMENTUM if optimizer == "momentum" else 0.0

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
    beta = MOMENTUM if optimizer == "momentum" else 0.0

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


# name: (function, the --skip words that leave it out)
PEERS = {
    "netprop": (netprop_epochs, ()),
    "PyTorch": (torch_epochs, ("torch",)),
    "JAX (jit)": (jax_epochs, ("jax",)),
    "scikit-learn": (sklearn_epochs, ("sklearn",)),
    "NumPy, products only": (numpy_products_epochs, ("floor",)),
    "PyTorch, products only": (torch_products_epochs, ("floor", "torch")),
    "XLA, products only": (xla_products_epochs, ("floor", "jax")),
}
SKIP_WORDS = ("torch", "jax", "sklearn", "floor")
