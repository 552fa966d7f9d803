"""Input checks for the network: shapes, dtypes, labels, finiteness; each failure one clear message.

Kept apart from network.py so that the lecture's equations read without them.  Every function
returns the checked value in the form the maths uses (arrays in the network's dtype).
"""

from __future__ import annotations

import numpy as np


def layer_sizes(sizes):
    """[d, m, …, c] as a list of positive ints; at least inputs and outputs."""
    try:
        checked = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"layer_sizes must be a list of integers, got {sizes!r}") from None
    if len(checked) < 2:
        raise ValueError(
            f"layer_sizes needs at least 2 entries (inputs and outputs), got {len(checked)}: {checked}"
        )
    if any(s < 1 or s != float(t) for s, t in zip(checked, sizes)):
        raise ValueError(f"every layer size must be a positive integer, got {list(sizes)}")
    return checked


def dtype(name):
    """np.float32 or np.float64 from a name or dtype."""
    try:
        checked = np.dtype(name)
    except TypeError:
        raise ValueError(f"unknown dtype {name!r}; use float32 or float64") from None
    if checked not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {checked}")
    return checked


def choice(value, options, what):
    """value if it is one of options (a dict or sequence of names), else a ValueError listing them."""
    if value not in options:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(options)}")
    return value


def l2(value):
    """The L2 strength: a finite number >= 0."""
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"l2 must be a finite number >= 0, got {value}")
    return value


def parameters(net):
    """Raise ValueError if an assigned weight or bias has the wrong shape."""
    L = net.n_layers
    if len(net.weights) != L or len(net.biases) != L:
        raise ValueError(
            f"expected {L} weight matrices and bias vectors, got {len(net.weights)} and {len(net.biases)}"
        )
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        out, inp = net.layer_sizes[l], net.layer_sizes[l - 1]
        if np.shape(W) != (out, inp):
            raise ValueError(f"W{l} must have shape {(out, inp)}, got {np.shape(W)}")
        if np.shape(b) != (out,):
            raise ValueError(f"b{l} must have shape {(out,)}, got {np.shape(b)}")


def _numeric(a, name):
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise ValueError(f"{name} must be real, got complex values")


def inputs(X, d, dtype):
    """X as (n, d) or (d,) in dtype: numeric, finite, d features, at least one example."""
    X = np.asarray(X)
    _numeric(X, "X")
    if X.ndim not in (1, 2):
        raise ValueError(f"X must be (n, {d}) or ({d},) for one example, got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X is empty: it has no examples")
    if X.shape[-1] != d:
        raise ValueError(f"X has {X.shape[-1]} features but the network expects {d}")
    X = X.astype(dtype, copy=False)
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    return X


def targets(y, n, c, loss, dtype):
    """Dense targets Y (n, c) in dtype from y as users give it.

    Cross-entropy: integer labels (n,) in 0..c-1, or one-hot rows (n, c); for one example also a
    single label or a one-hot vector (c,).  MSE: real targets (n, c), or (c,) for one example, or
    (n,) when c = 1.
    """
    y = np.asarray(y)
    _numeric(y, "y")
    if y.ndim == 1 and n == 1 and y.shape == (c,) and c > 1:
        y = y[None, :]                         # the lecture's y for one example
    elif y.ndim == 0:
        y = y.reshape(1)
    if loss == "cross_entropy" and y.ndim == 1:
        return one_hot(y, n, c, dtype)
    if loss == "mse" and y.ndim == 1 and c == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape != (n, c):
        raise ValueError(f"y must have shape ({n}, {c}) for these {n} examples, got {y.shape}")
    Y = y.astype(dtype, copy=False)
    if not np.isfinite(Y).all():
        raise ValueError("y contains NaN or infinite values")
    if loss == "cross_entropy":
        if (Y < 0).any() or not np.allclose(Y.sum(axis=1), 1, atol=1e-6):
            raise ValueError("one-hot y must have non-negative rows that sum to 1")
    return Y


def one_hot(labels, n, c, dtype):
    """(n, c) one-hot rows from n integer labels in 0..c-1."""
    if labels.shape[0] != n:
        raise ValueError(f"y has {labels.shape[0]} labels but X has {n} examples")
    if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
        raise ValueError(f"labels in y must be integers 0..{c - 1}")
    labels = labels.astype(np.int64)
    bad = (labels < 0) | (labels >= c)
    if bad.any():
        raise ValueError(f"label {labels[bad][0]} is outside 0..{c - 1} (the network has {c} classes)")
    return np.eye(c, dtype=dtype)[labels]
