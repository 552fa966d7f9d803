"""The derivation as one self-contained HTML page: MathML for the equations, an SVG of the network.

Nothing runs off the page: a matrix wider than the column scrolls inside its own block, the
factors of a chain wrap onto further lines, and the network picture shrinks to the column. The
picture's edge labels are placed so that no two overlap (tests measure them in Chromium).
"""

from __future__ import annotations

import html
import re

import numpy as np

from .document import Chain, Difference, Figure, Formula, Heading, Note, Value, as_matrix
from .text import num

# --- MathML ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"∂(?P<num>[^/∂\s]+)/∂(?P<den>[^\s·)]+)"            # ∂a/∂b: a fraction
    r"|\((?P<group>[^()]*)\)ᵀ"                            # (ŷ − y)ᵀ: one transposed group
    r"|Σ_(?P<sum>[a-z])"                                  # Σ_k: a sum over k
    r"|(?P<word>[A-Za-zŷ]+(?:_[A-Za-z]{2,})*)(?P<digit>\d?)(?:_(?P<sub>[A-Za-z\d]))?"
    r"|(?P<transpose>ᵀ)|(?P<square>²)|(?P<half>½)"
    r"|(?P<number>\d+)|(?P<op>[^\s])")


def mathml_label(label):
    """A label in the lecture's notation as one MathML <mrow>: W1 as W with subscript 1, ∂a/∂b as a fraction."""
    out = []
    for m in _TOKEN.finditer(label):
        kind = m.lastgroup if m.lastgroup not in ("den", "digit", "sub") else None
        if m.group("num"):
            out.append(f"<mfrac><mrow><mo>∂</mo>{mathml_label(m.group('num'))}</mrow>"
                       f"<mrow><mo>∂</mo>{mathml_label(m.group('den'))}</mrow></mfrac>")
        elif m.group("group") is not None:
            # one <msup> over the whole parenthesis: it cannot break, and the ᵀ stays on it
            out.append(f"<msup><mrow><mo>(</mo>{mathml_label(m.group('group'))}<mo>)</mo></mrow><mi>T</mi></msup>")
        elif m.group("sum"):
            out.append(f"<munder><mo>∑</mo><mi>{m.group('sum')}</mi></munder>")
        elif m.group("word"):
            word = m.group("word")
            upright = "" if len(word) == 1 else ' mathvariant="normal"'     # names like relu, log
            base = f"<mi{upright}>{html.escape(word)}</mi>"
            sub = m.group("digit") or m.group("sub")
            if sub:
                tag = "mn" if sub.isdigit() else "mi"
                base = f"<msub>{base}<{tag}>{sub}</{tag}></msub>"
            out.append(base)
        elif kind == "transpose" and out:
            out[-1] = f"<msup>{out[-1]}<mi>T</mi></msup>"
        elif kind == "square" and out:
            out[-1] = f"<msup>{out[-1]}<mn>2</mn></msup>"
        elif kind == "half":
            out.append("<mfrac><mn>1</mn><mn>2</mn></mfrac>")
        elif kind == "number":
            out.append(f"<mn>{m.group('number')}</mn>")
        elif kind == "op":
            out.append(f"<mo>{html.escape(m.group('op'))}</mo>")
    return "<mrow>" + "".join(out) + "</mrow>"


def mathml_matrix(m):
    """m ((c,) or (r, c)) as a bracketed MathML table."""
    rows = "".join("<mtr>" + "".join(f"<mtd><mn>{num(v)}</mn></mtd>" for v in row) + "</mtr>"
                   for row in as_matrix(m))
    return f"<mrow><mo>[</mo><mtable>{rows}</mtable><mo>]</mo></mrow>"


def _math(*parts):
    # inline math in a block of its own, so that it starts at the left like the chains (display="block"
    # centres it), in display style (full-size fractions)
    return '<math displaystyle="true">' + "<mo>=</mo>".join(parts) + "</math>"


def _nobreak(words):
    """Escaped prose in which every (…)ᵀ is kept on one line."""
    escaped = html.escape(words)
    return re.sub(r"(\([^()]*\)ᵀ)", r'<span class="nobreak">\1</span>', escaped)


# --- the network picture ------------------------------------------------------------------------

