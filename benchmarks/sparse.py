"""One epoch on sparse one-hot data, as CSR and densified, on one BLAS thread.

The data: ``--samples`` rows of ``--columns`` categorical columns with
``--levels`` levels each, one-hot encoded by OneHotEncoder into float32 CSR
(``columns * levels`` features, one value per column and row: 1 % density
with the defaults).  The script fits ScratchMLPClassifier for one epoch on the
CSR matrix and on its dense form, alternately (so that a change in the
machine's load hits both alike), and prints the median time of each.  It then
times the first layer's products, alone, in the formulations that scipy
offers, which is what ``skmlp.nn.fast._matmul_into`` chose from.

    OPENBLAS_NUM_THREADS=1 python benchmarks/sparse.py [--repeats 5]
        [--hidden 500 250] [--samples 20000] [--columns 10] [--levels 100]
"""

import argparse
import os
import statistics
import time
import timeit

import numpy as np
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from skmlp import ScratchMLPClassifier


def one_hot_problem(n_samples, n_columns, n_levels, seed=0):
    """Categories drawn uniformly; the label is a sum of per-level scores."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_levels, (n_samples, n_columns))
    scores = rng.standard_normal((n_columns, n_levels))
    total = scores[np.arange(n_columns), codes].sum(axis=1)
    y = (total > np.median(total)).astype(int)
    X = OneHotEncoder(dtype=np.float32).fit_transform(codes)
    return X.tocsr(), y


def epoch_seconds(X, y, hidden):
    clf = ScratchMLPClassifier(hidden_layers=hidden, epochs=1, random_state=0)
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start


def product_microseconds(X, hidden, batch_size=128, number=200):
    """Median time of each formulation of the first layer's two products."""
    rng = np.random.default_rng(0)
    rows = rng.permutation(X.shape[0])[:batch_size]
    Xb, Xb_dense = X[rows], X[rows].toarray()
    W = rng.standard_normal((X.shape[1], hidden)).astype(np.float32)
    delta = rng.standard_normal((batch_size, hidden)).astype(np.float32)
    out = np.empty((batch_size, hidden), np.float32)
    grad = np.empty_like(W)
    cases = {
        "forward   CSR @ W (skmlp)": lambda: out.__setitem__(..., Xb @ W),
        "forward   dense @ W (BLAS)": lambda: np.matmul(Xb_dense, W, out=out),
        "gradient  X.T @ delta, CSC view (skmlp)":
            lambda: grad.__setitem__(..., Xb.T @ delta),
        "gradient  (delta.T @ X).T":
            lambda: grad.__setitem__(..., (delta.T @ Xb).T),
        "gradient  X.T.tocsr() @ delta":
            lambda: grad.__setitem__(..., Xb.T.tocsr() @ delta),
        "gradient  dense X.T @ delta (BLAS)":
            lambda: np.matmul(Xb_dense.T, delta, out=grad),
    }
    return {
        name: statistics.median(timeit.repeat(case, number=number, repeat=5))
        / number * 1e6
        for name, case in cases.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 250])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--levels", type=int, default=100)
    args = parser.parse_args()
    hidden = tuple(args.hidden)

    X, y = one_hot_problem(args.samples, args.columns, args.levels)
    X_dense = X.toarray()
    print(f"X: {X.shape[0]} x {X.shape[1]} float32, density "
          f"{X.nnz / np.prod(X.shape):.2%}; network {X.shape[1]}-"
          f"{'-'.join(map(str, hidden))}-1, batch 128, adam; "
          f"load average {os.getloadavg()}")
    times = {"CSR": [], "dense": []}
    with threadpool_limits(1, "blas"):
        epoch_seconds(X[:1000], y[:1000], hidden)  # warm up
        for _ in range(args.repeats):
            times["CSR"].append(epoch_seconds(X, y, hidden))
            times["dense"].append(epoch_seconds(X_dense, y, hidden))
        for name, seconds in times.items():
            print(f"one epoch, {name:<5}: median {statistics.median(seconds):.3f} s "
                  f"(range {min(seconds):.3f}-{max(seconds):.3f}, "
                  f"{args.repeats} repeats)")
        print(f"\nfirst layer's products, batch 128, {hidden[0]} units (median us):")
        for name, us in product_microseconds(X, hidden[0]).items():
            print(f"  {name:<42} {us:8.1f}")


if __name__ == "__main__":
    main()
