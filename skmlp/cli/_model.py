"""Loading a saved model for ``skmlp evaluate`` and ``skmlp predict``.

A model file is an argument of the command: a file that is missing, damaged,
of another kind or holding no classifier of MNIST's 784 pixels is a usage
error (exit status 2) in one line.  ``.skops`` files are loaded trusting
skmlp's own types only; one that holds other types is refused, with what to do
about it.
"""

import sys
import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ..preprocessing import ImageVectorizer
from ._options import EXIT_FAILURE, EXIT_USAGE, MNIST_PIXELS, CommandError, one_line

IMAGE_SHAPE = (28, 28)

#: What ``skmlp predict`` (and a model) takes, for the messages.
ACCEPTED_SHAPES = ("(n, 28, 28) images, such as MNIST's uint8 ones, (n, 28, 28, 1) "
                   "or (n, 784) rows of pixels")


def _usage_error(message):
    return CommandError(f"argument MODEL: {message}", EXIT_USAGE)


def _untrusted_types(path):
    """The types of a .skops file beyond skmlp's own, or None if unknown."""
    from ..persistence import TRUSTED_TYPES

    try:
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
    except Exception:  # noqa: BLE001 - only to enrich a message
        return None
    return sorted(set(untrusted) - set(TRUSTED_TYPES))


def load_model(path):
    """Load ``path`` with :func:`skmlp.persistence.load`; one-line errors.

    Warnings of the loading (another skmlp or scikit-learn version) are shown
    on one line each.
    """
    from ..persistence import load

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = load(path)
    except FileNotFoundError as exc:
        raise _usage_error(f"{path} does not exist") from exc
    except PermissionError as exc:
        raise _usage_error(one_line(exc.strerror or exc)) from exc
    except ImportError as exc:  # a .skops file without skops installed
        raise CommandError(one_line(exc), EXIT_FAILURE) from exc
    except ValueError as exc:  # damaged, truncated, of another kind
        raise _usage_error(one_line(exc)) from exc
    except TypeError as exc:  # skops' UntrustedTypesFoundException
        types = _untrusted_types(path)
        listed = ", ".join(types) if types else "types other than skmlp's own"
        example = f"trusted=skmlp.TRUSTED_TYPES + {types!r}" if types else \
            "trusted=skmlp.TRUSTED_TYPES + [...]"
        raise _usage_error(
            f"{path} holds {listed}, which skmlp does not trust: loading a type "
            "can run its code. Only if you know where the file comes from, load "
            f"it in Python with skmlp.persistence.load(path, {example}); "
            "skmlp's command line trusts skmlp's types only"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - e.g. a pickle of a missing module
        raise _usage_error(f"cannot load {path}: {type(exc).__name__}: "
                           f"{one_line(exc)}") from exc
    for warning in caught:
        print(f"warning: {one_line(warning.message)}", file=sys.stderr)
    return model


def describe(model):
    """``ImageVectorizer -> ScratchMLPClassifier`` for a pipeline, else the
    class name."""
    if isinstance(model, Pipeline):
        return " -> ".join(type(step).__name__ for _, step in model.steps)
    return type(model).__name__


def check_mnist_classifier(model, path):
    """A fitted classifier of 784 inputs, or a one-line usage error."""
    if not (is_classifier(model) and hasattr(model, "predict")):
        raise _usage_error(f"{path} holds {describe(model)}, not a classifier; "
                           "save one with skmlp train --save")
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise _usage_error(f"{path} holds {describe(model)}, which is not "
                           "fitted; fit it before saving") from exc
    n_features = getattr(model, "n_features_in_", None)
    if n_features != MNIST_PIXELS:
        raise _usage_error(
            f"{path} holds a classifier of {n_features} inputs, not of the "
            f"{MNIST_PIXELS} pixels of an MNIST image")


def takes_images(model):
    """Whether ``model`` starts with an ImageVectorizer, which takes images."""
    return isinstance(model, Pipeline) and isinstance(model[0], ImageVectorizer)


def model_input(model, X):
    """``X`` as ``model`` takes it.

    A pipeline starting with an ImageVectorizer takes images or rows as they
    are (it flattens, deskews if it was trained so, and scales them itself).
    Any other model is given what ``skmlp train --no-deskew`` gives its
    classifier: images are flattened and scaled by ``ImageVectorizer()``;
    rows of 784 values go in as they are.
    """
    if takes_images(model) or X.ndim == 2:
        return X
    return ImageVectorizer().transform(X)


def check_images(X, what):
    """Refuse, in one line, an array that holds no MNIST-sized images."""
    shape = X.shape
    images = X.ndim == 3 and shape[1:] == IMAGE_SHAPE
    channel = X.ndim == 4 and shape[1:] == (*IMAGE_SHAPE, 1)
    rows = X.ndim == 2 and shape[1] == MNIST_PIXELS
    if not (images or channel or rows) or shape[0] == 0:
        raise CommandError(f"{what} holds an array of shape {shape}; expected "
                           f"{ACCEPTED_SHAPES}, with at least one image",
                           EXIT_USAGE)
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise CommandError(f"{what} holds {X.dtype} values; expected numbers "
                           "(uint8 pixels from 0 to 255, or floats)", EXIT_USAGE)
    if np.issubdtype(X.dtype, np.inexact) and not np.isfinite(X).all():
        raise CommandError(f"{what} holds NaN or infinite values; every pixel "
                           "must be a finite number", EXIT_USAGE)


def classes_as_digits(model, path):
    """The model's classes as ints, or a usage error if they are not digits."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind not in "iu" or not np.isin(classes, range(10)).all():
        raise _usage_error(f"{path} holds a classifier of the classes "
                           f"{list(classes)}, which are not the digits 0 to 9")
    return [int(label) for label in classes]
