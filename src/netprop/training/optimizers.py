"""Optimizers (SGD, momentum, Nesterov, Adam) and learning-rate schedules.

Each optimizer updates the parameter arrays in place and keeps its state as a list of arrays,
so that a checkpoint can save and restore it exactly.  The update rules are PyTorch's, so the
same hyper-parameters mean the same thing in netprop, in PyTorch and in the benchmarks.

step() takes finished gradients, as backward() gives them: this is the reference.  Training calls
fast.update() instead, which forms the gradients from backprop's δ and h and, for SGD and
momentum, adds them into the weights or the velocity inside the matrix product; tests hold the
two equal.
"""

from __future__ import annotations

import math

import numpy as np


OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
SCHEDULES = ("constant", "step", "cosine")

# An update makes several element-wise passes over each parameter.  Over W1 of a wide network
# (1.6 MB at 784×512) each pass streams from main memory; run on blocks that stay in the CPU
# cache, Adam's twelve passes cost about a third less.  Arrays that fit in cache anyway (W1 at
# 784×128) only pay the extra calls, so they are updated whole.  Element-wise arithmetic does not
# depend on the blocking: the results are bit-for-bit the same.
BLOCK = 1 << 16
BLOCKED_ABOVE = 1 << 18


def _in_blocks(update, *arrays):
    """update(*blocks) over matching cache-sized blocks of same-shaped contiguous arrays."""
    if arrays[0].size <= BLOCKED_ABOVE or not all(a.flags.c_contiguous for a in arrays):
        update(*arrays)
        return
    flats = [a.reshape(-1) for a in arrays]
    for start in range(0, flats[0].size, BLOCK):
        update(*(f[start:start + BLOCK] for f in flats))


class Optimizer:
    """What every optimizer offers: step() on finished gradients, state() and load_state() for checkpoints."""

    def step(self, params, grads, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """θ ← θ − lr·g;  with momentum μ:  v ← μ v + g,  θ ← θ − lr·v;  Nesterov: θ ← θ − lr·(g + μ v)."""

    def __init__(self, params, momentum=0.0, nesterov=False):
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.velocity = [np.zeros_like(p) for p in params] if self.momentum else []
        # Scratch space for step(), so the update allocates nothing: it runs once per minibatch
        # and each pass over W1 costs as much as a small matrix product.  Made on step()'s first
        # use: fast.update (training without Nesterov) needs none.
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

    def state(self):
        return {f"velocity.{i}": v for i, v in enumerate(self.velocity)}

    def load_state(self, arrays):
        for i, v in enumerate(self.velocity):
            v[...] = arrays[f"velocity.{i}"]


class Adam(Optimizer):
    """m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − lr·m̂ / (√v̂ + ε), with bias correction."""

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
    if name == "sgd":
        return SGD(params)
    if name == "momentum":
        return SGD(params, momentum=momentum)
    if name == "nesterov":
        return SGD(params, momentum=momentum, nesterov=True)
    if name == "adam":
        return Adam(params)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


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
