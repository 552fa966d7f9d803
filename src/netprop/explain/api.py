"""The live lecture's JSON: one validated state in, every number from netprop out.

A *state* is what a page (or a notebook widget) shows: the network's sizes, activation, loss and
seed, the values of x, y, W and b, and whether the chain is the lecture's or the strict one.
``parse_state`` checks a state as a browser sends it (JSON, or the page's URL query) and raises
``ApiError`` with one line naming what was wrong; ``lecture`` computes the forward pass, every
Jacobian chain, backprop and finite differences (through ``derive``) and lists the steps the page
walks through. Nothing is computed in the browser: the page only draws these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import numpy as np

from ..teaching.derive import MAX_LAYERS, MAX_UNITS, Derivation
from ..core.activations import ACTIVATIONS
from ..core.losses import LOSSES
from ..teaching.derive.tex import tex
from ..teaching.jacobian import block_matrix, layer_names
from ..core.network import Network

MAX_ABS_VALUE = 1e6      # larger inputs or weights make a page of overflowing exponentials, not a lecture
MAX_SEED = 2**32 - 1
# The lecture's starting network: seed 7 gives the 2-2-3 relu net one dead unit (z₂ < 0, so h₂ = 0 and
# relu'(z₂) = 0 masks its gradient), which seed 0 (both units on, ∂h/∂z = I) hides.
DEFAULT_SEED = 7
FORMATS = {"text": ("text/plain", "txt"), "markdown": ("text/markdown", "md"),
           "latex": ("application/x-latex", "tex"), "html": ("text/html", "html"),
           "json": ("application/json", "json")}

FOLD_NOTE = (
    "The lecture writes ∂f/∂ŷ = (ŷ − y)ᵀ: that row folds the softmax into the loss, so strictly it is "
    "∂f/∂z{L}, and the next factor “∂ŷ/∂h” then stands for ∂z{L}/∂h = W{L}. The strict chain keeps "
    "the softmax Jacobian ∂ŷ/∂z{L} = diag(ŷ) − ŷŷᵀ as its own factor, after ∂f/∂ŷ = −(y ⊘ ŷ)ᵀ: "
    "each factor is then exactly what autodiff gives for its label, and the product is the same."
)


class ApiError(ValueError):
    """A request the lecture cannot answer: its message is one line for the page, status 400."""


@dataclass
class State:
    """One lecture state. sizes: [d, m, …, c]; x: (d,); y: a label (cross-entropy) or (c,) (mse);
    weights[l]: (sizes[l+1], sizes[l]); biases[l]: (sizes[l+1],)."""

    sizes: list
    activation: str = "relu"
    loss: str = "cross_entropy"
    seed: int = DEFAULT_SEED
    strict: bool = False
    x: np.ndarray = None
    y: object = None
    weights: list = field(default_factory=list)
    biases: list = field(default_factory=list)

    def network(self):
        """A float64 Network holding this state's W and b."""
        net = Network(self.sizes, activation=self.activation, loss=self.loss, dtype="float64")
        net.weights = [W.copy() for W in self.weights]
        net.biases = [b.copy() for b in self.biases]
        return net

    def to_dict(self):
        """The state as JSON-ready values (floats print back exactly: JSON keeps the shortest repr)."""
        return {"sizes": list(self.sizes), "activation": self.activation, "loss": self.loss,
                "seed": self.seed, "strict": self.strict, "x": self.x.tolist(),
                "y": self.y if isinstance(self.y, int) else self.y.tolist(),
                "weights": [W.tolist() for W in self.weights], "biases": [b.tolist() for b in self.biases]}


# --- validation -----------------------------------------------------------------------------


def _sizes(raw):
    if isinstance(raw, str):
        parts = [p.strip() for p in raw.split(",")]
    elif isinstance(raw, list):
        parts = raw
    else:
        raise ApiError("sizes must be a list of layer sizes like 2,2,3")
    try:
        sizes = [_integer(p, "sizes") for p in parts]
    except ApiError:
        raise ApiError(f"sizes must be whole numbers like 2,2,3, got {_show(raw)}") from None
    if len(sizes) < 2:
        raise ApiError(f"sizes needs at least an input and an output layer, got {_show(raw)}")
    if len(sizes) - 1 > MAX_LAYERS:
        raise ApiError(f"at most {MAX_LAYERS} weight matrices ({MAX_LAYERS + 1} layer sizes) fit the page, "
                       f"got {len(sizes) - 1}")
    for s in sizes:
        if not 1 <= s <= MAX_UNITS:
            raise ApiError(f"every layer needs 1 to {MAX_UNITS} units, got {s}")
    return sizes


