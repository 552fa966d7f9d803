"""The ways students lay out the same numbers: examples as rows or columns, labels one-hot or integers,
the flat parameter vector in weights-first or interleaved order with each W stored (out, in) or (in, out).

Every function here only moves numbers; the check tries these layouts and keeps the one under which
the student's forward function reproduces netprop's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ORDERS = ("weights-first", "interleaved")
ORIENTATIONS = ("out,in", "in,out")
X_LAYOUTS = ("columns", "rows")
Y_FORMS = ("one-hot", "labels")


@dataclass(frozen=True)
class InputLayout:
    """How the student's functions take x and y: x (d, n) 'columns' or (n, d) 'rows'; y one-hot in
    y_layout, or integer labels (n,)."""

    x: str = "columns"
    y_form: str = "one-hot"
    y: str = "columns"

    def describe(self):
        y = "y as integer labels" if self.y_form == "labels" else (
            "y one-hot the same way" if self.y == self.x else f"y one-hot as {self.y}")
        return f"examples as {self.x} ({'x (d, n)' if self.x == 'columns' else 'x (n, d)'}), {y}"


INPUT_LAYOUTS = (InputLayout("columns", "one-hot", "columns"), InputLayout("rows", "one-hot", "rows"),
                 InputLayout("rows", "labels", "rows"), InputLayout("columns", "labels", "columns"),
                 InputLayout("rows", "one-hot", "columns"), InputLayout("columns", "one-hot", "rows"))


@dataclass(frozen=True)
class VectorLayout:
    """The flat parameter vector: block order and how each W is stored."""

    order: str = "weights-first"
    orientation: str = "out,in"

    def describe(self):
        seq = "W1, W2, …, b1, b2, …" if self.order == "weights-first" else "W1, b1, W2, b2, …"
        return f"the vector holds {seq} with each W stored ({self.orientation.replace(',', ', ')})"


VECTOR_LAYOUTS = tuple(VectorLayout(o, w) for w in ORIENTATIONS for o in ORDERS)


def block_sequence(sizes, order):
    """[(name, shape as netprop holds it (out, in) / (out,)), …] in the order the vector stores them."""
    L = len(sizes) - 1
    W = [(f"W{l + 1}", (sizes[l + 1], sizes[l])) for l in range(L)]
    b = [(f"b{l + 1}", (sizes[l + 1],)) for l in range(L)]
    return W + b if order == "weights-first" else [item for pair in zip(W, b) for item in pair]


def vector_size(sizes):
    return sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))


def pack(weights, biases, layout, reverse=""):
    """One flat vector from netprop's W (out, in) and b lists, laid out as the student stores them.

    reverse: "W", "b" or "Wb" packs those blocks last layer first (a mistake, used to recognise it).
    """
    L = len(weights)
    Ws = [W.T if layout.orientation == "in,out" else W for W in weights]
    order_W = list(reversed(range(L))) if "W" in reverse else list(range(L))
    order_b = list(reversed(range(L))) if "b" in reverse else list(range(L))
    if layout.order == "weights-first":
        parts = [Ws[l].ravel() for l in order_W] + [biases[l].ravel() for l in order_b]
    else:
        parts = [p for lw, lb in zip(order_W, order_b) for p in (Ws[lw].ravel(), biases[lb].ravel())]
    return np.concatenate(parts)


def unpack(vector, sizes, layout, bias_lengths=None):
    """{name: array as netprop holds it} from a flat vector in the student's layout.

    bias_lengths: {b name: length} where the student's ∇b blocks have another length (then those
    blocks come back flat, as found).
    """
    out, offset = {}, 0
    for name, shape in block_sequence(sizes, layout.order):
        if name[0] == "b" and bias_lengths and name in bias_lengths:
            size = bias_lengths[name]
            out[name] = np.asarray(vector[offset:offset + size], dtype=np.float64)
            offset += size
            continue
        size = int(np.prod(shape))
        block = np.asarray(vector[offset:offset + size], dtype=np.float64)
        offset += size
        if name[0] == "W":
            block = block.reshape(shape[::-1]).T if layout.orientation == "in,out" else block.reshape(shape)
        out[name] = block
    if offset != len(vector):
        raise ValueError(f"expected {offset} values, got {len(vector)}")
    return out


def x_as(X, layout):
    """netprop's X (n, d) as the student takes it."""
    return np.ascontiguousarray(X.T if layout.x == "columns" else X)


def y_as(labels, c, layout):
    """Integer labels (n,) as the student takes y: one-hot (n, c) / (c, n), or the labels themselves."""
    if layout.y_form == "labels":
        return labels.copy()
    Y = np.eye(c)[labels]
    return np.ascontiguousarray(Y.T if layout.y == "columns" else Y)


def as_rows(value, n, k):
    """(array (n, k), 'rows'|'columns') from a student's (n, k) or (k, n) array, or (None, None)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None, None
    if arr.shape == (n, k):
        return arr, "rows"
    if arr.shape == (k, n):
        return arr.T, "columns"
    if arr.ndim == 1 and n == 1 and arr.size == k:
        return arr.reshape(1, k), "columns"
    return None, None
