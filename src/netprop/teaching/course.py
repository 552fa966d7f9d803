"""The course's layout: examples as columns, one-hot label columns, a weights-first flat vector.

The course's exercise writes the lecture's equations for a whole minibatch at once with one
example per *column*::

    X: (d, n)    Y: (c, n) one-hot columns    z = W h + b (b broadcast over the columns)

and keeps every parameter in one flat vector, all weight matrices first, then all biases::

    weightsAndBiases = [W1.ravel(), W2.ravel(), …, WL.ravel(), b1, b2, …, bL]

with each W stored (out, in), row-major, like netprop's.  Its network has NUM_HIDDEN_LAYERS
hidden layers of NUM_HIDDEN units between NUM_INPUT inputs and NUM_OUTPUT classes, weights drawn
uniformly in ±1/√fan_in and biases 0.01 (``Network(..., init="course")``).

This module converts between that layout and netprop's (examples as rows, parameters
interleaved W1, b1, W2, …), exactly: every conversion only moves numbers.
"""

from __future__ import annotations

import numpy as np

from ..core.network import Network

ORDERS = ("weights-first", "interleaved")


def course_layer_sizes(num_input, num_hidden, num_hidden_layers, num_output):
    """[NUM_INPUT, NUM_HIDDEN, …, NUM_HIDDEN, NUM_OUTPUT]: the course's network as netprop's layer_sizes.

    num_hidden may also be a list with one width per hidden layer.
    """
    layers = _count(num_hidden_layers, "NUM_HIDDEN_LAYERS", 0)
    if np.ndim(num_hidden) == 0:
        hidden = [_count(num_hidden, "NUM_HIDDEN", 1)] * layers
    else:
        hidden = [_count(m, "NUM_HIDDEN", 1) for m in num_hidden]
        if len(hidden) != layers:
            raise ValueError(f"NUM_HIDDEN lists {len(hidden)} widths but NUM_HIDDEN_LAYERS is {num_hidden_layers}")
    return [_count(num_input, "NUM_INPUT", 1), *hidden, _count(num_output, "NUM_OUTPUT", 1)]


def _count(value, name, least):
    """value as an int >= least; 10.0 is 10, but 1.5, True or 0 units are not a layer size."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value != int(value) or int(value) < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def parameter_shapes(layer_sizes):
    """[(m1, d), (m2, m1), …] and [(m1,), (m2,), …]: each W (out, in) and each b, layer by layer."""
    weights = [(fan_out, fan_in) for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:])]
    return weights, [(shape[0],) for shape in weights]


def vector_size(layer_sizes):
    """The number of values in a flat parameter vector for these layer sizes."""
    weights, biases = parameter_shapes(layer_sizes)
    return sum(o * i for o, i in weights) + sum(s[0] for s in biases)


def block_slices(layer_sizes, order="weights-first"):
    """{"W1": slice, …, "b1": slice, …}: where each parameter lies in a flat vector of this order."""
    _check_order(order)
    weights, biases = parameter_shapes(layer_sizes)
    L = len(weights)
    if order == "weights-first":
        sequence = [(f"W{l + 1}", weights[l]) for l in range(L)] + [(f"b{l + 1}", biases[l]) for l in range(L)]
    else:
        sequence = [item for l in range(L) for item in ((f"W{l + 1}", weights[l]), (f"b{l + 1}", biases[l]))]
    slices, offset = {}, 0
    for name, shape in sequence:
        size = int(np.prod(shape))
        slices[name] = slice(offset, offset + size)
        offset += size
    return slices


def split_vector(vector, layer_sizes, order="weights-first"):
    """(weights, biases) lists from a flat vector laid out in order; W's as (out, in) arrays (copies)."""
    vector = np.asarray(vector)
    size = vector_size(layer_sizes)
    if vector.ndim != 1 or vector.size != size:
        raise ValueError(f"expected a flat vector of {size} values for layers "
                         f"{'-'.join(map(str, layer_sizes))}, got shape {vector.shape}")
    weight_shapes, _ = parameter_shapes(layer_sizes)
    slices = block_slices(layer_sizes, order)
    weights = [vector[slices[f"W{l + 1}"]].reshape(shape).copy() for l, shape in enumerate(weight_shapes)]
    biases = [vector[slices[f"b{l + 1}"]].copy() for l in range(len(weight_shapes))]
    return weights, biases


def join_vector(weights, biases, order="weights-first"):
    """One flat vector (n_parameters,) from lists of W (out, in) and b (out,), in the given order."""
    _check_order(order)
    if order == "weights-first":
        parts = [W.ravel() for W in weights] + [b.ravel() for b in biases]
    else:
        parts = [p.ravel() for W, b in zip(weights, biases) for p in (W, b)]
    return np.concatenate(parts)


def to_course_vector(net, order="weights-first"):
    """net's parameters as the course's weightsAndBiases (P,) vector (float64 copies)."""
    return join_vector([W.astype(np.float64) for W in net.weights],
                       [b.astype(np.float64) for b in net.biases], order)


def from_course_vector(vector, layer_sizes, order="weights-first", activation="relu", dtype="float64"):
    """A Network holding the parameters of the course's flat vector (P,).

    Start netprop from the weights the student's own code starts from:
    ``net = from_course_vector(initialWeightsAndBiases, course_layer_sizes(784, 10, 3, 10))``.
    """
    net = Network(layer_sizes, activation=activation, dtype=dtype, init="course", seed=0)
    set_from_course_vector(net, vector, order)
    return net


def set_from_course_vector(net, vector, order="weights-first"):
    """Overwrite net's parameters with those of the course's flat vector (P,)."""
    weights, biases = split_vector(vector, net.layer_sizes, order)
    net.weights = [W.astype(net.dtype) for W in weights]
    net.biases = [b.astype(net.dtype) for b in biases]


def to_columns(X):
    """netprop's X (n, d), one example per row, as the course's (d, n), one per column."""
    return np.ascontiguousarray(np.asarray(X).T)


def from_columns(X_columns):
    """The course's X (d, n) as netprop's (n, d)."""
    return np.ascontiguousarray(np.asarray(X_columns).T)


def one_hot_columns(labels, n_classes):
    """Integer labels (n,) as the course's Y (c, n): column i is the one-hot vector of labels[i]."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of integers, got {labels.dtype} shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    Y = np.zeros((n_classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def labels_from_columns(Y_columns):
    """The course's one-hot Y (c, n) as integer labels (n,)."""
    return np.argmax(np.asarray(Y_columns), axis=0)


def _check_order(order):
    if order not in ORDERS:
        raise ValueError(f"unknown parameter order {order!r}; choose one of {', '.join(ORDERS)}")