def _show(raw, limit=40):
    text = raw if isinstance(raw, str) else repr(raw)
    return repr(text[:limit] + "…") if len(text) > limit else repr(text)


def _integer(raw, name):
    if isinstance(raw, bool):
        raise ApiError(f"{name} must be a whole number, got {_show(raw)}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise ApiError(f"{name} must be a whole number, got {_show(raw)}")


def _number(raw, where):
    """One finite float from a JSON number or a string the user typed."""
    if isinstance(raw, bool) or raw is None:
        raise ApiError(f"{where}: expected a number, got {_show(raw)}")
    if isinstance(raw, (int, float)):
        value = float(raw) if not isinstance(raw, int) or abs(raw) <= 2**1000 else math.inf
    elif isinstance(raw, str):
        try:
            value = float(raw.strip().replace("−", "-"))
        except ValueError:
            raise ApiError(f"{where}: {_show(raw)} is not a number") from None
    else:
        raise ApiError(f"{where}: expected a number, got {_show(raw)}")
    if not math.isfinite(value):
        raise ApiError(f"{where}: {_show(raw)} is not a finite number")
    if abs(value) > MAX_ABS_VALUE:
        raise ApiError(f"{where}: {value:g} is too large (at most {MAX_ABS_VALUE:g} in absolute value)")
    return value


def _vector(raw, n, name):
    if isinstance(raw, str):
        raw = raw.split(",") if raw.strip() else []
    if not isinstance(raw, list):
        raise ApiError(f"{name} must be a list of {n} numbers")
    if len(raw) != n:
        raise ApiError(f"{name} needs {n} values, got {len(raw)}")
    return np.array([_number(v, f"{name}[{i}]") for i, v in enumerate(raw)], dtype=np.float64)


def _matrix(raw, rows, cols, name):
    if isinstance(raw, str):
        raw = [row.split(",") for row in raw.split(";")]
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise ApiError(f"{name} must be a {rows} × {cols} matrix (a list of rows)")
    if len(raw) != rows or any(len(row) != cols for row in raw):
        got = f"{len(raw)} × {len(raw[0]) if raw else 0}" if raw and len({len(r) for r in raw}) == 1 else \
            f"{len(raw)} rows of lengths {sorted({len(r) for r in raw})}"
        raise ApiError(f"{name} must be {rows} × {cols} (rows = units of its layer, columns = inputs), got {got}")
    return np.array([[_number(v, f"{name}[{i},{j}]") for j, v in enumerate(row)] for i, row in enumerate(raw)],
                    dtype=np.float64)


def _flag(raw, name):
    if isinstance(raw, bool):
        return raw
    if raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in ("0", "1", "true", "false", ""):
        return raw.strip().lower() in ("1", "true")
    raise ApiError(f"{name} must be true or false, got {_show(raw)}")


def _target(raw, sizes, loss):
    c = sizes[-1]
    if loss == "cross_entropy":
        if isinstance(raw, list) or (isinstance(raw, str) and "," in raw):      # one-hot
            one_hot = _vector(raw, c, "y")
            if not (set(one_hot.tolist()) <= {0.0, 1.0} and one_hot.sum() == 1):
                raise ApiError("y must be one class (a one-hot vector with a single 1)")
            return int(one_hot.argmax())
        label = _integer(raw, "y (the true class)")
        if not 0 <= label < c:
            raise ApiError(f"y (the true class) must be 0..{c - 1}, got {label}")
        return label
    return _vector(raw, c, "y")


def seeded_state(sizes, activation="relu", loss="cross_entropy", seed=DEFAULT_SEED, strict=False):
    """The state ``netprop derive`` shows for these settings: W, b from Network's seed; x, y drawn after."""
    net = Network(sizes, activation=activation, loss=loss, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-1, 1, size=sizes[0]), 2)
    c = sizes[-1]
    y = int(rng.integers(0, c)) if loss == "cross_entropy" else np.round(rng.uniform(-1, 1, c), 2)
    return State(sizes=list(sizes), activation=activation, loss=loss, seed=seed, strict=strict,
                 x=x, y=y, weights=net.weights, biases=net.biases)


