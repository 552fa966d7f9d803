"""Checking a student's own forward_prop and back_prop against netprop, and naming the mistake.

``check(path)`` imports the student's module (running its code), calls its forward and backward
functions on seeded cases (small random networks of several depths, then real Fashion-MNIST
images at the module's own sizes) and compares every output with netprop's float64 numbers:
the loss, every z, every h, ŷ, and each gradient block separately.  Where a block disagrees, the
student's numbers are compared with the same computation carrying one known mistake at a time
(a sum instead of a mean, L2 on the biases, act' taken on h, softmax over the examples, …); the
mistake that reproduces them is named.

The defaults follow the course's exercise (netprop.teaching.course): examples as columns, one-hot label
columns, the flat vector W1, W2, …, b1, b2, …, functions ``forward_prop(x, y, weightsAndBiases)``
returning ``loss, zs, hs, yhat`` and ``back_prop(x, y, weightsAndBiases)`` returning the flat
gradient, and the sizes read from the module's NUM_INPUT, NUM_HIDDEN, NUM_HIDDEN_LAYERS and
NUM_OUTPUT, which the check sets for each case (the course's code reads them when it unpacks).
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .course import ORDERS, block_slices, course_layer_sizes, join_vector, split_vector
from ..core.activations import ACTIVATIONS
from ..core.losses import softmax
from .gradcheck import rel_error
from ..core.network import Network

LAYOUTS = ("columns", "rows")
SIZE_NAMES = ("NUM_INPUT", "NUM_HIDDEN", "NUM_HIDDEN_LAYERS", "NUM_OUTPUT")

# The known mistakes, each with the sentence that names it ("act" is replaced by the activation).
MISTAKES = {
    "sum": "n times too large: the sum over the n examples instead of the mean (divide by n)",
    "mean_twice": "n times too small: divided by n twice",
    "l2_on_biases": "L2 applied to the biases: only the weights are penalised, ∇b has no l2·b term",
    "l2_missing": "L2 missing: (l2/2)·Σ‖W‖² belongs in the loss and l2·W in every ∇W",
    "l2_double": "L2 twice too strong: the loss's term is (l2/2)·Σ‖W‖², so ∇W gets l2·W, not 2·l2·W",
    "prime_on_h": "act' evaluated on h instead of z: the derivative takes the pre-activation, act'(z)",
    "act_not_prime": "the wrong activation's derivative: ⊙ act(z) (that is, h) where ⊙ act'(z) belongs",
    "no_prime": "the wrong activation's derivative: δ never multiplied by act'(z) (as if act were the identity)",
    "softmax_axis": "softmax over the wrong axis: each example's c scores must sum to 1, not each class "
                    "over the examples",
    "transposed": "a weight matrix transposed: ∇W = δ hᵀ has W's shape (out, in); this block holds h δᵀ",
    "order": "W and b blocks packed in the wrong order",
    "sign": "the sign is flipped: back_prop must return ∇f itself (the SGD step subtracts it)",
    "no_propagation": "δ not propagated through W: the hidden layer used ŷ − y instead of (Wᵀ δ) ⊙ act'(z)",
    "other_data": "a gradient computed from a second forward pass on other data: ∇W1's rows are not "
                  "combinations of the x passed in",
}
# Computed variants of the reference, tried in this order when a block disagrees.
_VARIANTS = ("sum", "mean_twice", "l2_on_biases", "l2_missing", "l2_double", "prime_on_h", "act_not_prime", "no_prime",
             "softmax_axis", "no_propagation")


class CheckError(ValueError):
    """The student's module cannot be checked (does not import, lacks a function, wrong shape): one line."""


@dataclass
class Row:
    """One compared quantity: loss, z1, h1, yhat, W1, b1, … (W1 meaning ∇W1 here)."""

    name: str
    shape: tuple
    error: float
    ok: bool
    mistake: str | None = None


@dataclass
class CaseResult:
    """One seeded case: what was run and each quantity's comparison (or the exception it raised)."""

    title: str
    rows: list = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self):
        return self.error is None and all(r.ok for r in self.rows)


