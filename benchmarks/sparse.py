"""Sparse inputs: the fast engine's compiled CSR products against the BLAS.

The fast engine trains a dense ``X`` that is mostly zeros as CSR, and a CSR
``X`` as it is, through the compiled loops of ``skmlp.nn._sparse_products``;
``skmlp.nn._sparse_input.SPARSE_INPUT`` is the density below which it does.
This script measures, on one BLAS thread:

1. the first layer's two products of one batch (forward ``X @ W`` and the
   gradient ``X.T @ delta``), the loops against the BLAS on the batch's
   columns with values (the dense path), on random values of several
   densities (where the loops stop paying) and, with MNIST, on pairs of
   digits and all ten, raw and deskewed;
2. whole epochs of a default fit, alternately (so that a change in the
   machine's load hits both alike): MNIST's 1s and 5s trained as CSR and
   through the BLAS, and one-hot encoded categories (``--columns`` columns of
   ``--levels`` levels: 1 % density) as CSR and densified.

    python benchmarks/sparse.py [--repeats 5] [--quick]
"""

import argparse
import os
import statistics
import time
import timeit

import numpy as np
from scipy import sparse
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from skmlp import ImageVectorizer, ScratchMLPClassifier, load_mnist
from skmlp.nn import _sparse_input, _sparse_products


def one_hot_problem(n_samples, n_columns, n_levels, seed=0):
    """Categories drawn uniformly; the label is a sum of per-level scores."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_levels, (n_samples, n_columns))
    scores = rng.standard_normal((n_columns, n_levels))
    total = scores[np.arange(n_columns), codes].sum(axis=1)
    y = (total > np.median(total)).astype(int)
    X = OneHotEncoder(dtype=np.float32).fit_transform(codes)
    return X.tocsr(), y


def products(X, batch_size, hidden=500, number=10, seed=0):
    """Microseconds of the first layer's two products of one batch of the
    dense ``X``: ``(loops, blas, density of the batch's inked columns)``."""
    rng = np.random.default_rng(seed)
    S = sparse.csr_array(X)
    rows = rng.permutation(X.shape[0])[:batch_size]
    W = rng.standard_normal((X.shape[1], hidden)).astype(np.float32)
    delta = rng.standard_normal((batch_size, hidden)).astype(np.float32)
    out = np.empty((batch_size, hidden), np.float32)
    grad = np.empty_like(W)

    def loops():  # as in training: the forward product counts the columns
        batch = _sparse_products.SparseRows(S, rows)
        batch.times(W, out)
        columns = batch.columns_with_values()
        batch.with_gradient_columns(columns).transposed_times(
            delta, grad[:len(columns)])

    def blas():  # what the dense path does: gather, leave blank columns out
        Xb = np.take(X, rows, axis=0)
        columns = np.flatnonzero(Xb.any(axis=0))
        Xb = np.take(Xb, columns, axis=1)
        np.matmul(Xb, np.take(W, columns, axis=0), out=out)
        np.matmul(Xb.T, delta, out=grad[:len(columns)])

    loops()  # compiled before the clock starts
    times = [min(timeit.repeat(case, number=number, repeat=5)) / number * 1e6
             for case in (loops, blas)]
    inked = np.count_nonzero(X[rows].any(axis=0))
    return (*times, np.count_nonzero(X[rows]) / (batch_size * inked))


def epoch_seconds(X, y, through_blas=False):
    """One epoch of a default fit; ``through_blas``: a dense ``X`` as it is."""
    saved = _sparse_input.SPARSE_INPUT
    _sparse_input.SPARSE_INPUT = -1.0 if through_blas else saved
    try:
        clf = ScratchMLPClassifier(epochs=1, random_state=0)
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start
    finally:
        _sparse_input.SPARSE_INPUT = saved


def _epochs(cases, repeats):
    """Median seconds of each ``name: (X, y, through_blas)``, alternately."""
    times = {name: [] for name in cases}
    for X, y, blas in cases.values():
        epoch_seconds(X[:500], y[:500], blas)  # warm up, untimed
    for _ in range(repeats):
        for name, (X, y, blas) in cases.items():
            times[name].append(epoch_seconds(X, y, blas))
    for name, seconds in times.items():
        print(f"  {name:<38} median {statistics.median(seconds):.3f} s "
              f"(range {min(seconds):.3f}-{max(seconds):.3f})")


def _mnist_sets(quick):
    try:
        (images, labels), _ = load_mnist()
    except (OSError, ValueError) as exc:
        print(f"(no MNIST: {exc}; the MNIST rows are left out)")
        return {}
    n = 12_000 if quick else 60_000
    images, labels = images[:n], labels[:n]
    sets = {}
    for deskew in (False, True):
        X = ImageVectorizer(deskew=deskew).fit_transform(images)
        for name, digits in (("1 vs 5", (1, 5)), ("4 vs 9", (4, 9)),
                             ("ten digits", range(10))):
            keep = np.isin(labels, list(digits))
            label = name + (", deskewed" if deskew else "")
            sets[label] = (np.ascontiguousarray(X[keep]),
                           (labels[keep] == max(digits)).astype(int))
    return sets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="fewer images and cases, one repeat")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--levels", type=int, default=100)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    print(f"load average {os.getloadavg()}; one BLAS thread; 500 units; "
          "microseconds of both first-layer products of one batch")
    mnist = _mnist_sets(args.quick)
    with threadpool_limits(1, "blas"):
        print(f"\n{'data':<28} {'batch':>5} {'density':>8} {'loops':>8} "
              f"{'BLAS':>8} {'ratio':>6}")
        random = {f"random, {d:.0%} nonzero": (
            rng.random((4000, 784)) < d).astype(np.float32)
            * rng.random((4000, 784), dtype=np.float32)
            for d in (0.1, 0.2, 0.3, 0.4, 0.5)}
        cases = {**random, **{name: X for name, (X, _) in mnist.items()}}
        for name, X in cases.items():
            for batch_size in (128,) if args.quick else (128, 1000):
                loops, blas, density = products(X, batch_size)
                print(f"{name:<28} {batch_size:>5} {density:>8.1%} {loops:>8.0f} "
                      f"{blas:>8.0f} {loops / blas:>6.2f}")
        print("\nwhole epochs of a default fit:")
        epochs = {}
        if "1 vs 5" in mnist:
            X, y = mnist["1 vs 5"]
            epochs["MNIST 1 vs 5 as CSR"] = (X, y, False)
            epochs["MNIST 1 vs 5 through the BLAS"] = (X, y, True)
        X, y = one_hot_problem(args.samples, args.columns, args.levels)
        epochs[f"one-hot {X.shape[1]} columns, CSR"] = (X, y, False)
        epochs["one-hot, densified, through the BLAS"] = (X.toarray(), y, True)
        _epochs(epochs, repeats)


if __name__ == "__main__":
    main()
