"""Property tests over shapes and dtypes (hypothesis)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import netprop
from netprop.core.activations import ACTIVATIONS

sizes_st = st.lists(st.integers(1, 12), min_size=2, max_size=5)
activation_st = st.sampled_from(list(ACTIVATIONS))
dtype_st = st.sampled_from(["float32", "float64"])


@given(sizes=sizes_st, activation=activation_st, dtype=dtype_st, n=st.integers(1, 9),
       seed=st.integers(0, 2**31 - 1))
def test_shapes_and_dtypes(sizes, activation, dtype, n, seed):
    net = netprop.Network(sizes, activation=activation, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    cache = net.forward(X)
    assert [z.shape for z in cache.z] == [(n, s) for s in sizes[1:]]
    assert [h.shape for h in cache.h] == [(n, s) for s in sizes[1:-1]]
    assert cache.y_hat.shape == (n, sizes[-1]) and cache.y_hat.dtype == np.dtype(dtype)
    np.testing.assert_allclose(cache.y_hat.sum(axis=1), 1, rtol=1e-5)
    grads = net.backward(cache, y, l2=0.1)
    for g, p in zip(grads.weights + grads.biases, net.weights + net.biases):
        assert g.shape == p.shape and g.dtype == np.dtype(dtype)
        assert np.isfinite(g).all()


@given(sizes=sizes_st, dtype=dtype_st, seed=st.integers(0, 2**31 - 1))
def test_pack_unpack_round_trip_is_exact(sizes, dtype, seed):
    net = netprop.Network(sizes, seed=seed, dtype=dtype)
    original = [p.copy() for p in net.weights + net.biases]
    vector = net.pack()
    assert vector.shape == (sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])),)
    # the order is W1, b1, W2, b2, … each row-major
    np.testing.assert_array_equal(vector[: sizes[0] * sizes[1]], net.weights[0].ravel())
    other = netprop.Network(sizes, seed=seed + 1, dtype=dtype)
    other.unpack(vector)
    for a, b in zip(original, other.weights + other.biases):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(other.pack(), vector)


@given(sizes=sizes_st, activation=activation_st, seed=st.integers(0, 2**31 - 1))
def test_float32_agrees_with_float64(sizes, activation, seed):
    net64 = netprop.Network(sizes, activation=activation, seed=seed)
    net32 = net64.copy(dtype="float32")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4, sizes[0]))
    y = rng.integers(0, sizes[-1], size=4)
    g64 = net64.backward(net64.forward(X), y)
    g32 = net32.backward(net32.forward(X.astype(np.float32)), y)
    for a, b in zip(g64.weights + g64.biases, g32.weights + g32.biases):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-5)


@given(sizes=sizes_st, seed=st.integers(0, 2**31 - 1))
def test_single_example_equals_batch_of_one(sizes, seed):
    net = netprop.Network(sizes, activation="tanh", seed=seed)
    x = np.random.default_rng(seed).normal(size=sizes[0])
    label = seed % sizes[-1]
    single = net.backward(net.forward(x), label)
    batch = net.backward(net.forward(x[None, :]), [label])
    for a, b in zip(single.weights + single.biases, batch.weights + batch.biases):
        np.testing.assert_array_equal(a, b)
    assert net.loss(x, label) == net.loss(x[None, :], [label])


@given(logit=st.floats(-1e4, 1e4), seed=st.integers(0, 1000))
def test_loss_is_finite_for_large_logits(logit, seed):
    net = netprop.Network([2, 4], seed=seed)
    net.weights[0] = np.array([[logit, 0], [-logit, 0], [0, logit], [0, 0.0]])
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss, grads = net.gradients(X, [1, 3])
    assert np.isfinite(loss) and loss >= 0
    assert all(np.isfinite(g).all() for g in grads.weights + grads.biases)
