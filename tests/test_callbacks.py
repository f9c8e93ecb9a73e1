"""scikit-learn's own callbacks (sklearn.callback) on ScratchMLPClassifier:
one task per epoch, a stop request honoured, propagation from GridSearchCV and
Pipeline, and the estimator still clones and pickles with callbacks set; and
skmlp's own LayerMonitor."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.callback import ProgressBar, ScoringMonitor
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from skmlp import LayerMonitor, ScratchMLPClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=2, return_X_y=True)
    return X[:200] / 16, y[:200]


def _clf(**params):
    return ScratchMLPClassifier(**{"hidden_layers": (8,), "epochs": 5, "eta": 0.01,
                                   "random_state": 0, **params})


def _epoch_rows(monitor):
    return [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]


def test_scoring_monitor_logs_one_row_per_epoch(digits):
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _clf(n_iter_no_change=np.inf).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = _epoch_rows(monitor)
    assert len(epochs) == clf.n_iter_ == 5
    assert len(rows) == 6  # and one for the whole fit
    assert [row["task_id"] for row in epochs] == list(range(5))
    # Each row scores the weights of the end of its epoch: the last one the
    # fitted model's.
    assert epochs[-1]["accuracy"] == clf.score(X, y)
    accuracies = [row["accuracy"] for row in epochs]
    assert accuracies[-1] > 0.9 and len(set(accuracies)) > 1


class _StopAfter(ScoringMonitor):
    """scikit-learn's ScoringMonitor, asking to stop after a given epoch."""

    def __init__(self, epochs):
        super().__init__(scoring="accuracy")
        self.epochs = epochs

    def on_fit_task_end(self, estimator, context, **kwargs):
        super().on_fit_task_end(estimator, context, **kwargs)
        return context.task_name == "epoch" and context.task_id + 1 >= self.epochs


def test_a_callback_that_asks_to_stop_stops_after_that_epoch(digits):
    X, y = digits
    clf = _clf(epochs=10, n_iter_no_change=np.inf).set_callbacks(_StopAfter(3))
    clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3


def test_a_scoring_monitor_on_the_estimator_of_a_grid(digits):
    # ScoringMonitor is not auto-propagated: it goes on the estimator, which
    # the grid clones with its callbacks.
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    grid = GridSearchCV(_clf(n_iter_no_change=np.inf).set_callbacks(monitor),
                        {"eta": [0.003, 0.01]}, cv=2, refit=False).fit(X, y)
    [log] = monitor.get_logs(select="all")  # one run: the grid's fit
    assert log.estimator_name == "GridSearchCV"
    assert len(log.data) == 2 * 2 * (5 + 1)  # 2 candidates x 2 folds
    epochs = [row for row in log.data if row["task_name"] == "epoch"]
    assert len(epochs) == 2 * 2 * 5
    assert len({row["parent_task_id_path"] for row in epochs}) == 4
    assert len(grid.cv_results_["params"]) == 2


def _bar_lines(out):
    return [line for line in out.splitlines() if "━" in line]


def test_progress_bar_propagated_from_a_grid_and_a_pipeline(digits, capsys):
    X, y = digits
    GridSearchCV(_clf(n_iter_no_change=np.inf), {"eta": [0.003, 0.01]}, cv=2,
                 refit=False).set_callbacks(ProgressBar(max_propagation_depth=None)
                                            ).fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out and "ScratchMLPClassifier - fit" in out
    pipe = make_pipeline(MinMaxScaler(), _clf(n_iter_no_change=np.inf))
    pipe.set_callbacks(ProgressBar()).fit(X, y)
    out = capsys.readouterr().out
    assert "Pipeline - fit" in out and "ScratchMLPClassifier - fit" in out


def test_a_scoring_monitor_in_a_pipeline(digits):
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    make_pipeline(MinMaxScaler(),
                  _clf(n_iter_no_change=np.inf).set_callbacks(monitor)).fit(X, y)
    assert len(_epoch_rows(monitor)) == 5


def test_progress_bar_counts_epochs(digits, capsys):
    X, y = digits
    clf = _clf(n_iter_no_change=np.inf).set_callbacks(ProgressBar()).fit(X, y)
    assert clf.n_iter_ == 5
    assert "ScratchMLPClassifier - fit" in capsys.readouterr().out


