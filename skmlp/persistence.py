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

:func:`save` writes to a hidden temporary file beside the target and renames it
into place only once every byte is on disk, so an interrupted save never leaves
a half-written model; the temporary files of a process that was killed are
removed by the next save of the same target.  :func:`load` names the file and
what it expected when the file is truncated or of another kind.

The estimators stamp their pickled state with the skmlp version and a SHA-256
checksum of the state, and check both on loading (``skmlp._stamp``, which sits
below the estimators): a model saved by another version warns with
:class:`~skmlp.exceptions.InconsistentVersionWarning`, a state that was
modified or damaged after saving raises a ValueError.  What a state must hold
is the estimator's own business; this module knows nothing of its attributes.
"""

import os
from collections.abc import Iterable
from pathlib import Path

import joblib

from . import _atomic
from .exceptions import InconsistentVersionWarning

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


# --------------------------------------------------------------------------
# Saving


def _format(path):
    return "skops" if path.suffix.lower() == _SKOPS_SUFFIX else "joblib"


def save(obj, path, *, compress=None):
    """Write ``obj`` to ``path`` atomically, in the format named by its suffix.

    The object is written to a hidden temporary file in the same directory,
    flushed and synced to disk, then renamed over ``path``: whether the save
    succeeds, fails or is interrupted (Ctrl-C, kill), ``path`` holds either the
    previous file or the complete new one, never part of a file.  A file that
    is replaced keeps its permission bits; a new one gets the usual mode of new
    files (0o666 less the umask).

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

    Raises
    ------
    ValueError
        If ``path`` is empty, ends with a separator, or names skops without
        ending in ``.skops`` (such as ``model.skops.gz``).
    IsADirectoryError
        If ``path`` is a directory.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    PermissionError
        If ``path`` is read-only, or its directory cannot be written.
    """
    target = Path(os.fspath(path))
    _check_skops_suffix(target)
    return _atomic.replace_file(path, lambda fh: _write(obj, fh, target, compress))


def _check_skops_suffix(path):
    suffixes = [s.lower() for s in path.suffixes]
    if _SKOPS_SUFFIX in suffixes and suffixes[-1] != _SKOPS_SUFFIX:
        stem = path.name[: path.name.lower().index(_SKOPS_SUFFIX)]
        raise ValueError(
            f"Cannot save to {path}: the name says skops but ends in "
            f"{path.suffix!r}, so it would be written as a joblib pickle. Use "
            f"{stem}.skops for the skops format (a zip archive, compressed "
            f"already) or a joblib name such as {stem}.joblib.gz."
        )


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


# --------------------------------------------------------------------------
# Loading


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
    TypeError
        If ``trusted`` is not None or a list of type names.
    FileNotFoundError
        If ``path`` does not exist.
    PermissionError
        If the file cannot be read.
    ValueError
        If the file is truncated, damaged or not a file of the expected
        format.
    skops.io.exceptions.UntrustedTypesFoundException
        If a ``.skops`` file holds types that are not trusted (a TypeError).
    """
    trusted = TRUSTED_TYPES if trusted is None else _validated_trusted(trusted)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}.")
    with _open_for_reading(path) as fh:
        if _format(path) == "skops":
            return _load_skops(path, fh, trusted)
        try:
            return joblib.load(fh)
        except Warning:
            raise  # warnings turned into errors are the user's choice
        except PermissionError:
            raise
        except Exception as exc:
            raise ValueError(
                f"Cannot load {path} as a joblib file: {_describe(exc, path)}. "
                "Expected a model written by skmlp.persistence.save or "
                "joblib.dump; the file may be truncated (an interrupted copy?), "
                "damaged or of another kind (use the suffix .skops for skops "
                "files)."
            ) from exc


def _validated_trusted(trusted):
    example = "trusted=skmlp.TRUSTED_TYPES + ['imblearn.pipeline.Pipeline']"
    if isinstance(trusted, str):
        raise TypeError(
            f"trusted must be a list of type names, not the string {trusted!r}: "
            f"pass trusted=[{trusted!r}] (replacing skmlp.TRUSTED_TYPES) or "
            f"{example}."
        )
    if not isinstance(trusted, Iterable) or isinstance(trusted, bytes | dict):
        raise TypeError(
            f"trusted must be None (skmlp's own types) or a list of type names, "
            f"such as {example}; got {trusted!r}. No setting trusts every type: "
            "list the ones skops.io.get_untrusted_types(file=path) reports, once "
            "you know where the file comes from."
        )
    trusted = list(trusted)
    bad = [name for name in trusted if not isinstance(name, str)]
    if bad:
        raise TypeError(
            f"trusted must hold type names (str), such as {example}; got "
            f"{bad[0]!r} of type {type(bad[0]).__name__}."
        )
    return trusted


def _open_for_reading(path):
    try:
        return open(path, "rb")
    except PermissionError as exc:
        raise PermissionError(
            exc.errno,
            f"Cannot read {path}: permission denied (the file itself may be "
            "fine). Give yourself read access, e.g. chmod u+r, or load it as a "
            "user who may read it",
            str(path),
        ) from exc


def _load_skops(path, fh, trusted):
    sio = _skops_io()
    from skops.io.exceptions import UntrustedTypesFoundException

    data = fh.read()
    try:
        untrusted = sio.get_untrusted_types(data=data)
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
        return sio.loads(data, trusted=list(trusted))
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
