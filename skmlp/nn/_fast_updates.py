"""The fast engine's optimiser updates: SGD (with momentum) and Adam, each
one compiled loop over the parameters.

Part of :mod:`skmlp.nn.fast`, kept apart for its length: the updates of
``sgd_update`` and ``adam_update`` in :mod:`skmlp.nn.reference`, within
rounding.  The optimiser's state is a dict of plain values (arrays,
numbers), so that a fitted estimator pickles and serialises without custom
classes; it is the reference's (``init_optimizer``), so that a model can
switch engines between fits.

Why compiled.  In NumPy, Adam's step is a dozen whole-array operations (the
moments' decay and sum, the square, the root, the division, the norm of the
change), each one pass over memory, and in a default fit it took a fifth to
two fifths of the time.  Each loop below reads and writes every value once,
and takes the squared norm of the change (the weight-change curve) on the
way.  Measured on the 518,001 float32 parameters of 784-500-250-1, one step:
0.26-0.29 ms against 0.76-1.03 ms for the best NumPy form, 3-3.6 x
(``benchmarks/adam_update.py``); a whole default fit, 0.87 x.

The loops are compiled by numba with three of LLVM's fast-math licences
only: ``reassoc``, so that the norm's sum may be vectorised (summed in
another order; the products and quotient of a value may be reordered too);
``contract``, so that ``a * b + c`` may round once (a fused multiply-add);
``nsz``, the sign of a zero.  Division and square root stay correctly
rounded: no approximate reciprocals.  The results differ from NumPy's by
rounding only.  Without ``reassoc`` the loop runs one value at a time, at
2 ms a step, slower than NumPy.
"""

import math
from functools import cache
from types import SimpleNamespace

import numpy as np

ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON = 0.9, 0.999, 1e-8


def squared_norm(a):
    # One BLAS dot per row, then the sum of the rows': 3-6x faster than
    # einsum's loop.  Not one dot of the whole array: OpenBLAS splits a dot of
    # more than 10,000 values among threads, and a thread that the OS does not
    # schedule at once stalls the call for milliseconds (x100 on a busy
    # machine) for a few microseconds of work.  Rows are layer widths.
    if a.ndim == 1 or not hasattr(np, "vecdot"):  # vecdot: NumPy >= 2.0
        return float(np.einsum("i,i->", a.ravel(), a.ravel()))
    return float(np.vecdot(a, a).sum())


def gradient_scale(solver, eta):
    """The ``scale`` of :func:`backprop` that :func:`apply_updates` expects."""
    return -eta if solver == "sgd" else 1.0