def test_verbose_keeps_its_tqdm_bar_beside_them(digits, capsys):
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    _clf(verbose=1, n_iter_no_change=np.inf).set_callbacks(monitor).fit(X, y)
    assert "Training" in capsys.readouterr().err  # tqdm writes to stderr
    assert len(_epoch_rows(monitor)) == 5


def test_partial_fit_is_one_epoch(digits):
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _clf().set_callbacks(monitor)
    clf.partial_fit(X, y, classes=[0, 1])
    assert len(_epoch_rows(monitor)) == 1


def test_clone_and_pickle_with_callbacks_set(digits):
    X, y = digits
    monitor = ScoringMonitor(scoring="accuracy")
    clf = _clf().set_callbacks(monitor)
    cloned = clone(clf)
    assert cloned._skl_callbacks == [monitor]
    fitted = clf.fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    assert len(restored._skl_callbacks) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        restored.fit(X, y)  # the restored callbacks still work
    assert len(_epoch_rows(restored._skl_callbacks[0])) == 5
    # Nothing of a fit's callback context is left on the model.
    assert not hasattr(fitted, "_callback_fit_ctx")


# ---------------------------------------------------------------- LayerMonitor


class _WeightRecorder:
    """Copies of the weights at the start of the first epoch and at the end of
    every epoch: an oracle for LayerMonitor's update ratios."""

    def __init__(self):
        self.coefs = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.task_name == "epoch" and not self.coefs:
            self.coefs.append([W.copy() for W in estimator.coefs_])

    def on_fit_task_end(self, estimator, context):
        if context.task_name == "epoch":
            self.coefs.append([W.copy() for W in estimator.coefs_])


def _cost(coefs, intercepts, X, T, alpha):
    """The batch cost, written again here: ReLU hidden layers, a sigmoid
    output, 1/2 sum of squared errors and the L2 penalty."""
    Y = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        Y = np.maximum(Y @ W + b, 0)
    out = 1 / (1 + np.exp(-(Y @ coefs[-1] + intercepts[-1])))
    return 0.5 * np.sum((out - T) ** 2) + alpha / 2 * sum(np.sum(W**2) for W in coefs)


def test_layer_monitor_records_one_entry_per_epoch_and_one_value_per_layer(digits):
    X, y = digits
    monitor = LayerMonitor()
    clf = _clf(hidden_layers=(8, 4), n_iter_no_change=np.inf)
    clf.set_callbacks(monitor).fit(X, y)
    history = monitor.history_
    assert [entry["epoch"] for entry in history] == [1, 2, 3, 4, 5] == list(
        range(1, clf.n_iter_ + 1))
    for entry in history:
        for key in ("weight_norm", "grad_norm", "update_ratio"):
            assert len(entry[key]) == 3  # two hidden layers and the output
        assert len(entry["dead_share"]) == 2  # the hidden layers only
    assert [entry["loss"] for entry in history] == clf.loss_curve_
    assert len(monitor.histories_) == 1
    assert monitor.histories_[0].layer_sizes == (64, 8, 4, 1)
    assert monitor.histories_[0].params["eta"] == clf.eta


def test_layer_monitor_weight_norms_are_those_of_the_fitted_coefs(digits):
    X, y = digits
    monitor = LayerMonitor()
    clf = _clf(hidden_layers=(8, 4)).set_callbacks(monitor).fit(X, y)
    np.testing.assert_allclose(monitor.history_[-1]["weight_norm"],
                               [np.linalg.norm(W) for W in clf.coefs_], rtol=1e-12)
    # And they change from epoch to epoch.
    assert monitor.history_[0]["weight_norm"] != monitor.history_[-1]["weight_norm"]


def test_layer_monitor_update_ratio_matches_weights_recorded_independently(digits):
    X, y = digits
    monitor, recorder = LayerMonitor(), _WeightRecorder()
    clf = _clf(hidden_layers=(8, 4), n_iter_no_change=np.inf)
    clf.set_callbacks(monitor, recorder).fit(X, y)
    assert len(recorder.coefs) == 6
    for e, entry in enumerate(monitor.history_, start=1):
        expected = [np.linalg.norm(W - W_prev) / np.linalg.norm(W_prev)
                    for W, W_prev in zip(recorder.coefs[e], recorder.coefs[e - 1])]
        np.testing.assert_allclose(entry["update_ratio"], expected, rtol=1e-10)
        assert all(ratio > 1e-6 for ratio in entry["update_ratio"])


