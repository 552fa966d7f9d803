"""A whole training step compiled by Numba, and the minibatch's score on its own.

Imported by _kernels only when Numba is there.  compiled_step.CompiledStep calls ``relu_softmax_step``
once per minibatch in place of train_step and score: the same products, through the same
OpenBLAS that NumPy loaded (its cblas_?gemm, whose address _blas found), and the element-wise
work (bias and relu, softmax, ŷ − y, relu', the optimizer's update) in loops, so that a step is one
call from Python instead of some forty.  tests/test_fast.py holds it equal to train_step and score.

The address of gemm is passed as an integer, and ``_gemm`` below calls it: an integer argument
keeps Numba's call cheap and its cache valid from one process to the next (a ctypes function
passed instead cost ~2 µs a call, and ~300 µs once a second dtype had been compiled).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


@intrinsic
def _gemm(typingctx, address, trans_a, trans_b, m, n, k, alpha, a, b, beta, c, width):
    """cblas_?gemm(RowMajor, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) at address,
    for C-contiguous 2-D arrays (their leading dimensions are their row lengths).  width: a zero of
    the BLAS's integer type (int64 for NumPy's scipy-openblas64, int32 for a 32-bit one)."""
    if not (a.dtype == b.dtype == c.dtype and a.layout == b.layout == c.layout == "C"
            and a.ndim == b.ndim == c.ndim == 2 and c.mutable):
        return None                                   # a typing error, never a call on the wrong memory
    flags = types.int64
    sig = types.void(types.int64, flags, flags, types.int64, types.int64, types.int64, a.dtype, a, b, a.dtype, c,
                     width)

    def codegen(context, builder, signature, args):
        address, trans_a, trans_b, m, n, k, alpha, a, b, beta, c, _ = args
        a_type, b_type, c_type, width_type = (signature.args[i] for i in (7, 8, 10, 11))
        integer, real = context.get_value_type(width_type), context.get_value_type(a_type.dtype)
        i32, pointer = ir.IntType(32), ir.IntType(8).as_pointer()
        function = ir.FunctionType(ir.VoidType(), [i32, i32, i32, integer, integer, integer, real, pointer, integer,
                                                   pointer, integer, real, pointer, integer])
        arrays = [context.make_array(t)(context, builder, v) for t, v in ((a_type, a), (b_type, b), (c_type, c))]
        data = [builder.bitcast(array.data, pointer) for array in arrays]
        rows = [builder.trunc(_row_length(builder, array), integer) if integer.width < 64
                else _row_length(builder, array) for array in arrays]
        sizes = [builder.trunc(v, integer) if integer.width < 64 else v for v in (m, n, k)]
        builder.call(builder.inttoptr(address, function.as_pointer()),
                     [ir.Constant(i32, ROW_MAJOR), builder.trunc(trans_a, i32), builder.trunc(trans_b, i32), *sizes,
                      alpha, data[0], rows[0], data[1], rows[1], beta, data[2], rows[2]])
        return context.get_dummy_value()

    return sig, codegen


def _row_length(builder, array):
    """The length of a C-contiguous 2-D array's rows: its second dimension."""
    return builder.extract_value(array.shape, 1)


kernel = njit(cache=True, nogil=True, error_model="numpy")


@kernel
def relu_softmax_step(gemm, width, x, labels, weights, biases, moments, squares, bias_moments, bias_squares,
                      gradients, kind, n, lr, decay, l2, mu, b1, c_b1, b2, c_b2, step_size, eps):
    """One minibatch of training for a relu network with softmax and mean cross-entropy, as
    step.train_step followed by step.score computes it.  Every array is C-contiguous, the examples
    as rows; weights, biases and the optimizer's arrays are tuples of the network's own arrays,
    updated in place.  kind: 0 sgd, 1 momentum, 2 adam.  The scalars are in the arrays' precision.

    Returns (Σᵢ −log ŷᵢ[labelᵢ] in float64, number of rows whose largest ŷ is the label's).
    """
    hs, zs = _forward(gemm, width, x, weights, biases)
    delta, loss, correct = _softmax_delta(zs[len(weights)], labels, n)
    # backward from the top layer: each layer's δ below is formed with its W before the update
    for l in range(len(weights) - 1, -1, -1):
        W = weights[l]
        below = delta
        if l > 0:                                     # δ ← (δ W) ⊙ relu'(z)
            below = np.empty((x.shape[0], W.shape[1]), x.dtype)
            _gemm(gemm, NO_TRANS, NO_TRANS, x.shape[0], W.shape[1], W.shape[0], 1.0, delta, W, 0.0, below, width)
            zb = zs[l]
            for i in range(below.shape[0]):
                for j in range(below.shape[1]):
                    below[i, j] = below[i, j] if zb[i, j] > 0 else below[i, j] * 0
        if kind == 0:
            _sgd(gemm, width, W, biases[l], hs[l], delta, lr, decay)
        elif kind == 1:
            _momentum(gemm, width, W, biases[l], hs[l], delta, moments[l], bias_moments[l], lr, l2, mu)
        else:
            _adam(gemm, width, W, biases[l], hs[l], delta, gradients[l], moments[l], squares[l], bias_moments[l],
                  bias_squares[l], l2, b1, c_b1, b2, c_b2, step_size, eps)
        delta = below
    return loss, correct


