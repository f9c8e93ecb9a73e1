"""The fast engine: the reference engine's numbers, within rounding, faster.

Read ``skmlp.nn.reference`` first: it is the lecture's backpropagation written
plainly, and the oracle this module is tested against (``tests/test_reference.py``,
``tests/test_engines.py``).  This module offers the same interface over the
same :class:`~skmlp.nn.reference.Network` spec, parameter lists and optimiser
state (``feedforward``, ``train_epoch``; ``init_params``, ``init_optimizer``
and ``scheduled_eta`` are the reference's own), plus ``feedforward_output``,
the lean pass of prediction.  The mathematics is the reference's: samples
are rows, ``Z[l] = Y[l-1] @ W[l] + b[l]``, the cost of a batch is a *sum*
over its rows, and

    delta[L]   = dC/dZ[L]                               (OUTPUT_DELTAS)
    dC/dW[l]   = Y[l-1].T @ delta[l]     dC/db[l] = sum over rows of delta[l]
    delta[l-1] = (delta[l] @ W[l].T) * A'_{l-1}          (for l > 1 only)

The input layer's delta is never computed: no parameter needs it.

Each shortcut below was measured, and is explained where it sits:

- **Workspace** (:class:`Workspace`): every array the training loop touches
  is allocated once per :func:`train_epoch` call and reused across batches;
  activations, derivatives and losses work in place (``skmlp.nn.activations``)
  and the weights are updated in place.
- **Blank columns** (:func:`_column_mask`, :func:`_batch_step`,
  :func:`feedforward_output`): the columns of a batch that are all zero (the
  border of digit images) are left out of the first layer's products, and
  the update reads the gradient of the other rows only.
- **Rows without error** (:func:`_rows_with_error`): rows whose output delta
  is exactly zero (a saturated sigmoid, a zero sample weight) are left out of
  the backward products.
- **Outer product** (:func:`_times_transpose`): with one output unit,
  ``delta @ W.T`` is a broadcast multiply, not a BLAS call.
- **scale=-eta folded into backprop** (:func:`backprop`,
  :func:`gradient_scale`): SGD's steps come out of backpropagation already
  multiplied by ``-eta``, with no pass over the gradients.
- **Compiled elementwise passes** (``_fast_elementwise``): a ReLU layer's
  bias and activation in one pass, ReLU's derivative, and the defaults'
  sigmoid output with its squared error and output delta, instead of
  NumPy's slower ``maximum`` and a dozen calls on the 128 x 1 output.
- **Compiled updates** (:func:`apply_updates`): Adam's moments, its step
  and the norm of the change in one compiled loop over the parameters (SGD's
  too), instead of a dozen NumPy passes over memory; see ``_fast_updates``.
- **Per-row norm** (:func:`squared_norm`): the L2 penalty's norm as one
  ``vecdot`` per row, not one dot that the BLAS splits among threads.
- **BLAS threads** (:func:`blas_thread_limit`): small batches train on one
  BLAS thread.
- **A helper thread** (``_overlap``): beside such a batch, a second core
  computes the weight gradients and updates of the large layers above the
  first while this thread computes the deltas and the first layer's.
- **Sparse input** (:func:`training_input`, :class:`SparseRows`): a dense
  ``X`` that is mostly zeros (digit images: 15-25 % ink) trains as CSR, and
  ``X`` may be given as a scipy CSR matrix or array (one-hot encoded
  categories).  Only the first layer's two products read it, ``X @ W[1]``
  forward and ``X.T @ delta[1]`` for the gradient: compiled loops that visit
  the stored values only (``_sparse_products``), on the batch's rows in
  place, but for the columns with values in most rows (an image's centre):
  dense, through the BLAS.  The updates skip the first weights of columns
  with no value, which they would not move (``still_rows``).  Everything
  after the first layer is dense, and all of ``X`` is never densified.

The leaving-out shortcuts give the same sums but for the order of summation;
the others change nothing or the rounding only.
"""

import math
from contextlib import nullcontext
from itertools import pairwise

import numpy as np
from scipy import sparse

