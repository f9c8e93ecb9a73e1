"""scikit-learn's own callbacks (sklearn.callback) on ScratchMLPClassifier:
one task per epoch, a stop request honoured, propagation from GridSearchCV and
Pipeline, and the estimator still clones and pickles with callbacks set."""

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

from skmlp import ScratchMLPClassifier


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
