"""The fitted state of a ScratchMLPClassifier: what follows from what, and what a
restored state must hold.

``fit`` takes the derived attributes from :func:`derived_attributes`, and
``__setstate__`` checks a state restored by pickle, joblib or skops with
:func:`check_state` against the same function, so that the rules live in one
place.  A damaged state fails on loading with a ValueError that says what is
wrong, not later with an AttributeError, a KeyError or wrong predictions.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)

# Attributes every fit sets (``feature_names_in_`` only for named columns).
FITTED = (
    "classes_",
    "n_features_in_",
    "n_outputs_",
    "out_activation_",
    "n_layers_",
    "coefs_",
    "intercepts_",
    "_seed",
    "n_iter_",
    "loss_curve_",
    "weight_change_curve_",
    "best_loss_",
    "_no_improvement_count",
    "validation_scores_",
    "validation_loss_curve_",
    "best_validation_score_",
    "_optimizer_state",
)

# Parameters that skmlp 0.1.0's first models did not have, with their defaults:
# a state saved without them loads as if it had been saved with them.
ADDED_PARAMETERS = {"engine": "fast", "dropout": 0.0, "class_weight": None}


def add_missing(state):
    """Give a state saved by an older skmlp what was added since, in place.

    The parameters of ``ADDED_PARAMETERS`` take their defaults; a fitted state
    without ``validation_loss_curve_`` gets None, or NaN for each validation
    score (those costs were not measured).
    """
    for name, default in ADDED_PARAMETERS.items():
        state.setdefault(name, default)
    if "validation_scores_" in state and "validation_loss_curve_" not in state:
        scores = state["validation_scores_"]
        state["validation_loss_curve_"] = (
            None if not isinstance(scores, list) else [np.nan] * len(scores)
        )


def derived_attributes(n_classes, n_hidden_layers):
    """``n_outputs_``, ``out_activation_`` and ``n_layers_`` of a network.

    One sigmoid unit for two classes, a softmax over three or more; the layers
    count the input and the output.
    """
    n_outputs = 1 if n_classes == 2 else n_classes
    return {
        "n_outputs_": n_outputs,
        "out_activation_": "sigmoid" if n_outputs == 1 else "softmax",
        "n_layers_": n_hidden_layers + 2,
    }


def check_state(estimator_class, state, saved_version):
    """Raise a ValueError if ``state`` cannot be a working ``estimator_class``.

    ``state`` is the ``__dict__`` to restore, without the persistence stamps;
    ``saved_version`` is the skmlp version that saved it, named in the error.
    """
    from . import __version__ as current_version  # late: the package imports us

    problem = _parameter_problem(estimator_class, state) or _fitted_problem(state)
    if problem is None:
        return
    name = estimator_class.__name__
    versions = (
        f" (it was saved by skmlp {saved_version}; this is skmlp {current_version})"
        if saved_version != current_version
        else ""
    )
    raise ValueError(
        f"Cannot restore a {name} from the saved state: {problem}. The file "
        f"is damaged or was not written by this {name}{versions}; refit the "
        "model and save it again."
    )


def _parameter_problem(estimator_class, state):
    names = estimator_class._get_param_names()
    missing = [name for name in names if name not in state]
    if missing:
        return f"the parameters {missing} are missing"
    try:
        validate_parameter_constraints(
            estimator_class._parameter_constraints,
            {name: state[name] for name in names},
            caller_name=estimator_class.__name__,
        )
    except InvalidParameterError as exc:
        return str(exc).rstrip(".")
    return None


def _fitted_problem(state):
    present = [name for name in FITTED if name in state]
    if not present:
        return None  # an unfitted estimator: its parameters are all it has
    if len(present) < len(FITTED):
        absent = [name for name in FITTED if name not in state]
        return f"the fitted attributes {absent} are missing"
    for check in (
        _classes_problem,
        _features_problem,
        _weights_problem,
        _derived_problem,
        _progress_problem,
        _optimizer_problem,
    ):
        problem = check(state)
        if problem is not None:
            return problem
    return None


def _is_int(value, low=0):
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= low


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _classes_problem(state):
    classes = state["classes_"]
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        return "classes_ is not a 1-D array of at least 2 labels"
    # fit and partial_fit store unique_labels: sorted, each label once.  The
    # predictions index into classes_, so any other order mislabels them.
    try:
        ordered = np.unique(classes)
    except TypeError:
        ordered = None
    if ordered is None or len(ordered) != len(classes) or np.any(ordered != classes):
        return f"classes_={classes!r} are not distinct labels in sorted order"
    return None


def _features_problem(state):
    n_features = state["n_features_in_"]
    if not _is_int(n_features, low=1):
        return f"n_features_in_={n_features!r} is not a positive int"
    names = state.get("feature_names_in_")
    if names is not None and not (
        isinstance(names, np.ndarray)
        and names.shape == (n_features,)
        and all(isinstance(name, str) for name in names)
    ):
        return f"feature_names_in_ is not an array of {n_features} column names"
    return None


def _weights_problem(state):
    coefs, intercepts = state["coefs_"], state["intercepts_"]
    if (
        not isinstance(coefs, list | tuple)
        or not isinstance(intercepts, list | tuple)
        or len(coefs) == 0
        or len(coefs) != len(intercepts)
    ):
        return "coefs_ and intercepts_ are not two lists of arrays of equal length"
    for layer, (W, b) in enumerate(zip(coefs, intercepts)):
        if not (
            isinstance(W, np.ndarray)
            and isinstance(b, np.ndarray)
            and W.ndim == 2
            and b.ndim == 1
            and W.dtype.kind == "f"
            and b.dtype.kind == "f"
            and W.shape[1] == b.shape[0]
        ):
            return (
                f"layer {layer}'s weights are not a float matrix and a bias "
                "vector of matching size"
            )
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            return f"layer {layer}'s weights are not all finite"
    sizes = [W.shape for W in coefs]
    if sizes[0][0] != state["n_features_in_"] or any(
        a[1] != b[0] for a, b in zip(sizes[:-1], sizes[1:])
    ):
        return (
            f"the weight shapes {sizes} do not chain from "
            f"n_features_in_={state['n_features_in_']!r}"
        )
    return None


def _derived_problem(state):
    coefs = state["coefs_"]
    expected = derived_attributes(len(state["classes_"]), len(coefs) - 1)
    if coefs[-1].shape[1] != expected["n_outputs_"]:
        return (
            f"the network has {coefs[-1].shape[1]} output unit(s) for "
            f"{len(state['classes_'])} classes"
        )
    for name, value in expected.items():
        stored = state[name]
        same_kind = isinstance(stored, str) if isinstance(value, str) else _is_int(
            stored
        )
        if not (same_kind and stored == value):
            return (
                f"{name}={stored!r} does not fit the classes and coefs_ "
                f"(expected {value!r})"
            )
    return None


def _progress_problem(state):
    # n_iter_ counts the epochs of the last fit; the curves those of every fit
    # (warm starts and partial_fit go on), which _epochs_done counts.  States
    # saved before _epochs_done was recorded had n_iter_ count them all.
    n_iter = state["n_iter_"]
    epochs = state.get("_epochs_done", n_iter)
    for name in ("n_iter_", "_no_improvement_count", "_seed"):
        if not _is_int(state[name]):
            return f"{name}={state[name]!r} is not a non-negative int"
    if not (_is_int(epochs) and epochs >= n_iter):
        return f"_epochs_done={epochs!r} is not an int of at least n_iter_={n_iter!r}"
    for name in ("loss_curve_", "weight_change_curve_"):
        curve = state[name]
        if not (
            isinstance(curve, list)
            and len(curve) == epochs
            and all(_is_number(value) for value in curve)
        ):
            return f"{name} is not a list of {epochs!r} numbers, one per epoch"
    scores = state["validation_scores_"]
    if scores is not None and not (
        isinstance(scores, list)
        and len(scores) <= epochs
        and all(_is_number(value) for value in scores)
    ):
        return f"validation_scores_ is not None or a list of at most {epochs} numbers"
    costs = state["validation_loss_curve_"]
    if (costs is None) != (scores is None) or costs is not None and not (
        isinstance(costs, list)
        and len(costs) == len(scores)
        and all(_is_number(value) for value in costs)
    ):
        return ("validation_loss_curve_ is not None or a list of numbers, one "
                "per validation score")
    for name in ("best_loss_", "best_validation_score_"):
        if state[name] is not None and not _is_number(state[name]):
            return f"{name}={state[name]!r} is not None or a number"
    return None


def _optimizer_problem(state):
    # What the engines' init_optimizer creates: Adam's step count and moments, or
    # SGD's velocities, one array per parameter array.  A fit creates the state
    # of its solver, but set_params may change ``solver`` afterwards, so the
    # state of either solver is a valid one.
    optimizer = state["_optimizer_state"]
    shapes = [p.shape for p in list(state["coefs_"]) + list(state["intercepts_"])]
    if not isinstance(optimizer, dict):
        return "_optimizer_state is not a dict"
    if optimizer.keys() == {"t", "m", "v"}:
        if not _is_int(optimizer["t"]):
            return "_optimizer_state's step count is not a non-negative int"
        arrays = {"m": optimizer["m"], "v": optimizer["v"]}
    elif optimizer.keys() == {"velocities"}:
        arrays = optimizer
    else:
        return f"_optimizer_state has the entries {sorted(optimizer)}"
    for name, values in arrays.items():
        if not (
            isinstance(values, list)
            and [getattr(v, "shape", None) for v in values] == shapes
            and all(isinstance(v, np.ndarray) and v.dtype.kind == "f" for v in values)
        ):
            return f"_optimizer_state's {name!r} arrays do not fit the weights"
    return None
