"""Optional compiled kernels (Numba) for the training step's element-wise work: one pass each.

NumPy makes one pass over memory per operation: Adam's update is eleven of them over every
parameter, and z += b then relu(z) two over every hidden activation.  Compiled, each becomes a
single loop that reads and writes every element once.  They compute the same arithmetic in the
same order and precision as the NumPy code in optimizers.py and step.py (constants are passed in the
arrays' dtype, so float32 stays float32), and tests/test_fast.py holds them equal to it.

_step_kernel.py holds two more, which cut calls rather than passes: ``relu_softmax_step``, a whole
minibatch of training in one call (compiled_step.py), and ``score``, the minibatch's loss and
correct count in one call where NumPy makes a dozen (~14 µs on 16 examples).  Both sum logarithms
in float64, so their loss equals losses.cross_entropy's to rounding, not bit for bit.

Numba is an optional extra (``pip install netprop[fast]``).  Without it, or with the environment
variable NETPROP_NUMBA=0, ``get()`` returns None and the training step uses NumPy alone.  Numba is imported
on the first training step, not with netprop, so commands that do not train start as quickly as
before; compiled code is cached beside this file, so only the first run ever compiles.
"""

from __future__ import annotations

import os
import sys
import threading


def _compile():
    """The kernels compiled by Numba (cached on disk), or None without Numba or with NETPROP_NUMBA=0."""
    if os.environ.get("NETPROP_NUMBA", "1") == "0":
        return None
    try:
        import numba
    except ImportError:
        return None

    # error_model="numpy": a division by zero gives inf as in NumPy, without the per-element check
    # (and the lost vectorisation) of Python's ZeroDivisionError.
    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    from ._step_kernel import adam_at, relu_softmax_step, score

    @jit
    def adam(p, g, m, v, b1, c_b1, b2, c_b2, step_size, eps):
        # Adam over every element (_step_kernel.adam_at has the update)
        for i in range(p.size):
            adam_at(p, m, v, i, g[i], b1, c_b1, b2, c_b2, step_size, eps)

    @jit
    def bias_relu(zt, b, ht):
        # z += b;  h = relu(z), for zt, ht (out, n): one example per column, b (out,)
        zero = b[0] - b[0]
        for j in range(zt.shape[0]):
            bj = b[j]
            for i in range(zt.shape[1]):
                z = zt[j, i] + bj
                zt[j, i] = z
                # NaN stays NaN, as in np.maximum: a diverged weight must reach the loss and stop the run
                ht[j, i] = z if (z > zero or z != z) else zero

    @jit
    def relu_backward(dt, zt):
        # δ ← δ ⊙ relu'(z), for dt, zt (out, n); relu'(0) = 0 as in functions.relu_prime
        for j in range(dt.shape[0]):
            for i in range(dt.shape[1]):
                d = dt[j, i]
                # δ·0 rather than 0 where z <= 0: NaN or inf δ gives NaN there, as δ *= (z > 0) does in NumPy
                dt[j, i] = d if zt[j, i] > 0 else d * 0     # a select, which vectorises

    return {"adam": adam, "bias_relu": bias_relu, "relu_backward": relu_backward, "score": score,
            "relu_softmax_step": relu_softmax_step}


_COMPILED = {}
_LOADING = threading.Lock()


def get():
    """{"adam", "bias_relu", "relu_backward", "score": compiled function}, or None (NumPy alone)."""
    if "kernels" not in _COMPILED:
        with _LOADING:                       # one load, also when warm_up's thread is at it
            if "kernels" not in _COMPILED:
                _COMPILED["kernels"] = _compile()
    return _COMPILED["kernels"]


def warm_up(exercise=None):
    """Import Numba and load the cached kernels in a background thread: a training run calls this
    before reading its data, so the load (~0.5 s, mostly Numba's import) overlaps the reading.

    exercise: a function the thread then calls, to make the kernels' first calls there; Numba
    loads each version (one per argument types) from its cache at the first call that needs it,
    another 0.5–0.8 s that would otherwise fall in the first epoch.
    """
    def load():
        try:
            if get() is not None and exercise is not None:
                exercise()
        except Exception:             # only a head start: training itself reports what is wrong
            pass
        finally:
            _quick_handoffs(False)

    if "kernels" not in _COMPILED:
        _quick_handoffs(True)
        threading.Thread(target=load, name="netprop-kernels", daemon=True).start()


_HANDOFFS = {"active": 0, "interval": None}
_HANDOFFS_LOCK = threading.Lock()


def _quick_handoffs(start):
    """The GIL's switch interval at 0.2 ms from the first start to the last end (warm-ups may overlap).

    Loading Numba is Python code, holding the GIL but for a moment every switch interval; the run's
    own threads (zlib, NumPy) need it for a moment between their long calls, and waited up to the
    5 ms default each time: ~0.4 s over reading and standardising Fashion-MNIST."""
    with _HANDOFFS_LOCK:
        if start:
            if not _HANDOFFS["active"]:
                _HANDOFFS["interval"] = sys.getswitchinterval()
                sys.setswitchinterval(min(_HANDOFFS["interval"], 2e-4))
            _HANDOFFS["active"] += 1
        else:
            _HANDOFFS["active"] -= 1
            if not _HANDOFFS["active"]:
                sys.setswitchinterval(_HANDOFFS["interval"])


def available():
    """True when the compiled kernels are in use."""
    return get() is not None


# Below this many elements a kernel saves less than its call costs, and a one-example derivation
# should not wait for Numba's import and compilation.
WORTH_FROM = 1 << 12


def for_size(size):
    """get() for arrays of this many elements, or None where NumPy alone is as quick."""
    return get() if size >= WORTH_FROM else None
