"""Optimizers (SGD, momentum, Nesterov, Adam), their registry by name, and learning-rate schedules.

Each optimizer updates the parameter arrays in place and keeps its state as a list of arrays,
so that a checkpoint can save and restore it exactly.  The update rules are PyTorch's, so the
same hyper-parameters mean the same thing in netprop, in PyTorch and in the benchmarks.

Each optimizer owns its update in both forms:

- ``step(params, grads, lr)`` takes finished gradients, as ``Network.backward`` gives them: the
  reference.
- ``update_from_deltas(params, deltas, inputs, lr, l2)`` takes backprop's δ and each layer's input
  h instead, as the training step has them.  The default forms ∇W = δᵀh + l2·W and ∇b = Σδ and
  calls step(); SGD and momentum add ∇W straight into the weights or the velocity inside the
  matrix product, Adam runs one compiled pass per parameter.  tests/test_fast.py holds the two
  forms equal.

Adding an optimizer is one class: subclass Optimizer, give it a ``name``, write ``step`` (and
``state``/``load_state`` if it keeps any), and decorate it with ``@register``.  ``netprop train
--optimizer``, TrainConfig, the saved-run schema and the scikit-learn estimators' ``solver`` read
the registry.
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels
from ._blas import axpy, gemm_tn
from .step import gradients_from_deltas

OPTIMIZERS = {}
"""name → Optimizer class, in the order they were registered (sgd, momentum, nesterov, adam)."""

SCHEDULES = ("constant", "step", "cosine")

# An update makes several element-wise passes over each parameter.  Over W1 of a wide network each
# pass streams from main memory; run on blocks that stay in the CPU cache it costs less (measured
# in docs/design.md, "Performance notes").  Arrays that fit in cache anyway only pay the extra
# calls, so they are updated whole.  Element-wise arithmetic does not depend on the blocking: the
# results are bit-for-bit the same.
BLOCK = 1 << 16
BLOCKED_ABOVE = 1 << 18


def register(cls):
    """Class decorator: make an Optimizer subclass available by its ``name`` everywhere a name is read."""
    OPTIMIZERS[cls.name] = cls
    return cls


def _in_blocks(update, *arrays):
    """update(*blocks) over matching cache-sized blocks of same-shaped contiguous arrays."""
    if arrays[0].size <= BLOCKED_ABOVE or not all(a.flags.c_contiguous for a in arrays):
        update(*arrays)
        return
    flats = [a.reshape(-1) for a in arrays]
    for start in range(0, flats[0].size, BLOCK):
        update(*(f[start:start + BLOCK] for f in flats))


class Optimizer:
    """What every optimizer offers: its two updates, and state()/load_state() for checkpoints.

    params is always the flat list [W1, b1, W2, b2, …] (Network.parameters()).
    """

    name = None

    @classmethod
    def from_settings(cls, params, momentum=0.9):
        """The optimizer for a run's settings (TrainConfig.momentum is read only by those that use it)."""
        return cls(params)

    def step(self, params, grads, lr):
        """Update params in place from finished gradients (same shapes); grads may be overwritten."""
        raise NotImplementedError

    def update_from_deltas(self, params, deltas, inputs, lr, l2=0.0):
        """step(params, ∇θ, lr) for the gradients backward() would give, formed from δ and h.

        deltas[l]: layer l+1's δ (n, out), already divided by n; inputs[l]: its input h (n, in), x first.
        """
        grads = gradients_from_deltas(deltas, inputs, params[0::2], l2, out=self._gradient_buffers(params))
        self.step(params, grads.weights_and_biases(), lr)

    def _gradient_buffers(self, params):
        """Arrays for ∇W kept between steps: a new 1.6 MB array every minibatch costs the kernel's page
        faults and zeroing each time."""
        buffers = getattr(self, "_weight_gradients", None)
        if buffers is None or any(g.shape != W.shape or g.dtype != W.dtype for g, W in zip(buffers, params[0::2])):
            buffers = self._weight_gradients = [np.empty_like(W) for W in params[0::2]]
        return buffers

    def state(self):
        """The arrays a checkpoint saves (name → array); none for a stateless optimizer."""
        return {}

    def load_state(self, arrays):
        """Restore what state() returned."""


