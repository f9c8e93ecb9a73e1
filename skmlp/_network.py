"""The multilayer perceptron itself: initialisation, feedforward, backpropagation
and the weight updates, in pure NumPy (no scikit-learn, no autograd).

Conventions (scikit-learn's, not the notebook's): samples are **rows**.  Layer
``l`` maps ``Y[l-1]`` (``n x fan_in``; ``Y[-1]`` is the input ``X``) to

    Z[l] = Y[l-1] @ W[l] + b[l]        Y[l] = A_l(Z[l])

with ``W[l]`` of shape ``(fan_in, fan_out)`` and the bias ``b[l]`` kept as a
vector, so no row of ones is ever stacked onto an activation.  For a batch cost
``C`` (a *sum* over the batch, see ``_activations``) backpropagation is

    delta[L]   = dC/dZ[L]                               (OUTPUT_DELTAS)
    dC/dW[l]   = Y[l-1].T @ delta[l]     dC/db[l] = sum over rows of delta[l]
    delta[l-1] = (delta[l] @ W[l].T) * A'_{l-1}          (for l > 1 only)

The input layer's delta is never computed: no parameter needs it.

Every array the training loop touches is allocated once per call in a
:class:`Workspace` and reused across batches; the weights are updated in place.
Two shortcuts leave out work whose every term is zero: the blank columns of a
batch (the border of digit images) in the first layer's products, and the rows
whose output delta is exactly zero in the backward pass.  Both give the same
sums but for the order of summation.  Small batches train on one BLAS thread
(:func:`blas_thread_limit`).

``X`` may also be a scipy CSR matrix or array (one-hot encoded categories):
only the first layer's two products read it, ``X @ W[1]`` forward and
``X.T @ delta[1]`` for the gradient, and both are sparse-times-dense products
that skip the zeros; batches are gathered as CSR rows and everything after the
first layer is dense.  All of ``X`` is never densified.
"""

import copy
import math
from contextlib import nullcontext
from functools import cache
from itertools import pairwise

import numpy as np
from scipy import sparse
from threadpoolctl import ThreadpoolController

from ._activations import ACTIVATIONS, DERIVATIVES, LOSSES, OUTPUT_DELTAS

# --------------------------------------------------------------------------
# Initialisation


def init_params(layer_sizes, init, activation, rng, dtype):
    """Draw the weights and biases of a network with the given layer sizes.

    Parameters
    ----------
    layer_sizes : list of int
        ``[n_features, *hidden_layers, n_outputs]``.
    init : {'auto', 'he', 'glorot', 'uniform'}
        'uniform' is the notebook's U[-1, 1] for weights and biases alike.
        'he' draws U[-b, b] with b = sqrt(6 / fan_in), 'glorot' with
        b = sqrt(6 / (fan_in + fan_out)); both start the biases at zero.
        'auto' is 'he' for ReLU hidden layers and 'glorot' otherwise (the
        output layer is always 'glorot').
    activation : str
        The hidden layers' activation, used by ``init='auto'``.
    rng : numpy.random.Generator
    dtype : numpy dtype

    Returns
    -------
    coefs, intercepts : lists of ndarray
    """
    coefs, intercepts = [], []
    n_layers = len(layer_sizes) - 1
    for layer, (fan_in, fan_out) in enumerate(pairwise(layer_sizes)):
        if init == "uniform":
            W = rng.uniform(-1.0, 1.0, (fan_in, fan_out))
            b = rng.uniform(-1.0, 1.0, fan_out)
        else:
            scheme = init
            if init == "auto":
                hidden = layer < n_layers - 1
                scheme = "he" if hidden and activation == "relu" else "glorot"
            denominator = fan_in if scheme == "he" else fan_in + fan_out
            bound = np.sqrt(6.0 / denominator)
            W = rng.uniform(-bound, bound, (fan_in, fan_out))
            b = np.zeros(fan_out)
        coefs.append(W.astype(dtype))
        intercepts.append(b.astype(dtype))
    return coefs, intercepts


