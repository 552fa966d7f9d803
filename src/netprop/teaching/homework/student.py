"""The student's module as the check sees it: which functions to call, how to fill their extra
parameters, how to set the network's sizes, and one call that proves the arrays passed in come back
unchanged.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

import numpy as np

FORWARD_NAMES = ("forward_prop", "forwardProp", "forward_propagation", "forwardPropagation", "forward_pass",
                 "feed_forward", "feedforward", "forward", "fCE", "f_CE", "fce", "loss", "cost", "compute_loss")
BACKWARD_NAMES = ("back_prop", "backprop", "backProp", "back_propagation", "backpropagation", "backward_prop",
                  "backward_propagation", "backward", "gradCE", "grad_CE", "gradce", "gradient", "grad",
                  "compute_gradient", "compute_gradients")
INIT_NAMES = ("initWeightsAndBiases", "init_weights_and_biases", "initialize_weights_and_biases",
              "initWeights", "init_weights", "initialize_weights", "init_params", "initialize_parameters")
SIZE_GLOBALS = ("NUM_INPUT", "NUM_HIDDEN", "NUM_HIDDEN_LAYERS", "NUM_OUTPUT")
_X_NAMES = re.compile(r"^(x|X|xs|inputs?|images?|data|features|train_?x|trainX|X_\w*|x_\w*)$")
_LAMBDA = re.compile(r"(alpha|lam|lmbda|reg|l2|decay|penalty|^wd$|^beta$)", re.I)
_SIZE = re.compile(r"(hidden|layer|units|neurons|width|^h$|^m$|num|size)", re.I)
L2_TEST = 0.1             # what a λ parameter without a default is given
APART_WIDTH = 32          # the hidden width checked where separate W and b parameters set no size


class CheckError(ValueError):
    """The student's module cannot be checked (no functions to call, sizes unknown, nothing runs): one line."""


class SizeError(ValueError):
    """These sizes cannot be given to the module (hidden widths differ where one width is expected)."""


@dataclass
class Functions:
    """The forward (or loss-only) function, the gradient function and what fills their extra parameters."""

    forward: object
    backward: object
    forward_name: str
    backward_name: str
    found_by: str = "name"
    extras: dict = field(default_factory=dict)       # {function name: {param: kind}}


def find_functions(module, forward=None, backward=None):
    """Functions for forward and gradient: by the names given, else by the usual names, else by signature."""
    fns = {name: obj for name, obj in vars(module).items()
           if inspect.isfunction(obj) and getattr(obj, "__module__", None) == module.__name__}
    found_by = "name"
    fwd = _pick(fns, forward, FORWARD_NAMES, "--forward")
    bwd = _pick(fns, backward, BACKWARD_NAMES, "--backward")
    if fwd is None or bwd is None:
        by_sig = [n for n, f in fns.items() if _takes_x_y_theta(f)]
        grads = [n for n in by_sig if re.search(r"grad|back|deriv", n, re.I)]
        others = [n for n in by_sig if n not in grads and not re.search(r"train|sgd|update|predict|acc", n, re.I)]
        fwd = fwd or (others[0] if others else None)
        bwd = bwd or (grads[0] if grads else None)
        found_by = "signature"
    if fwd is None:
        raise CheckError("found no forward or loss function (forward_prop, fCE, … or one taking x, y and the "
                         "weights); name yours with --forward NAME")
    if bwd is None:
        raise CheckError("found no gradient function (back_prop, gradCE, … or one taking x, y and the weights "
                         "named grad…/back…); name yours with --backward NAME")
    return Functions(_flat(fns[fwd]), _flat(fns[bwd]), fwd, bwd, found_by)


def _flat(fn):
    """fn itself, or, where it takes each W and b apart, a wrapper taking one flat vector."""
    from .apart import ApartArrays, apart_names
    names = apart_names(fn)
    return ApartArrays(fn, names) if names else fn


def apart_layers(functions):
    """The number of layers the functions' separate W parameters fix, or None (they take a flat vector)."""
    return next((getattr(f, "layers", None) for f in (functions.forward, functions.backward)
                 if getattr(f, "layers", None)), None)


def _pick(fns, given, names, flag):
    if given:
        if given not in fns:
            raise CheckError(f"has no function {given} (name yours with {flag} NAME)")
        return given
    # a usual name that cannot take (x, y, weights) is a helper, e.g. forward(x, w) beside fCE(X, Y, w)
    return next((n for n in names if n in fns and _takes_three(fns[n])), None)


