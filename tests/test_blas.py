"""The direct BLAS calls against NumPy's own products, both dtypes, the direct and the fallback path,
and the direct path through a BLAS of 32-bit integers."""

import numpy as np
import pytest
from helpers import openblas32_functions

from netprop.training import _blas


@pytest.fixture(params=["direct", "numpy", "direct, 32-bit integers"])
def path(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setattr(_blas, "_FUNCTIONS", None)
        return request.param
    if request.param.endswith("32-bit integers"):
        monkeypatch.setattr(_blas, "_FUNCTIONS", openblas32_functions())
    elif not _blas.available():
        pytest.skip("this NumPy does not bundle scipy-openblas")
    monkeypatch.setattr(_blas, "DIRECT_FROM", 1)          # the small test arrays go to BLAS too
    return request.param


def test_numpy_wheels_bundled_blas_is_found():
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if config.get("name") != "scipy-openblas":
        pytest.skip(f"NumPy links {config.get('name')}, not the bundled scipy-openblas")
    # The fast path is the one training takes: it must really be found, not silently fall back.
    assert _blas.available()


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-13)])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (1.0, 0.9), (-0.01, 1.0), (0.5, 0.97)])
def test_gemm_tn_is_alpha_AtB_plus_beta_C(path, dtype, rtol, alpha, beta):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(37, 23)).astype(dtype)
    B = rng.normal(size=(37, 51)).astype(dtype)
    C = rng.normal(size=(23, 51)).astype(dtype)
    expected = alpha * (A.astype(np.float64).T @ B.astype(np.float64)) + beta * C.astype(np.float64)
    out = _blas.gemm_tn(A, B, C, alpha, beta)
    assert out is C and C.dtype == dtype
    np.testing.assert_allclose(C, expected, rtol=rtol, atol=rtol * 10)


def test_gemm_tn_with_beta_zero_ignores_what_C_held(path):
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    C = np.full((3, 2), np.nan)
    _blas.gemm_tn(A, B, C, 1.0, 0.0)
    np.testing.assert_allclose(C, A.T @ B, rtol=1e-14)


def test_gemm_tn_by_hand(path):
    A = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)     # Aᵀ = [[1, 3], [2, 4]]
    B = np.array([[1.0], [1.0]], dtype=np.float32)
    C = np.array([[10.0], [20.0]], dtype=np.float32)
    _blas.gemm_tn(A, B, C, 2.0, 0.5)                              # 2·[4, 6] + ½·[10, 20]
    np.testing.assert_array_equal(C, [[13.0], [22.0]])


def test_arrays_past_the_blas_integers_go_the_numpy_way(monkeypatch):
    """A BLAS of 32-bit integers cannot be told a size over 2³¹ − 1: such arrays are NumPy's (seen here
    with the bound lowered, as no test allocates 8 GiB)."""
    calls = []
    functions = dict(openblas32_functions())
    gemm = functions[np.dtype(np.float64), "gemm"]
    functions[np.dtype(np.float64), "gemm"] = lambda *args: calls.append(args) or gemm(*args)
    functions["max_int"] = 99
    monkeypatch.setattr(_blas, "_FUNCTIONS", functions)
    monkeypatch.setattr(_blas, "DIRECT_FROM", 1)
    rng = np.random.default_rng(8)
    for rows, calls_after in ((9, 1), (10, 1)):           # C (rows, 11): 99 elements, BLAS; 110, NumPy
        A, B, C = rng.normal(size=(3, rows)), rng.normal(size=(3, 11)), np.zeros((rows, 11))
        _blas.gemm_tn(A, B, C)
        np.testing.assert_allclose(C, A.T @ B, rtol=1e-14)
        assert len(calls) == calls_after


def test_gemm_tn_takes_views_and_mixed_layouts():
    """Strided, transposed or mixed-dtype arguments go the NumPy way and give the same numbers."""
    rng = np.random.default_rng(2)
    A = rng.normal(size=(20, 12))[::2]                            # not contiguous
    B = np.asfortranarray(rng.normal(size=(10, 7)))
    C = rng.normal(size=(12, 7)).astype(np.float32)
    expected = 0.3 * (A.T @ B) + 2.0 * C
    _blas.gemm_tn(A, B, C, 0.3, 2.0)
    np.testing.assert_allclose(C, expected, rtol=1e-6)


def test_gemm_tn_output_overlapping_an_input_is_not_passed_to_blas():
    rng = np.random.default_rng(3)
    M = rng.normal(size=(5, 5))
    expected = M.T @ M + M
    _blas.gemm_tn(M, M, M, 1.0, 1.0)
    np.testing.assert_allclose(M, expected, rtol=1e-13)


def test_gemm_tn_refuses_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match="do not fit"):
        _blas.gemm_tn(np.ones((3, 2)), np.ones((4, 5)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="do not fit"):
        _blas.gemm_tn(np.ones((3, 2)), np.ones((3, 5)), np.ones((5, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy(path, dtype):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 41)).astype(dtype)
    y = rng.normal(size=(300, 41)).astype(dtype)
    expected = y.astype(np.float64) - 0.125 * x.astype(np.float64)    # −0.125 is exact in binary
    out = _blas.axpy(-0.125, x, y)
    assert out is y
    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    with pytest.raises(ValueError, match="differ"):
        _blas.axpy(1.0, x, y[:2])


@pytest.mark.parametrize("order_a, order_b", [("C", "F"), ("F", "C"), ("F", "F")])
def test_gemm_tn_reads_either_memory_order(path, order_a, order_b):
    """δ and h come column-major from the forward cache; BLAS reads them with the transpose flags."""
    rng = np.random.default_rng(5)
    A = np.asarray(rng.normal(size=(33, 21)), order=order_a)
    B = np.asarray(rng.normal(size=(33, 18)), order=order_b)
    C = rng.normal(size=(21, 18))
    expected = 0.7 * (A.T @ B) + 0.2 * C
    _blas.gemm_tn(A, B, C, 0.7, 0.2)
    np.testing.assert_allclose(C, expected, rtol=1e-13)


def test_gemm_tn_into_a_column_major_C_goes_the_numpy_way(path):
    rng = np.random.default_rng(6)
    A, B = rng.normal(size=(9, 6)), rng.normal(size=(9, 4))
    C = np.asfortranarray(rng.normal(size=(6, 4)))
    expected = A.T @ B - C
    _blas.gemm_tn(A, B, C, 1.0, -1.0)
    np.testing.assert_allclose(C, expected, rtol=1e-13)


def test_axpy_with_x_in_the_other_memory_order(path):
    """A flat walk over a column-major x would pair the wrong elements: NumPy takes those."""
    rng = np.random.default_rng(7)
    x = np.asfortranarray(rng.normal(size=(6, 5)))
    y = rng.normal(size=(6, 5))
    expected = y + 2.0 * x
    _blas.axpy(2.0, x, y)
    np.testing.assert_allclose(y, expected, rtol=1e-15)
