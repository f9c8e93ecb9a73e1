"""Read MNIST's original IDX files, plain or gzipped, in bounded memory.

An IDX file is a header (two zero bytes, a type code, the number of
dimensions, then each dimension as a big-endian uint32) followed by the raw
data.  The header is read and checked against MNIST's layout first; then
exactly the bytes it announces are read, plus one to detect a file that holds
more, so a small .gz that expands to gigabytes is refused after reading
MNIST's own size, not after filling the memory.
"""

import gzip
import struct

import numpy as np

from ._layout import (
    _IDX_NAMES,
    _KEYS,
    _LAYOUT,
    MNISTFormatError,
    _check_count,
    _check_layout,
    _opened,
    _read_data,
    _reading,
)

_IDX_UBYTE = 0x08  # IDX type code of unsigned bytes, the only one MNIST uses
_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = np.dtype(np.uint8)


def _read_idx_folder(folder, limits):
    """The four arrays from MNIST's IDX files in ``folder``.

    ``limits`` maps each key to the largest number of samples accepted.
    """
    files = {}
    for key, name in _IDX_NAMES.items():
        # The uncompressed file first: it reads faster.
        candidates = [folder / f"{name}{suffix}" for suffix in ("", ".gz")]
        found = [file for file in candidates if file.is_file()]
        if found:
            files[key] = found[0]
            continue
        for entry in candidates:
            if entry.exists():  # a folder, a socket, ...: say so, do not skip it
                raise MNISTFormatError(
                    f"{entry} is not a file (it is a folder or another kind of "
                    f"entry); expected the IDX file {name} there."
                )
    missing = [_IDX_NAMES[key] for key in _KEYS if key not in files]
    if missing:
        present = sorted(entry.name for entry in folder.iterdir())[:10]
        raise MNISTFormatError(
            f"{folder} is a folder without the IDX files {missing} (it holds "
            f"{present}); expected {_LAYOUT}."
        )
    return {key: _read_idx(files[key], key, limits[key]) for key in _KEYS}


def _read_idx(path, key, limit):
    """One IDX file (plain or gzipped) of unsigned bytes, as a uint8 array."""
    ndim = 3 if key[0] == "x" else 1
    with _opened(path) as raw, _reading(path):
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        with file:
            start = file.read(4)
            if len(start) < 4 or start[:2] != b"\x00\x00":
                raise MNISTFormatError(
                    f"{path} is not an IDX file (its first bytes are {start!r}, an "
                    f"IDX file starts with two zero bytes); expected {_LAYOUT}."
                )
            if start[2] != _IDX_UBYTE or start[3] != ndim:
                raise MNISTFormatError(
                    f"{path} holds IDX type code {start[2]:#04x} with {start[3]} "
                    f"dimensions; expected unsigned bytes ({_IDX_UBYTE:#04x}) "
                    f"with {ndim}."
                )
            dims = file.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise MNISTFormatError(
                    f"{path} is truncated: its IDX header is incomplete."
                )
            # struct gives Python ints, which cannot overflow.
            shape = struct.unpack(f">{ndim}I", dims)
            _check_layout(path, key, shape, _UBYTE)
            _check_count(path, key, shape, limit)
            # The array is the caller's own: writeable, backed by no file.
            return _read_data(file, shape, _UBYTE, path)