@kernel
def _forward(gemm, width, x, weights, biases):
    """z = h Wᵀ + b and h = relu(z), layer by layer: ([x, h⁽¹⁾, …, h⁽ᴸ⁻¹⁾], [x, z⁽¹⁾, …, z⁽ᴸ⁾]), x
    standing in for z⁽⁰⁾; the last z, the logits, gets no relu."""
    hs = [x]
    zs = [x]
    for l in range(len(weights)):
        W, b = weights[l], biases[l]
        z = np.empty((x.shape[0], W.shape[0]), x.dtype)
        _gemm(gemm, NO_TRANS, TRANS, x.shape[0], W.shape[0], W.shape[1], 1.0, hs[l], W, 0.0, z, width)
        zs.append(z)
        if l == len(weights) - 1:
            for i in range(z.shape[0]):
                for j in range(z.shape[1]):
                    z[i, j] += b[j]
            break
        h = np.empty_like(z)
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                v = z[i, j] + b[j]
                z[i, j] = v
                h[i, j] = v if (v > 0 or v != v) else 0.0          # NaN stays NaN and −inf is 0, as in np.maximum
        hs.append(h)
    return hs, zs


@kernel
def _softmax_delta(z, labels, n):
    """ŷ = softmax(z) row by row: (δ = (ŷ − y)/n, Σᵢ −log ŷᵢ[labelᵢ], number correct)."""
    one, zero = n / n, n - n
    delta = np.empty_like(z)
    loss = 0.0
    correct = 0
    for i in range(z.shape[0]):
        top = z[i, 0]
        for j in range(z.shape[1]):
            if z[i, j] > top or z[i, j] != z[i, j]:
                top = z[i, j]
        total = zero
        for j in range(z.shape[1]):
            e = np.exp(z[i, j] - top)
            delta[i, j] = e
            total += e
        best = 0                                      # the first largest, as ndarray.argmax
        for j in range(z.shape[1]):
            delta[i, j] /= total
            if delta[i, j] > delta[i, best]:
                best = j
        k = labels[i]
        correct += best == k
        if delta[i, k] > zero:
            loss -= np.log(np.float64(delta[i, k]))
        else:                                         # ŷ underflowed: log ŷ from z by log-sum-exp
            loss -= np.float64(z[i, k] - top) - np.log(np.float64(total))
        for j in range(z.shape[1]):
            delta[i, j] = ((delta[i, j] - one) if j == k else delta[i, j]) / n
    return delta, loss, correct


@kernel
def _bias_gradient(delta):
    """∇b = Σ δ over the minibatch's rows."""
    grad_b = np.zeros(delta.shape[1], delta.dtype)
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            grad_b[j] += delta[i, j]
    return grad_b


@kernel
def _sgd(gemm, width, W, b, h, delta, lr, decay):
    """W ← (1 − lr·l2)·W − lr·δᵀh (decay = 1 − lr·l2),  b ← b − lr·∇b."""
    grad_b = _bias_gradient(delta)
    _gemm(gemm, TRANS, NO_TRANS, W.shape[0], W.shape[1], h.shape[0], -lr, delta, h, decay, W, width)
    for j in range(b.size):
        b[j] -= lr * grad_b[j]


