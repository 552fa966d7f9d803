"""The training step's fast path: network.py's numbers, computed the way that is quick on a CPU.

``train_step(net, optimizer, x, Y, lr, l2)`` is one minibatch of training, used by ``netprop
train``, tune and the scikit-learn estimators: forward propagation, each layer's δ, and the
optimizer's update.  It computes what ``Network.forward``, ``Network.backward`` and
``optimizer.step`` compute (tests/test_fast.py holds them equal to rounding for every optimizer),
with three differences that only change speed:

- Memory layout.  The products are computed as W hᵀ, so every array of the cache is column-major:
  the lecture's layout, one example per column, though each is still indexed (n, out).  For
  784-1024 with a minibatch of 128 OpenBLAS runs that product about a fifth faster than h Wᵀ,
  and keeping every array of the backward pass in one order keeps the element-wise steps
  contiguous.
- The 1/n of the mean is folded into δ of the output layer (a (n, c) array, the smallest), so that
  every later product already carries it.
- ∇W = δᵀh is never formed on its own where the update can take it inside the product: SGD adds
  it straight into W, momentum into its velocity, through BLAS's gemm with β (see _blas).  The
  other optimizers form ∇W with one gemm into scratch memory and update in cache-sized blocks.
"""

from __future__ import annotations

import math

import numpy as np

from ._blas import axpy, gemm_tn
from ..core.network import ForwardCache, Gradients
from . import _kernels
from .optimizers import SGD, Adam


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


def update(optimizer, params, deltas, inputs, lr, l2=0.0):
    """optimizer.step(params, ∇θ, lr) for the gradients backward() would give, formed from δ and h.

    params: [W1, b1, W2, b2, …]; deltas[l], inputs[l]: layer l's δ (from deltas()) and input h.
    """
    if isinstance(optimizer, SGD) and not optimizer.nesterov:
        return _sgd_update(optimizer, params, deltas, inputs, lr, l2)
    grads = gradients_from_deltas(deltas, inputs, params[0::2], l2, out=_gradient_buffers(optimizer, params))
    if isinstance(optimizer, Adam) and _kernels.for_size(max(p.size for p in params)) is not None:
        return _adam_update(optimizer, params, grads.weights_and_biases(), lr)
    optimizer.step(params, grads.weights_and_biases(), lr)


def _gradient_buffers(optimizer, params):
    """Arrays for ∇W kept with the optimizer between steps: a new 1.6 MB array every minibatch
    costs the kernel's page faults and zeroing each time."""
    buffers = getattr(optimizer, "fast_gradient_buffers", None)
    if buffers is None or any(g.shape != W.shape or g.dtype != W.dtype for g, W in zip(buffers, params[0::2])):
        buffers = optimizer.fast_gradient_buffers = [np.empty_like(W) for W in params[0::2]]
    return buffers


def _adam_update(optimizer, params, grads, lr):
    """Adam.step's arithmetic as one compiled pass per parameter (see _kernels)."""
    step_size, eps = optimizer.next_step(lr)
    kind = params[0].dtype.type                        # constants in the arrays' precision, as NumPy uses them
    b1, b2 = optimizer.beta1, optimizer.beta2
    constants = [kind(c) for c in (b1, 1 - b1, b2, 1 - b2, step_size, eps)]
    for p, g, m, v in zip(params, grads, optimizer.m, optimizer.v):
        _kernels.get()["adam"](p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), *constants)


def _sgd_update(optimizer, params, deltas, inputs, lr, l2):
    """SGD and momentum with ∇W = δᵀh formed inside the update by BLAS.

    Plain SGD:  W ← (1 − lr·l2)·W − lr·δᵀh, one product written straight into W.
    Momentum:   v ← μ·v + δᵀh in the product, v ← v + l2·W, W ← W − lr·v: one pass after it.
    """
    mu = optimizer.momentum
    for l, (delta, h) in enumerate(zip(deltas, inputs)):
        W, b = params[2 * l], params[2 * l + 1]
        grad_b = delta.sum(axis=0)                                 # ∇b = Σ δ
        if not mu:
            gemm_tn(delta, h, W, alpha=-lr, beta=1 - lr * l2)      # W ← W − lr·(δᵀh + l2·W)
            b -= lr * grad_b                                       # b ← b − lr·∇b
            continue
        vW, vb = optimizer.velocity[2 * l], optimizer.velocity[2 * l + 1]
        gemm_tn(delta, h, vW, alpha=1.0, beta=mu)                  # v ← μ v + δᵀh ...
        if l2:
            axpy(l2, W, vW)                                        # ... + l2·W
        axpy(-lr, vW, W)                                           # W ← W − lr·v
        vb *= mu
        vb += grad_b                                               # v_b ← μ v_b + ∇b
        axpy(-lr, vb, b)                                           # b ← b − lr·v_b


def train_step(net, optimizer, x, Y, lr, l2=0.0, params=None):
    """One minibatch of training: forward, backward (each layer's δ), the optimizer's update.

    x: (n, d) in net's dtype; Y: dense targets (n, c) in net's dtype.  params: net.parameters(),
    passed by callers that keep the list.  Returns the forward cache (ŷ, logits for the loss).
    """
    cache = forward(net, x)                                        # forward propagation
    update(optimizer, params or net.parameters(), deltas(net, cache, Y), [x] + cache.h, lr, l2)
    return cache


def data_loss(net, cache, Y):
    """The mean data loss of a forward cache against dense targets Y (n, c), without L2 or checks."""
    return net.data_loss(cache.z[-1] if net.loss_name == "cross_entropy" else cache.y_hat, Y)