def test_layer_monitor_update_ratio_is_zero_for_a_tiny_eta(digits):
    X, y = digits
    monitor = LayerMonitor()
    _clf(solver="sgd", eta=1e-14).set_callbacks(monitor).fit(X, y)
    assert np.max([entry["update_ratio"] for entry in monitor.history_]) < 1e-10


def test_layer_monitor_gradient_norms_match_central_differences(digits):
    # The probe covers every sample, so the gradient is the whole batch's,
    # checked against central differences of a cost written again here.
    X, y = digits
    X, y = X[:40], y[:40]
    monitor = LayerMonitor(probe_size=1000)
    clf = _clf(hidden_layers=(3,), alpha=0.1, epochs=2)
    clf.set_callbacks(monitor).fit(X, y)
    T = (y == clf.classes_[1]).astype(float).reshape(-1, 1)
    h = 1e-6
    for layer, W in enumerate(clf.coefs_):
        grad = np.zeros_like(W)
        for index in np.ndindex(W.shape):
            cost = []
            for step in (h, -h):
                coefs = [C.copy() for C in clf.coefs_]
                coefs[layer][index] += step
                cost.append(_cost(coefs, clf.intercepts_, X, T, clf.alpha))
            grad[index] = (cost[0] - cost[1]) / (2 * h)
        np.testing.assert_allclose(monitor.history_[-1]["grad_norm"][layer],
                                   np.linalg.norm(grad), rtol=1e-5)


def test_layer_monitor_dead_share_of_a_layer_forced_dead_and_of_a_healthy_one(digits):
    X, y = digits
    clf = _clf(hidden_layers=(8, 6), solver="sgd", eta=1e-12, warm_start=True,
               alpha=0.0).fit(X, y)
    # No sample gets past the first layer; every unit of the second is on.
    clf.intercepts_[0][:] = -1e3
    clf.intercepts_[1][:] = 1e3
    monitor = LayerMonitor()
    clf.set_callbacks(monitor).fit(X, y)
    for entry in monitor.history_:
        assert entry["dead_share"] == [1.0, 0.0]
        # No gradient reaches the weights below a dead layer.
        assert entry["grad_norm"][0] == 0.0


def test_layer_monitor_dead_share_counts_units_silent_on_every_probe_sample(digits):
    X, y = digits
    monitor = LayerMonitor(probe_size=1000)  # the probe is all of X
    clf = _clf(hidden_layers=(12,), epochs=2).set_callbacks(monitor).fit(X, y)
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    dead = np.mean(np.all(hidden == 0, axis=0))
    assert monitor.history_[-1]["dead_share"] == [pytest.approx(dead)]


def test_layer_monitor_probe_is_a_fixed_sample_of_the_training_data(digits):
    X, y = digits
    small, large = LayerMonitor(probe_size=10), LayerMonitor(probe_size=1000)
    _clf().set_callbacks(small).fit(X, y)
    _clf().set_callbacks(large).fit(X, y)
    # The summed cost's gradient grows with the number of samples it sums.
    assert small.history_[0]["grad_norm"][0] < large.history_[0]["grad_norm"][0]
    again = LayerMonitor(probe_size=10)
    _clf().set_callbacks(again).fit(X, y)
    assert again.history_ == small.history_


