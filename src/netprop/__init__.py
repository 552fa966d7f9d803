"""netprop: forward and backward propagation as the lecture derives them."""

from .teaching.homework import CheckReport, check
from .teaching.derive import Derivation, derive
from .training.evaluation import evaluate_model, predict_top
from .teaching.gradcheck import GradcheckResult, gradcheck, gradcheck_cases, rel_error
from .explain import explain
from .storage.models import TrainedModel, load_model as load
from .teaching.jacobian import JacobianChain, jacobian_chain
from .core.network import ForwardCache, Gradients, Network
from .training.train_run import train_run
from .training.fit import TrainConfig, TrainingDiverged, fit
from .training.tune import SweepResult, run_sweep

from ._version import __version__

__all__ = [
    "CheckReport",
    "Derivation",
    "ForwardCache",
    "GradcheckResult",
    "Gradients",
    "JacobianChain",
    "Network",
    "SweepResult",
    "TrainConfig",
    "TrainedModel",
    "TrainingDiverged",
    "check",
    "derive",
    "evaluate_model",
    "explain",
    "fit",
    "gradcheck",
    "gradcheck_cases",
    "jacobian_chain",
    "load",
    "predict_top",
    "rel_error",
    "run_sweep",
    "train_run",
    "__version__",
]