NODE_RADIUS, ROW_GAP, TOP = 22, 70, 40
LABEL_FONT = 9
_CHAR_WIDTH = 5.9        # px per character of DejaVu Sans at 9 px, the widest of digits, '.', '−' and 'e'


def edge_label(g):
    """∂f/∂W of one edge as its label: three significant digits."""
    return f"{g + 0.0:.3g}"


def _label_box(text, cx, cy):
    w, h = _CHAR_WIDTH * len(text) + 4, LABEL_FONT + 4
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_edge_labels(labels, y_in, y_out, gap):
    """Where each edge label goes between two columns gap apart, or None if they cannot all be apart.

    labels[j][i]: the text for the edge from input i (at height y_in[i]) to output j (y_out[j]).
    Returns {(j, i): (t, x offset, y)}: each label centred on its edge, at fraction t of the way.
    Flat edges choose first, each the free spot nearest the middle of its edge.
    """
    ts = np.linspace(0.12, 0.88, 39)
    ts = ts[np.argsort(np.abs(ts - 0.5), kind="stable")]
    edges = sorted(((j, i) for j in range(len(y_out)) for i in range(len(y_in))),
                   key=lambda e: (abs(y_out[e[0]] - y_in[e[1]]), e))
    placed, boxes = {}, []
    for j, i in edges:
        for t in ts:
            x, y = t * gap, y_in[i] + t * (y_out[j] - y_in[i])
            box = _label_box(labels[j][i], x, y)
            inside = box[0] >= NODE_RADIUS + 2 and box[2] <= gap - NODE_RADIUS - 2
            if inside and not any(_overlap(box, other) for other in boxes):
                placed[(j, i)] = (t, x, y)
                boxes.append(box)
                break
        else:
            return None
    return placed