from . import _overlap, _sparse_input, _sparse_products
from ._blas import SINGLE_THREAD_GEMM, blas_thread_limit, largest_gemm
from ._fast_elementwise import (
    add_bias_relu,
    add_bias_sigmoid,
    relu_derivative,
    squared_error_sigmoid,
)
from ._fast_updates import apply_updates, gradient_scale, squared_norm, still_rows
from ._sparse_input import is_sparse_input, training_input
from ._sparse_products import SparseRows
from .activations import ACTIVATIONS, DERIVATIVES, LOSSES, OUTPUT_DELTAS
from .reference import (
    Network,
    dropout_masks,
    init_optimizer,
    init_params,
    scheduled_eta,
)

__all__ = [
    "Network", "Workspace", "backprop", "feedforward", "feedforward_output",
    "init_optimizer", "init_params", "scheduled_eta", "train_epoch",
    "training_input", "SINGLE_THREAD_GEMM", "blas_thread_limit", "largest_gemm",
]

# Compiled (_fast_elementwise): ReLU's and sigmoid's bias and activation in one
# pass, ReLU's derivative, the defaults' cost and output delta in one pass.
_BIAS_AND_ACTIVATIONS = {"relu": add_bias_relu, "sigmoid": add_bias_sigmoid}
_DERIVATIVES = {**DERIVATIVES, "relu": relu_derivative}
_COST_AND_DELTA = {("squared_error", "sigmoid"): squared_error_sigmoid}

# --------------------------------------------------------------------------
# Feedforward


