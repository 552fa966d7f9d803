"""The training step: network.py's numbers, computed the way that is quick on a CPU.

``train_step(net, optimizer, x, Y, lr, l2)`` is one minibatch of training, used by ``netprop
train``, tune and the scikit-learn estimators: forward propagation, each layer's δ, and the
optimizer's ``update_from_deltas``.  It computes what ``Network.forward``, ``Network.backward`` and
``optimizer.step`` compute (tests/test_fast.py holds them equal to rounding for every optimizer),
with three differences that only change speed (measured in docs/design.md, "Performance notes"):

- Memory layout.  The products are computed as W hᵀ, so every array of the cache is column-major:
  the lecture's layout, one example per column, though each is still indexed (n, out).
- The 1/n of the mean is folded into δ of the output layer (a (n, c) array, the smallest), so that
  every later product already carries it.
- ∇W = δᵀh is never formed on its own where the optimizer can take it inside the product (its
  ``update_from_deltas``; see optimizers.py).
"""

from __future__ import annotations

import math

import numpy as np

from ._blas import axpy, gemm_tn
from ..core.losses import cross_entropy
from ..core.network import ForwardCache, Gradients
from . import _kernels


# glibc hands out allocations below 128 KiB from memory it keeps; larger ones are fresh pages from
# the kernel, faulted in and zeroed on first touch: only those are worth keeping between calls.
SCRATCH_FROM = 128 * 1024


def scratch(buffers, key, shape, dtype):
    """An uninitialised array for key: kept in buffers (a dict the caller holds) and reused while its
    shape and dtype stay the same, or new memory when buffers is None.

    A caller that evaluates the same batch again and again (L-BFGS: every function evaluation is the
    whole training set) saves the kernel's page faults and zeroing of fresh memory on each call.
    """
    if buffers is None or math.prod(shape) * np.dtype(dtype).itemsize < SCRATCH_FROM:
        return np.empty(shape, dtype)
    a = buffers.get(key)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = buffers[key] = np.empty(shape, dtype)
    return a


def _times_transposed(W, h, buffers, key):
    """(W hᵀ)ᵀ, (n, out) with the examples as columns, written into scratch(buffers, key) when h is dense
    and the product large enough to be worth keeping."""
    small = W.shape[0] * h.shape[0] * np.result_type(W, h).itemsize < SCRATCH_FROM
    if buffers is None or small or not isinstance(h, np.ndarray):     # scipy.sparse x: its own product
        return (W @ h.T).T
    out = scratch(buffers, key + (h.shape[0],), (W.shape[0], h.shape[0]), np.result_type(W, h))
    return np.matmul(W, h.T, out=out).T


def forward(net, x, buffers=None):
    """Forward propagation without input checks: x is (n, d) in net's dtype.  Returns the cache.

    buffers: a dict to keep z and h in between calls (see scratch); the cache's arrays are then
    overwritten by the next call with the same dict.
    """
    cache = ForwardCache(x)
    h = x
    L = net.n_layers
    kernels = _kernels.for_size(x.shape[0] * max(net.layer_sizes[1:]))
    relu_kernel = kernels is not None and net.activation == "relu"
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        z = _times_transposed(W, h, buffers, ("z", l))    # z = W h + b, the examples as columns ...
        if l < L and relu_kernel:
            h = scratch(buffers, ("h", l, len(z)), z.T.shape, z.dtype).T
            kernels["bias_relu"](z.T, b, h.T)          # ... + b, and h = relu(z), in one pass
        else:
            z += b                                     # ... seen as rows again
            if l < L:
                h = net.act(z)                         # h = act(z)
        cache.z.append(z)
        if l < L:
            cache.h.append(h)
    cache.y_hat = net.output(z)                        # ŷ = softmax(z⁽ᴸ⁾)  (identity for mse)
    return cache


