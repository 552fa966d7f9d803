"""The lecture's derivation with real numbers: forward pass, Jacobian chains, backprop, a third witness.

``derive(net, x, y)`` computes everything once (a ``Derivation``); the renderers below only
format it: plain text for a terminal, Markdown with LaTeX, a standalone LaTeX document, one
self-contained HTML page (MathML and an SVG of the network), and JSON.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np

from .gradcheck import numerical_gradient
from .jacobian import jacobian_chain, layer_names

MAX_LAYERS = 4          # weight matrices
MAX_UNITS = 8           # units in any layer


def check_size(layer_sizes):
    """A derivation is for reading: refuse networks whose matrices no one could read."""
    L = len(layer_sizes) - 1
    if L > MAX_LAYERS or max(layer_sizes) > MAX_UNITS:
        raise ValueError(
            f"network {'-'.join(map(str, layer_sizes))} is too large for a readable derivation: "
            f"at most {MAX_LAYERS} weight matrices and {MAX_UNITS} units per layer")


class Derivation:
    """Every number of the derivation; its attributes are the JSON form's top-level keys."""

    def __init__(self, net, x, y, strict=False):
        check_size(net.layer_sizes)
        net = net.copy(dtype="float64")
        self._net = net
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (net.layer_sizes[0],):
            raise ValueError(f"x must be one example of {net.layer_sizes[0]} values, got shape {x.shape}")
        cache = net.forward(x)
        Y = net.targets(y, 1)[0]
        L = net.n_layers
        self.network = {"sizes": net.layer_sizes, "activation": net.activation, "loss": net.loss_name}
        self.x = x.tolist()
        self.y = Y.tolist()
        self.weights = [W.tolist() for W in net.weights]
        self.biases = [b.tolist() for b in net.biases]
        self.forward = {"z": [z.tolist() for z in cache.z], "h": [h.tolist() for h in cache.h],
                        "y_hat": cache.y_hat.tolist(), "loss": net.loss(x, Y)}

        chain = jacobian_chain(net, x, Y, strict=strict)
        grads = net.backward(cache, Y)
        params = list(net.named_parameters().values())
        X1, Y1 = x[None, :], Y[None, :]

        def loss_unchecked():
            # x, y and the shapes were checked above; the 2·P evaluations skip net.loss's re-checks
            cache = net._forward(X1)
            return net._loss(cache.z[-1], cache.y_hat, Y1)

        numeric = numerical_gradient(loss_unchecked, params, eps=1e-6)
        z_names, h_names = layer_names(L)
        # δ for each layer: ŷ − y at the top, the lecture's g below (g1, g2, … when there are
        # several). For one example ∇b = δ (∇b2 = ŷ − y, ∇b1 = g), so backward already has them.
        deltas = grads.biases
        delta_names = ["g" if L == 2 else f"g{l}" for l in range(1, L)] + ["ŷ − y"]

        self.gradients = {}
        for l in range(1, L + 1):
            for kind, bp, num, ch in (("W", grads.weights[l - 1], numeric[2 * l - 2], chain.weights[l - 1]),
                                      ("b", grads.biases[l - 1], numeric[2 * l - 1], chain.biases[l - 1])):
                name = f"{kind}{l}"
                d = delta_names[l - 1]
                shortcut = f"{d} {h_names[l - 1]}ᵀ" if kind == "W" else d
                if kind == "W" and d == "ŷ − y":
                    shortcut = f"(ŷ − y) {h_names[l - 1]}ᵀ"
                diffs = [np.abs(ch - bp).max(), np.abs(ch - num).max(), np.abs(bp - num).max()]
                self.gradients[name] = {
                    "formula": " · ".join(label for label, _ in chain.factors[name]),
                    "factors": [{"label": label, "shape": list(m.shape), "matrix": m.tolist()}
                                for label, m in chain.factors[name]],
                    "product": chain.products[name].tolist(),
                    "chain": ch.tolist(),
                    "backprop_formula": shortcut,
                    "delta_name": d,
                    "delta": deltas[l - 1].tolist(),
                    "backprop": bp.tolist(),
                    "finite_difference": num.tolist(),
                    "max_abs_difference": float(max(diffs)),
                }
        self.simplifications = self._simplifications(net, cache, deltas, L, z_names, h_names)

    @staticmethod
    def _simplifications(net, cache, deltas, L, z_names, h_names):
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
        blocks = g[None, :] @ np.kron(np.eye(m), x[None, :])
        gname = "g" if L == 2 else "g1"
        out.append({"name": "block matrix = outer product",
                    "lhs_formula": f"reshape({gname}ᵀ · ∂{z_names[1] if L > 2 else 'z'}/∂W1)",
                    "rhs_formula": f"{gname} xᵀ",
                    "lhs": blocks.reshape(m, -1).tolist(), "rhs": np.outer(g, x).tolist(),
                    "max_abs_difference": float(np.abs(blocks.reshape(m, -1) - np.outer(g, x)).max())})
        return out

    # --- forms ------------------------------------------------------------------------

    def to_dict(self):
        keys = ["network", "x", "y", "weights", "biases", "forward", "gradients", "simplifications"]
        return {k: getattr(self, k) for k in keys}

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self):
        return render_text(self)

    def to_markdown(self):
        return render_markdown(self)

    def to_latex(self):
        return render_latex(self)

    def to_html(self):
        return render_html(self)

    def render(self, fmt):
        renderers = {"text": self.to_text, "markdown": self.to_markdown, "latex": self.to_latex,
                     "html": self.to_html, "json": self.to_json}
        if fmt not in renderers:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(renderers)}")
        return renderers[fmt]()

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        sizes = "-".join(map(str, self.network["sizes"]))
        return f"<Derivation of {sizes} {self.network['activation']} network: f = {self.forward['loss']:.6g}>"

    def _repr_markdown_(self):
        return self.to_markdown()

    def _repr_html_(self):
        return render_html(self, standalone=False)