# --------------------------------------------------------------------------
# Feedforward


def feedforward(X, coefs, intercepts, activation, out_activation, out=None):
    """Run ``X`` through the network and return every layer's output.

    ``out`` is an optional list of buffers, one per layer, each with at least
    ``len(X)`` rows: the outputs are written into their leading rows.
    """
    n = X.shape[0]
    dtype = np.result_type(X.dtype, coefs[0].dtype)
    Y = X
    outputs = []
    last = len(coefs) - 1
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        Z = (
            np.empty((n, W.shape[1]), dtype=dtype)
            if out is None
            else out[layer][:n]
        )
        _matmul_into(Y, W, Z)
        Z += b
        ACTIVATIONS[out_activation if layer == last else activation](Z)
        outputs.append(Z)
        Y = Z
    return outputs


def _matmul_into(A, B, out):
    """``A @ B`` into ``out``, for a dense ``A`` or a sparse one (CSR, CSC).

    scipy's sparse-times-dense product has no ``out``: it returns a new dense
    array, copied into ``out`` here.  It costs one multiply-add per stored
    value of ``A`` and column of ``B``.  The first layer's gradient
    ``X.T @ delta`` multiplies the CSC view that ``X.T`` is of a CSR batch,
    with no conversion: ``(delta.T @ X).T`` is the same product (scipy
    computes a dense-times-sparse product so), and ``X.T.tocsr() @ delta``
    converts for no gain (up to 1.6x slower).  On 1 % dense one-hot data the
    sparse products run 4-15x faster than the dense BLAS ones
    (benchmarks/sparse.py).
    """
    if sparse.issparse(A):
        out[...] = A @ B
        return out
    return np.matmul(A, B, out=out)


# A batch whose inputs are zero in more than this share of the columns (the
# blank border of digit images) multiplies only its other columns.
_BLANK_COLUMNS = 0.1


def _column_mask(X):
    """Which columns of ``X`` are not all zero, or None.

    A column of zeros contributes nothing to the first layer's products and
    gets an exactly zero weight gradient; None means too few such columns to
    be worth leaving out.
    """
    active = X.any(axis=0)
    if np.count_nonzero(active) >= (1 - _BLANK_COLUMNS) * X.shape[1]:
        return None
    return active


def _active_columns(X):
    """Indices of the columns of ``X`` that are not all zero, or None."""
    active = _column_mask(X)
    return None if active is None else np.flatnonzero(active)


def feedforward_output(X, coefs, intercepts, activation, out_activation):
    """The network's output for ``X`` alone: the pass of prediction.

    The values of ``feedforward(...)[-1]`` but for rounding: the blank
    columns of ``X`` (see ``_active_columns``) are left out of the first
    layer's product, which adds nothing for them.  A sparse ``X`` is
    multiplied as it is: its product skips the zeros already.
    """
    active = None if sparse.issparse(X) else _active_columns(X)
    if active is not None:
        X = np.take(X, active, axis=1)
        coefs = [np.take(coefs[0], active, axis=0), *coefs[1:]]
    return feedforward(X, coefs, intercepts, activation, out_activation)[-1]


# --------------------------------------------------------------------------
# Backpropagation


def _times_transpose(delta, W, out):
    """``delta @ W.T`` into ``out``.

    With one output unit this is an outer product, which a broadcast multiply
    computes exactly (one rounding per element, as the matrix product) at a
    third of the cost of the BLAS call.
    """
    if W.shape[1] == 1 and delta.dtype == W.dtype == out.dtype:
        return np.multiply(delta, W.T, out=out)
    return np.matmul(delta, W.T, out=out)