def feedforward(net, coefs, intercepts, X, out=None, masks=None, unmasked=None):
    """Every layer's output ``[Y[1], ..., Y[L]]`` for the rows of ``X``.

    ``out`` is an optional list of buffers, one per layer, each with at least
    ``len(X)`` rows: the outputs are written into their leading rows.
    ``masks`` are the reference's dropout masks, multiplied into the hidden
    outputs in place; ``unmasked`` then gets a copy of each masked layer's
    activation before masking, which the derivative needs -- except ReLU's:
    its ``Y > 0`` is the same with and without a (positive) mask wherever the
    mask does not zero the delta anyway.
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
        _add_bias_and_activate(Z, b, net.out_activation if layer == last
                               else net.activation)
        if masks is not None and layer < last and masks[layer] is not None:
            if net.activation != "relu":
                np.copyto(unmasked[layer][:n], Z)
            Z *= masks[layer]
        outputs.append(Z)
        Y = Z
    return outputs


def _add_bias_and_activate(Z, b, activation):
    compiled = _BIAS_AND_ACTIVATIONS.get(activation)
    if compiled is not None:
        return compiled(Z, b)
    Z += b
    return ACTIVATIONS[activation](Z)


def _matmul_into(A, B, out):
    """``A @ B`` into ``out``, for a dense ``A``, rows of a CSR matrix in
    training (:class:`SparseRows`) or a scipy sparse matrix.

    scipy's sparse-times-dense product (prediction of a sparse ``X``) has no
    ``out``: it returns a new dense array, copied into ``out`` here.
    """
    if isinstance(A, SparseRows):
        return A.times(B, out)
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


def feedforward_output(net, coefs, intercepts, X):
    """The network's output ``Y[L]`` for ``X`` alone: the pass of prediction.

    The values of ``feedforward(...)[-1]`` but for rounding: the blank
    columns of ``X`` (see ``_active_columns``) are left out of the first
    layer's product, which adds nothing for them.  A sparse ``X`` is
    multiplied as it is: its product skips the zeros already.
    """
    active = None if sparse.issparse(X) else _active_columns(X)
    if active is not None:
        X = np.take(X, active, axis=1)
        coefs = [np.take(coefs[0], active, axis=0), *coefs[1:]]
    return feedforward(net, coefs, intercepts, X)[-1]


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


def backprop(net, coefs, outputs, X, T, sample_weight, ws, scale=1.0, masks=None,
             first_grad=None, helper=None):
    """Gradients of the batch cost, written into ``ws.coef_grads`` and
    ``ws.intercept_grads``, each multiplied by ``scale``.

    ``outputs`` are the layer outputs of ``feedforward`` on ``X``; ``T`` holds
    the targets (one column per output unit); ``ws`` is a :class:`Workspace`
    for at least ``len(X)`` rows.  Returns the batch cost
    ``C = sum_i w_i * loss_i + alpha / 2 * sum_l ||W[l]||^2``, the value of
    ``reference.backprop``; its gradients are these divided by ``scale``.

    Every delta is linear in the output delta, so scaling that one column
    scales every gradient: SGD passes ``scale=-eta`` and gets its steps
    ``-eta * dC/dW`` without a pass over the weights to multiply them.
    ``masks`` are the dropout masks ``feedforward`` applied (its ``unmasked``
    copies in ``ws.unmasked``): a masked layer's derivative is ``M * A'``.
    ``first_grad``, when given, gets the first weights' gradient instead of
    ``ws.coef_grads[0]`` (the rows of a batch's inked columns, see
    :func:`_batch_step`).  A ``helper`` (``_overlap``) computes the larger
    weight gradients above the first layer on its thread: they are written
    once ``helper.finish()`` returns.
    """
    n, alpha = X.shape[0], float(net.alpha)
    grads = [ws.coef_grads[0] if first_grad is None else first_grad,
             *ws.coef_grads[1:]]
    y_prob = outputs[-1]
    delta = ws.deltas[-1][:n]
    cost_and_delta = _COST_AND_DELTA.get((net.loss, net.out_activation))
    if cost_and_delta is not None:
        cost = cost_and_delta(T, y_prob, sample_weight, delta)
    else:
        cost = LOSSES[net.loss](T, y_prob, sample_weight)
        delta = OUTPUT_DELTAS[(net.loss, net.out_activation)](T, y_prob, delta)
    if sample_weight is not None:
        delta *= sample_weight[:, None]
    if scale != 1.0:
        delta *= scale
    inputs = [X, *outputs[:-1]]
    # What each hidden layer's derivative reads: its output, or with dropout
    # (but for ReLU) its unmasked activation.
    activations = inputs[1:]
    if masks is None:
        masks = [None] * len(activations)
    elif net.activation != "relu":
        activations = [Y if M is None else U[:n]
                       for Y, M, U in zip(activations, masks, ws.unmasked)]
    keep = _rows_with_error(delta)
    if keep is not None:
        delta, inputs = delta[keep], [Y[keep] for Y in inputs]
        activations = [Y[keep] for Y in activations]
        masks = [None if M is None else M[keep] for M in masks]
    for layer in range(len(coefs) - 1, -1, -1):
        _gradient(helper, layer, inputs[layer], delta, grads[layer],
                  ws.intercept_grads[layer], scale * alpha, coefs[layer])
        if layer > 0:
            previous = _times_transpose(
                delta, coefs[layer], ws.deltas[layer - 1][:len(delta)]
            )
            delta = _DERIVATIVES[net.activation](activations[layer - 1], previous)
            if masks[layer - 1] is not None:
                delta *= masks[layer - 1]
    if alpha:
        cost += 0.5 * alpha * sum(squared_norm(W) for W in coefs)
    return cost


def _gradient(helper, layer, Y_prev, delta, grad, intercept_grad, penalty, W):
    """A layer's ``Y_prev.T @ delta + penalty * W`` into ``grad`` and its bias
    gradient into ``intercept_grad``: with a ``helper``, a large one above the
    first layer on the helper's thread."""
    if (helper is not None and layer > 0
            and len(delta) * W.size >= _overlap.HELPER_GEMM):
        return helper.submit(_gradient, None, layer, Y_prev, delta, grad,
                             intercept_grad, penalty, W)
    if isinstance(Y_prev, SparseRows):
        Y_prev.transposed_times(delta, grad)
    else:
        _matmul_into(Y_prev.T, delta, grad)
    np.add.reduce(delta, axis=0, out=intercept_grad)
    if penalty:
        grad += penalty * W


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
    # More nonzero values than that share means more such rows too: the
    # usual case, decided without a pass over the rows.
    if np.count_nonzero(delta) > _SPARSE_ROWS * delta.size:
        return None
    nonzero = delta.any(axis=1)
    if np.count_nonzero(nonzero) > _SPARSE_ROWS * len(delta):
        return None
    return np.flatnonzero(nonzero)


# --------------------------------------------------------------------------
# One epoch


