"""Epoch time of skmlp and MLPClassifier as the batch, the width and the data grow.

Both train with skmlp's default setting -- Adam (step 0.001), batches of 128,
784-500-250-1, float32 -- with ``MLPClassifier(solver='adam', alpha=0,
batch_size=...)`` beside, on one BLAS thread each (the comparison that the
machine's load disturbs least), and one thing varies at a time:

- the batch size, 32 -> 2048;
- the width, hidden layers ``(w, w // 2)`` for w = 100 -> 2000;
- the number of samples, 1,000 -> 60,000: MNIST's training images, digits
  0-4 against 5-9.

For each point the two take turns ``--repeats`` times; the table gives the
median time per epoch of each and the median of the ratios within a turn.
``--quick`` runs fewer, smaller points in a few seconds.  Run from the
repository's root:

    SKMLP_MNIST=/path/to/mnist.npz python benchmarks/scaling.py [--quick]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from skmlp import ImageVectorizer, ScratchMLPClassifier, load_mnist, load_mnist_sample

FULL = {
    "batch_size": [32, 64, 128, 256, 512, 1024, 2048],
    "width": [100, 250, 500, 1000, 2000],
    "n_samples": [1000, 3000, 10000, 30000, 60000],
}
QUICK = {"batch_size": [32, 128, 512], "width": [100, 500], "n_samples": [1000, 3000]}
BASE = {"batch_size": 128, "width": 500, "n_samples": 12000}
QUICK_BASE = {"batch_size": 128, "width": 100, "n_samples": 2000}


def _epoch_seconds(name, X, y, width, batch_size, epochs):
    hidden = (width, width // 2)
    if name == "skmlp":
        clf = ScratchMLPClassifier(hidden_layers=hidden, batch_size=batch_size,
                                   epochs=epochs, tol=0.0, n_iter_no_change=epochs,
                                   random_state=0)
    else:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=hidden, solver="adam", alpha=0.0,
                            batch_size=batch_size, learning_rate_init=1e-3,
                            max_iter=epochs, tol=0.0, n_iter_no_change=epochs,
                            random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is asked for
        clf.fit(X, y)
    return (time.perf_counter() - start) / clf.n_iter_


def measure(X_all, y_all, point, epochs, repeats):
    X, y = X_all[:point["n_samples"]], y_all[:point["n_samples"]]
    times = {"skmlp": [], "sklearn": []}
    for _ in range(repeats):
        for name in times:
            times[name].append(_epoch_seconds(name, X, y, point["width"],
                                              point["batch_size"], epochs))
    ratio = statistics.median(a / b for a, b in zip(times["skmlp"], times["sklearn"],
                                                    strict=True))
    return {name: statistics.median(t) for name, t in times.items()}, ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer, smaller points, on MNIST's shipped sample")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per fit (default: 2, 1 with --quick)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="turns per point (default: 3, 1 with --quick)")
    args = parser.parse_args()
    grid, base = (QUICK, QUICK_BASE) if args.quick else (FULL, BASE)
    epochs = args.epochs or (1 if args.quick else 2)
    repeats = args.repeats or (1 if args.quick else 3)

    (images, labels), _ = load_mnist_sample() if args.quick else load_mnist()
    X = ImageVectorizer(dtype=np.float32).fit_transform(images)
    y = (labels >= 5).astype(int)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))  # any prefix holds every digit
    X, y = np.ascontiguousarray(X[order]), y[order]

    print(f"{epochs} epoch(s) x {repeats} turn(s) per point, one BLAS thread, "
          f"float32; others fixed at {base}")
    print("| varied | value | skmlp s/epoch | MLPClassifier s/epoch | skmlp / MLP |")
    print("| --- | ---: | ---: | ---: | ---: |")
    with threadpool_limits(1):
        # Untimed, first: what the process pays once (numba loading skmlp's
        # compiled update, 0.6 - 0.8 s) would otherwise land on the first point.
        for name in ("skmlp", "sklearn"):
            _epoch_seconds(name, X[:256], y[:256], 16, 128, 1)
        for varied, values in grid.items():
            for value in values:
                point = {**base, varied: value}
                if point["n_samples"] > len(X):
                    continue
                seconds, ratio = measure(X, y, point, epochs, repeats)
                print(f"| {varied} | {value:,} | {seconds['skmlp']:.4f} | "
                      f"{seconds['sklearn']:.4f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