def derive(net, x, y, strict=False):
    """The derivation of every gradient of net for one example (x, y), with its numbers.

    x: (d,); y: a label or one-hot (c,) for cross-entropy, a target (c,) for mse.
    strict: chain the softmax Jacobian as its own factor instead of the lecture's (ŷ − y)ᵀ.
    Returns a Derivation: shown as math in Jupyter, as text in a terminal; ``.to_json()`` etc.
    """
    return Derivation(net, x, y, strict=strict)


# --- shared pieces ------------------------------------------------------------------------


def _names(d):
    """Labels for the forward quantities: (name, value) in order."""
    L = len(d.weights)
    z_names, h_names = layer_names(L)
    act = d.network["activation"]
    out_act = "softmax" if d.network["loss"] == "cross_entropy" else "identity"
    rows = [("x", d.x, None)]
    for l in range(1, L + 1):
        h_in = h_names[l - 1]
        if l < L:
            rows.append((z_names[l], d.forward["z"][l - 1], f"W{l} {h_in} + b{l}"))
            rows.append((h_names[l], d.forward["h"][l - 1], f"{act}({z_names[l]})"))
        else:
            rows.append(("z_out", d.forward["z"][l - 1], f"W{l} {h_in} + b{l}"))
            rows.append(("ŷ", d.forward["y_hat"], f"{out_act}(W{l} {h_in} + b{l})"))
    rows.append(("y", d.y, None))
    return rows


def _loss_formula(d):
    return "−Σ_k y_k log ŷ_k" if d.network["loss"] == "cross_entropy" else "½ ‖ŷ − y‖²"


def _num(v):
    return f"{v + 0.0:.6g}"          # + 0.0 turns −0.0 (from products with zeros) into 0


# --- text ----------------------------------------------------------------------------------

TEXT_WIDTH = 80


