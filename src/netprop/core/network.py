"""The fully-connected network: parameters, forward propagation, backward propagation.

The lecture's 3-layer network, one example x as a column vector::

    z  = W1 x + b1
    h  = relu(z)
    ŷ  = softmax(W2 h + b2)
    f  = -Σ_k y_k log ŷ_k

and its gradients, from the cached z, h, ŷ (no second forward pass)::

    ∇W2 = (ŷ − y) hᵀ      ∇b2 = ŷ − y
    gᵀ  = ((ŷ − y)ᵀ W2) ⊙ relu'(zᵀ)
    ∇W1 = g xᵀ            ∇b1 = g

Deeper nets repeat the middle line once per hidden layer.  A minibatch of n examples is stacked as
the rows of x (n, d): each line below is the lecture's line for every row at once, and the loss is
the mean over the rows.  This module is the reference; fast.py computes the same numbers for
training with the memory layout and fused updates that make it quick.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import validation
from .activations import ACTIVATIONS
from .losses import LOSSES
from .initialisation import INITS, initial_parameters


@dataclass
class ForwardCache:
    """What backward propagation needs from the forward pass.

    x:      the input, (n, d) or (d,) for one example
    z:      pre-activations z⁽¹⁾ … z⁽ᴸ⁾, one per weight matrix, each (n, out) or (out,)
    h:      hidden activations h⁽¹⁾ … h⁽ᴸ⁻¹⁾, one per hidden layer
    y_hat:  the output ŷ, (n, c) or (c,)
    """

    x: np.ndarray
    z: list = field(default_factory=list)
    h: list = field(default_factory=list)
    y_hat: np.ndarray = None

    def row(self, i):
        """The cache of example i alone, every array 1-D (the lecture's column vectors)."""
        return ForwardCache(self.x[i], [z[i] for z in self.z], [h[i] for h in self.h], self.y_hat[i])

    def rows(self):
        """This cache with every array 2-D: one example's cache as a minibatch of one."""
        if np.ndim(self.x) == 2:
            return self
        return ForwardCache(self.x[None], [z[None] for z in self.z], [h[None] for h in self.h],
                            self.y_hat[None])


@dataclass
class Gradients:
    """Gradients shaped like the parameters: weights[l] like Network.weights[l]."""

    weights: list
    biases: list

    def weights_and_biases(self):
        """[∇W1, ∇b1, ∇W2, ∇b2, …], the order of Network.parameters()."""
        return [g for gW, gb in zip(self.weights, self.biases) for g in (gW, gb)]

    def named(self):
        """{"W1": ∇W1, "b1": ∇b1, "W2": …} in the lecture's order."""
        return {f"{p}{l}": g for l, (gW, gb) in enumerate(zip(self.weights, self.biases), start=1)
                for p, g in (("W", gW), ("b", gb))}


class Network:
    """A fully-connected network with the lecture's forward and backward propagation.

    Parameters
    ----------
    layer_sizes : list of int
        ``[d, m, c]`` is the lecture's 3-layer network (d inputs, m hidden units, c outputs);
        ``[d, m1, m2, c]`` adds a hidden layer, and so on.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}
        The hidden layers' activation (leaky_relu has slope 0.01).
    loss : {"cross_entropy", "mse"}
        ``cross_entropy``: softmax output, mean cross-entropy.
        ``mse``: identity output, f = (1/2n) Σ ‖ŷ - y‖².
    seed : int or None
        Seed for the initial weights; the same seed gives the same numbers.
    dtype : "float64" or "float32"
        Precision of the parameters and of every computation.
    init : {"default", "course"}
        ``default``: He (relu, leaky_relu) or Glorot (tanh, sigmoid) weights, zero biases but
        0.01 on relu hidden layers.  ``course``: the course's exercise, W uniform in
        ±1/√fan_in and every bias 0.01 (netprop.teaching.course converts its flat vectors).

    Attributes
    ----------
    weights : list of ndarray
        ``weights[l]`` has shape ``(layer_sizes[l+1], layer_sizes[l])``: (out, in), the lecture's W.
    biases : list of ndarray
        ``biases[l]`` has shape ``(layer_sizes[l+1],)``.  Both lists are assignable.
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy", seed=None, dtype="float64",
                 init="default"):
        self.layer_sizes = validation.layer_sizes(layer_sizes)
        self.activation = validation.choice(activation, ACTIVATIONS, "activation")
        self.loss_name = validation.choice(loss, LOSSES, "loss")
        self.dtype = validation.dtype(dtype)
        self.act, self.act_prime = ACTIVATIONS[activation]
        self.output, self.data_loss = LOSSES[loss]
        self.init = validation.choice(init, INITS, "init")
        self.seed = seed
        self.weights, self.biases = initial_parameters(self.layer_sizes, activation, init, seed, self.dtype)

    # --- parameters -------------------------------------------------------------------

    @property
    def n_layers(self):
        """L, the number of weight matrices (the lecture's 3-layer network has L = 2)."""
        return len(self.layer_sizes) - 1

    @property
    def n_parameters(self):
        return sum(W.size + b.size for W, b in zip(self.weights, self.biases))

    def parameters(self):
        """[W1, b1, W2, b2, …]: the arrays themselves (updated in place by training)."""
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b)]

    def parameter_names(self):
        """["W1", "b1", "W2", "b2", …], the order of parameters() and pack()."""
        return [f"{p}{l}" for l in range(1, self.n_layers + 1) for p in ("W", "b")]

    def named_parameters(self):
        """{"W1": W1, "b1": b1, …} (the arrays themselves, not copies)."""
        return dict(zip(self.parameter_names(), self.parameters()))

    def pack(self):
        """All parameters as one flat vector: W1, b1, W2, b2, … each row-major."""
        return np.concatenate([p.ravel() for p in self.parameters()])

    def unpack(self, vector):
        """Set every parameter from a flat vector laid out as pack() returns it."""
        vector = np.asarray(vector)
        if vector.ndim != 1 or vector.size != self.n_parameters:
            raise ValueError(f"unpack expects a flat vector of {self.n_parameters} values, got shape {vector.shape}")
        offset = 0
        for l in range(self.n_layers):
            for params in (self.weights, self.biases):
                size = params[l].size
                params[l] = vector[offset:offset + size].reshape(params[l].shape).astype(self.dtype)
                offset += size

    def copy(self, dtype=None):
        """An independent copy of this network, optionally in another dtype."""
        other = Network.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.dtype = validation.dtype(dtype) if dtype is not None else self.dtype
        other.weights = [W.astype(other.dtype, copy=True) for W in self.weights]
        other.biases = [b.astype(other.dtype, copy=True) for b in self.biases]
        return other

    def __repr__(self):
        return (f"Network({self.layer_sizes}, activation={self.activation!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name!r})")

    def targets(self, y, n):
        """Dense targets Y (n, c) in this network's dtype from labels, one-hot rows or real targets."""
        return validation.targets(y, n, self.layer_sizes[-1], self.loss_name, self.dtype)

    # --- forward propagation ----------------------------------------------------------

    def forward(self, x):
        """Forward propagation; returns the cache (x, z, h, y_hat) that backward needs.

        x: (n, d) with one example per row, or (d,) for one example (the lecture's x).
        """
        validation.parameters(self)
        x = validation.inputs(x, self.layer_sizes[0], self.dtype)
        if x.ndim == 1:
            return self.forward(x[None]).row(0)
        cache = ForwardCache(x)
        h = x
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            z = h @ W.T + b                           # z = W h + b, for every example (row) of h
            cache.z.append(z)
            if l < self.n_layers:
                h = self.act(z)                       # h = act(z)
                cache.h.append(h)
        cache.y_hat = self.output(z)                  # ŷ = softmax(z⁽ᴸ⁾)  (identity for mse)
        return cache

    def predict_proba(self, x):
        """ŷ for each row of x: class probabilities (cross-entropy) or outputs (mse)."""
        return self.forward(x).y_hat

    def predict(self, x):
        """The most probable class for each row of x."""
        return np.argmax(self.predict_proba(x), axis=-1)

    # --- loss ---------------------------------------------------------------------------

    def l2_penalty(self, l2):
        """(l2/2)·Σ_l ‖W_l‖²_F; biases are not penalised."""
        return 0.5 * l2 * sum(float(np.vdot(W, W)) for W in self.weights) if l2 else 0.0

    def loss_from_cache(self, cache, y, l2=0.0):
        """The loss of a forward cache (no new forward pass): mean data loss + L2 penalty."""
        cache = cache.rows()
        Y = self.targets(y, cache.x.shape[0])
        data = self.data_loss(cache.z[-1] if self.loss_name == "cross_entropy" else cache.y_hat, Y)
        return data + self.l2_penalty(validation.l2(l2))

    def loss(self, x, y, l2=0.0):
        """f = mean loss over the examples + (l2/2)·Σ_l ‖W_l‖²_F.

        x: (n, d) or (d,); y: labels (n,) or one-hot (n, c) for cross-entropy, real targets (n, c) for mse.
        """
        validation.l2(l2)
        return self.loss_from_cache(self.forward(x), y, l2)

    # --- backward propagation -----------------------------------------------------------

    def backward(self, cache, y, l2=0.0):
        """Backward propagation: the exact gradient of ``loss`` from a forward cache.

        Uses the lecture's formulas on the cached z, h, ŷ; runs no second forward pass.
        Returns Gradients with ``.weights`` and ``.biases`` shaped like the parameters.
        """
        validation.l2(l2)
        cache = cache.rows()
        n = cache.x.shape[0]
        Y = self.targets(y, n)
        h = [cache.x] + cache.h                       # h⁽⁰⁾ = x: the input of every layer
        grad_W, grad_b = [None] * self.n_layers, [None] * self.n_layers
        delta = cache.y_hat - Y                       # ŷ − y: δ of the output layer, one row per example
        for l in reversed(range(self.n_layers)):
            grad_W[l] = delta.T @ h[l] / n + l2 * self.weights[l]   # ∇W = δ hᵀ (g xᵀ at the first layer), + l2·W
            grad_b[l] = delta.mean(axis=0)                          # ∇b = δ (g at the first layer)
            if l > 0:
                delta = (delta @ self.weights[l]) * self.act_prime(cache.z[l - 1])  # gᵀ = (δᵀ W) ⊙ act'(zᵀ)
        return Gradients(grad_W, grad_b)

    def gradients(self, x, y, l2=0.0):
        """Forward, then backward: (loss, Gradients) for x and y."""
        cache = self.forward(x)
        return self.loss_from_cache(cache, y, l2), self.backward(cache, y, l2)
