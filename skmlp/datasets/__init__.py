"""MNIST, read from a local copy when there is one, downloaded otherwise.

:func:`load_mnist` returns MNIST exactly as ``keras.datasets.mnist.load_data()``
does, whatever the source, and checks what it read against MNIST's known
SHA-256 digests, so a truncated, corrupt or foreign file (Fashion-MNIST has
the same layout) is an error instead of a silently different dataset.
Local files are read in bounded memory: each array's header is checked
against MNIST's layout before anything is allocated (``_layout``, ``_npz``,
``_idx``).
:func:`load_mnist_sample` returns the small sample shipped with skmlp, for
tests and examples on a machine with neither network nor MNIST.
"""

import hashlib
import os
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.datasets import fetch_openml

from ._idx import _read_idx_folder
from ._layout import (
    _IMAGE_SHAPE,
    _KEYS,
    _LAYOUT,
    _MNIST_COUNTS,
    MNISTFormatError,
    MNISTNotFoundError,
    _check_layout,
)
from ._npz import _read_npz

__all__ = [
    "ENV_VAR",
    "MNISTFormatError",
    "MNISTNotFoundError",
    "load_mnist",
    "load_mnist_sample",
]

#: Environment variable naming a local MNIST: a Keras-style .npz or an IDX folder.
ENV_VAR = "SKMLP_MNIST"

# Number of samples and SHA-256 of the raw C-order bytes of each array of
# Keras' mnist.npz; any faithful copy of MNIST (IDX files, OpenML) gives these.
_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
_FINGERPRINT = {key: (_MNIST_COUNTS[key], _SHA256[key]) for key in _KEYS}
# Pixel mean of MNIST's images, quoted when a file turns out to hold other data.
_PIXEL_MEAN = {"x_train": 33.318421449829934, "x_test": 33.791224489795916}

_SAMPLE_FILE = "mnist_sample.npz"
_OPENML_NAME = "mnist_784"
_OPENML_VERSION = 1


# ----------------------------------------------------------------- public API


def load_mnist(path=None, *, data_home=None, verify=True, sample_if_missing=False):
    """Load MNIST as ``keras.datasets.mnist.load_data()`` returns it.

    The first source that applies is used:

    1. ``path``, when given;
    2. the file or folder named by the environment variable ``SKMLP_MNIST``;
    3. Keras' cache file ``~/.keras/datasets/mnist.npz`` (``$KERAS_HOME`` when
       set), read with NumPy, so Keras need not be installed;
    4. ``keras.datasets.mnist.load_data()``, when Keras is installed (the
       ``skmlp[keras]`` extra; Keras needs a backend: TensorFlow, JAX or
       PyTorch);
    5. scikit-learn's ``fetch_openml("mnist_784")``, cached in scikit-learn's
       data home, split 60000 / 10000 in the original order.

    ``path`` and ``SKMLP_MNIST`` name a Keras-style ``.npz`` or a folder holding
    the four IDX files of the MNIST distribution (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each optionally gzipped with a ``.gz``
    suffix).  A local source that is missing or unreadable is an error: the
    next source is tried only when the previous one does not apply.

    Parameters
    ----------
    path : str or os.PathLike, default=None
        A Keras-style ``mnist.npz`` or a folder of IDX files.
    data_home : str or os.PathLike, default=None
        The data home of scikit-learn, where ``fetch_openml`` caches its download;
        None means ``~/scikit_learn_data``.
    verify : bool, default=True
        Compare each array with MNIST's known SHA-256 digest.  A mismatch
        raises :class:`MNISTFormatError`; pass False only to load a modified
        copy of MNIST on purpose.  Keys, shapes, dtypes, label range and
        sample counts are checked either way.
    sample_if_missing : bool, default=False
        Where :class:`MNISTNotFoundError` would be raised, return
        :func:`load_mnist_sample` instead (5000 and 1000 images): for
        examples and notebooks that run anywhere, if smaller where MNIST is
        missing.  Other errors are raised either way.

    Returns
    -------
    (x_train, y_train) : tuple of ndarray
        The uint8 images of shape (60000, 28, 28) and uint8 digits 0-9 of shape
        (60000,), in MNIST's original order.
    (x_test, y_test) : tuple of ndarray
        The same for the 10000 test images.

    Raises
    ------
    MNISTFormatError
        When the source holds something other than MNIST: a truncated or
        corrupt file, other keys, shapes, dtypes or labels, other data.  A
        file is checked from its headers before its data is read, and no more
        than MNIST's own size is ever read from it.
    PermissionError
        When a local file exists but may not be read; its ``filename`` is
        the file's path.
    MNISTNotFoundError
        When ``path`` or ``SKMLP_MNIST`` names nothing, or when no source
        applies (no local copy, and no network); not with
        ``sample_if_missing=True``.

    See Also
    --------
    load_mnist_sample : The small sample shipped with skmlp.

    Examples
    --------
    >>> from skmlp import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist()  # doctest: +SKIP
    >>> x_train.shape, y_train[:5]  # doctest: +SKIP
    ((60000, 28, 28), array([5, 0, 4, 1, 9], dtype=uint8))
    """
    if sample_if_missing:
        try:
            return load_mnist(path, data_home=data_home, verify=verify)
        except MNISTNotFoundError:
            return load_mnist_sample()
    if path is not None:
        return _load_local(path, "path", verify)
    if os.environ.get(ENV_VAR):
        return _load_local(os.environ[ENV_VAR], ENV_VAR, verify)
    for cache_file in _keras_cache_files():
        if cache_file.is_file():
            return _load_local(cache_file, "Keras' cache file", verify)
    return _download(data_home, verify)