def apply_updates(solver, state, params, grads, eta, momentum, rows=None,
                  helper=None, still=None):
    """Update ``params`` in place from ``grads``.

    ``grads`` come from :func:`backprop` with ``scale=gradient_scale(solver,
    eta)``: for 'sgd' they are already the steps ``-eta * dC/dW``.  ``rows``,
    when given, are the indices of the rows of ``params[0]`` whose gradient
    ``grads[0]`` holds, one row each, in any order: the others' is zero
    (the blank input columns of a batch, see ``fast._batch_step``).
    ``still``, when given with ``rows``, are rows of ``params[0]`` not among
    them whose optimiser state is zero: they do not move, and are skipped
    (the columns of ``X`` with no value at all, see ``fast.train_epoch``).

    Returns the squared L2 norm of each parameter's change, which the caller
    turns into the notebook's weight-change curve without copying weights.
    ``params`` are a network's weights then biases; with a ``helper``
    (``_overlap``) the layers but the first are updated on its thread, after
    the tasks already given to it, while this thread updates the first.

    - 'sgd' with ``momentum == 0`` is the notebook's ``W <- W - eta * dC/dW``;
      with momentum, ``v <- momentum * v - eta * dC/dW; W <- W + v``.
    - 'adam' is Kingma & Ba's update with ``eta`` as its step size.
    """
    loops = _loops()
    # Which row of each gradient holds each row's: listed rows, or all.
    where = [_where(params[0], rows, still)] + [_where(p) for p in params[1:]]
    if solver == "sgd":
        def update(k):
            p, g, w = params[k], grads[k], where[k]
            if not momentum:
                return loops.step(_rows(p), _rows(g), w)
            return loops.momentum(_rows(p), _rows(g), w,
                                  _rows(state["velocities"][k]),
                                  p.dtype.type(momentum))
    else:
        state["t"] += 1
        t = state["t"]
        # The bias corrections of m and v, folded into the step size.
        eta_t = float(eta) * math.sqrt(1 - ADAM_BETA2**t) / (1 - ADAM_BETA1**t)

        def update(k):
            p, g, w = params[k], grads[k], where[k]
            beta1, one_minus_beta1, beta2, one_minus_beta2, eps = (
                _adam_constants(p.dtype))
            return loops.adam(
                _rows(p), _rows(g), w, _rows(state["m"][k]),
                _rows(state["v"][k]), beta1, one_minus_beta1, beta2,
                one_minus_beta2, p.dtype.type(eta_t), eps,
            )

    # The first weights last: the next batch's first product reads them
    # while the cache still holds their last rows (a default epoch on 1 vs
    # 5 took 0.94 - 0.99 x the time of the first-to-last order, three runs).
    changes = [None] * len(params)

    def update_all(ks):
        for k in ks:
            changes[k] = update(k)

    order = list(reversed(range(len(params))))
    if helper is None:
        update_all(order)
        return changes
    first = (0, len(params) // 2)
    helper.submit(update_all, [k for k in order if k not in first])
    update_all([k for k in order if k in first])
    helper.finish()
    return changes


def still_rows(state, solver, momentum, blank):
    """The rows ``blank`` of the first weights (columns of ``X`` with no
    value: their gradient is zero) whose optimiser state is zero too, or
    None: they stay as they are, to the bit, which :func:`apply_updates`
    skips.  A fit that goes on from other data moves them until their state
    has decayed to zero."""
    moments = {"adam": ("m", "v"), "sgd": ("velocities",) if momentum else ()}
    if not moments[solver] or not len(blank):
        return None
    moving = np.zeros(len(blank), bool)
    for key in moments[solver]:
        moving |= state[key][0][blank].any(axis=1)
    return blank[~moving]


@cache
def _adam_constants(dtype):
    # In the arrays' dtype: a float64 constant would make the loop compute a
    # float32 network in float64.  They round as NumPy rounds the reference's
    # Python floats.
    return tuple(dtype.type(c) for c in (ADAM_BETA1, 1 - ADAM_BETA1, ADAM_BETA2,
                                          1 - ADAM_BETA2, ADAM_EPSILON))


def _rows(a):
    """``a`` as a 2-d view of rows (a vector as one row), for the loops to
    update in place."""
    if not a.flags.c_contiguous:
        raise ValueError(
            "the fast engine updates C-contiguous parameter and optimiser "
            f"arrays in place; got one of shape {a.shape} that is not: pass "
            "np.ascontiguousarray(...) of it"
        )
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


@cache
def _every_row(n):
    return np.arange(n)


def _where(p, rows=None, still=None):
    """For each row of ``p`` (of its view by ``_rows``), the row of its
    gradient that holds it, -1 for a zero gradient or -2 for a row to skip:
    ``g[j]`` is the gradient of row ``rows[j]``, and ``still`` are skipped;
    without ``rows``, row ``r`` is ``g[r]``."""
    n = p.size // p.shape[-1]
    if rows is None:
        return _every_row(n)
    where = np.full(n, -1, np.int64)
    if still is not None:
        where[still] = -2
    where[rows] = _every_row(n)[:len(rows)]
    return where


# The loops.  Each visits the rows of a parameter; ``where[r]`` is the row of
# the gradient ``g`` that holds the gradient of row ``r``, -1 means a zero
# gradient, and -2 a row that stays as it is (zero gradient, zero state).
# The arithmetic of a zero gradient is written out in the second branch rather
# than read from an array of zeros: that array would be one more pass to
# fill and one more to read.


def _adam_loop(p, g, where, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2,
               step, eps):
    """``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``p <- p - step m / (sqrt(v) + eps)``; returns ``||change||^2``."""
    change = 0.0
    for r in range(p.shape[0]):
        j = where[r]
        if j >= 0:
            for c in range(p.shape[1]):
                m_rc = beta1 * m[r, c] + one_minus_beta1 * g[j, c]
                v_rc = beta2 * v[r, c] + one_minus_beta2 * (g[j, c] * g[j, c])
                m[r, c] = m_rc
                v[r, c] = v_rc
                d = step * m_rc / (np.sqrt(v_rc) + eps)
                p[r, c] -= d
                change += d * d
        elif j == -1:
            for c in range(p.shape[1]):
                m_rc = beta1 * m[r, c]
                v_rc = beta2 * v[r, c]
                m[r, c] = m_rc
                v[r, c] = v_rc
                d = step * m_rc / (np.sqrt(v_rc) + eps)
                p[r, c] -= d
                change += d * d
    return change


def _momentum_loop(p, g, where, velocity, momentum):
    """``v <- momentum v + g`` (``g`` is ``-eta dC/dW``), ``p <- p + v``;
    returns ``||v||^2``."""
    change = 0.0
    for r in range(p.shape[0]):
        j = where[r]
        if j >= 0:
            for c in range(p.shape[1]):
                v_rc = momentum * velocity[r, c] + g[j, c]
                velocity[r, c] = v_rc
                p[r, c] += v_rc
                change += v_rc * v_rc
        elif j == -1:
            for c in range(p.shape[1]):
                v_rc = momentum * velocity[r, c]
                velocity[r, c] = v_rc
                p[r, c] += v_rc
                change += v_rc * v_rc
    return change


def _step_loop(p, g, where):
    """``p <- p + g`` (``g`` is ``-eta dC/dW``); returns ``||g||^2``."""
    change = 0.0
    for r in range(p.shape[0]):
        j = where[r]
        if j >= 0:
            for c in range(p.shape[1]):
                p[r, c] += g[j, c]
                change += g[j, c] * g[j, c]
    return change


@cache
def _loops():
    return compiled(_adam_loop, _momentum_loop, _step_loop)


def compiled(*loops):
    """``loops`` compiled by :func:`compiler`, each an attribute named after
    it without ``_`` and ``_loop`` (``_adam_loop`` is ``.adam``)."""
    compile_ = compiler()
    return SimpleNamespace(**{
        loop.__name__.removeprefix("_").removesuffix("_loop"): compile_(loop)
        for loop in loops
    })


@cache
def compiler():
    """numba's ``njit`` as the fast engine compiles its loops (these and
    ``_sparse_products``'): the licences above, no GIL held.  numba is
    imported at the first use, not with skmlp: it takes 0.2-0.4 s, which
    commands that train nothing need not pay.  Compiled code is cached on
    disk (cache=True), so a later process loads it."""
    import numba

    return numba.njit(
        fastmath={"reassoc", "contract", "nsz"},
        error_model="numpy",  # x / 0 is inf or nan, as in NumPy; no exception
        nogil=True,
        cache=True,
    )