def backprop(X, T, sample_weight, coefs, outputs, ws, activation, loss,
             out_activation, alpha, scale=1.0):
    """Gradients of the batch cost, written into ``ws.coef_grads`` and
    ``ws.intercept_grads``, each multiplied by ``scale``.

    ``outputs`` are the layer outputs of ``feedforward`` on ``X``; ``T`` holds
    the targets (one column per output unit).  Returns the batch cost
    ``C = sum_i w_i * loss_i + alpha / 2 * sum_l ||W[l]||^2``.

    Every delta is linear in the output delta, so scaling that one column
    scales every gradient: SGD passes ``scale=-eta`` and gets its steps
    ``-eta * dC/dW`` without a pass over the weights to multiply them.
    """
    n = X.shape[0]
    y_prob = outputs[-1]
    cost = LOSSES[loss](T, y_prob, sample_weight)
    delta = OUTPUT_DELTAS[(loss, out_activation)](T, y_prob, ws.deltas[-1][:n])
    if sample_weight is not None:
        delta *= sample_weight[:, None]
    delta *= scale
    inputs = [X, *outputs[:-1]]
    keep = _rows_with_error(delta)
    if keep is not None:
        delta, inputs = delta[keep], [Y[keep] for Y in inputs]
    for layer in range(len(coefs) - 1, -1, -1):
        Y_prev = inputs[layer]
        _matmul_into(Y_prev.T, delta, ws.coef_grads[layer])
        np.sum(delta, axis=0, out=ws.intercept_grads[layer])
        if alpha:
            ws.coef_grads[layer] += (scale * alpha) * coefs[layer]
        if layer > 0:
            previous = _times_transpose(
                delta, coefs[layer], ws.deltas[layer - 1][:len(delta)]
            )
            delta = DERIVATIVES[activation](Y_prev, previous)
    if alpha:
        cost += 0.5 * alpha * sum(_squared_norm(W) for W in coefs)
    return cost


# Below this share of rows with an error, backpropagate those rows only.
_SPARSE_ROWS = 0.875


def _rows_with_error(delta):
    """Indices of the rows of the output delta that are not all zero, or None.

    A row whose output delta is exactly zero -- a saturated sigmoid (whose
    y (1 - y) is 0 in floating point), a zero sample weight -- adds exactly
    nothing to any gradient: every delta of that sample is zero.  When such
    rows are many, dropping them before the backward products is cheaper
    than multiplying by zeros; None means keep every row.
    """
    nonzero = delta.any(axis=1)
    if np.count_nonzero(nonzero) > _SPARSE_ROWS * len(delta):
        return None
    return np.flatnonzero(nonzero)


# --------------------------------------------------------------------------
# Updates.  The optimiser's state is a dict of plain values (arrays, numbers)
# so that a fitted estimator pickles and serialises without custom classes.

ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def _squared_norm(a):
    # One BLAS dot per row, then the sum of the rows': 3-6x faster than
    # einsum's loop.  Not one dot of the whole array: OpenBLAS splits a dot of
    # more than 10,000 values among threads, and a thread that the OS does not
    # schedule at once stalls the call for milliseconds (x100 on a busy
    # machine) for a few microseconds of work.  Rows are layer widths.
    if a.ndim == 1 or not hasattr(np, "vecdot"):  # vecdot: NumPy >= 2.0
        return float(np.einsum("i,i->", a.ravel(), a.ravel()))
    return float(np.vecdot(a, a).sum())


def init_optimizer(solver, params):
    """Fresh state for ``solver`` over the parameter arrays ``params``."""
    if solver == "adam":
        return {
            "t": 0,
            "m": [np.zeros_like(p) for p in params],
            "v": [np.zeros_like(p) for p in params],
        }
    return {"velocities": [np.zeros_like(p) for p in params]}


def gradient_scale(solver, eta):
    """The ``scale`` of :func:`backprop` that :func:`apply_updates` expects."""
    return -eta if solver == "sgd" else 1.0


