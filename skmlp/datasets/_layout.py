"""MNIST's layout, the errors of :mod:`skmlp.datasets`, and how files are read.

Both readers (``_npz`` and ``_idx``) learn an array's shape and dtype from its
header, check them here against MNIST's layout *before* allocating anything,
and then read exactly the bytes that header announces, plus one to find out
whether the file holds more.  So a file's size on disk, or what it says it
holds, can never make skmlp allocate more than MNIST's own size: a gzip
"bomb" or a header that declares 10**12 images is an error, not a MemoryError.
"""

import contextlib
import zipfile
import zlib

import numpy as np


class MNISTFormatError(ValueError):
    """A file or a download does not hold MNIST in a layout skmlp can read."""


class MNISTNotFoundError(FileNotFoundError):
    """MNIST is neither on this machine nor downloadable."""


_KEYS = ("x_train", "y_train", "x_test", "y_test")
_IMAGE_SHAPE = (28, 28)
#: MNIST's number of samples per array: no file may announce more.
_MNIST_COUNTS = {"x_train": 60000, "y_train": 60000, "x_test": 10000, "y_test": 10000}

_IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

_LAYOUT = (
    "MNIST as a Keras-style .npz (x_train (60000, 28, 28), y_train (60000,), "
    "x_test (10000, 28, 28), y_test (10000,), all uint8) or a folder holding "
    "the four IDX files " + ", ".join(_IDX_NAMES.values()) + " (each optionally "
    "gzipped, with a .gz suffix)"
)

# Data is read in pieces of this size, so that reading never holds a second,
# temporary copy of a whole array.
_CHUNK = 1 << 20


def _check_layout(source, key, shape, dtype):
    """Refuse a shape or dtype that is not MNIST's for the array ``key``."""
    is_images = key[0] == "x"
    if len(shape) != (3 if is_images else 1) or (
        is_images and tuple(shape[1:]) != _IMAGE_SHAPE
    ):
        expected = "(n, 28, 28)" if is_images else "(n,)"
        raise MNISTFormatError(
            f"{source}: {key} has shape {tuple(shape)}, expected {expected}; "
            f"expected {_LAYOUT}."
        )
    if dtype.kind not in "ui":
        raise MNISTFormatError(
            f"{source}: {key} has dtype {dtype}, expected uint8 "
            f"{'pixels 0-255' if is_images else 'digits 0-9'}."
        )


def _check_count(source, key, shape, limit):
    """Refuse a header that announces more samples than MNIST has."""
    if shape[0] > limit:
        raise MNISTFormatError(
            f"{source}: {key} announces shape {tuple(shape)}, {shape[0]} samples, "
            f"but MNIST's {key} has {limit}: the file is corrupt or holds another "
            "dataset, and was refused before reading its data."
        )


@contextlib.contextmanager
def _opened(path):
    """``path`` open for reading; a permission problem is not called damage."""
    try:
        file = path.open("rb")
    except PermissionError as exc:
        raise PermissionError(
            exc.errno,
            "Permission denied: skmlp may not read this MNIST file; make it "
            "readable (e.g. chmod u+r) or point skmlp to another copy",
            str(path),
        ) from exc
    except IsADirectoryError as exc:
        raise MNISTFormatError(
            f"{path} is a folder, not a file; expected {_LAYOUT}."
        ) from exc
    with file:
        yield file


@contextlib.contextmanager
def _reading(source):
    """Turn the errors of a damaged file into MNISTFormatError naming ``source``."""
    try:
        yield
    except (MNISTFormatError, PermissionError):
        raise
    except (
        OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error,
        # zipfile's word for an encrypted member or an unknown compression
        RuntimeError, NotImplementedError,
    ) as exc:
        raise MNISTFormatError(
            f"{source} could not be read ({type(exc).__name__}: {exc}); it is "
            f"truncated or corrupt. Expected {_LAYOUT}."
        ) from exc


def _read_data(file, shape, dtype, source, *, fortran_order=False):
    """Exactly the bytes of an array of ``shape`` and ``dtype`` from ``file``.

    The caller has checked ``shape`` against MNIST's, so allocating it is
    safe.  A file with fewer bytes is truncated; one with more is refused
    after reading a single byte beyond the array.
    """
    # Python ints: a forged header cannot overflow this product.
    n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    buffer = np.empty(n_bytes, np.uint8)
    view = memoryview(buffer)
    filled = 0
    while filled < n_bytes:
        count = file.readinto(view[filled:filled + _CHUNK])
        if not count:
            break
        filled += count
    if filled < n_bytes:
        raise MNISTFormatError(
            f"{source} holds {filled} bytes of data, but its header announces "
            f"shape {tuple(shape)} ({n_bytes} bytes): it is truncated or corrupt."
        )
    if file.read(1):
        raise MNISTFormatError(
            f"{source} holds more than the {n_bytes} bytes of data that its header "
            f"announces (shape {tuple(shape)}); it is corrupt or holds something "
            "else, and was not read further."
        )
    order = "F" if fortran_order else "C"
    return buffer.view(dtype).reshape(shape, order=order)