@kernel
def _momentum(gemm, width, W, b, h, delta, v, vb, lr, l2, mu):
    """v ← μ v + δᵀh + l2·W,  W ← W − lr·v;  v_b ← μ v_b + ∇b,  b ← b − lr·v_b."""
    grad_b = _bias_gradient(delta)
    _gemm(gemm, TRANS, NO_TRANS, W.shape[0], W.shape[1], h.shape[0], 1.0, delta, h, mu, v, width)
    _momentum_weights(W, v, lr, l2)
    for j in range(b.size):
        vb[j] = vb[j] * mu + grad_b[j]
        b[j] -= lr * vb[j]


@kernel
def _momentum_weights(W, v, lr, l2):
    """v ← v + l2·W,  W ← W − lr·v, element by element (v holds μ v + δᵀh)."""
    Wf, vf = W.reshape(-1), v.reshape(-1)
    if l2:
        for i in range(Wf.size):
            vi = vf[i] + l2 * Wf[i]
            vf[i] = vi
            Wf[i] -= lr * vi
    else:                                             # v is not written again: one pass fewer over it
        for i in range(Wf.size):
            Wf[i] -= lr * vf[i]


@kernel
def _adam(gemm, width, W, b, h, delta, g, m, s, mb, sb, l2, b1, c_b1, b2, c_b2, step_size, eps):
    """Adam on ∇W = δᵀh + l2·W (formed in g) and ∇b, as optimizers.Adam's update_from_deltas."""
    grad_b = _bias_gradient(delta)
    _gemm(gemm, TRANS, NO_TRANS, W.shape[0], W.shape[1], h.shape[0], 1.0, delta, h, 0.0, g, width)
    _adam_weights(W, g, m, s, l2, b1, c_b1, b2, c_b2, step_size, eps)
    for j in range(b.size):                 # no l2 on b: l2·b would turn an infinite bias into NaN
        adam_at(b, mb, sb, j, grad_b[j], b1, c_b1, b2, c_b2, step_size, eps)


@kernel
def _adam_weights(W, g, m, s, l2, b1, c_b1, b2, c_b2, step_size, eps):
    """Adam's update of W element by element, its gradient δᵀh in g (+ l2·W here)."""
    Wf, gf, mf, sf = W.reshape(-1), g.reshape(-1), m.reshape(-1), s.reshape(-1)
    for i in range(Wf.size):
        adam_at(Wf, mf, sf, i, gf[i] + l2 * Wf[i], b1, c_b1, b2, c_b2, step_size, eps)


@kernel
def adam_at(p, m, s, i, gi, b1, c_b1, b2, c_b2, step_size, eps):
    """Adam at element i of p with gradient gi: m ← β1 m + (1−β1) g;  s ← β2 s + (1−β2) g²;
    θ ← θ − (lr·√c2/c1)·m / (√s + ε·√c2), as step_size and eps come from optimizers.Adam.
    (c_b1 = 1 − β1 and c_b2 = 1 − β2 come rounded from float64, as NumPy's scalars do.)
    Every Adam loop here and in _kernels.py calls it; Numba inlines it into each."""
    mi = m[i] * b1 + gi * c_b1
    si = s[i] * b2 + gi * gi * c_b2
    m[i] = mi
    s[i] = si
    p[i] -= mi / (np.sqrt(si) + eps) * step_size


@kernel
def score(z, y_hat, labels):
    """Σᵢ −log ŷᵢ[labelᵢ] and the number of rows whose largest ŷ is the label's, for z, ŷ (n, c).

    Where ŷ[label] underflowed to 0, its log comes from z by log-sum-exp, as in
    losses.cross_entropy; NaN anywhere gives a NaN sum, which stops the run."""
    loss = 0.0
    correct = 0
    for i in range(y_hat.shape[0]):
        k = labels[i]
        p = y_hat[i, k]
        if p > 0:
            loss -= np.log(np.float64(p))
        else:
            top = z[i, 0]
            for j in range(z.shape[1]):
                top = max(top, z[i, j])
            total = 0.0
            for j in range(z.shape[1]):
                total += np.exp(np.float64(z[i, j] - top))
            loss -= np.float64(z[i, k] - top) - np.log(total)
        best = 0                                  # the first largest, as ndarray.argmax
        for j in range(1, y_hat.shape[1]):
            if y_hat[i, j] > y_hat[i, best]:
                best = j
        correct += best == k
    return loss, correct