def parse_state(raw):
    """A State from a dict as the page or the widget sends it; raises ApiError naming the first problem.

    Keys: sizes (list or "2,2,3"), activation, loss, seed, strict, and optionally x (d,), y (label,
    one-hot or (c,) targets), weights [(m_l, m_{l-1}), …], biases [(m_l,), …], or single layers as
    W1, b1, … (matrices as "a,b;c,d" strings too, as in the page's URL). Values missing are
    drawn from the seed as ``derive`` draws them; values given must all be finite numbers (or
    strings of them). Unknown keys are ignored (the page keeps its view, e.g. the step, beside them).
    """
    if not isinstance(raw, dict):
        raise ApiError("the request must be a JSON object describing the lecture's state")
    sizes = _sizes(raw.get("sizes", [2, 2, 3]))
    activation = raw.get("activation", "relu")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ApiError(f"unknown activation {_show(activation)}; choose one of {', '.join(ACTIVATIONS)}")
    loss = raw.get("loss", "cross_entropy")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ApiError(f"unknown loss {_show(loss)}; choose one of {', '.join(LOSSES)}")
    if loss == "cross_entropy" and sizes[-1] < 2:
        raise ApiError("cross-entropy needs at least 2 classes (a softmax over one class is always 1)")
    seed = _integer(raw.get("seed", DEFAULT_SEED), "seed")
    if not 0 <= seed <= MAX_SEED:
        raise ApiError(f"seed must be 0..{MAX_SEED}, got {seed}")
    state = seeded_state(sizes, activation, loss, seed, _flag(raw.get("strict", False), "strict"))
    if raw.get("x") is not None:
        state.x = _vector(raw["x"], sizes[0], "x")
    if raw.get("y") is not None:
        state.y = _target(raw["y"], sizes, loss)
    for key, parse in (("weights", lambda v, l: _matrix(v, sizes[l], sizes[l - 1], f"W{l}")),
                       ("biases", lambda v, l: _vector(v, sizes[l], f"b{l}"))):
        given = raw.get(key)
        if given is None:
            continue
        if not isinstance(given, list) or len(given) != len(sizes) - 1:
            raise ApiError(f"{key} must be a list of {len(sizes) - 1} "
                           f"{'matrices' if key == 'weights' else 'vectors'}, one per layer")
        setattr(state, key, [parse(v, l) for l, v in enumerate(given, start=1)])
    # single layers by name (the URL's W1=…&b2=…), over the lists
    for letter, key, parse in (("W", "weights", lambda v, l: _matrix(v, sizes[l], sizes[l - 1], f"W{l}")),
                               ("b", "biases", lambda v, l: _vector(v, sizes[l], f"b{l}"))):
        for l in range(1, MAX_LAYERS + 2):
            if raw.get(f"{letter}{l}") is None:
                continue
            if l > len(sizes) - 1:
                raise ApiError(f"{letter}{l} is given but the network has {len(sizes) - 1} layers")
            getattr(state, key)[l - 1] = parse(raw[f"{letter}{l}"], l)
    return state


def state_from_query(query):
    """The dict parse_state takes, from the page's URL query (sizes=2,2,3&x=0.1,0.2&W1=a,b;c,d&…)."""
    params = dict(parse_qsl(query, keep_blank_values=True)) if isinstance(query, str) else dict(query)
    keys = ["sizes", "activation", "loss", "seed", "strict", "x", "y"]
    keys += [f"{letter}{l}" for l in range(1, MAX_LAYERS + 2) for letter in "Wb"]
    return {k: params[k] for k in keys if k in params}


