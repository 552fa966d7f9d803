"""Initial weights and biases: the schemes a Network can start from, drawn with a seeded generator."""

from __future__ import annotations

import numpy as np

INITS = ("default", "course")


def initial_parameters(layer_sizes, activation, init, seed, dtype):
    """(weights, biases) for a network of layer_sizes: weights[l] (out, in), biases[l] (out,).

    default: He (relu, leaky_relu) or Glorot (tanh, sigmoid) weights; biases 0, but 0.01 on
    relu hidden layers.  course: the course's exercise, W uniform in ±1/√fan_in, every bias 0.01.
    The same seed gives the same numbers.
    """
    rng = np.random.default_rng(seed)
    L = len(layer_sizes) - 1
    relu_like = activation in ("relu", "leaky_relu")
    weights, biases = [], []
    for l, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        if init == "course":
            limit = 1.0 / np.sqrt(fan_in)
            W = rng.uniform(-limit, limit, size=(fan_out, fan_in))
            b = np.full(fan_out, 0.01)
        else:
            if relu_like:
                # He: Var(W) = 2/fan_in keeps the variance of z constant through relu layers.
                W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
            else:
                # Glorot: uniform with Var(W) = 2/(fan_in + fan_out), for tanh and sigmoid.
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                W = rng.uniform(-limit, limit, size=(fan_out, fan_in))
            # A small positive bias starts every hidden relu unit in its active region, so that
            # relu'(z) = 1 and gradient flows through it from the first step; a unit whose z is
            # negative for every example gets no gradient and may never recover.
            b = np.full(fan_out, 0.01 if relu_like and l < L else 0.0)
        weights.append(W.astype(dtype))
        biases.append(b.astype(dtype))
    return weights, biases
