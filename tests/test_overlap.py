"""The fast engine's helper thread (``skmlp.nn._overlap``): the same weights
bit for bit with and without it, whichever thread runs each task; tasks in
order; errors surfaced; given up when it keeps the fit waiting; used only
where it can pay."""

import sys
import threading
import time
from concurrent.futures import Future

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from threadpoolctl import threadpool_limits

from skmlp import ScratchMLPClassifier
from skmlp.nn import _blas, _overlap

# Batches of 64 rows through 48 -> 64 units: 64 * 48 * 64 = 196,608 < 2**20
# multiply-adds above the first layer, so (64, 256) hidden units are needed
# for a task: 64 * 64 * 256 = 2**20.
HIDDEN, BATCH = (64, 256), 64


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 48)).astype(np.float32)
    X[X < 1.0] = 0  # 16 % nonzero: trains as CSR
    y = (X[:, :24].sum(axis=1) > X[:, 24:].sum(axis=1)).astype(int)
    return X, y


@pytest.fixture
def two_cores(monkeypatch):
    """A machine with two cores whose BLAS may use both."""
    monkeypatch.setattr(_overlap, "_cores", lambda: 2)
    monkeypatch.setattr(_overlap, "_others_busy", lambda cores: False)
    monkeypatch.setattr(_blas, "blas_threads", lambda: 2)


@pytest.fixture
def helpers(monkeypatch):
    """The helpers made, each with the tasks it was given."""
    made, real = [], _overlap.Helper

    class Recorded(real):
        def __init__(self):
            super().__init__()
            made.append(self)

    monkeypatch.setattr(_overlap, "Helper", Recorded)
    return made


def _fit(X, y, **params):
    params = {"hidden_layers": HIDDEN, "batch_size": BATCH, "epochs": 3,
              "random_state": 0, **params}
    return ScratchMLPClassifier(**params).fit(X, y)


def _assert_same_weights(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_,
                    strict=True):
        assert_array_equal(p, q)
    assert a.loss_curve_ == b.loss_curve_
    assert a.weight_change_curve_ == b.weight_change_curve_


@pytest.mark.parametrize("params", [
    {},
    {"solver": "sgd", "momentum": 0.9, "eta": 0.001},
    {"solver": "sgd", "momentum": 0.0, "eta": 0.002},
    {"alpha": 1e-3},
    {"dropout": 0.2},
    {"loss": "log_loss", "activation": "tanh", "hidden_layers": (64, 256, 64)},
], ids=["adam", "momentum", "sgd", "alpha", "dropout", "three-hidden"])
@pytest.mark.parametrize("form", ["mostly-zeros", "csr-given", "dense"])
def test_the_helper_changes_no_bit(data, two_cores, helpers, monkeypatch, params,
                                   form):
    X, y = data
    if form == "csr-given":
        X = sparse.csr_array(X)
    elif form == "dense":  # through the BLAS, with blank columns
        X = X + 1.0
        X[:, :8] = 0
    with_helper = _fit(X, y, **params)
    assert helpers and all(h.submitted for h in helpers), "no helper was used"
    n_helpers = len(helpers)
    monkeypatch.setattr(_blas, "blas_threads", lambda: 1)  # a one-thread limit
    alone = _fit(X, y, **params)
    assert len(helpers) == n_helpers, "a helper inside a one-thread limit"
    _assert_same_weights(with_helper, alone)