@register
class SGD(Optimizer):
    """θ ← θ − lr·g;  with momentum μ:  v ← μ v + g,  θ ← θ − lr·v;  Nesterov: θ ← θ − lr·(g + μ v)."""

    name = "sgd"

    def __init__(self, params, momentum=0.0, nesterov=False):
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p) for p in params] if self.momentum else []
        # Scratch space for step(), so the update allocates nothing: it runs once per minibatch
        # and each pass over W1 costs as much as a small matrix product.  Made on step()'s first
        # use: update_from_deltas (training without Nesterov) needs none.
        self._scratch = None

    def step(self, params, grads, lr):
        """Update params in place; grads are consumed (overwritten)."""
        mu = self.momentum

        def plain(p, g):
            g *= lr
            p -= g                                       # θ ← θ − lr·g

        def momentum(p, g, v, tmp):
            v *= mu
            v += g                                       # v ← μ v + g
            np.multiply(v, lr, out=tmp)
            p -= tmp                                     # θ ← θ − lr·v

        def nesterov(p, g, v, tmp):
            v *= mu
            v += g                                       # v ← μ v + g
            np.multiply(v, mu, out=tmp)
            g += tmp
            g *= lr
            p -= g                                       # θ ← θ − lr·(g + μ v)

        if not mu:
            for p, g in zip(params, grads):
                _in_blocks(plain, p, g)
            return
        update = nesterov if self.nesterov else momentum
        if self._scratch is None:
            self._scratch = [np.empty_like(p) for p in params]
        for p, g, v, tmp in zip(params, grads, self.velocity, self._scratch):
            _in_blocks(update, p, g, v, tmp)

    def update_from_deltas(self, params, deltas, inputs, lr, l2=0.0):
        """SGD and momentum with ∇W = δᵀh formed inside the update by BLAS's gemm with β (see _blas).

        Plain SGD:  W ← (1 − lr·l2)·W − lr·δᵀh, one product written straight into W.
        Momentum:   v ← μ·v + δᵀh in the product, v ← v + l2·W, W ← W − lr·v: one pass after it.
        Nesterov needs g and v apart, so it forms the gradients first (the base class's update).
        """
        if self.nesterov:
            return super().update_from_deltas(params, deltas, inputs, lr, l2)
        mu = self.momentum
        for l, (delta, h) in enumerate(zip(deltas, inputs)):
            W, b = params[2 * l], params[2 * l + 1]
            grad_b = delta.sum(axis=0)                                 # ∇b = Σ δ
            if not mu:
                gemm_tn(delta, h, W, alpha=-lr, beta=1 - lr * l2)      # W ← W − lr·(δᵀh + l2·W)
                b -= lr * grad_b                                       # b ← b − lr·∇b
                continue
            vW, vb = self.velocity[2 * l], self.velocity[2 * l + 1]
            gemm_tn(delta, h, vW, alpha=1.0, beta=mu)                  # v ← μ v + δᵀh ...
            if l2:
                axpy(l2, W, vW)                                        # ... + l2·W
            axpy(-lr, vW, W)                                           # W ← W − lr·v
            vb *= mu
            vb += grad_b                                               # v_b ← μ v_b + ∇b
            axpy(-lr, vb, b)                                           # b ← b − lr·v_b

    def state(self):
        return {f"velocity.{i}": v for i, v in enumerate(self.velocity)}

    def load_state(self, arrays):
        for i, v in enumerate(self.velocity):
            v[...] = arrays[f"velocity.{i}"]


@register
class Momentum(SGD):
    """SGD with heavy-ball momentum μ (TrainConfig.momentum, 0.9 by default): v ← μ v + g,  θ ← θ − lr·v."""

    name = "momentum"

    def __init__(self, params, momentum=0.9):
        super().__init__(params, momentum=momentum)

    @classmethod
    def from_settings(cls, params, momentum=0.9):
        return cls(params, momentum)