def state_to_query(state):
    """The URL query that gives this state back exactly (repr keeps every float's digits)."""
    vec = lambda v: ",".join(repr(float(a)) for a in v)
    params = {"sizes": ",".join(map(str, state.sizes)), "activation": state.activation, "loss": state.loss,
              "seed": str(state.seed), "strict": "1" if state.strict else "0", "x": vec(state.x),
              "y": str(state.y) if isinstance(state.y, int) else vec(state.y)}
    for l, (W, b) in enumerate(zip(state.weights, state.biases), start=1):
        params[f"W{l}"] = ";".join(vec(row) for row in W)
        params[f"b{l}"] = vec(b)
    return urlencode(params, safe=",;")


# --- the lecture ------------------------------------------------------------------------------


def derivation(state):
    """netprop's Derivation of this state (the lecture's chain, or the strict one)."""
    return Derivation(state.network(), state.x, state.y, strict=state.strict)


def _delta_names(L):
    """δ of each layer as the slides name it: g (g1, g2, … when deeper) below, ŷ − y at the top."""
    return ["g" if L == 2 else f"g{l}" for l in range(1, L)] + ["ŷ − y"]


def _transposed(name):
    return f"({name})ᵀ" if " " in name else f"{name}ᵀ"


def _hadamard(net, cache, deltas, names, k):
    """The step that defines δ_k: (δ_{k+1}ᵀ W_{k+1}) · diag(act'(z_k)) equals (δ_{k+1}ᵀ W_{k+1}) ⊙ act'(z_kᵀ).

    Its operands (the row δ_{k+1}ᵀ W_{k+1} and act'(z_k)) travel with it, so the page shows both factors.
    """
    z_names, _ = layer_names(net.n_layers)
    act, above_t = net.activation, _transposed(names[k])
    row = (deltas[k] @ net.weights[k])[None, :]
    d = net.act_prime(cache.z[k - 1])
    lhs, rhs = row @ np.diag(d), row * d
    return {"kind": "hadamard", "layer": k, "title": f"diagonal Jacobian → Hadamard product: {names[k - 1]}",
            "lhs_formula": f"({above_t} W{k + 1}) · diag({act}'({z_names[k]}))",
            "rhs_formula": f"({above_t} W{k + 1}) ⊙ {act}'({z_names[k]}ᵀ)",
            "operands": [{"formula": f"{above_t} W{k + 1}", "value": row.tolist()},
                         {"formula": f"{act}'({z_names[k]}ᵀ)", "value": d[None, :].tolist()}],
            "result": f"{names[k - 1]}ᵀ", "lhs": lhs.tolist(), "rhs": rhs.tolist(),
            "max_abs_difference": float(np.abs(lhs - rhs).max())}


def _outer(net, inputs, deltas, names, l):
    """The step from the chain to the shortcut for W_l: reshape(δ_lᵀ · ∂z_l/∂W_l) equals δ_l h_{l-1}ᵀ."""
    L = net.n_layers
    z_names, h_names = layer_names(L)
    g, m = names[l - 1], net.layer_sizes[l]
    lhs = (deltas[l - 1][None, :] @ block_matrix(inputs[l - 1], m)).reshape(m, -1)
    rhs = np.outer(deltas[l - 1], inputs[l - 1])
    z_here = "z" + str(L) if l == L else z_names[l]
    g_col = f"({g})" if " " in g else g
    return {"kind": "outer", "layer": l, "title": "block matrix → outer product",
            "lhs_formula": f"reshape({_transposed(g)} · ∂{z_here}/∂W{l})", "rhs_formula": f"{g_col} {h_names[l - 1]}ᵀ",
            "operands": [{"formula": g_col, "value": deltas[l - 1][:, None].tolist()},
                         {"formula": f"{h_names[l - 1]}ᵀ", "value": inputs[l - 1][None, :].tolist()}],
            "result": f"∇W{l} f", "lhs": lhs.tolist(), "rhs": rhs.tolist(),
            "max_abs_difference": float(np.abs(lhs - rhs).max())}


def _simplifications(net, state, deltas, names):
    """Per parameter, the lecture's steps from its chain to the shortcut, with numbers.

    Every δ the shortcut uses is defined first, top down: for W_l and b_l a Hadamard step for each
    hidden layer k = L−1 … l (δ_k from δ_{k+1}), then for W_l the outer product δ_l h_{l-1}ᵀ.
    """
    cache = net.forward(state.x)
    L = net.n_layers
    inputs = [cache.x] + list(cache.h)
    out = {}
    for l in range(1, L + 1):
        steps = [_hadamard(net, cache, deltas, names, k) for k in range(L - 1, l - 1, -1)]
        out[f"W{l}"] = steps + [_outer(net, inputs, deltas, names, l)]
        out[f"b{l}"] = list(steps)
    return out