def test_busy_cores_are_told_from_the_cpu_time_of_other_processes(monkeypatch):
    # (wall clock, the machine's busy CPU seconds, this process's)
    readings = iter([(0.0, 100.0, 10.0), (1.0, 101.9, 11.0),  # others: 0.9 s
                     (2.0, 103.2, 12.0),  # others 0.3 s of 1 s
                     (2.01, 103.2, 12.0)])  # too short to tell
    monkeypatch.setattr(_overlap, "_cpu_reading", lambda: next(readings))
    monkeypatch.setattr(_overlap, "_last_reading", None)
    assert not _overlap._others_busy(2), "the first call knows nothing yet"
    assert _overlap._others_busy(2)
    assert not _overlap._others_busy(2)
    assert not _overlap._others_busy(2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat")
def test_the_cpu_reading_counts_this_process_s_time():
    start = _overlap._cpu_reading()
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    end = _overlap._cpu_reading()
    assert end[2] - start[2] >= 0.04
    assert end[1] - start[1] >= 0.03  # the machine's busy time includes it


def test_a_one_thread_limit_is_one_blas_thread():
    # What tells helper_for that the user wants one core.
    with threadpool_limits(1):
        assert _blas.blas_threads() == 1


class _AlreadyDone:
    """An executor whose thread has always finished a task by the time the
    fit asks for it."""

    def submit(self, task, *args):
        future = Future()
        future.set_running_or_notify_cancel()
        future.set_result(task(*args))
        return future

    def shutdown(self, **kwargs):
        pass


class _NeverStarting:
    """An executor whose thread never gets to run: every task is taken back."""

    def submit(self, task, *args):
        return Future()

    def shutdown(self, **kwargs):
        pass


def test_tasks_the_helper_never_starts_run_on_the_fit_s_thread(
        data, two_cores, helpers, monkeypatch):
    X, y = data
    monkeypatch.setattr(_overlap, "ThreadPoolExecutor",
                        lambda *args, **kwargs: _NeverStarting())
    monkeypatch.setattr(_overlap, "WINDOW", 10**9)  # never given up
    taken_back = _fit(X, y)
    assert helpers and all(h.taken_back == h.submitted > 0 for h in helpers)
    monkeypatch.setattr(_blas, "blas_threads", lambda: 1)
    _assert_same_weights(taken_back, _fit(X, y))


def test_finish_waits_for_started_tasks_and_runs_the_later_ones_in_order():
    # The helper's thread is inside the first task when the fit finishes:
    # the second and third must run after the first, here.
    ran, inside, release = [], threading.Event(), threading.Event()

    def first():
        inside.set()
        assert release.wait(60)
        ran.append(("first", threading.current_thread().name))

    def later(name):
        ran.append((name, threading.current_thread().name))

    with _overlap.Helper() as helper:
        helper.submit(first)
        assert inside.wait(60)
        helper.submit(later, "second")
        helper.submit(later, "third")
        threading.Timer(0.05, release.set).start()
        helper.finish()
    here = threading.current_thread().name
    assert [name for name, _ in ran] == ["first", "second", "third"]
    assert ran[0][1].startswith("skmlp-helper")
    assert [thread for _, thread in ran[1:]] == [here, here]
    assert helper.taken_back == 2


def test_an_error_in_a_task_reaches_the_fit():
    def fails():
        raise FloatingPointError("in the helper")

    with _overlap.Helper() as helper:
        helper.submit(fails)
        with pytest.raises(FloatingPointError, match="in the helper"):
            helper.finish()


def test_a_helper_that_leaves_its_tasks_to_the_fit_is_given_up(monkeypatch):
    monkeypatch.setattr(_overlap, "ThreadPoolExecutor",
                        lambda *args, **kwargs: _NeverStarting())
    ran = []
    with _overlap.Helper() as helper:
        for batch in range(_overlap.WINDOW):
            assert not helper.given_up
            helper.submit(ran.append, batch)
            helper.finish()
        assert helper.given_up
        helper.submit(ran.append, "at once")  # run as it is submitted
        assert ran[-1] == "at once"
        helper.finish()
    assert ran == [*range(_overlap.WINDOW), "at once"]


def test_a_helper_that_keeps_the_fit_waiting_is_given_up(monkeypatch):
    monkeypatch.setattr(_overlap, "ThreadPoolExecutor",
                        lambda *args, **kwargs: _AlreadyDone())
    clock = iter(np.arange(0.0, 1e6, 1.0))  # each reading one second on
    monkeypatch.setattr(_overlap.time, "perf_counter", lambda: next(clock))
    with _overlap.Helper() as helper:
        for _ in range(_overlap.WINDOW):
            helper.submit(lambda: None)
            helper.finish()
        # Each batch: one second waited, of two.
        assert helper.given_up
        assert helper.taken_back == 0


def test_a_helper_that_keeps_up_is_kept(monkeypatch):
    monkeypatch.setattr(_overlap, "ThreadPoolExecutor",
                        lambda *args, **kwargs: _AlreadyDone())
    with _overlap.Helper() as helper:
        for _ in range(3 * _overlap.WINDOW):
            helper.submit(lambda: None)
            threading.Event().wait(0.002)  # the fit's own work
            helper.finish()
        assert not helper.given_up


def test_the_thread_ends_with_the_epoch(data, two_cores, helpers):
    X, y = data
    _fit(X, y)
    assert helpers
    assert not [t for t in threading.enumerate()
                if t.name.startswith("skmlp-helper")]


@pytest.mark.parametrize("case, expected", [
    ("two cores", True),
    ("one core", False),
    ("the other core busy", False),
    ("one BLAS thread", False),
    ("another fit inside the one-thread limit", False),
    ("small layers above the first", False),
    ("a batch for the BLAS's threads", False),
])
def test_a_helper_only_where_it_can_pay(monkeypatch, case, expected):
    sizes, batch = [784, 500, 250, 1], 128
    monkeypatch.setattr(_overlap, "_cores", lambda: 1 if case == "one core" else 2)
    monkeypatch.setattr(_overlap, "_others_busy",
                        lambda cores: case == "the other core busy")
    monkeypatch.setattr(_blas, "blas_threads",
                        lambda: 1 if case == "one BLAS thread" else 2)
    monkeypatch.setattr(_blas, "single_thread_fits",
                        lambda: case.startswith("another fit"))
    if case == "small layers above the first":
        sizes = [784, 500, 10, 1]
    if case == "a batch for the BLAS's threads":
        batch = 1000
    helper = _overlap.helper_for(sizes, batch, np.float32)
    assert (helper is not None) == expected
    if helper is not None:
        helper.__exit__(None, None, None)


def test_sparse_input_leaves_the_first_layer_to_the_loops(two_cores):
    # 500 x 784 x 500 multiply-adds take the BLAS's threads, 500 x 500 x 250
    # do not.
    assert _overlap.helper_for([784, 500, 250, 1], 500, np.float32) is None
    helper = _overlap.helper_for([784, 500, 250, 1], 500, np.float32,
                                 sparse_input=True)
    assert helper is not None
    helper.__exit__(None, None, None)
