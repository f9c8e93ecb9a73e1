"""Fits in several threads: the BLAS's thread setting of the process and one
estimator object fitted from two threads.

The threads meet at events and barriers inside the training loop, so that
they overlap in a known order however loaded the machine is; every wait has
a timeout, so that a broken guard fails the test instead of hanging it.
"""

import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone

from skmlp import ScratchMLPClassifier
from skmlp.nn import _blas, fast

TIMEOUT = 60  # seconds; only reached when a guard is broken

# A batch of these sizes runs on one BLAS thread (see fast.blas_thread_limit).
SMALL = ([4, 3, 1], 8)
LARGE = ([10_000, 10_000, 1], 10_000)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    return X, (X[:, 0] > 0).astype(int)


def _small(**params):
    params = {"hidden_layers": (3,), "epochs": 2, "batch_size": 8,
              "random_state": 0, **params}
    return ScratchMLPClassifier(**params)


def _run_in_threads(*targets):
    """Run each target in a thread; re-raise the first exception of any."""
    errors = []

    def run(target):
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------
# The BLAS's threads: the guard with a fake BLAS


class FakeBlas:
    """A process-wide thread setting, with threadpoolctl's limit interface."""

    def __init__(self, threads):
        self.threads = threads
        self.limits_set = 0

    def limit(self, *, limits, user_api):
        assert user_api == "blas"
        self.limits_set += 1
        return FakeLimiter(self, limits)


class FakeLimiter:
    # threadpoolctl's limiter saves the setting when it is made and sets its
    # own at once; restore_original_limits (or leaving it) puts the saved back.
    def __init__(self, blas, limits):
        self.blas, self.saved = blas, blas.threads
        blas.threads = limits

    def restore_original_limits(self):
        self.blas.threads = self.saved

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.restore_original_limits()


@pytest.fixture
def fake_blas(monkeypatch):
    blas = FakeBlas(threads=2)
    monkeypatch.setattr(_blas, "_blas_controller", lambda: blas)
    return blas


def test_overlapping_limits_restore_the_setting_of_before_the_first(fake_blas):
    # Fit A enters, fit B enters, A leaves while B trains, B leaves.
    a, b = fast.blas_thread_limit(*SMALL), fast.blas_thread_limit(*SMALL)
    a.__enter__()
    assert fake_blas.threads == 1
    b.__enter__()
    assert fake_blas.threads == 1
    a.__exit__(None, None, None)
    assert fake_blas.threads == 1, "B must go on training on one thread"
    b.__exit__(None, None, None)
    assert fake_blas.threads == 2
    # Only the first one in set the limit; a later fit sets it anew.
    assert fake_blas.limits_set == 1
    with fast.blas_thread_limit(*SMALL):
        assert fake_blas.threads == 1
    assert (fake_blas.threads, fake_blas.limits_set) == (2, 2)


def test_the_setting_is_restored_when_the_fits_leave_in_any_order(fake_blas):
    limits = [fast.blas_thread_limit(*SMALL) for _ in range(2)]
    for limit in limits:
        limit.__enter__()
    # The last one out leaves on an error: the setting comes back all the same.
    with pytest.raises(ZeroDivisionError):
        with fast.blas_thread_limit(*SMALL):
            for limit in [limits[1], limits[0]]:
                limit.__exit__(None, None, None)
                assert fake_blas.threads == 1
            raise ZeroDivisionError
    assert fake_blas.threads == 2


def test_large_products_leave_the_setting_alone(fake_blas):
    with fast.blas_thread_limit(*LARGE):
        assert (fake_blas.threads, fake_blas.limits_set) == (2, 0)


# --------------------------------------------------------------------------
# The BLAS's threads: real fits in threads

# Run in a fresh interpreter: there no thread has set the BLAS's threads yet.
# (After the main thread has set them, OpenBLAS ignores what other threads
# set, and a leak could not be seen.)  Fits in threads meet inside their
# first batch step, within the one-thread limit.
_CONCURRENT_FITS = """
import json, sys, threading
import numpy as np
from skmlp import ScratchMLPClassifier
from skmlp.nn import _blas, fast

TIMEOUT = 60

def blas_threads():
    return [lib.num_threads for lib in _blas._blas_controller().lib_controllers
            if lib.user_api == "blas"]

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 4))
y = (X[:, 0] > 0).astype(int)
fit = lambda seed: ScratchMLPClassifier(
    (3,), epochs=2, batch_size=8, random_state=seed).fit(X, y)
seen, inside = set(), []
step = fast._batch_step

def hold_first_batch(wait):
    def held_step(*args, **kwargs):
        if threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            wait()
            inside.append(blas_threads())
        return step(*args, **kwargs)
    fast._batch_step = held_step

a_inside, b_inside, a_done = (threading.Event() for _ in range(3))

def in_order():
    # A comes in first and leaves first; B leaves last.
    if not a_inside.is_set():
        a_inside.set()
        assert b_inside.wait(TIMEOUT)
    else:
        b_inside.set()
        assert a_done.wait(TIMEOUT)

def fit_a():
    fit(0)
    a_done.set()

def fit_b():
    assert a_inside.wait(TIMEOUT)
    fit(1)

n = 4
barrier = threading.Barrier(n, timeout=TIMEOUT)
scenarios = {"in_order": (in_order, [fit_a, fit_b]),
             "barrier": (barrier.wait, [lambda s=s: fit(s) for s in range(n)])}
wait, targets = scenarios[sys.argv[1]]
hold_first_batch(wait)
before = blas_threads()
threads = [threading.Thread(target=t) for t in targets]
for t in threads:
    t.start()
for t in threads:
    t.join(TIMEOUT)
print(json.dumps({"before": before, "inside": inside,
                  "alive": sum(t.is_alive() for t in threads)}))
"""


