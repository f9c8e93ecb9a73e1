"""Divergence, interruption (Ctrl-C) and determinism of training."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skmlp import ScratchMLPClassifier, TrainingInterrupted
from skmlp.nn import fast

# An eta so large that one SGD step overflows the weights (with log_loss the
# cost is clipped, so only an overflow can make it non-finite).
DIVERGING_ETA = 1e200


def _small(**params):
    # No early stop on the training cost: each run does exactly `epochs`; a
    # constant eta, so that a shorter run is the start of a longer one.
    params = {
        "hidden_layers": (12,),
        "epochs": 5,
        "random_state": 0,
        "tol": 0.0,
        "n_iter_no_change": 1000,
        "learning_rate": "constant",
        **params,
    }
    return ScratchMLPClassifier(**params)


def _weights(clf):
    return clf.coefs_ + clf.intercepts_


def _assert_same_weights(a, b):
    for Wa, Wb in zip(_weights(a), _weights(b), strict=True):
        assert_array_equal(Wa, Wb, strict=True)


# --------------------------------------------------------------------------
# Divergence


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_stops_training_with_an_error_naming_eta(digits, solver):
    X, y = digits
    clf = _small(solver=solver, loss="log_loss", eta=DIVERGING_ETA)
    with pytest.raises(ValueError, match=r"Training diverged in epoch 1.*eta=1e\+200"):
        clf.fit(X, y)
    # The weights are those of before the failed epoch: all finite.
    assert all(np.isfinite(W).all() for W in _weights(clf))


def test_divergence_in_a_later_epoch_keeps_the_last_good_weights(digits, monkeypatch):
    X, y = digits
    reference = _small(epochs=2).fit(X, y)
    clf = _small()
    real_epoch, calls = fast.train_epoch, []

    def poisoned_third_epoch(*args, **kwargs):
        calls.append(1)
        result = real_epoch(*args, **kwargs)
        if len(calls) == 3:
            clf.coefs_[0][0, 0] = np.nan  # the weights are updated in place
        return result

    monkeypatch.setattr(fast, "train_epoch", poisoned_third_epoch)
    with pytest.raises(ValueError, match="Training diverged in epoch 3"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2
    _assert_same_weights(clf, reference)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_grid_search_records_a_diverging_candidate_as_failed(digits):
    X, y = digits
    search = GridSearchCV(
        _small(solver="sgd", loss="log_loss", epochs=3),
        {"eta": [3e-3, DIVERGING_ETA, 1e-3]},
        cv=StratifiedKFold(3),
        error_score=np.nan,
    )
    with pytest.warns(FitFailedWarning, match="Training diverged"):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1])
    assert np.isfinite(scores[[0, 2]]).all() and scores[[0, 2]].min() > 0.5
    assert search.best_params_["eta"] != DIVERGING_ETA
    assert search.best_estimator_.predict(X).shape == y.shape


def test_grid_search_can_raise_instead(digits):
    search = GridSearchCV(
        _small(solver="sgd", loss="log_loss", eta=DIVERGING_ETA, epochs=1),
        {"hidden_layers": [(4,)]},
        cv=2,
        error_score="raise",
    )
    with pytest.raises(ValueError, match="eta="):
        search.fit(*digits)


# --------------------------------------------------------------------------
# Interruption (Ctrl-C)


def _interrupt_on_call(monkeypatch, k, *, after_work):
    """Make fast.train_epoch raise KeyboardInterrupt on its k-th call,
    after doing the epoch's updates (a Ctrl-C at its very end) or before."""
    real_epoch, calls = fast.train_epoch, []

    def train_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == k:
            if after_work:
                real_epoch(*args, **kwargs)
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(fast, "train_epoch", train_epoch)
    return calls


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("after_work", [False, True], ids=["start", "end"])
@pytest.mark.parametrize("k", [1, 3])
def test_ctrl_c_keeps_the_last_completed_epoch(
    digits, monkeypatch, solver, after_work, k
):
    X, y = digits
    params = {"solver": solver, "eta": 0.01, "momentum": 0.5 if solver == "sgd" else 0}
    _interrupt_on_call(monkeypatch, k, after_work=after_work)
    clf = _small(**params)
    with pytest.raises(KeyboardInterrupt), pytest.warns(
        TrainingInterrupted, match=f"interrupted after {k - 1} completed epoch"
    ):
        clf.fit(X, y)
    monkeypatch.undo()
    assert clf.n_iter_ == k - 1
    assert len(clf.loss_curve_) == k - 1
    if k > 1:
        reference = _small(epochs=k - 1, **params).fit(X, y)
        _assert_same_weights(clf, reference)
        assert clf.loss_curve_ == reference.loss_curve_
        assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    # A fitted, usable model in every case.
    assert clf.predict(X).shape == y.shape
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_training_resumes_exactly_after_ctrl_c(digits, monkeypatch, solver):
    """Interrupted after 2 of 5 epochs, then 3 more with warm_start: the same
    model as 5 uninterrupted epochs (weights, optimiser state, shuffling)."""
    X, y = digits
    params = {"solver": solver, "eta": 0.01, "momentum": 0.5 if solver == "sgd" else 0}
    uninterrupted = _small(**params).fit(X, y)
    _interrupt_on_call(monkeypatch, 3, after_work=True)
    clf = _small(warm_start=True, **params)
    with pytest.raises(KeyboardInterrupt), pytest.warns(
        TrainingInterrupted, match="interrupted after 2 completed"
    ):
        clf.fit(X, y)
    monkeypatch.undo()
    clf.set_params(epochs=3).fit(X, y)
    assert clf.n_iter_ == 3  # the epochs of the last fit
    _assert_same_weights(clf, uninterrupted)
    assert clf.loss_curve_ == uninterrupted.loss_curve_


