"""Activation, derivative and loss tables for the network, in pure NumPy.

Each activation works in place on the pre-activations ``Z`` and leaves the
layer's output ``Y`` in the same array.  Each derivative is written, as in the
course notebook, in terms of the activation's *output* ``Y``, and multiplies the
back-propagated error ``delta`` in place: ``delta <- delta * A'(Z)``.

Losses are **sums** over the rows of a batch (each row weighted by its sample
weight), never means: with ``C = 1/2 * sum (y_hat - y)^2`` the notebook's
learning rates keep their meaning.  ``OUTPUT_DELTAS`` gives ``dC/dZ`` of the
output layer for each (loss, output activation) pair directly, which is both
cheaper and more accurate than chaining ``dC/dY`` through the output's Jacobian.
"""

from functools import cache

import numpy as np

# --------------------------------------------------------------------------
# Activations: Z -> Y, in place.


def relu(Z):
    """ReLU, ``max(0, Z)``."""
    return np.maximum(Z, 0, out=Z)


@cache
def _exp_limit(dtype):
    # exp(t) is finite for t < log(max float); clipping there keeps the
    # sigmoid overflow-free in float32 (limit ~88) and float64 (~709).
    return float(np.log(np.finfo(dtype).max)) - 1.0


def sigmoid(Z):
    """Logistic sigmoid ``1 / (1 + exp(-Z))``, clipped so ``exp`` never overflows."""
    limit = _exp_limit(Z.dtype)
    np.clip(Z, -limit, limit, out=Z)
    np.negative(Z, out=Z)
    np.exp(Z, out=Z)
    Z += 1
    return np.reciprocal(Z, out=Z)


def tanh(Z):
    """Hyperbolic tangent."""
    return np.tanh(Z, out=Z)


def softmax(Z):
    """Row-wise softmax, shifted by the row maximum so ``exp`` never overflows."""
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


ACTIVATIONS = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}

# --------------------------------------------------------------------------
# Derivatives, in terms of the output Y: delta <- delta * A'(Z), in place.


def relu_derivative(Y, delta):
    """ReLU'(z) is 0 where the output is 0 and 1 elsewhere."""
    # Multiplying by the mask is ~15x faster than assigning through it
    # (``delta[Y <= 0] = 0``); it gives the same values, as 0 * delta is 0.
    return np.multiply(delta, Y > 0, out=delta)


def sigmoid_derivative(Y, delta):
    """sigma'(z) = y (1 - y)."""
    delta *= Y
    delta *= 1 - Y
    return delta


def tanh_derivative(Y, delta):
    """tanh'(z) = 1 - y^2."""
    delta *= 1 - Y**2
    return delta


DERIVATIVES = {
    "relu": relu_derivative,
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
}

# --------------------------------------------------------------------------
# Losses: a sum over the rows of the batch, each row weighted.


def _row_sum(rows, sample_weight):
    if sample_weight is None:
        return float(rows.sum())
    return float(rows @ sample_weight)


def squared_error(y_true, y_prob, sample_weight=None):
    """``C = 1/2 * sum_i w_i * ||y_hat_i - y_i||^2``, the notebook's cost."""
    diff = y_prob - y_true
    return 0.5 * _row_sum(np.einsum("ij,ij->i", diff, diff), sample_weight)


def log_loss(y_true, y_prob, sample_weight=None):
    """Cross-entropy ``C = -sum_i w_i * sum_k y_ik log p_ik``.

    With one sigmoid output the second class is implicit: the row's loss is
    ``-(y log p + (1 - y) log(1 - p))``.
    """
    eps = np.finfo(y_prob.dtype).eps
    p = np.clip(y_prob, eps, 1 - eps)
    if p.shape[1] == 1:
        rows = -(y_true * np.log(p) + (1 - y_true) * np.log1p(-p)).ravel()
    else:
        rows = -np.einsum("ij,ij->i", y_true, np.log(p))
    return _row_sum(rows, sample_weight)


LOSSES = {"squared_error": squared_error, "log_loss": log_loss}

# --------------------------------------------------------------------------
# dC/dZ at the output, for each (loss, output activation), unweighted rows.


def _squared_sigmoid_delta(y_true, y_prob, out):
    # (y_hat - y) * y_hat * (1 - y_hat): the notebook's output delta.
    np.subtract(y_prob, y_true, out=out)
    return sigmoid_derivative(y_prob, out)


def _squared_softmax_delta(y_true, y_prob, out):
    # Through the softmax Jacobian: delta_k = p_k * (g_k - sum_j g_j p_j),
    # with g = p - y the derivative of the squared error with respect to p.
    np.subtract(y_prob, y_true, out=out)
    inner = np.einsum("ij,ij->i", out, y_prob)[:, None]
    out -= inner
    out *= y_prob
    return out


def _cross_entropy_delta(y_true, y_prob, out):
    # Sigmoid + binary cross-entropy and softmax + cross-entropy both give p - y.
    return np.subtract(y_prob, y_true, out=out)


OUTPUT_DELTAS = {
    ("squared_error", "sigmoid"): _squared_sigmoid_delta,
    ("squared_error", "softmax"): _squared_softmax_delta,
    ("log_loss", "sigmoid"): _cross_entropy_delta,
    ("log_loss", "softmax"): _cross_entropy_delta,
}
