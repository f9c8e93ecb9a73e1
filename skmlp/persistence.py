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

The estimators stamp their pickled state (see :func:`stamp_state`) with the
skmlp version and a SHA-256 checksum of the state, and check both on loading
(:func:`read_stamped_state`): a model saved by another version warns with
:class:`InconsistentVersionWarning`, a state that was modified or damaged after
saving raises a ValueError.  What a state must hold is the estimator's own
business; this module knows nothing of its attributes.
"""

import hashlib
import os
import struct
import warnings
from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np

from . import _atomic

__all__ = [
    "TRUSTED_TYPES",
    "InconsistentVersionWarning",
    "load",
    "read_stamped_state",
    "save",
    "stamp_state",
    "state_checksum",
]

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
_CHECKSUM_KEY = "_skmlp_checksum"
_STAMP_PREFIX = "_skmlp_"
_CHECKSUM_METHOD = "sha256:"


class InconsistentVersionWarning(UserWarning):
    """A model is loaded with a version of skmlp other than the one that saved it.

    Like :class:`sklearn.exceptions.InconsistentVersionWarning`: the model may
    load but behave differently, or fail; refit it with the installed version
    when you can.

    Attributes
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
        joblib compression, as in :func:`joblib.dump`.  None compresses only
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


# --------------------------------------------------------------------------
# Version stamp and checksum, used by the estimators' __getstate__ /
# __setstate__ (for pickle, joblib, skops and copy.deepcopy alike).


def _installed_version():
    # Imported late: the package imports this module while it initialises.
    from . import __version__

    return __version__


def stamp_state(state):
    """``state`` with the installed skmlp version and a checksum added.

    For ``__getstate__``.  The checksum (see :func:`state_checksum`) covers
    every entry of ``state`` and the version.
    """
    state = {**state, _VERSION_KEY: _installed_version()}
    state[_CHECKSUM_KEY] = state_checksum(state)
    return state


def read_stamped_state(estimator_name, state):
    """Check and remove the stamps of :func:`stamp_state` (for ``__setstate__``).

    Returns
    -------
    state : dict
        A copy of ``state`` without the stamps.
    saved_version : str
        The skmlp version that saved it ('unknown' if not recorded).

    Raises
    ------
    TypeError
        If ``state`` is not a dict.
    ValueError
        If the state does not match its checksum, or holds stamps that no
        skmlp version writes: it was modified or damaged after saving.  A state
        without a checksum (written before skmlp stored one) is not checked.
    """
    if not isinstance(state, dict):
        raise TypeError(
            f"Cannot restore a {estimator_name} from a saved state of type "
            f"{type(state).__name__}; expected a dict. The file is damaged or "
            f"was not written for a {estimator_name}."
        )
    state = dict(state)
    stored_checksum = state.pop(_CHECKSUM_KEY, None)
    damage = None
    if stored_checksum is not None and stored_checksum != state_checksum(state):
        damage = "it does not match the checksum stored with it"
    unknown = sorted(
        str(key) for key in state
        if isinstance(key, str) and key.startswith(_STAMP_PREFIX)
        and key != _VERSION_KEY
    )
    if unknown:
        damage = f"it holds the unknown entries {unknown}"
    if damage is not None:
        raise ValueError(
            f"Cannot restore a {estimator_name} from the saved state: {damage}, "
            "so the file was modified or damaged after saving (a disk or "
            "transfer error, or an edit). Use an intact copy, or refit the "
            "model and save it again."
        )
    saved_version = state.pop(_VERSION_KEY, "unknown")
    current = _installed_version()
    if saved_version != current:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=estimator_name,
                current_version=current,
                original_version=saved_version,
            ),
            stacklevel=3,
        )
    return state, saved_version


def state_checksum(state):
    """SHA-256 of a canonical encoding of ``state``, as ``'sha256:<hex>'``.

    The encoding walks ``state`` in a fixed order: dicts by the encoding of
    their keys, lists and tuples item by item; an array contributes its dtype,
    shape and bytes (an object array its items); numbers their value (an
    ``np.float64`` and a ``float`` of equal value are the same number, as are
    Python and NumPy ints), strings their UTF-8 bytes.  A RandomState or
    Generator contributes its state.  Other objects have no canonical form:
    only their type's name is covered, not their content.
    """
    digest = hashlib.sha256()
    _feed(digest, state)
    return _CHECKSUM_METHOD + digest.hexdigest()


def _feed(h, value):
    """Feed the canonical encoding of ``value`` to the hash ``h``."""
    for kinds, encode in _ENCODERS:
        if isinstance(value, kinds):
            encode(h, value)
            return
    kind = type(value)
    _feed_bytes(h, b"O", f"{kind.__module__}.{kind.__qualname__}".encode())


def _feed_bytes(h, tag, data):
    h.update(b"%s%d;" % (tag, len(data)))
    h.update(data)


def _feed_array(h, array):
    descr = repr(np.lib.format.dtype_to_descr(array.dtype))
    h.update(f"A{descr}{array.shape};".encode())
    if array.dtype.hasobject:
        for item in array.ravel():
            _feed(h, item)
    else:
        # A view, not a copy, of the large weight arrays.
        h.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _feed_sequence(h, items):
    h.update(b"%s%d;" % (b"L" if isinstance(items, list) else b"U", len(items)))
    for item in items:
        _feed(h, item)


def _feed_dict(h, mapping):
    h.update(b"D%d;" % len(mapping))
    keyed = sorted(
        ((_encoding(key), item) for key, item in mapping.items()),
        key=lambda pair: pair[0],
    )
    for key, item in keyed:
        h.update(key)
        _feed(h, item)


def _encoding(value):
    """The bytes :func:`_feed` gives ``value`` (a dict key), in one piece."""
    pieces = []
    _feed(_Collector(pieces), value)
    return b"".join(pieces)


class _Collector:
    def __init__(self, pieces):
        self.update = pieces.append


# Checked in this order: bool before Integral, Integral before Real.
_ENCODERS = (
    (type(None), lambda h, v: h.update(b"N")),
    (bool | np.bool_, lambda h, v: h.update(b"T" if v else b"F")),
    (Integral, lambda h, v: h.update(b"i%d;" % int(v))),
    (Real, lambda h, v: h.update(b"f" + struct.pack("<d", float(v)))),
    (str, lambda h, v: _feed_bytes(h, b"s", v.encode("utf-8", "surrogatepass"))),
    (bytes, lambda h, v: _feed_bytes(h, b"y", v)),
    (np.ndarray, _feed_array),
    (list | tuple, _feed_sequence),
    (dict, _feed_dict),
    (np.random.RandomState, lambda h, v: _feed(h, ("R", v.get_state(legacy=False)))),
    (np.random.Generator, lambda h, v: _feed(h, ("G", v.bit_generator.state))),
)
