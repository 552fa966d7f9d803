"""The lecture's derivation done the long way: explicit Jacobian matrices, multiplied.

For the 3-layer network and the parameter W1 the lecture writes

    ∂f/∂W1 = ∂f/∂ŷ · ∂ŷ/∂h · ∂h/∂z · ∂z/∂W1

with ∂f/∂ŷ = (ŷ - y)ᵀ (softmax and cross-entropy taken together, so this row
vector is really ∂f/∂z⁽²⁾), ∂ŷ/∂h = W2, ∂h/∂z = diag(relu'(z)) and ∂z/∂W1 the
m × (m·d) block matrix with xᵀ on its diagonal blocks.  The product is a
1 × (m·d) row which, reshaped to (m, d), is ∇W1.

With ``strict=True`` the softmax is folded back out for cross-entropy: the chain starts
∂f/∂ŷ = −(y ⊘ ŷ)ᵀ, then ∂ŷ/∂z⁽ᴸ⁾ = diag(ŷ) − ŷŷᵀ (the softmax Jacobian), then ∂z⁽ᴸ⁾/∂h = W_L,
so that every factor is the Jacobian autodiff would give for its label.

Nothing here is used for training: it exists to show, with real numbers, that
this chain equals the backprop shortcut in ``Network.backward``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.network import Gradients


@dataclass
class JacobianChain(Gradients):
    """The chained gradients and the factors that produced them.

    weights, biases: gradients shaped like the parameters (for one example).
    factors: {"W1": [(label, matrix), …], "b1": […], …} in the order multiplied.
    products: {"W1": the 1 × size row vector the factors multiply to, …}.
    """

    factors: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)


def layer_names(n_layers):
    """Names of z⁽ˡ⁾ and h⁽ˡ⁾ as the slides write them.

    With one hidden layer the lecture writes plain z and h; deeper nets number
    them z1, h1, z2, h2, …  Returns (z_names, h_names) for l = 1 … L-1, plus "x" as h_names[0].
    """
    hidden = n_layers - 1
    if hidden == 1:
        return ["", "z"], ["x", "h"]
    return [""] + [f"z{l}" for l in range(1, hidden + 1)], ["x"] + [f"h{l}" for l in range(1, hidden + 1)]


def block_matrix(x, m):
    """∂z/∂W for z = W x with W of shape (m, d): the m × (m·d) matrix with xᵀ on its diagonal blocks.

    Row i holds xᵀ in columns i·d … i·d + d - 1, since z_i = Σ_j W_ij x_j and W is
    flattened row-major.
    """
    return np.kron(np.eye(m, dtype=x.dtype), x[None, :])


def _top_factors(net, y_hat, Y, strict):
    """The factors from f down to the output layer's pre-activation, and the name they reach.

    Lecture form: [("∂f/∂ŷ", (ŷ − y)ᵀ)], reaching "ŷ" (the row is strictly ∂f/∂z⁽ᴸ⁾).
    Strict form (cross-entropy only): ∂f/∂ŷ = −(y ⊘ ŷ)ᵀ (1 × c), then ∂ŷ/∂z⁽ᴸ⁾ = diag(ŷ) − ŷ ŷᵀ (c × c).
    For mse ŷ = z⁽ᴸ⁾, so both forms are the same single factor.
    """
    if not strict or net.loss_name != "cross_entropy":
        return [("∂f/∂ŷ", (y_hat - Y)[None, :])], "ŷ"
    out = f"z{net.n_layers}"
    # f = −Σ_k y_k log ŷ_k; classes with y_k = 0 contribute nothing, whatever ŷ_k is
    df_dyhat = -np.divide(Y, y_hat, out=np.zeros_like(y_hat), where=Y != 0)
    softmax_jacobian = np.diag(y_hat) - np.outer(y_hat, y_hat)
    return [("∂f/∂ŷ", df_dyhat[None, :]), (f"∂ŷ/∂{out}", softmax_jacobian)], out


def jacobian_chain(net, x, y, strict=False):
    """The lecture's chain of Jacobians for one example, for every parameter.

    Parameters
    ----------
    net : Network
    x : (d,) one example (the lecture's column vector).
    y : a label in 0..c-1 or a one-hot (c,) vector (cross-entropy); a target (c,) (mse).
    strict : False for the lecture's chain (softmax folded into (ŷ − y)ᵀ); True to multiply the
        softmax Jacobian out as its own factor (cross-entropy; mse has no softmax to fold).

    Returns
    -------
    JacobianChain with .weights, .biases (shaped like the parameters), .factors and .products.

    The loss is the one of ``net.loss`` without L2: one example, so no mean.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"jacobian_chain takes one example x of shape (d,), got {x.shape}")
    cache = net.forward(x)
    Y = net.targets(y, 1)[0]
    L = net.n_layers
    z_names, h_names = layer_names(L)
    inputs = [cache.x] + list(cache.h)            # h⁽⁰⁾ = x, h⁽¹⁾, …

    # The top factor(s): the lecture's row vector (ŷ - y)ᵀ, which already includes softmax's
    # Jacobian (for mse, ŷ = z⁽ᴸ⁾ and it is exactly ∂f/∂ŷ); or, strictly, ∂f/∂ŷ then softmax's Jacobian.
    top, top_name = _top_factors(net, cache.y_hat, Y, strict)

    # Walking down from ŷ: for the layer below the output, ∂ŷ/∂h = W_L, then ∂h/∂z = diag(act'(z)),
    # then ∂z/∂h_below = W, … Each entry: the factors that carry ∂f down to z⁽ˡ⁾.
    down_to_z = {L: top}
    for l in range(L - 1, 0, -1):                 # l: the hidden layer whose z we reach
        above = top_name if l == L - 1 else z_names[l + 1]
        down_to_z[l] = down_to_z[l + 1] + [
            (f"∂{above}/∂{h_names[l]}", net.weights[l]),
            (f"∂{h_names[l]}/∂{z_names[l]}", np.diag(net.act_prime(cache.z[l - 1]))),
        ]

    factors, products, grad_W, grad_b = {}, {}, [], []
    for l in range(1, L + 1):
        z_here = top_name if l == L else z_names[l]
        m = net.layer_sizes[l]
        for name, last in ((f"W{l}", (f"∂{z_here}/∂W{l}", block_matrix(inputs[l - 1], m))),
                           (f"b{l}", (f"∂{z_here}/∂b{l}", np.eye(m, dtype=net.dtype)))):
            chain = down_to_z[l] + [last]
            row = chain[0][1]
            for _, matrix in chain[1:]:
                row = row @ matrix
            factors[name], products[name] = chain, row
        grad_W.append(products[f"W{l}"].reshape(net.weights[l - 1].shape))
        grad_b.append(products[f"b{l}"].reshape(net.biases[l - 1].shape))
    return JacobianChain(weights=grad_W, biases=grad_b, factors=factors, products=products)
