"""Grid search on a Dask cluster: skmlp.distributed.

The cluster tests start their own scheduler and two single-threaded worker
processes on 127.0.0.1 (no dashboard) and shut them down afterwards.
"""

import os
import subprocess
import sys

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
from skmlp.distributed import dask_backend, dask_client

CLUSTER_TIMEOUT = 90  # seconds, cluster start and stop included


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two one-thread worker processes, as a remote cluster."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as local_cluster:
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
