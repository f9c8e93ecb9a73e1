"""Run joblib-parallel work (such as ``GridSearchCV``) on a Dask cluster.

scikit-learn parallelises a grid search with joblib; joblib's ``"dask"``
backend sends each ``fit`` to a worker of a ``dask.distributed`` cluster
instead of a local process.  This module holds the little glue that a user
(or ``skmlp grid --scheduler``) needs: connect to a running scheduler or start
a local cluster, check that the workers can run skmlp, switch joblib to Dask,
and close what was started.  joblib's Dask backend is adapted so that a search
survives the death of a worker (see ``dask_backend``), and what cannot be
recovered ends in one error of skmlp's own, as does an unreachable scheduler.

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

import asyncio
import concurrent.futures
import functools
import itertools
import math
import numbers
import re
import uuid
from contextlib import contextmanager

import joblib

from . import __version__

__all__ = [
    "DaskWorkerLostError",
    "SchedulerUnreachableError",
    "dask_backend",
    "dask_client",
]

_INSTALL_HINT = 'pip install "skmlp[dask]"'

# Dask's comm protocols that address a scheduler by host and port.
_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")
# [protocol://]host:port, the host a name, an IPv4 address or a bracketed IPv6 one.
_ADDRESS = re.compile(
    r"(?:(?P<protocol>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)"
    r":(?P<port>[0-9]+)"
)


class SchedulerUnreachableError(ConnectionError):
    """No Dask scheduler answered at the given address within the timeout."""


class DaskWorkerLostError(RuntimeError):
    """A Dask worker died and the work it held could not be recovered.

    Raised instead of dask's ``KilledWorker`` (the same task killed worker
    after worker) or ``FutureCancelledError`` (the scheduler dropped a task,
    e.g. after losing its connection to the client).  The message says what
    dask reported; the dask exception is kept as ``__cause__``.
    """


def _check_arguments(scheduler, n_workers, threads_per_worker, timeout):
    """Raise a ValueError that names the first bad argument and what is allowed.

    Checked before anything starts: Dask itself would wait for a scheduler at
    port 99999, hang on a cluster of no workers, or fail deep inside with
    "could not convert string to float".
    """
    if scheduler is not None:
        match = _ADDRESS.fullmatch(scheduler) if isinstance(scheduler, str) else None
        if (
            match is None
            or (match["protocol"] or "tcp") not in _PROTOCOLS
            or not 1 <= int(match["port"]) <= 65535
        ):
            raise ValueError(
                "scheduler must be None (to start a local cluster) or the address "
                "of a running scheduler, 'tcp://host:port' with a port in "
                f"1-65535 (or {', '.join(p + '://' for p in _PROTOCOLS[1:])}), "
                f"e.g. 'tcp://127.0.0.1:8786'; got {scheduler!r}."
            )
    for name, value, allowed_none in (
        ("n_workers", n_workers, True),
        ("threads_per_worker", threads_per_worker, False),
    ):
        if allowed_none and value is None:
            continue
        if (
            not isinstance(value, numbers.Integral)
            or isinstance(value, bool)
            or value < 1
        ):
            raise ValueError(
                f"{name} must be a positive int"
                + (" or None" if allowed_none else "")
                + f"; got {value!r}."
            )
    if scheduler is not None and n_workers is not None:
        raise ValueError(
            "Give either scheduler (the address of a running cluster) or "
            f"n_workers (to start a local one), not both; got scheduler="
            f"{scheduler!r} and n_workers={n_workers!r}."
        )
    if scheduler is not None and threads_per_worker != 1:
        raise ValueError(
            "threads_per_worker sets the threads of a local cluster's workers "
            "(scheduler=None); a running cluster's workers keep their own "
            f"(dask worker --nthreads). Got scheduler={scheduler!r} and "
            f"threads_per_worker={threads_per_worker!r}."
        )
    if (
        not isinstance(timeout, numbers.Real)
        or isinstance(timeout, bool)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(
            f"timeout must be a positive number of seconds; got {timeout!r}."
        )


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


def _connect(distributed, scheduler, timeout):
    """A ``Client`` of ``scheduler``; an unreachable address says so in one line."""
    try:
        return distributed.Client(scheduler, timeout=timeout)
    except OSError as exc:
        if isinstance(scheduler, distributed.LocalCluster):
            raise
        # Dask reports a refused or silent address as an OSError (or asyncio's
        # TimeoutError, an OSError subclass too) at the end of a chain of
        # tornado and asyncio frames that say nothing more.
        raise SchedulerUnreachableError(
            f"Could not reach a Dask scheduler at {scheduler} within {timeout:g} s "
            f"({exc}). Check the address and that the scheduler is running "
            "there (dask scheduler) and reachable from this machine."
        ) from None


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
    ValueError
        If an argument is not one of those allowed (checked before anything
        starts).
    ImportError
        If ``dask.distributed`` is not installed.
    SchedulerUnreachableError
        If no scheduler answers at ``scheduler`` within ``timeout`` seconds.
    RuntimeError
        If a worker cannot import skmlp or runs another version of it.
    TimeoutError
        If no worker joins the scheduler within ``timeout`` seconds.

    See Also
    --------
    dask_backend : The same, with joblib switched to the Dask backend.
    """
    _check_arguments(scheduler, n_workers, threads_per_worker, timeout)
    distributed = _import_distributed()
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
        with _connect(distributed, scheduler, timeout) as client:
            client.wait_for_workers(1, timeout=timeout)
            _check_workers(client)
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def _data(value):
    # The task that hands a worker the data of a fit: see _recoverable_dask_backend.
    return value