class Workspace:
    """Buffers for one batch, allocated once and reused across batches.

    With ``sparse_input`` the buffers of a dense batch of ``X`` (its rows and
    its non-blank columns) are left out: a sparse batch is read in place
    from the CSR matrix, but for the ``dense_columns`` of a
    ``_sparse_input.SplitCSR``.  ``dropout`` adds the buffers of the unmasked
    hidden activations.
    """

    def __init__(self, layer_sizes, batch_size, dtype, sparse_input=False,
                 dropout=False, dense_columns=0):
        pairs = list(pairwise(layer_sizes))
        self.outputs = [np.empty((batch_size, fan_out), dtype) for _, fan_out in pairs]
        self.deltas = [np.empty((batch_size, fan_out), dtype) for _, fan_out in pairs]
        self.coef_grads = [np.empty(pair, dtype) for pair in pairs]
        self.intercept_grads = [np.empty(fan_out, dtype) for _, fan_out in pairs]
        self.T = np.empty((batch_size, layer_sizes[-1]), dtype)
        self.sample_weight = np.empty(batch_size, dtype)
        # The activations of the hidden layers before dropout masks them.
        self.unmasked = [np.empty((batch_size, fan_out), dtype)
                         for _, fan_out in pairs[:-1]] if dropout else None
        # The gradient of the first weights' rows of a batch's non-blank
        # input columns, and (dense X) those columns and their weights (see
        # _batch_step), reshaped to fit each batch.
        first = layer_sizes[0] * layer_sizes[1]
        self.grad_active = np.empty(first, dtype)
        # Where the forward product sorts a sparse batch's values by column
        # (None: too many columns; see _sparse_products.transpose_buckets).
        self.buckets = None
        if sparse_input:
            self.buckets = _sparse_products.transpose_buckets(
                layer_sizes[0], batch_size, dtype)
            # A SplitCSR's dense columns (_sparse_products.batch).
            self.dense_values = np.empty((batch_size, dense_columns), dtype)
            self.dense_weights = np.empty((dense_columns, layer_sizes[1]), dtype)
            return
        self.X = np.empty((batch_size, layer_sizes[0]), dtype)
        self.X_active = np.empty(batch_size * layer_sizes[0], dtype)
        self.W_active = np.empty(first, dtype)


