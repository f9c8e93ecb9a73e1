"""Saving and loading fitted models, safely and atomically.

Two formats, chosen by the file's suffix:

- ``.skops``: :mod:`skops.io`, which never runs code from the file.  A fitted
  skmlp model holds only plain values (arrays, numbers, strings, lists,
  tuples, dicts), so the only types skops asks about are skmlp's own classes,
  listed in :data:`TRUSTED_TYPES`.
- anything else (``.joblib``, ``.pkl``, ...): :mod:`joblib`, i.e. pickle.
  Load such files only from sources you trust.  A compression suffix
  (``model.joblib.gz``, ``.xz``, ``.bz2``, ``.lzma``, ``.z``) compresses as
  :func:`joblib.dump` would.

:func:`save` writes to a temporary file beside the target and renames it into
place only once every byte is on disk, so an interrupted save never leaves a
half-written model.  :func:`load` names the file and what it expected when the
file is truncated or of another kind.

The estimators stamp the skmlp version into their pickled state; loading a
model saved by another version warns with :class:`InconsistentVersionWarning`,
and a state that cannot be understood raises a ValueError at load time.
"""

import contextlib
import os
import secrets
import warnings
from pathlib import Path

import joblib
import numpy as np

__all__ = ["TRUSTED_TYPES", "InconsistentVersionWarning", "load", "save"]

#: Fully qualified names of skmlp's own classes, as ``skops.io`` reports them
#: with ``get_untrusted_types``.  Pass them as ``trusted=`` to ``skops.io.load``.
TRUSTED_TYPES = [
    "skmlp.classifier.ScratchMLPClassifier",
    "skmlp.preprocessing.DigitPairSelector",
    "skmlp.preprocessing.ImageVectorizer",
]

_SKOPS_SUFFIX = ".skops"
# joblib.dump picks these compressors from a file name; we write through a
# temporary file, so we pick them ourselves.
_JOBLIB_COMPRESSORS = {
    ".z": "zlib",
    ".gz": "gzip",
    ".bz2": "bz2",
    ".xz": "xz",
    ".lzma": "lzma",
}
_VERSION_KEY = "_skmlp_version"


class InconsistentVersionWarning(UserWarning):
    """A model is loaded with a version of skmlp other than the one that saved it.

    Like :class:`sklearn.exceptions.InconsistentVersionWarning`: the model may
    load but behave differently, or fail; refit it with the installed version
    when you can.

    Parameters
    ----------
    estimator_name : str
        Class of the estimator being loaded.
    current_version : str
        The installed skmlp version.
    original_version : str
        The skmlp version that saved the model ('unknown' if it was not
        recorded).
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version
        super().__init__(str(self))

    def __str__(self):
        return (
            f"Loading {self.estimator_name} saved by skmlp "
            f"{self.original_version} with skmlp {self.current_version}. "
            "It may give different results or fail; refit and save it again "
            "with the installed version when you can."
        )


# --------------------------------------------------------------------------
# Saving and loading files


def _format(path):
    return "skops" if path.suffix.lower() == _SKOPS_SUFFIX else "joblib"


def save(obj, path, *, compress=None):
    """Write ``obj`` to ``path`` atomically, in the format named by its suffix.

    The object is written to a temporary file in the same directory, flushed
    and synced to disk, then renamed over ``path``: whether the save succeeds,
    fails or is interrupted (Ctrl-C), ``path`` holds either the previous file
    or the complete new one, never part of a file.

    Parameters
    ----------
    obj : object
        Usually a fitted estimator or Pipeline.
    path : str or path-like
        Target file.  A ``.skops`` suffix saves with :func:`skops.io.dump` (no
        code runs on loading); any other suffix with :func:`joblib.dump`.
    compress : int or (str, int) or None, default=None
        The joblib compression, as in :func:`joblib.dump`.  None compresses only
        when the suffix names a compressor ('.gz', '.xz', '.bz2', '.lzma',
        '.z').  Ignored for ``.skops`` files.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"Cannot save to {path}: the directory {directory} does not exist."
        )
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never reuse a file someone else owns; mode 0o666 lets the umask
    # give the model the same permissions as any other new file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(obj, fh, path, compress)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: drop the partial file, keep the old one.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
    return path


