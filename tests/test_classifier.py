"""ScratchMLPClassifier as a scikit-learn user meets it."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, train_test_split

from skmlp import ScratchMLPClassifier

SMALL = dict(hidden_layers=(16,), epochs=5, random_state=0)


@pytest.fixture(scope="module")
def digits_pair():
    X, y = load_digits(return_X_y=True)
    keep = np.isin(y, [1, 5])
    return train_test_split(X[keep] / 16, y[keep], random_state=0, stratify=y[keep])


@pytest.fixture(scope="module")
def digits_all():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, random_state=0, stratify=y)


def _weights(clf):
    return clf.coefs_ + clf.intercepts_


def _assert_same_weights(a, b):
    for p, q in zip(_weights(a), _weights(b), strict=True):
        np.testing.assert_array_equal(p, q)


def test_defaults_learn_a_digit_pair(digits_pair):
    X_train, X_test, y_train, y_test = digits_pair
    clf = ScratchMLPClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.98
    # The user's own labels come back, not 0 / 1.
    assert set(clf.predict(X_test)) == {1, 5}
    np.testing.assert_array_equal(clf.classes_, [1, 5])
    assert clf.out_activation_ == "sigmoid" and clf.n_outputs_ == 1
    assert [W.shape for W in clf.coefs_] == [(64, 500), (500, 250), (250, 1)]
    assert len(clf.loss_curve_) == len(clf.weight_change_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_defaults_in_cross_val_score(digits_all):
    X_train, _, y_train, _ = digits_all
    keep = np.isin(y_train, [3, 8])
    scores = cross_val_score(
        ScratchMLPClassifier(random_state=0), X_train[keep], y_train[keep], cv=3
    )
    assert scores.min() > 0.95


def test_softmax_for_ten_classes(digits_all):
    X_train, X_test, y_train, y_test = digits_all
    clf = ScratchMLPClassifier(random_state=0).fit(X_train, y_train)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 10
    assert clf.score(X_test, y_test) >= 0.95
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    predicted = clf.predict(X_test)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)


def test_string_labels_and_binary_probabilities(digits_pair):
    X_train, X_test, y_train, _ = digits_pair
    names = np.where(y_train == 1, "one", "five")
    clf = ScratchMLPClassifier(**SMALL).fit(X_train, names)
    np.testing.assert_array_equal(clf.classes_, ["five", "one"])
    assert set(clf.predict(X_test)) <= {"one", "five"}
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    # Column 1 is the sigmoid output p, column 0 is 1 - p.
    p = clf._forward(X_test)[:, 0]
    np.testing.assert_array_equal(proba[:, 1], p)
    predicted = clf.predict(X_test)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(digits_pair, dtype):
    X_train, X_test, y_train, _ = digits_pair
    clf = ScratchMLPClassifier(**SMALL).fit(X_train.astype(dtype), y_train)
    assert all(p.dtype == dtype for p in _weights(clf))
    assert clf.predict_proba(X_test.astype(dtype)).dtype == dtype


def test_float32_matches_float64_closely(digits_pair):
    X_train, X_test, y_train, _ = digits_pair
    f64 = ScratchMLPClassifier(**SMALL).fit(X_train, y_train)
    f32 = ScratchMLPClassifier(**SMALL).fit(X_train.astype(np.float32), y_train)
    np.testing.assert_allclose(
        f32.predict_proba(X_test), f64.predict_proba(X_test), atol=1e-3
    )


def test_same_random_state_gives_identical_weights(digits_pair):
    X_train, _, y_train, _ = digits_pair
    a = ScratchMLPClassifier(**SMALL).fit(X_train, y_train)
    b = ScratchMLPClassifier(**SMALL).fit(X_train, y_train)
    _assert_same_weights(a, b)
    assert a.loss_curve_ == b.loss_curve_
    c = ScratchMLPClassifier(**{**SMALL, "random_state": 1}).fit(X_train, y_train)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_clone_and_params():
    clf = ScratchMLPClassifier(hidden_layers=(8, 4), eta=0.01, solver="sgd")
    params = clf.get_params()
    assert params["hidden_layers"] == (8, 4) and params["eta"] == 0.01
    copy = clone(clf)
    assert copy.get_params() == params and copy is not clf
    clf.set_params(eta=0.5, batch_size=10)
    assert clf.eta == 0.5 and clf.batch_size == 10 and copy.eta == 0.01


def test_warm_start_continues_where_fit_stopped(digits_pair):
    X_train, _, y_train, _ = digits_pair
    # A constant eta: the cosine schedule starts anew with each fit.
    params = dict(SMALL, tol=0.0, n_iter_no_change=100, learning_rate="constant")
    straight = ScratchMLPClassifier(**{**params, "epochs": 5}).fit(X_train, y_train)
    warm = ScratchMLPClassifier(**{**params, "epochs": 3, "warm_start": True})
    warm.fit(X_train, y_train)
    warm.set_params(epochs=2).fit(X_train, y_train)
    # n_iter_ counts the last fit's epochs (scikit-learn's rule); the curves and
    # the shuffling go on over both fits.
    assert warm.n_iter_ == 2
    _assert_same_weights(warm, straight)
    np.testing.assert_allclose(warm.loss_curve_, straight.loss_curve_)


def test_warm_start_takes_weights_in_fortran_order(digits_pair):
    # Weights set by hand or loaded may be in another memory order than the
    # one the fast engine updates in place: training goes on all the same.
    X_train, _, y_train, _ = digits_pair
    params = dict(SMALL, tol=0.0, n_iter_no_change=100, learning_rate="constant")
    straight = ScratchMLPClassifier(**{**params, "epochs": 3}).fit(X_train, y_train)
    warm = ScratchMLPClassifier(**{**params, "epochs": 2, "warm_start": True})
    warm.fit(X_train, y_train)
    warm.coefs_ = [np.asfortranarray(W) for W in warm.coefs_]
    warm._optimizer_state["m"] = [np.asfortranarray(m)
                                  for m in warm._optimizer_state["m"]]
    assert not warm.coefs_[0].flags.c_contiguous
    warm.set_params(epochs=1).fit(X_train, y_train)
    _assert_same_weights(warm, straight)


def test_partial_fit_runs_one_epoch_each_call(digits_pair):
    X_train, _, y_train, _ = digits_pair
    # partial_fit takes eta as it is; fit anneals it unless told otherwise.
    params = dict(SMALL, tol=0.0, n_iter_no_change=100, learning_rate="constant")
    straight = ScratchMLPClassifier(**{**params, "epochs": 3}).fit(X_train, y_train)
    steps = ScratchMLPClassifier(**params)
    steps.partial_fit(X_train, y_train, classes=[1, 5])
    steps.partial_fit(X_train, y_train)
    steps.partial_fit(X_train, y_train)
    assert steps.n_iter_ == 3
    _assert_same_weights(steps, straight)
    with pytest.raises(ValueError, match="labels not seen"):
        steps.partial_fit(X_train, np.where(y_train == 1, 7, 5))


def _etas_of_each_epoch(monkeypatch):
    from skmlp.nn import fast

    etas, real = [], fast.train_epoch

    def spy(*args, **kwargs):
        etas.append(kwargs["eta"])
        return real(*args, **kwargs)

    monkeypatch.setattr(fast, "train_epoch", spy)
    return etas


def test_cosine_schedule_anneals_eta_over_the_epochs(digits_pair, monkeypatch):
    X_train, _, y_train, _ = digits_pair
    etas = _etas_of_each_epoch(monkeypatch)
    params = dict(SMALL, eta=0.01, epochs=4, tol=0.0, n_iter_no_change=100,
                  learning_rate="cosine")
    ScratchMLPClassifier(**params).fit(X_train, y_train)
    cosine = [0.01 * (1 + np.cos(np.pi * e / 4)) / 2 for e in range(4)]
    np.testing.assert_allclose(etas, cosine, rtol=1e-15)  # 0.01, 0.0085, 0.005, ...
    # warm_start anneals anew over each fit's epochs; partial_fit takes eta.
    etas.clear()
    warm = ScratchMLPClassifier(**{**params, "epochs": 2, "warm_start": True})
    warm.fit(X_train, y_train).fit(X_train, y_train)
    warm.partial_fit(X_train, y_train)
    np.testing.assert_allclose(etas, [0.01, 0.005, 0.01, 0.005, 0.01], rtol=1e-15)
    etas.clear()
    constant = ScratchMLPClassifier(**{**params, "learning_rate": "constant"})
    constant.fit(X_train, y_train)
    assert etas == [0.01] * 4
    assert ScratchMLPClassifier().learning_rate == "cosine"


def test_without_warm_start_fit_starts_afresh(digits_pair):
    X_train, _, y_train, _ = digits_pair
    clf = ScratchMLPClassifier(**SMALL).fit(X_train, y_train)
    first = [p.copy() for p in _weights(clf)]
    clf.fit(X_train, y_train)
    for p, q in zip(first, _weights(clf)):
        np.testing.assert_array_equal(p, q)
    assert clf.n_iter_ == SMALL["epochs"]


def test_early_stopping_restores_the_best_epoch(digits_all):
    X_train, _, y_train, _ = digits_all
    params = dict(
        hidden_layers=(16,), solver="sgd", eta=0.05, batch_size=32, epochs=40,
        early_stopping=True, n_iter_no_change=3, tol=0.0, random_state=0,
        learning_rate="constant",  # the same eta in every epoch of both fits
    )
    clf = ScratchMLPClassifier(**params).fit(X_train, y_train)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ and clf.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores)) + 1
    assert clf.n_iter_ > best_epoch  # it went on, then stepped back
    # The kept weights are those of the best epoch, not of the last one.
    reference = ScratchMLPClassifier(**{**params, "epochs": best_epoch})
    reference.fit(X_train, y_train)
    _assert_same_weights(clf, reference)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sample_weight(digits_pair):
    X_train, _, y_train, _ = digits_pair
    X, y = X_train[:60], y_train[:60]
    full_batch = dict(hidden_layers=(8,), solver="sgd", eta=0.01, batch_size=200,
                      shuffle=False, epochs=3, tol=0.0, random_state=0)
    plain = ScratchMLPClassifier(**full_batch).fit(X, y)
    ones = ScratchMLPClassifier(**full_batch).fit(X, y, sample_weight=np.ones(60))
    _assert_same_weights(plain, ones)
    # In one full batch, a weight of 2 is the sample twice.  The weights are
    # scaled to mean 1, so the weighted cost is 60 / 80 of the doubled data's:
    # eta * 80 / 60 takes the same steps.
    weights = np.where(np.arange(60) < 20, 2.0, 1.0)
    weighted = ScratchMLPClassifier(**{**full_batch, "eta": 0.01 * 80 / 60}).fit(
        X, y, sample_weight=weights
    )
    doubled = ScratchMLPClassifier(**full_batch).fit(
        np.vstack([X, X[:20]]), np.concatenate([y, y[:20]])
    )
    for p, q in zip(_weights(weighted), _weights(doubled)):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-12)


def test_verbose_shows_a_progress_bar(digits_pair, capsys):
    X_train, _, y_train, _ = digits_pair
    ScratchMLPClassifier(**SMALL).fit(X_train, y_train)
    assert capsys.readouterr().err == ""
    ScratchMLPClassifier(**SMALL, verbose=1).fit(X_train, y_train)
    err = capsys.readouterr().err
    assert "Training" in err and "5/5" in err and "cost=" in err


def test_divergence_is_an_error_naming_eta(digits_pair):
    X_train, X_test, y_train, _ = digits_pair
    clf = ScratchMLPClassifier(
        hidden_layers=(16,), loss="log_loss", solver="sgd", eta=1e30, random_state=0
    )
    with pytest.raises(ValueError, match=r"eta=1e\+30.*smaller eta"):
        clf.fit(X_train.astype(np.float32), y_train)


def test_saturated_collapse_warns_naming_eta():
    # The notebook's setting: U[-1, 1] weights on 784 inputs saturate the
    # sigmoid output, the squared-error gradient vanishes, one class is left.
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (1200, 784))
    y = (X[:, :392].sum(axis=1) > X[:, 392:].sum(axis=1)).astype(int)
    collapsed = 0
    for seed in range(4):
        clf = ScratchMLPClassifier(
            init="uniform", solver="sgd", eta=0.01, batch_size=1000, epochs=3,
            random_state=seed,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
        messages = [str(w.message) for w in caught
                    if issubclass(w.category, ConvergenceWarning)]
        if len(np.unique(clf.predict(X))) == 1:
            collapsed += 1
            assert len(messages) == 1
            assert "single class" in messages[0] and "eta=0.01" in messages[0]
        else:
            assert messages == []
    assert collapsed >= 1  # most seeds collapse, as in the notebook
    # The default initialisation learns the same problem (slowly: 1200 noisy
    # samples of 784 features, hence 40 epochs).
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        good = ScratchMLPClassifier(hidden_layers=(32,), epochs=40,
                                    random_state=1).fit(X, y)
    assert good.score(X, y) > 0.9


def test_collapse_check_runs_few_rows_unless_one_class_is_predicted(monkeypatch):
    # A network that predicts two classes on a few rows (one of each class
    # among them) has not collapsed: the check stops there.  Otherwise it
    # decides on the first 2000 rows, as the warning test above checks.
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (3000, 20))
    y = (X[:, 0] > X[:, 1]).astype(int)
    clf = ScratchMLPClassifier(hidden_layers=(8,), epochs=30, random_state=0)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.8
    rows = []
    forward = clf._forward
    monkeypatch.setattr(clf, "_forward", lambda X: rows.append(len(X)) or forward(X))
    clf._warn_if_collapsed(X, y)
    assert rows == [64]
    rows.clear()
    clf.coefs_[-1][:] = 0
    clf.intercepts_[-1][:] = 30.0  # saturated: class 1 for every sample
    with pytest.warns(ConvergenceWarning, match="single class"):
        clf._warn_if_collapsed(X, y)
    assert rows == [64, 2000]


def test_coefs_are_read_by_predict(digits_pair):
    X_train, X_test, y_train, _ = digits_pair
    clf = ScratchMLPClassifier(**SMALL).fit(X_train, y_train)
    clf.coefs_[-1][:] = 0
    clf.intercepts_[-1][:] = 10.0  # the output now says class 1 (= label 5)
    assert set(clf.predict(X_test)) == {5}


# --------------------------------------------------------------------------
# Parity with scikit-learn's MLPClassifier and its clients


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_only_the_ratios_of_sample_weights_count(digits_pair, solver):
    X_train, _, y_train, _ = digits_pair
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y_train))
    params = dict(SMALL, solver=solver, eta=0.01, alpha=1e-3, batch_size=32)
    model = ScratchMLPClassifier(**params).fit(X_train, y_train, weights)
    # A power of 2 scales without rounding: bit-identical models.
    exact = ScratchMLPClassifier(**params).fit(X_train, y_train, weights / 1024)
    _assert_same_weights(exact, model)
    assert exact.loss_curve_ == model.loss_curve_
    # AdaBoost's weights, which sum to 1: the same model but for rounding.
    summing_to_one = ScratchMLPClassifier(**params).fit(
        X_train, y_train, weights / weights.sum()
    )
    for p, q in zip(_weights(summing_to_one), _weights(model), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)


def test_adaboost_with_an_sgd_base_learner_learns():
    from sklearn.ensemble import AdaBoostClassifier

    X, y = load_digits(n_class=2, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, random_state=0, stratify=y
    )
    base = ScratchMLPClassifier(
        hidden_layers=(16,), solver="sgd", eta=0.001, learning_rate="constant",
        batch_size=32, random_state=0,
    )
    boost = AdaBoostClassifier(base, n_estimators=3, random_state=0)
    boost.fit(X_train, y_train)
    # Its first learner had the weights 1 / n: the unweighted model exactly.
    first = boost.estimators_[0]
    _assert_same_weights(first, clone(first).fit(X_train, y_train))
    assert boost.score(X_test, y_test) > 0.95  # 0.79 when weights summing to 1
    # made each step n times smaller


def test_n_iter_counts_the_epochs_of_the_last_fit(digits_pair, monkeypatch):
    from skmlp.nn import fast

    X_train, _, y_train, _ = digits_pair
    orders, real = [], fast.train_epoch

    def spy(*args, **kwargs):
        orders.append(kwargs["order"].copy())
        return real(*args, **kwargs)

    monkeypatch.setattr(fast, "train_epoch", spy)
    params = dict(SMALL, epochs=3, tol=0.0, n_iter_no_change=100, warm_start=True)
    clf = ScratchMLPClassifier(**params).fit(X_train, y_train)
    clf.fit(X_train, y_train)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6
    # The second fit shuffles anew, not as the first one did.
    for first, second in zip(orders[:3], orders[3:], strict=True):
        assert not np.array_equal(first, second)
    # partial_fit counts its calls on top.
    clf.partial_fit(X_train, y_train)
    clf.partial_fit(X_train, y_train)
    assert clf.n_iter_ == 5
    assert not any(np.array_equal(orders[-1], order) for order in orders[:-1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("n_iter_no_change", [1, 3])
def test_stops_after_as_many_epochs_as_mlpclassifier(
    digits_pair, early_stopping, n_iter_no_change
):
    from sklearn.neural_network import MLPClassifier

    X_train, _, y_train, _ = digits_pair
    # No epoch but the first improves by tol: both stop by their counting rule.
    common = dict(tol=1e9, n_iter_no_change=n_iter_no_change, random_state=0,
                  early_stopping=early_stopping, validation_fraction=0.2)
    theirs = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, **common)
    ours = ScratchMLPClassifier(hidden_layers=(8,), epochs=20, **common)
    theirs.fit(X_train, y_train)
    ours.fit(X_train, y_train)
    assert ours.n_iter_ == theirs.n_iter_ == n_iter_no_change + 2


def test_n_iter_no_change_may_be_infinite(digits_pair):
    X_train, _, y_train, _ = digits_pair
    clf = ScratchMLPClassifier(**{**SMALL, "epochs": 6}, tol=1e9,
                               n_iter_no_change=np.inf)
    assert clf.fit(X_train, y_train).n_iter_ == 6


@pytest.mark.parametrize("solvers", [("sgd", "adam"), ("adam", "sgd")])
def test_another_solver_continues_with_a_fresh_optimiser_state(digits_pair, solvers):
    X_train, _, y_train, _ = digits_pair
    first, second = solvers
    clf = ScratchMLPClassifier(**SMALL, solver=first, eta=0.01, warm_start=True)
    clf.fit(X_train, y_train)
    clf.set_params(solver=second).fit(X_train, y_train)
    n_batches = -(-len(X_train) // clf.batch_size)
    if second == "adam":
        assert clf._optimizer_state["t"] == SMALL["epochs"] * n_batches
    else:
        assert set(clf._optimizer_state) == {"velocities"}
    clf.set_params(solver=first).partial_fit(X_train, y_train)
    if first == "adam":
        assert clf._optimizer_state["t"] == n_batches
    assert clf.score(X_train, y_train) > 0.9


def _collapse_warning(clf, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf._warn_if_collapsed(X, y)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1
    return messages[0]


def test_collapse_warning_names_the_cause_measured_on_the_network(digits_pair):
    X_train, _, y_train, _ = digits_pair
    y_index = (y_train == 5).astype(int)
    clf = ScratchMLPClassifier(**SMALL, eta=0.01).fit(X_train, y_train)
    clf.coefs_[-1][:] = 0
    clf.intercepts_[-1][:] = 0.3  # p = 0.57 for every sample: not saturated
    message = _collapse_warning(clf, X_train, y_index)
    assert "single class 5" in message and "not learned yet" in message
    assert "more epochs" in message and "eta=" not in message
    clf.intercepts_[-1][:] = 30.0  # saturated
    message = _collapse_warning(clf, X_train, y_index)
    assert "saturated, so the gradient vanished" in message and "eta=0.01" in message
    clf.coefs_[0][:] = 0
    clf.intercepts_[0][:] = -1.0  # every ReLU unit of hidden layer 1 outputs 0
    message = _collapse_warning(clf, X_train, y_index)
    assert "every unit of hidden layer 1 outputs 0" in message
    assert "step was too large" in message and "eta=0.01" in message


def test_collapse_under_log_loss_warns():
    # A step too large kills every ReLU unit: the output is constant but far
    # from saturated, 49 % on the training data.
    X, y = load_digits(n_class=2, return_X_y=True)
    clf = ScratchMLPClassifier(
        hidden_layers=(100,), solver="sgd", eta=0.2, loss="log_loss",
        learning_rate="constant", batch_size=200, random_state=1,
    )
    with pytest.warns(ConvergenceWarning, match="hidden layer 1 outputs 0"):
        clf.fit(X / 16, y)
    assert len(np.unique(clf.predict(X / 16))) == 1
