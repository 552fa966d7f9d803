"""Optimizers against torch.optim (an independent implementation), schedules against hand values."""

import math

import numpy as np
import pytest

from netprop.training.optimizers import SGD, Adam, learning_rate, make_optimizer

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