def load_mnist_sample():
    """Load the small MNIST sample shipped with skmlp.

    The sample holds the first 500 training images and the first 100 test
    images of each digit, in MNIST's original order (5000 and 1000 images),
    in the same layout as :func:`load_mnist`.  It needs neither network nor
    MNIST, which makes it the data of tests and quick examples.  MNIST is by
    Yann LeCun, Corinna Cortes and Christopher J.C. Burges, under CC BY-SA 3.0.

    Returns
    -------
    (x_train, y_train) : tuple of ndarray
        The uint8 images of shape (5000, 28, 28) and uint8 digits of shape (5000,).
    (x_test, y_test) : tuple of ndarray
        The uint8 images of shape (1000, 28, 28) and uint8 digits of shape (1000,).

    Examples
    --------
    >>> from skmlp import load_mnist_sample
    >>> (x_train, y_train), (x_test, y_test) = load_mnist_sample()
    >>> x_train.shape, x_test.shape
    ((5000, 28, 28), (1000, 28, 28))
    >>> y_train[:10]
    array([5, 0, 4, 1, 9, 2, 1, 3, 1, 4], dtype=uint8)
    """
    resource = resources.files("skmlp").joinpath("data", _SAMPLE_FILE)
    with resources.as_file(resource) as sample:
        arrays = _read_npz(sample, limits=_MNIST_COUNTS)
        return _validated(arrays, f"the MNIST sample {sample}", fingerprint=None)


# ------------------------------------------------------------------ sources


def _load_local(path, origin, verify):
    """Read ``path`` (an .npz or an IDX folder), failing loudly if it is bad."""
    path = Path(os.fspath(path)).expanduser()
    if not path.exists():
        raise MNISTNotFoundError(
            f"{path} (given by {origin}) does not exist; expected {_LAYOUT}."
        )
    if not path.is_dir() and not path.is_file():
        raise MNISTFormatError(
            f"{path} (given by {origin}) is neither a file nor a folder (a device, "
            f"a pipe, ...); expected {_LAYOUT}."
        )
    # No file may announce more samples than load_mnist will accept.
    limits = {key: n_samples for key, (n_samples, _) in _FINGERPRINT.items()}
    if path.is_dir():
        arrays = _read_idx_folder(path, limits)
    else:
        arrays = _read_npz(path, limits)
    return _validated(arrays, str(path), _FINGERPRINT if verify else _counts_only())


def _keras_cache_files():
    """Where ``keras.datasets.mnist.load_data()`` caches its download."""
    # Keras uses $KERAS_HOME, else ~/.keras, else /tmp/.keras when home is
    # read-only; its datasets live in the "datasets" subfolder.
    if os.environ.get("KERAS_HOME"):
        homes = [Path(os.environ["KERAS_HOME"]).expanduser()]
    else:
        home = Path("~").expanduser()
        homes = [home / ".keras"]
        if not os.access(home, os.W_OK):
            homes.append(Path("/tmp/.keras"))
    return [keras_home / "datasets" / "mnist.npz" for keras_home in homes]


def _download(data_home, verify):
    """Keras' download, else OpenML's; a failure names every source tried."""
    failures = []
    fingerprint = _FINGERPRINT if verify else _counts_only()
    arrays, failure = _from_keras()
    if arrays is not None:
        return _validated(arrays, "keras.datasets.mnist.load_data()", fingerprint)
    failures.append(failure)
    if not failure.startswith("Keras is not installed"):
        # Keras was there but failed: say so rather than switching silently.
        warnings.warn(f"{failure}; trying OpenML instead.", UserWarning, stacklevel=3)
    arrays, failure = _from_openml(data_home)
    if arrays is not None:
        return _validated(arrays, f"OpenML {_OPENML_NAME}", fingerprint)
    failures.append(failure)
    raise MNISTNotFoundError(
        f"MNIST is not available: no path was given, {ENV_VAR} is not set, there "
        f"is no Keras cache file ({', '.join(map(str, _keras_cache_files()))}), "
        f"and the download failed ({'; '.join(failures)}). Supply a local copy of "
        f"{_LAYOUT}: pass its path, load_mnist('/path/to/mnist.npz'), or set the "
        f"environment variable {ENV_VAR}=/path/to/mnist.npz."
    )


