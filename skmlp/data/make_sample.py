"""Make ``mnist_sample.npz``, the small MNIST sample shipped with skmlp.

The sample keeps the first ``--train-per-digit`` images of each digit of the
MNIST training set and the first ``--test-per-digit`` of the test set, in
their original order, and saves them in the layout of Keras' ``mnist.npz``
(``x_train``, ``y_train``, ``x_test``, ``y_test``; uint8).  No randomness is
involved, and the zip entries carry a fixed timestamp, so the same MNIST file
always gives a byte-identical sample::

    python skmlp/data/make_sample.py /path/to/mnist.npz

The source is read with :func:`skmlp.load_mnist`, which checks it against
MNIST's known SHA-256 digests first.
"""

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from skmlp.datasets import load_mnist

TRAIN_PER_DIGIT = 500
TEST_PER_DIGIT = 100
OUTPUT = Path(__file__).with_name("mnist_sample.npz")


def first_per_digit(y, n_per_digit):
    """Indices of the first ``n_per_digit`` samples of each digit, sorted.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Digit labels.
    n_per_digit : int
        Samples kept for each digit.

    Returns
    -------
    index : ndarray of int
        Increasing indices into ``y``, so the sample keeps the original order.
    """
    index = [np.flatnonzero(y == digit)[:n_per_digit] for digit in range(10)]
    return np.sort(np.concatenate(index))


def make_sample(mnist, train_per_digit=TRAIN_PER_DIGIT, test_per_digit=TEST_PER_DIGIT):
    """The sample's four arrays, as a dict in the Keras layout."""
    (x_train, y_train), (x_test, y_test) = mnist
    train = first_per_digit(y_train, train_per_digit)
    test = first_per_digit(y_test, test_per_digit)
    return {
        "x_train": x_train[train],
        "y_train": y_train[train],
        "x_test": x_test[test],
        "y_test": y_test[test],
    }


def save_npz(path, arrays):
    """``numpy.savez_compressed``, with a fixed timestamp on every zip entry."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="MNIST: a Keras-style .npz or an IDX folder")
    parser.add_argument("-o", "--output", default=OUTPUT, type=Path)
    parser.add_argument("--train-per-digit", type=int, default=TRAIN_PER_DIGIT)
    parser.add_argument("--test-per-digit", type=int, default=TEST_PER_DIGIT)
    args = parser.parse_args(argv)

    arrays = make_sample(load_mnist(args.source), args.train_per_digit,
                         args.test_per_digit)
    save_npz(args.output, arrays)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)")
    for key, array in arrays.items():
        print(f"  {key:8} {array.shape} sha256 "
              f"{hashlib.sha256(array.tobytes()).hexdigest()}")


if __name__ == "__main__":
    main()
