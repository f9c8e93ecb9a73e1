"""The multilayer perceptron of the lecture, written to be read: start here.

Every line is the mathematics, in plain NumPy expressions that return new
arrays (no buffers, no in-place tricks, no shortcuts), so that a learner can
set a breakpoint anywhere and look at the numbers.  ``skmlp.nn.fast`` computes
the same numbers, within rounding, faster; the tests check it against this.

Samples are **rows**.  Layer ``l = 1..L`` maps ``Y[l-1]`` (``Y[0]`` is ``X``)
to ``Z[l] = Y[l-1] @ W[l] + b[l]`` and ``Y[l] = A(Z[l])``, ``W[l]`` of shape
``(fan_in, fan_out)``; the bias ``b[l]`` is the extra column of the notebook's
augmented weights ``[W[l].T | b[l]]``, and ``coefs[l - 1]`` is ``W[l]``.  The
cost of a batch is a **sum** over its rows, each weighted by ``w_i``, plus an
L2 penalty on the weights (not the biases)::

    C = sum_i w_i loss(y_hat_i, y_i) + alpha / 2 sum_l ||W[l]||^2
    squared error: loss = 1/2 ||y_hat - y||^2    (the notebook's cost)
    log loss:      loss = -sum_k y_k log y_hat_k  (one sigmoid unit: two classes)

Backpropagation, with ``delta[l] = dC/dZ[l]`` (e.g. ``delta[L] = w (y_hat -
y) y_hat (1 - y_hat)`` for squared error + sigmoid, ``w (y_hat - y)`` for log
loss)::

    dC/dW[l]   = Y[l-1].T @ delta[l] + alpha W[l]
    dC/db[l]   = sum over rows of delta[l]
    delta[l-1] = (delta[l] @ W[l].T) * A'(Y[l-1])      (l > 1)

each derivative ``A'`` written, as in the notebook, in terms of the output
``Y``; gradient descent then steps ``W <- W - eta dC/dW``.  Dropout multiplies
a hidden output by a mask, ``Y[l] = M[l] * A(Z[l])``, and ``A'`` by ``M[l]``.
"""

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

# Activations A(Z) and their derivatives A'(Z), written in terms of Y = A(Z).


def relu(Z):
    return np.maximum(Z, 0)


def relu_prime(Y):
    return Y > 0  # 1 where the unit is active, 0 elsewhere


def sigmoid(Z):
    # exp(-z) overflows beyond log(max float) (~88 in float32, ~709 in
    # float64): clip there, where the sigmoid is 0 or 1 to the last bit anyway.
    limit = math.log(np.finfo(Z.dtype).max) - 1.0
    return 1 / (1 + np.exp(-np.clip(Z, -limit, limit)))


def sigmoid_prime(Y):
    return Y * (1 - Y)


def tanh(Z):
    return np.tanh(Z)


def tanh_prime(Y):
    return 1 - Y**2


def softmax(Z):
    # Shifting each row by its maximum changes nothing but keeps exp finite.
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


ACTIVATIONS = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax}
DERIVATIVES = {"relu": relu_prime, "sigmoid": sigmoid_prime, "tanh": tanh_prime}

# Losses of each row, and the output delta dC/dZ[L] of each (loss, output).


def squared_error(Y_hat, T):
    return 0.5 * np.sum((Y_hat - T) ** 2, axis=1)


def log_loss(Y_hat, T):
    eps = np.finfo(Y_hat.dtype).eps  # log(0) would be -inf
    P = np.clip(Y_hat, eps, 1 - eps)
    if P.shape[1] == 1:  # one sigmoid unit: the second class is 1 - p
        return -(T * np.log(P) + (1 - T) * np.log1p(-P))[:, 0]
    return -np.sum(T * np.log(P), axis=1)


LOSSES = {"squared_error": squared_error, "log_loss": log_loss}


def cost_derivative(loss, out_activation, Y_hat, T):
    """``dC/dZ[L]`` of each row for the (loss, output activation) pair."""
    if loss == "log_loss":
        # Sigmoid + binary cross-entropy and softmax + cross-entropy: p - y.
        return Y_hat - T
    G = Y_hat - T  # dC/dY_hat of the squared error
    if out_activation == "sigmoid":
        return G * Y_hat * (1 - Y_hat)
    # Through the softmax Jacobian dY_k/dZ_j = y_k (1[k = j] - y_j).
    return Y_hat * (G - np.sum(G * Y_hat, axis=1, keepdims=True))


# The network


