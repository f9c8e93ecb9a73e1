"""Run joblib-parallel work (such as ``GridSearchCV``) on a Dask cluster.

scikit-learn parallelises a grid search with joblib; joblib's ``"dask"``
backend sends each ``fit`` to a worker of a ``dask.distributed`` cluster
instead of a local process.  This module holds the little glue that a user
(or ``skmlp grid --scheduler``) needs: connect to a running scheduler or start
a local cluster, check that the workers can run skmlp, switch joblib to Dask,
and close what was started.

``dask[distributed]`` is an optional dependency (``pip install "skmlp[dask]"``);
it is imported only when one of these functions is called.

Examples
--------
>>> from sklearn.model_selection import GridSearchCV
>>> from skmlp import ScratchMLPClassifier
>>> from skmlp.distributed import dask_backend
>>> search = GridSearchCV(ScratchMLPClassifier(random_state=0),
...                       {"eta": [0.01, 0.001]}, cv=3)
>>> with dask_backend("tcp://scheduler-host:8786"):  # doctest: +SKIP
...     search.fit(X, y)
"""

from contextlib import contextmanager

import joblib

from . import __version__

__all__ = ["dask_backend", "dask_client"]

_INSTALL_HINT = 'pip install "skmlp[dask]"'


def _import_distributed():
    """Import ``dask.distributed`` or say how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "Running on a Dask cluster needs dask.distributed, which is not "
            f"installed. Install it with: {_INSTALL_HINT}"
        ) from exc
    return distributed


def _worker_skmlp_version():
    # Runs on each worker: a worker without skmlp fails to unpickle this
    # function, which Client.run(on_error="return") hands back as the error.
    import skmlp

    return skmlp.__version__


def _check_workers(client):
    """Raise if a connected worker cannot import skmlp or has another version.

    Every ``fit`` of a grid search unpickles skmlp's estimators on a worker;
    a missing or different skmlp there fails late and obscurely (or, worse,
    trains other code), so say it up front.
    """
    versions = client.run(_worker_skmlp_version, on_error="return")
    wrong = {
        worker: version
        for worker, version in versions.items()
        if version != __version__
    }
    if wrong:
        found = "; ".join(
            f"{worker}: "
            + (f"cannot import skmlp ({v!r})" if isinstance(v, BaseException)
               else f"skmlp {v}")
            for worker, v in sorted(wrong.items())
        )
        raise RuntimeError(
            f"Every Dask worker needs skmlp {__version__}, the version of this "
            f"client; install it in the workers' environment. Found {found}."
        )


@contextmanager
def dask_client(scheduler=None, *, n_workers=None, threads_per_worker=1, timeout=30):
    """Connect to a Dask scheduler, or start a local cluster, for a ``with`` block.

    Parameters
    ----------
    scheduler : str, default=None
        Address of a running scheduler, e.g. ``"tcp://host:8786"`` (started
        with ``dask scheduler``).  None starts a ``LocalCluster`` on
        127.0.0.1 instead.
    n_workers : int, default=None
        Number of worker processes of the local cluster; None lets Dask choose
        (one per core with ``threads_per_worker=1``).  Only with
        ``scheduler=None``.
    threads_per_worker : int, default=1
        Threads of each local worker process.  One thread per process suits
        NumPy training: BLAS already uses the cores, and processes do not
        share the GIL.  Only with ``scheduler=None``.
    timeout : float, default=30
        Seconds to wait for the scheduler to answer and for its first worker
        to join.

    Yields
    ------
    client : distributed.Client
        The connected client.  On exit the client is closed, and so is the
        local cluster if this function started it; a remote cluster keeps
        running.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed.
    RuntimeError
        If a worker cannot import skmlp or runs another version of it.
    TimeoutError
        If no worker joins the scheduler within ``timeout`` seconds.

    See Also
    --------
    dask_backend : The same, with joblib switched to the Dask backend.
    """
    distributed = _import_distributed()
    if scheduler is not None and n_workers is not None:
        raise ValueError(
            "Give either scheduler (the address of a running cluster) or "
            f"n_workers (to start a local one), not both; got scheduler="
            f"{scheduler!r} and n_workers={n_workers!r}."
        )
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # Even without a dashboard the scheduler serves its health routes
            # over HTTP, by default on port 8787; a free port avoids a clash
            # (and a warning) with any other cluster on this machine.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        scheduler = cluster
    try:
        with distributed.Client(scheduler, timeout=timeout) as client:
            client.wait_for_workers(1, timeout=timeout)
            _check_workers(client)
            yield client
    finally:
        if cluster is not None:
            cluster.close()


@contextmanager
def dask_backend(scheduler=None, *, n_workers=None, threads_per_worker=1, timeout=30):
    """Run joblib's parallel work on a Dask cluster inside a ``with`` block.

    Inside the block, scikit-learn's joblib parallelism (``GridSearchCV``,
    ``cross_validate``, ...) sends each task to the cluster's workers;
    the arrays given to ``fit`` are shipped to the workers by the client, so
    the workers need skmlp installed but not the data.

    Parameters
    ----------
    scheduler : str, default=None
        Address of a running scheduler, e.g. ``"tcp://host:8786"``.  None
        starts a ``LocalCluster`` of worker processes on 127.0.0.1.
    n_workers : int, default=None
        Number of local worker processes (only with ``scheduler=None``);
        None lets Dask choose.
    threads_per_worker : int, default=1
        Threads of each local worker process (only with ``scheduler=None``).
    timeout : float, default=30
        Seconds to wait for the scheduler and for its first worker.

    Yields
    ------
    client : distributed.Client
        The connected client.  On exit joblib's previous backend is restored,
        the client is closed, and a local cluster started here is shut down.

    Raises
    ------
    ImportError
        If ``dask.distributed`` is not installed
        (``pip install "skmlp[dask]"``).
    RuntimeError
        If a worker cannot import skmlp or runs another version of it.
    TimeoutError
        If no worker joins the scheduler within ``timeout`` seconds.

    See Also
    --------
    dask_client : The client alone, without changing joblib's backend.

    Notes
    -----
    ``n_jobs=None`` or ``-1`` in the estimator then means every thread of
    every worker.  With a single worker thread in all, joblib runs the tasks
    in this process instead, as it does for ``n_jobs=1``.

    Results equal a local run with the same ``random_state`` and the same
    number of BLAS threads: each fit is seeded by its parameters, not by
    where it runs.  Dask's nanny starts workers with one BLAS thread
    (``OPENBLAS_NUM_THREADS=1`` and the like); a multi-threaded BLAS may sum
    in another order, which changes the last bits of the weights and, rarely,
    a score.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skmlp import ScratchMLPClassifier
    >>> from skmlp.distributed import dask_backend
    >>> X, y = load_digits(n_class=2, return_X_y=True)
    >>> search = GridSearchCV(
    ...     ScratchMLPClassifier(hidden_layers=(16,), random_state=0),
    ...     {"eta": [0.01, 0.001]}, cv=3)
    >>> with dask_backend(n_workers=2):  # doctest: +SKIP
    ...     search.fit(X / 16, y)
    """
    with dask_client(
        scheduler,
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        timeout=timeout,
    ) as client:
        # Hand joblib this client rather than letting it pick the process's
        # default one, which may be another cluster's.
        with joblib.parallel_config(backend="dask", client=client):
            yield client
