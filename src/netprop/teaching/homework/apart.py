"""Functions that take each W and b apart, fCE(X, Y, W1, b1, W2, b2), called the way the check calls
every function: f(x, y, weights) with one flat vector, cut into the arrays in the layout being tried."""

from __future__ import annotations

import inspect
import itertools
import re

import numpy as np

from .layouts import VECTOR_LAYOUTS, unpack

_W_ARG = re.compile(r"^(W|w|Theta|theta)_?\d+$")
_B_ARG = re.compile(r"^(b|B|bias)_?\d+$")


def apart_names(fn):
    """The parameter names after (x, y) that hold each W and b (['W1', 'b1', 'W2', 'b2']), else None."""
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    run = list(itertools.takewhile(lambda n: _W_ARG.match(n) or _B_ARG.match(n), params[2:]))
    weights = [n for n in run if _W_ARG.match(n)]
    if not weights or len(run) != 2 * len(weights):
        return None
    return run


class ApartArrays:
    """fn(x, y, W1, b1, …, rest) as wrapper(x, y, weights, rest): the checker sets sizes (each case's)
    and layout (each W stored (out, in) or (in, out)) before calling."""

    def __init__(self, fn, names):
        self.fn, self.names, self.layers = fn, names, len(names) // 2
        self.sizes, self.layout = None, VECTOR_LAYOUTS[0]
        self.__name__, self.__module__, self.__wrapped__ = fn.__name__, fn.__module__, fn
        params = list(inspect.signature(fn).parameters.values())
        weights = inspect.Parameter("weights", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.__signature__ = inspect.Signature(params[:2] + [weights] + params[2 + len(names):])

    def arrays(self, weights):
        """The W's and b's in the student's parameter order, each W as the student stores it."""
        blocks = unpack(np.asarray(weights), self.sizes, self.layout)
        counters = {"W": itertools.count(1), "b": itertools.count(1)}
        out = []
        for name in self.names:
            kind = "W" if _W_ARG.match(name) else "b"
            block = blocks[f"{kind}{next(counters[kind])}"]
            out.append(block.T if kind == "W" and self.layout.orientation == "in,out" else block)
        return out

    def __call__(self, x, y, weights, *args, **kwargs):
        return self.fn(x, y, *self.arrays(weights), *args, **kwargs)

    def describe(self):
        return (f"{self.__name__} takes each W and b apart ({', '.join(self.names)}) with each W stored "
                f"({self.layout.orientation.replace(',', ', ')})")
