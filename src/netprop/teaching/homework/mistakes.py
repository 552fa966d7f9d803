"""The mistakes students make, in words they understand, how each is recognised in one block of
numbers, and the line of their code where it can be located."""

from __future__ import annotations

import re

import numpy as np

from ..gradcheck import rel_error

SENTENCES = {
    "sum": "n times too large: summed over the n examples where the lecture's loss takes the mean (divide by n)",
    "mean_twice": "n times too small: divided by n twice",
    "scaled": "off by a constant factor of {factor:.4g}",
    "sign": "the sign is flipped: return ∇f itself (the SGD step subtracts it)",
    "transposed": "transposed: ∇W must be stored like W in your vector; this block holds its transpose",
    "reversed": "gradient blocks packed last layer first while your unpack reads the first layer first "
                "(reverse the lists before np.hstack, or insert(0, …) as you go down)",
    "order": "W and b blocks packed in another order than your unpack reads them",
    "bias_scalar": "∇b is one number per layer: np.sum without axis= adds up the units too; sum over the "
                   "examples only",
    "bias_per_example": "∇b has one value per example: summed over the units instead of over the examples "
                        "(the other axis)",
    "l2_missing": "L2 missing from ∇W: your loss adds (λ/2)·Σ‖W‖² with λ = {lam:.4g}, so ∇W needs + λ·W",
    "l2_grad_only": "L2 added to the gradient but not to the loss: ∇W has + {c:.4g}·W{source}, while your "
                    "loss has no (λ/2)·Σ‖W‖² term",
    "l2_strength": "L2 of another strength in ∇W than in your loss: ∇W has + {c:.4g}·W, your loss's λ = {lam:.4g} "
                   "gives λ·W{relation}",
    "l2_on_biases": "L2 applied to the biases: only the weights are penalised, ∇b has no λ·b term",
    "prime_on_h": "act' evaluated on h instead of z: the derivative takes the pre-activation, act'(z)",
    "act_not_prime": "⊙ act(z) (that is, h) where ⊙ act'(z) belongs",
    "no_prime": "δ never multiplied by act'(z) on its way down (as if act were the identity)",
    "act_swapped": "act and act' swapped: act'(z) used as the activation (h = act'(z)) and act(z) as its "
                   "derivative (δ ⊙ act(z) on the way down)",
    "prime_as_act": "act'(z) used as the activation: h = act(z) on the way up (act' belongs on the way down only)",
    "softmax_axis": "softmax over the wrong axis: each example's c scores must sum to 1, not each class over "
                    "the examples",
    "no_propagation": "δ not propagated through W: the hidden layer used ŷ − y instead of (Wᵀ δ) ⊙ act'(z)",
    "w_not_transposed": "δ propagated through W where Wᵀ belongs (the layer below gets Wᵀ δ; with examples "
                        "as rows, δ W)",
    "other_data": "computed from other data than the x passed in: ∇W1's rows are not combinations of those x",
    "relu_in_place": "ReLU applied in place, so the z's you return are the h's (z[z < 0] = 0 changes z itself; "
                     "write h = np.maximum(z, 0))",
    "loss_sum": "the loss is summed over the n examples; the lecture's loss is the mean (divide by n)",
    "loss_n_c": "the loss is divided by n·c (np.mean over all n·c entries); the lecture divides by n only",
    "loss_mean_twice": "the loss is divided by n twice",
    "loss_over_c": "the loss is divided by c, the number of classes (a mean over the wrong axis); the lecture "
                   "divides by n, the number of examples",
    "loss_l2": "the loss's L2 term has λ = {lam:.4g} where --l2 says {want:.4g} (the lecture's term is (λ/2)·Σ‖W‖²)",
    "uses_last_forward": "the gradient uses what the last call of your loss function left in globals, not the "
                         "x, y and weights it is given (it is right only just after the loss was computed on "
                         "the same arguments): compute those values inside the gradient function",
    "modifies_input": "{function} changed the {argument} it was given: the caller's array changes too "
                      "(work on a copy: W = W - …, not W -= …)",
}

