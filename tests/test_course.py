"""netprop.teaching.course: the course's layout (columns, W's then b's) and its initialisation."""

import numpy as np
import pytest

from netprop import Network
from netprop.teaching.course import (
    course_layer_sizes,
    from_columns,
    from_course_vector,
    join_vector,
    labels_from_columns,
    one_hot_columns,
    split_vector,
    to_columns,
    to_course_vector,
    vector_size,
)


def test_split_by_hand():
    # layers 2-2-1: W1 (2, 2), W2 (1, 2), b1 (2,), b2 (1,) -> 4 + 2 + 2 + 1 = 9 values
    v = np.arange(9.0)
    (W1, W2), (b1, b2) = split_vector(v, [2, 2, 1])                 # weights first
    assert W1.tolist() == [[0, 1], [2, 3]] and W2.tolist() == [[4, 5]]
    assert b1.tolist() == [6, 7] and b2.tolist() == [8]
    (W1, W2), (b1, b2) = split_vector(v, [2, 2, 1], "interleaved")  # W1, b1, W2, b2
    assert W1.tolist() == [[0, 1], [2, 3]] and b1.tolist() == [4, 5]
    assert W2.tolist() == [[6, 7]] and b2.tolist() == [8]


@pytest.mark.parametrize("order", ["weights-first", "interleaved"])
def test_round_trips_are_exact(order):
    sizes = course_layer_sizes(784, 10, 3, 10)
    assert sizes == [784, 10, 10, 10, 10]
    net = Network(sizes, seed=3)
    v = to_course_vector(net, order)
    assert v.shape == (vector_size(sizes),) == (net.n_parameters,)
    back = from_course_vector(v, sizes, order)
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        assert np.array_equal(a, b)
    assert np.array_equal(join_vector(*split_vector(v, sizes, order), order), v)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 784))
    assert np.array_equal(from_columns(to_columns(X)), X)
    labels = rng.integers(0, 10, size=5)
    assert np.array_equal(labels_from_columns(one_hot_columns(labels, 10)), labels)


def test_columns_layout_computes_the_same_network():
    """The course's forward pass written in columns (here, by hand) on netprop's converted parameters."""
    rng = np.random.default_rng(1)
    sizes = [6, 4, 4, 3]
    net = Network(sizes, seed=2)
    X = rng.normal(size=(5, 6))
    Ws, bs = split_vector(to_course_vector(net), sizes)
    h = to_columns(X)                                   # (6, 5): examples as columns
    for W, b in zip(Ws[:-1], bs[:-1]):
        h = np.maximum(W @ h + b[:, None], 0)
    z = Ws[-1] @ h + bs[-1][:, None]
    y_hat = np.exp(z) / np.exp(z).sum(axis=0)           # softmax down each column
    assert np.allclose(from_columns(y_hat), net.predict_proba(X), rtol=1e-13, atol=1e-15)
    Y = one_hot_columns(np.array([0, 2, 1, 1, 0]), 3)
    assert Y.shape == (3, 5) and Y[:, 1].tolist() == [0, 0, 1]


def test_course_initialisation():
    net = Network([784, 500, 10], init="course", seed=0)
    W1, W2 = net.weights
    assert np.abs(W1).max() <= 1 / np.sqrt(784) and np.abs(W2).max() <= 1 / np.sqrt(500)
    # uniform on ±a has variance a²/3
    assert abs(W1.var() - 1 / (3 * 784)) < 0.02 / (3 * 784)
    assert abs(W1.mean()) < 1e-4
    assert all(np.all(b == 0.01) for b in net.biases)
    same = Network([784, 500, 10], init="course", seed=0)
    assert np.array_equal(same.weights[0], W1)
    with pytest.raises(ValueError, match="unknown init 'he'"):
        Network([3, 2], init="he")


def test_bad_vectors_and_labels():
    with pytest.raises(ValueError, match="expected a flat vector of 9 values for layers 2-2-1, got shape"):
        split_vector(np.zeros(8), [2, 2, 1])
    with pytest.raises(ValueError, match="unknown parameter order"):
        join_vector([np.zeros((1, 1))], [np.zeros(1)], "biases-first")
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        one_hot_columns(np.array([0, 3]), 3)


def test_the_course_modules_sit_above_the_library():
    """course, check and landscape may import the library; only cli and __init__ import them (no cycles)."""
    import ast
    from pathlib import Path

    import netprop

    src = Path(netprop.__file__).parent
    ours = {"course", "check", "landscape"}
    for path in src.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported |= {node.module} if node.module else {a.name for a in node.names}
        if path.stem in ("cli", "__init__"):
            continue
        if path.stem in ours:
            assert not imported & {"cli", "run", "tune", "sklearn"}, (path.stem, imported)
            continue
        assert not imported & ours, f"{path.name} imports {imported & ours}"
