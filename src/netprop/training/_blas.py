"""Two in-place BLAS operations NumPy links but does not expose: C ← α·AᵀB + β·C and y ← α·x + y.

Training a wide network spends much of each minibatch on the first layer's weights.  With NumPy
alone, SGD with momentum forms ∇W1 = δᵀx in a new array and then makes four more passes over
W1-sized arrays (v ← μv, v ← v + ∇W1, lr·v, W1 ← W1 − lr·v).  BLAS's gemm takes a β and adds the
product into v while it writes it, and axpy does W1 ← W1 − lr·v in one more pass (what that saves:
docs/design.md, "Performance notes").

The functions call the OpenBLAS that NumPy's wheels bundle: the very library NumPy's own
products run on, already loaded (it is opened with RTLD_NOLOAD, so never a second copy), with
the same threads and the same threadpoolctl limits.  Where NumPy links another BLAS, or an
argument does not suit a direct call, they compute the same thing with NumPy, equal up to
rounding.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# A direct call costs more than a NumPy expression (ctypes, argument checks); smaller arrays
# (biases, the output layer's W) are left to NumPy (the threshold's measurement: docs/design.md).
DIRECT_FROM = 1 << 16


def _numpy_openblas():
    """{(dtype, "gemm"|"axpy"): C function, "max_int": …} from the OpenBLAS NumPy has loaded, or None."""
    if not hasattr(os, "RTLD_NOLOAD"):
        return None
    root = os.path.dirname(np.__file__)
    candidates = glob.glob(os.path.join(root + ".libs", "*scipy_openblas*")) + \
        glob.glob(os.path.join(root, ".dylibs", "*scipy_openblas*"))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue                                 # not the library this NumPy loaded
        functions = _bind(lib)
        if functions is not None:
            return functions
    return None


def _bind(lib):
    """The gemm and axpy of a scipy-openblas library (a ctypes.CDLL) for float32 and float64, with the
    largest integer its arguments take, or None where it has neither naming.  scipy-openblas64
    (NumPy's wheels) has 64-bit integers and a "64_" suffix; scipy-openblas32 neither."""
    for suffix, integer in (("64_", ctypes.c_int64), ("", ctypes.c_int32)):
        try:
            functions = {}
            for dtype, letter, real in ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double)):
                gemm = getattr(lib, f"scipy_cblas_{letter}gemm{suffix}")
                gemm.argtypes = [ctypes.c_int] * 3 + [integer] * 3 + [
                    real, ctypes.c_void_p, integer, ctypes.c_void_p, integer,
                    real, ctypes.c_void_p, integer]
                gemm.restype = None
                axpy = getattr(lib, f"scipy_cblas_{letter}axpy{suffix}")
                axpy.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
                axpy.restype = None
                functions[np.dtype(dtype), "gemm"] = gemm
                functions[np.dtype(dtype), "axpy"] = axpy
            functions["max_int"] = np.iinfo(np.int64 if integer is ctypes.c_int64 else np.int32).max
            return functions
        except AttributeError:
            continue
    return None


_FUNCTIONS = _numpy_openblas()


def available():
    """True when the products and updates run as direct BLAS calls."""
    return _FUNCTIONS is not None


def gemm_address(dtype):
    """(address of cblas_?gemm in NumPy's OpenBLAS for dtype, a zero of its integer type), for
    compiled code to call (_step_kernel.py); None where NumPy links another BLAS."""
    gemm = None if _FUNCTIONS is None else _FUNCTIONS.get((np.dtype(dtype), "gemm"))
    if gemm is None:
        return None
    integer = np.int64 if _FUNCTIONS["max_int"] == np.iinfo(np.int64).max else np.int32
    return ctypes.cast(gemm, ctypes.c_void_p).value, integer(0)


def _direct(out, *arrays):
    """Whether a call writing `out` goes straight to BLAS: out large enough and C-contiguous, all
    of one float dtype, contiguous (in either order), aligned and in range, out writeable and
    overlapping no input."""
    if _FUNCTIONS is None or out.size < DIRECT_FROM or not out.flags.writeable \
            or not out.flags.c_contiguous or any(np.may_share_memory(out, a) for a in arrays):
        return False
    arrays = (out,) + arrays
    dtype = arrays[0].dtype
    return all(isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.aligned
               and (a.flags.c_contiguous or a.flags.f_contiguous)
               and a.size <= _FUNCTIONS["max_int"] for a in arrays) and (dtype, "gemm") in _FUNCTIONS


def _layout(M, transposed_if_c):
    """BLAS's (transpose flag, leading dimension) for a contiguous 2-D M read in row-major order."""
    if M.flags.c_contiguous:
        return (_TRANS if transposed_if_c else _NO_TRANS), M.shape[1]
    return (_NO_TRANS if transposed_if_c else _TRANS), M.shape[0]


def gemm_tn(A, B, C, alpha=1.0, beta=0.0):
    """C ← α·AᵀB + β·C in place, for A (k, m), B (k, n), C (m, n); with β = 0, C's old values are ignored.

    Backpropagation's ∇W = δᵀh has this form, and β lets an optimizer add it into a buffer it keeps.
    A and B may be stored in either order (δ and h are column-major in netprop's forward cache).
    """
    (k, m), n = A.shape, B.shape[1]
    if B.shape[0] != k or C.shape != (m, n):
        raise ValueError(f"gemm_tn: shapes {A.shape}ᵀ·{B.shape} do not fit C {C.shape}")
    if k and _direct(C, A, B):
        (trans_a, lda), (trans_b, ldb) = _layout(A, True), _layout(B, False)
        _FUNCTIONS[C.dtype, "gemm"](_ROW_MAJOR, trans_a, trans_b, m, n, k, alpha, A.ctypes.data, lda,
                                    B.ctypes.data, ldb, beta, C.ctypes.data, n)
        return C
    product = A.T @ B
    if alpha != 1:
        product *= alpha
    if beta == 0:
        C[...] = product
    else:
        if beta != 1:
            C *= beta
        C += product
    return C


def axpy(alpha, x, y):
    """y ← α·x + y in place, for arrays of one shape."""
    if x.shape != y.shape:
        raise ValueError(f"axpy: shapes {x.shape} and {y.shape} differ")
    if x.flags.c_contiguous and _direct(y, x):          # both walked as one flat row-major run
        _FUNCTIONS[y.dtype, "axpy"](x.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
        return y
    y += alpha * x
    return y