def test_ctrl_c_during_partial_fit(digits, monkeypatch):
    X, y = digits
    clf = _small().partial_fit(X, y, classes=np.unique(y))
    before = [W.copy() for W in _weights(clf)]
    _interrupt_on_call(monkeypatch, 1, after_work=True)
    with pytest.raises(KeyboardInterrupt), pytest.warns(
        TrainingInterrupted, match="interrupted after 1 completed"
    ):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1
    for W, W0 in zip(_weights(clf), before, strict=True):
        assert_array_equal(W, W0)


def _count_fits(monkeypatch):
    """Record the ``n_iter_`` of every ScratchMLPClassifier.fit as it starts."""
    real_fit, fits = ScratchMLPClassifier.fit, []

    def fit(self, *args, **kwargs):
        fits.append(self.get_params()["eta"])
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(ScratchMLPClassifier, "fit", fit)
    return fits


@pytest.mark.parametrize("n_jobs", [None, 1])
def test_ctrl_c_stops_a_grid_search(digits, monkeypatch, n_jobs):
    """Ctrl-C in the 2nd fit stops GridSearchCV: no later fit runs, no result
    (a fit cut short must not be scored as if it had finished)."""
    X, y = digits
    fits = _count_fits(monkeypatch)
    _interrupt_on_call(monkeypatch, 5 + 2, after_work=False)  # 2nd epoch, 2nd fit
    search = GridSearchCV(_small(), {"eta": [1e-3, 2e-3, 3e-3]},
                          cv=StratifiedKFold(3), n_jobs=n_jobs)
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterrupted):
        search.fit(X, y)
    assert len(fits) == 2
    assert not hasattr(search, "cv_results_")


def test_a_caller_that_catches_the_interruption_keeps_a_usable_model(
    digits, monkeypatch
):
    X, y = digits
    _interrupt_on_call(monkeypatch, 3, after_work=True)
    clf = _small(warm_start=True)
    with pytest.warns(TrainingInterrupted):
        try:
            clf.fit(X, y)
        except KeyboardInterrupt:
            pass
    monkeypatch.undo()
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    reference = _small(epochs=2).fit(X, y)
    assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    # ... and warm-starts from the last completed epoch.
    clf.set_params(epochs=1).fit(X, y)
    _assert_same_weights(clf, _small(epochs=3).fit(X, y))


# --------------------------------------------------------------------------
# Switching between early stopping and not, when training continues


def test_partial_fit_after_an_early_stopping_fit(digits):
    X, y = digits
    clf = _small(early_stopping=True).fit(X, y)
    assert clf.best_loss_ is None
    clf.set_params(early_stopping=False).partial_fit(X, y)
    assert clf.n_iter_ == 6 and np.isfinite(clf.best_loss_)


def test_warm_start_with_early_stopping_after_a_plain_fit(digits):
    X, y = digits
    clf = _small(warm_start=True).fit(X, y)
    assert clf.validation_scores_ is None
    clf.set_params(early_stopping=True, epochs=2).fit(X, y)
    assert len(clf.validation_scores_) == 2
    assert 0 <= clf.best_validation_score_ <= 1