def network_svg(figure):
    """The Figure as an SVG: values on the nodes, ∂f/∂W on the edges (red positive, blue negative)."""
    sizes = list(figure.sizes)
    L = len(sizes) - 1
    height = ROW_GAP * (max(sizes) - 1) + 2 * NODE_RADIUS + TOP + 20
    rows = [[(height + TOP - ROW_GAP * (n - 1)) / 2 + ROW_GAP * i for i in range(n)] for n in sizes]
    grads = [np.asarray(g, dtype=np.float64) for g in figure.edge_gradients]
    gmax = max(float(np.abs(g).max()) for g in grads) or 1.0
    xs, layouts = [60.0], []
    for l in range(L):
        labels = [[edge_label(v) for v in row] for row in grads[l]]
        gap = 170
        while (placed := place_edge_labels(labels, rows[l], rows[l + 1], gap)) is None:
            gap += 10           # wider apart until every label has its own spot (8×8 needs about 260 px)
        layouts.append((labels, placed))
        xs.append(xs[-1] + gap)
    width = int(xs[-1] + 60)
    names = ["x"] + [f"h{l}" if L > 2 else "h" for l in range(1, L)] + ["ŷ"]
    # shrinks with the page down to 85 % (labels stay legible), and scrolls in its figure below that
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'style="min-width:{int(0.85 * width)}px" '
             f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="10">',
             "<title>Forward values on the nodes, gradients ∂f/∂W on the edges</title>"]
    for l, (labels, placed) in enumerate(layouts):
        for j, i in sorted(placed):
            g = float(grads[l][j, i])
            colour = "#c0392b" if g > 0 else "#2e6bd1"
            w = 0.5 + 3.5 * abs(g) / gmax
            x1, y1, x2, y2 = xs[l], rows[l][i], xs[l + 1], rows[l + 1][j]
            parts.append(f'<g class="edge"><title>∂f/∂W{l + 1}[{j + 1},{i + 1}] = {num(g)}</title>'
                         f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                         f'stroke-width="{w:.2f}" opacity="0.7"/></g>')
        # labels after all lines of the layer, so that no line is drawn over a label, each on a halo (a
        # pale box the size of its text) so that the edges behind it do not strike it through
        for (j, i), (_, dx, y) in sorted(placed.items()):
            g = float(grads[l][j, i])
            colour = "#a93226" if g > 0 else "#1f4f9e"
            x0, y0, x1, y1 = _label_box(labels[j][i], xs[l] + dx, y)
            parts.append(f'<rect class="label-halo" x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
                         f'height="{y1 - y0:.1f}" rx="2" fill="#fff" fill-opacity="0.92"/>')
            parts.append(f'<text class="edge-label" x="{xs[l] + dx:.1f}" y="{y:.1f}" fill="{colour}" '
                         f'font-size="{LABEL_FONT}" text-anchor="middle" dominant-baseline="central" '
                         f'stroke="#fff" stroke-width="3" paint-order="stroke">{labels[j][i]}</text>')
    for l, n in enumerate(sizes):
        for i in range(n):
            cx, cy = xs[l], rows[l][i]
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{NODE_RADIUS}" fill="#fdfdfd" stroke="#333"/>')
            parts.append(f'<text class="node-label" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" '
                         f'dominant-baseline="central">{num(round(figure.values[l][i], 3))}</text>')
        parts.append(f'<text x="{xs[l]:.1f}" y="20" text-anchor="middle" font-weight="bold" '
                     f'font-size="12">{html.escape(names[l])}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


# --- the page ------------------------------------------------------------------------------------

STYLE = """.netprop-derivation{font-family:sans-serif}
.netprop-derivation .eq{overflow-x:auto;overflow-y:hidden;margin:.4em 0;padding:.2em 0}
.netprop-derivation .caption{margin-right:.5em}
.netprop-derivation .chain{display:flex;flex-wrap:wrap;align-items:center;column-gap:.3em;margin:.4em 0}
.netprop-derivation .chain>.factor{max-width:100%;overflow-x:auto;overflow-y:hidden}
.netprop-derivation .nobreak{white-space:nowrap}
.netprop-derivation figure{margin:1em 0;overflow-x:auto}
.netprop-derivation figure svg{max-width:100%;height:auto}
.netprop-derivation figcaption{font-size:.9em;color:#555}"""


def _value(block):
    symbol, formula = block.symbol, block.formula
    if block.scalar:
        value = f"<mn>{num(block.value)}</mn>"
    else:
        value = mathml_matrix(np.asarray(block.value, dtype=np.float64)[:, None] if block.vector else block.value)
    parts = [mathml_label(p) for p in (symbol, formula) if p] + [value]
    caption = f'<span class="caption">{_nobreak(block.caption)}:</span>' if block.caption else ""
    return f'<div class="eq">{caption}{_math(*parts)}</div>'


def _chain(block):
    ops = ["="] + ["·"] * (len(block.factors) - 1) + ["="]
    matrices = [m for _, m in block.factors] + [block.product]
    items = [f'<span class="factor"><math displaystyle="true"><mo>{op}</mo>{mathml_matrix(m)}</math></span>'
             for op, m in zip(ops, matrices)]
    return '<div class="chain">' + "".join(items) + "</div>"


def render_html(document, standalone=True):
    """The document as an HTML page (standalone) or a <div> for Jupyter, with its own style either way."""
    body = []
    title = ""
    for block in document:
        if isinstance(block, Heading):
            title = title or block.text
            body.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Note):
            body.append(f"<p>{_nobreak(block.text)}</p>")
        elif isinstance(block, Figure):
            body.append('<figure class="network">' + network_svg(block) +
                        "<figcaption>Forward propagation on the nodes (x, hidden activations, ŷ); backward "
                        "propagation on the edges: ∂f/∂W, red positive, blue negative, width by size. "
                        "Hover over an edge for its exact gradient.</figcaption></figure>")
        elif isinstance(block, Formula):
            body.append(f'<div class="eq">{_math(mathml_label(block.symbol), mathml_label(block.formula))}</div>')
        elif isinstance(block, Value):
            body.append(_value(block))
        elif isinstance(block, Chain):
            body.append(_chain(block))
        elif isinstance(block, Difference):
            body.append(f"<p>Largest absolute difference between {block.between}: {block.value:.3g}.</p>")
        else:
            raise TypeError(f"no HTML form for {type(block).__name__}")
    content = f'<div class="netprop-derivation">\n<style>{STYLE}</style>\n' + "\n".join(body) + "\n</div>"
    if not standalone:
        return content
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>netprop: {html.escape(title)}</title>\n"
            "<style>body{max-width:1100px;margin:2em auto;padding:0 1em}</style>\n</head>\n<body>\n"
            f"{content}\n</body>\n</html>\n")
