"""Compare candidate defaults of ScratchMLPClassifier on hard digit pairs.

Each configuration (a JSON dict of parameters over the defaults) is trained on
every pair with each seed; the line printed gives the mean and the worst test
accuracy of each pair, and of all runs.  MNIST comes from ``load_mnist``'s
sources (e.g. ``SKMLP_MNIST``).
"""

import argparse
import json
import time

import numpy as np

from skmlp import DigitPairSelector, ImageVectorizer, ScratchMLPClassifier, load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+",
                        default=["3-5", "8-9", "4-9", "2-7", "7-9"])
    parser.add_argument("--seeds", type=int, default=3, help="random_state 0 .. N-1")
    parser.add_argument("--configs", nargs="+", default=["{}"],
                        help="JSON dicts of parameters, e.g. '{\"batch_size\": 256}'")
    args = parser.parse_args()

    (x_train, y_train), (x_test, y_test) = load_mnist()
    vectorize = ImageVectorizer()
    data = {}
    for pair in args.pairs:
        d1, d2 = map(int, pair.split("-"))
        selector = DigitPairSelector(d1, d2)
        X, y = selector.fit_resample(x_train, y_train)
        X_test, y_test_pair = selector.fit_resample(x_test, y_test)
        data[pair] = (vectorize.transform(X), y,
                      vectorize.transform(X_test), y_test_pair)

    for config in args.configs:
        params = json.loads(config)
        start = time.perf_counter()
        accuracies = np.array([
            [
                ScratchMLPClassifier(**{"random_state": seed, **params})
                .fit(X, y).score(X_test, y_test_pair) * 100
                for seed in range(args.seeds)
            ]
            for X, y, X_test, y_test_pair in data.values()
        ])
        per_pair = " | ".join(
            f"{pair}: {row.mean():.2f} [{row.min():.2f}]"
            for pair, row in zip(data, accuracies)
        )
        print(f"{params} {per_pair} || mean={accuracies.mean():.3f} "
              f"min={accuracies.min():.2f} "
              f"t={time.perf_counter() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