@dataclass(frozen=True)
class Network:
    """A network: ``layer_sizes`` ``(n_features, *hidden, n_outputs)``, the
    activations ('sigmoid' output: one unit, two classes), loss and L2 penalty."""

    layer_sizes: tuple
    activation: str = "relu"
    out_activation: str = "sigmoid"
    loss: str = "squared_error"
    alpha: float = 0.0


def init_params(net, init, rng, dtype):
    """``(coefs, intercepts)`` drawn from ``rng``.  'uniform': the notebook's
    U[-1, 1], biases too; 'he': U[-b, b], b = sqrt(6 / fan_in), 'glorot': b =
    sqrt(6 / (fan_in + fan_out)), zero biases; 'auto': 'he' for ReLU hidden
    layers, else (and always for the output) 'glorot'."""
    coefs, intercepts = [], []
    n_layers = len(net.layer_sizes) - 1
    for layer, (fan_in, fan_out) in enumerate(pairwise(net.layer_sizes)):
        if init == "uniform":
            W = rng.uniform(-1.0, 1.0, (fan_in, fan_out))
            b = rng.uniform(-1.0, 1.0, fan_out)
        else:
            scheme = init
            if init == "auto":
                hidden = layer < n_layers - 1
                scheme = "he" if hidden and net.activation == "relu" else "glorot"
            bound = np.sqrt(6.0 / (fan_in if scheme == "he" else fan_in + fan_out))
            W = rng.uniform(-bound, bound, (fan_in, fan_out))
            b = np.zeros(fan_out)
        coefs.append(W.astype(dtype))
        intercepts.append(b.astype(dtype))
    return coefs, intercepts


def feedforward(net, coefs, intercepts, X, masks=None):
    """Every layer's output ``[Y[1], ..., Y[L]]`` for the rows of ``X``; with
    dropout, each hidden output times its mask (see :func:`dropout_masks`)."""
    return _feedforward(net, coefs, intercepts, X, masks)[0]


def _feedforward(net, coefs, intercepts, X, masks):
    # The outputs Y[l] (masked) and the activations A(Z[l]) (not), whose
    # derivatives backpropagation takes.
    outputs, activations, Y = [], [], X
    for l, (W, b) in enumerate(zip(coefs, intercepts), start=1):
        A = ACTIVATIONS[net.out_activation if l == len(coefs) else net.activation]
        Z = Y @ W + b
        Y = A(Z)
        activations.append(Y)
        if masks is not None and l < len(coefs) and masks[l - 1] is not None:
            Y = Y * masks[l - 1]  # dropout: Y[l] = M[l] * A(Z[l])
        outputs.append(Y)
    return outputs, activations


def dropout_masks(rng, dropout, n_rows, layer_sizes, dtype):
    """Inverted-dropout masks of a batch of ``n_rows``, one per hidden layer.

    A unit of hidden layer ``l`` is dropped (0) with probability ``p =
    dropout[l - 1]``, else kept and scaled by ``1 / (1 - p)``, so that its
    expected output is unchanged and prediction needs no rescaling; ``p == 0``
    gives None and draws nothing.  Both engines draw the same from ``rng``.
    """
    masks = []
    for p, width in zip(dropout, layer_sizes[1:-1], strict=True):
        if p == 0:
            masks.append(None)
            continue
        keep = rng.random((n_rows, width)) >= p
        masks.append((keep / (1 - p)).astype(dtype))
    return masks


def backprop(net, coefs, intercepts, X, T, sample_weight=None, masks=None):
    """``(cost, coef_grads, intercept_grads)``: the batch cost ``C`` and its
    gradients ``dC/dW[l]``, ``dC/db[l]``.  ``T`` holds the targets, one column
    per output unit; ``masks`` are :func:`feedforward`'s dropout masks."""
    outputs, activations = _feedforward(net, coefs, intercepts, X, masks)
    Y = [X, *outputs]  # Y[l] as in the docstring
    L, alpha = len(coefs), float(net.alpha)
    losses = LOSSES[net.loss](Y[L], T)
    delta = cost_derivative(net.loss, net.out_activation, Y[L], T)
    if sample_weight is not None:
        losses = losses * sample_weight
        delta = delta * sample_weight[:, None].astype(delta.dtype)
    cost = float(np.sum(losses)) + alpha / 2 * sum(
        float(np.sum(W**2)) for W in coefs)

    coef_grads, intercept_grads = [None] * L, [None] * L
    for l in range(L, 0, -1):
        W = coefs[l - 1]
        coef_grads[l - 1] = Y[l - 1].T @ delta + alpha * W
        intercept_grads[l - 1] = np.sum(delta, axis=0)
        if l > 1:
            # A' of the unmasked activation; a dropped unit passes nothing back.
            delta = (delta @ W.T) * DERIVATIVES[net.activation](activations[l - 2])
            if masks is not None and masks[l - 2] is not None:
                delta = delta * masks[l - 2]
    return cost, coef_grads, intercept_grads


