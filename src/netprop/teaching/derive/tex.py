"""The derivation as LaTeX: Markdown with $$ blocks (GitHub, Jupyter) and a standalone document.

Both break wide products and matrices into lines that fit: factors go onto as many display lines
as they need, and a matrix wider than a line continues on the next one (its bracket left open, the
way a long matrix is set by hand). The standalone document also scales any line that still does
not fit, so pdflatex never reports an overfull box.
"""

from __future__ import annotations

import re

import numpy as np

from .document import Chain, Difference, Figure, Formula, Heading, Note, Value, as_matrix
from .text import num

# Widths in points of 10 pt Computer Modern math, for breaking lines before TeX sees them.
_DIGIT, _DOT, _MINUS, _COLUMN_GAP, _BRACKETS, _CDOT, _LABEL_CHAR = 5.0, 2.8, 7.8, 10.0, 14.0, 12.0, 6.0
LATEX_WIDTH = 720.0      # of the 757 pt line of an A4 landscape page with 1.5 cm margins
MARKDOWN_WIDTH = 520.0   # GitHub's and Jupyter's text column, at their larger font

_FUNCTIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "softmax", "diag", "reshape", "identity", "log")
_TEX_SYMBOLS = [("ŷ", r"\hat{y}"), ("∂", r"\partial "), ("ᵀ", r"^{\top}"), ("⊙", r"\odot "),
                ("·", r"\cdot "), ("−", "-"), ("‖", r"\|"), ("½", r"\tfrac{1}{2}"), ("²", "^{2}"),
                ("Σ_k", r"\sum_k "), ("Σ", r"\sum ")]


def _word(m):
    word = m.group(1)
    if word in _FUNCTIONS:
        return r"\operatorname{" + word.replace("_", r"\_") + "}"
    return r"\mathrm{" + word + "}"


def tex(label):
    """A label as the slides write it: ∂a/∂b as a fraction, W1 as W_1, ŷ as \\hat{y}, (ŷ − y)ᵀ as one group."""
    # braces make a transposed parenthesis one atom: TeX never breaks inside it or detaches the ᵀ
    label = re.sub(r"(\([^()]*\)ᵀ)", r"{\1}", label)
    label = re.sub(r"(?<![A-Za-z_])([A-Za-z]{2,}(?:_[A-Za-z]{2,})*)(?![A-Za-z_\d])", _word, label)
    label = re.sub(r"∂([^/∂\s]+)/∂([^\s·)]+)", lambda m: r"\frac{∂" + m.group(1) + "}{∂" + m.group(2) + "}", label)
    label = re.sub(r"(?<![A-Za-z\\])([Wbzhg])(\d)", r"\1_{\2}", label)
    for a, b in _TEX_SYMBOLS:
        label = label.replace(a, b)
    return label


def tex_number(v):
    """A number for math mode: 1.2e-05 as 1.2 \\cdot 10^{-5}, since a bare e-05 would read as e minus 5."""
    s = num(v)
    if "e" in s:
        mantissa, exponent = s.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return s


def _number_width(s):
    if r"\cdot" in s:
        return _number_width(s.split(" ")[0]) + 30.0
    return _DIGIT * sum(c.isdigit() for c in s) + _DOT * s.count(".") + _MINUS * s.count("-")


def _label_width(label):
    return _LABEL_CHAR * len(label)


def _uniform_cells(cells):
    """Cells padded on the left with invisible digits, points and minus signs to the widest cell's make-up.

    Digits, the point and the minus each have one width in the math fonts, so every padded cell is as
    wide as every other and the columns of a matrix broken into chunks line up from chunk to chunk.
    Numbers written with a power of ten are left as they are (their widths do not add up so simply).
    """
    flat = [c for row in cells for c in row]
    if any("\\cdot" in c for c in flat):
        return cells
    make_up = lambda c: (c.count("-"), sum(ch.isdigit() for ch in c), c.count("."))
    most = [max(parts) for parts in zip(*map(make_up, flat))]

    def pad(c):
        minus, digits, points = (m - k for m, k in zip(most, make_up(c)))
        filler = "-" * minus + "0" * digits + "." * points
        return rf"\hphantom{{{filler}}}{{{c}}}" if filler else c      # braced: its minus stays a sign
    return [[pad(c) for c in row] for row in cells]


