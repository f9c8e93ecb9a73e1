"""The training loop of ScratchMLPClassifier: epochs, early stopping, the
snapshot and rollback of an epoch that fails, and the collapse check.

The functions take the estimator and read its parameters and fitted
attributes; the arithmetic is the engine's (``skmlp.nn.fast`` or
``skmlp.nn.reference``, chosen by ``engine``), called through the same
functions on either.
"""

import copy
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from . import _classifier_state
from .exceptions import TrainingInterrupted
from .nn import fast, reference

# The engines behind the ``engine`` parameter: the same functions on each.
ENGINES = {"fast": fast, "reference": reference}


def initialize(clf, hidden_layers, dtype):
    """Fresh weights, seed and fitted attributes of ``clf`` for a new fit."""
    # n_outputs_, out_activation_, n_layers_: the rules a loaded state obeys.
    derived = _classifier_state.derived_attributes(
        len(clf.classes_), len(hidden_layers)
    )
    for name, value in derived.items():
        setattr(clf, name, value)
    layer_sizes = [clf.n_features_in_, *hidden_layers, clf.n_outputs_]
    # One int seeds everything, so the fitted state holds only plain values;
    # epoch e shuffles with the seed (seed, e), and partial_fit goes on.
    clf._seed = int(check_random_state(clf.random_state).randint(2**31 - 1))
    rng = np.random.default_rng(clf._seed)
    clf.coefs_, clf.intercepts_ = reference.init_params(
        clf._network(layer_sizes), clf.init, rng, dtype
    )
    clf.n_iter_ = 0
    clf._epochs_done = 0  # over every fit and partial_fit: seeds the shuffling
    clf.loss_curve_ = []
    clf.weight_change_curve_ = []
    clf.best_loss_ = np.inf
    clf._no_improvement_count = 0
    clf.validation_scores_ = [] if clf.early_stopping else None
    clf.validation_loss_curve_ = [] if clf.early_stopping else None
    clf.best_validation_score_ = -np.inf if clf.early_stopping else None


def optimizer_state_fits_solver(clf):
    """Whether the stored optimiser state is one of ``clf.solver``.

    After ``set_params(solver=...)`` it belongs to the other solver, and
    training continues from a fresh state of the new one.
    """
    state = getattr(clf, "_optimizer_state", None)
    fresh = reference.init_optimizer(clf.solver, [])
    return state is not None and state.keys() == fresh.keys()


def validation_split(clf, X, targets, y_index, sample_weight):
    """Hold out ``validation_fraction`` of the samples for early stopping,
    stratified by class: ``X, X_val, targets, _, y_index, y_val, sw, sw_val``."""
    arrays = [X, targets, y_index]
    if sample_weight is not None:
        arrays.append(sample_weight)
    advice = (
        f"early_stopping=True holds out validation_fraction="
        f"{clf.validation_fraction} of the samples, stratified by class"
    )
    try:
        split = train_test_split(
            *arrays,
            test_size=clf.validation_fraction,
            stratify=y_index,
            random_state=clf._seed,
        )
    except ValueError as exc:
        raise ValueError(
            f"{advice}, which these data do not allow: {str(exc).rstrip('.')}. "
            "Use more samples per class, another validation_fraction or "
            "early_stopping=False."
        ) from exc
    if sample_weight is None:
        split += [None, None]
    elif not (split[-2].sum() > 0 and split[-1].sum() > 0):
        raise ValueError(
            f"{advice}; the sample_weight of the training or of the "
            "validation part sums to 0. Use fewer zero weights, another "
            "validation_fraction or early_stopping=False."
        )
    return split


