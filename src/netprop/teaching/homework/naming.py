"""Naming a mistake in one case: netprop's numbers and its one-mistake variants (Context), and the
mistake that reproduces the student's loss, whole gradient vector or one gradient block."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from . import mistakes as M
from .layouts import VectorLayout, pack
from .reference import FORWARD_VARIANTS, VARIANTS, other_activations, reference, variant


@dataclass
class Context:
    """What naming a mistake in one case needs: the case, netprop's numbers, variants on demand."""

    case: object
    lam: float
    options: object            # engine.Options
    loss_scale: float | None
    loss_lam: float | None
    lam_sources: dict

    def __post_init__(self):
        X, Y = self.case.X, self.case.one_hot()
        self.ref = reference(self.case.weights, self.case.biases, X, Y, self.options.activation, self.lam)
        self.grads = self.ref[4]
        self.data_grads = reference(self.case.weights, self.case.biases, X, Y, self.options.activation, 0.0)[4]
        self._variants = {}
        self.facts = {}

    def variant(self, key):
        if key not in self._variants:
            self._variants[key] = variant(self.case.weights, self.case.biases, self.case.X, self.case.one_hot(),
                                          self.options.activation, self.lam, key)
        return self._variants[key]

    def describe(self, key):
        if "+" in key:                    # several mistakes in one quantity, each said
            return "; and ".join(self.describe(part) for part in key.split("+"))
        act = self.options.activation
        if key.startswith("prime_of:"):
            return M.prime_sentence(key, act)
        text = M.SENTENCES.get(key, key)
        text = re.sub(r"\bact\b", act, text)        # act, act', act(z): the activation's name
        return text.format(**{"factor": 1.0, "lam": self.lam, "c": 0.0, "relation": "", "source": "",
                              "want": self.options.l2 or 0.0, **self.facts})


def loss_mistake(ctx, student_loss):
    if ctx.loss_scale is not None:
        key = M.name_scale(ctx.loss_scale, ctx.case.n, ctx.case.sizes[-1])
        if key in ("sum", "mean_twice", "n_c", "over_c"):
            return f"loss_{key}"
        if ctx.options.l2 is not None and abs(ctx.loss_scale - 1) < 1e-6 and ctx.loss_lam is not None:
            ctx.facts["lam"] = ctx.loss_lam
            return "loss_l2"
    losses = [(key, ctx.variant(key)[0]) for key in FORWARD_VARIANTS if ctx.variant(key)]
    for key, loss in losses:
        if M.close(student_loss, loss, ctx.options.tolerance):
            return key
    # two mistakes in one loss: a forward variant's (the softmax's axis, …) and then another divisor than n
    for key, loss in losses:
        scale = M.name_scale(student_loss / loss, ctx.case.n, ctx.case.sizes[-1]) if loss else None
        if scale in ("sum", "mean_twice", "n_c", "over_c"):
            return f"{key}+loss_{scale}"
    return None


def forward_mistake(ctx, name, u):
    """The forward variant ("softmax_axis", "act_swapped") that reproduces the student's z_l, h_l or ŷ
    (name "z2", "h1", "yhat"), or None."""
    for key in FORWARD_VARIANTS:
        v = ctx.variant(key)
        if v is None:
            continue
        wanted = v[1] if name == "yhat" else (v[3] if name[0] == "z" else v[4])[int(name[1:]) - 1]
        if np.shape(u) == np.shape(wanted) and M.close(u, wanted, ctx.options.tolerance):
            return key
    return None


def settle(rows):
    """Rename "act_swapped" "prime_as_act" in rows where a gradient block showed the latter, and return the
    rows renamed: h = act'(z) gives both the same forward numbers (loss, z, h, ŷ, the last layer's
    blocks); only the hidden layers' blocks, δ ⊙ act(z) or δ ⊙ act'(z), tell them apart."""
    if not any("prime_as_act" in r.mistake.split("+") for r in rows if r.mistake):
        return []
    renamed = [r for r in rows if r.mistake and "act_swapped" in r.mistake.split("+")]
    for r in renamed:
        r.mistake = "+".join("prime_as_act" if part == "act_swapped" else part for part in r.mistake.split("+"))
    return renamed


