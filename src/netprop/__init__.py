"""netprop: forward and backward propagation as the lecture derives them."""

from .derive import Derivation, derive
from .explain import explain
from .gradcheck import GradcheckResult, gradcheck, rel_error
from .io import TrainedModel, load_model as load
from .jacobian import JacobianChain, jacobian_chain
from .network import ForwardCache, Gradients, Network
from .run import train_run
from .train import TrainConfig, TrainingDiverged, fit

__version__ = "0.1.0"

__all__ = [
    "Derivation",
    "ForwardCache",
    "GradcheckResult",
    "Gradients",
    "JacobianChain",
    "Network",
    "TrainConfig",
    "TrainedModel",
    "TrainingDiverged",
    "derive",
    "explain",
    "fit",
    "gradcheck",
    "jacobian_chain",
    "load",
    "rel_error",
    "train_run",
    "__version__",
]
