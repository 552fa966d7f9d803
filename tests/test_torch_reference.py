"""Loss and every gradient against PyTorch autograd, an independent implementation, in float64."""

import numpy as np
import pytest

import netprop
from conftest import close_rel
from helpers import torch_activation
from netprop.core.activations import ACTIVATIONS

torch = pytest.importorskip("torch")
F = torch.nn.functional



def torch_loss_and_grads(net, X, y, l2):
    """The same network built from torch operations; autograd gives the gradients."""
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    h = torch.tensor(X, dtype=torch.float64)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = F.linear(h, W, b)
        h = torch_activation(net.activation)(z) if l < len(Ws) - 1 else z
    if net.loss_name == "cross_entropy":
        target = torch.tensor(y)
        loss = F.cross_entropy(z, target if target.ndim == 1 else target.to(torch.float64))
    else:
        loss = 0.5 * F.mse_loss(z, torch.tensor(y, dtype=torch.float64), reduction="sum") / len(X)
    loss = loss + 0.5 * l2 * sum((W * W).sum() for W in Ws)
    loss.backward()
    return loss.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


def random_case(seed):
    """A random architecture (1–4 weight matrices, widths 1–50), activation, loss, l2, batch 1–32."""
    rng = np.random.default_rng(seed)
    n_layers = int(rng.integers(1, 5))
    sizes = [int(s) for s in rng.integers(1, 51, size=n_layers + 1)]
    activation = list(ACTIVATIONS)[seed % len(ACTIVATIONS)]
    loss = ["cross_entropy", "mse"][(seed // len(ACTIVATIONS)) % 2]
    l2 = [0.0, 0.1][(seed // (2 * len(ACTIVATIONS))) % 2]
    if loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    n = int(rng.integers(1, 33))
    net = netprop.Network(sizes, activation=activation, loss=loss, seed=seed)
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], size=n)
        if seed % 3 == 0:                      # one-hot targets too
            y = np.eye(sizes[-1])[y]
    else:
        y = rng.normal(size=(n, sizes[-1]))
    return net, X, y, l2


@pytest.mark.parametrize("seed", range(64))
def test_gradients_match_torch_autograd(seed):
    net, X, y, l2 = random_case(seed)
    loss_ref, gW_ref, gb_ref = torch_loss_and_grads(net, X, y, l2)

    loss, grads = net.gradients(X, y, l2)
    assert abs(loss - loss_ref) <= 1e-12 * max(1.0, abs(loss_ref))
    for l in range(net.n_layers):
        assert grads.weights[l].shape == net.weights[l].shape
        assert grads.biases[l].shape == net.biases[l].shape
        assert close_rel(grads.weights[l], gW_ref[l], 1e-10), f"W{l + 1}"
        assert close_rel(grads.biases[l], gb_ref[l], 1e-10), f"b{l + 1}"


def test_every_combination_is_covered():
    seen = {(random_case(s)[0].activation, random_case(s)[0].loss_name, random_case(s)[3])
            for s in range(64)}
    assert len(seen) == len(ACTIVATIONS) * 2 * 2      # 64 cases cover up to 16 activations


def test_one_example_as_column_vector_matches_torch(rng):
    net = netprop.Network([6, 5, 3], seed=3)
    x = rng.normal(size=6)
    loss_ref, gW_ref, gb_ref = torch_loss_and_grads(net, x[None, :], np.array([2]), 0.0)
    cache = net.forward(x)
    assert cache.y_hat.shape == (3,) and cache.z[0].shape == (5,) and cache.h[0].shape == (5,)
    grads = net.backward(cache, 2)
    assert abs(net.loss(x, 2) - loss_ref) <= 1e-12
    for l in range(2):
        assert close_rel(grads.weights[l], gW_ref[l], 1e-10)
        assert close_rel(grads.biases[l], gb_ref[l], 1e-10)


def test_float32_gradients_are_float32_and_close_to_torch(rng):
    net = netprop.Network([30, 20, 10], seed=1, dtype="float32")
    X = rng.normal(size=(16, 30)).astype(np.float32)
    y = rng.integers(0, 10, size=16)
    _, gW_ref, gb_ref = torch_loss_and_grads(net, X.astype(np.float64), y, 0.01)
    grads = net.backward(net.forward(X), y, l2=0.01)
    for l in range(2):
        assert grads.weights[l].dtype == np.float32 and grads.biases[l].dtype == np.float32
        assert close_rel(grads.weights[l], gW_ref[l], 1e-5)
        assert close_rel(grads.biases[l], gb_ref[l], 1e-5)