def matrix_pieces(m, width):
    """m as one bracketed matrix, or, if wider than width, as chunks of its columns stacked in one display.

    m: (c,) or (r, c). Returns [(tex, estimated width in pt)]. The chunks sit in the second column of an
    array whose first column holds the opening bracket, so every chunk starts at the same place; with
    cells of one width (_uniform_cells) and the same number of columns per chunk, columns line up. The
    bracket stays open until the last chunk, the way a long matrix is set by hand.
    """
    a = as_matrix(m)
    cells = _uniform_cells([[tex_number(v) for v in row] for row in a])
    col_width = max(_number_width(tex_number(v)) for v in a.ravel()) + _COLUMN_GAP
    per_chunk = max(1, int((width - _BRACKETS) // col_width))
    if a.shape[1] <= per_chunk:
        body = r" \\ ".join(" & ".join(row) for row in cells)
        return [(rf"\left[\begin{{matrix}}{body}\end{{matrix}}\right]", _BRACKETS + col_width * a.shape[1])]
    starts = range(0, a.shape[1], per_chunk)
    chunks = [r" \\ ".join(" & ".join(row[lo:lo + per_chunk]) for row in cells) for lo in starts]
    strut = r"\vphantom{\begin{array}{c}" + r" \\ ".join("0" * a.shape[0]) + r"\end{array}}"
    rows = [rf"\left[{strut}\right. & \begin{{matrix}}{chunks[0]}\end{{matrix}}"]
    rows += [rf" & \begin{{matrix}}{chunk}\end{{matrix}}" for chunk in chunks[1:-1]]
    rows.append(rf" & \left.\begin{{matrix}}{chunks[-1]}\end{{matrix}}\right]")
    return [(r"\begin{array}{cl}" + r" \\[2pt] ".join(rows) + r"\end{array}", _BRACKETS + col_width * per_chunk)]


def pack(pieces, width):
    """Join (tex, width) pieces into display lines no wider than width where possible; returns the lines."""
    lines, current, used = [], [], 0.0
    for piece, w in pieces:
        if current and used + w > width:
            lines.append(" ".join(current))
            current, used = [], 0.0
        current.append(piece)
        used += w
    if current:
        lines.append(" ".join(current))
    return lines


def _text(words):
    """Words for LaTeX's text mode (in \\text{} or a paragraph): its special characters escaped."""
    words = words.replace("\\", r"\textbackslash{}")
    for ch in "&%$#_{}":
        words = words.replace(ch, "\\" + ch)
    return words.replace("−", "-").replace("½", "1/2").replace("‖", "||")


def _value_lines(block, width):
    head = []
    if block.caption:
        head.append((rf"\text{{{_text(block.caption)}: }}", _label_width(block.caption)))
    for part in (block.symbol, block.formula):
        if part:
            head.append((tex(part) + " =", _label_width(part) + _CDOT))
    if block.scalar:
        return pack(head + [(tex_number(block.value), 40.0)], width)
    value = np.asarray(block.value, dtype=np.float64)
    matrix = value[:, None] if block.vector else value
    return pack(head + matrix_pieces(matrix, width - 60.0), width)


def _chain_lines(block, width):
    pieces = [("=", _CDOT)]
    for k, (_, m) in enumerate(block.factors):
        if k:
            pieces.append((r"\cdot", _CDOT))
        pieces += matrix_pieces(m, width - 60.0)
    lines = pack(pieces, width)
    return lines + pack([("=", _CDOT)] + matrix_pieces(block.product, width - 60.0), width)


def tex_items(document, width):
    """The document as (kind, content): ("h1"/"h2"/"h3", words), ("p", words) or ("m", one display line)."""
    items = []
    for block in document:
        if isinstance(block, Heading):
            items.append((f"h{block.level}", block.text))
        elif isinstance(block, Note):
            items.append(("p", block.text))
        elif isinstance(block, Formula):
            items.append(("m", rf"{tex(block.symbol)} = {tex(block.formula)}"))
        elif isinstance(block, Value):
            items += [("m", line) for line in _value_lines(block, width)]
        elif isinstance(block, Chain):
            items += [("m", line) for line in _chain_lines(block, width)]
        elif isinstance(block, Figure):
            pass        # a drawing; its numbers are the forward values and backprop gradients shown below
        elif isinstance(block, Difference):
            items.append(("p", f"Largest absolute difference between {block.between}: {block.value:.3g}."))
        else:
            raise TypeError(f"no LaTeX form for {type(block).__name__}")
    return items


_MARKDOWN = {"h1": "## {}", "h2": "### {}", "h3": "#### {}", "p": "{}", "m": "$$\n{}\n$$"}


def render_markdown(document):
    """The document as Markdown: headings, paragraphs and one $$ block per display line."""
    items = tex_items(document, MARKDOWN_WIDTH)
    return "\n\n".join(_MARKDOWN[kind].format(content) for kind, content in items) + "\n"


_LATEX = {"h1": "\\section*{{{}}}", "h2": "\\subsection*{{{}}}", "h3": "\\subsubsection*{{{}}}", "p": "{}\n"}

# \fit typesets a display line and scales it to the line width only if it is wider: the estimate
# above breaks lines so that this almost never happens, and when it does no box overflows.
_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,landscape,margin=1.5cm]{geometry}
\usepackage{amsmath}
\usepackage{graphicx}
\usepackage[T1]{fontenc}
\setcounter{MaxMatrixCols}{64}
\newsavebox{\fitbox}
\newcommand{\fit}[1]{\sbox{\fitbox}{$\displaystyle #1$}%
  \ifdim\wd\fitbox>\linewidth
  \typeout{netprop: scaled a line \the\wd\fitbox\space wide to the \the\linewidth\space page}%
  \resizebox{\linewidth}{!}{\usebox{\fitbox}}\else\usebox{\fitbox}\fi}
\begin{document}"""


def render_latex(document):
    """The document as a standalone LaTeX file (A4 landscape) that pdflatex compiles without overfull boxes."""
    body = [_LATEX[kind].format(_text(content)) if kind in _LATEX else "\\[\n\\fit{" + content + "}\n\\]"
            for kind, content in tex_items(document, LATEX_WIDTH)]
    return "\n".join([_PREAMBLE, *body, r"\end{document}", ""])
