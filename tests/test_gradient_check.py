"""skmlp.check_gradients: passes on correct gradients, fails on broken ones."""

import itertools
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skmlp import ScratchMLPClassifier, check_gradients
from skmlp.gradient_check import GradientCheck
from skmlp.nn import reference


def _fit(X, y, **params):
    params = {"hidden_layers": (6, 5), "epochs": 3, "random_state": 0, **params}
    with _few_epochs():
        return ScratchMLPClassifier(**params).fit(X, y)


@contextmanager
def _few_epochs():
    # A few epochs may leave a model predicting one class (ConvergenceWarning):
    # the gradients are what is checked here, not the accuracy.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.mark.parametrize(
    "activation, loss, n_classes",
    list(itertools.product(["relu", "sigmoid", "tanh"],
                           ["squared_error", "log_loss"], [2, 3])),
)
def test_passes_on_every_network_with_sample_weight_and_alpha(
        digits, activation, loss, n_classes):
    X, y = digits
    keep = y < n_classes
    X, y = X[keep][:150], y[keep][:150]
    sample_weight = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    clf = _fit(X, y, activation=activation, loss=loss, alpha=1e-3)
    result = check_gradients(clf, X, y, sample_weight=sample_weight, n_weights=8)
    assert isinstance(result, GradientCheck)
    assert result.passed, str(result)
    names = [p.name for p in result.parameters]
    assert names == ["W[1]", "b[1]", "W[2]", "b[2]", "W[3]", "b[3]"]
    assert all(p.n_checked == min(8, np.prod(p.shape)) for p in result.parameters)
    assert max(result.worst_relative_error.values()) < 1e-4


def test_sample_weight_enters_the_cost(digits):
    X, y = digits
    clf = _fit(X[:100], y[:100])
    weights = np.linspace(0.0, 2.0, 100)
    weighted = check_gradients(clf, X[:100], y[:100], sample_weight=weights)
    plain = check_gradients(clf, X[:100], y[:100])
    assert weighted.passed and plain.passed
    # Scaled to mean 1, as fit does: the weighted cost is another number.
    manual = reference.LOSSES["squared_error"](
        clf.predict_proba(X[:100]).astype(np.float64),
        np.eye(3)[y[:100]]) @ (weights / weights.mean())
    assert weighted.cost == pytest.approx(manual, rel=1e-6)
    assert weighted.cost != pytest.approx(plain.cost, rel=1e-3)


def test_a_broken_relu_derivative_fails_in_the_layers_below_it(
        digits, monkeypatch):
    X, y = digits
    clf = _fit(X, y)
    assert check_gradients(clf, X, y).passed
    # The derivative of ReLU taken as 1 everywhere: wrong below the output.
    monkeypatch.setitem(reference.DERIVATIVES, "relu",
                        lambda Y: np.ones_like(Y))
    result = check_gradients(clf, X, y)
    assert not result.passed
    assert result.failed == ["W[1]", "b[1]", "W[2]", "b[2]"]
    assert result.worst_relative_error["W[1]"] > 1e-2
    report = str(result)
    assert "FAILED in W[1], b[1], W[2], b[2]" in report
    assert report.count("FAILED") == 5  # four rows and the verdict


def test_a_broken_output_delta_fails_in_every_layer(digits, monkeypatch):
    X, y = digits
    keep = y < 2
    clf = _fit(X[keep], y[keep], activation="sigmoid")

    def without_sigmoid_factor(loss, out_activation, Y_hat, T):
        return Y_hat - T  # the squared error's delta lacks y_hat (1 - y_hat)

    monkeypatch.setattr(reference, "cost_derivative", without_sigmoid_factor)
    result = check_gradients(clf, X[keep], y[keep])
    assert result.failed == ["W[1]", "b[1]", "W[2]", "b[2]", "W[3]", "b[3]"]


def test_a_broken_sigmoid_derivative_spares_the_output_layer(digits, monkeypatch):
    X, y = digits
    clf = _fit(X, y, activation="sigmoid")
    monkeypatch.setitem(reference.DERIVATIVES, "sigmoid", lambda Y: Y * (1 + Y))
    result = check_gradients(clf, X, y)
    assert result.failed == ["W[1]", "b[1]", "W[2]", "b[2]"]
    assert result.worst_relative_error["W[3]"] < 1e-4


