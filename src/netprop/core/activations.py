"""Hidden activations, each one record: the function, its derivative beside it, and what else reads it.

An ``Activation`` holds everything netprop knows about one hidden activation, so that adding one is
one record here (and its tests): the forward pass's act(z), the backward pass's act'(z) (taking
the pre-activation z, as in the lecture's relu'(z)), the default initialisation it wants, its
name in LaTeX, and the other names it goes by (scikit-learn's "logistic").  The network, the
initialisation, the derivation's LaTeX, the scikit-learn estimators, the CLI, the live lecture and
the tests all read ``ACTIVATIONS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Activation:
    """One hidden activation.

    function(z), derivative(z): h = act(z) and act'(z), element-wise on arrays of any shape.
    init: the default initialisation's weights, "he" (Var(W) = 2/fan_in, for relu-like units) or
    "glorot" (uniform, Var(W) = 2/(fan_in + fan_out), for units symmetric about 0).
    hidden_bias: the default initialisation's bias on hidden layers (0.01 starts a relu-like unit
    in its active region, where act'(z) is not 0).
    latex: the name as the derivation's LaTeX sets it.  aliases: other names accepted for it.
    """

    name: str
    function: Callable
    derivative: Callable
    init: str
    hidden_bias: float
    latex: str
    aliases: tuple = ()


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


# GELU in its tanh form (Hendrycks & Gimpel; PyTorch's gelu(approximate="tanh")):
# gelu(z) = ½ z (1 + tanh u),  u = √(2/π) (z + 0.044715 z³).
_GELU_SCALE = math.sqrt(2 / math.pi)
_GELU_CUBIC = 0.044715


def gelu(z):
    return 0.5 * z * (1 + np.tanh(_GELU_SCALE * (z + _GELU_CUBIC * z * z * z)))


def gelu_prime(z):
    # d/dz of ½ z (1 + tanh u) = ½ (1 + tanh u) + ½ z (1 − tanh² u) u',  u' = √(2/π) (1 + 3·0.044715 z²)
    t = np.tanh(_GELU_SCALE * (z + _GELU_CUBIC * z * z * z))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * _GELU_SCALE * (1 + 3 * _GELU_CUBIC * z * z)


ACTIVATIONS = {a.name: a for a in (
    Activation("relu", relu, relu_prime, init="he", hidden_bias=0.01, latex=r"\operatorname{relu}"),
    Activation("leaky_relu", leaky_relu, leaky_relu_prime, init="he", hidden_bias=0.01,
               latex=r"\operatorname{leaky\_relu}"),
    Activation("tanh", tanh, tanh_prime, init="glorot", hidden_bias=0.0, latex=r"\operatorname{tanh}"),
    Activation("sigmoid", sigmoid, sigmoid_prime, init="glorot", hidden_bias=0.0,
               latex=r"\operatorname{sigmoid}", aliases=("logistic",)),
    Activation("identity", identity_activation, identity_activation_prime, init="glorot", hidden_bias=0.0,
               latex=r"\operatorname{identity}"),
    Activation("gelu", gelu, gelu_prime, init="he", hidden_bias=0.01, latex=r"\operatorname{GELU}"),
)}
"""name → Activation, in the order the CLI and the live lecture offer them."""


def activation_named(name):
    """The Activation called name or one of its aliases ("logistic" is sigmoid); KeyError if none."""
    for activation in ACTIVATIONS.values():
        if name == activation.name or name in activation.aliases:
            return activation
    raise KeyError(name)