# Updates.  The optimiser's state is a plain dict (arrays and numbers), the
# same as the fast engine's, so that a model can switch engines between fits.

ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def init_optimizer(solver, params):
    """Fresh state for ``solver`` ('sgd' or 'adam') over ``params``."""
    if solver == "adam":
        return {"t": 0, "m": [np.zeros_like(p) for p in params],
                "v": [np.zeros_like(p) for p in params]}
    return {"velocities": [np.zeros_like(p) for p in params]}


def sgd_update(params, grads, state, eta, momentum):
    """Each parameter's change ``-eta dC/dW``, or with momentum the velocity
    ``v <- momentum v - eta dC/dW`` (then ``W <- W + v``)."""
    eta, momentum = float(eta), float(momentum)  # NumPy scalars would upcast
    if not momentum:
        return [-eta * g for g in grads]
    velocities = [momentum * v - eta * g
                  for v, g in zip(state["velocities"], grads, strict=True)]
    state["velocities"] = velocities
    return velocities


def adam_update(params, grads, state, eta):
    """Each parameter's change under Adam (Kingma & Ba, 2015).

    The textbook steps ``-eta m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m /
    (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``; this is the form at the end of
    their section 2 (scikit-learn's too), eps applying to ``sqrt(v)``.
    """
    t = state["t"] + 1
    m = [ADAM_BETA1 * m_p + (1 - ADAM_BETA1) * g
         for m_p, g in zip(state["m"], grads, strict=True)]
    v = [ADAM_BETA2 * v_p + (1 - ADAM_BETA2) * g**2
         for v_p, g in zip(state["v"], grads, strict=True)]
    eta_t = float(eta) * math.sqrt(1 - ADAM_BETA2**t) / (1 - ADAM_BETA1**t)
    state.update(t=t, m=m, v=v)
    return [-eta_t * m_p / (np.sqrt(v_p) + ADAM_EPSILON)
            for m_p, v_p in zip(m, v, strict=True)]


def scheduled_eta(learning_rate, eta, epoch, epochs):
    """The learning rate of epoch ``epoch`` (from 0) of ``epochs``:
    'constant', or 'cosine' from ``eta`` down towards 0."""
    if learning_rate == "constant":
        return eta
    return eta * (1 + math.cos(math.pi * epoch / epochs)) / 2


# One epoch


def train_epoch(net, coefs, intercepts, state, X, T, sample_weight, *, solver,
                eta, momentum, batch_size, order, dropout=None, rng=None):
    """One pass over the rows in mini-batches (in ``order``, or as stored),
    updating the weights in place; a sparse ``X`` densified a batch at a time,
    the dropout masks drawn from ``rng``.  Returns ``(cost, weight_change,
    n_batches)``: the sums of the batch costs and of each batch's ``||change
    of [W | b]||`` over the layers; a non-finite cost stops at once."""
    total_cost = total_change = n_batches = 0
    for start in range(0, X.shape[0], batch_size):
        rows = slice(start, start + batch_size) if order is None else (
            order[start:start + batch_size])
        Xb = X[rows].toarray() if hasattr(X, "toarray") else X[rows]  # sparse
        w = None if sample_weight is None else sample_weight[rows]
        masks = None if dropout is None else dropout_masks(
            rng, dropout, Xb.shape[0], net.layer_sizes, Xb.dtype)
        cost, coef_grads, intercept_grads = backprop(
            net, coefs, intercepts, Xb, T[rows], w, masks)
        n_batches += 1
        total_cost += cost
        if not np.isfinite(cost):
            break
        params, grads = coefs + intercepts, coef_grads + intercept_grads
        if solver == "adam":
            changes = adam_update(params, grads, state, eta)
        else:
            changes = sgd_update(params, grads, state, eta, momentum)
        for p, change in zip(params, changes, strict=True):
            p += change  # the caller's arrays, updated where they are
        L = len(coefs)
        total_change += sum(
            math.sqrt(float(np.sum(changes[l] ** 2) + np.sum(changes[L + l] ** 2)))
            for l in range(L))
    return total_cost, total_change, n_batches