def test_refuses_an_unfitted_estimator(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        check_gradients(ScratchMLPClassifier(), X, y)
    with pytest.raises(NotFittedError):
        check_gradients(make_pipeline(MinMaxScaler(), ScratchMLPClassifier()), X, y)


def test_refuses_bad_arguments_clearly(digits):
    X, y = digits
    clf = _fit(X, y)
    with pytest.raises(ValueError, match="n_weights must be a positive integer"):
        check_gradients(clf, X, y, n_weights=0)
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        check_gradients(clf, X, y, epsilon=-1.0)
    with pytest.raises(ValueError, match="features"):
        check_gradients(clf, X[:, :10], y)
    with pytest.raises(ValueError, match="not seen before"):
        check_gradients(clf, X[:5], [0, 1, 2, 7, 0])


def test_does_not_modify_the_estimator_or_its_input(digits):
    X, y = digits
    clf = _fit(X, y, alpha=1e-3)
    coefs = [W.copy() for W in clf.coefs_]
    intercepts = [b.copy() for b in clf.intercepts_]
    params = clf.get_params()
    X_given, y_given = X.copy(), y.copy()
    check_gradients(clf, X, y, all_weights=True)
    for before, after in zip(coefs + intercepts, clf.coefs_ + clf.intercepts_,
                             strict=True):
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after, before)
    assert clf.get_params() == params
    np.testing.assert_array_equal(X, X_given)
    np.testing.assert_array_equal(y, y_given)


def test_float32_model_is_checked_in_float64_and_left_in_float32(digits):
    X, y = digits
    clf = _fit(X.astype(np.float32), y)
    before = [W.copy() for W in clf.coefs_]
    result = check_gradients(clf, X.astype(np.float32), y)
    assert result.passed, str(result)
    assert all(W.dtype == np.float32 for W in clf.coefs_)
    for W, W_before in zip(clf.coefs_, before, strict=True):
        np.testing.assert_array_equal(W, W_before)


def test_all_weights_checks_every_entry_of_a_tiny_network(digits):
    X, y = digits
    keep = y < 2
    clf = _fit(X[keep][:60], y[keep][:60], hidden_layers=(3,))
    result = check_gradients(clf, X[keep][:60], y[keep][:60], all_weights=True)
    checked = {p.name: p.n_checked for p in result.parameters}
    assert checked == {"W[1]": 64 * 3, "b[1]": 3, "W[2]": 3, "b[2]": 1}
    assert result.passed, str(result)
    sampled = check_gradients(clf, X[keep][:60], y[keep][:60], n_weights=2)
    assert {p.name: p.n_checked for p in sampled.parameters} == {
        "W[1]": 2, "b[1]": 2, "W[2]": 2, "b[2]": 1}


def test_a_pipeline_is_checked_through_its_earlier_steps(digits):
    X, y = digits
    X_raw = X * 16
    model = make_pipeline(MinMaxScaler(), ScratchMLPClassifier(
        hidden_layers=(5,), epochs=2, random_state=0))
    with _few_epochs():
        model.fit(X_raw, y)
    result = check_gradients(model, X_raw, y)
    direct = check_gradients(model[-1], model[0].transform(X_raw), y)
    assert result.passed
    assert result.cost == direct.cost


def test_the_report_is_a_table_of_every_array(digits):
    X, y = digits
    clf = _fit(X, y)
    report = str(check_gradients(clf, X, y, n_weights=3))
    lines = report.splitlines()
    assert "64-6-5-3" in lines[0] and "relu hidden, softmax output" in lines[0]
    header = lines[2].split()
    assert header[:5] == ["parameter", "layer", "shape", "checked", "kinks"]
    rows = [line.split() for line in lines[3:9]]
    assert [row[0] for row in rows] == ["W[1]", "b[1]", "W[2]", "b[2]", "W[3]",
                                        "b[3]"]
    assert [row[2] for row in rows] == ["64x6", "6", "6x5", "5", "5x3", "3"]
    assert all(row[-1] == "ok" for row in rows)
    assert lines[-1].startswith("passed")


def test_a_kink_crossed_by_the_difference_is_counted_not_judged(digits):
    X, y = digits
    clf = _fit(X, y)
    # A huge step switches ReLU units on and off for most entries.
    result = check_gradients(clf, X, y, epsilon=1.0, all_weights=True)
    assert sum(p.n_kinks for p in result.parameters) > 0
    assert all(p.n_kinks <= p.n_checked for p in result.parameters)
