"""The fast engine's compiled elementwise passes (skmlp/nn/_fast_elementwise.py).

Each against the NumPy form in ``skmlp.nn.activations`` that it replaces in
training, on values that take every branch (negative and positive inputs,
inputs beyond the sigmoid's clipping limit, zero and nonzero outputs, NaN).
Whole fits through them are checked against the reference engine in
``tests/test_engines.py`` and ``tests/test_fast.py``.
"""

import numpy as np
import pytest

from skmlp.nn import _fast_elementwise as fe
from skmlp.nn import activations

ULP = {dtype: 4 * np.finfo(dtype).eps for dtype in (np.float32, np.float64)}


def _inputs(dtype, shape=(37, 23), seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=3.0, size=shape).astype(dtype)
    b = rng.normal(size=shape[1]).astype(dtype)
    return Z, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_and_relu_are_numpys(dtype):
    Z, b = _inputs(dtype)
    Z[3, 4] = np.nan
    want = activations.relu(Z + b)
    got = Z.copy()
    assert fe.add_bias_relu(got, b) is got
    np.testing.assert_array_equal(got, want)  # a sum and a comparison: exact
    assert np.isnan(got[3, 4])  # NaN stays NaN, as with np.maximum
    assert 0 < np.count_nonzero(got[~np.isnan(got)]) < got.size - 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_derivative_is_numpys(dtype):
    Z, _ = _inputs(dtype)
    Y = np.maximum(Z, 0)
    delta = np.random.default_rng(1).normal(size=Y.shape).astype(dtype)
    want = activations.relu_derivative(Y, delta.copy())
    got = delta.copy()
    assert fe.relu_derivative(Y, got) is got
    np.testing.assert_array_equal(got, want)
    assert 0 < np.count_nonzero(got) < got.size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_and_sigmoid_are_numpys_and_never_overflow(dtype):
    Z, b = _inputs(dtype, shape=(64, 3))
    Z[:4, 0] = [-1e30, -800.0, 800.0, 1e30]  # beyond the clipping limit
    want = activations.sigmoid(Z + b)
    got = Z.copy()
    assert fe.add_bias_sigmoid(got, b) is got
    assert got.dtype == dtype and np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=ULP[dtype], atol=0)
    assert got[0, 0] < 1e-30 and got[3, 0] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_squared_error_and_its_delta_are_numpys(dtype, weighted):
    rng = np.random.default_rng(2)
    Y = rng.uniform(0.01, 0.99, size=(50, 1)).astype(dtype)
    T = rng.integers(0, 2, size=(50, 1)).astype(dtype)
    weights = rng.uniform(0, 2, size=50).astype(dtype) if weighted else None
    want_cost = activations.squared_error(T, Y, weights)
    want_delta = activations.OUTPUT_DELTAS[("squared_error", "sigmoid")](
        T, Y, np.empty_like(Y))
    delta = np.full_like(Y, np.nan)
    cost = fe.squared_error_sigmoid(T, Y, weights, delta)
    assert cost == pytest.approx(want_cost, rel=50 * float(np.finfo(dtype).eps))
    np.testing.assert_allclose(delta, want_delta, rtol=ULP[dtype], atol=0)
    assert delta.dtype == dtype


def test_the_compiled_passes_make_no_arrays():
    # As for the sparse products (tests/test_sparse_products.py): an array
    # numba returns is boxed through Python, where a signal's interruption
    # would surface as a SystemError.
    Z, b = _inputs(np.float32, shape=(4, 3))
    kernels, one = fe._kernels(), np.float32(1)
    results = [
        kernels.add_bias_relu(Z.copy(), b),
        kernels.relu_derivative(np.abs(Z), Z.copy()),
        kernels.add_bias_sigmoid(Z.copy(), b, np.float32(80), one),
    ]
    assert results == [None] * len(results)
    cost = kernels.squared_error_sigmoid(Z, Z, np.zeros(0), Z.copy(), one)
    assert isinstance(cost, float)
