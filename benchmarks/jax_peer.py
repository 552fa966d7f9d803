"""JAX on the CPU as a benchmark peer: the whole training step (forward, autodiff backward, the
optimizer's update) compiled by XLA under jax.jit, the way a practitioner would write it.

The network, loss and optimizers are the ones netprop and PyTorch use: relu hidden layers, softmax
with mean cross-entropy, and PyTorch's update rules (SGD; momentum v ← μv + g, θ ← θ − lr·v; Adam
with bias correction), written here in a few lines of jax.numpy.  Each minibatch is gathered from
the training set inside the compiled step (the images are put on the device once); parameters and
optimizer state are donated, so XLA may update them in place.  Compilation happens ahead of time,
once per minibatch shape, and is timed apart from the epochs.
"""

from __future__ import annotations

import math
import time

import numpy as np

MOMENTUM = 0.9
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8


def _jax():
    import jax
    import jax.numpy as jnp

    return jax, jnp


def forward(params, x):
    """Logits of the network [(W1, b1), …] for rows x; W is (out, in) as in netprop."""
    jax, _ = _jax()
    h = x
    for W, b in params[:-1]:
        h = jax.nn.relu(h @ W.T + b)
    W, b = params[-1]
    return h @ W.T + b


def mean_cross_entropy(params, x, labels):
    """The mean over the rows of −log softmax(z)[label]."""
    jax, jnp = _jax()
    log_p = jax.nn.log_softmax(forward(params, x))
    return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=1))


def initial_state(optimizer, params):
    """The optimizer's state for params: () for SGD, the velocities, or Adam's (m, v, t)."""
    jax, jnp = _jax()
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    if optimizer == "sgd":
        return ()
    if optimizer == "momentum":
        return zeros
    return zeros, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), params[0][0].dtype)


def apply_update(optimizer, lr, params, grads, state):
    """(new params, new state): PyTorch's update rules, the ones netprop's optim.py implements."""
    jax, jnp = _jax()
    tree_map = jax.tree_util.tree_map
    if optimizer == "sgd":
        return tree_map(lambda p, g: p - lr * g, params, grads), state
    if optimizer == "momentum":
        velocity = tree_map(lambda v, g: MOMENTUM * v + g, state, grads)          # v ← μ v + g
        return tree_map(lambda p, v: p - lr * v, params, velocity), velocity        # θ ← θ − lr·v
    (b1, b2), (m, v, t) = ADAM_BETAS, state
    t = t + 1
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    # lr·m̂/(√v̂ + ε) with m̂ = m/c1, v̂ = v/c2, the corrections folded into two scalars as netprop does.
    # c = 1 − βᵗ as −expm1(t·log β): 1 − 0.999ᵗ computed in float32 loses five digits to cancellation
    # (netprop and PyTorch compute it in float64), and Adam's early steps carry that error.
    c1, root_c2 = -jnp.expm1(t * math.log(b1)), jnp.sqrt(-jnp.expm1(t * math.log(b2)))
    step_size, eps = lr * root_c2 / c1, ADAM_EPS * root_c2
    params = tree_map(lambda p, m, v: p - step_size * m / (jnp.sqrt(v) + eps), params, m, v)
    return params, (m, v, t)


def compiled_steps(optimizer, lr, params, state, X, y, batch_sizes):
    """({minibatch size: compiled step}, seconds spent compiling).

    step(params, state, X, y, idx) -> (params, state, loss) trains on the rows X[idx], y[idx].
    """
    jax, jnp = _jax()

    def step(params, state, X, y, idx):
        loss, grads = jax.value_and_grad(mean_cross_entropy)(params, X[idx], y[idx])
        params, state = apply_update(optimizer, lr, params, grads, state)
        return params, state, loss

    jitted = jax.jit(step, donate_argnums=(0, 1))
    started = time.perf_counter()
    steps = {k: jitted.lower(params, state, X, y, jax.ShapeDtypeStruct((k,), jnp.int32)).compile()
             for k in sorted(set(batch_sizes))}
    return steps, time.perf_counter() - started


def epoch_batch_sizes(n, batch):
    return [min(batch, n - start) for start in range(0, n, batch)]