@dataclass
class CheckReport:
    """The outcome of check(): passed is True only when every case ran and every quantity agreed."""

    path: str
    forward: str
    backward: str
    layout: str
    order: str
    l2: float
    activation: str
    tolerance: float
    cases: list = field(default_factory=list)

    @property
    def passed(self):
        return bool(self.cases) and all(c.passed for c in self.cases)

    def mistakes(self):
        """{mistake key: ["∇W1 (case 1)", …]}: every named mistake and where it showed."""
        found = {}
        for k, case in enumerate(self.cases, start=1):
            for row in case.rows:
                if row.mistake:
                    found.setdefault(row.mistake, []).append(f"{_label(row.name)} (case {k})")
        return found

    def describe(self, key):
        """The sentence naming mistake key, in this check's activation and parameter order."""
        if key.startswith("prime_of:"):
            return (f"the wrong activation's derivative: {key[len('prime_of:'):]}'(z) where "
                    f"{self.activation}'(z) belongs")
        text = MISTAKES[key].replace("act'", f"{self.activation}'").replace("act(", f"{self.activation}(")
        if key == "order":
            first, interleaved = "weights-first W1, W2, …, b1, b2, …", "interleaved W1, b1, W2, b2, …"
            other, wanted = (interleaved, first) if self.order == "weights-first" else (first, interleaved)
            text += f" ({other} where {wanted} is expected; --order sets which your exercise wants)"
        return text

    def text(self):
        """The report as the command prints it: a table per case, the mistakes named, a verdict."""
        found = self.mistakes()
        marks = {key: f"[{chr(ord('a') + k)}]" for k, key in enumerate(found)}
        lines = [f"netprop check {self.path}: {self.forward} and {self.backward} against netprop "
                 f"(float64); {self.layout} layout, {self.order} parameters, {self.activation}, "
                 f"l2 = {self.l2:g}, tolerance {self.tolerance:g}"]
        for k, case in enumerate(self.cases, start=1):
            lines += ["", f"case {k}: {case.title}"]
            if case.error:
                lines.append(f"  ERROR: {case.error}")
                continue
            lines.append(f"  {'quantity':<8}  {'shape':<10}  {'rel. error':>10}  verdict")
            for r in case.rows:
                verdict = ("ok" if r.ok else f"WRONG {marks[r.mistake]}" if r.mistake
                           else "WRONG, no known mistake matches")
                lines.append(f"  {_label(r.name):<8}  {str(r.shape):<10}  {r.error:>10.2e}  {verdict}")
        if found:
            lines += ["", "mistakes found:"]
            for key, where in found.items():
                shown = ", ".join(where[:6]) + (f", … ({len(where)} in all)" if len(where) > 6 else "")
                lines.append(f"  {marks[key]} {self.describe(key)}")
                lines.append(f"      in {shown}")
        bad = sum(not r.ok for c in self.cases for r in c.rows) + sum(c.error is not None for c in self.cases)
        total = sum(len(c.rows) for c in self.cases) + sum(c.error is not None for c in self.cases)
        lines += ["", "PASSED: every quantity agrees with netprop" if self.passed
                  else f"FAILED: {bad} of {total} comparisons disagree or did not run"]
        return "\n".join(lines)

    def to_json(self):
        return {"path": self.path, "passed": self.passed, "layout": self.layout, "order": self.order,
                "l2": self.l2, "activation": self.activation, "tolerance": self.tolerance,
                "mistakes": {k: {"description": self.describe(k), "where": v} for k, v in self.mistakes().items()},
                "cases": [{"title": c.title, "error": c.error,
                           "rows": [{"name": r.name, "shape": list(r.shape),
                                     "rel_error": r.error if np.isfinite(r.error) else None, "ok": r.ok,
                                     "mistake": r.mistake} for r in c.rows]} for c in self.cases]}

    def __str__(self):
        return self.text()


def _label(name):
    """"∇W1" for a gradient block, the name itself for loss, z1, h1, yhat."""
    return name if name in ("loss", "yhat") or name[0] in "zh" else "∇" + name


# --- the student's module --------------------------------------------------------------