# Each mistake in a few words, without the case's numbers: what a class summary counts.
TITLES = {
    "sum": "∇ summed over the examples where the mean belongs", "mean_twice": "∇ divided by n twice",
    "scaled": "∇ off by a constant factor", "sign": "∇ with the sign flipped", "transposed": "∇W transposed",
    "reversed": "∇ blocks packed last layer first", "order": "∇ blocks packed in another order",
    "bias_scalar": "∇b summed over every axis (one number)", "bias_per_example": "∇b summed over the wrong axis",
    "l2_missing": "L2 in the loss, missing from ∇W", "l2_grad_only": "L2 in ∇W, missing from the loss",
    "l2_strength": "L2 of another strength in ∇W than in the loss", "l2_on_biases": "L2 applied to the biases",
    "prime_on_h": "act' taken on h instead of z", "act_not_prime": "act(z) where act'(z) belongs",
    "no_prime": "act' missing on the way down", "act_swapped": "act swapped with act'",
    "prime_as_act": "act'(z) used as the activation",
    "softmax_axis": "softmax over the wrong axis",
    "no_propagation": "δ not propagated through W", "w_not_transposed": "δ propagated through W where Wᵀ belongs",
    "other_data": "∇ computed from other data", "relu_in_place": "ReLU applied in place (z's are h's)",
    "loss_sum": "loss summed instead of averaged", "loss_n_c": "loss divided by n·c",
    "loss_mean_twice": "loss divided by n twice", "loss_over_c": "loss divided by c instead of n",
    "loss_l2": "loss's L2 of another strength",
    "modifies_input": "a function changes the arrays it is given",
    "uses_last_forward": "∇ from what the last loss call left in globals",
}


# Errors that code written for an older NumPy raises under NumPy 2: what changed, in a few words.
_NUMPY_CHANGES = (
    (r"module 'numpy' has no attribute '(int|float|bool|object|complex|str)'",
     "np.{0} was removed in NumPy 1.24: write {0} (the Python type) or np.{0}64"),
    (r"indices must be integers or slices, not numpy\.bool",
     "a NumPy bool is no longer an index (NumPy 2): write int(condition), or np.where / np.maximum"),
    (r"module 'numpy' has no attribute '(Inf|NaN|NINF|PINF|infty)'",
     "np.{0} was removed in NumPy 2: write np.inf or np.nan"),
)


def numpy_hint(error_text):
    """'; np.int was removed in NumPy 1.24: …' where an error is one NumPy 2 raises on older code, else ''."""
    for pattern, hint in _NUMPY_CHANGES:
        found = re.search(pattern, error_text)
        if found:
            return "; " + hint.format(*found.groups())
    return ""


def title(key):
    """The few words a class summary counts key under."""
    if "+" in key:
        return " and ".join(title(part) for part in key.split("+"))
    base = key.split(":")[0]
    if base == "prime_of":
        return "another activation's derivative"
    return TITLES.get(base, base)


def prime_sentence(key, activation):
    if key.startswith("prime_of:"):
        return f"the wrong activation's derivative: {key[len('prime_of:'):]}'(z) where {activation}'(z) belongs"
    return None


def close(a, b, tol):
    return rel_error(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)) <= tol


def scale_and_l2(u, r0, P):
    """(a, c, residual) with u ≈ a·r0 + c·P by least squares (P the W or b the block penalises)."""
    A = np.stack([np.ravel(r0), np.ravel(P)], axis=1)
    coef, *_ = np.linalg.lstsq(A, np.ravel(u), rcond=None)
    fit = A @ coef
    return float(coef[0]), float(coef[1]), rel_error(fit, np.ravel(u))


def name_scale(a, n, c_classes):
    """The mistake that a factor a on the data part of a gradient or loss means, or None."""
    factors = [("sum", n), ("mean_twice", 1.0 / n), ("sign", -1.0), ("n_c", 1.0 / c_classes)]
    if n != c_classes:
        factors.append(("over_c", n / c_classes))        # divided by c where n belongs
    for key, factor in factors:
        if abs(a - factor) <= 1e-6 * abs(factor):
            return key
    return None


def l2_relation(c, lam, n, sources):
    """', that is λ/n' and the like: how the gradient's L2 strength c relates to the loss's λ or the
    module's own λ-like numbers."""
    for label, factor in (("λ/n", 1.0 / n), ("2λ", 2.0), ("λ/2", 0.5), ("λ·n", float(n))):
        if lam > 0 and abs(c - factor * lam) <= 1e-6 * abs(c):
            return f" ({label})"
    for name, value in sources.items():
        for label, factor in (("", 1.0), ("/n", 1.0 / n), ("·2", 2.0), ("/2", 0.5)):
            if value > 0 and abs(c - factor * value) <= 1e-6 * abs(c):
                return f" ({name}{label})"
    return ""


