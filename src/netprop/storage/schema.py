"""What netprop reads back is checked before it is used: JSON depth and size, field types, ranges.

config.json, checkpoint metadata, sweep.json and trials.json are written by netprop, but read
back from disk they may be truncated, hand-edited or tampered with.  Each is parsed with its
nesting depth bounded (Python's parser recurses, so a file of ten thousand '[' would end in a
RecursionError) and each field checked for type and range, so that a bad file is one error
naming the file and the field, never a KeyError three calls later.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path


MAX_DEPTH = 32                      # netprop's own files nest at most 5 levels
MAX_JSON_BYTES = 64 << 20
MAX_LAYERS = 64
MAX_UNITS = 1 << 31                 # per layer; memory is checked separately, against the file size
_STRUCTURE = re.compile(r'[\[\]{}"]')
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SchemaError(ValueError):
    """A JSON file netprop wrote that no longer has the expected form; names the file and field."""


# --- parsing -------------------------------------------------------------------------------


def json_depth(text, stop=None):
    """The deepest nesting of [ and { in JSON text, brackets inside strings ignored.

    One pass, no recursion and no regular expression that could backtrack: each string is
    skipped by finding its closing quote (a quote preceded by an even number of backslashes);
    each backslash is looked at once.  stop: return as soon as the depth exceeds it.
    """
    depth = deepest = 0
    m = _STRUCTURE.search(text)
    while m is not None:
        if m.group() == '"':
            start = m.end()
            while True:
                q = text.find('"', start)
                if q < 0:
                    return deepest                     # unterminated string: the parser refuses it
                k = q
                while k > start and text[k - 1] == "\\":
                    k -= 1
                if (q - k) % 2 == 0:
                    break
                start = q + 1
            m = _STRUCTURE.search(text, q + 1)
            continue
        depth += 1 if m.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if stop is not None and deepest > stop:
                return deepest
        m = _STRUCTURE.search(text, m.end())
    return deepest


def parse_json(text, label, error=SchemaError, max_depth=MAX_DEPTH):
    """json.loads(text) with its depth bounded; label names the source in messages."""
    depth = json_depth(text, stop=max_depth)
    if depth > max_depth:
        raise error(f"{label}: JSON nested more than {max_depth} levels deep (netprop reads at most {max_depth})")
    try:
        return json.loads(text)
    except ValueError as exc:                      # json.JSONDecodeError is a ValueError
        raise error(f"{label}: not valid JSON ({exc})") from None


def load_json(path, label=None, error=SchemaError, max_depth=MAX_DEPTH, max_bytes=MAX_JSON_BYTES):
    """The JSON value in path, its size and depth bounded before parsing.

    label: how messages name the file (default the path); error: the exception class to raise.
    """
    path = Path(path)
    label = label or str(path)
    try:
        size, chunks = 0, []
        with open(path, "rb") as fh:            # no further than the limit: /dev/zero ends too
            while size <= max_bytes and (chunk := fh.read(1 << 16)):   # read(limit) would allocate it
                chunks.append(chunk)
                size += len(chunk)
        blob = b"".join(chunks)
        if len(blob) > max_bytes:
            raise error(f"{label}: more than the {max_bytes} bytes a netprop JSON file may hold")
        text = blob.decode("utf-8")
    except FileNotFoundError:
        raise error(f"{label}: no such file") from None
    except UnicodeDecodeError as exc:
        raise error(f"{label}: not UTF-8 text ({exc})") from None
    except IsADirectoryError:
        raise error(f"{label}: is a directory, not a JSON file") from None
    return parse_json(text, label, error, max_depth)


# --- fields --------------------------------------------------------------------------------

_KINDS = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "dict": lambda v: isinstance(v, dict),
}
_KIND_WORDS = {"int": "an integer", "number": "a number", "str": "a string", "bool": "true or false",
               "list": "a list", "dict": "an object"}


class Fields:
    """Typed, ranged reads of one JSON object's fields, with errors naming the file and field path."""

    def __init__(self, obj, label, error=SchemaError, where=""):
        self.label, self.error, self.where = label, error, where
        if not isinstance(obj, dict):
            self.fail(where or "the top level", f"must be {_KIND_WORDS['dict']}, got {_describe(obj)}")
        self.obj = obj

    def fail(self, name, problem):
        raise self.error(f"{self.label}: field {name} {problem}")

    def name(self, key):
        return f"{self.where}.{key}" if self.where else str(key)

    def get(self, key, kind, *, optional=False, lo=None, hi=None, choices=None, finite=True):
        """obj[key], checked: kind one of int/number/str/bool/list/dict; lo..hi inclusive."""
        name = self.name(key)
        if key not in self.obj:
            if optional:
                return None
            self.fail(name, "is missing")
        value = self.obj[key]
        if value is None and optional:
            return None
        check_value(value, kind, name, self.fail, lo=lo, hi=hi, choices=choices, finite=finite)
        return value

    def only(self, keys):
        """Refuse keys other than these (where the reader would pass them on as arguments)."""
        extra = sorted(set(self.obj) - set(keys), key=str)
        if extra:
            self.fail(self.name(extra[0]), "is not expected here")

    def sub(self, key, optional=False):
        """A Fields for the object at obj[key] (None when optional and absent or null)."""
        value = self.get(key, "dict", optional=optional)
        return None if value is None else Fields(value, self.label, self.error, self.name(key))

    def int_list(self, key, lo=None, hi=None, min_len=0, max_len=None):
        values = self.get(key, "list")
        name = self.name(key)
        if len(values) < min_len or (max_len is not None and len(values) > max_len):
            self.fail(name, f"must list {min_len}..{max_len if max_len is not None else 'any'} "
                            f"integers, got {len(values)}")
        for k, v in enumerate(values):
            check_value(v, "int", f"{name}[{k}]", self.fail, lo=lo, hi=hi)
        return values


def _describe(value):
    text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_value(value, kind, name, fail, lo=None, hi=None, choices=None, finite=True):
    """Check one value's kind, range and choices; fail(name, problem) raises."""
    if not _KINDS[kind](value):
        fail(name, f"must be {_KIND_WORDS[kind]}, got {_describe(value)}")
    if kind == "number" and finite and not math.isfinite(value):
        fail(name, f"must be finite, got {value}")
    if lo is not None and value < lo or hi is not None and value > hi:
        fail(name, f"must be in {lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}, "
                   f"got {_describe(value)}")
    if choices is not None and value not in choices:
        fail(name, f"must be one of {', '.join(map(str, choices))}, got {_describe(value)}")


# --- netprop's files -----------------------------------------------------------------------


def check_network_spec(spec):
    """The "network" object of config.json: layer_sizes, activation, loss, dtype (a Fields)."""
    from ..core.activations import ACTIVATIONS
    from ..core.losses import LOSSES

    spec.int_list("layer_sizes", lo=1, hi=MAX_UNITS, min_len=2, max_len=MAX_LAYERS + 1)
    spec.get("activation", "str", choices=list(ACTIVATIONS))
    spec.get("loss", "str", choices=list(LOSSES))
    spec.get("dtype", "str", choices=["float32", "float64"], optional=True)


def check_model_config(config, label, error=SchemaError):
    """config.json of a saved model: every field load_model uses, with its type and range."""
    top = Fields(config, label, error)
    top.get("format_version", "int", lo=1, hi=1)
    network = top.sub("network")
    check_network_spec(network)
    sizes = network.obj["layer_sizes"]
    names = top.get("class_names", "list", optional=True)
    if names is not None:
        if len(names) != sizes[-1]:
            top.fail("class_names", f"must list {sizes[-1]} names (one per output), got {len(names)}")
        for k, n in enumerate(names):
            check_value(n, "str", f"class_names[{k}]", top.fail)
    pre = top.sub("preprocessing", optional=True)
    if pre is not None:
        pre.get("kind", "str", choices=["pixels", "features"])
    for key in ("model_sha256", "config_sha256"):
        value = top.get(key, "str", optional=True)
        if value is not None and not _HEX64.fullmatch(value):
            top.fail(key, f"must be 64 lowercase hex digits, got {_describe(value)}")
    return config


def check_train_config(config, label, error=SchemaError, where="config"):
    """A TrainConfig as a dict (checkpoint metadata): types here, ranges by TrainConfig itself."""
    from ..core.activations import ACTIVATIONS

    f = Fields(config, label, error, where)
    f.int_list("hidden", lo=1, hi=MAX_UNITS, min_len=1, max_len=MAX_LAYERS)
    f.get("activation", "str", choices=list(ACTIVATIONS))
    for key in ("epochs", "batch_size", "step_epochs", "patience", "shift", "seed"):
        f.get(key, "int", lo=0 if key in ("patience", "shift", "seed") else 1, hi=2 ** 63 - 1)
    for key in ("lr", "momentum", "l2", "gamma", "validation"):
        f.get(key, "number")
    f.get("optimizer", "str")
    f.get("schedule", "str")
    f.get("augment", "bool")
    return config


def check_source(source, label, error=SchemaError, where="source"):
    """Where a run's data came from: {"kind": "fashion-mnist", "data_dir"} or {"kind": "file", "path", …}."""
    f = Fields(source, label, error, where)
    kind = f.get("kind", "str", choices=["fashion-mnist", "file"])
    if kind == "file":
        f.get("path", "str")
        f.get("test_path", "str", optional=True)
    else:
        f.get("data_dir", "str", optional=True)
    f.get("header", "bool", optional=True)
    return source


_HISTORY_FIELDS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds")


def check_checkpoint_meta(meta, label, error=SchemaError):
    """The metadata of checkpoint.safetensors: state, config, source, subset (and data hash)."""
    top = Fields(meta, label, error)
    check_train_config(top.get("config", "dict"), label, error)
    check_source(top.get("source", "dict"), label, error)
    top.get("subset", "int", optional=True, lo=1)
    digest = top.get("data_sha256", "str", optional=True)
    if digest is not None and not _HEX64.fullmatch(digest):
        top.fail("data_sha256", "must be 64 lowercase hex digits")
    state = top.sub("state")
    state.only(["epoch", "step", "history", "best_epoch", "best_accuracy", "best_loss", "bad_epochs",
                "rng_state", "stopped_early"])
    epoch = state.get("epoch", "int", lo=0, hi=top.obj["config"]["epochs"])
    state.get("step", "int", lo=0)
    history = state.get("history", "list")
    if len(history) != epoch:
        state.fail("history", f"must hold one record per finished epoch ({epoch}), got {len(history)}")
    for k, record in enumerate(history):
        r = Fields(record, label, error, f"state.history[{k}]")
        r.get("epoch", "int", lo=k + 1, hi=k + 1)
        for key in _HISTORY_FIELDS:
            r.get(key, "number")
    state.get("best_epoch", "int", lo=1 if epoch else 0, hi=epoch)
    state.get("best_accuracy", "number", lo=-1, hi=1)
    state.get("best_loss", "number", finite=False)
    state.get("bad_epochs", "int", lo=0, hi=epoch)
    state.get("stopped_early", "bool")
    rng = state.sub("rng_state", optional=True)
    if rng is not None:
        rng.get("bit_generator", "str", choices=["PCG64"])
        inner = rng.sub("state")
        inner.get("state", "int", lo=0, hi=2 ** 128 - 1)
        inner.get("inc", "int", lo=0, hi=2 ** 128 - 1)
        rng.get("has_uint32", "int", lo=0, hi=1)
        rng.get("uinteger", "int", lo=0, hi=2 ** 32 - 1)
    return meta


def check_sweep(spec, label, error=SchemaError):
    """sweep.json: the settings of a sweep, compared with the command's to continue it."""
    top = Fields(spec, label, error)
    for k, trial in enumerate(top.get("trials", "list")):
        t = Fields(trial, label, error, f"trials[{k}]")
        t.get("number", "int", lo=1)
        t.get("params", "dict")
    check_source(top.get("source", "dict"), label, error)
    top.get("seed", "int")
    top.get("validation", "number", lo=0, hi=1)
    top.get("subset", "int", optional=True, lo=1)
    return spec


def check_trials(results, label, error=SchemaError):
    """trials.json: one result per finished trial, as tune.run_trial returns it."""
    if not isinstance(results, list):
        raise error(f"{label}: must hold a list of trial results, got {_describe(results)}")
    for k, result in enumerate(results):
        r = Fields(result, label, error, f"[{k}]")
        r.get("trial", "int", lo=1)
        r.get("key", "str")
        r.int_list("hidden", lo=1, hi=MAX_UNITS, min_len=1, max_len=MAX_LAYERS)
        r.get("lr", "number", lo=0)
        r.get("batch_size", "int", lo=1)
        r.get("epochs", "int", lo=1)
        r.get("l2", "number", lo=0)
        r.get("optimizer", "str")
        r.get("val_accuracy", "number", lo=0, hi=1)
        r.get("val_loss", "number", lo=0, finite=False)
        r.get("best_epoch", "int", lo=0)
        r.get("status", "str")
        r.get("seconds", "number", lo=0)
    return results


def load_sweep(path):
    """sweep.json, parsed with bounded depth and checked (SchemaError naming the field otherwise)."""
    return check_sweep(load_json(path), str(path))


def load_trials(path):
    """trials.json, parsed with bounded depth and checked (SchemaError naming the field otherwise)."""
    return check_trials(load_json(path), str(path))