def _takes_three(fn):
    """True when fn can be given (x, y, weights) first: three positional parameters or *args."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return len(_positional(fn)) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _takes_x_y_theta(fn):
    params = _positional(fn)
    return len(params) >= 3 and bool(_X_NAMES.match(params[0].name))


def _positional(fn):
    try:
        return [p for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


@dataclass(frozen=True)
class FromForward:
    """A gradient parameter filled with what the forward returns under the same name, as in
    gradCE(X, Y, w, z1, a1, z2, a2) beside fCE returning loss, z1, a1, z2, a2, acc."""

    index: int


def returned_names(fn):
    """The names in fn's last `return a, b, c` (empty when it returns anything else)."""
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return) and node.value is not None]
    if not returns or not isinstance(returns[-1].value, ast.Tuple):
        return []
    return [e.id if isinstance(e, ast.Name) else None for e in returns[-1].value.elts]


def extra_arguments(fn, sizes, own_sizes, forward=None):
    """{param: value} for fn's parameters after (x, y, theta): sizes for size-like names (also those with
    defaults, so that keyword defaults follow the case), L2_TEST for a λ without default, FromForward for
    a name the forward returns; defaults kept otherwise.  Raises CheckError for a parameter without
    default the check cannot fill."""
    kwargs, from_forward = {}, returned_names(forward) if forward is not None else []
    for p in _positional(fn)[3:] + [p for p in inspect.signature(fn).parameters.values()
                                    if p.kind == p.KEYWORD_ONLY]:
        if _SIZE.search(p.name) and not _LAMBDA.search(p.name):
            kwargs[p.name] = size_value(p.name, sizes, p.default)
        elif p.default is not p.empty:
            continue
        elif _LAMBDA.search(p.name):
            kwargs[p.name] = L2_TEST
        elif p.name in from_forward:
            kwargs[p.name] = FromForward(from_forward.index(p.name))
        else:
            raise CheckError(f"{fn.__name__} has a parameter {p.name} without a default, which the check cannot "
                             f"fill (only layer sizes, an L2 strength and names your forward returns are recognised)")
    return kwargs


def size_value(name, sizes, default=inspect.Parameter.empty):
    """The value a size-like parameter or global takes for layer sizes [d, m1, …, c]."""
    lower, hidden = name.lower(), list(sizes[1:-1])
    if "input" in lower:
        return sizes[0]
    if "output" in lower or "class" in lower:
        return sizes[-1]
    if "layer" in lower and not re.search(r"size|unit|neuron|width", lower):
        return len(hidden)
    if isinstance(default, (list, tuple)) or lower.endswith(("sizes", "widths")):
        return hidden
    if len(set(hidden)) > 1:
        raise SizeError(f"{name} holds one width but these hidden layers differ: {hidden}")
    return hidden[0] if hidden else 0


def size_globals(module):
    """The NUM_* globals the module defines, {name: value}; without NUM_HIDDEN, another global that
    names the hidden width (HYPER_NEURON = 50, HIDDEN_UNITS = 64) stands in for it."""
    found = {name: getattr(module, name) for name in SIZE_GLOBALS if hasattr(module, name)}
    if "NUM_HIDDEN" not in found:
        width = next(((name, value) for name, value in vars(module).items()
                      if _WIDTH_GLOBAL.match(name) and "LAYER" not in name and _is_width(value)), None)
        if width:
            found[width[0]] = width[1]
    return found


_WIDTH_GLOBAL = re.compile(r"^[A-Z][A-Z0-9_]*(HIDDEN|NEURON|UNITS)[A-Z0-9_]*$")


def _is_width(value):
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_is_width(v) for v in value)
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _hidden_name(found):
    """The name of the global holding the hidden width(s): NUM_HIDDEN, or the one standing in for it."""
    return next((n for n in found if n == "NUM_HIDDEN"), None) or next(
        (n for n in found if n not in SIZE_GLOBALS), None)


def set_sizes(module, sizes):
    """Point the module's NUM_* at sizes (NUM_HIDDEN a list where the module keeps a list); returns
    what to restore."""
    saved = size_globals(module)
    for name, value in saved.items():
        setattr(module, name, size_value(name, sizes, value))
    return saved


