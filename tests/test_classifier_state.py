"""The fitted-state rules of ScratchMLPClassifier: the derived attributes, and the
check of a state restored by pickle, joblib or skops."""

import inspect
import pickle
import warnings

import numpy as np
import pytest
import skops.io as sio
from conftest import small_classifier as _small

import skmlp
from skmlp import ScratchMLPClassifier, _classifier_state, persistence
from skmlp.persistence import TRUSTED_TYPES


@pytest.fixture(scope="module")
def fitted(digits):
    return _small().fit(*digits)


def _copy(clf):
    return pickle.loads(pickle.dumps(clf))


# --------------------------------------------------------------------------
# One helper derives n_outputs_, out_activation_, n_layers_


@pytest.mark.parametrize(
    "n_classes, n_hidden, expected",
    [
        (2, 2, {"n_outputs_": 1, "out_activation_": "sigmoid", "n_layers_": 4}),
        (3, 1, {"n_outputs_": 3, "out_activation_": "softmax", "n_layers_": 3}),
        (10, 3, {"n_outputs_": 10, "out_activation_": "softmax", "n_layers_": 5}),
    ],
)
def test_derived_attributes(n_classes, n_hidden, expected):
    assert _classifier_state.derived_attributes(n_classes, n_hidden) == expected


def test_fit_and_the_state_check_share_the_derivation(monkeypatch, digits):
    """A change of the rule reaches fit and the check alike: nothing else derives."""
    X, y = digits
    real = _classifier_state.derived_attributes

    def shifted(n_classes, n_hidden_layers):
        return {**real(n_classes, n_hidden_layers), "n_layers_": n_hidden_layers + 7}

    monkeypatch.setattr(_classifier_state, "derived_attributes", shifted)
    clf = _small(hidden_layers=(8, 4)).fit(X, y)
    assert clf.n_layers_ == 2 + 7
    # The check expects what fit stored, so the round trip still works ...
    assert _copy(clf).n_layers_ == 9
    monkeypatch.undo()
    # ... and the real rule refuses it.
    with pytest.raises(ValueError, match=r"n_layers_=9 .*expected 4"):
        _copy(clf)


def test_setstate_asks_the_state_module(monkeypatch, fitted):
    calls = []
    monkeypatch.setattr(
        _classifier_state, "check_state", lambda *args: calls.append(args)
    )
    _copy(fitted)
    [(cls, state, version)] = calls
    assert cls is ScratchMLPClassifier and "coefs_" in state
    assert version == skmlp.__version__


def test_persistence_knows_nothing_of_the_classifiers_attributes():
    source = inspect.getsource(persistence)
    assert [name for name in _classifier_state.FITTED if name in source] == []
    assert "_parameter_constraints" not in source
    assert "_get_param_names" not in source


# --------------------------------------------------------------------------
# Damage that used to load and fail later


def _damaged(clf, change):
    clf = _copy(clf)
    change(clf)
    return clf


EXAMPLES = {
    # used to fail only at predict, with KeyError: 'bogus'
    "activation bogus": (
        lambda c: setattr(c, "activation", "bogus"),
        r"'activation' parameter .* must be a str among .*Got 'bogus'",
    ),
    "eta negative": (lambda c: setattr(c, "eta", -1.0), "'eta' parameter"),
    "random_state": (lambda c: setattr(c, "random_state", "x"), "random_state"),
    # used to fail on a warm start with AttributeError
    "no _seed": (lambda c: delattr(c, "_seed"), r"\['_seed'\] are missing"),
    "no loss_curve_": (
        lambda c: delattr(c, "loss_curve_"),
        r"\['loss_curve_'\] are missing",
    ),
    "no optimizer state": (
        lambda c: delattr(c, "_optimizer_state"),
        r"\['_optimizer_state'\] are missing",
    ),
    # used to load and mislabel every prediction
    "classes_ [5, 5, 7]": (
        lambda c: setattr(c, "classes_", np.array([5, 5, 7])),
        "not distinct labels in sorted order",
    ),
    "classes_ unsorted": (
        lambda c: setattr(c, "classes_", c.classes_[::-1].copy()),
        "not distinct labels in sorted order",
    ),
    "seed negative": (lambda c: setattr(c, "_seed", -3), "_seed=-3"),
    "n_iter_ float": (lambda c: setattr(c, "n_iter_", 3.0), "n_iter_=3.0"),
    "curve too short": (
        lambda c: c.loss_curve_.pop(),
        r"loss_curve_ is not a list of 3 numbers, one per epoch",
    ),
    "curve of text": (
        lambda c: setattr(c, "weight_change_curve_", ["a", "b", "c"]),
        "weight_change_curve_",
    ),
    "validation scores": (
        lambda c: setattr(c, "validation_scores_", "high"),
        "validation_scores_",
    ),
    "best_loss_": (lambda c: setattr(c, "best_loss_", "low"), "best_loss_"),
    "optimizer shapes": (
        lambda c: c._optimizer_state["m"].pop(),
        "'m' arrays do not fit the weights",
    ),
    "optimizer keys": (
        lambda c: c._optimizer_state.pop("t"),
        "_optimizer_state has the entries",
    ),
    "optimizer step": (
        lambda c: c._optimizer_state.update(t="1"),
        "step count",
    ),
    "feature names": (
        lambda c: setattr(c, "feature_names_in_", np.array(["a", "b"], dtype=object)),
        "feature_names_in_ is not an array of 64 column names",
    ),
    "n_features_in_ bool": (
        lambda c: setattr(c, "n_features_in_", True),
        "n_features_in_=True",
    ),
    "n_outputs_ as text": (
        lambda c: setattr(c, "n_outputs_", "3"),
        r"n_outputs_='3' does not fit",
    ),
}


@pytest.mark.parametrize("example", EXAMPLES, ids=list(EXAMPLES))
def test_damaged_state_is_refused_on_loading(fitted, example):
    change, message = EXAMPLES[example]
    damaged = _damaged(fitted, change)
    with pytest.raises(ValueError, match="Cannot restore a ScratchMLPClassifier"):
        _copy(damaged)
    with pytest.raises(ValueError, match=message):
        _copy(damaged)


def test_skops_checks_the_state_too(fitted):
    damaged = _damaged(fitted, lambda c: setattr(c, "activation", "bogus"))
    with pytest.raises(ValueError, match="'activation' parameter"):
        sio.loads(sio.dumps(damaged), trusted=TRUSTED_TYPES)


def _fits(X, y):
    labels = np.array(["a", "b", "c"])[y]
    yield _small().fit(X, y)
    yield _small(early_stopping=True, epochs=4).fit(X, labels)
    yield _small(solver="sgd", momentum=0.5, eta=0.01).fit(X.astype(np.float32), y)
    yield _small().partial_fit(X, y == 0, classes=[False, True])
    # fitted with one solver and early stopping, then continued with others
    clf = _small(early_stopping=True).fit(X, y)
    yield clf.set_params(early_stopping=False, warm_start=True).fit(X, y)
    yield _small().fit(X, y).set_params(solver="sgd", activation="tanh")


def test_every_kind_of_fitted_model_passes_the_check(digits):
    X, y = digits
    for clf in _fits(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = _copy(clf)
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_loaded_model_warm_starts(fitted, digits):
    X, y = digits
    loaded = _copy(fitted).set_params(warm_start=True, epochs=2)
    assert loaded.fit(X, y).n_iter_ == 2  # the epochs of the last fit
    assert len(loaded.loss_curve_) == len(fitted.loss_curve_) + 2
