"""Wall time of a grid search run locally and on a local Dask cluster.

The grid is the course notebook's: MNIST 1 vs 5, eta in {0.01, 0.001} x
batch_size in {1000, 1500, 2000} x hidden_layers in {(500, 250),
(500, 250, 50)}, 12 candidates x 3 folds (plus the refit), the solver and the
other hyper-parameters at their defaults.  Each configuration reports its wall
time and whether its split scores equal those of the runs before it.

Usage::

    python benchmarks/grid_dask.py                      # all three runs
    python benchmarks/grid_dask.py --runs dask --epochs 2
    python benchmarks/grid_dask.py --quick              # 2,000 samples, 1 epoch

MNIST is read with ``skmlp.load_mnist`` from ``--mnist`` (default: its own
search, ``$SKMLP_MNIST`` first).
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

from skmlp import ImageVectorizer, ScratchMLPClassifier, load_mnist
from skmlp._machine import blas_info, summary
from skmlp.distributed import dask_backend

GRID = {
    "scratchmlpclassifier__eta": [0.01, 0.001],
    "scratchmlpclassifier__batch_size": [1000, 1500, 2000],
    "scratchmlpclassifier__hidden_layers": [(500, 250), (500, 250, 50)],
}


def load_pair(path, digits):
    """Training images (n, 28, 28) and labels of two digits."""
    (X, y), _ = load_mnist(path)
    keep = np.isin(y, digits)
    return X[keep], y[keep]


def make_search(epochs, n_jobs):
    pipe = make_pipeline(
        ImageVectorizer(), ScratchMLPClassifier(epochs=epochs, random_state=0)
    )
    return GridSearchCV(pipe, GRID, cv=3, n_jobs=n_jobs)


def blas_threads():
    return [pool["num_threads"] for pool in blas_info()]


def run(name, X, y, epochs, n_workers):
    if name == "dask":
        start = time.perf_counter()
        with dask_backend(n_workers=n_workers) as client:
            startup = time.perf_counter() - start
            workers = client.scheduler_info()["workers"]
            threads = client.run(blas_threads)
            print(f"  cluster up in {startup:.1f} s: {len(workers)} workers, "
                  f"BLAS threads per worker {sorted(threads.values())}")
            search = make_search(epochs, n_jobs=None)
            start = time.perf_counter()
            search.fit(X, y)
            return search, time.perf_counter() - start
    n_jobs = {"local1": 1, "local2": 2}[name]
    search = make_search(epochs, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(X, y)
    return search, time.perf_counter() - start


def _same_scores(search, reference):
    keys = [k for k in reference.cv_results_
            if k.endswith("test_score") and not k.startswith("rank")]
    differences = [
        np.abs(search.cv_results_[k] - reference.cv_results_[k]).max() for k in keys
    ]
    return max(differences) == 0 or f"no, up to {max(differences):.2g} apart"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["local1", "local2", "dask"],
                        choices=["local1", "local2", "dask"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--digits", type=int, nargs=2, default=[1, 5])
    parser.add_argument("--n-workers", type=int, default=2)
    parser.add_argument("--mnist", default=None)
    parser.add_argument(
        "--blas-threads", type=int, default=None,
        help="BLAS threads of the local runs (default: BLAS's own); Dask's "
             "workers use 1, and 1 here makes every run's scores equal",
    )
    parser.add_argument("--quick", action="store_true",
                        help="2,000 samples and 1 epoch, to try the script")
    args = parser.parse_args(argv)

    X, y = load_pair(args.mnist, args.digits)
    epochs = args.epochs
    if args.quick:
        X, y, epochs = X[:2000], y[:2000], 1
    n_fits = 3 * len(GRID["scratchmlpclassifier__eta"]) * len(
        GRID["scratchmlpclassifier__batch_size"]
    ) * len(GRID["scratchmlpclassifier__hidden_layers"])
    print(summary())
    print(f"MNIST {args.digits[0]} vs {args.digits[1]}: {len(X)} samples, "
          f"{n_fits} fits + refit, {epochs} epochs")

    done = {}
    for name in args.runs:
        print(f"{name}:")
        with threadpool_limits(limits=args.blas_threads, user_api="blas"):
            search, seconds = run(name, X, y, epochs, args.n_workers)
        print(f"  fit {seconds:.1f} s, best {search.best_params_} "
              f"{search.best_score_:.4f}")
        for other, other_search in done.items():
            print(f"  split scores equal to {other}'s: "
                  f"{_same_scores(search, other_search)}")
        done[name] = search


if __name__ == "__main__":
    main()
