"""netprop: forward and backward propagation as the lecture derives them."""

from .check import CheckReport, check
from .derive import Derivation, derive
from .evaluation import evaluate_model, predict_top
from .gradcheck import GradcheckResult, gradcheck, gradcheck_cases, rel_error
from .explain import explain
from .io import TrainedModel, load_model as load
from .jacobian import JacobianChain, jacobian_chain
from .network import ForwardCache, Gradients, Network
from .run import train_run
from .train import TrainConfig, TrainingDiverged, fit
from .tune import SweepResult, run_sweep

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
