"""The fully-connected network: parameters, forward propagation, backward propagation.

The lecture's 3-layer network, one example x as a column vector::

    z  = W1 x + b1
    h  = relu(z)
    ŷ  = softmax(W2 h + b2)
    f  = -Σ_k y_k log ŷ_k

and its gradients, from the cached z, h, ŷ (no second forward pass)::

    ∇W2 = (ŷ - y) hᵀ      ∇b2 = ŷ - y
    gᵀ  = ((ŷ - y)ᵀ W2) ⊙ relu'(zᵀ)
    ∇W1 = g xᵀ            ∇b1 = g

Deeper nets repeat the middle line once per hidden layer.  A minibatch of n
examples is stacked as the rows of X (n, d), so the same lines read
Z = X W1ᵀ + b1 and ∇W1 = Gᵀ X; the loss is the mean over the minibatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .functions import ACTIVATIONS, LOSSES


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


@dataclass
class Gradients:
    """Gradients shaped like the parameters: weights[l] like Network.weights[l]."""

    weights: list
    biases: list

    def weights_and_biases(self):
        """[∇W1, ∇b1, ∇W2, ∇b2, …], the order of Network.pack()."""
        return [g for gW, gb in zip(self.weights, self.biases) for g in (gW, gb)]

    def named(self):
        """{"W1": ∇W1, "b1": ∇b1, "W2": …} in the lecture's order."""
        out = {}
        for l, (gW, gb) in enumerate(zip(self.weights, self.biases), start=1):
            out[f"W{l}"] = gW
            out[f"b{l}"] = gb
        return out


def _check_layer_sizes(layer_sizes):
    try:
        sizes = [int(s) for s in layer_sizes]
    except (TypeError, ValueError):
        raise ValueError(f"layer_sizes must be a list of integers, got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes needs at least 2 entries (inputs and outputs), got {len(sizes)}: {sizes}"
        )
    if any(s < 1 or s != float(t) for s, t in zip(sizes, layer_sizes)):
        raise ValueError(f"every layer size must be a positive integer, got {list(layer_sizes)}")
    return sizes