def _write(obj, fh, path, compress):
    if _format(path) == "skops":
        _skops_io().dump(obj, fh)
        return
    if compress is None:
        method = _JOBLIB_COMPRESSORS.get(path.suffix.lower())
        compress = (method, 3) if method else 0
    joblib.dump(obj, fh, compress=compress)


def _skops_io():
    # skops is optional: only .skops files need it.
    try:
        import skops.io
    except ImportError as exc:
        raise ImportError(
            "Files with the suffix .skops need the skops package: "
            "pip install 'skmlp[skops]' (or pip install skops), or save with "
            "another suffix, such as .joblib."
        ) from exc
    return skops.io


def _fsync_directory(directory):
    # Makes the rename itself durable on POSIX; Windows cannot open folders.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(path, trusted=None):
    """Load an object written by :func:`save` (or by joblib / skops.io).

    Parameters
    ----------
    path : str or path-like
        A ``.skops`` file is read with :func:`skops.io.load`; any other with
        :func:`joblib.load`, which unpickles: load those only from sources you
        trust.
    trusted : list of str, default=None
        For ``.skops`` files only: the types to trust beyond skops' defaults.
        None trusts :data:`TRUSTED_TYPES` (skmlp's own classes).  A list
        replaces it, e.g. ``TRUSTED_TYPES + ["imblearn.pipeline.Pipeline"]``;
        see what a file holds with ``skops.io.get_untrusted_types(file=path)``.

    Returns
    -------
    obj : object
        The model (or any object) that the file holds.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, damaged or not a file of the expected
        format.
    skops.io.exceptions.UntrustedTypesFoundException
        If a ``.skops`` file holds types that are not trusted (a TypeError).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    if _format(path) == "skops":
        return _load_skops(path, TRUSTED_TYPES if trusted is None else trusted)
    try:
        return joblib.load(path)
    except Warning:
        raise  # warnings turned into errors are the user's choice
    except Exception as exc:
        raise ValueError(
            f"Cannot load {path} as a joblib file: {_describe(exc, path)}. "
            "Expected a model written by skmlp.persistence.save or joblib.dump; "
            "the file may be truncated (an interrupted copy?), damaged or of "
            "another kind (use the suffix .skops for skops files)."
        ) from exc


def _load_skops(path, trusted):
    sio = _skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise ValueError(
            f"Cannot load {path} as a skops file: {_describe(exc, path)}. "
            "Expected a zip archive written by skmlp.persistence.save or "
            "skops.io.dump; the file may be truncated, damaged or of another "
            "kind (use another suffix, such as .joblib, for joblib files)."
        ) from exc
    refused = sorted(set(untrusted) - set(trusted))
    if refused:
        exc = UntrustedTypesFoundException(refused)
        # Keep skops' own explanation of each type, and name the file.
        exc.args = (
            f"{path}: {exc}\nIf you trust the source of these types, pass them "
            "with load(path, trusted=skmlp.TRUSTED_TYPES + [...]).",
        )
        raise exc
    try:
        return sio.load(path, trusted=list(trusted))
    except Warning:
        raise
    except Exception as exc:
        raise ValueError(
            f"Cannot load {path} as a skops file: {_describe(exc, path)}."
        ) from exc


def _describe(exc, path):
    if path.stat().st_size == 0:
        return "the file is empty"
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


# --------------------------------------------------------------------------
# Version stamp and state checks, used by the estimators' __getstate__ /
# __setstate__ (for pickle, joblib and skops alike).


def _installed_version():
    # Imported late: the package imports this module while it initialises.
    from . import __version__

    return __version__


def stamp_version(state):
    """Return ``state`` with the installed skmlp version added (``__getstate__``)."""
    return {**state, _VERSION_KEY: _installed_version()}


def checked_classifier_state(estimator, state):
    """The state to give ``__setstate__`` of a ScratchMLPClassifier.

    Removes the version stamp and warns with :class:`InconsistentVersionWarning`
    when another skmlp version saved it; raises a ValueError (TypeError if
    ``state`` is no dict) when the state cannot be a working classifier, so that
    a damaged file fails on loading, not later with an AttributeError.
    """
    name = type(estimator).__name__
    if not isinstance(state, dict):
        raise TypeError(
            f"Cannot restore a {name} from a saved state of type "
            f"{type(state).__name__}; expected a dict. The file is damaged or "
            f"was not written for a {name}."
        )
    state = dict(state)
    stored = state.pop(_VERSION_KEY, "unknown")
    current = _installed_version()
    if stored != current:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=name,
                current_version=current,
                original_version=stored,
            ),
            stacklevel=3,
        )
    problem = _classifier_state_problem(state, estimator._get_param_names())
    if problem is not None:
        versions = (
            f" (it was saved by skmlp {stored}; this is skmlp {current})"
            if stored != current
            else ""
        )
        raise ValueError(
            f"Cannot restore a {name} from the saved state: {problem}. The file "
            f"is damaged or was not written by this {name}{versions}; refit the "
            "model and save it again."
        )
    return state


# Attributes ``predict`` needs; their presence marks a fitted classifier.
_CLASSIFIER_FITTED = (
    "classes_",
    "n_features_in_",
    "n_outputs_",
    "out_activation_",
    "n_layers_",
    "coefs_",
    "intercepts_",
)


def _classifier_state_problem(state, param_names):
    missing = [name for name in param_names if name not in state]
    if missing:
        return f"the parameters {missing} are missing"
    present = [name for name in _CLASSIFIER_FITTED if name in state]
    if not present:
        return None  # an unfitted estimator: its parameters are all it has
    if len(present) < len(_CLASSIFIER_FITTED):
        absent = [name for name in _CLASSIFIER_FITTED if name not in state]
        return f"the fitted attributes {absent} are missing"

    classes, coefs, intercepts = (
        state["classes_"], state["coefs_"], state["intercepts_"]
    )
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        return "classes_ is not a 1-D array of at least 2 labels"
    if (
        not isinstance(coefs, list | tuple)
        or not isinstance(intercepts, list | tuple)
        or len(coefs) == 0
        or len(coefs) != len(intercepts)
    ):
        return "coefs_ and intercepts_ are not two lists of arrays of equal length"
    for layer, (W, b) in enumerate(zip(coefs, intercepts, strict=True)):
        if not (
            isinstance(W, np.ndarray)
            and isinstance(b, np.ndarray)
            and W.ndim == 2
            and b.ndim == 1
            and W.dtype.kind == "f"
            and b.dtype.kind == "f"
            and W.shape[1] == b.shape[0]
        ):
            return (
                f"layer {layer}'s weights are not a float matrix and a bias "
                "vector of matching size"
            )
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            return f"layer {layer}'s weights are not all finite"
    sizes = [W.shape for W in coefs]
    if sizes[0][0] != state["n_features_in_"] or any(
        a[1] != b[0] for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ):
        return (
            f"the weight shapes {sizes} do not chain from "
            f"n_features_in_={state['n_features_in_']!r}"
        )
    n_outputs = 1 if len(classes) == 2 else len(classes)
    if sizes[-1][1] != n_outputs or state["n_outputs_"] != n_outputs:
        return (
            f"the network has {sizes[-1][1]} output unit(s) for "
            f"{len(classes)} classes"
        )
    if state["out_activation_"] != ("sigmoid" if n_outputs == 1 else "softmax"):
        return f"out_activation_={state['out_activation_']!r} does not fit the classes"
    if state["n_layers_"] != len(coefs) + 1:
        return f"n_layers_={state['n_layers_']!r} does not match coefs_"
    return None
