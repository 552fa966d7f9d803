"""Hidden activations, each with its derivative beside it.

Each hidden activation is a pair (act, act_prime) defined side by side, so the derivative the
backward pass uses sits next to the function the forward pass used.  ``act_prime`` takes the
pre-activation z, as in the lecture's relu'(z).
"""

from __future__ import annotations

import numpy as np



def relu(z):
    return np.maximum(z, 0)


def relu_prime(z):
    # relu'(0) is taken as 0, as PyTorch does; the kink is a set of measure zero.
    return (z > 0).astype(z.dtype)


LEAKY_SLOPE = 0.01


def leaky_relu(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_prime(z):
    return np.where(z > 0, 1, LEAKY_SLOPE).astype(z.dtype)


def tanh(z):
    return np.tanh(z)


def tanh_prime(z):
    t = np.tanh(z)
    return 1 - t * t


def sigmoid(z):
    # 0.5·(1 + tanh(z/2)) is σ(z) exactly and never overflows, unlike 1/(1+e^-z).
    return 0.5 * (1 + np.tanh(0.5 * z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def identity_activation(z):
    # A linear hidden layer (scikit-learn's "identity"): a bottleneck with no non-linearity.
    return z


def identity_activation_prime(z):
    return np.ones_like(z)


ACTIVATIONS = {
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "tanh": (tanh, tanh_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "identity": (identity_activation, identity_activation_prime),
}