def logits(net, x, buffers=None):
    """z⁽ᴸ⁾ for x (n, d) in net's dtype: forward() for scoring, keeping no cache for a backward pass,
    so each hidden layer's activation overwrites its z (one array, and no copy, per layer)."""
    h = x
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        z = _times_transposed(W, h, buffers, ("z", l))    # z = W h + b
        z += b
        if l < net.n_layers:
            h = np.maximum(z, 0, out=z) if net.activation == "relu" else net.act(z)    # h = act(z)
    return z


def deltas(net, cache, Y, buffers=None):
    """δ⁽ˡ⁾ = ∂f/∂z⁽ˡ⁾ for l = 1 … L, one row per example, each already divided by n.

    Y: dense targets (n, c) in net's dtype.  The lecture's ŷ − y is δ⁽ᴸ⁾ and its g is δ⁽¹⁾.
    buffers: as forward's, for the hidden layers' δ.
    """
    n = cache.x.shape[0]
    kernels = _kernels.for_size(n * max(net.layer_sizes[1:]))
    out = [None] * net.n_layers
    delta = cache.y_hat - Y                            # δ = ŷ − y ...
    delta /= n                                         # ... divided by n: f is a mean over the minibatch
    out[-1] = delta
    for l in reversed(range(1, net.n_layers)):
        delta = _times_transposed(net.weights[l].T, delta, buffers, ("delta", l))   # g = (Wᵀ δ) ⊙ act'(z),
        z = cache.z[l - 1]                             # ... columns as in forward
        if net.activation != "relu":
            delta *= net.act_prime(z)
        elif kernels is not None:
            kernels["relu_backward"](delta.T, z.T)     # one pass
        else:
            delta *= z > 0                             # relu'(z), without a float copy of the mask
        out[l - 1] = delta
    return out


def gradients_from_deltas(deltas, inputs, weights, l2=0.0, out=None):
    """Gradients from each layer's δ (divided by n) and its input h (h⁽⁰⁾ = x): ∇W = δᵀh + l2·W, ∇b = Σδ.

    out: arrays shaped like the weights to write ∇W into (new ones when None).
    """
    grad_W, grad_b = [], []
    for l, (delta, h, W) in enumerate(zip(deltas, inputs, weights)):
        gW = gemm_tn(delta, h, np.empty_like(W) if out is None else out[l])    # ∇W = δᵀh
        if l2:
            axpy(l2, W, gW)                            # ... + l2·W, the gradient of (l2/2)‖W‖²
        grad_W.append(gW)
        grad_b.append(delta.sum(axis=0))               # ∇b = Σ δ
    return Gradients(weights=grad_W, biases=grad_b)


def train_step(net, optimizer, x, Y, lr, l2=0.0, params=None):
    """One minibatch of training: forward, backward (each layer's δ), the optimizer's update.

    x: (n, d) in net's dtype; Y: dense targets (n, c) in net's dtype.  params: net.parameters(),
    passed by callers that keep the list.  Returns the forward cache (ŷ, logits for the loss).
    optimizer: any registered Optimizer (optimizers.py): it owns the update.
    """
    cache = forward(net, x)                                        # forward propagation
    optimizer.update_from_deltas(params or net.parameters(), deltas(net, cache, Y), [x] + cache.h, lr, l2)
    return cache


def score(cache, labels, kernels=None):
    """(mean cross-entropy, number correct) of a softmax network's minibatch, from its forward cache
    and integer labels: what training reports after each step, f = −(1/n) Σᵢ log ŷᵢ[labelᵢ].

    kernels: _kernels.get(), for one compiled pass instead of a dozen NumPy calls (the Trainer
    passes it for a training set large enough that the calls saved pay for loading Numba).
    """
    if kernels is not None:
        total, correct = kernels["score"](cache.z[-1], cache.y_hat, labels)
        return total / len(labels), correct
    return cross_entropy(cache.z[-1], labels, cache.y_hat), int((cache.y_hat.argmax(axis=1) == labels).sum())


def data_loss(net, cache, Y):
    """The mean data loss of a forward cache against dense targets Y (n, c), without L2 or checks."""
    return net.data_loss(cache.z[-1], Y)
