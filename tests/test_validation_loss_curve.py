"""validation_loss_curve_: the validation part's cost per epoch with early
stopping, in the units of loss_curve_, checked against the cost written out
from its definition; None without early stopping; saved and drawn."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skmlp import ScratchMLPClassifier, _training
from skmlp.nn import reference as ref
from skmlp.plotting import plot_training_curves


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=3, return_X_y=True)
    return X[:300] / 16, y[:300]


def _fit(X, y, sample_weight=None, **params):
    params = {"hidden_layers": (12,), "batch_size": 32, "epochs": 4,
              "random_state": 0, "early_stopping": True,
              "validation_fraction": 0.2, "n_iter_no_change": np.inf, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ScratchMLPClassifier(**params).fit(X, y, sample_weight=sample_weight)


def _cost_from_the_definition(clf, X, T, sw, batch_size):
    P = ref.feedforward(clf._network(), clf.coefs_, clf.intercepts_, X)[-1]
    if clf.loss == "squared_error":
        rows = 0.5 * ((P - T) ** 2).sum(axis=1)
    else:
        rows = -(T * np.log(P)).sum(axis=1)
    w = np.ones(len(X)) if sw is None else sw / sw.mean()
    n_batches = int(np.ceil(len(X) / batch_size))
    penalty = clf.alpha / 2 * sum((W**2).sum() for W in clf.coefs_)
    return (w @ rows + n_batches * penalty) / len(X)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss"])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_it_is_the_validation_cost_of_each_epoch(digits, monkeypatch, loss, alpha,
                                                 weighted):
    X, y = digits
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    seen, costs = {}, []
    split, step = _training.validation_split, _training.validation_accuracy_and_cost

    def split_spy(*args):
        seen["split"] = split(*args)
        return seen["split"]

    def step_spy(clf, *args):
        # The weights at the end of each epoch, before the best are restored.
        _, X_val, _, T_val, *_, sw_val = seen["split"]
        costs.append(_cost_from_the_definition(clf, X_val, T_val, sw_val, 32))
        return step(clf, *args)

    monkeypatch.setattr(_training, "validation_split", split_spy)
    monkeypatch.setattr(_training, "validation_accuracy_and_cost", step_spy)
    clf = _fit(X, y, sw, loss=loss, alpha=alpha)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == 4
    np.testing.assert_allclose(clf.validation_loss_curve_, costs, rtol=1e-10)
    # It falls as the network learns, from about where the training cost is.
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]
    assert clf.validation_loss_curve_[0] == pytest.approx(clf.loss_curve_[0],
                                                          rel=0.5)


def test_none_without_early_stopping(digits):
    X, y = digits
    assert _fit(X, y, early_stopping=False).validation_loss_curve_ is None


def test_a_warm_start_with_early_stopping_starts_the_curve(digits):
    X, y = digits
    clf = _fit(X, y, early_stopping=False, warm_start=True)
    clf.set_params(early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == 4
    assert len(clf.loss_curve_) == 8


def _restored(state):
    clf = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    clf.__setstate__(state)
    return clf


def test_a_model_saved_before_it_existed_loads(digits):
    X, y = digits
    for early_stopping in (True, False):
        clf = _fit(X, y, early_stopping=early_stopping)
        state = clf.__getstate__()
        state.pop("_skmlp_checksum")
        del state["validation_loss_curve_"]
        restored = _restored(state)
        if early_stopping:
            assert len(restored.validation_loss_curve_) == 4
            assert np.isnan(restored.validation_loss_curve_).all()
        else:
            assert restored.validation_loss_curve_ is None
        np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


@pytest.mark.parametrize("damage", [[1.0], "low", None, [0.1, 0.2, 0.3, "x"]])
def test_a_damaged_curve_is_refused_on_loading(digits, damage):
    X, y = digits
    state = _fit(X, y).__getstate__()
    state.pop("_skmlp_checksum")
    state["validation_loss_curve_"] = damage
    with pytest.raises(ValueError, match="validation_loss_curve_"):
        _restored(state)


def test_plot_training_curves_draws_it_beside_the_training_cost(digits):
    X, y = digits
    clf = _fit(X, y)
    axes = plot_training_curves(clf)
    training, validation = axes[0].lines
    np.testing.assert_array_equal(validation.get_ydata(),
                                  clf.validation_loss_curve_)
    np.testing.assert_array_equal(validation.get_xdata(), training.get_xdata())
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == [
        "training", "validation"]
    plain = plot_training_curves(_fit(X, y, early_stopping=False))
    assert len(plain[0].lines) == 1