def whole_vector_mistake(ctx, layout, vector, tol, bias_lengths=None):
    """'reversed' or 'order' where the whole gradient (or, beside ∇b blocks of another length, its W
    part) is netprop's packed another way."""
    W = [ctx.grads[f"W{l + 1}"] for l in range(len(ctx.case.weights))]
    b = [ctx.grads[f"b{l + 1}"] for l in range(len(ctx.case.weights))]
    if bias_lengths:
        if layout.order != "weights-first":
            return None
        stored = [(w.T if layout.orientation == "in,out" else w).ravel() for w in W]
        part = vector[:sum(w.size for w in W)]
        if M.close(part, np.concatenate(stored), tol) or not M.close(part, np.concatenate(stored[::-1]), tol):
            return None
        return "reversed"
    if M.close(vector, pack(W, b, layout), tol):
        return None
    for reverse in ("Wb", "W", "b"):
        if M.close(vector, pack(W, b, layout, reverse), tol):
            return "reversed"
    other = VectorLayout("interleaved" if layout.order == "weights-first" else "weights-first", layout.orientation)
    if M.close(vector, pack(W, b, other), tol):
        return "order"
    return None


def block_mistake(ctx, name, u, layout):
    """The key of the known mistake that reproduces the student's block, or None."""
    tol, r, case = ctx.options.tolerance, ctx.grads[name], ctx.case
    if M.close(u, -r, tol):
        return "sign"
    stored_in_out = layout.orientation == "in,out"
    raw = (u.T if stored_in_out else u).ravel()            # the block as the student's vector holds it
    if name[0] == "W" and M.close(raw, (r if stored_in_out else r.T).ravel(), tol):
        return "transposed"
    l = int(name[1:]) - 1
    param = case.weights[l] if name[0] == "W" else case.biases[l]
    a, c, residual = M.scale_and_l2(u, ctx.data_grads[name], param)
    if residual <= tol:
        key = _scale_key(ctx, name, a, c)
        if key:
            return key
    key = _variant_mistake(ctx, name, u)
    if key:
        return key
    if name == "W1" and _outside_span(u, case.X, tol, case.weights[0]):
        return "other_data"
    return None


def _variant_mistake(ctx, name, u):
    """The one-mistake variant of netprop's computation that reproduces the block, or that variant with
    the sum or a second division by n on top ("softmax_axis+sum"), or None."""
    tol, n = ctx.options.tolerance, ctx.case.n
    variants = [(key, ctx.variant(key)) for key in VARIANTS + other_activations(ctx.options.activation)]
    variants = [(key, v[2][name]) for key, v in variants if v is not None]
    for key, block in variants:
        if M.close(u, block, tol):
            return key
    for key, block in variants:
        for scale, factor in (("sum", n), ("mean_twice", 1.0 / n)):
            if M.close(u, factor * block, tol):
                return f"{key}+{scale}"
    return None


def _scale_key(ctx, name, a, c):
    """The mistake that ∇ = a·(netprop's data gradient) + c·(the penalised parameter) means, or None."""
    n = ctx.case.n
    key = M.name_scale(a, n, ctx.case.sizes[-1])
    if key in ("sum", "mean_twice", "sign"):
        return key
    if abs(a) < 1e-9:                  # a zero block is no scaled copy of anything
        return None
    if abs(a - 1) > 1e-6:
        ctx.facts["factor"] = a
        return "scaled"
    if name[0] == "b":
        return "l2_on_biases" if abs(c) > 1e-12 else None
    ctx.facts.update(c=c, lam=ctx.lam)
    if ctx.lam > 0 and abs(c) <= 1e-12:
        return "l2_missing"
    if ctx.lam == 0 and c > 0:
        relation = M.l2_relation(c, 0.0, n, ctx.lam_sources)
        ctx.facts["source"] = f" (that is {relation[2:-1]}·W)" if relation else ""
        return "l2_grad_only"
    ctx.facts["relation"] = M.l2_relation(c, ctx.lam, n, ctx.lam_sources)
    return "l2_strength"


def _outside_span(gW1, X, tol, W1):
    """True when the rows of ∇W1, less a multiple of W1, are not combinations of the n inputs (n < d only).

    ∇W1 = δ xᵀ summed over the examples, so each row lies in the span of the x's passed in; the L2
    term c·W1 does not, whatever c the student's code used."""
    n, d = X.shape
    if n >= d:
        return False
    Q, _ = np.linalg.qr(X.T)
    residual = gW1 - (gW1 @ Q) @ Q.T
    B = W1 - (W1 @ Q) @ Q.T
    if (B * B).sum() > 0:
        residual = residual - ((residual * B).sum() / (B * B).sum()) * B
    return np.linalg.norm(residual) > max(tol, 1e-9) * max(np.linalg.norm(gW1), 1e-300)
