"""Reading what the student's functions return, whatever its shape: a loss alone or a tuple with
zs, hs and ŷ in any of the usual variants; a flat gradient, a gradient inside a tuple, or lists of
∇W and ∇b."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .layouts import as_rows, block_sequence, unpack, vector_size


class OutputError(ValueError):
    """The function returned something the check cannot read: one line naming it."""


@dataclass
class Forward:
    """A forward function's outputs in netprop's layout (examples as rows)."""

    loss: float
    loss_only: bool = False
    z: dict = field(default_factory=dict)       # {"z1": (n, m1), …}
    h: dict = field(default_factory=dict)
    yhat: np.ndarray | None = None
    out_layout: str | None = None
    shapes: list = field(default_factory=list)   # what its zs / hs hold, in words


def _scalar(value):
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1:
        return float(value.ravel()[0])
    return None


def loss_of(out, name):
    """The loss from a forward function's return value: the value itself, or a tuple's first single number."""
    loss = _scalar(out)
    if loss is None and isinstance(out, (tuple, list)):
        loss = next((s for s in map(_scalar, out) if s is not None), None)
    if loss is None:
        raise OutputError(f"{name} returned no single number for the loss")
    return loss


def read_forward(out, sizes, n, name):
    """Forward from a forward function's return value (loss alone, or loss with zs, hs, ŷ, extras)."""
    loss = _scalar(out)
    if loss is not None:
        return Forward(loss, loss_only=True)
    if not isinstance(out, (tuple, list)) or not out:
        raise OutputError(f"{name} returned {type(out).__name__}; expected the loss, or a tuple starting with it")
    loss = next((s for s in map(_scalar, out) if s is not None), None)
    if loss is None:
        raise OutputError(f"{name} returned {type(out[0]).__name__} where the loss belongs (its first value); "
                          f"expected one number")
    lists = [v for v in out if isinstance(v, (list, tuple))]
    arrays = [v for v in out if isinstance(v, np.ndarray) and v.size > 1]
    result = Forward(loss)
    layouts = set()
    if arrays:
        result.yhat, lay = as_rows(arrays[-1], n, sizes[-1])
        layouts.add(lay)
    if lists:
        layouts |= _read_zs(result, lists[0], sizes, n)
    if len(lists) > 1:
        layouts |= _read_hs(result, lists[1], sizes, n)
    layouts.discard(None)
    result.out_layout = "/".join(sorted(layouts)) or None
    return result


def _read_zs(result, zs, sizes, n):
    L, layouts = len(sizes) - 1, set()
    if len(zs) not in (L, L - 1):
        result.shapes.append(f"zs holds {len(zs)} arrays for {L} layers (not compared)")
        return layouts
    for l, z in enumerate(zs):
        rows, lay = as_rows(z, n, sizes[l + 1])
        if rows is not None:
            result.z[f"z{l + 1}"] = rows
            layouts.add(lay)
        else:
            result.shapes.append(f"zs[{l}] is not an array of z{l + 1}'s shape (not compared)")
    if len(zs) == L - 1:
        result.shapes.append("zs without the output layer's z")
    return layouts


def _read_hs(result, hs, sizes, n):
    """Read hs into result.h (h1 first), dropping a leading x and a trailing ŷ; returns the layouts seen."""
    L, layouts = len(sizes) - 1, set()
    hs = list(hs)
    if hs and as_rows(hs[0], n, sizes[0])[0] is not None and sizes[0] != sizes[1]:
        hs = hs[1:]
        result.shapes.append("hs starting with x")
    if len(hs) == L:
        last, _ = as_rows(hs[-1], n, sizes[-1])
        hs = hs[:-1]
        result.shapes.append("hs ending with ŷ")
        if result.yhat is None:
            result.yhat = last
    if len(hs) != L - 1:
        result.shapes.append(f"hs holds {len(hs)} hidden layers for {L - 1} (not compared)")
        return layouts
    for l, h in enumerate(hs):
        rows, lay = as_rows(h, n, sizes[l + 1])
        if rows is not None:
            result.h[f"h{l + 1}"] = rows
            layouts.add(lay)
    return layouts


def gradient_vector(out, sizes, layout, name):
    """(flat vector, {b name: length} where ∇b blocks have another length) from a gradient function's
    return value."""
    P = vector_size(sizes)
    L = len(sizes) - 1
    if isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(v, (list, tuple)) for v in out) \
            and len(out[0]) == L:
        return _from_lists(out[0], out[1], layout), {}
    if isinstance(out, (tuple, list)) and len(out) == 2 * L and all(isinstance(v, np.ndarray) for v in out) \
            and sum(v.size for v in out) == P:
        # [∇W1, …, ∇b1, …] or [∇W1, ∇b1, ∇W2, …] not yet joined: the matrices are the ∇W's
        matrices = [v for v in out if np.squeeze(v).ndim == 2]
        if len(matrices) == L:
            return _from_lists(matrices, [v for v in out if np.squeeze(v).ndim != 2], layout), {}
        return _from_lists(out[:L], out[L:], layout), {}
    candidates = [out] if not isinstance(out, (tuple, list)) else [v for v in out if np.size(v) > 1]
    try:
        arrays = [np.asarray(v, dtype=np.float64).ravel() for v in candidates]
    except (TypeError, ValueError):
        raise OutputError(f"{name} returned something that is not an array of numbers") from None
    if not arrays:
        raise OutputError(f"{name} returned {type(out).__name__}; expected the flat gradient vector")
    vector = max(arrays, key=len) if all(len(a) != P for a in arrays) else next(a for a in arrays if len(a) == P)
    if len(vector) == P:
        return vector, {}
    weights_total = sum(o * i for i, o in zip(sizes[:-1], sizes[1:]))
    for per_layer in (1, "n"):
        lengths = _bias_lengths(sizes, per_layer, len(vector) - weights_total)
        if lengths:
            return vector, lengths
    raise OutputError(f"{name} returned {len(vector)} values; expected {P} (every ∇W and ∇b for layers "
                      f"{'-'.join(map(str, sizes))})")


def _bias_lengths(sizes, per_layer, remaining):
    L = len(sizes) - 1
    if per_layer == 1 and remaining == L:
        return {f"b{l + 1}": 1 for l in range(L)}
    if per_layer == "n" and remaining > 0 and remaining % L == 0 and remaining // L not in sizes[1:]:
        return {f"b{l + 1}": remaining // L for l in range(L)}
    return None


def _from_lists(dWs, dbs, layout):
    parts = []
    for dW, db in zip(dWs, dbs):
        # each ∇W as the student stores W, (out, in) or (in, out): the vector holds it raveled as it is
        parts.append(np.asarray(dW, dtype=np.float64).ravel())
        parts.append(np.asarray(db, dtype=np.float64).ravel())
    Ws, bs = parts[0::2], parts[1::2]
    if layout.order == "weights-first":
        return np.concatenate(Ws + bs)
    return np.concatenate(parts)


def gradient_blocks(vector, sizes, layout, bias_lengths):
    """{name: block as netprop holds it} (∇b of another length kept flat as found)."""
    return unpack(vector, sizes, layout, bias_lengths)


__all__ = ["Forward", "OutputError", "read_forward", "gradient_vector", "gradient_blocks", "block_sequence"]
