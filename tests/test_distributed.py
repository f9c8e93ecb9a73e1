"""Grid search on a Dask cluster: skmlp.distributed.

The cluster tests start their own scheduler and two single-threaded worker
processes on 127.0.0.1 (no dashboard) and shut them down afterwards.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from threadpoolctl import threadpool_limits

import skmlp
from skmlp import ScratchMLPClassifier
from skmlp.distributed import (
    DaskWorkerLostError,
    SchedulerUnreachableError,
    _check_arguments,
    dask_backend,
    dask_client,
)

CLUSTER_TIMEOUT = 90  # seconds, cluster start and stop included


def _local_cluster():
    """A scheduler and two one-thread worker processes on 127.0.0.1."""
    distributed = pytest.importorskip("distributed")
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )


@pytest.fixture(scope="module")
def cluster():
    """The cluster of _local_cluster, shared as a remote cluster (kill nothing)."""
    with _local_cluster() as local_cluster:
        yield local_cluster


def _search():
    # Small enough for seconds, yet the candidates score differently, and the
    # log loss is a continuous function of every weight: equal log losses mean
    # equal networks, not merely equal predicted labels.
    pipe = make_pipeline(
        MinMaxScaler(),
        ScratchMLPClassifier(hidden_layers=(16,), epochs=3, random_state=0),
    )
    grid = {
        "scratchmlpclassifier__eta": [0.01, 0.0003],
        "scratchmlpclassifier__hidden_layers": [(16,), (16, 8)],
    }
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return GridSearchCV(
        pipe, grid, cv=cv, scoring=["accuracy", "neg_log_loss"], refit="accuracy"
    )


def _score_columns(cv_results):
    return {
        key: value
        for key, value in cv_results.items()
        if "_test_" in key and not key.startswith("rank")
    }


@pytest.mark.timeout(CLUSTER_TIMEOUT)
def test_grid_search_on_dask_equals_local_run(cluster):
    distributed = pytest.importorskip("distributed")
    X, y = load_digits(return_X_y=True)
    # Dask's workers run BLAS on one thread; so does the reference, because a
    # multi-threaded BLAS may sum in another order (last-bit differences).
    with threadpool_limits(limits=1, user_api="blas"):
        local = _search().fit(X, y)

    remote = _search()
    with dask_backend(cluster.scheduler_address) as client:
        with distributed.get_task_stream(client) as tasks:
            remote.fit(X, y)

    # The fits ran on the workers (joblib may batch several quick fits into
    # one task, so there can be fewer tasks than the 12 fits)...
    assert len(tasks.data) >= 1
    assert {t["worker"] for t in tasks.data} <= set(cluster.scheduler_info["workers"])
    # ...and gave exactly the scores of the local run, split by split.
    local_scores = _score_columns(local.cv_results_)
    remote_scores = _score_columns(remote.cv_results_)
    assert local_scores.keys() == remote_scores.keys()
    assert "split2_test_neg_log_loss" in local_scores
    for key, expected in local_scores.items():
        np.testing.assert_array_equal(remote_scores[key], expected, err_msg=key)
    # The candidates differ, so equality is not a coincidence of constants.
    assert len(np.unique(local.cv_results_["mean_test_neg_log_loss"])) == 4
    assert remote.best_params_ == local.best_params_

    # A cluster that dask_backend did not start keeps running after the block.
    assert cluster.status.name == "running"
    assert len(cluster.scheduler_info["workers"]) == 2


@pytest.mark.timeout(CLUSTER_TIMEOUT)
def test_dask_backend_starts_and_closes_a_local_cluster():
    pytest.importorskip("distributed")
    # Two threads: joblib runs the tasks of a one-thread cluster in-process.
    with dask_backend(n_workers=1, threads_per_worker=2) as client:
        local_cluster = client.cluster
        workers = client.scheduler_info()["workers"].values()
        assert [w["nthreads"] for w in workers] == [2]
        # joblib's default backend now runs tasks in the worker process.
        pids = Parallel()(delayed(os.getpid)() for _ in range(3))
    assert len(set(pids)) == 1
    assert pids[0] != os.getpid()
    assert client.status == "closed"
    assert local_cluster.status.name == "closed"
    # joblib is back on its local backend.
    assert Parallel(n_jobs=1)(delayed(os.getpid)() for _ in range(1)) == [os.getpid()]


@pytest.mark.timeout(CLUSTER_TIMEOUT)
def test_workers_with_another_skmlp_version_are_refused(cluster, monkeypatch):
    monkeypatch.setattr(skmlp.distributed, "__version__", "0.0.0-not-installed")
    with pytest.raises(RuntimeError, match=r"needs skmlp 0\.0\.0-not-installed"):
        with dask_client(cluster.scheduler_address):
            pass  # pragma: no cover


def test_scheduler_and_n_workers_are_exclusive():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="either scheduler"):
        with dask_backend("tcp://127.0.0.1:1", n_workers=2):
            pass  # pragma: no cover


def test_missing_distributed_gives_the_install_hint(monkeypatch):
    # None in sys.modules makes the import fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "skmlp\[dask\]"'):
        with dask_backend(n_workers=1):
            pass  # pragma: no cover


def test_skmlp_imports_without_dask():
    code = (
        "import sys\n"
        "sys.modules['dask'] = sys.modules['distributed'] = None\n"
        "import skmlp, skmlp.distributed, skmlp.streaming\n"
        "assert 'dask' not in sys.modules or sys.modules['dask'] is None\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def _is_fit(key):
    # joblib's Dask tasks are batches of fits: "batch_of__fit_and_score_2_calls-..."
    return "_fit_and_score" in str(key)


def _kill_a_sole_holder(client, pids, killed, stop):
    """Once a fit has finished, SIGKILL a worker that alone holds some data of the
    search (X, y or a split's indices): the data the dead worker took with it.

    Each piece of data sits on one worker until another worker needs it, and the
    splits' indices are first sent when their first fit is dispatched, so such a
    worker shows up early in the grid.
    """
    while not stop.is_set():
        if any(_is_fit(task["key"]) for task in client.get_task_stream()):
            for key, holders in client.who_has().items():
                if not _is_fit(key) and len(holders) == 1:
                    (worker,) = holders
                    killed.update(worker=worker, key=key, time=time.time())
                    os.kill(pids[worker], signal.SIGKILL)
                    return
        time.sleep(0.01)


def _slow_search():
    # 16 fits of about 0.1 s each: the kill happens with most of them to run.
    return GridSearchCV(
        ScratchMLPClassifier(hidden_layers=(32,), epochs=10, random_state=0),
        {"eta": [0.01, 0.001], "batch_size": [32, 64]},
        cv=StratifiedKFold(n_splits=4, shuffle=True, random_state=0),
        scoring="neg_log_loss",
    )


@pytest.mark.timeout(CLUSTER_TIMEOUT)
def test_grid_search_survives_a_worker_killed_mid_grid():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    with threadpool_limits(limits=1, user_api="blas"):
        local = _slow_search().fit(X, y)

    killed, stop = {}, threading.Event()
    with _local_cluster() as local_cluster:
        with dask_backend(local_cluster.scheduler_address) as client:
            pids = client.run(os.getpid)
            client.get_task_stream()  # starts the scheduler's record of tasks
            killer = threading.Thread(
                target=_kill_a_sole_holder, args=(client, pids, killed, stop)
            )
            killer.start()
            try:
                remote = _slow_search().fit(X, y)
            finally:
                stop.set()
                killer.join()
            tasks = client.get_task_stream()
            workers_after = set(client.scheduler_info()["workers"])

    # A worker died, holding data that the rest of the grid needed...
    assert killed, "no worker was killed"
    assert killed["worker"] not in workers_after
    stops = [
        period["stop"]
        for task in tasks
        if _is_fit(task["key"])
        for period in task["startstops"]
    ]
    assert max(stops) > killed["time"], "the grid ended before the kill"
    # ...and the search still gave exactly the scores of a local run.
    scores = _score_columns(local.cv_results_)
    assert "split3_test_score" in scores
    for key, expected in scores.items():
        np.testing.assert_array_equal(remote.cv_results_[key], expected, err_msg=key)
    assert len(np.unique(local.cv_results_["mean_test_score"])) == 4


@pytest.mark.timeout(CLUSTER_TIMEOUT)
def test_a_task_that_kills_every_worker_gives_a_one_line_error():
    dask = pytest.importorskip("dask")
    # The in-process scheduler of the local cluster reads this when it starts:
    # the first worker death of a task is one too many.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        expected = pytest.raises(DaskWorkerLostError, match="killed every Dask worker")
        with expected as info:
            with dask_backend(n_workers=1, threads_per_worker=2):
                Parallel(n_jobs=2)(delayed(os._exit)(1) for _ in range(2))
    assert "\n" not in str(info.value)
    assert type(info.value.__cause__).__name__ == "KilledWorker"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scheduler": "tcp://127.0.0.1:99999"}, r"scheduler must be .*1-65535"),
        ({"scheduler": "tcp://127.0.0.1:0"}, r"got 'tcp://127\.0\.0\.1:0'"),
        ({"scheduler": "127.0.0.1"}, "tcp://host:port"),
        ({"scheduler": "http://127.0.0.1:8786"}, "tcp://host:port"),
        ({"scheduler": "tcp://127.0.0.1:87a6"}, "tcp://host:port"),
        ({"scheduler": 8786}, r"got 8786\."),
        ({"n_workers": 0}, r"n_workers must be a positive int or None; got 0\."),
        ({"n_workers": -2}, "n_workers must be a positive int"),
        ({"n_workers": 1.5}, "n_workers must be a positive int"),
        ({"n_workers": True}, "n_workers must be a positive int"),
        ({"n_workers": "2"}, "n_workers must be a positive int"),
        ({"threads_per_worker": 0}, r"threads_per_worker must be a positive int;"),
        ({"threads_per_worker": None}, "threads_per_worker must be a positive int"),
        ({"timeout": -1}, r"timeout must be a positive number of seconds; got -1\."),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": "abc"}, "timeout must be a positive number"),
        ({"timeout": float("nan")}, "timeout must be a positive number"),
        ({"timeout": float("inf")}, "timeout must be a positive number"),
        (
            {"scheduler": "tcp://127.0.0.1:8786", "threads_per_worker": 4},
            "threads_per_worker sets the threads of a local cluster",
        ),
    ],
)
@pytest.mark.parametrize("function", [dask_backend, dask_client])
def test_bad_arguments_are_refused_before_anything_starts(
    function, kwargs, message, monkeypatch
):
    # Checked before dask is even imported: a cluster cannot have started.
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=message):
        with function(**kwargs):
            pass  # pragma: no cover


@pytest.mark.parametrize(
    "address",
    [
        "tcp://127.0.0.1:8786",
        "127.0.0.1:1",
        "tcp://scheduler-host:65535",
        "tls://scheduler.example.org:8786",
        "tcp://[::1]:8786",
    ],
)
def test_scheduler_addresses_that_dask_accepts_pass_the_check(address):
    assert _check_arguments(address, None, 1, 0.5) is None


def _closed_port():
    # A port that was free a moment ago: nothing listens there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(CLUSTER_TIMEOUT)
def test_an_unreachable_scheduler_gives_a_one_line_error():
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(SchedulerUnreachableError) as info:
        with dask_backend(address, timeout=1):
            pass  # pragma: no cover
    assert time.monotonic() - start < 20
    message = str(info.value)
    assert address in message and "Check the address" in message
    assert "\n" not in message
    # An OSError, as Dask's own error was, and without its chain of frames.
    assert isinstance(info.value, ConnectionError)
    assert info.value.__suppress_context__ and info.value.__cause__ is None
