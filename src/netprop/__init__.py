"""netprop: forward and backward propagation as the lecture derives them."""

from .gradcheck import GradcheckResult, gradcheck, rel_error
from .jacobian import JacobianChain, jacobian_chain
from .network import ForwardCache, Gradients, Network

__version__ = "0.1.0"

__all__ = [
    "ForwardCache",
    "GradcheckResult",
    "Gradients",
    "JacobianChain",
    "Network",
    "gradcheck",
    "jacobian_chain",
    "rel_error",
    "__version__",
]