def load_module(path):
    """Import the Python file at path (this runs its top-level code) and return the module."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise CheckError(f"{path}: not a file")
    if not path.is_file():
        raise CheckError(f"{path}: no such file")
    name = f"_netprop_check_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CheckError(f"{path}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))     # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        raise CheckError(f"{path} failed to import: {_where(exc, path)}") from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _where(exc, path):
    """'KeyError: 3 (line 12)': the exception and the last line of the student's file it passed through."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == Path(path)]
    return text + (f" (line {lines[-1]})" if lines else "")


def _function(module, name, flag, path):
    fn = getattr(module, name, None)
    if fn is None:
        raise CheckError(f"{path} has no function {name} (name yours with {flag} NAME)")
    if not callable(fn):
        raise CheckError(f"{path}: {name} is not a function")
    return fn


# --- the reference and its known mistakes --------------------------------------------------


def _reference(weights, biases, X, Y, activation, l2):
    """netprop's numbers in float64, rows layout: (loss, zs, hs, y_hat, gradients as {name: array})."""
    net = Network([weights[0].shape[1]] + [W.shape[0] for W in weights], activation=activation, seed=0)
    net.weights = [W.copy() for W in weights]
    net.biases = [b.copy() for b in biases]
    loss, grads = net.gradients(X, Y, l2)
    cache = net.forward(X)
    return loss, cache.z, cache.h, cache.y_hat, grads.named()


def _variant(weights, biases, X, Y, activation, l2, mistake):
    """(loss, y_hat, gradients {name: array}) of the computation carrying one known mistake, or None
    where the mistake cannot run on these shapes (ŷ − y at a hidden layer of another width)."""
    act, act_prime = ACTIVATIONS[activation]
    n, L = len(X), len(weights)
    h, zs, hs = X, [], [X]
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = h @ W.T + b
        zs.append(z)
        if l < L - 1:
            h = act(z)
            hs.append(h)
    y_hat = softmax(zs[-1].T).T if mistake == "softmax_axis" else softmax(zs[-1])
    with np.errstate(divide="ignore"):
        data_loss = -float((Y * np.log(y_hat)).sum()) / n
    penalty = 0.5 * l2 * sum(float((W * W).sum()) for W in weights)
    if mistake == "l2_on_biases":
        penalty += 0.5 * l2 * sum(float((b * b).sum()) for b in biases)
    elif mistake == "l2_missing":
        penalty = 0.0
    elif mistake == "l2_double":
        penalty *= 2.0
    l2_factor = {"l2_missing": 0.0, "l2_double": 2.0}.get(mistake, 1.0)
    scale = {"sum": 1.0, "mean_twice": 1.0 / n ** 2}.get(mistake, 1.0 / n)
    loss = data_loss * n * scale + penalty
    delta = (y_hat - Y) * scale
    output_delta = delta
    grads = {}
    for l in reversed(range(L)):
        grads[f"W{l + 1}"] = delta.T @ hs[l] + l2_factor * l2 * weights[l]
        grads[f"b{l + 1}"] = delta.sum(axis=0) + (l2 * biases[l] if mistake == "l2_on_biases" else 0.0)
        if l == 0:
            break
        if mistake == "no_propagation":
            if output_delta.shape != zs[l - 1].shape:
                return None
            back = output_delta
        else:
            back = delta @ weights[l]
        z = zs[l - 1]
        if mistake.startswith("prime_of:"):
            prime = ACTIVATIONS[mistake[len("prime_of:"):]][1](z)
        elif mistake == "prime_on_h":
            prime = act_prime(hs[l])
        elif mistake == "act_not_prime":
            prime = act(z)
        elif mistake == "no_prime":
            prime = np.ones_like(z)
        else:
            prime = act_prime(z)
        delta = back * prime
    return loss, y_hat, grads


# --- one case ----------------------------------------------------------------------------


@dataclass
class _Case:
    title: str
    sizes: list
    X: np.ndarray             # (n, d), rows
    labels: np.ndarray        # (n,)
    weights: list
    biases: list