@functools.cache
def _recoverable_dask_backend():
    """joblib's Dask backend, with the data sent as tasks the scheduler can rerun.

    joblib's backend ``client.scatter``s every large argument (X, y, the
    indices of each split) to one worker.  Scattered data has no lineage: if
    that worker dies, the scheduler forgets the data and cancels every task
    that needs it ("already forgotten").  Replicas do not help for long, since
    Dask's active memory manager drops the replicas no queued task waits for.
    Here each such argument becomes instead the input of a task that returns
    it; the scheduler keeps the task (so one copy of the data) and, should the
    worker that holds the result die, runs it again on another worker.  Each
    argument is still sent once per ``Parallel`` call, not once per fit.
    """
    import dask
    from dask.sizeof import sizeof
    from joblib._dask import DaskDistributedBackend, is_weakrefable

    async def ready(future):
        return future

    class RecoverableDataDaskBackend(DaskDistributedBackend):
        async def _collect(self):
            # joblib's loop, but a task that failed outside the function it ran
            # (KilledWorker: its workers died) is reported to joblib through
            # the callback too; joblib's own loop only sets the exception of a
            # future that nobody reads, and Parallel then waits forever.
            while self._continue:
                async for future, result in self.waiting_futures:
                    cf_future = self._results.pop(future)
                    callback = self._callbacks.pop(future)
                    if future.status == "error":
                        _, exc, _ = result
                        cf_future.set_exception(exc)
                        result = exc  # joblib's callback raises what it gets
                    else:
                        cf_future.set_result(result)
                    callback(result)
                await asyncio.sleep(0.01)

        def _submit_data(self, arg):
            # The warning would advise to embed the data "without repetition",
            # which is what this task does.
            no_warning = {"distributed.admin.large-graph-warning-threshold": "1 PiB"}
            with dask.config.set(no_warning):
                return self.client.submit(
                    _data,
                    arg,
                    key=f"skmlp-data-{type(arg).__name__}-{uuid.uuid4().hex}",
                    pure=False,
                )

        async def _to_func_args(self, func):
            # joblib's own method scatters the large arguments it does not
            # find in call_data_futures: put them there first.  The rule for
            # "large" is joblib's.
            held = getattr(self, "call_data_futures", None)
            if held is not None:
                for _, args, kwargs in func.items:
                    for arg in itertools.chain(args, kwargs.values()):
                        if id(arg) in self.data_futures or not (
                            is_weakrefable(arg) and sizeof(arg) > 1e3
                        ):
                            continue
                        try:
                            held[arg]
                        except KeyError:
                            held[arg] = asyncio.ensure_future(
                                ready(self._submit_data(arg))
                            )
            return await super()._to_func_args(func)

    return RecoverableDataDaskBackend


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
    ValueError
        If an argument is not one of those allowed (checked before anything
        starts).
    ImportError
        If ``dask.distributed`` is not installed
        (``pip install "skmlp[dask]"``).
    SchedulerUnreachableError
        If no scheduler answers at ``scheduler`` within ``timeout`` seconds.
    RuntimeError
        If a worker cannot import skmlp or runs another version of it.
    TimeoutError
        If no worker joins the scheduler within ``timeout`` seconds.
    DaskWorkerLostError
        From the block, if workers died and the search could not recover:
        a task killed every worker that ran it (dask's ``KilledWorker``), or
        the scheduler cancelled a task.

    See Also
    --------
    dask_client : The client alone, without changing joblib's backend.

    Notes
    -----
    ``n_jobs=None`` or ``-1`` in the estimator then means every thread of
    every worker.  With a single worker thread in all, joblib runs the tasks
    in this process instead, as it does for ``n_jobs=1``.

    A worker may die during the search: the scheduler runs its fits again on
    the other workers (and on the one its nanny restarts).  The data of the
    fits survives it too: each array given to ``fit`` (and each split's
    indices) is sent once, as a task that the scheduler keeps and runs again
    if the worker holding its result dies, instead of joblib's scattered
    copy that dies with its worker.  The scheduler therefore holds one copy
    of the data while the search runs.  A fit that kills every worker it
    runs on (``distributed.scheduler.allowed-failures`` retries, 3 by
    default), usually by exhausting its memory, ends the search with
    :class:`DaskWorkerLostError`.

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
        distributed = _import_distributed()  # imported by dask_client already
        # Hand joblib this client rather than letting it pick the process's
        # default one, which may be another cluster's.
        backend = _recoverable_dask_backend()(client=client)
        with joblib.parallel_config(backend=backend):
            try:
                yield client
            except distributed.KilledWorker as exc:
                raise DaskWorkerLostError(
                    "A task of the search killed every Dask worker that ran it "
                    "(the scheduler's distributed.scheduler.allowed-failures "
                    "retries, 3 by default), most often a fit that runs out of "
                    "the worker's memory. Check the workers' logs; use workers "
                    "with more memory, or fewer threads per worker."
                ) from exc
            except concurrent.futures.CancelledError as exc:
                reason = getattr(exc, "reason", None) or "no reason given"
                raise DaskWorkerLostError(
                    f"The Dask scheduler cancelled a task of the search ({reason}): "
                    "a worker or the scheduler died, or this client lost its "
                    "connection. Check the cluster's logs and run the search again."
                ) from exc
