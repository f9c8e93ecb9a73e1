"""The fast engine's compiled elementwise passes: ReLU layers, and the
sigmoid output with the squared error (the defaults).

Part of :mod:`skmlp.nn.fast`, kept apart as ``_fast_updates`` is.  The
NumPy forms in :mod:`skmlp.nn.activations` are two passes and a slow loop:
``Z += b`` then ``np.maximum(Z, 0, out=Z)``, whose NaN-propagating loop is
several times slower than a multiply; and ``delta * (Y > 0)``, a boolean
mask made and cast.  On a 128 x 500 float32 batch, one thread: the bias and
ReLU took 35 us in NumPy and 4.7 us as one compiled pass; ReLU's
derivative 17 us and 5.4 us.  A default batch has two ReLU layers, so this
saves about 60 us of its 2.7 ms.

The sigmoid output (128 x 1) is small, but its NumPy forms are a dozen
calls: the bias, the clip, exp and reciprocal; the squared error's
difference, square and sums; the output delta's three products.  Within a
training batch, between the BLAS's and the loops' calls, these took 47 us
(about 4 us a call); compiled, two calls.

The values are NumPy's but for rounding: a sum and a comparison per value
for ReLU (a NaN stays NaN forward, as with ``np.maximum``; backward a unit
whose output is not positive passes no delta); the sigmoid's ``exp`` is
LLVM's, and the cost is summed in float64.  Compiled by
``_fast_updates.compiler``.
"""

from functools import cache

import numpy as np

from ._fast_updates import compiled
from .activations import _exp_limit

_NO_WEIGHTS = np.zeros(0)


def add_bias_relu(Z, b):
    """``Z <- max(0, Z + b)`` in place, ``b`` added to every row."""
    _kernels().add_bias_relu(Z, b)
    return Z


def relu_derivative(Y, delta):
    """``delta <- delta * ReLU'``: zero where the output ``Y`` is not positive."""
    _kernels().relu_derivative(Y, delta)
    return delta


def add_bias_sigmoid(Z, b):
    """``Z <- 1 / (1 + exp(-(Z + b)))`` in place, with ``Z + b`` clipped as
    ``activations.sigmoid`` clips so that ``exp`` never overflows."""
    limit = Z.dtype.type(_exp_limit(Z.dtype))
    _kernels().add_bias_sigmoid(Z, b, limit, Z.dtype.type(1))
    return Z


def squared_error_sigmoid(T, Y, sample_weight, delta):
    """The squared error ``1/2 sum_i w_i ||Y_i - T_i||^2`` of a sigmoid
    output ``Y``, and its ``dC/dZ`` (unweighted) into ``delta``: the values
    of ``activations.squared_error`` and ``OUTPUT_DELTAS``."""
    weights = _NO_WEIGHTS if sample_weight is None else sample_weight
    return _kernels().squared_error_sigmoid(T, Y, weights, delta, Y.dtype.type(1))


# The loops (they return no arrays: see ``_sparse_products``).


def _add_bias_relu_loop(Z, b):
    for i in range(Z.shape[0]):
        z = Z[i]
        for c in range(Z.shape[1]):
            x = z[c] + b[c]
            z[c] = 0 if x < 0 else x


def _relu_derivative_loop(Y, delta):
    for i in range(delta.shape[0]):
        y, d = Y[i], delta[i]
        for c in range(delta.shape[1]):
            d[c] = d[c] if y[c] > 0 else 0


# ``one`` is 1 in the arrays' dtype: a literal 1 would make numba compute a
# float32 network's values in float64, and round them differently from NumPy.


def _add_bias_sigmoid_loop(Z, b, limit, one):
    for i in range(Z.shape[0]):
        z = Z[i]
        for c in range(Z.shape[1]):
            x = z[c] + b[c]
            if x < -limit:
                x = -limit
            elif x > limit:
                x = limit
            z[c] = one / (one + np.exp(-x))


def _squared_error_sigmoid_loop(T, Y, weights, delta, one):
    cost = 0.0
    for i in range(Y.shape[0]):
        row = 0.0
        for c in range(Y.shape[1]):
            y = Y[i, c]
            diff = y - T[i, c]
            row += diff * diff
            delta[i, c] = diff * y * (one - y)
        cost += row if len(weights) == 0 else weights[i] * row
    return 0.5 * cost


@cache
def _kernels():
    return compiled(_add_bias_relu_loop, _relu_derivative_loop,
                    _add_bias_sigmoid_loop, _squared_error_sigmoid_loop)