def to_device(weights, biases, X, y):
    """JAX arrays of netprop-shaped parameters [(W1, b1), …] and of the training set."""
    _, jnp = _jax()
    params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in zip(weights, biases)]
    return params, jnp.asarray(X), jnp.asarray(y.astype(np.int32))


class Training:
    """A network trained by the compiled step, one epoch per call of epoch(perm)."""

    def __init__(self, weights, biases, X, y, batch, optimizer, lr):
        self.params, self.X, self.y = to_device(weights, biases, X, y)
        self.state = initial_state(optimizer, self.params)
        self.batch = batch
        self.steps, self.compile_seconds = compiled_steps(optimizer, lr, self.params, self.state, self.X,
                                                          self.y, epoch_batch_sizes(len(X), batch))

    def epoch(self, perm):
        """One pass over the rows in the order perm; returns once every update has been computed."""
        jax, _ = _jax()
        perm = perm.astype(np.int32)
        for start in range(0, len(perm), self.batch):
            idx = perm[start:start + self.batch]
            self.params, self.state, _ = self.steps[len(idx)](self.params, self.state, self.X, self.y, idx)
        jax.block_until_ready(self.params)

    def one_step(self, idx):
        """One minibatch (int32 indices), waited for: for a profile, which times steps one by one."""
        jax, _ = _jax()
        self.params, self.state, _ = self.steps[len(idx)](self.params, self.state, self.X, self.y, idx)
        jax.block_until_ready(self.params)

    def numpy_params(self):
        return [(np.asarray(W), np.asarray(b)) for W, b in self.params]


def initial_weights(sizes, seed=0):
    """He-initialised float32 weights (out, in) and zero biases, as a stand-in when netprop's are not given."""
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal((b, a)) * np.sqrt(2 / a)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    return weights, [np.zeros(b, np.float32) for b in sizes[1:]]


def jax_epochs(X, y, sizes, batch, optimizer, lr):
    """A function that trains one more epoch (a fresh shuffle) and returns its seconds; compile_seconds on it."""
    training = Training(*initial_weights(sizes), X, y, batch, optimizer, lr)
    rng = np.random.default_rng(0)

    def epoch():
        started = time.perf_counter()
        training.epoch(rng.permutation(len(X)))
        return time.perf_counter() - started
    epoch.compile_seconds = training.compile_seconds
    return epoch


def jax_products_epochs(X, y, sizes, batch, optimizer):
    """Only the epoch's matrix products, compiled by XLA: the floor under the JAX peer.

    The same products as the NumPy and PyTorch floors (z = h Wᵀ forward, ∇W = δᵀh added into a
    buffer with β as momentum does, δ W for every layer but the first), nothing else; the buffers are
    returned (and donated), so XLA can drop none of them.
    """
    jax, jnp = _jax()
    weights, _ = initial_weights(sizes)
    Ws = [jnp.asarray(W) for W in weights]
    beta = MOMENTUM if optimizer == "momentum" else 0.0
    Xd = jnp.asarray(X)

    def products(buffers, Ws, X, idx):
        hs = [X[idx]]
        for W in Ws:
            hs.append(hs[-1] @ W.T)
        delta, out = hs.pop(), list(buffers)
        for l in reversed(range(len(Ws))):
            out[l] = beta * buffers[l] + delta.T @ hs[l]
            if l:
                delta = delta @ Ws[l]
        return out

    state = {"buffers": [jnp.zeros_like(W) for W in Ws]}
    jitted = jax.jit(products, donate_argnums=(0,))
    compiled = {k: jitted.lower(state["buffers"], Ws, Xd, jax.ShapeDtypeStruct((k,), jnp.int32)).compile()
                for k in set(epoch_batch_sizes(len(X), batch))}
    rng = np.random.default_rng(0)

    def epoch():
        started = time.perf_counter()
        perm = rng.permutation(len(X)).astype(np.int32)
        for start in range(0, len(X), batch):
            idx = perm[start:start + batch]
            state["buffers"] = compiled[len(idx)](state["buffers"], Ws, Xd, idx)
        jax.block_until_ready(state["buffers"])
        return time.perf_counter() - started

    def one_step(idx):
        """One minibatch's products (int32 indices), waited for."""
        state["buffers"] = compiled[len(idx)](state["buffers"], Ws, Xd, idx)
        jax.block_until_ready(state["buffers"])
    epoch.one_step = one_step
    return epoch
