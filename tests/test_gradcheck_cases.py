"""gradcheck_cases: the networks and minibatches `netprop gradcheck` checks."""

import numpy as np
import pytest

from helpers import fashion_mnist_or_skip
from netprop import data as data_mod
from netprop.teaching.gradcheck import gradcheck, gradcheck_cases


def test_default_is_a_random_net_then_the_lecture_net(monkeypatch):
    def absent(**kwargs):
        raise data_mod.DataError("not installed")

    monkeypatch.setattr(data_mod, "load_fashion_mnist", absent)
    small, lecture = gradcheck_cases(seed=3, examples=5, hidden=7)
    assert small.label == "random 20-10-5" and small.net.layer_sizes == [20, 10, 5]
    assert lecture.label == "lecture 784-7-10 (random pixels)" and lecture.net.layer_sizes == [784, 7, 10]
    # one generator seeded 3 draws, in turn: normal X, labels, then uniform pixels and labels
    rng = np.random.default_rng(3)
    assert np.array_equal(small.X, rng.normal(size=(5, 20)))
    assert np.array_equal(small.y, rng.integers(0, 5, size=5))
    assert np.array_equal(lecture.X, rng.uniform(0.0, 1.0, size=(5, 784)))
    assert np.array_equal(lecture.y, rng.integers(0, 10, size=5))


def test_given_sizes_replace_both_and_lecture_only_keeps_one():
    (case,) = gradcheck_cases(sizes=[3, 4, 2], loss="mse", activation="tanh", examples=6)
    assert case.label == "random 3-4-2" and case.net.activation == "tanh"
    assert case.X.shape == (6, 3) and case.y.shape == (6, 2)          # MSE targets: (n, c) values
    assert gradcheck(case.net, case.X, case.y).passed
    (only,) = gradcheck_cases(lecture_only=True, hidden=2, examples=2)
    assert only.label.startswith("lecture 784-2-10")


@pytest.mark.slow          # reads Fashion-MNIST; the other case tests stay
def test_lecture_examples_are_fashion_mnist_images_when_installed():
    fashion_mnist_or_skip()
    X_train, y_train, _, _ = data_mod.load_fashion_mnist(download=False)
    (case,) = gradcheck_cases(lecture_only=True, hidden=2, examples=3, seed=1)
    assert case.label == "lecture 784-2-10 (3 Fashion-MNIST images)"
    assert 0.0 <= case.X.min() and case.X.max() <= 1.0
    for x, label in zip(case.X, case.y):
        (match,) = np.flatnonzero((X_train == np.round(x * 255)).all(axis=1))[:1]
        assert y_train[match] == label
    (mse,) = gradcheck_cases(lecture_only=True, hidden=2, examples=3, seed=1, loss="mse")
    assert np.array_equal(mse.y, np.eye(10)[case.y])                  # the same images, one-hot
    assert np.array_equal(mse.X, case.X)


@pytest.mark.parametrize("sizes", [[5], [4, 0, 2]])
def test_bad_sizes_are_refused(sizes):
    with pytest.raises(ValueError):
        gradcheck_cases(sizes=sizes)
