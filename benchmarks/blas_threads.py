"""Does limiting BLAS to one thread pay when training with small batches?

Fits ScratchMLPClassifier with the BLAS allowed 1 thread and with its default
number of threads, alternately (so that a change in the machine's load hits
both alike), for several data sets and batch sizes, and prints the median fit
time of each and their ratio.  The decision it informs is
``skmlp.nn.fast.SINGLE_THREAD_GEMM`` (set in ``skmlp.nn._blas``).

    python benchmarks/blas_threads.py [--repeats 5] [--epochs 2]
"""

import argparse
import statistics
import time

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from skmlp import ScratchMLPClassifier
from skmlp._machine import blas_info, load_average, summary
from skmlp.benchmark import load_digit_pair
from skmlp.nn import _blas, fast


def _fit_seconds(X, y, batch_size, epochs, threads):
    clf = ScratchMLPClassifier(
        solver="sgd", eta=1e-4, momentum=0.9, batch_size=batch_size, epochs=epochs,
        tol=0.0, n_iter_no_change=epochs, random_state=0,
    )
    with threadpool_limits(threads, "blas"):
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--sample", action="store_true",
                        help="MNIST sample shipped with skmlp instead of MNIST")
    args = parser.parse_args()
    # Switch skmlp's own policy off: this script measures both choices.
    _blas.SINGLE_THREAD_GEMM = 0

    digits, labels = load_digits(return_X_y=True)
    cases = [("load_digits (64 features)", (digits / 16).astype(np.float32), labels)]
    X, y = load_digit_pair(source="sample" if args.sample else "mnist")
    cases.append(("MNIST 1 vs 5 (784 features)", X, y))
    threads = max(pool["num_threads"] for pool in blas_info())
    print(summary())
    print(f"BLAS threads by default: {threads}")
    print(f"{'data':<30} {'batch':>6} {'1 thread s':>11} {f'{threads} threads s':>12}"
          f" {'ratio':>7}  largest GEMM (M*N*K)")
    for name, X, y in cases:
        layer_sizes = [X.shape[1], 500, 250, 1]
        for batch_size in (32, 64, 128, 256, 512, 1000):
            times = {1: [], threads: []}
            for _ in range(args.repeats):
                for n_threads in times:
                    times[n_threads].append(
                        _fit_seconds(X, y, batch_size, args.epochs, n_threads)
                    )
            one = statistics.median(times[1])
            many = statistics.median(times[threads])
            work = fast.largest_gemm(layer_sizes, batch_size)
            print(f"{name:<30} {batch_size:>6} {one:>11.3f} {many:>12.3f} "
                  f"{many / one:>7.2f}  {work:.3g}")
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
