"""netprop: forward and backward propagation as the lecture derives them.

The names below are imported when first used (PEP 562), so `netprop train` does not pay for the
homework checker, derive or explain at start-up; ``from netprop import check`` works as always.
"""

from importlib import import_module

from ._version import __version__

# netprop.explain is also a subpackage: importing it (netprop.explain.api, …) sets this package's
# attribute `explain` to the module, so the function is bound here, not left to __getattr__.
from .explain import explain as explain

# name → the module (relative to this package) that owns it
_OWNERS = {
    "CheckReport": ".teaching.homework", "check": ".teaching.homework",
    "Derivation": ".teaching.derive", "derive": ".teaching.derive",
    "evaluate_model": ".training.evaluation", "predict_top": ".training.evaluation",
    "GradcheckResult": ".teaching.gradcheck", "gradcheck": ".teaching.gradcheck",
    "gradcheck_cases": ".teaching.gradcheck", "rel_error": ".teaching.gradcheck",
    "TrainedModel": ".storage.models", "load": ".storage.models",
    "JacobianChain": ".teaching.jacobian", "jacobian_chain": ".teaching.jacobian",
    "ForwardCache": ".core.network", "Gradients": ".core.network", "Network": ".core.network",
    "train_run": ".training.train_run",
    "TrainConfig": ".training.fit", "TrainingDiverged": ".training.fit", "fit": ".training.fit",
    "SweepResult": ".training.tune", "run_sweep": ".training.tune",
}
_SOURCE_NAMES = {"load": "load_model"}           # netprop.load is storage.models.load_model

__all__ = sorted([*_OWNERS, "explain"]) + ["__version__"]


def __getattr__(name):
    if name not in _OWNERS:
        raise AttributeError(f"module 'netprop' has no attribute {name!r}")
    value = getattr(import_module(_OWNERS[name], __name__), _SOURCE_NAMES.get(name, name))
    globals()[name] = value                      # found directly from now on
    return value


def __dir__():
    return sorted(set(globals()) | set(_OWNERS))