def _lights(nodes, edges):
    """What the diagram lights at a step: node columns (0 = x, L = ŷ) and edge layers (l = W_l's edges)."""
    return {"nodes": sorted(set(nodes)), "edges": sorted(set(edges))}


def _factor_lights(name, l, L, n_top):
    """The nodes or edges of each factor of name's chain: the output's δ; per layer below, the edges of
    W of the layer above (∂z/∂h) and the layer's own units (diag(act'(z)) = ∂h/∂z); then ∂z/∂W_l on W_l's
    edges, or ∂z/∂b_l on layer l's units."""
    below = [_lights([], [L - k // 2]) if k % 2 == 0 else _lights([L - k // 2 - 1], []) for k in range(2 * (L - l))]
    last = _lights([], [l]) if name.startswith("W") else _lights([l], [])
    return [_lights([L], [])] * n_top + below + [last]


def _forward_steps(state):
    L = len(state.sizes) - 1
    z_names, h_names = layer_names(L)
    out_act = "softmax" if state.loss == "cross_entropy" else "identity"
    steps = []
    for l in range(1, L + 1):
        if l < L:
            steps.append({"kind": "affine", "layer": l, "lights": _lights([l - 1, l], [l]),
                          "title": f"layer {l}: weighted sum",
                          "equation": f"{z_names[l]} = W{l} {h_names[l - 1]} + b{l}", "out": z_names[l],
                          "in": h_names[l - 1]})
            steps.append({"kind": "activation", "layer": l, "lights": _lights([l], []),
                          "title": f"layer {l}: activation",
                          "equation": f"{h_names[l]} = {state.activation}({z_names[l]})", "out": h_names[l],
                          "in": z_names[l]})
        else:
            steps.append({"kind": "output", "layer": l, "lights": _lights([l - 1, l], [l]), "title": "output layer",
                          "equation": f"ŷ = {out_act}(W{l} {h_names[l - 1]} + b{l})", "out": "ŷ",
                          "in": h_names[l - 1]})
    loss = "f = −Σₖ yₖ log ŷₖ" if state.loss == "cross_entropy" else "f = ½ ‖ŷ − y‖²"
    steps.append({"kind": "loss", "layer": L, "lights": _lights([L], []), "title": "loss", "equation": loss,
                  "out": "f"})
    return steps


def _factor_notes(d, name, l, L, n_top):
    """One sentence per factor of name's chain: what the matrix is, and where the lecture folds the softmax."""
    act = d.network["activation"]
    z_names, h_names = layer_names(L)
    m = d.network["sizes"][l]
    ce = d.network["loss"] == "cross_entropy"
    if not ce:
        top = [f"= (ŷ − y)ᵀ: with the mean-squared error ŷ = z{L} (no softmax), so this is exactly ∂f/∂ŷ."]
    elif n_top == 1:
        top = [f"= (ŷ − y)ᵀ. The lecture folds the softmax in here: this row is strictly ∂f/∂z{L}, "
               f"not ∂f/∂ŷ (the strict chain shows the two apart)."]
    else:
        top = ["= −(y ⊘ ŷ)ᵀ: the cross-entropy's own derivative in ŷ, zero but at the true class.",
               "= diag(ŷ) − ŷŷᵀ: the softmax Jacobian. Times the first factor it is the lecture's (ŷ − y)ᵀ."]
    below = []
    for k in range(2 * (L - l)):
        layer = L - k // 2 - k % 2
        if k % 2 == 0:
            z_here = f"z{L}" if layer == L else z_names[layer]
            folded = (f" With the softmax folded into the first factor this is ∂z{L}/∂{h_names[layer - 1]}, "
                      f"not a Jacobian of ŷ." if ce and n_top == 1 and layer == L else "")
            below.append(f"= W{layer}: {z_here} = W{layer} {h_names[layer - 1]} + b{layer}.{folded}")
        else:
            below.append(f"= diag({act}'({z_names[layer]})): each unit's activation depends only on its own "
                         f"pre-activation.")
    if name.startswith("W"):
        last = (f"the {m} × {m}·{d.network['sizes'][l - 1]} block matrix with {h_names[l - 1]}ᵀ on its diagonal "
                f"blocks: unit i's pre-activation depends on row i of W{l} only.")
    else:
        last = f"the {m} × {m} identity: each bias enters its own unit's pre-activation once."
    if ce and n_top == 1 and l == L:
        last += f" (Strictly ∂z{L}/∂{name}: the softmax is folded into the first factor.)"
    return top + below + [last]


def _backward_steps(d, simplifications, L):
    out = {}
    for l in range(1, L + 1):
        for name in (f"W{l}", f"b{l}"):
            grad = d.gradients[name]
            n = len(grad["factors"])
            n_top = n - 1 - 2 * (L - l)              # 1, or 2 with the strict chain's softmax factor
            # the layer each factor belongs to (the diagram lights it): the output's; then per layer below,
            # W of the layer above (∂z/∂h) and the layer's own diag(act'(z)) (∂h/∂z); then l's ∂z/∂W or ∂z/∂b
            layers = [L] * n_top + [L - k // 2 - k % 2 for k in range(2 * (L - l))] + [l]
            notes = _factor_notes(d, name, l, L, n_top)
            lights = _factor_lights(name, l, L, n_top)
            own = _lights([], [l]) if name.startswith("W") else _lights([l], [])
            # fold: the lecture folds the softmax into its first factor (the page shows the note there)
            steps = [{"kind": "factor", "param": name, "index": i, "layer": layers[i], "lights": lights[i],
                      "fold": d.network["loss"] == "cross_entropy" and i < n_top,
                      "title": f"factor {i + 1} of {n}: {f['label']}", "equation": f["label"], "note": notes[i]}
                     for i, f in enumerate(grad["factors"])]
            steps.append({"kind": "product", "param": name, "layer": l, "lights": own, "title": "the product",
                          "equation": f"∂f/∂{name} = {grad['formula']}"})
            steps.append({"kind": "reshape", "param": name, "layer": l, "lights": own,
                          "title": f"reshape to {name}'s shape",
                          "equation": f"∇{name} f = reshape(∂f/∂{name})"})
            for i, s in enumerate(simplifications[name]):
                k = s["layer"]
                lit = _lights([k], [k + 1]) if s["kind"] == "hadamard" else _lights([k - 1, k], [k])
                steps.append({"kind": s["kind"], "param": name, "layer": k, "lights": lit, "index": i,
                              "title": s["title"], "equation": f"{s['lhs_formula']} = {s['rhs_formula']}"})
            steps.append({"kind": "compare", "param": name, "layer": l, "lights": own,
                          "title": "chain, backprop, finite differences",
                          "equation": f"∇{name} f = {grad['backprop_formula']}"})
            out[name] = steps
    return out


def _start_note(net, state):
    """The sentence beside "start here": which hidden units are dead for this example, and what that shows."""
    cache = net.forward(state.x)
    dead = [(l, i) for l, z in enumerate(cache.z[:-1], start=1) for i, d in enumerate(net.act_prime(z)) if d == 0]
    if not dead and net.activation != "relu":
        return ""
    if not dead:
        return (f"Every hidden unit is active for this x, so ∂h/∂z has no zero on its diagonal; a seed such as "
                f"{DEFAULT_SEED} (for 2-2-3 relu) shows a dead one.")
    z_names, _ = layer_names(net.n_layers)
    units = ", ".join(f"unit {i + 1} of {z_names[l]}" for l, i in dead)
    return (f"For this x, {units} {'is' if len(dead) == 1 else 'are'} dead ({net.activation}' = 0 there): watch "
            f"its zero on the diagonal of ∂h/∂z mask the gradient, on the diagram and in the Hadamard step.")


# The loss equations, as derive's LaTeX writes them (tex() reads the page's Unicode labels, not these).
_LOSS_TEX = {"f = −Σₖ yₖ log ŷₖ": r"f = -\sum_k y_k \log \hat{y}_k",
             "f = ½ ‖ŷ − y‖²": r"f = \tfrac{1}{2} \lVert \hat{y} - y \rVert^{2}"}


def _with_tex(steps):
    """Each step with equation_tex: its equation in LaTeX (derive's tex()), which the page typesets with KaTeX."""
    for step in steps:
        step["equation_tex"] = _LOSS_TEX.get(step["equation"]) or tex(step["equation"]).replace("∇", r"\nabla ")
    return steps


def lecture(state):
    """Everything the lecture view shows for a state, as one JSON-ready dict.

    Keys: state (the validated values), query (the URL that reproduces it), derivation (derive's
    JSON: forward, gradients with their factors, backprop, finite differences), names (z, h and δ
    labels), simplifications (per parameter), steps ({"forward": […], "backward": {param: […]}}),
    params (W1, b1, …), fold_note (the lecture's softmax fold, explained).
    """
    net = state.network()
    d = derivation(state)
    L = net.n_layers
    if state.strict and state.loss == "cross_entropy":
        p_true = d.forward["y_hat"][state.y]
        if p_true == 0 or not np.isfinite(1.0 / p_true):
            raise ApiError(f"the strict chain cannot be shown here: ŷ{state.y} underflowed to {p_true:.3g}, so its "
                           f"first factor −y/ŷ is infinite (the lecture's chain, strict off, has no such division)")
    z_names, h_names = layer_names(L)
    deltas = [np.asarray(d.gradients[f"b{l}"]["backprop"]) for l in range(1, L + 1)]
    names = _delta_names(L)
    simplifications = _simplifications(net, state, deltas, names)
    return {
        "state": state.to_dict(),
        "query": state_to_query(state),
        "derivation": d.to_dict(),
        "names": {"z": [*z_names[1:], f"z{L}"], "h": h_names, "delta": names},
        "simplifications": simplifications,
        "steps": {"forward": _with_tex(_forward_steps(state)),
                  "backward": {p: _with_tex(s) for p, s in _backward_steps(d, simplifications, L).items()}},
        "params": [f"{k}{l}" for l in range(1, L + 1) for k in "Wb"],
        "start_note": _start_note(net, state),
        "fold_note": FOLD_NOTE.format(L=L) if state.loss == "cross_entropy" else
        "With the mean-squared error ŷ = z{L} (no softmax), so ∂f/∂ŷ = (ŷ − y)ᵀ is exact and the strict "
        "chain is the lecture's.".format(L=L),
        "limits": {"max_layers": MAX_LAYERS, "max_units": MAX_UNITS, "activations": list(ACTIVATIONS),
                   "losses": list(LOSSES), "formats": list(FORMATS)},
    }


def sgd_step(state, lr):
    """One step W ← W − lr·∇W f, b ← b − lr·∇b f on this state's example; the new state and f before/after.

    Returns (new_state, {"lr", "f_before", "f_after"}).
    """
    lr = _number(lr, "learning rate")
    if not 0 < lr <= 100:
        raise ApiError(f"learning rate must be in (0, 100], got {lr:g}")
    net = state.network()
    f_before = net.loss(state.x, state.y)
    grads = net.backward(net.forward(state.x), state.y)
    new = State(sizes=state.sizes, activation=state.activation, loss=state.loss, seed=state.seed,
                strict=state.strict, x=state.x, y=state.y,
                weights=[W - lr * gW for W, gW in zip(net.weights, grads.weights)],
                biases=[b - lr * gb for b, gb in zip(net.biases, grads.biases)])
    largest = max(float(np.abs(a).max()) for a in new.weights + new.biases)
    if not largest <= MAX_ABS_VALUE:
        raise ApiError(f"this step would take a parameter to {largest:.3g} (beyond {MAX_ABS_VALUE:g}): "
                       f"take a smaller learning rate")
    f_after = new.network().loss(state.x, state.y)
    return new, {"lr": lr, "f_before": float(f_before), "f_after": float(f_after)}


def export(state, fmt):
    """(text, media type, file extension) of this state's derivation in one of derive's formats."""
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ApiError(f"unknown format {_show(fmt)}; choose one of {', '.join(FORMATS)}")
    media, ext = FORMATS[fmt]
    return derivation(state).render(fmt), media, ext