@pytest.mark.parametrize("scenario", ["in_order", "barrier"])
def test_concurrent_fits_leave_the_blas_setting_as_it_was(scenario):
    # in_order: fit A comes in first and leaves first, B leaves last; with
    # each fit saving and restoring its own setting, A would restore two
    # threads under B (and B one thread for good).  barrier: four fits
    # overlap, leaving in any order.  Each records the setting in its first
    # batch, after the others have come in (in_order: after A has left).
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", _CONCURRENT_FITS, scenario], cwd=root, env=env,
        capture_output=True, text=True, timeout=4 * TIMEOUT, check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    if not result["before"] or max(result["before"]) < 2:
        pytest.skip("no BLAS with more than one thread to tell a leak from")
    assert result["alive"] == 0, done.stderr
    n_fits = 2 if scenario == "in_order" else 4
    assert result["inside"] == [[1] * len(result["before"])] * n_fits
    # What the process is left with is not read back: OpenBLAS sometimes
    # drops a setting made from a thread other than the main one, which the
    # setting of the fake BLAS above shows the guard does not do.


def test_fits_in_threads_train_as_they_would_alone(data, monkeypatch):
    X, y = data
    n_threads = 4
    barrier = threading.Barrier(n_threads, timeout=TIMEOUT)
    seen = set()
    step = fast._batch_step

    def held_step(*args, **kwargs):
        if threading.get_ident() not in seen:
            seen.add(threading.get_ident())
            barrier.wait()
        return step(*args, **kwargs)

    monkeypatch.setattr(fast, "_batch_step", held_step)
    models = [_small(random_state=seed) for seed in range(n_threads)]
    _run_in_threads(*(lambda m=m: m.fit(X, y) for m in models))
    monkeypatch.undo()
    for model in models:
        alone = clone(model).fit(X, y)
        for W, W_alone in zip(model.coefs_, alone.coefs_, strict=True):
            np.testing.assert_allclose(W, W_alone, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------
# One estimator fitted from two threads


def _hold_first_epoch(monkeypatch, inside, release):
    """The first thread to train sets ``inside`` and waits for ``release``
    in its first epoch; other threads train as usual."""
    first = []
    train_epoch = fast.train_epoch

    def held_epoch(*args, **kwargs):
        if not first:
            first.append(threading.get_ident())
        if first[0] == threading.get_ident() and not inside.is_set():
            inside.set()
            assert release.wait(TIMEOUT)
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(fast, "train_epoch", held_epoch)


@pytest.mark.parametrize("second", ["fit", "partial_fit"])
@pytest.mark.parametrize("first", ["fit", "partial_fit"])
def test_fitting_one_object_in_two_threads_at_once_is_refused(
    data, monkeypatch, first, second
):
    X, y = data
    clf = _small()
    inside, release = threading.Event(), threading.Event()
    _hold_first_epoch(monkeypatch, inside, release)
    calls = {
        "fit": lambda: clf.fit(X, y),
        "partial_fit": lambda: clf.partial_fit(X, y, classes=[0, 1]),
    }
    refused = []

    def intrude():
        assert inside.wait(TIMEOUT)
        try:
            with pytest.raises(
                RuntimeError,
                match="(?s)being fitted in another thread.*clone.*one after the other",
            ):
                calls[second]()
            refused.append(True)
        finally:
            release.set()

    _run_in_threads(calls[first], intrude)
    assert refused == [True]
    # The refused call changed nothing: the model is the one the first call
    # makes alone.
    monkeypatch.undo()
    alone = _small()
    getattr(alone, first)(X, y, **({"classes": [0, 1]} if first == "partial_fit"
                                   else {}))
    for W, W_alone in zip(clf.coefs_ + clf.intercepts_,
                          alone.coefs_ + alone.intercepts_, strict=True):
        assert_array_equal(W, W_alone)
    assert clf.n_iter_ == alone.n_iter_
    # Once the first call has returned, the object can be fitted again.
    clf.partial_fit(X, y)


def test_other_objects_train_while_one_is_being_fitted(data, monkeypatch):
    X, y = data
    clf = _small()
    inside, release = threading.Event(), threading.Event()
    _hold_first_epoch(monkeypatch, inside, release)
    others = []

    def fit_others():
        assert inside.wait(TIMEOUT)
        try:
            # A clone, and a copy by pickle made while the original trains.
            others.append(clone(clf).fit(X, y))
            others.append(pickle.loads(pickle.dumps(clf)).fit(X, y))
        finally:
            release.set()

    _run_in_threads(lambda: clf.fit(X, y), fit_others)
    assert [other.n_iter_ for other in others] == [clf.n_iter_] * 2


def test_a_failed_fit_releases_the_object(data):
    X, y = data
    clf = _small()
    with pytest.raises(ValueError):
        clf.fit(X[:, :0], y)
    with pytest.raises(ValueError):
        clf.partial_fit(X, y)  # no classes on the first call
    clf.fit(X, y)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == clf.epochs + 1
    assert not any("fitting" in name for name in vars(clf))
