"""Test accuracy on an MNIST digit pair with and without dropout.

    SKMLP_MNIST=/path/to/mnist.npz PYTHONPATH=. python benchmarks/dropout.py \
        --pair 4 9 --dropout 0 0.2
"""

import argparse
import time
import warnings

import numpy as np

from skmlp import ImageVectorizer, ScratchMLPClassifier, load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", type=int, nargs=2, default=(4, 9))
    parser.add_argument("--dropout", type=float, nargs="+", default=[0.0, 0.2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 250])
    args = parser.parse_args()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    train, test = np.isin(y_train, args.pair), np.isin(y_test, args.pair)
    vectorize = ImageVectorizer(dtype=np.float32)
    X, y = vectorize.fit_transform(x_train[train]), y_train[train]
    X_test, y_test = vectorize.transform(x_test[test]), y_test[test]
    for dropout in args.dropout:
        clf = ScratchMLPClassifier(tuple(args.hidden), epochs=args.epochs,
                                   dropout=dropout, random_state=0)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        print(f"dropout={dropout}: test accuracy {clf.score(X_test, y_test):.4f} "
              f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