def text_matrix(label, m, indent="  "):
    """label (r×c) = then the rows in brackets; wide matrices are cut into column chunks."""
    a = np.atleast_2d(np.asarray(m, dtype=np.float64))
    r, c = a.shape
    cells = [[_num(v) for v in row] for row in a]
    width = max(len(s) for row in cells for s in row)
    per_chunk = max(1, (TEXT_WIDTH - len(indent) - 6) // (width + 2))
    lines = [f"{indent}{label} ({r}×{c}) ="]
    for start in range(0, c, per_chunk):
        stop = min(c, start + per_chunk)
        if c > per_chunk:
            lines.append(f"{indent}  columns {start + 1}–{stop} of {c}:")
        for row in cells:
            lines.append(f"{indent}  [ " + "  ".join(s.rjust(width) for s in row[start:stop]) + " ]")
    return "\n".join(lines)


def _wrap(line, indent="    "):
    """Break a long formula line at its ' · ' (or spaces), continuing with an indent."""
    if len(line) <= TEXT_WIDTH:
        return line
    import textwrap

    return "\n".join(textwrap.wrap(line, TEXT_WIDTH, subsequent_indent=indent, break_long_words=False))


def render_text(d):
    sizes = "-".join(map(str, d.network["sizes"]))
    out_kind = "softmax output, cross-entropy" if d.network["loss"] == "cross_entropy" else "identity output, ½‖ŷ − y‖²"
    lines = [_wrap(f"Derivation for the {sizes} network ({d.network['activation']} hidden, {out_kind})"),
             "Vectors are columns; they are printed as 1×n rows to save space.", "",
             "Parameters"]
    for l, (W, b) in enumerate(zip(d.weights, d.biases), start=1):
        lines += [text_matrix(f"W{l}", W), text_matrix(f"b{l}ᵀ", [b])]
    lines += ["", "1. Forward propagation"]
    for name, value, formula in _names(d):
        label = "z" + str(len(d.weights)) if name == "z_out" else name
        if formula:
            lines.append(f"  {label} = {formula}:")
        lines.append(text_matrix(f"{label}ᵀ", [value]))
    lines.append(f"  f = {_loss_formula(d)} = {_num(d.forward['loss'])}")
    lines += ["", "2. Every gradient three ways: the Jacobian chain, the backprop shortcut,",
              "   and central finite differences"]
    for name, g in d.gradients.items():
        lines += ["", _wrap(f"∂f/∂{name} = {g['formula']}")]
        for k, fac in enumerate(g["factors"], start=1):
            lines.append(text_matrix(f"factor {k}: {fac['label']}", fac["matrix"]))
        lines.append(text_matrix("product of the factors", g["product"]))
        lines.append(text_matrix(f"reshaped to {name}'s shape: chain", g["chain"]))
        lines.append(text_matrix(f"{g['delta_name']}ᵀ", [g["delta"]]))
        lines.append(text_matrix(f"backprop: {g['backprop_formula']}", g["backprop"]))
        lines.append(text_matrix("finite differences", g["finite_difference"]))
        lines.append(f"  largest |difference| between the three: {g['max_abs_difference']:.3g}")
    if d.simplifications:
        lines += ["", "3. The lecture's two simplifications, numerically"]
        for s in d.simplifications:
            lines += ["", f"{s['name']}:", text_matrix(s["lhs_formula"], s["lhs"]),
                      text_matrix(s["rhs_formula"], s["rhs"]),
                      f"  largest |difference|: {s['max_abs_difference']:.3g}"]
    return "\n".join(lines) + "\n"


# --- LaTeX (Markdown and standalone) -----------------------------------------------------------

_TEX_SYMBOLS = [("ŷ", r"\hat{y}"), ("∂", r"\partial "), ("ᵀ", r"^{\top}"), ("⊙", r"\odot "),
                ("·", r"\cdot "), ("−", "-"), ("‖", r"\|"), ("½", r"\tfrac{1}{2}"),
                ("Σ_k", r"\sum_k "), ("Σ", r"\sum ")]


def tex(label):
    """A label as the slides write it: ∂a/∂b as a fraction, W1 as W_1, ŷ as \\hat{y}."""
    label = re.sub(r"∂([^/∂\s]+)/∂([^\s·)]+)", lambda m: r"\frac{∂" + m.group(1) + "}{∂" + m.group(2) + "}", label)
    label = re.sub(r"\b([Wbzhg])(\d)", r"\1_{\2}", label)
    label = re.sub(r"\b(relu|tanh|sigmoid|leaky_relu|softmax|diag|reshape|identity|log)\b",
                   lambda m: r"\operatorname{" + m.group(1).replace("_", r"\_") + "}", label)
    for a, b in _TEX_SYMBOLS:
        label = label.replace(a, b)
    return label


def tex_matrix(m):
    a = np.atleast_2d(np.asarray(m, dtype=np.float64))
    rows = [" & ".join(_num(v) for v in row) for row in a]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def _tex_lines(d):
    """(kind, content) items shared by the Markdown and LaTeX forms: ("h", title), ("p", text), ("m", tex)."""
    items = []
    sizes = "-".join(map(str, d.network["sizes"]))
    items.append(("h", f"Derivation for the {sizes} network"))
    output = ("softmax output with cross-entropy" if d.network["loss"] == "cross_entropy"
              else "identity output with half squared error")
    items.append(("p", f"Hidden activation {d.network['activation']}; {output}. Vectors are columns."))
    items.append(("h2", "Parameters"))
    for l, (W, b) in enumerate(zip(d.weights, d.biases), start=1):
        items.append(("m", rf"W_{{{l}}} = {tex_matrix(W)}, \quad b_{{{l}}} = {tex_matrix(np.array(b)[:, None])}"))
    items.append(("h2", "1. Forward propagation"))
    L = len(d.weights)
    for name, value, formula in _names(d):
        label = f"z{L}" if name == "z_out" else name
        shown = rf"{tex(label)} = " + (rf"{tex(formula)} = " if formula else "")
        items.append(("m", shown + tex_matrix(np.array(value)[:, None])))
    items.append(("m", rf"f = {tex(_loss_formula(d))} = {_num(d.forward['loss'])}"))
    items.append(("h2", "2. Every gradient: Jacobian chain, backprop shortcut, finite differences"))
    for name, g in d.gradients.items():
        items.append(("h3", f"Gradient of {name}"))
        items.append(("m", rf"\frac{{\partial f}}{{\partial {tex(name)}}} = {tex(g['formula'])}"))
        factors = r" \cdot ".join(tex_matrix(f["matrix"]) for f in g["factors"])
        items.append(("m", rf"= {factors}"))
        items.append(("m", rf"= {tex_matrix(g['product'])}"))
        items.append(("m", rf"\text{{reshaped: }} {tex_matrix(g['chain'])}"))
        items.append(("m", rf"{tex(g['delta_name'])} = {tex_matrix(np.array(g['delta'])[:, None])}, \quad "
                           rf"{tex(g['backprop_formula'])} = {tex_matrix(g['backprop'])}"))
        items.append(("m", rf"\text{{finite differences: }} {tex_matrix(g['finite_difference'])}"))
        items.append(("p", f"Largest absolute difference between the three: {g['max_abs_difference']:.3g}."))
    if d.simplifications:
        items.append(("h2", "3. The lecture's two simplifications"))
        for s in d.simplifications:
            items.append(("p", s["name"] + ":"))
            items.append(("m", rf"{tex(s['lhs_formula'])} = {tex_matrix(s['lhs'])}"))
            items.append(("m", rf"{tex(s['rhs_formula'])} = {tex_matrix(s['rhs'])}"))
            items.append(("p", f"Largest absolute difference: {s['max_abs_difference']:.3g}."))
    return items


MARKDOWN_ITEMS = {"h": "## {}", "h2": "### {}", "h3": "#### {}", "p": "{}", "m": "$$\n{}\n$$"}


def render_markdown(d):
    return "\n\n".join(MARKDOWN_ITEMS[kind].format(content) for kind, content in _tex_lines(d)) + "\n"


LATEX_ITEMS = {"h": "\\section*{{{}}}", "h2": "\\subsection*{{{}}}", "h3": "\\subsubsection*{{{}}}",
               "p": "{}\n"}


def render_latex(d):
    body = [LATEX_ITEMS[kind].format(_tex_text(content)) if kind in LATEX_ITEMS
            else "\\[\n" + content + "\n\\]" for kind, content in _tex_lines(d)]
    max_cols = max(64, max(len(np.atleast_2d(f["matrix"])[0]) for g in d.gradients.values()
                           for f in g["factors"]))
    return "\n".join([
        r"\documentclass[10pt]{article}",
        r"\usepackage[a4paper,landscape,margin=1.5cm]{geometry}",
        r"\usepackage{amsmath}",
        rf"\setcounter{{MaxMatrixCols}}{{{max_cols}}}",
        r"\usepackage[T1]{fontenc}",
        r"\begin{document}",
        *body,
        r"\end{document}",
        "",
    ])


def _tex_text(s):
    s = s.replace("\\", r"\textbackslash{}")
    for ch in "&%$#_{}":
        s = s.replace(ch, "\\" + ch)
    return s.replace("−", "-").replace("½", "1/2").replace("‖", "||")


# --- HTML: MathML and an SVG of the network --------------------------------------------------------


def _mi(s):
    return f"<mi>{html.escape(s)}</mi>"


def mathml_label(label):
    """A label as MathML: ∂a/∂b as <mfrac>, W1 as W with subscript 1, other symbols as operators."""
    out = []
    for m in re.finditer(r"∂([^/∂\s]+)/∂([^\s·)]+)|([A-Za-zŷ]+)(\d?)|(ᵀ)|([^\sA-Za-z\d])|(\d+)", label):
        frac, frac_b, word, digit, transpose, op, number = m.groups()
        if frac:
            out.append(f"<mfrac><mrow><mo>∂</mo>{mathml_label(frac)}</mrow>"
                       f"<mrow><mo>∂</mo>{mathml_label(frac_b)}</mrow></mfrac>")
        elif word:
            upright = "" if len(word) == 1 or word == "ŷ" else ' mathvariant="normal"'   # names like relu
            base = f"<mi{upright}>{html.escape(word)}</mi>"
            out.append(f"<msub>{base}<mn>{digit}</mn></msub>" if digit else base)
        elif transpose:
            if out:
                out[-1] = f"<msup>{out[-1]}<mi>T</mi></msup>"
        elif op:
            out.append(f"<mo>{html.escape(op)}</mo>")
        elif number:
            out.append(f"<mn>{number}</mn>")
    return "<mrow>" + "".join(out) + "</mrow>"


def mathml_matrix(m):
    a = np.atleast_2d(np.asarray(m, dtype=np.float64))
    rows = "".join("<mtr>" + "".join(f"<mtd><mn>{_num(v)}</mn></mtd>" for v in row) + "</mtr>" for row in a)
    return f'<mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow>'


def _math(*parts):
    return '<math display="block">' + "<mo>=</mo>".join(parts) + "</math>"


def network_svg(d):
    """The network as the lecture draws it: forward values on the nodes, ∂f/∂W on the edges."""
    sizes = d.network["sizes"]
    L = len(sizes) - 1
    col_gap, row_gap, r = 190, 70, 22
    height = row_gap * max(sizes) + 60
    width = col_gap * L + 160
    values = [d.x] + d.forward["h"] + [d.forward["y_hat"]]
    names = ["x"] + [f"h{l}" if L > 2 else "h" for l in range(1, L)] + ["ŷ"]
    pos = []
    for l, n in enumerate(sizes):
        top = (height - row_gap * (n - 1)) / 2
        pos.append([(80 + col_gap * l, top + row_gap * i) for i in range(n)])
    grads = [np.array(d.gradients[f"W{l}"]["backprop"]) for l in range(1, L + 1)]
    gmax = max(float(np.abs(g).max()) for g in grads) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             '<title>Forward values on the nodes, gradients ∂f/∂W on the edges</title>']
    for l in range(L):
        for j, (x2, y2) in enumerate(pos[l + 1]):
            for i, (x1, y1) in enumerate(pos[l]):
                g = float(grads[l][j, i])
                colour = "#c0392b" if g > 0 else "#2e6bd1"
                w = 0.5 + 3.5 * abs(g) / gmax
                parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" '
                             f'stroke-width="{w:.2f}" opacity="0.8"><title>∂f/∂W{l + 1}[{j + 1},{i + 1}] = '
                             f'{_num(g)}</title></line>')
                mx, my = x1 + (x2 - x1) * 0.3, y1 + (y2 - y1) * 0.3
                parts.append(f'<text x="{mx:.1f}" y="{my - 3:.1f}" fill="{colour}" font-size="9" '
                             f'text-anchor="middle">{_num(round(g, 4))}</text>')
    for l, layer in enumerate(pos):
        for i, (cx, cy) in enumerate(layer):
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#fdfdfd" stroke="#333"/>')
            parts.append(f'<text x="{cx}" y="{cy + 4}" text-anchor="middle">{_num(round(values[l][i], 3))}</text>')
        parts.append(f'<text x="{layer[0][0]}" y="20" text-anchor="middle" font-weight="bold">'
                     f'{html.escape(names[l])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(d, standalone=True):
    sizes = "-".join(map(str, d.network["sizes"]))
    L = len(d.weights)
    body = [f"<h1>Derivation for the {sizes} network</h1>",
            f"<p>Hidden activation {html.escape(d.network['activation'])}, "
            f"{'softmax output with cross-entropy' if d.network['loss'] == 'cross_entropy' else 'identity output with ½‖ŷ − y‖²'}. "  # noqa: E501
            "Vectors are columns. Hover over an edge for its exact gradient.</p>",
            '<figure class="network">', network_svg(d),
            "<figcaption>Forward propagation on the nodes (x, hidden activations, ŷ); backward "
            "propagation on the edges: ∂f/∂W, red positive, blue negative, width by size.</figcaption></figure>",
            "<h2>Parameters</h2>"]
    for l, (W, b) in enumerate(zip(d.weights, d.biases), start=1):
        body.append(_math(mathml_label(f"W{l}"), mathml_matrix(W)) +
                    _math(mathml_label(f"b{l}"), mathml_matrix(np.array(b)[:, None])))
    body.append("<h2>1. Forward propagation</h2>")
    for name, value, formula in _names(d):
        label = f"z{L}" if name == "z_out" else name
        parts = [mathml_label(label)] + ([mathml_label(formula)] if formula else [])
        body.append(_math(*parts, mathml_matrix(np.array(value)[:, None])))
    if d.network["loss"] == "cross_entropy":   # −Σ_k y_k log ŷ_k
        loss = ("<mrow><mo>−</mo><munder><mo>∑</mo><mi>k</mi></munder><msub><mi>y</mi><mi>k</mi></msub>"
                "<mi>log</mi><msub><mover><mi>y</mi><mo>^</mo></mover><mi>k</mi></msub></mrow>")
    else:                                       # ½ ‖ŷ − y‖²
        loss = ("<mrow><mfrac><mn>1</mn><mn>2</mn></mfrac><msup><mrow><mo>‖</mo><mover><mi>y</mi>"
                "<mo>^</mo></mover><mo>−</mo><mi>y</mi><mo>‖</mo></mrow><mn>2</mn></msup></mrow>")
    body.append(_math("<mi>f</mi>", loss, f"<mn>{_num(d.forward['loss'])}</mn>"))
    body.append("<h2>2. Every gradient three ways</h2>")
    for name, g in d.gradients.items():
        body.append(f"<h3>Gradient of {name}</h3>")
        body.append(_math(mathml_label(f"∂f/∂{name}"), mathml_label(g["formula"])))
        body.append(_math("<mrow></mrow>", "<mo>·</mo>".join(mathml_matrix(f["matrix"]) for f in g["factors"]),
                          mathml_matrix(g["product"])))
        body.append("<p>reshaped to the parameter's shape (the chain), the backprop shortcut "
                    f"{html.escape(g['backprop_formula'])}, and central finite differences:</p>")
        body.append(_math(mathml_label("chain"), mathml_matrix(g["chain"])))
        body.append(_math(mathml_label(g["backprop_formula"]), mathml_matrix(g["backprop"])))
        body.append(_math(mathml_label("numerical"), mathml_matrix(g["finite_difference"])))
        body.append(f"<p>Largest absolute difference between the three: {g['max_abs_difference']:.3g}.</p>")
    if d.simplifications:
        body.append("<h2>3. The lecture's two simplifications</h2>")
        for s in d.simplifications:
            body.append(f"<p>{html.escape(s['name'])}:</p>")
            body.append(_math(mathml_label(s["lhs_formula"]), mathml_matrix(s["lhs"])))
            body.append(_math(mathml_label(s["rhs_formula"]), mathml_matrix(s["rhs"])))
            body.append(f"<p>Largest absolute difference: {s['max_abs_difference']:.3g}.</p>")
    content = "\n".join(body)
    if not standalone:
        return f'<div class="netprop-derivation">{content}</div>'
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>netprop derivation: {sizes} network</title>\n"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;}"
            "math[display=block]{margin:0.6em 0;padding:0.3em 0;overflow-x:auto;overflow-y:hidden;}"
            "figure{margin:1em 0;}"
            "figcaption{font-size:0.9em;color:#555;}</style>\n</head>\n<body>\n"
            f"{content}\n</body>\n</html>\n")
