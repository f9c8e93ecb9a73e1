"""Read a Keras-style ``mnist.npz`` without trusting what it says it holds.

An .npz is a zip archive of .npy files, each a small header (dtype, shape,
memory order) followed by the raw data.  ``numpy.load`` allocates whatever a
header announces, so a forged header of 10**12 images is a MemoryError, and
an array of Python objects is reported as a failed read.  Here each header is
read and checked against MNIST's layout first, then exactly the data it
announces is read.
"""

import zipfile

from numpy.lib import format as npy_format

from ._layout import (
    _KEYS,
    _LAYOUT,
    MNISTFormatError,
    _check_count,
    _check_layout,
    _opened,
    _read_data,
    _reading,
)

_HEADER_READERS = {
    (1, 0): npy_format.read_array_header_1_0,
    (2, 0): npy_format.read_array_header_2_0,
}


def _read_npz(path, limits):
    """The four arrays of a Keras-style .npz, or a clear MNISTFormatError.

    ``limits`` maps each key to the largest number of samples accepted.
    """
    with _opened(path) as file, _reading(path):
        if not zipfile.is_zipfile(file):
            raise MNISTFormatError(
                f"{path} is not an .npz file (no zip archive found: it is "
                f"truncated or holds something else); expected {_LAYOUT}."
            )
        with zipfile.ZipFile(file) as archive:
            # numpy.savez names the member of array "a" "a.npy".
            members = {name.removesuffix(".npy"): name for name in archive.namelist()}
            missing = [key for key in _KEYS if key not in members]
            if missing:
                raise MNISTFormatError(
                    f"{path} holds the arrays {sorted(members)}, not "
                    f"{list(_KEYS)} (missing {missing}); expected {_LAYOUT}."
                )
            return {
                key: _read_member(archive, members[key], key, path, limits[key])
                for key in _KEYS
            }


def _read_member(archive, name, key, path, limit):
    """One .npy member of ``archive``, its header checked before its data."""
    source = f"{path}: {key}"
    with archive.open(name) as member:
        version = npy_format.read_magic(member)
        if version not in _HEADER_READERS:
            raise MNISTFormatError(
                f"{source} is in .npy format version {version[0]}.{version[1]}; "
                "skmlp reads versions 1.0 and 2.0, which numpy writes for "
                "arrays of numbers."
            )
        shape, fortran_order, dtype = _HEADER_READERS[version](member)
        if dtype.hasobject:
            raise MNISTFormatError(
                f"{source} is an array of Python objects (dtype {dtype}), which is "
                "refused: reading it would need allow_pickle=True, which lets a "
                "file run code. Save MNIST's arrays as uint8, e.g. "
                "numpy.savez(path, x_train=x_train.astype(numpy.uint8), ...)."
            )
        _check_layout(path, key, shape, dtype)
        _check_count(path, key, shape, limit)
        return _read_data(member, shape, dtype, source, fortran_order=fortran_order)