def apply_updates(solver, state, params, grads, eta, momentum, scaled=None):
    """Update ``params`` in place from ``grads`` (which are overwritten).

    ``grads`` come from :func:`backprop` with ``scale=gradient_scale(solver,
    eta)``: for 'sgd' they are already the steps ``-eta * dC/dW``.  For
    'adam' in an epoch, ``scaled`` is the :class:`_ScaledAdam` that holds the
    moments in their scaled form.

    Returns the squared L2 norm of each parameter's change, which the caller
    turns into the notebook's weight-change curve without copying weights.

    - 'sgd' with ``momentum == 0`` is the notebook's ``W <- W - eta * dC/dW``;
      with momentum, ``v <- momentum * v - eta * dC/dW; W <- W + v``.
    - 'adam' is Kingma & Ba's update with ``eta`` as its step size.
    """
    changes = []
    if solver == "sgd":
        for p, g, v in zip(params, grads, state["velocities"], strict=True):
            if momentum:
                v *= momentum
                v += g
                g = v
            p += g
            changes.append(_squared_norm(g))
        return changes

    if scaled is None:  # a lone step: the moments are plain
        with _ScaledAdam(state) as scaled:
            return apply_updates(solver, state, params, grads, eta, momentum, scaled)
    scaled.next_step()
    state["t"] += 1
    t, n = state["t"], scaled.n
    # Python floats: a NumPy float64 would promote each float32 operation.
    eta_t = float(eta) * math.sqrt(1 - ADAM_BETA2**t) / (1 - ADAM_BETA1**t)
    root = ADAM_BETA2 ** (n / 2)
    # The change -eta_t m / (sqrt(v) + eps) in the scaled moments, divided
    # through by a = eta_t b1^n / sqrt(b2^n): -M / ((sqrt(V) + eps') / a).
    a = eta_t * ADAM_BETA1**n / root
    weight = ((1 - ADAM_BETA2) * (ADAM_BETA1**2 / ADAM_BETA2) ** n
              / (1 - ADAM_BETA1) ** 2)
    scale = (1 - ADAM_BETA1) * ADAM_BETA1**-n
    return [
        _adam_step(p, g, m, v, scale, weight, 1 / a, ADAM_EPSILON / root / a)
        for p, g, m, v in zip(params, grads, state["m"], state["v"], strict=True)
    ]


# Adam's two moments in a scaled form during a run of steps (an epoch).  With
# the gradient of step j of the run scaled to G = (1 - b1) b1^-j g, the
# moments after n steps are
#
#     m = b1^n M,   M <- M + G
#     v = b2^n V,   V <- V + (1 - b2) (b1^2 / b2)^j G^2 / (1 - b1)^2,
#
# one pass for M where the plain form takes three (scale, add, scale), and
# the decays b1^n and b2^n fold into the step size and eps: eleven passes a
# step instead of thirteen (0.84 x the update's time in a default fit, see the
# README's Performance section).  Two things did not pay: applying the scale
# through backprop's output delta, as SGD does (scaling before the products
# changes how the sums of a near-zero gradient round, and Adam, which divides
# by the gradient's size, turns that into changes of order eta), and updating
# in chunks that stay in the core's cache (32,768 values: 0.98 x; 8,192: 1.4 x
# -- the calls cost more than the cache saves).

# Fold the scale back into the moments before b1^-n grows past this (every 87
# steps): G^2 stays far from float32's overflow.
_ADAM_FOLD = 1e4


class _ScaledAdam:
    """A context in which Adam's moments ``state['m']`` and ``state['v']`` are
    in the scaled form above, in place; on leaving it (or :meth:`finish`)
    they are plain again, the reference engine's.  ``n`` counts the steps
    that :func:`apply_updates` took in the scaled form."""

    def __init__(self, state):
        self.state, self.n = state, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.finish()

    def next_step(self):
        """Count one more step, folding the scale back in when it grows large."""
        if ADAM_BETA1 ** -(self.n + 1) > _ADAM_FOLD:
            self.finish()
        self.n += 1

    def finish(self):
        """Turn the moments back into their plain form."""
        if self.n:
            for m in self.state["m"]:
                m *= ADAM_BETA1**self.n
            for v in self.state["v"]:
                v *= ADAM_BETA2**self.n
        self.n = 0


