"""train_step and score as one compiled call, for the networks and optimizers it can take.

A small network's minibatch spends more time in the Python and NumPy calls around its products
than in the products themselves: 784-30-10 on 16 examples makes some forty calls, ~60 µs, around
~40 µs of products.  CompiledStep hands the whole minibatch to _step_kernel.relu_softmax_step, which
makes the same products through the same OpenBLAS and the element-wise work in its loops, in one
call from Python; the Trainer (fit.py) uses it wherever it applies and Numba is there.  How much
it saves is in docs/benchmarks.md; tests/test_fast.py holds it equal to train_step and score.
"""

from __future__ import annotations

import numpy as np

from ._blas import gemm_address
from .optimizers import OPTIMIZERS


class CompiledStep:
    """step.train_step, then step.score, as one compiled call: for a relu network with softmax
    cross-entropy trained by sgd, momentum or adam, where Numba and NumPy's OpenBLAS are both there.
    ``CompiledStep.for_training`` makes one, or says None where it does not apply.
    """

    KINDS = {"sgd": 0, "momentum": 1, "adam": 2}

    @classmethod
    def for_training(cls, net, optimizer, kernels):
        """The compiled step for net and optimizer, or None: without kernels, for another activation,
        loss, optimizer (nesterov, or one registered elsewhere) or BLAS, or parameters that are not
        C-contiguous, writeable arrays of the network's dtype."""
        if kernels is None or net.activation != "relu" or net.loss_name != "cross_entropy":
            return None
        if optimizer.name not in cls.KINDS or type(optimizer) is not OPTIMIZERS[optimizer.name]:
            return None
        gemm = gemm_address(net.dtype)
        if gemm is None or not all(p.flags.c_contiguous and p.flags.writeable and p.dtype == net.dtype
                                   for p in net.parameters()):
            return None
        return cls(net, optimizer, kernels, gemm)

    def __init__(self, net, optimizer, kernels, gemm):
        self.optimizer, self.gemm, self.kind = optimizer, gemm, self.KINDS[optimizer.name]
        self.mu = getattr(optimizer, "momentum", 0.0)
        if self.kind == 1 and not self.mu:
            self.kind = 0                                # momentum 0 is plain SGD (it keeps no velocity)
        self.function = kernels["relu_softmax_step"]
        self.dtype = net.dtype.type
        self.n_features = net.layer_sizes[0]
        W, b = net.weights, net.biases
        # the optimizer's own arrays (a checkpoint restores them in place); unused ones stand in as W, b
        if self.kind == 1:
            state = optimizer.velocity[0::2], W, optimizer.velocity[1::2], b, W
        elif self.kind == 2:
            state = (optimizer.m[0::2], optimizer.v[0::2], optimizer.m[1::2], optimizer.v[1::2],
                     optimizer._gradient_buffers(net.parameters()))
        else:
            state = W, W, b, b, W
        # tuples, not numba.typed.List: Numba unboxes a tuple of arrays ~4 times quicker (nine
        # lists cost 10 µs a call), and each array in it is the network's own, updated in place
        self.arrays = [tuple(arrays) for arrays in (W, b, *state)]

    def __call__(self, x, labels, lr, l2=0.0):
        """One minibatch: x (n, d) C-contiguous in net's dtype, integer labels (n,).  Returns
        (mean cross-entropy before the update, number correct), as score(train_step(…), labels)."""
        t, optimizer = self.dtype, self.optimizer
        x = np.ascontiguousarray(x, dtype=t)             # the same array where it is already so
        if x.ndim != 2 or x.shape[1] != self.n_features or labels.shape != (len(x),):
            raise ValueError(f"a minibatch of {self.n_features} features and one label per row was expected, "
                             f"got x {x.shape} and labels {labels.shape}")
        step_size, eps, b1, b2 = 0.0, 0.0, 0.0, 0.0
        if self.kind == 2:
            step_size, eps = optimizer.next_step(lr)
            b1, b2 = optimizer.beta1, optimizer.beta2
        total, correct = self.function(
            *self.gemm, x, labels, *self.arrays, self.kind, t(len(x)), t(lr), t(1 - lr * l2), t(l2), t(self.mu),
            t(b1), t(1 - b1), t(b2), t(1 - b2), t(step_size), t(eps))
        return total / len(x), correct

