"""Every number of the derivation, computed once: forward pass, Jacobian chains, backprop, finite differences."""

from __future__ import annotations

import json

import numpy as np

from ...training import step as fast
from ..gradcheck import numerical_gradient
from ..jacobian import jacobian_chain, layer_names
from .document import build_document
from .html import render_html
from .tex import render_latex, render_markdown
from .text import render_text

MAX_LAYERS = 4          # weight matrices
MAX_UNITS = 8           # units in any layer

FORMATS = ("text", "markdown", "latex", "html", "json")


def check_size(layer_sizes):
    """A derivation is for reading: refuse networks whose matrices no one could read.

    layer_sizes: [d, m1, …, c]. Raises ValueError beyond MAX_LAYERS weight matrices or MAX_UNITS units.
    """
    L = len(layer_sizes) - 1
    if L > MAX_LAYERS or max(layer_sizes) > MAX_UNITS:
        raise ValueError(
            f"network {'-'.join(map(str, layer_sizes))} is too large for a readable derivation: "
            f"at most {MAX_LAYERS} weight matrices and {MAX_UNITS} units per layer")


def delta_names(L):
    """The lecture's names of δ per layer, bottom to top: g (or g1, g2, …) below, ŷ − y at the output."""
    return ["g" if L == 2 else f"g{l}" for l in range(1, L)] + ["ŷ − y"]


def shortcut_formula(kind, delta, h_below):
    """The backprop shortcut of one parameter: δ h_belowᵀ for W, δ for b; (ŷ − y) keeps its parentheses."""
    if kind == "b":
        return delta
    return f"({delta}) {h_below}ᵀ" if " " in delta else f"{delta} {h_below}ᵀ"