def test_layer_monitor_set_on_a_pipeline(digits):
    X, y = digits
    monitor = LayerMonitor()
    pipe = make_pipeline(MinMaxScaler(), _clf(n_iter_no_change=np.inf))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MinMaxScaler has none
        pipe.set_callbacks(monitor).fit(X * 16, y)
    [record] = monitor.histories_
    assert record.task_path[0] == ("Pipeline", "fit", 0)
    assert len(record.epochs) == 5
    np.testing.assert_allclose(record.epochs[-1]["weight_norm"],
                               [np.linalg.norm(W) for W in pipe[-1].coefs_])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_layer_monitor_propagated_from_a_grid_search_one_record_per_fit(
        digits, n_jobs):
    X, y = digits
    monitor = LayerMonitor()
    grid = GridSearchCV(_clf(epochs=3, n_iter_no_change=np.inf),
                        {"eta": [0.003, 0.01]}, cv=2, n_jobs=n_jobs)
    grid.set_callbacks(monitor).fit(X, y)
    records = monitor.histories_
    assert len(records) == 2 * 2 + 1  # 2 candidates x 2 folds, and the refit
    assert all(len(record.epochs) == 3 for record in records)
    assert sorted(record.params["eta"] for record in records[:4]) == [
        0.003, 0.003, 0.01, 0.01]
    assert len({record.task_path for record in records}) == 5
    # The refit is the last fit to end: the best estimator's weights.
    [refit] = [record for record in records if len(record.task_path) == 2]
    assert refit.params["eta"] == grid.best_params_["eta"]
    np.testing.assert_allclose(refit.epochs[-1]["weight_norm"],
                               [np.linalg.norm(W) for W in grid.best_estimator_.coefs_])


def test_layer_monitor_on_a_classifier_inside_a_grid_is_refused(digits):
    X, y = digits
    # It is auto-propagated, as ProgressBar is: scikit-learn asks for it on
    # the grid.
    grid = GridSearchCV(_clf().set_callbacks(LayerMonitor()), {"eta": [0.01]}, cv=2,
                        error_score="raise")
    with pytest.raises(TypeError, match="Register them directly on the meta"):
        grid.fit(X, y)


def test_layer_monitor_one_record_per_partial_fit_and_to_frame(digits):
    X, y = digits
    monitor = LayerMonitor()
    clf = _clf(hidden_layers=(8, 4)).set_callbacks(monitor)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)
    assert [len(record.epochs) for record in monitor.histories_] == [1, 1]
    pytest.importorskip("pandas")
    frame = monitor.to_frame()
    assert len(frame) == 2 * 3  # two fits of one epoch, three layers each
    assert list(frame["layer"]) == [1, 2, 3, 1, 2, 3]
    assert frame["dead_share"].isna().tolist() == [False, False, True] * 2
    last = frame[frame["fit"] == 1]
    np.testing.assert_allclose(last["weight_norm"],
                               [np.linalg.norm(W) for W in clf.coefs_])


def test_layer_monitor_before_any_fit_and_bad_parameters():
    with pytest.raises(AttributeError, match="recorded no fit yet"):
        _ = LayerMonitor().history_
    with pytest.raises(InvalidParameterError, match="probe_size"):
        LayerMonitor(probe_size=0)


def test_layer_monitor_pickles_with_its_records(digits):
    X, y = digits
    monitor = LayerMonitor()
    _clf().set_callbacks(monitor).fit(X, y)
    restored = pickle.loads(pickle.dumps(monitor))
    assert restored.history_ == monitor.history_
    _clf(epochs=2).set_callbacks(restored).fit(X, y)
    assert [len(record.epochs) for record in restored.histories_] == [5, 2]
    assert len(monitor.histories_) == 1  # the original is left alone


def test_plot_layer_monitor_draws_one_line_per_layer(digits):
    from skmlp.plotting import plot_layer_monitor

    X, y = digits
    monitor = LayerMonitor()
    _clf(hidden_layers=(8, 4), n_iter_no_change=np.inf).set_callbacks(monitor).fit(X, y)
    axes = plot_layer_monitor(monitor)
    assert len(axes) == 4
    history = monitor.history_
    for ax, key, n_lines in zip(axes, ["weight_norm", "grad_norm", "update_ratio",
                                       "dead_share"], [3, 3, 3, 2]):
        lines = ax.get_lines()
        assert len(lines) == n_lines
        assert [line.get_label() for line in lines] == [
            f"layer {i}" for i in range(1, n_lines + 1)]
        assert ax.get_legend() is not None and ax.get_xlabel() == "Epoch"
        np.testing.assert_array_equal(lines[-1].get_xdata(), [1, 2, 3, 4, 5])
        np.testing.assert_allclose(lines[-1].get_ydata(),
                                   [entry[key][-1] for entry in history])
    assert [ax.get_yscale() for ax in axes] == ["log", "log", "log", "linear"]
    with pytest.raises(ValueError, match="four Axes"):
        plot_layer_monitor(monitor, axes=axes[:2])
    with pytest.raises(ValueError, match="recorded a fit"):
        plot_layer_monitor(LayerMonitor())
