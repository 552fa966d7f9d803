"""Optimizers against torch.optim (an independent implementation), schedules against hand values."""

import math

import numpy as np
import pytest

from netprop.optim import SGD, Adam, learning_rate, make_optimizer

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name, torch_opt", [
    ("sgd", lambda ps, lr: torch.optim.SGD(ps, lr=lr)),
    ("momentum", lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9)),
    ("nesterov", lambda ps, lr: torch.optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True)),
    ("adam", lambda ps, lr: torch.optim.Adam(ps, lr=lr)),
])
def test_updates_match_torch_optim(name, torch_opt):
    rng = np.random.default_rng(0)
    # one parameter larger than optim.BLOCKED_ABOVE, so the cache-blocked path is checked too
    params = [rng.normal(size=(4, 3)), rng.normal(size=(4,)), rng.normal(size=(600, 500))]
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours = make_optimizer(name, params)
    theirs = torch_opt(t_params, 0.1)
    for step in range(6):
        grads = [rng.normal(size=p.shape) for p in params]
        lr = 0.1 / (1 + step)                 # a changing learning rate, as schedules give
        for group in theirs.param_groups:
            group["lr"] = lr
        for t, g in zip(t_params, grads):
            t.grad = torch.tensor(g)
        theirs.step()
        ours.step(params, [g.copy() for g in grads], lr)
        for p, t in zip(params, t_params):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(1)
    for name in ("momentum", "adam"):
        a = [rng.normal(size=(5, 2))]
        opt = make_optimizer(name, a)
        opt.step(a, [rng.normal(size=(5, 2))], 0.01)
        b = [a[0].copy()]
        clone = make_optimizer(name, b)
        clone.load_state({k: v.copy() for k, v in opt.state().items()})
        g = rng.normal(size=(5, 2))
        opt.step(a, [g.copy()], 0.01)
        clone.step(b, [g.copy()], 0.01)
        np.testing.assert_array_equal(a[0], b[0])


def test_schedules_by_hand():
    assert learning_rate("constant", 0.1, 57, 100, 10) == 0.1
    # step: ×γ every step_epochs epochs (10 steps per epoch here)
    assert learning_rate("step", 0.1, 99, 1000, 10, step_epochs=10, gamma=0.5) == 0.1
    assert learning_rate("step", 0.1, 100, 1000, 10, step_epochs=10, gamma=0.5) == 0.05
    assert learning_rate("step", 0.1, 250, 1000, 10, step_epochs=10, gamma=0.5) == pytest.approx(0.025)
    # cosine: lr at the start, lr/2 half way, 0 at the end
    assert learning_rate("cosine", 0.1, 0, 100, 10) == 0.1
    assert learning_rate("cosine", 0.1, 50, 100, 10) == pytest.approx(0.05)
    assert learning_rate("cosine", 0.1, 100, 100, 10) == pytest.approx(0.0, abs=1e-18)
    assert learning_rate("cosine", 0.1, 25, 100, 10) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)))
    with pytest.raises(ValueError, match="unknown schedule"):
        learning_rate("linear", 0.1, 0, 1, 1)


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", [np.zeros(2)])
    assert isinstance(make_optimizer("nesterov", [np.zeros(2)]), SGD)
    assert isinstance(make_optimizer("adam", [np.zeros(2)]), Adam)


TORCH_OPTIMIZERS = {
    "sgd": lambda groups: torch.optim.SGD(groups, lr=0.1),
    "momentum": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9),
    "nesterov": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda groups: torch.optim.Adam(groups, lr=0.1),
}


@pytest.mark.parametrize("name", list(TORCH_OPTIMIZERS))
@pytest.mark.parametrize("l2", [0.0, 0.05])
@pytest.mark.parametrize("blas", ["direct", "numpy"])
def test_step_from_deltas_matches_torch_training_a_network(name, l2, blas, monkeypatch):
    """Training steps as Trainer takes them (δ per layer, ∇W = δᵀh fused into the update) against
    torch.optim fed by autograd, with weight decay on the weights only (netprop's l2); once with
    every product and update as a direct BLAS call, once with _blas's NumPy fallbacks."""
    import netprop
    from netprop import _blas

    if blas == "numpy":
        monkeypatch.setattr(_blas, "_FUNCTIONS", None)
    elif not _blas.available():
        pytest.skip("this NumPy does not bundle scipy-openblas")
    else:
        monkeypatch.setattr(_blas, "DIRECT_FROM", 1)      # these small arrays go to BLAS too

    F = torch.nn.functional
    rng = np.random.default_rng(5)
    net = netprop.Network([6, 9, 7, 4], seed=3)
    X = rng.normal(size=(16, 6))
    labels = rng.integers(0, 4, size=16)
    Y = np.eye(4)[labels]
    params = [p for W, b in zip(net.weights, net.biases) for p in (W, b)]
    ours = make_optimizer(name, params)
    t_params = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    theirs = TORCH_OPTIMIZERS[name]([{"params": t_params[0::2], "weight_decay": l2},
                                     {"params": t_params[1::2], "weight_decay": 0.0}])
    for step in range(5):
        lr = 0.1 / (1 + step)
        rows = rng.choice(16, size=8, replace=False)
        cache = net._forward(X[rows])
        ours.step_from_deltas(params, net._deltas(cache, Y[rows]), [cache.x] + cache.h, lr, l2)

        for group in theirs.param_groups:
            group["lr"] = lr
        theirs.zero_grad()
        h = torch.tensor(X[rows])
        for l in range(3):
            h = F.linear(h, t_params[2 * l], t_params[2 * l + 1])
            h = F.relu(h) if l < 2 else h
        F.cross_entropy(h, torch.tensor(labels[rows])).backward()
        theirs.step()
        for p, t in zip(params, t_params):
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(TORCH_OPTIMIZERS))
def test_step_from_deltas_equals_step_on_backward_gradients_in_float32(name):
    """The fused float32 path against the plain one (backward's gradients, then step)."""
    import netprop

    rng = np.random.default_rng(6)
    nets = [netprop.Network([784, 400, 10], seed=0, dtype="float32") for _ in range(2)]
    X = rng.normal(size=(64, 784)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, size=64)]
    params = [[p for W, b in zip(n.weights, n.biases) for p in (W, b)] for n in nets]
    fused, plain = (make_optimizer(name, p) for p in params)
    for _ in range(4):
        cache = nets[0]._forward(X)
        fused.step_from_deltas(params[0], nets[0]._deltas(cache, Y), [X] + cache.h, 0.01, 1e-3)
        grads = nets[1]._backward(nets[1]._forward(X), Y, 1e-3)
        plain.step(params[1], grads.weights_and_biases(), 0.01)
    initial = netprop.Network([784, 400, 10], seed=0, dtype="float32")
    for a, b in zip(*params):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    moved = [np.abs(a - s).max() for a, s in zip(params[0][0::2], initial.weights)]
    assert min(moved) > 1e-4                       # both really trained: the comparison is not vacuous
