"""The derivation as one ordered document: the lecture's sections, in the lecture's order, once.

Every format (text, Markdown, LaTeX, HTML, JSON) walks the list ``build_document`` returns; a
renderer decides how a block looks, never which blocks there are or in what order. Labels are
written in the lecture's notation (W1, ŷ, ∂f/∂ŷ, (ŷ − y)ᵀ, ⊙); each renderer turns them into its
own markup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..jacobian import layer_names


def as_matrix(value):
    """Any vector or matrix of the derivation as a 2-D float64 array; a vector (n,) becomes one row (1, n)."""
    return np.atleast_2d(np.asarray(value, dtype=np.float64))


def _listed(a):
    return np.asarray(a, dtype=np.float64).tolist()


@dataclass(frozen=True)
class Heading:
    """A title (level 1), a section (2) or a parameter's part of section 2 (3)."""

    level: int
    text: str

    def to_dict(self):
        return {"type": "heading", "level": self.level, "text": self.text}


@dataclass(frozen=True)
class Note:
    """A sentence of prose; it may hold lecture notation such as (ŷ − y)ᵀ."""

    text: str

    def to_dict(self):
        return {"type": "note", "text": self.text}


@dataclass(frozen=True)
class Formula:
    """symbol = formula, with no numbers: ∂f/∂W1 = ∂f/∂ŷ · ∂ŷ/∂h · ∂h/∂z · ∂z/∂W1."""

    symbol: str
    formula: str

    def to_dict(self):
        return {"type": "formula", "symbol": self.symbol, "formula": self.formula}


@dataclass(frozen=True)
class Value:
    """A labelled number, vector or matrix: [caption:] symbol [= formula] = value.

    caption: words (None for none); symbol: lecture notation (None for none);
    value: a float, a (n,) vector (a column in the lecture; ``vector`` is then True) or an (r, c) matrix.
    """

    caption: str | None
    symbol: str | None
    value: object
    formula: str | None = None
    vector: bool = False

    @property
    def scalar(self):
        return np.ndim(self.value) == 0

    def to_dict(self):
        return {"type": "value", "caption": self.caption, "symbol": self.symbol, "formula": self.formula,
                "vector": self.vector, "value": _listed(self.value)}


@dataclass(frozen=True)
class Chain:
    """The Jacobian factors (label, matrix) in the order multiplied, and the row vector they multiply to."""

    factors: tuple
    product: object

    def to_dict(self):
        return {"type": "chain", "factors": [{"label": label, "matrix": _listed(m)} for label, m in self.factors],
                "product": _listed(self.product)}


@dataclass(frozen=True)
class Difference:
    """The largest absolute difference between witnesses that should agree ("the three", "the two sides")."""

    between: str
    value: float

    def to_dict(self):
        return {"type": "difference", "between": self.between, "value": self.value}


@dataclass(frozen=True)
class Figure:
    """The network as the lecture draws it: forward values on the nodes, ∂f/∂W on the edges.

    sizes: [d, …, c]; values[l]: the layer's (n_l,) values, x first and ŷ last; edge_gradients[l]: ∂f/∂W(l+1),
    (n_(l+1), n_l). Only formats that draw show it (HTML); the others hold the same numbers elsewhere.
    """

    sizes: tuple
    values: tuple
    edge_gradients: tuple

    def to_dict(self):
        return {"type": "figure", "sizes": list(self.sizes), "values": [_listed(v) for v in self.values],
                "edge_gradients": [_listed(g) for g in self.edge_gradients]}


def loss_formula(loss):
    """The loss as the lecture writes it, for the net's loss name ("cross_entropy" or "mse")."""
    return "−Σ_k y_k log ŷ_k" if loss == "cross_entropy" else "½ ‖ŷ − y‖²"


def forward_rows(d):
    """(symbol, formula, value) of forward propagation from x to ŷ, then y; formula None for the givens."""
    L = len(d.weights)
    z_names, h_names = layer_names(L)
    act = d.network["activation"]
    out_act = "softmax" if d.network["loss"] == "cross_entropy" else "identity"
    rows = [("x", None, d.x)]
    for l in range(1, L + 1):
        affine = f"W{l} {h_names[l - 1]} + b{l}"
        if l < L:
            rows.append((z_names[l], affine, d.forward["z"][l - 1]))
            rows.append((h_names[l], f"{act}({z_names[l]})", d.forward["h"][l - 1]))
        else:
            # the output layer's pre-activation has no name in the lecture; number it like the others
            rows.append((f"z{L}", affine, d.forward["z"][l - 1]))
            rows.append(("ŷ", f"{out_act}({affine})", d.forward["y_hat"]))
    rows.append(("y", None, d.y))
    return rows


def build_document(d):
    """The derivation d (a Derivation) as an ordered list of blocks, in the lecture's order."""
    sizes = "-".join(map(str, d.network["sizes"]))
    output = ("softmax output with cross-entropy" if d.network["loss"] == "cross_entropy"
              else "identity output with half squared error")
    doc = [Heading(1, f"Derivation for the {sizes} network"),
           Note(f"Hidden activation {d.network['activation']}; {output}. Vectors are columns."),
           Figure(tuple(d.network["sizes"]), tuple([d.x] + d.forward["h"] + [d.forward["y_hat"]]),
                  tuple(d.gradients[f"W{l}"]["backprop"] for l in range(1, len(d.weights) + 1))),
           Heading(2, "Parameters")]
    for l, (W, b) in enumerate(zip(d.weights, d.biases), start=1):
        doc += [Value(None, f"W{l}", W), Value(None, f"b{l}", b, vector=True)]

    doc.append(Heading(2, "1. Forward propagation"))
    for symbol, formula, value in forward_rows(d):
        doc.append(Value(None, symbol, value, formula=formula, vector=True))
    doc.append(Value(None, "f", d.forward["loss"], formula=loss_formula(d.network["loss"])))

    doc.append(Heading(2, "2. Every gradient three ways: the Jacobian chain, the backprop shortcut, "
                          "and central finite differences"))
    for name, g in d.gradients.items():
        doc += [Heading(3, f"Gradient of {name}"),
                Formula(f"∂f/∂{name}", g["formula"]),
                Chain(tuple((f["label"], f["matrix"]) for f in g["factors"]), g["product"]),
                Value(f"reshaped to {name}'s shape", "chain", g["chain"]),
                Value(None, g["delta_name"], g["delta"], vector=True),
                Value("backprop", g["backprop_formula"], g["backprop"]),
                Value("finite differences", None, g["finite_difference"]),
                Difference("the three", g["max_abs_difference"])]

    if d.simplifications:
        doc.append(Heading(2, "3. The lecture's two simplifications, numerically"))
        for s in d.simplifications:
            doc += [Note(s["name"] + ":"),
                    Value(None, s["lhs_formula"], s["lhs"]),
                    Value(None, s["rhs_formula"], s["rhs"]),
                    Difference("the two sides", s["max_abs_difference"])]
    return doc