def train(clf, X, targets, sample_weight, epochs, early_stopping, validation,
          dropout=None, callbacks=None):
    """Run up to ``epochs`` epochs of ``clf.engine`` on ``clf``'s weights.

    Records the curves, stops by scikit-learn's rule (``tol``,
    ``n_iter_no_change``; on ``validation = (X, y_index, sample_weight,
    targets)`` with ``early_stopping``), rolls back an interrupted or diverged epoch and
    keeps the best epoch's weights with early stopping.  ``dropout`` (the
    rate of each hidden layer, or None) draws its masks in epoch ``e`` from
    the seed ``(clf._seed, e, 1)``.  ``callbacks`` (a
    ``_callbacks.FitCallbacks``) get each epoch as a task, and may stop.
    """
    engine, net = ENGINES[clf.engine], clf._network()
    batch_size = min(clf.batch_size, X.shape[0])
    _c_contiguous(clf)
    if engine is fast:
        # Digit images train as CSR (see fast.training_input): converted
        # once per fit, not once per epoch.
        X = fast.training_input(X, net.layer_sizes, batch_size)
    total_weight = X.shape[0] if sample_weight is None else sample_weight.sum()
    best_params = None
    # Continuing (warm_start, partial_fit) a fit made in the other mode.
    if early_stopping and clf.validation_scores_ is None:
        clf.validation_scores_, clf.best_validation_score_ = [], -np.inf
        clf.validation_loss_curve_ = []
    if not early_stopping and clf.best_loss_ is None:
        clf.best_loss_ = np.inf
    # Counted by hand, so a stop counts the epoch it ended with.
    progress = tqdm(
        total=epochs, desc="Training", unit="epoch", disable=not clf.verbose
    )
    for epoch in range(epochs):
        order = None
        if clf.shuffle:
            rng = np.random.default_rng([clf._seed, clf._epochs_done])
            order = rng.permutation(X.shape[0])
        masks_rng = None
        if dropout is not None:
            masks_rng = np.random.default_rng([clf._seed, clf._epochs_done, 1])
        if callbacks is not None:
            callbacks.begin_epoch()
        # Weights and optimiser state, so that a later fit resumes exactly.
        last_good = snapshot(clf)
        try:
            with np.errstate(all="ignore"):
                cost, change, n_batches = engine.train_epoch(
                    net, clf.coefs_, clf.intercepts_, clf._optimizer_state,
                    X, targets, sample_weight, solver=clf.solver,
                    eta=reference.scheduled_eta(clf.learning_rate, clf.eta, epoch,
                                                epochs),
                    momentum=clf.momentum, batch_size=batch_size, order=order,
                    dropout=dropout, rng=masks_rng,
                )
        except KeyboardInterrupt:
            # Roll back, warn, and let the interruption stop the caller too
            # (a grid search, a loop over chunks): a model cut short must not
            # be scored as if it had finished.
            rollback(clf, last_good)
            progress.close()
            warnings.warn(
                f"Training interrupted after {clf.n_iter_} completed epoch(s); "
                "the model keeps the weights of the last completed epoch and "
                "the KeyboardInterrupt is raised again: catch it to go on "
                "using the model.",
                TrainingInterrupted,
                stacklevel=4,
            )
            raise
        overflowed = non_finite(clf, cost)
        if overflowed:
            rollback(clf, last_good)
            raise ValueError(
                f"Training diverged in epoch {clf.n_iter_ + 1}: {overflowed} "
                f"became infinite or NaN with eta={clf.eta}, alpha={clf.alpha}. "
                "Use a smaller eta (the cost is a sum over the batch, so a larger "
                "batch_size needs a smaller eta) or alpha, or solver='adam'; and "
                "scale the features (e.g. with StandardScaler or ImageVectorizer)."
            )
        clf.n_iter_ += 1
        clf._epochs_done += 1
        clf.loss_curve_.append(cost / total_weight)
        clf.weight_change_curve_.append(change / (n_batches * len(clf.coefs_)))
        progress.set_postfix(cost=f"{clf.loss_curve_[-1]:.4g}", refresh=False)
        progress.update()

        if early_stopping:
            score, cost = validation_accuracy_and_cost(clf, *validation,
                                                       batch_size)
            clf.validation_scores_.append(score)
            clf.validation_loss_curve_.append(cost)
            improved = score >= clf.best_validation_score_ + clf.tol
            if score > clf.best_validation_score_:
                clf.best_validation_score_ = score
                best_params = [p.copy() for p in clf.coefs_ + clf.intercepts_]
        else:
            improved = clf.loss_curve_[-1] <= clf.best_loss_ - clf.tol
            clf.best_loss_ = min(clf.best_loss_, clf.loss_curve_[-1])
        clf._no_improvement_count = (
            0 if improved else clf._no_improvement_count + 1
        )
        stop = callbacks is not None and callbacks.end_epoch()
        if stop or clf._no_improvement_count > clf.n_iter_no_change:
            break
    progress.close()
    if early_stopping:
        clf.best_loss_ = None
        if best_params is not None:
            restore(clf, best_params)


def _c_contiguous(clf):
    """Weights and optimiser state in C order, which the fast engine updates
    in place: a model may come with others (set by hand, loaded)."""
    clf.coefs_ = [np.ascontiguousarray(W) for W in clf.coefs_]
    clf.intercepts_ = [np.ascontiguousarray(b) for b in clf.intercepts_]
    for key, arrays in clf._optimizer_state.items():
        if isinstance(arrays, list):
            clf._optimizer_state[key] = [np.ascontiguousarray(a) for a in arrays]


# The optimiser's arrays, by solver: an overflow there (Adam's squared
# gradients) makes every later step 0 or NaN while the weights stay finite.
_STATE_NAMES = {"m": "Adam's first moments (m)", "v": "Adam's second moments (v)",
                "velocities": "SGD's velocities"}


def non_finite(clf, cost):
    """What of an epoch's results is infinite or NaN (the cost, the weights,
    the optimiser's state), or '' when all is finite.  One pass over each."""
    overflowed = [] if np.isfinite(cost) else ["the cost"]
    if not all(np.isfinite(p).all() for p in clf.coefs_ + clf.intercepts_):
        overflowed.append("the weights")
    for key, arrays in clf._optimizer_state.items():
        if key in _STATE_NAMES and not all(np.isfinite(a).all() for a in arrays):
            overflowed.append(_STATE_NAMES[key])
    return ", ".join(overflowed)