class Derivation:
    """Every number of the derivation; its attributes are the JSON form's top-level keys.

    network: {"sizes", "activation", "loss"}; x: (d,); y: (c,) one-hot or target; weights[l]: (out, in);
    biases[l]: (out,); forward: {"z", "h", "y_hat", "loss"}; gradients: {"W1": {...}, "b1": {...}, …};
    simplifications: the lecture's two steps, numerically; document: the ordered blocks every format shows.
    """

    def __init__(self, net, x, y, strict=False):
        check_size(net.layer_sizes)
        net = net.copy(dtype="float64")
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (net.layer_sizes[0],):
            raise ValueError(f"x must be one example of {net.layer_sizes[0]} values, got shape {x.shape}")
        cache = net.forward(x)
        # y once as the (1, c) row of targets: handing the one-hot (c,) back to net would read it as
        # labels when c = 1
        Y = net.targets(y, 1)
        L = net.n_layers
        self.network = {"sizes": net.layer_sizes, "activation": net.activation, "loss": net.loss_name}
        self.x = x.tolist()
        self.y = Y[0].tolist()
        self.weights = [W.tolist() for W in net.weights]
        self.biases = [b.tolist() for b in net.biases]
        self.forward = {"z": [z.tolist() for z in cache.z], "h": [h.tolist() for h in cache.h],
                        "y_hat": cache.y_hat.tolist(), "loss": net.loss(x, Y)}

        chain = jacobian_chain(net, x, Y, strict=strict)
        grads = net.backward(cache, Y)
        params = list(net.named_parameters().values())
        x1 = x[None, :]

        def loss_unchecked():
            # x, y and the shapes were checked above: the 2·P evaluations skip net.loss's re-checks
            return fast.data_loss(net, fast.forward(net, x1), Y)

        numeric = numerical_gradient(loss_unchecked, params, eps=1e-6)
        z_names, h_names = layer_names(L)
        # For one example ∇b = δ (∇b2 = ŷ − y, ∇b1 = g), so backward already holds every δ.
        deltas = grads.biases
        names = delta_names(L)

        self.gradients = {}
        for l in range(1, L + 1):
            for kind, bp, num, ch in (("W", grads.weights[l - 1], numeric[2 * l - 2], chain.weights[l - 1]),
                                      ("b", grads.biases[l - 1], numeric[2 * l - 1], chain.biases[l - 1])):
                name = f"{kind}{l}"
                diffs = [np.abs(ch - bp).max(), np.abs(ch - num).max(), np.abs(bp - num).max()]
                self.gradients[name] = {
                    "formula": " · ".join(label for label, _ in chain.factors[name]),
                    "factors": [{"label": label, "shape": list(m.shape), "matrix": m.tolist()}
                                for label, m in chain.factors[name]],
                    "product": chain.products[name].tolist(),
                    "chain": ch.tolist(),
                    "backprop_formula": shortcut_formula(kind, names[l - 1], h_names[l - 1]),
                    "delta_name": names[l - 1],
                    "delta": deltas[l - 1].tolist(),
                    "backprop": bp.tolist(),
                    "finite_difference": num.tolist(),
                    "max_abs_difference": float(max(diffs)),
                }
        self.simplifications = _simplifications(net, cache, deltas, L, z_names)

        self.document = build_document(self)

    # --- forms ------------------------------------------------------------------------

    def to_dict(self):
        """The JSON form: plain lists and numbers; "document" holds the blocks as dicts with a "type"."""
        keys = ["network", "x", "y", "weights", "biases", "forward", "gradients", "simplifications"]
        out = {k: getattr(self, k) for k in keys}
        out["document"] = [block.to_dict() for block in self.document]
        return out

    def to_json(self):
        """to_dict() as indented JSON text: what --format json prints and --params reads."""
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self):
        """Plain text, at most 80 columns a line; vectors printed as 1×n rows."""
        return render_text(self.document)

    def to_markdown(self):
        """Markdown with one $$ LaTeX block per display line (GitHub, Jupyter)."""
        return render_markdown(self.document)

    def to_latex(self):
        """A standalone LaTeX document (A4 landscape) for pdflatex."""
        return render_latex(self.document)

    def to_html(self, standalone=True):
        """One self-contained HTML page (MathML and an SVG of the network), or a <div> if not standalone."""
        return render_html(self.document, standalone=standalone)

    def render(self, fmt):
        """The derivation as one string in fmt: "text", "markdown", "latex", "html" or "json"."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return getattr(self, f"to_{fmt}")()

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        sizes = "-".join(map(str, self.network["sizes"]))
        return f"<Derivation of {sizes} {self.network['activation']} network: f = {self.forward['loss']:.6g}>"

    def _repr_markdown_(self):
        # Notebooks show the Markdown (their own MathJax or KaTeX typesets it, trusted or not); there is no
        # _repr_html_, which a notebook would prefer and then sanitise in an untrusted notebook until its
        # numbers ran together. The HTML stays one call away: IPython.display.HTML(d.to_html(standalone=False)).
        return self.to_markdown()


def _simplifications(net, cache, deltas, L, z_names):
    """The lecture's two steps from the Jacobian chain to the shortcut, shown numerically."""
    out = []
    if L < 2:
        return out
    # (1) multiplying by diag(act'(z)) is the Hadamard product with act'(z)
    row = (deltas[L - 1] @ net.weights[L - 1])[None, :]
    d = net.act_prime(cache.z[L - 2])
    with_diag, with_hadamard = row @ np.diag(d), row * d
    z, a = z_names[L - 1], net.activation
    out.append({"name": "diagonal Jacobian = Hadamard product",
                "lhs_formula": f"((ŷ − y)ᵀ W{L}) · diag({a}'({z}))",
                "rhs_formula": f"((ŷ − y)ᵀ W{L}) ⊙ {a}'({z}ᵀ)",
                "lhs": with_diag.tolist(), "rhs": with_hadamard.tolist(),
                "max_abs_difference": float(np.abs(with_diag - with_hadamard).max())})
    # (2) gᵀ times the block matrix of x, reshaped, is the outer product g xᵀ
    g = deltas[0]
    x = cache.x
    m = net.layer_sizes[1]
    blocks = (g[None, :] @ np.kron(np.eye(m), x[None, :])).reshape(m, -1)
    gname = delta_names(L)[0]
    out.append({"name": "block matrix = outer product",
                "lhs_formula": f"reshape({gname}ᵀ · ∂{z_names[1]}/∂W1)",
                "rhs_formula": f"{gname} xᵀ",
                "lhs": blocks.tolist(), "rhs": np.outer(g, x).tolist(),
                "max_abs_difference": float(np.abs(blocks - np.outer(g, x)).max())})
    return out


def derive(net, x, y, strict=False):
    """The derivation of every gradient of net for one example (x, y), with its numbers.

    x: (d,); y: a label or one-hot (c,) for cross-entropy, a target (c,) for mse.
    strict: chain the softmax Jacobian as its own factor instead of the lecture's (ŷ − y)ᵀ.
    Returns a Derivation: shown as math in Jupyter, as text in a terminal; ``.render(fmt)`` for each format.
    """
    return Derivation(net, x, y, strict=strict)
