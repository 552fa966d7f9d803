"""The flags of the training configuration, generated from TrainConfig's fields (training/fit.py).

Each field's metadata says its help text, how a word parses, its choices and its placeholder; this
module only turns those into argparse arguments.  A new TrainConfig field is a new flag, with
nothing to add here.
"""

from __future__ import annotations

import argparse

from ..training.fit import TrainConfig
from .argtypes import int_list, non_negative_float, non_negative_int, positive_float, positive_int

# TrainConfig's parse names → argparse types
PARSERS = {"positive_int": positive_int, "non_negative_int": non_negative_int, "int": int,
           "positive_float": positive_float, "non_negative_float": non_negative_float, "float": float,
           "int_list": int_list}


def _flag_spec(setting):
    """argparse keywords for one TrainConfig setting (its metadata), {default} left in the help."""
    spec = {"help": setting["help"]}
    if setting["parse"] is not None:
        spec["type"] = PARSERS[setting["parse"]]
    if setting["choices"] is not None:
        spec["choices"] = list(setting["choices"])
    if setting["metavar"] is not None:
        spec["metavar"] = setting["metavar"]
    return spec


# The flag of every TrainConfig field: how it parses and what --help says; {default} is the
# field's default as TrainConfig sets it.
CONFIG_FLAGS = {name: _flag_spec(setting) for name, setting in TrainConfig.settings().items()}


def _shown(value):
    """A default as --help prints it: 256,128 for a list, 0.002 rather than 0.0020 for a float."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_config_flag(group, name):
    """Add --name (underscores as dashes) setting TrainConfig's field name, default from TrainConfig."""
    setting = TrainConfig.settings()[name]
    default = setting["default"]
    spec = _flag_spec(setting)
    spec["help"] = spec["help"].format(default=_shown(default))
    flag = "--" + name.replace("_", "-")
    if isinstance(default, bool):
        spec.setdefault("action", argparse.BooleanOptionalAction if default else "store_true")
    group.add_argument(flag, dest=name, default=default, **spec)
