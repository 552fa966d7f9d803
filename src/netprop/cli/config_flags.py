"""The flags of the training configuration: one per TrainConfig field, its default taken from TrainConfig."""

from __future__ import annotations

import argparse

from ..core.activations import ACTIVATIONS
from ..training.optimizers import OPTIMIZERS, SCHEDULES
from .argtypes import int_list, non_negative_float, non_negative_int, positive_float, positive_int

# The flag of every TrainConfig field: how it parses and what --help says; {default} is the
# field's default as TrainConfig sets it.  test_cli_train checks that each field has an entry.
CONFIG_FLAGS = {
    "hidden": dict(type=int_list, metavar="H[,H...]",
                   help="hidden layer widths, e.g. 128 or 256,128 (default {default})"),
    "activation": dict(choices=list(ACTIVATIONS), help="hidden activation (default {default})"),
    "epochs": dict(type=positive_int, help="passes over the training split (default {default})"),
    "batch_size": dict(type=positive_int, help="examples per minibatch (default {default})"),
    "lr": dict(type=positive_float, help="learning rate (default {default})"),
    "optimizer": dict(choices=OPTIMIZERS, help="update rule (default {default})"),
    "momentum": dict(type=non_negative_float, help="momentum for momentum/nesterov (default {default})"),
    "l2": dict(type=non_negative_float,
               help="L2 strength: adds (l2/2)·Σ‖W‖² to the loss (default {default})"),
    "schedule": dict(choices=SCHEDULES,
                     help="learning-rate schedule (default {default}; cosine anneals the rate to 0, "
                          "minibatch by minibatch)"),
    "step_epochs": dict(type=positive_int, metavar="EPOCHS",
                        help="with --schedule step: multiply the rate by --gamma every EPOCHS epochs "
                             "(default {default})"),
    "gamma": dict(type=positive_float, help="with --schedule step: the factor (default {default})"),
    "patience": dict(type=int, metavar="EPOCHS",
                     help="stop after this many epochs without a better validation accuracy (default "
                          "{default}; 0 runs every epoch; the best epoch is kept either way)"),
    "augment": dict(help="random horizontal flips and shifts of training images"),
    "shift": dict(type=int, metavar="PIXELS", help="largest shift for --augment (default {default})"),
    "seed": dict(type=non_negative_int,
                 help="seed for split, weights, shuffles and augmentation (default {default})"),
    "validation": dict(type=float, metavar="FRACTION",
                       help="fraction of the training set held out for validation (default {default})"),
}


def _shown(value):
    """A default as --help prints it: 256,128 for a list, 0.002 rather than 0.0020 for a float."""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_config_flag(group, name):
    """Add --name (underscores as dashes) setting TrainConfig's field name, default from TrainConfig.

    A field missing from CONFIG_FLAGS still gets a flag, parsed by its default's type.
    """
    from ..training.fit import TrainConfig

    default = getattr(TrainConfig(), name)
    spec = dict(CONFIG_FLAGS.get(name) or {"help": f"TrainConfig.{name} (default {{default}})"})
    spec["help"] = spec["help"].format(default=_shown(default))
    flag = "--" + name.replace("_", "-")
    if isinstance(default, bool):
        spec.setdefault("action", argparse.BooleanOptionalAction if default else "store_true")
        group.add_argument(flag, dest=name, default=default, **spec)
        return
    if "type" not in spec and "choices" not in spec:
        spec["type"] = int_list if isinstance(default, list) else type(default)
    group.add_argument(flag, dest=name, default=default, **spec)
