"""The fast engine's optimiser updates: SGD (with momentum) and Adam in place.

Part of :mod:`skmlp.nn.fast`, kept apart for its length: the same updates as
``sgd_update`` and ``adam_update`` of :mod:`skmlp.nn.reference`, within
rounding, with fewer passes over memory (each trick is explained where it
sits).  The optimiser's state is a dict of plain values (arrays, numbers), so
that a fitted estimator pickles and serialises without custom classes; it is
the reference's (``init_optimizer``), so that a model can switch engines
between fits.
"""

import math

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


def apply_updates(solver, state, params, grads, eta, momentum, scaled=None):
    """Update ``params`` in place from ``grads`` (which are overwritten).

    ``grads`` come from :func:`backprop` with ``scale=gradient_scale(solver,
    eta)``: for 'sgd' they are already the steps ``-eta * dC/dW``.  For
    'adam' in an epoch, ``scaled`` is the :class:`ScaledAdam` that holds the
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
            changes.append(squared_norm(g))
        return changes

    if scaled is None:  # a lone step: the moments are plain
        with ScaledAdam(state) as scaled:
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


class ScaledAdam:
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
    return squared_norm(g)