# --------------------------------------------------------------------------
# Determinism


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"solver": "sgd", "momentum": 0.9, "eta": 0.01},
        {"early_stopping": True, "validation_fraction": 0.2},
        {"init": "uniform", "loss": "log_loss", "activation": "tanh"},
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seed_gives_bit_identical_models(digits, params, dtype):
    X, y = digits
    X = X.astype(dtype)
    weights = np.linspace(0.5, 1.5, len(y))
    first = _small(**params).fit(X, y, sample_weight=weights)
    second = _small(**params).fit(X, y, sample_weight=weights)
    _assert_same_weights(first, second)
    assert first.loss_curve_ == second.loss_curve_
    assert first.weight_change_curve_ == second.weight_change_curve_
    # A RandomState object seeded alike gives the same model as the int.
    third = _small(random_state=np.random.RandomState(0), **params)
    _assert_same_weights(first, third.fit(X, y, sample_weight=weights))


def test_another_seed_gives_another_model(digits):
    X, y = digits
    a, b = _small(random_state=0).fit(X, y), _small(random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], b.coefs_[0])


def test_grid_search_is_identical_with_one_or_two_jobs(digits):
    X, y = digits
    grid = {"eta": [1e-3, 1e-2], "hidden_layers": [(8,), (6, 4)]}
    results = []
    for n_jobs in (1, 2):
        search = GridSearchCV(
            _small(epochs=3), grid, cv=StratifiedKFold(3), n_jobs=n_jobs
        )
        with warnings.catch_warnings():
            # Worker processes start with default warning filters.
            warnings.simplefilter("ignore", UserWarning)
            results.append(search.fit(X, y))
    serial, parallel = results
    for key in serial.cv_results_:
        if key.startswith(("split", "mean_test", "std_test", "rank", "param")):
            assert_array_equal(
                np.asarray(serial.cv_results_[key]),
                np.asarray(parallel.cv_results_[key]),
                err_msg=key,
            )
    assert serial.best_params_ == parallel.best_params_
    _assert_same_weights(serial.best_estimator_, parallel.best_estimator_)


# --------------------------------------------------------------------------
# Overflow of the optimiser's state


@pytest.mark.parametrize("alpha", [1e300, 1e200])
def test_an_overflowing_adam_state_is_a_divergence(digits, alpha):
    # Adam's squared gradients overflow: every step would be 0, the weights
    # finite and the cost flat, with no error.
    X, y = digits
    clf = _small(solver="adam", alpha=alpha)
    with pytest.raises(
        ValueError,
        match=r"(?s)Training diverged in epoch 1: Adam's second moments \(v\).*"
              r"alpha=1e\+\d+.*or alpha.*scale the features",
    ):
        clf.fit(X, y)
    # Rolled back: the state of before the failed epoch, all finite.
    assert all(np.isfinite(a).all() for a in clf._optimizer_state["v"])
    assert clf.n_iter_ == 0


def test_a_huge_gradient_that_fits_in_the_state_trains(digits):
    # alpha=1e154 makes gradients of ~1e152, whose squares still fit in a
    # float64: the update must not overflow on the way (an update that scaled
    # v by 1 / (1 - b2) in place did), and training goes on.
    X, y = digits
    clf = _small(solver="adam", alpha=1e154).fit(X, y)
    assert all(np.isfinite(a).all() for a in clf._optimizer_state["v"])
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_an_extreme_sample_weight_trains(digits):
    # Weights of 1e300 and 1e-300 are scaled to mean 1: nothing overflows.
    X, y = digits
    weights = np.full(len(y), 1e-300)
    weights[:10] = 1e300
    clf = _small().fit(X, y, sample_weight=weights)
    assert np.isfinite(clf.loss_curve_).all()
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_non_finite_sgd_velocities_are_a_divergence(digits, monkeypatch):
    X, y = digits
    clf = _small(solver="sgd", momentum=0.9, eta=1e-3, epochs=3)
    train_epoch = fast.train_epoch
    calls = []

    def overflowing_epoch(net, coefs, intercepts, state, *args, **kwargs):
        result = train_epoch(net, coefs, intercepts, state, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            state["velocities"][0][0, 0] = np.inf
        return result

    monkeypatch.setattr(fast, "train_epoch", overflowing_epoch)
    with pytest.raises(ValueError, match="diverged in epoch 2: SGD.s velocities"):
        clf.fit(X, y)
    assert clf.n_iter_ == 1
    assert all(np.isfinite(v).all() for v in clf._optimizer_state["velocities"])


def test_an_ordinary_fit_checks_its_state_without_complaint(digits):
    for solver in ("adam", "sgd"):
        clf = _small(solver=solver, momentum=0.5 if solver == "sgd" else 0.0,
                     eta=1e-3, alpha=1e-3).fit(*digits)
        assert clf.n_iter_ == 5