def _batches(X, T, sample_weight, batch_size, order, workspace):
    """Yield ``(X, T, sample_weight)`` of each mini-batch, in ``order``."""
    for start in range(0, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        if order is None:
            yield (_sparse_products.batch(X, np.arange(start, stop), workspace,
                                          slice(start, stop))
                   if is_sparse_input(X)
                   else X[start:stop], T[start:stop],
                   None if sample_weight is None else sample_weight[start:stop])
            continue
        idx, m = order[start:stop], stop - start
        # mode='clip' (the indices are valid anyway) writes straight into the
        # buffer; the default mode='raise' gathers into a temporary first.
        # The rows of a sparse X are not gathered: its products read them.
        yield (
            _sparse_products.batch(X, idx, workspace) if is_sparse_input(X)
            else np.take(X, idx, axis=0, out=workspace.X[:m], mode="clip"),
            np.take(T, idx, axis=0, out=workspace.T[:m], mode="clip"),
            None if sample_weight is None
            else np.take(sample_weight, idx, out=workspace.sample_weight[:m],
                         mode="clip"),
        )


def _batch_step(net, coefs, intercepts, X, T, sample_weight, ws, scale=1.0,
                masks=None, helper=None):
    """Feedforward and backpropagation of one batch.

    Returns ``(cost, first_grad, rows)``.  With blank input columns, the
    first layer multiplies only the other columns (and their rows of
    weights), and ``rows`` are their indices: ``first_grad`` holds the
    gradient of those rows of the first weights, the blank columns' gradient
    is zero (the same sums without their zero terms), and
    ``ws.coef_grads[0]`` is not written.  Otherwise ``rows`` is None and
    ``first_grad`` is ``ws.coef_grads[0]``.  Rows of a CSR matrix
    (:class:`SparseRows`) take the gradient of their columns with values
    only, but read the first weights in place.  The L2 penalty needs every
    weight, so ``alpha > 0`` always takes the full products.
    """
    active, sparse_rows = None, isinstance(X, SparseRows)
    # Rows of a CSR matrix get their inked columns from the forward product.
    if not sparse_rows and not net.alpha and (mask := _column_mask(X)) is not None:
        active = np.flatnonzero(mask)
        m, k, fan_out = X.shape[0], len(active), coefs[0].shape[1]
        X = np.take(X, active, axis=1, mode="clip",
                    out=ws.X_active[:m * k].reshape(m, k))
        coefs = [np.take(coefs[0], active, axis=0, mode="clip",
                         out=ws.W_active[:k * fan_out].reshape(k, fan_out)),
                 *coefs[1:]]
    outputs = feedforward(net, coefs, intercepts, X, out=ws.outputs, masks=masks,
                          unmasked=ws.unmasked)
    if sparse_rows and not net.alpha:
        active = X.columns_with_values()
        X = X.with_gradient_columns(active)
    first_grad = ws.coef_grads[0]
    if active is not None:
        # The gradient of the rows ``active`` of the first weights.
        k, fan_out = len(active), coefs[0].shape[1]
        first_grad = ws.grad_active[:k * fan_out].reshape(k, fan_out)
    cost = backprop(net, coefs, outputs, X, T, sample_weight, ws, scale, masks,
                    first_grad=first_grad, helper=helper)
    return cost, first_grad, active


def train_epoch(net, coefs, intercepts, state, X, T, sample_weight, *, solver, eta,
                momentum, batch_size, order, workspace=None, dropout=None, rng=None):
    """One pass over the rows in mini-batches, updating the weights in place.

    The interface of ``reference.train_epoch``.  ``order`` is the permutation
    of the rows to visit, or None to visit them in their stored order (batches
    are then views, not copies).  Small batches run on one BLAS thread, see
    :func:`blas_thread_limit`.  ``X`` is dense, CSR or a ``SplitCSR``
    (see :func:`training_input`).  ``workspace`` is a :class:`Workspace` for
    ``net``, ``X``'s dtype and ``min(batch_size, len(X))`` rows or more (made
    with ``sparse_input=True`` for a sparse ``X``, and a SplitCSR's
    ``dense_columns``) to reuse across calls; None makes one for this call.

    Returns ``(cost, weight_change, n_batches)``: the summed batch costs, and
    the sum over batches and layers of ``||delta W[l]||`` (bias included, as
    in the notebook's augmented W).  A non-finite batch cost stops the epoch
    early and is returned as is.  ``dropout`` and ``rng`` are the
    reference's: the same masks, drawn in the same order (a ``workspace``
    must then be made with ``dropout=True``).
    """
    sparse_input = is_sparse_input(X)
    if sparse_input:
        # The compiled products read CSR arrays of the weights' dtype.
        X = _sparse_input.training_form(X, coefs[0].dtype)
    if workspace is None:
        workspace = Workspace(
            net.layer_sizes, min(batch_size, X.shape[0]), X.dtype,
            sparse_input=sparse_input, dropout=dropout is not None,
            dense_columns=_sparse_input.dense_column_count(X))
    params = coefs + intercepts
    grads = workspace.coef_grads + workspace.intercept_grads
    n_layers = len(coefs)
    layer_sizes = list(net.layer_sizes)
    if sparse_input:
        # The first layer's products run on one thread (training_input).
        layer_sizes = layer_sizes[1:]
    total_cost = total_change = 0.0
    n_batches = 0
    scale = gradient_scale(solver, eta)
    # The first weights of X's blank columns, unmoved but by the penalty.
    still = None if net.alpha or not sparse_input else still_rows(
        state, solver, momentum, _sparse_input.blank_columns(X))
    batch = min(batch_size, X.shape[0])
    # Before the one-thread limit, whose setting is not the user's; the
    # helper's last task ends inside it.
    helper = _overlap.helper_for(net.layer_sizes, batch, X.dtype, sparse_input)
    with blas_thread_limit(layer_sizes, batch, X.dtype), helper or nullcontext():
        for Xb, Tb, swb in _batches(X, T, sample_weight, batch_size, order,
                                    workspace):
            masks = None if dropout is None else dropout_masks(
                rng, dropout, Xb.shape[0], net.layer_sizes, Xb.dtype)
            cost, grads[0], rows = _batch_step(net, coefs, intercepts, Xb, Tb,
                                               swb, workspace, scale, masks, helper)
            n_batches += 1
            total_cost += cost
            if not math.isfinite(cost):
                break
            changes = apply_updates(solver, state, params, grads, eta, momentum,
                                    rows, helper, still)
            total_change += sum(
                math.sqrt(changes[i] + changes[n_layers + i]) for i in range(n_layers)
            )
    return total_cost, total_change, n_batches
