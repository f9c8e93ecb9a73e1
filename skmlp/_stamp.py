"""The version stamp and checksum of an estimator's pickled state.

Used by the estimators' ``__getstate__`` / ``__setstate__`` (for pickle,
joblib, skops and ``copy.deepcopy`` alike): :func:`stamp_state` adds the skmlp
version and a SHA-256 checksum of the state, :func:`read_stamped_state` checks
and removes them, warning with :class:`~skmlp.exceptions.InconsistentVersionWarning`
when another version saved the state and refusing a state that was modified or
damaged after saving.  It sits below the estimators, so that they need nothing
of :mod:`skmlp.persistence`, which sits on top of them.
"""

import hashlib
import struct
import warnings
from numbers import Integral, Real

import numpy as np

from . import __version__
from .exceptions import InconsistentVersionWarning

_VERSION_KEY = "_skmlp_version"
_CHECKSUM_KEY = "_skmlp_checksum"
_STAMP_PREFIX = "_skmlp_"
_CHECKSUM_METHOD = "sha256:"


def stamp_state(state):
    """``state`` with the installed skmlp version and a checksum added.

    For ``__getstate__``.  The checksum (see :func:`state_checksum`) covers
    every entry of ``state`` and the version.
    """
    state = {**state, _VERSION_KEY: __version__}
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
    current = __version__
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