# --- where in the student's code -------------------------------------------------------------

_PATTERNS = {
    "relu_in_place": (r"\[\s*\w+\s*<=?\s*0\s*\]\s*=\s*0|maximum\([^)]*out\s*=|\bclip\([^)]*out\s*=", "any"),
    "bias_scalar": (r"np\.sum\(\s*[^,()]+(\([^()]*\))?[^,()]*\)\s*($|[#/*+-])|np\.mean\(\s*[^,()]+\)\s*$|"
                    r"\.sum\(\s*\)|\.mean\(\s*\)", "backward"),
    "bias_per_example": (r"sum\([^)]*axis\s*=|\.sum\(\s*axis\s*=|mean\([^)]*axis\s*=", "backward"),
    "softmax_axis": (r"exp\(.*(sum|max)\(|sum\(.*exp\(", "any"),
    "loss_sum": (r"log\(", "forward"),
    "loss_n_c": (r"log\(", "forward"),
    "loss_mean_twice": (r"log\(", "forward"),
    "loss_over_c": (r"log\(|mean\(", "forward"),
    "l2_grad_only": (r"(alpha|lam|lmbda|reg|l2|decay|penalty|beta)\w*\s*\*|\*\s*(alpha|lam|lmbda|reg|l2)", "backward"),
    "l2_strength": (r"(alpha|lam|lmbda|reg|l2|decay|penalty|beta)\w*\s*\*|\*\s*(alpha|lam|lmbda|reg|l2)", "backward"),
    "l2_on_biases": (r"(alpha|lam|lmbda|reg|l2|decay|penalty|beta)\w*\s*\*\s*\w*b", "backward"),
    "reversed": (r"hstack|concatenate|append\(", "backward"),
    "uses_last_forward": (r"^\s*global\s", "forward"),
    # the activation's own definition (def relu(…), not def relu_prime(…)): its body is the derivative's
    "act_swapped": (r"^\s*def\s+(?!d_|\w*(prime|deriv|grad|back))(\w*_)?(relu|sigmoid|logistic|tanh|gelu|identity|"
                    r"activation|act\b|act_)\w*\s*\(", "any"),
    # the forward's call of the derivative (h = relu_prime(z))
    "prime_as_act": (r"(prime|deriv)\w*\s*\(", "forward"),
    # a ∇W line (dW2 = …, grad_W1 = …, gw1 = …) with a product and no division or mean: the sum
    "sum": (r"^(?!.*(/|mean\(|average\())\s*\w*(d|grad|g)\w*w\w*(\s*=[^=]|\.append\().*"
            r"(dot\(|@|matmul\(|outer\()", "backward"),
    # a ∇W line with a division or a mean: one of the two divisions by n
    "mean_twice": (r"^\s*\w*(d|grad|g)\w*w\w*(\s*=[^=]|\.append\().*(/|mean\(|average\()", "backward"),
    "w_not_transposed": (r"(dot\(\s*W\w*\[[^\]]*\]\s*,)|(W\w*\[[^\]]*\]\s*@)|(@\s*W\w*\[[^\]]*\]\s*\.T)", "backward"),
}


def locate(key, source_text, spans, argument=None):
    """The 1-based line of source_text where mistake key most likely is, or None.

    spans: {"forward": (first, last), "backward": (first, last)} line ranges of the student's functions.
    """
    lines = source_text.splitlines()
    key = key.split("+")[0]               # several mistakes in one quantity: the first one's line
    if key == "modifies_input" and argument:
        pattern, where = (rf"\b{re.escape(argument)}\s*(\[[^\]]*\])?\s*([-+*/]=|=(?!=))", "caller")
        where = argument_span(spans)
    elif key in _PATTERNS:
        pattern, where = _PATTERNS[key]
    else:
        return None
    first, last = spans.get(where, (1, len(lines))) if isinstance(where, str) else where
    for number in range(first, min(last, len(lines)) + 1):
        code = lines[number - 1].split("#")[0]
        if key == "modifies_input" and re.match(rf"\s*{re.escape(argument)}\s*=[^=]", code):
            continue              # rebinding the name is no change to the caller's array
        if re.search(pattern, code, re.I):
            return number
    return None


def argument_span(spans):
    return spans.get("changed_in", (1, 10 ** 9))
