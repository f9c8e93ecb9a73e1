"""Loading MNIST for a command, and fitting with Ctrl-C and warnings reported.

A bad ``--mnist`` is a usage error (exit status 2); a bad ``$SKMLP_MNIST`` or
no MNIST at all is a failure (1).  Either is one line on stderr.
"""

import contextlib
import os
import sys
import time
import warnings

import numpy as np
from tqdm.auto import tqdm

from ..datasets import (
    ENV_VAR,
    MNISTFormatError,
    MNISTNotFoundError,
    load_mnist,
    load_mnist_sample,
)
from ..exceptions import TrainingInterrupted
from ..preprocessing import DigitPairSelector, ImageVectorizer
from ._options import EXIT_FAILURE, EXIT_USAGE, CommandError, one_line

SAMPLE = "the MNIST sample shipped with skmlp"


def mnist_source(args):
    """A description of where ``--mnist`` / ``--sample`` read MNIST from."""
    if args.sample:
        return SAMPLE
    if args.mnist is not None:
        return args.mnist
    if os.environ.get(ENV_VAR):
        return f"${ENV_VAR}={os.environ[ENV_VAR]}"
    return "MNIST"


@contextlib.contextmanager
def reading_mnist(args):
    """Turn a failure to read MNIST into a one-line CommandError."""
    if args.mnist is not None:
        code, prefix = EXIT_USAGE, "argument --mnist: "
    else:
        code, prefix = EXIT_FAILURE, ""
    try:
        yield
    except (MNISTFormatError, MNISTNotFoundError) as exc:
        raise CommandError(f"{prefix}{exc}", code) from exc
    except OSError as exc:  # e.g. permission denied
        raise CommandError(f"{prefix}cannot read {mnist_source(args)}: {exc}",
                           code) from exc


def load_data(args):
    """``((x_train, y_train), (x_test, y_test))`` and a description of the source."""
    if args.sample:
        return load_mnist_sample(), SAMPLE
    with reading_mnist(args):
        return load_mnist(args.mnist), mnist_source(args)


def deskewed(data):
    """``data`` with each image deskewed, as float32 rows of pixels not yet
    scaled: what ``ImageVectorizer(deskew=True)`` does before scaling."""
    deskew = ImageVectorizer(deskew=True, normalize=None)
    (x_train, y_train), (x_test, y_test) = data
    return ((deskew.fit_transform(x_train), y_train),
            (deskew.transform(x_test), y_test))


def select(data, digits):
    """Train and test images and labels of two or more digits, in their
    order in MNIST."""
    (x_train, y_train), (x_test, y_test) = data
    if len(digits) == 2:  # the notebook's step
        selector = DigitPairSelector(*digits)
        return (*selector.fit_resample(x_train, y_train),
                *selector.fit_resample(x_test, y_test))
    train, test = np.isin(y_train, digits), np.isin(y_test, digits)
    return x_train[train], y_train[train], x_test[test], y_test[test]


def fit(estimator, X, y):
    """Fit; return (seconds, interrupted).  Warnings are shown on one line each.

    Ctrl-C (or SIGTERM, see :func:`skmlp.cli.main`) raises KeyboardInterrupt,
    which ScratchMLPClassifier raises again after keeping the last completed
    epoch: that, and only that, is an interruption.  Its TrainingInterrupted
    warning is not shown; the command says what was interrupted.
    """
    start = time.perf_counter()
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            estimator.fit(X, y)
        except KeyboardInterrupt:
            interrupted = True
        except ValueError as exc:  # e.g. training diverged: the message says why
            raise CommandError(exc) from exc
    seconds = time.perf_counter() - start
    for warning in caught:
        if not issubclass(warning.category, TrainingInterrupted):
            tqdm.write(f"warning: {one_line(warning.message)}", file=sys.stderr)
    return seconds, interrupted


def n_epochs_run(clf):
    return getattr(clf, "n_iter_", 0)