def _from_keras():
    """``(arrays, None)`` from Keras, or ``(None, reason)`` when it cannot."""
    try:
        from keras.datasets import mnist
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "keras":
            return None, "Keras is not installed"
        return None, (
            f"Keras cannot be imported ({exc}); it needs a backend: TensorFlow, "
            "JAX or PyTorch"
        )
    except ImportError as exc:
        return None, f"Keras cannot be imported ({exc})"
    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as exc:  # Keras reports a failed download as a bare Exception
        return None, f"Keras could not download MNIST ({exc})"
    return {"x_train": x_train, "y_train": y_train,
            "x_test": x_test, "y_test": y_test}, None


def _from_openml(data_home):
    """``(arrays, None)`` from OpenML's mnist_784, or ``(None, reason)``."""
    try:
        X, y = fetch_openml(
            _OPENML_NAME,
            version=_OPENML_VERSION,
            data_home=data_home,
            return_X_y=True,
            as_frame=False,
            parser=_openml_parser(),
        )
    except OSError as exc:  # URLError, timeouts: no network and no cached copy
        return None, f"OpenML could not be reached ({exc})"
    source = f"OpenML {_OPENML_NAME}"
    X = np.asarray(X)
    n_train = _FINGERPRINT["x_train"][0]
    if X.ndim != 2 or X.shape[1] != np.prod(_IMAGE_SHAPE):
        raise MNISTFormatError(
            f"{source} returned data of shape {X.shape}; expected (70000, 784)."
        )
    images = _as_uint8(X, 255, source, "pixels").reshape(-1, *_IMAGE_SHAPE)
    try:
        # OpenML gives the digits as strings ('5', '0', ...).
        labels = np.asarray(y).astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise MNISTFormatError(f"{source} returned labels that are not digits "
                               f"({exc}).") from exc
    labels = _as_uint8(labels, 9, source, "labels")
    return {
        "x_train": images[:n_train],
        "y_train": labels[:n_train],
        "x_test": images[n_train:],
        "y_test": labels[n_train:],
    }, None


def _openml_parser():
    # The pandas parser is much faster; liac-arff needs nothing but sklearn.
    try:
        import pandas  # noqa: F401
    except ImportError:
        return "liac-arff"
    return "pandas"


# --------------------------------------------------------------- validation


def _counts_only():
    """The fingerprint's sample counts, without digests."""
    return {key: (n, None) for key, (n, _) in _FINGERPRINT.items()}


def _validated(arrays, source, fingerprint):
    """Check and convert the four arrays; return them in Keras' nesting.

    ``fingerprint`` maps each key to (n_samples, sha256), either may be None;
    None skips both checks (the shipped sample has counts of its own).
    """
    checked = {}
    for key in _KEYS:
        array = np.asarray(arrays[key])
        is_images = key[0] == "x"
        _check_layout(source, key, array.shape, array.dtype)
        checked[key] = _as_uint8(array, 255 if is_images else 9, source, key)
    for part in ("train", "test"):
        n_x, n_y = len(checked[f"x_{part}"]), len(checked[f"y_{part}"])
        if n_x != n_y:
            raise MNISTFormatError(
                f"{source}: x_{part} holds {n_x} images but y_{part} {n_y} labels."
            )
    if fingerprint is not None:
        _check_fingerprint(checked, source, fingerprint)
    return (
        (checked["x_train"], checked["y_train"]),
        (checked["x_test"], checked["y_test"]),
    )


def _as_uint8(array, high, source, what):
    """``array`` as uint8 after checking its values are integers in 0..high."""
    if array.size and (array.min() < 0 or array.max() > high):
        raise MNISTFormatError(
            f"{source}: {what} range from {array.min()} to {array.max()}, "
            f"expected integers from 0 to {high}."
        )
    converted = array.astype(np.uint8, copy=False)
    if array.dtype.kind == "f" and not np.array_equal(converted, array):
        raise MNISTFormatError(f"{source}: {what} are not whole numbers.")
    return converted


def _check_fingerprint(arrays, source, fingerprint):
    for key in _KEYS:
        n_samples, digest = fingerprint[key]
        array = arrays[key]
        if n_samples is not None and len(array) != n_samples:
            raise MNISTFormatError(
                f"{source}: {key} holds {len(array)} samples, MNIST has "
                f"{n_samples}; expected {_LAYOUT}."
            )
        if digest is not None and _sha256(array) != digest:
            detail = ""
            if key in _PIXEL_MEAN:
                detail = (f" (pixel mean {array.mean():.4f}, MNIST's "
                          f"{_PIXEL_MEAN[key]:.4f})")
            raise MNISTFormatError(
                f"{source}: {key} is not MNIST's{detail}: its SHA-256 differs from "
                "that of MNIST's original data, so the file is corrupt or holds "
                "another dataset. Pass verify=False to load a modified copy on "
                "purpose."
            )


def _sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()
