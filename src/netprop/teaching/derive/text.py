"""The derivation as plain text for an 80-column terminal; vectors print as 1×n rows."""

from __future__ import annotations

from .document import Chain, Difference, Figure, Formula, Heading, Note, Value, as_matrix

TEXT_WIDTH = 80


def num(v):
    """A number as the derivation prints it: six significant digits."""
    return f"{v + 0.0:.6g}"          # + 0.0 turns −0.0 (from products with zeros) into 0


def transposed(symbol):
    """symbolᵀ, with parentheses around a symbol of several terms: (ŷ − y)ᵀ, not ŷ − yᵀ."""
    return f"({symbol})ᵀ" if " " in symbol else f"{symbol}ᵀ"


def words(line):
    """The pieces a line may break between: spaces outside parentheses, so (ŷ − y)ᵀ stays whole."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        depth += (ch == "(") - (ch == ")")
        if ch == " " and depth == 0:
            pieces.append(line[start:i])
            start = i + 1
    pieces.append(line[start:])
    return [p for p in pieces if p]


def wrap(line, indent="", subsequent="    "):
    """line at indent, broken at spaces outside parentheses into lines of at most TEXT_WIDTH columns."""
    lines, current = [], indent
    for piece in words(line):
        bare = current.strip() == ""
        candidate = current + piece if bare else current + " " + piece
        if len(candidate) > TEXT_WIDTH and not bare:
            lines.append(current)
            current = indent + subsequent + piece
        else:
            current = candidate
    lines.append(current)
    return lines


def text_matrix(label, m, indent="  "):
    """label (r×c) = then the rows in brackets; matrices wider than the line are cut into column chunks.

    m: (c,) or (r, c). Returns the lines as one string.
    """
    a = as_matrix(m)
    r, c = a.shape
    cells = [[num(v) for v in row] for row in a]
    width = max(len(s) for row in cells for s in row)
    per_chunk = max(1, (TEXT_WIDTH - len(indent) - 6) // (width + 2))
    lines = wrap(f"{label} ({r}×{c}) =", indent)
    for start in range(0, c, per_chunk):
        stop = min(c, start + per_chunk)
        if c > per_chunk:
            lines.append(f"{indent}  columns {start + 1}–{stop} of {c}:")
        for row in cells:
            lines.append(f"{indent}  [ " + "  ".join(s.rjust(width) for s in row[start:stop]) + " ]")
    return "\n".join(lines)


def _value(block):
    if block.scalar:
        parts = [block.symbol] + ([block.formula] if block.formula else []) + [num(block.value)]
        return wrap(" = ".join(parts), "  ")
    lines = wrap(f"{block.symbol} = {block.formula}:", "  ") if block.formula else []
    symbol = transposed(block.symbol) if block.vector else block.symbol
    label = ": ".join(p for p in (block.caption, symbol) if p)
    return lines + [text_matrix(label, block.value)]


def render_text(document):
    """The document (a list of blocks) as text lines of at most 80 columns, ending in a newline."""
    lines, previous = [], None
    for block in document:
        if isinstance(block, Heading):
            if block.level == 1:
                lines += wrap(block.text)
            elif block.level == 2:
                lines += [""] + wrap(block.text, subsequent="   ")
            else:
                # a parameter's part starts with its own "∂f/∂W1 = …" line, which names it
                lines.append("")
        elif isinstance(block, Note):
            if not (isinstance(previous, Heading) and previous.level == 1):
                lines.append("")
            lines += wrap(block.text)
            if isinstance(previous, Heading) and previous.level == 1:
                lines.append("In this text they are printed as 1×n rows to save space.")
        elif isinstance(block, Formula):
            lines += wrap(f"{block.symbol} = {block.formula}")
        elif isinstance(block, Value):
            lines += _value(block)
        elif isinstance(block, Chain):
            for k, (label, m) in enumerate(block.factors, start=1):
                lines.append(text_matrix(f"factor {k}: {label}", m))
            lines.append(text_matrix("product of the factors", block.product))
        elif isinstance(block, Figure):
            pass        # a drawing; its numbers are the forward values and backprop gradients printed below
        elif isinstance(block, Difference):
            lines.append(f"  largest |difference| between {block.between}: {block.value:.3g}")
        else:
            raise TypeError(f"no text form for {type(block).__name__}")
        previous = block
    return "\n".join(lines) + "\n"