@register
class Nesterov(SGD):
    """SGD with Nesterov momentum μ, as PyTorch writes it: v ← μ v + g,  θ ← θ − lr·(g + μ v)."""

    name = "nesterov"

    def __init__(self, params, momentum=0.9):
        super().__init__(params, momentum=momentum, nesterov=True)

    @classmethod
    def from_settings(cls, params, momentum=0.9):
        return cls(params, momentum)


@register
class Adam(Optimizer):
    """m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − lr·m̂ / (√v̂ + ε), with bias correction."""

    name = "adam"

    def __init__(self, params, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]
        self.t = 0

    def next_step(self, lr):
        """Count one more step; return (step_size, eps) that fold the bias corrections in.

        With c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ, lr·m̂/(√v̂ + ε) = (lr·√c2/c1)·m/(√v + ε·√c2): the
        corrections of m̂ = m/c1 and v̂ = v/c2 become two scalars.
        """
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        rc2 = math.sqrt(1 - self.beta2 ** self.t)
        return lr * rc2 / c1, self.eps * rc2

    def step(self, params, grads, lr):
        """Update params in place; grads are consumed (overwritten)."""
        b1, b2 = self.beta1, self.beta2
        step_size, eps = self.next_step(lr)

        def update(p, g, m, v, tmp):
            np.multiply(g, 1 - b1, out=tmp)
            m *= b1
            m += tmp                                     # m ← β1 m + (1−β1) g
            g *= g
            g *= 1 - b2
            v *= b2
            v += g                                       # v ← β2 v + (1−β2) g²
            np.sqrt(v, out=tmp)
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp                                     # θ ← θ − lr·m̂/(√v̂ + ε)

        for p, g, m, v, tmp in zip(params, grads, self.m, self.v, self._scratch):
            _in_blocks(update, p, g, m, v, tmp)

    def update_from_deltas(self, params, deltas, inputs, lr, l2=0.0):
        """step()'s arithmetic as one compiled pass per parameter where Numba is there (see _kernels);
        without it, the base class's update (∇θ formed, then step())."""
        if _kernels.for_size(max(p.size for p in params)) is None:
            return super().update_from_deltas(params, deltas, inputs, lr, l2)
        grads = gradients_from_deltas(deltas, inputs, params[0::2], l2, out=self._gradient_buffers(params))
        step_size, eps = self.next_step(lr)
        kind = params[0].dtype.type                    # constants in the arrays' precision, as NumPy uses them
        b1, b2 = self.beta1, self.beta2
        constants = [kind(c) for c in (b1, 1 - b1, b2, 1 - b2, step_size, eps)]
        adam = _kernels.get()["adam"]
        for p, g, m, v in zip(params, grads.weights_and_biases(), self.m, self.v):
            adam(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), *constants)

    def state(self):
        arrays = {f"m.{i}": m for i, m in enumerate(self.m)}
        arrays.update({f"v.{i}": v for i, v in enumerate(self.v)})
        arrays["t"] = np.array([self.t], dtype=np.int64)
        return arrays

    def load_state(self, arrays):
        for i in range(len(self.m)):
            self.m[i][...] = arrays[f"m.{i}"]
            self.v[i][...] = arrays[f"v.{i}"]
        self.t = int(arrays["t"][0])


def make_optimizer(name, params, momentum=0.9):
    """The registered optimizer called name, over params [W1, b1, …]; momentum for those that use it."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name].from_settings(params, momentum=momentum)


def learning_rate(schedule, lr, step, total_steps, steps_per_epoch, step_epochs=10, gamma=0.1):
    """The learning rate at a global step (0-based).

    constant: lr.  step: lr·γ^⌊epoch / step_epochs⌋.  cosine: lr·½(1 + cos(π·step/total_steps)),
    annealed per minibatch from lr to 0 over the whole run.
    """
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * gamma ** (step // (steps_per_epoch * step_epochs))
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