def snapshot(clf):
    """Copies of the weights and the optimiser state, for :func:`rollback`."""
    params = [p.copy() for p in clf.coefs_ + clf.intercepts_]
    return params, copy.deepcopy(clf._optimizer_state)


def rollback(clf, saved):
    """Put back what :func:`snapshot` saved, into the same arrays."""
    params, clf._optimizer_state = saved
    restore(clf, params)


def restore(clf, params):
    for dst, src in zip(clf.coefs_ + clf.intercepts_, params):
        dst[...] = src


def class_index(proba):
    """The predicted class index of each row of network outputs."""
    if proba.shape[1] == 1:
        return (proba[:, 0] > 0.5).astype(np.intp)
    return proba.argmax(axis=1)


def validation_accuracy_and_cost(clf, X, y_index, sample_weight, targets,
                                 batch_size):
    """The (weighted) accuracy on the validation part and its cost in the
    units of ``loss_curve_``, from one pass of prediction (no dropout).

    The cost is the one an epoch would sum over the validation part in
    batches of ``batch_size`` (each with its L2 penalty), with the weights
    scaled to mean 1, divided by its number of samples: the training part's
    cost per sample, measured on the validation part.
    """
    proba = clf._forward(X)
    correct = class_index(proba) == y_index
    score = float(np.average(correct, weights=sample_weight))
    losses = reference.LOSSES[clf.loss](proba, targets).astype(np.float64)
    weights = np.ones(len(losses)) if sample_weight is None else sample_weight
    data_cost = float(losses @ weights) / float(np.mean(weights, dtype=np.float64))
    n_batches = -(-len(losses) // batch_size)
    penalty = clf.alpha / 2 * sum(float(np.sum(np.square(W, dtype=np.float64)))
                                  for W in clf.coefs_)
    return score, (data_cost + n_batches * penalty) / len(losses)


def warn_if_collapsed(clf, X, y_index):
    """Warn when the network predicts one class for all of several.

    The warning names the likely cause, as measured on the network:
    saturated output units (sigmoid near 0 or 1, softmax near one-hot),
    under which the squared-error gradient vanishes -- the notebook's
    55.99 %; a hidden layer whose ReLU units all output 0, through which
    no gradient passes; otherwise, a network that has not learned yet.

    The check looks at the first 2000 samples and the first of each
    class; it first runs only a few of them, the first 64 and the first
    of each class: a network that predicts two classes there has not
    collapsed, and most fits end here.
    """
    _, first_of_class = np.unique(y_index, return_index=True)
    probe = np.union1d(np.arange(min(len(y_index), 64)), first_of_class)
    if len(np.unique(class_index(clf._forward(X[probe])))) > 1:
        return
    rows = np.union1d(np.arange(min(len(y_index), 2000)), first_of_class)
    X = X[rows]
    proba = clf._forward(X)
    predicted = np.unique(class_index(proba))
    if len(predicted) > 1:
        return
    top = proba.max(axis=1) if proba.shape[1] > 1 else np.maximum(proba, 1 - proba)
    saturated = np.mean(top > 1 - 1e-6) > 0.9
    dead = dead_hidden_layer(clf, X)
    batch_note = (
        f"eta={clf.eta} is too large (the cost is a sum over the batch, "
        "so a larger batch_size needs a smaller eta)"
    )
    if dead is not None:
        cause = (
            f"every unit of hidden layer {dead} outputs 0 (ReLU) for every "
            "sample, so no gradient reaches the layers below it: a step was "
            f"too large. This usually means {batch_note}; try a smaller eta "
            "or solver='adam'."
        )
    elif saturated:
        vanished = (
            ", so the gradient vanished" if clf.loss == "squared_error" else ""
        )
        cause = (
            f"its output units are saturated{vanished}. This usually means "
            f"{batch_note} or init='uniform' or unscaled features saturated "
            "the network; try a smaller eta, init='auto' or solver='adam', "
            "and scale the features (e.g. with StandardScaler or "
            "ImageVectorizer)."
        )
    else:
        cause = (
            "its outputs are not saturated and its units are alive: it has "
            f"not learned yet. Train for more epochs than {clf.n_iter_} or "
            f"try another eta than {clf.eta}."
        )
    warnings.warn(
        "ScratchMLPClassifier collapsed to predicting the single class "
        f"{clf.classes_[predicted[0]]} for every training sample: {cause}",
        ConvergenceWarning,
        stacklevel=4,  # the caller of fit, through _warn_if_collapsed
    )


def dead_hidden_layer(clf, X):
    """The number (from 1) of a ReLU hidden layer that outputs 0 for every
    row of ``X``, or None."""
    if clf.activation != "relu":
        return None
    with np.errstate(all="ignore"):  # only the zeros count here
        outputs = ENGINES[clf.engine].feedforward(
            clf._network(), clf.coefs_, clf.intercepts_, X
        )
    for layer, Y in enumerate(outputs[:-1], start=1):
        if not Y.any():
            return layer
    return None

# -------------------------------------------------------------- predict
