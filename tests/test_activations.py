"""The fast engine's in-place tables (skmlp/nn/activations.py).

Their values are checked against the reference engine through the engines'
agreement tests (tests/test_fast.py); here, what those do not reach: the
extremes of the inputs."""

import numpy as np

from skmlp.nn.activations import ACTIVATIONS


def test_activations_are_overflow_safe_and_exact():
    z = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    for dtype in (np.float32, np.float64):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = ACTIVATIONS["sigmoid"](z.astype(dtype))
        assert y.dtype == dtype
        assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
        assert y[3] == 0.5
        np.testing.assert_allclose(y[2:5], 1 / (1 + np.exp(-z[2:5])), rtol=1e-6)
    s = ACTIVATIONS["softmax"](np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(s, [[0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(ACTIVATIONS["relu"](np.array([-2.0, 0.0, 3.0])),
                                  [0, 0, 3])