class Network:
    """A fully-connected network with the lecture's forward and backward propagation.

    Parameters
    ----------
    layer_sizes : list of int
        ``[d, m, c]`` is the lecture's 3-layer network (d inputs, m hidden
        units, c outputs); ``[d, m1, m2, c]`` adds a hidden layer, and so on.
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
        ±1/√fan_in and every bias 0.01 (netprop.course converts its flat vectors).

    Attributes
    ----------
    weights : list of ndarray
        ``weights[l]`` has shape ``(layer_sizes[l+1], layer_sizes[l])``: (out, in),
        the lecture's W.  Assignable.
    biases : list of ndarray
        ``biases[l]`` has shape ``(layer_sizes[l+1],)``.  Assignable.
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy", seed=None,
                 dtype="float64", init="default"):
        self.layer_sizes = _check_layer_sizes(layer_sizes)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise ValueError(f"unknown dtype {dtype!r}; use float32 or float64") from None
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.activation = activation
        self.loss_name = loss
        self.act, self.act_prime = ACTIVATIONS[activation]
        self.output, self.data_loss = LOSSES[loss]
        if init not in ("default", "course"):
            raise ValueError(f"unknown init {init!r}; choose default or course")
        self.seed = seed
        self.init = init
        self.weights, self.biases = self._initial_parameters(np.random.default_rng(seed))

    # --- parameters -----------------------------------------------------------

    def _initial_parameters(self, rng):
        weights, biases = [], []
        L = len(self.layer_sizes) - 1
        for l, (fan_in, fan_out) in enumerate(zip(self.layer_sizes[:-1], self.layer_sizes[1:])):
            if self.init == "course":
                # The course's exercise: uniform in ±1/√fan_in, every bias 0.01.
                limit = 1.0 / np.sqrt(fan_in)
                weights.append(rng.uniform(-limit, limit, size=(fan_out, fan_in)).astype(self.dtype))
                biases.append(np.full(fan_out, 0.01, dtype=self.dtype))
                continue
            if self.activation in ("relu", "leaky_relu"):
                # He: Var(W) = 2/fan_in keeps the variance of z constant through relu layers.
                W = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
            else:
                # Glorot: uniform with Var(W) = 2/(fan_in + fan_out), for tanh and sigmoid.
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                W = rng.uniform(-limit, limit, size=(fan_out, fan_in))
            b = np.zeros(fan_out)
            if l < L - 1 and self.activation in ("relu", "leaky_relu"):
                # A small positive bias starts every relu unit in its active region, so that
                # relu'(z) = 1 and gradient flows through it from the first step; a unit whose z
                # is negative for every example gets no gradient and may never recover.
                b[:] = 0.01
            weights.append(W.astype(self.dtype))
            biases.append(b.astype(self.dtype))
        return weights, biases

    @property
    def n_layers(self):
        """L, the number of weight matrices (the lecture's 3-layer network has L = 2)."""
        return len(self.layer_sizes) - 1

    @property
    def n_parameters(self):
        return sum(W.size + b.size for W, b in zip(self.weights, self.biases))

    def parameter_names(self):
        """["W1", "b1", "W2", "b2", …], the order of pack()."""
        return [f"{p}{l}" for l in range(1, self.n_layers + 1) for p in ("W", "b")]

    def named_parameters(self):
        """{"W1": W1, "b1": b1, …} (the arrays themselves, not copies)."""
        return dict(zip(self.parameter_names(), self._parameter_list()))

    def _parameter_list(self):
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b)]

    def pack(self):
        """All parameters as one flat vector: W1, b1, W2, b2, … each row-major."""
        return np.concatenate([p.ravel() for p in self._parameter_list()])

    def unpack(self, vector):
        """Set every parameter from a flat vector laid out as pack() returns it."""
        vector = np.asarray(vector)
        if vector.ndim != 1 or vector.size != self.n_parameters:
            raise ValueError(
                f"unpack expects a flat vector of {self.n_parameters} values, got shape {vector.shape}"
            )
        offset = 0
        for l in range(self.n_layers):
            for params in (self.weights, self.biases):
                shape = params[l].shape
                size = int(np.prod(shape))
                params[l] = vector[offset:offset + size].reshape(shape).astype(self.dtype)
                offset += size

    def copy(self, dtype=None):
        """An independent copy of this network, optionally in another dtype."""
        other = Network.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.dtype = np.dtype(dtype) if dtype is not None else self.dtype
        other.weights = [W.astype(other.dtype, copy=True) for W in self.weights]
        other.biases = [b.astype(other.dtype, copy=True) for b in self.biases]
        return other

    def __repr__(self):
        return (f"Network({self.layer_sizes}, activation={self.activation!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name!r})")

    # --- input checks ----------------------------------------------------------

    def check_parameters(self):
        """Raise ValueError if an assigned parameter has the wrong shape."""
        if len(self.weights) != self.n_layers or len(self.biases) != self.n_layers:
            raise ValueError(
                f"expected {self.n_layers} weight matrices and bias vectors, got "
                f"{len(self.weights)} and {len(self.biases)}"
            )
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            out, inp = self.layer_sizes[l], self.layer_sizes[l - 1]
            if np.shape(W) != (out, inp):
                raise ValueError(f"W{l} must have shape {(out, inp)}, got {np.shape(W)}")
            if np.shape(b) != (out,):
                raise ValueError(f"b{l} must have shape {(out,)}, got {np.shape(b)}")

    def _check_X(self, X):
        X = np.asarray(X)
        if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        d = self.layer_sizes[0]
        if X.ndim not in (1, 2):
            raise ValueError(f"X must be (n, {d}) or ({d},) for one example, got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X is empty: it has no examples")
        if X.shape[-1] != d:
            raise ValueError(f"X has {X.shape[-1]} features but the network expects {d}")
        X = X.astype(self.dtype, copy=False)
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values")
        return X

    def targets(self, y, n):
        """Dense targets Y of shape (n, c) in this network's dtype, from y as users give it.

        Cross-entropy: integer labels (n,) in 0..c-1, or one-hot rows (n, c); for one
        example also a single label or a one-hot vector (c,).  MSE: real targets (n, c),
        or (c,) for one example, or (n,) when c = 1.
        """
        c = self.layer_sizes[-1]
        y = np.asarray(y)
        if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            raise ValueError(f"y must be numeric, got dtype {y.dtype}")
        if y.ndim == 1 and n == 1 and y.shape == (c,) and c > 1:
            y = y[None, :]                         # the lecture's y for one example
        elif y.ndim == 0:
            y = y.reshape(1)
        if self.loss_name == "cross_entropy" and y.ndim == 1:
            return self._one_hot(y, n, c)
        if self.loss_name == "mse" and y.ndim == 1 and c == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape != (n, c):
            raise ValueError(f"y must have shape ({n}, {c}) for these {n} examples, got {y.shape}")
        Y = y.astype(self.dtype, copy=False)
        if not np.isfinite(Y).all():
            raise ValueError("y contains NaN or infinite values")
        if self.loss_name == "cross_entropy":
            if (Y < 0).any() or not np.allclose(Y.sum(axis=1), 1, atol=1e-6):
                raise ValueError("one-hot y must have non-negative rows that sum to 1")
        return Y

    def _one_hot(self, labels, n, c):
        if labels.shape[0] != n:
            raise ValueError(f"y has {labels.shape[0]} labels but X has {n} examples")
        if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            raise ValueError(f"labels in y must be integers 0..{c - 1}")
        labels = labels.astype(np.int64)
        bad = (labels < 0) | (labels >= c)
        if bad.any():
            raise ValueError(
                f"label {labels[bad][0]} is outside 0..{c - 1} (the network has {c} classes)"
            )
        return np.eye(c, dtype=self.dtype)[labels]

    # --- forward propagation -----------------------------------------------------

    def forward(self, X):
        """Forward propagation; returns the cache (x, z, h, y_hat) that backward needs.

        X: (n, d) with one example per row, or (d,) for one example (the lecture's x).
        """
        self.check_parameters()
        x = self._check_X(X)
        if x.ndim == 2:
            return self._forward(x)
        cache = self._forward(x[None, :])
        return ForwardCache(x=x, z=[z[0] for z in cache.z], h=[h[0] for h in cache.h],
                            y_hat=cache.y_hat[0])

    def _forward(self, x):
        """forward() without input checks: x is (n, d) in this network's dtype (the training hot path)."""
        cache = ForwardCache(x=x)
        h = x
        L = self.n_layers
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            z = (W @ h.T).T                      # z = W h + b: W times the examples as columns, ...
            z += b                               # ... seen as rows again (see the note below)
            cache.z.append(z)
            if l < L - 1:
                h = self.act(z)                  # h = act(z)
                cache.h.append(h)
        cache.y_hat = self.output(cache.z[-1])   # ŷ = softmax(z⁽ᴸ⁾) (identity for mse)
        return cache

    # A note on memory order.  The arrays in the cache are (n, out), one example per row, as users
    # index them; in memory each is column-major, the lecture's layout with one example per
    # column, because the products are computed as W hᵀ.  For 784-1024 with a minibatch of 128
    # that product is about a fifth faster in OpenBLAS than h Wᵀ, and keeping every array of the
    # backward pass in the same order keeps the element-wise steps contiguous.

    def predict_proba(self, X):
        """ŷ for each row of X: class probabilities (cross-entropy) or outputs (mse)."""
        return self.forward(X).y_hat

    def predict(self, X):
        """The most probable class for each row of X."""
        return np.argmax(self.predict_proba(X), axis=-1)

    # --- loss --------------------------------------------------------------------

    def l2_penalty(self, l2):
        """(l2/2)·Σ_l ‖W_l‖²_F; biases are not penalised."""
        if l2 == 0:
            return 0.0
        return 0.5 * l2 * sum(float(np.vdot(W, W)) for W in self.weights)

    def loss_from_cache(self, cache, y, l2=0.0):
        """The loss of a forward cache (no new forward pass): data loss + L2 penalty."""
        logits = np.atleast_2d(cache.z[-1])
        return self._loss(logits, np.atleast_2d(cache.y_hat), self.targets(y, logits.shape[0]), l2)

    def _loss(self, logits, y_hat, Y, l2=0.0):
        """loss_from_cache() without checks: 2-D logits and ŷ, dense targets Y (n, c)."""
        data = self.data_loss(logits if self.loss_name == "cross_entropy" else y_hat, Y)
        return data + self.l2_penalty(l2)

    def loss(self, X, y, l2=0.0):
        """f = mean loss over the examples + (l2/2)·Σ_l ‖W_l‖²_F.

        X: (n, d) or (d,); y: labels (n,) or one-hot (n, c) for cross-entropy,
        real targets (n, c) for mse.
        """
        _check_l2(l2)
        return self.loss_from_cache(self.forward(X), y, l2)

    # --- backward propagation -------------------------------------------------------

    def backward(self, cache, y, l2=0.0):
        """Backward propagation: the exact gradient of ``loss`` from a forward cache.

        Uses the lecture's formulas on the cached z, h, ŷ; runs no second forward pass.
        Returns Gradients with ``.weights`` and ``.biases`` shaped like the parameters.
        """
        _check_l2(l2)
        if np.ndim(cache.x) == 1:
            cache = ForwardCache(x=cache.x[None, :], z=[z[None, :] for z in cache.z],
                                 h=[h[None, :] for h in cache.h], y_hat=cache.y_hat[None, :])
        return self._backward(cache, self.targets(y, cache.x.shape[0]), l2)

    def _backward(self, cache, Y, l2=0.0):
        """backward() without checks: 2-D cache, dense targets Y (n, c) (the training hot path)."""
        return gradients_from_deltas(self._deltas(cache, Y), [cache.x] + cache.h, self.weights, l2)

    def _deltas(self, cache, Y):
        """δ⁽ˡ⁾ = ∂f/∂z⁽ˡ⁾ for every layer l = 1 … L, one row per example: the backward recursion.

        The lecture's ŷ − y is δ⁽ᴸ⁾ and its g is δ⁽¹⁾ (gᵀ for one example, as on the slides).
        """
        n = cache.x.shape[0]
        L = self.n_layers
        deltas = [None] * L
        delta = cache.y_hat - Y                   # δ = ŷ − y ...
        delta /= n                                # ... divided by n: f is a mean over the minibatch
        deltas[L - 1] = delta
        for l in reversed(range(1, L)):
            delta = (self.weights[l].T @ delta.T).T   # g = (Wᵀ δ) ⊙ act'(z), columns as above ...
            delta *= self.act_prime(cache.z[l - 1])
            deltas[l - 1] = delta
        return deltas

    def gradients(self, X, y, l2=0.0):
        """Forward, then backward: (loss, Gradients) for X and y."""
        cache = self.forward(X)
        return self.loss_from_cache(cache, y, l2), self.backward(cache, y, l2)


def gradients_from_deltas(deltas, inputs, weights, l2=0.0):
    """Gradients from each layer's δ and its input h (h⁽⁰⁾ = x): the last lines of backward propagation."""
    grad_W, grad_b = [], []
    for delta, h, W in zip(deltas, inputs, weights):
        gW = delta.T @ h                          # ∇W = δ hᵀ (g xᵀ for the first layer)
        if l2:
            gW += l2 * W                          # ... + l2·W, the gradient of (l2/2)‖W‖²
        grad_W.append(gW)
        grad_b.append(delta.sum(axis=0))          # ∇b = δ (g for the first layer)
    return Gradients(weights=grad_W, biases=grad_b)


def _check_l2(l2):
    if not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