def _random_case(title, sizes, n, rng):
    """A network with random W (uniform, wider than the course's start) and random b, random x and labels."""
    weights = [rng.uniform(-2, 2, size=(o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0, 0.3, size=o) for o in sizes[1:]]
    X = rng.normal(size=(n, sizes[0]))
    return _Case(title, sizes, X, rng.integers(0, sizes[-1], size=n), weights, biases)


def _image_case(sizes, n, rng, data_dir):
    """n Fashion-MNIST test images scaled to [0, 1], with the course's initial weights; None without the data."""
    from ..data import FASHION_MNIST_FILES, DataError, find_fashion_mnist, read_idx

    try:
        directory = find_fashion_mnist(data_dir, download=False)
        images = read_idx(directory / FASHION_MNIST_FILES["test_images"][0]).reshape(-1, 784)
        labels = read_idx(directory / FASHION_MNIST_FILES["test_labels"][0])
    except (DataError, OSError, ValueError) as exc:
        if data_dir is not None:           # asked for by name: a silent skip would hide the typo
            raise CheckError(str(exc)) from None
        return None
    idx = rng.choice(len(images), size=n, replace=False)
    net = Network(sizes, init="course", seed=int(rng.integers(2 ** 31)))
    labels = labels[idx].astype(np.int64) % sizes[-1]
    return _Case(f"{n} Fashion-MNIST images, {'-'.join(map(str, sizes))} with the course's initial weights",
                 sizes, images[idx] / 255.0, labels, net.weights, net.biases)


def _cases(module, sizes, seed, data_dir, images):
    rng = np.random.default_rng(seed)
    own = None
    if all(hasattr(module, name) for name in SIZE_NAMES):
        try:
            own = course_layer_sizes(*(getattr(module, name) for name in SIZE_NAMES))
        except (TypeError, ValueError) as exc:
            raise CheckError(f"the module's {', '.join(SIZE_NAMES)} do not describe a network: {exc}") from None
    if sizes is None and own is None:
        raise CheckError(f"the module defines none of {', '.join(SIZE_NAMES)}; give the layer sizes "
                         f"your functions expect with --sizes (e.g. 784,10,10)")
    cases = []
    if sizes is None:
        # Several depths; the second has hidden layers as wide as the output, where code that uses
        # ŷ − y at a hidden layer (or W where Wᵀ belongs) runs and can be named.
        for title, shape in (("1 hidden layer", [6, 5, 4]), ("2 hidden layers", [7, 4, 4, 4]),
                             ("3 hidden layers", [5, 6, 6, 6, 4])):
            cases.append(_random_case(f"random {'-'.join(map(str, shape))} ({title}), 3 examples", shape, 3, rng))
    else:
        cases.append(_random_case(f"random weights, {'-'.join(map(str, sizes))}, 3 examples", sizes, 3, rng))
    target = sizes or own
    if images and target[0] == 784:
        image_case = _image_case(target, 8, rng, data_dir)
        if image_case is not None:
            cases.append(image_case)
    return cases


def _set_sizes(module, sizes):
    """Point the module's NUM_* at this case's network; returns what to restore."""
    saved = {name: getattr(module, name) for name in SIZE_NAMES if hasattr(module, name)}
    if saved:
        hidden = sizes[1:-1]
        if len(set(hidden)) > 1:
            raise CheckError(f"sizes {'-'.join(map(str, sizes))} have hidden layers of different widths, "
                             f"which NUM_HIDDEN cannot describe")
        module.NUM_INPUT, module.NUM_OUTPUT = sizes[0], sizes[-1]
        module.NUM_HIDDEN_LAYERS = len(hidden)
        module.NUM_HIDDEN = hidden[0] if hidden else 0
    return saved


def _layout(a, layout):
    """An (n, k) array as the student's functions take it: (k, n) for columns."""
    return np.ascontiguousarray(a.T if layout == "columns" else a)


def _from_layout(a, layout):
    return a.T if layout == "columns" else a


def _numeric(value, what, fn_name):
    """value as a float64 array, or CheckError naming the function and the quantity."""
    if value is None:                 # np.asarray(None, float) is nan, which would read as a wrong number
        raise CheckError(f"{fn_name} returned None for {what}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckError(f"{fn_name} returned {what} that is not an array of numbers "
                         f"({type(value).__name__})") from None


def _shaped(value, what, expected, layout, fn_name):
    arr = _numeric(value, what, fn_name)
    if arr.shape != expected:
        if arr.shape == expected[::-1] and len(expected) == 2:
            other = "rows" if layout == "columns" else "columns"
            raise CheckError(f"{fn_name} returned {what} with shape {arr.shape}, expected {expected} in the "
                             f"{layout} layout; it looks like the {other} layout (--layout {other})")
        raise CheckError(f"{fn_name} returned {what} with shape {arr.shape}, expected {expected}")
    return arr


def _run_case(case, forward, backward, names, layout, order, activation, l2, tolerance, path):
    n, sizes, L = len(case.X), case.sizes, len(case.weights)
    Y = np.eye(sizes[-1])[case.labels]
    x_in, y_in = _layout(case.X, layout), _layout(Y, layout)
    theta = join_vector(case.weights, case.biases, order)
    ref_loss, ref_z, ref_h, ref_y_hat, ref_grads = _reference(case.weights, case.biases, case.X, Y, activation, l2)
    result = CaseResult(case.title)

    try:
        out = forward(x_in.copy(), y_in.copy(), theta.copy())
    except (Exception, SystemExit) as exc:  # the student's code: any error, sys.exit() too, is the case's line
        result.error = f"{names[0]} raised {_where(exc, path)}"
        return result
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        got = f"{len(out)} values" if isinstance(out, (tuple, list)) else type(out).__name__
        raise CheckError(f"{names[0]} returned {got}; expected 4: loss, zs, hs, yhat")
    loss, zs, hs, y_hat = out
    loss = _numeric(loss, "a loss", names[0])
    if loss.size != 1:
        raise CheckError(f"{names[0]} returned a loss of shape {loss.shape}; expected one number")
    if not isinstance(zs, (list, tuple)) or len(zs) != L:
        raise CheckError(f"{names[0]} returned {len(zs) if isinstance(zs, (list, tuple)) else type(zs).__name__} "
                         f"zs for {L} weight matrices; expected a list with one z per weight matrix")
    if not isinstance(hs, (list, tuple)) or len(hs) not in (L - 1, L):
        raise CheckError(f"{names[0]} returned {len(hs) if isinstance(hs, (list, tuple)) else type(hs).__name__} "
                         f"hs for {L - 1} hidden layers; expected one h per hidden layer (optionally then ŷ)")
    shape = lambda k: (k, n) if layout == "columns" else (n, k)
    rows = [("loss", (), rel_error(float(np.ravel(loss)[0]), ref_loss))]
    user = {"loss": float(np.ravel(loss)[0])}
    for l in range(L):
        z = user[f"z{l + 1}"] = _from_layout(_shaped(zs[l], f"zs[{l}]", shape(sizes[l + 1]), layout,
                                                      names[0]), layout)
        rows.append((f"z{l + 1}", shape(sizes[l + 1]), rel_error(z, ref_z[l])))
    if L > 1 and np.shape(hs[0]) == x_in.shape != shape(sizes[1]):
        raise CheckError(f"{names[0]} returned hs[0] with the shape of x {x_in.shape}; hs holds one h per hidden "
                         f"layer, h1 first, without the input x")
    for l in range(L - 1):
        h = user[f"h{l + 1}"] = _from_layout(_shaped(hs[l], f"hs[{l}]", shape(sizes[l + 1]), layout,
                                                      names[0]), layout)
        rows.append((f"h{l + 1}", shape(sizes[l + 1]), rel_error(h, ref_h[l])))
    user["yhat"] = _from_layout(_shaped(y_hat, "yhat", shape(sizes[-1]), layout, names[0]), layout)
    rows.append(("yhat", shape(sizes[-1]), rel_error(user["yhat"], ref_y_hat)))

    try:
        grad = backward(x_in.copy(), y_in.copy(), theta.copy())
    except (Exception, SystemExit) as exc:
        result.error = f"{names[1]} raised {_where(exc, path)}"
        return result
    grad = _numeric(grad, "a gradient", names[1])
    if grad.ndim != 1 or grad.size != theta.size:
        raise CheckError(f"{names[1]} returned shape {grad.shape}; expected a flat vector of {theta.size} "
                         f"values (all of ∇W and ∇b for layers {'-'.join(map(str, sizes))})")
    slices = block_slices(sizes, order)
    blocks = {name: grad[s] for name, s in slices.items()}
    param_names = [f"{p}{l + 1}" for p in "Wb" for l in range(L)]
    for name in param_names:
        r = ref_grads[name]
        rows.append((name, r.shape, rel_error(blocks[name].reshape(r.shape), r)))

    variants = {}

    def variant(key):
        if key not in variants:
            if key == "order":
                variants[key] = _misread(theta, case, Y, activation, l2, order, slices)
            else:
                variants[key] = _variant(case.weights, case.biases, case.X, Y, activation, l2, key)
        return variants[key]

    for name, shape_, error in rows:
        row = Row(name, tuple(shape_), error, error <= tolerance)
        if not row.ok:
            row.mistake = _name_mistake(name, user, blocks, ref_grads, case, Y, grad, slices, variant,
                                        order, activation, l2, tolerance)
        result.rows.append(row)
    return result


def _misread(theta, case, Y, activation, l2, order, slices):
    """Every quantity as computed by code that reads and writes the flat vector in the other order:
    {"loss": …, "z1": …, "h1": …, "yhat": …, "W1": block as found where W1 belongs, …}."""
    other = [o for o in ORDERS if o != order][0]
    weights, biases = split_vector(theta, case.sizes, other)
    loss, zs, hs, y_hat, grads = _reference(weights, biases, case.X, Y, activation, l2)
    L = len(weights)
    vector = join_vector([grads[f"W{l + 1}"] for l in range(L)], [grads[f"b{l + 1}"] for l in range(L)], other)
    out = {name: vector[s] for name, s in slices.items()}
    out.update({f"z{l + 1}": z for l, z in enumerate(zs)}, loss=loss, yhat=y_hat)
    out.update({f"h{l + 1}": h for l, h in enumerate(hs)})
    return out


def _name_mistake(name, user, blocks, ref_grads, case, Y, grad, slices, variant, order, activation, l2, tol):
    """The key of the known mistake that reproduces the student's value of quantity name, or None."""
    close = lambda a, b: rel_error(a, b) <= tol
    misread = variant("order")
    if close(user[name] if name in user else blocks[name], misread[name]):
        return "order"
    if name in ("loss", "yhat"):
        for key in ("softmax_axis", "sum", "mean_twice", "l2_on_biases", "l2_missing", "l2_double"):
            v = variant(key)
            if v is not None and close(user[name], v[0] if name == "loss" else v[1]):
                return key
        return None
    if name[0] in "zh":
        return None
    r = ref_grads[name]
    u = blocks[name].reshape(r.shape)
    other = [o for o in ORDERS if o != order][0]
    try:
        W_other, b_other = split_vector(grad, case.sizes, other)
        if all(close(p, ref_grads[f"W{l + 1}"]) for l, p in enumerate(W_other)) and \
                all(close(p, ref_grads[f"b{l + 1}"]) for l, p in enumerate(b_other)):
            return "order"
    except ValueError:
        pass
    if close(u, -r):
        return "sign"
    if name[0] == "W" and close(blocks[name].reshape(r.shape[::-1]).T, r):
        return "transposed"
    for key in _VARIANTS + tuple(f"prime_of:{a}" for a in ACTIVATIONS if a != activation):
        v = variant(key)
        if v is not None and close(u, v[2][name]):
            return key
    for key in ("sum", "mean_twice"):            # the whole gradient scaled, the L2 term with it
        n = len(case.X)
        factor = n if key == "sum" else 1.0 / n
        if close(u, factor * r):
            return key
    if name == "W1" and _outside_span(u, case.X, tol, case.weights[0]):
        return "other_data"
    return None


def _outside_span(gW1, X, tol, W1):
    """True when the rows of ∇W1 (m, d), less some multiple of W1, are not combinations of the n example
    inputs (only testable for n < d).

    ∇W1 = δ xᵀ summed over the examples, so each row lies in the span of the x's passed in; the L2
    term c·W1 does not, whatever c the student's code used (a wrong c is another mistake, not other data).
    """
    n, d = X.shape
    if n >= d:
        return False
    Q, _ = np.linalg.qr(X.T)                   # an orthonormal basis of the examples' span, (d, n)
    residual = gW1 - (gW1 @ Q) @ Q.T
    B = W1 - (W1 @ Q) @ Q.T
    if (B * B).sum() > 0:
        residual = residual - ((residual * B).sum() / (B * B).sum()) * B
    return np.linalg.norm(residual) > max(tol, 1e-9) * max(np.linalg.norm(gW1), 1e-300)


# --- the entry point -----------------------------------------------------------------------


def check(module, forward="forward_prop", backward="back_prop", layout="columns", order="weights-first",
          l2=0.0, activation="relu", sizes=None, seed=0, tolerance=1e-6, images=True, data_dir=None):
    """Compare a student's forward and backward functions with netprop; returns a CheckReport.

    module:     a path to a .py file (imported: its code runs) or an imported module
    forward:    name of ``forward(x, y, theta) -> (loss, zs, hs, yhat)``; zs one (out, n) array per W,
                hs one per hidden layer (a trailing ŷ is accepted), yhat (c, n) (columns layout)
    backward:   name of ``backward(x, y, theta) -> ∇theta``, a flat (P,) vector laid out like theta
    layout:     "columns": x (d, n), y one-hot (c, n); "rows": x (n, d), y (n, c)
    order:      "weights-first" (W1, W2, …, b1, b2, …) or "interleaved" (W1, b1, W2, …); each W (out, in)
    l2:         the L2 strength the module's loss uses: f = mean cross-entropy + (l2/2)·Σ‖W‖²
    sizes:      layer sizes [d, m, …, c] when the module has no NUM_* globals (they override them)
    tolerance:  largest relative error ‖u − r‖/(‖u‖ + ‖r‖) that agrees

    Raises CheckError (one line) when the module cannot be checked at all.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not np.isfinite(l2) or l2 < 0:
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    if sizes is not None and (len(sizes) < 2 or any(int(s) < 1 for s in sizes)):
        raise ValueError(f"sizes must be at least two positive layer sizes, got {sizes}")
    path = module if isinstance(module, (str, Path)) else getattr(module, "__file__", None) or "<module>"
    if isinstance(module, (str, Path)):
        module = load_module(module)
    fns = (_function(module, forward, "--forward", path), _function(module, backward, "--backward", path))
    report = CheckReport(str(path), forward, backward, layout, order, float(l2), activation, tolerance)
    cases = _cases(module, list(sizes) if sizes is not None else None, seed, data_dir, images)
    own = [getattr(module, name, None) for name in SIZE_NAMES]
    for case in cases:
        saved = _set_sizes(module, case.sizes)
        try:
            with np.errstate(all="ignore"):
                report.cases.append(_run_case(case, *fns, (forward, backward), layout, order, activation,
                                              l2, tolerance, path))
        finally:
            for name, value in saved.items():
                setattr(module, name, value)
    if None not in own:
        # Raising only where the check changed NUM_*: most likely a size computed from them at import.
        own = course_layer_sizes(*own)
        at_own = [r.error is None for c, r in zip(cases, report.cases) if c.sizes == own]
        if at_own and all(at_own):
            for c, r in zip(cases, report.cases):
                if r.error is not None and c.sizes != own:
                    r.error += (f" (the check set {', '.join(SIZE_NAMES)} to this case's sizes; a size computed "
                                f"from them when your file is imported keeps its old value: compute it inside "
                                f"your functions, or check only your own sizes with --sizes)")
    if all(c.error is not None for c in report.cases):
        raise CheckError(f"{report.cases[0].error} (in every case; first: {report.cases[0].title})")
    return report