def restore(module, saved):
    for name, value in saved.items():
        setattr(module, name, value)


def own_sizes(module, functions, given=None):
    """(layer sizes [d, …, c], where they came from) for the module's own network."""
    if given:
        return list(given), "--sizes"
    found = size_globals(module)
    hidden_layers, width_name = found.get("NUM_HIDDEN_LAYERS"), _hidden_name(found)
    if width_name and hidden_layers is None:
        hidden_layers = len(found[width_name]) if isinstance(found[width_name], (list, tuple)) else 1
    d, c = found.get("NUM_INPUT", 784), found.get("NUM_OUTPUT", 10)
    if width_name:
        hidden = found[width_name]
        widths = list(hidden) if isinstance(hidden, (list, tuple, np.ndarray)) else [hidden] * int(hidden_layers)
        if width_name != "NUM_HIDDEN":
            return _valid([d, *widths, c], f"the module's NUM_* and {width_name}"), f"NUM_* and {width_name}"
        return _valid([d, *widths, c], "the module's NUM_*"), "NUM_* globals"
    from_defaults = _sizes_from_defaults(functions, d, c)
    if from_defaults:
        return from_defaults, "keyword defaults"
    from_init = _sizes_from_init(module, d, c)
    if from_init:
        return from_init
    layers = apart_layers(functions)
    if layers:           # the arrays carry their sizes: any will do, the course's input and output
        return [d] + [APART_WIDTH] * (layers - 1) + [c], "your separate W and b parameters (any sizes)"
    raise CheckError("cannot tell the network's sizes: the module has no NUM_INPUT/NUM_HIDDEN/NUM_HIDDEN_LAYERS/"
                     "NUM_OUTPUT, no size defaults and no initWeightsAndBiases(); give them with --sizes 784,64,10")


def _valid(sizes, where):
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise CheckError(f"{where} do not describe a network: {sizes}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise CheckError(f"{where} do not describe a network: {sizes}")
    return sizes


def _sizes_from_defaults(functions, d, c):
    params = {p.name: p.default for fn in (functions.forward, functions.backward)
              for p in inspect.signature(fn).parameters.values() if p.default is not p.empty and _SIZE.search(p.name)}
    layers = next((v for k, v in params.items() if "layer" in k.lower() and isinstance(v, int)), None)
    width = next((v for k, v in params.items() if "layer" not in k.lower() or isinstance(v, (list, tuple))), None)
    if width is None:
        return None
    widths = list(width) if isinstance(width, (list, tuple)) else [width] * (layers or 1)
    return _valid([d, *widths, c], "the keyword defaults")


def _sizes_from_init(module, d, c):
    """Sizes from the module's own initialisation function: its (Ws, bs) shapes, or a flat vector's length."""
    for name in INIT_NAMES:
        fn = getattr(module, name, None)
        if not callable(fn) or _positional(fn) and any(p.default is p.empty for p in _positional(fn)):
            continue
        try:
            out = fn()
        except Exception:        # the student's code: whatever it raises, this source of sizes is unusable
            continue
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], (list, tuple)):
            shapes = [np.shape(W) for W in out[0]]
            return _valid([shapes[0][1]] + [s[0] for s in shapes], f"{name}()"), f"{name}()"
        size = np.size(out)
        for layers in range(1, 8):
            for m in range(1, 2049):
                if d * m + (layers - 1) * m * m + m * c + layers * m + c == size:
                    return [d] + [m] * layers + [c], f"{name}() ({size} values)"
    return None


def lambda_values(module, kwargs):
    """{name: value} of the L2-like numbers the module or the call uses (to say λ/n in its own terms)."""
    found = {k: v for k, v in kwargs.items() if _LAMBDA.search(k) and isinstance(v, (int, float))}
    for name, value in vars(module).items():
        if _LAMBDA.search(name) and isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            found.setdefault(name, float(value))
    return found


def call(fn, args, kwargs):
    """(output, [indices of args the call changed]): fn called on copies, each compared after the call."""
    copies = [np.array(a, copy=True) for a in args]
    out = fn(*copies, **kwargs)
    changed = [i for i, (a, c) in enumerate(zip(args, copies))
               if np.shape(a) != np.shape(c) or not np.array_equal(a, c, equal_nan=True)]
    return out, changed


def param_names(fn):
    return [p.name for p in _positional(fn)]
