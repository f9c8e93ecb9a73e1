"""Check backpropagation against finite differences: run it after every edit.

:func:`check_gradients` takes a fitted :class:`~skmlp.ScratchMLPClassifier`
and compares, weight by weight, the gradient that
``backprop`` of :mod:`skmlp.nn.reference` computes with the slope of the cost
itself, measured by central finite differences (CS231n's gradient check):

    dC/dw  ~  (C(w + epsilon) - C(w - epsilon)) / (2 epsilon)

A wrong derivative, a missing factor in the output delta or a gradient read
from the wrong layer shows up as a large relative error in the layer it
breaks, and in the layers below it.  The cost is the reference engine's
forward pass and loss table; only the analytic gradient comes from its
backward pass, so the check tests the backward pass against the forward one.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _validation
from .nn import reference

__all__ = ["GradientCheck", "ParameterCheck", "check_gradients"]

# Correct gradients of small fitted networks, every entry checked in float64,
# are off by 1e-5 at worst (most by 1e-8 or less); a wrong derivative by 1e-2
# to 1.  1e-4 is also CS231n's "usually okay".
DEFAULT_TOLERANCE = 1e-4
# A finite difference of a cost C is off by about eps * |C| / epsilon from
# rounding (less here, summed row by row); gradients below a thousand times
# that are compared against it rather than against themselves.
_FLOOR_ROUNDINGS = 1e3


@dataclass(frozen=True)
class ParameterCheck:
    """The check of one parameter array: the weights or the biases of a layer.

    Parameters
    ----------
    name : str
        ``'W[l]'`` or ``'b[l]'``, the notation of :mod:`skmlp.nn.reference`.
    layer : int
        The layer ``l``, from 1 (the first hidden layer) to ``L`` (the output).
    shape : tuple of int
        Shape of the array (``coefs_[l - 1]`` or ``intercepts_[l - 1]``).
    n_checked : int
        Entries compared.
    n_kinks : int
        Entries whose two perturbed costs lie on both sides of a ReLU kink
        (a unit switched on or off between ``w - epsilon`` and
        ``w + epsilon``), where the finite difference is no derivative;
        they do not count in the verdict.
    worst_relative_error : float
        Largest ``|a - n| / max(|a|, |n|, floor)`` over the other entries,
        ``a`` the analytic and ``n`` the numerical gradient (0 if none).
    passed : bool
        ``worst_relative_error <= tolerance``.
    """

    name: str
    layer: int
    shape: tuple
    n_checked: int
    n_kinks: int
    worst_relative_error: float
    passed: bool


@dataclass(frozen=True)
class GradientCheck:
    """What :func:`check_gradients` found; ``str()`` gives a readable table.

    Parameters
    ----------
    parameters : tuple of ParameterCheck
        One per parameter array, ``W[1], b[1], ..., W[L], b[L]``.
    cost : float
        The cost ``C`` at the estimator's weights (float64).
    epsilon, tolerance : float
        The finite-difference step and the largest relative error accepted.
    description : str
        The network checked, for the report's heading.
    """

    parameters: tuple
    cost: float
    epsilon: float
    tolerance: float
    description: str

    @property
    def passed(self):
        """Whether every parameter array passed."""
        return all(p.passed for p in self.parameters)

    @property
    def worst_relative_error(self):
        """``{'W[1]': error, 'b[1]': error, ...}``: the worst of each array."""
        return {p.name: p.worst_relative_error for p in self.parameters}

    @property
    def failed(self):
        """The names of the arrays that failed, e.g. ``['W[1]', 'b[1]']``."""
        return [p.name for p in self.parameters if not p.passed]

    def __str__(self):
        header = ("parameter", "layer", "shape", "checked", "kinks",
                  "worst rel. error", "verdict")
        rows = [header] + [
            (p.name, str(p.layer), "x".join(map(str, p.shape)), str(p.n_checked),
             str(p.n_kinks), f"{p.worst_relative_error:.2e}",
             "ok" if p.passed else "FAILED")
            for p in self.parameters
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            f"Gradient check of {self.description}",
            f"cost {self.cost:.6g}, central differences with epsilon="
            f"{self.epsilon:g}, tolerance {self.tolerance:g}",
        ]
        for row in rows:
            lines.append("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                                   for i, (cell, width) in
                                   enumerate(zip(row, widths, strict=True))))
        if self.passed:
            lines.append("passed: backpropagation matches the finite differences")
        else:
            lines.append(f"FAILED in {', '.join(self.failed)}: the backward pass "
                         "disagrees with the forward pass there")
        return "\n".join(lines)


def check_gradients(estimator, X, y, *, sample_weight=None, n_weights=5,
                    all_weights=False, epsilon=1e-6, tolerance=DEFAULT_TOLERANCE,
                    random_state=0):
    """Compare backpropagation's gradients with central finite differences.

    The first thing to run after editing :mod:`skmlp.nn.reference` (a
    derivative, the output delta, the backward loop): it takes a fitted
    estimator's *current* weights, computes the gradient of the cost on
    ``X``, ``y`` with the reference engine's ``backprop``, and compares it,
    entry by entry, with ``(C(w + epsilon) - C(w - epsilon)) / (2 epsilon)``,
    the cost ``C`` coming from the same engine's forward pass.  Everything
    is done in float64 on copies: the estimator is not modified.

    The network is the estimator's (activation, output unit, loss and
    ``alpha``); the targets are built from ``classes_`` and the sample
    weights scaled to mean 1, as ``fit`` does.

    Parameters
    ----------
    estimator : ScratchMLPClassifier or Pipeline
        A fitted classifier, or a fitted pipeline ending in one (``X`` then
        goes through the pipeline's other steps first).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Samples on which to take the cost.  A few hundred are plenty.
    y : array-like of shape (n_samples,)
        Their labels, among the estimator's ``classes_``.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples, as ``fit`` takes them.
    n_weights : int, default=5
        Weights and biases checked in each layer: ``n_weights`` entries of
        each ``W[l]`` and of each ``b[l]``, drawn at random.
    all_weights : bool, default=False
        Check every entry instead (two forward passes each: for small
        networks).
    epsilon : float, default=1e-6
        The step of the central differences.
    tolerance : float, default=1e-4
        The largest relative error that passes.  In float64 a correct
        gradient is off by 1e-5 at worst (most by 1e-8 or less), a wrong one
        by 1e-2 or more.
    random_state : int, RandomState instance or None, default=0
        Seeds the choice of the entries checked.

    Returns
    -------
    result : GradientCheck
        ``result.passed``, ``result.worst_relative_error`` (per array,
        ``{'W[1]': ..., 'b[1]': ...}``), ``result.failed``, and
        ``print(result)`` for the table.

    Notes
    -----
    The relative error of an entry is ``|a - n| / max(|a|, |n|, floor)``,
    ``a`` the analytic and ``n`` the numerical gradient, with ``floor`` the
    rounding error of the finite difference itself (``1e3 * eps * max(|C|,
    1) / epsilon``, about ``2e-7`` for a cost near 1): a gradient smaller than
    that cannot be measured, only seen to be as small.  An entry whose two
    perturbed costs lie on both sides of a ReLU kink is counted, not judged.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmlp import ScratchMLPClassifier, check_gradients
    >>> X, y = load_digits(n_class=3, return_X_y=True)
    >>> clf = ScratchMLPClassifier(hidden_layers=(16,), epochs=3, random_state=0)
    >>> clf = clf.fit(X / 16, y)
    >>> result = check_gradients(clf, X[:100] / 16, y[:100])
    >>> result.passed
    True
    >>> sorted(result.worst_relative_error)
    ['W[1]', 'W[2]', 'b[1]', 'b[2]']
    """
    clf, X = _classifier_and_input(estimator, X)
    X, y = validate_data(clf, X, y, reset=False, accept_sparse=["csr", "csc"],
                         dtype=np.float64)
    X = X.toarray() if sparse.issparse(X) else X
    X = np.array(X, dtype=np.float64)  # our own copy, whatever was passed
    T = _validation.targets(len(clf.classes_), _validation.encode(clf.classes_, y),
                            np.float64)
    if sample_weight is not None:
        sample_weight = _validation.checked_sample_weight(sample_weight, X)
        sample_weight = _validation.mean_one(sample_weight)
    if not (isinstance(n_weights, int | np.integer) and n_weights >= 1):
        raise ValueError(f"n_weights must be a positive integer; got {n_weights!r}.")
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError(f"epsilon must be a positive number; got {epsilon!r}.")

    coefs = [np.array(W, dtype=np.float64) for W in clf.coefs_]
    intercepts = [np.array(b, dtype=np.float64) for b in clf.intercepts_]
    net = clf._network()
    cost, coef_grads, intercept_grads = reference.backprop(
        net, coefs, intercepts, X, T, sample_weight)
    floor = _FLOOR_ROUNDINGS * np.finfo(np.float64).eps * max(abs(cost), 1.0) / epsilon
    if hasattr(random_state, "randint"):  # a RandomState instance
        random_state = random_state.randint(2**31 - 1)
    rng = np.random.default_rng(random_state)
    # Y[0] = X, Y[1], ..., Y[L-1]: a change in layer l leaves Y[:l] as they are.
    Y = [X, *reference.feedforward(net, coefs, intercepts, X)[:-1]]

    checks = []
    for layer in range(1, len(coefs) + 1):
        for name, param, grad in [
            (f"W[{layer}]", coefs[layer - 1], coef_grads[layer - 1]),
            (f"b[{layer}]", intercepts[layer - 1], intercept_grads[layer - 1]),
        ]:
            flat = np.arange(param.size)
            if not all_weights and n_weights < param.size:
                flat = np.sort(rng.choice(param.size, n_weights, replace=False))
            worst, kinks = 0.0, 0
            for k in flat:
                index = np.unravel_index(k, param.shape)
                numerical = _central_difference(
                    net, coefs[layer - 1:], intercepts[layer - 1:], Y[layer - 1],
                    T, sample_weight, param, index, epsilon,
                    penalized=name.startswith("W"))
                if numerical is None:
                    kinks += 1
                    continue
                analytic = float(grad[index])
                error = abs(analytic - numerical) / max(abs(analytic),
                                                        abs(numerical), floor)
                worst = max(worst, error)
            checks.append(ParameterCheck(
                name=name, layer=layer, shape=param.shape, n_checked=len(flat),
                n_kinks=kinks, worst_relative_error=worst,
                passed=bool(worst <= tolerance)))
    sizes = "-".join(map(str, net.layer_sizes))
    description = (f"{type(clf).__name__} {sizes} ({net.activation} hidden, "
                   f"{net.out_activation} output, {net.loss}, alpha={net.alpha:g}) "
                   f"on {X.shape[0]} samples")
    return GradientCheck(parameters=tuple(checks), cost=cost, epsilon=epsilon,
                         tolerance=tolerance, description=description)


def _classifier_and_input(estimator, X):
    """The fitted classifier, and ``X`` through a pipeline's other steps."""
    if isinstance(estimator, Pipeline):
        check_is_fitted(estimator)
        if len(estimator) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    check_is_fitted(estimator)
    if not hasattr(estimator, "coefs_") or not hasattr(estimator, "out_activation_"):
        raise TypeError(
            "check_gradients needs a fitted ScratchMLPClassifier (or a Pipeline "
            f"ending in one); got {type(estimator).__name__}."
        )
    return estimator, X


def _central_difference(net, coefs, intercepts, Y_in, T, sample_weight, param,
                        index, epsilon, *, penalized):
    """``(C(w + epsilon) - C(w - epsilon)) / (2 epsilon)`` for the entry
    ``param[index]``, or None where a ReLU unit switches between the two.

    ``coefs`` and ``intercepts`` are the layers from the one holding
    ``param`` on, ``Y_in`` their input.  The entry is restored afterwards.
    """
    original = param[index]
    runs = []
    for step in (epsilon, -epsilon):
        param[index] = original + step
        try:
            outputs = reference.feedforward(net, coefs, intercepts, Y_in)
        finally:
            param[index] = original
        losses = reference.LOSSES[net.loss](outputs[-1], T)
        if sample_weight is not None:
            losses = losses * sample_weight
        on = [Y > 0 for Y in outputs[:-1]] if net.activation == "relu" else []
        runs.append((losses, on))
    (plus, on_plus), (minus, on_minus) = runs
    if any(not np.array_equal(a, b) for a, b in zip(on_plus, on_minus, strict=True)):
        return None
    # Row by row: the rounding of a large total would swamp a small
    # difference.  The L2 penalty changes by the term of this entry alone.
    difference = float(np.sum(plus - minus))
    if penalized:
        w = float(original)
        difference += net.alpha / 2 * ((w + epsilon) ** 2 - (w - epsilon) ** 2)
    return difference / (2 * epsilon)