def _adam_step(p, g, m, v, scale, weight, inverse_a, eps):
    """One scaled Adam step of one array; ``g`` is overwritten.

    Returns the squared norm of the change of ``p``.
    """
    g *= scale
    m += g
    np.square(g, out=g)
    g *= weight
    v += g
    np.sqrt(v, out=g)
    g *= inverse_a
    g += eps
    np.divide(m, g, out=g)
    p -= g
    return _squared_norm(g)


# --------------------------------------------------------------------------
# BLAS threads

# A product split over BLAS threads finishes when its last thread does: on a
# busy machine, one that waits for a core stalls the call for a scheduling
# delay of a few milliseconds.  Threads can at most halve a product's time,
# so they only pay for products that run longer than such a delay on one
# core: ~1e8 float32 multiply-adds (2-3 ms; float64 counts double).  Smaller
# batches train on one thread; see benchmarks/blas_threads.py for figures.
SINGLE_THREAD_GEMM = 100_000_000


def largest_gemm(layer_sizes, batch_size, dtype=np.float32):
    """Multiply-adds of the largest matrix product of a batch, in float32 units.

    float64 products take twice as long as float32 ones and count double.
    """
    largest = max(fan_in * fan_out for fan_in, fan_out in pairwise(layer_sizes))
    return batch_size * largest * np.dtype(dtype).itemsize // 4


@cache
def _blas_controller():
    # Inspecting the loaded libraries takes ~1 ms: once per process.
    return ThreadpoolController()


def blas_thread_limit(layer_sizes, batch_size, dtype=np.float32):
    """Context to train in: one BLAS thread when a batch's products are small.

    Larger products keep the BLAS's own setting (or the caller's, e.g. from
    ``threadpoolctl.threadpool_limits``).  The number of threads changes
    the results by rounding at most: the BLAS may split a sum among threads.
    """
    if largest_gemm(layer_sizes, batch_size, dtype) >= SINGLE_THREAD_GEMM:
        return nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")


# --------------------------------------------------------------------------
# One epoch


class Workspace:
    """Buffers for one batch, allocated once and reused across batches.

    With ``sparse_input`` the buffers of a dense batch of ``X`` (its rows and
    its non-blank columns) are left out: a sparse batch is a new CSR matrix,
    and its dense form may not fit in memory.
    """

    def __init__(self, layer_sizes, batch_size, dtype, sparse_input=False):
        pairs = list(pairwise(layer_sizes))
        self.outputs = [np.empty((batch_size, fan_out), dtype) for _, fan_out in pairs]
        self.deltas = [np.empty((batch_size, fan_out), dtype) for _, fan_out in pairs]
        self.coef_grads = [np.empty(pair, dtype) for pair in pairs]
        self.intercept_grads = [np.empty(fan_out, dtype) for _, fan_out in pairs]
        self.T = np.empty((batch_size, layer_sizes[-1]), dtype)
        self.sample_weight = np.empty(batch_size, dtype)
        if sparse_input:
            return
        self.X = np.empty((batch_size, layer_sizes[0]), dtype)
        # The non-blank input columns of a batch and their first-layer
        # weights and gradients (see _batch_step), reshaped to fit each batch.
        first = layer_sizes[0] * layer_sizes[1]
        self.X_active = np.empty(batch_size * layer_sizes[0], dtype)
        self.W_active = np.empty(first, dtype)
        self.grad_active = np.empty(first, dtype)


