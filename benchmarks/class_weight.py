"""Balanced accuracy on an imbalanced digit pair, with and without
class_weight='balanced'.

MNIST 4 vs 9 with only 1 in 20 of the training 9s kept; tested on the full,
balanced test set of 4s and 9s.  Run from the repository's root:

    SKMLP_MNIST=/path/to/mnist.npz PYTHONPATH=. python benchmarks/class_weight.py
"""

import argparse
import warnings

import numpy as np
from sklearn.metrics import balanced_accuracy_score

from skmlp import ImageVectorizer, ScratchMLPClassifier, load_mnist


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", type=int, nargs=2, default=(4, 9))
    parser.add_argument("--keep", type=int, default=20, help="keep 1 in KEEP")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256])
    args = parser.parse_args()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    a, b = args.pair
    train = np.flatnonzero(y_train == a)
    rare = np.flatnonzero(y_train == b)[:: args.keep]
    train = np.concatenate([train, rare])
    test = np.isin(y_test, args.pair)
    vectorize = ImageVectorizer(dtype=np.float32)
    X, y = vectorize.fit_transform(x_train[train]), y_train[train]
    X_test, y_test = vectorize.transform(x_test[test]), y_test[test]
    print(f"train: {np.sum(y == a)} x {a}, {np.sum(y == b)} x {b}; "
          f"test: {np.sum(y_test == a)} x {a}, {np.sum(y_test == b)} x {b}")
    for class_weight in (None, "balanced"):
        clf = ScratchMLPClassifier(tuple(args.hidden), epochs=args.epochs,
                                   class_weight=class_weight, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        score = balanced_accuracy_score(y_test, clf.predict(X_test))
        print(f"class_weight={class_weight!r}: balanced accuracy {score:.4f}")


if __name__ == "__main__":
    main()