def _batches(X, T, sample_weight, batch_size, order, workspace):
    """Yield ``(X, T, sample_weight)`` of each mini-batch, in ``order``."""
    for start in range(0, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        if order is None:
            yield (X[start:stop], T[start:stop],
                   None if sample_weight is None else sample_weight[start:stop])
            continue
        idx, m = order[start:stop], stop - start
        # mode='clip' (the indices are valid anyway) writes straight into the
        # buffer; the default mode='raise' gathers into a temporary first.
        # The rows of a sparse X are gathered into a new CSR matrix.
        yield (
            X[idx] if sparse.issparse(X)
            else np.take(X, idx, axis=0, out=workspace.X[:m], mode="clip"),
            np.take(T, idx, axis=0, out=workspace.T[:m], mode="clip"),
            None if sample_weight is None
            else np.take(sample_weight, idx, out=workspace.sample_weight[:m],
                         mode="clip"),
        )


def _batch_step(X, T, sample_weight, coefs, intercepts, ws, activation, loss,
                out_activation, alpha, scale=1.0):
    """Feedforward and backpropagation of one batch; returns its cost.

    With blank input columns, the first layer multiplies only the other
    columns (and their rows of weights), and the blank columns' weights get
    a zero gradient: the same sums without their zero terms.  The L2 penalty
    needs every weight, so ``alpha > 0`` always takes the full products, and
    a sparse ``X`` does too: its products skip the zeros already.
    """
    mask = None if alpha or sparse.issparse(X) else _column_mask(X)
    if mask is not None:
        active = np.flatnonzero(mask)
        m, k, fan_out = X.shape[0], len(active), coefs[0].shape[1]
        X = np.take(X, active, axis=1, mode="clip",
                    out=ws.X_active[:m * k].reshape(m, k))
        coefs = [np.take(coefs[0], active, axis=0, mode="clip",
                         out=ws.W_active[:k * fan_out].reshape(k, fan_out)),
                 *coefs[1:]]
        full, ws = ws, copy.copy(ws)
        ws.coef_grads = [ws.grad_active[:k * fan_out].reshape(k, fan_out),
                         *ws.coef_grads[1:]]
    outputs = feedforward(X, coefs, intercepts, activation, out_activation,
                          out=ws.outputs)
    cost = backprop(X, T, sample_weight, coefs, outputs, ws, activation, loss,
                    out_activation, alpha, scale)
    if mask is not None:
        grad = full.coef_grads[0]
        grad[active] = ws.coef_grads[0]
        grad[~mask] = 0
    return cost


def train_epoch(X, T, sample_weight, coefs, intercepts, state, *, solver, eta,
                momentum, alpha, activation, loss, out_activation, batch_size,
                order, workspace):
    """One pass over the data in mini-batches, updating the weights in place.

    ``order`` is the permutation of the rows to visit, or None to visit them in
    their stored order (batches are then views, not copies).  Small batches
    run on one BLAS thread, see :func:`blas_thread_limit`.  ``X`` is dense or
    CSR; ``workspace`` must then be made with ``sparse_input=True``.

    Returns ``(cost, weight_change, n_batches)``: the summed batch costs, and
    the sum over batches and layers of ``||delta W[l]||`` (bias included, as
    in the notebook's augmented W).  A non-finite batch cost stops the epoch
    early and is returned as is.
    """
    params = coefs + intercepts
    grads = workspace.coef_grads + workspace.intercept_grads
    n_layers = len(coefs)
    layer_sizes = [X.shape[1], *(W.shape[1] for W in coefs)]
    if sparse.issparse(X):
        # The first layer's sparse products do not call the BLAS.
        layer_sizes = layer_sizes[1:]
    total_cost = total_change = 0.0
    n_batches = 0
    scale = gradient_scale(solver, eta)
    with (blas_thread_limit(layer_sizes, min(batch_size, X.shape[0]), X.dtype),
          _ScaledAdam(state) if solver == "adam" else nullcontext() as scaled):
        for Xb, Tb, swb in _batches(X, T, sample_weight, batch_size, order,
                                    workspace):
            cost = _batch_step(Xb, Tb, swb, coefs, intercepts, workspace,
                               activation, loss, out_activation, alpha, scale)
            n_batches += 1
            total_cost += cost
            if not np.isfinite(cost):
                break
            changes = apply_updates(solver, state, params, grads, eta, momentum,
                                    scaled)
            total_change += sum(
                np.sqrt(changes[i] + changes[n_layers + i]) for i in range(n_layers)
            )
    return total_cost, total_change, n_batches
