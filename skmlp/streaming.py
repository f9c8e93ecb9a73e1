"""Training on data larger than memory, read chunk by chunk from disk.

Save the training set once with :func:`numpy.save`; :func:`fit_memmap` then
maps the file (``np.load(path, mmap_mode='r')``) and streams it through the
estimator's ``partial_fit``, one chunk of rows at a time, for a number of
epochs.  Only the chunk being trained on is ever copied into the process's
memory; the operating system pages the file in and out as needed.

Shuffling a file that does not fit in memory row by row would make every read
a random seek, so the order is shuffled at two levels instead: the file is cut
into contiguous *blocks*, each epoch visits the blocks in a new random order,
a chunk gathers ``chunk_size // block_size`` of them, and ``partial_fit``
shuffles the rows within the chunk (as ``ScratchMLPClassifier`` does with
``shuffle=True``).  Smaller blocks mix the data better at the cost of more,
shorter reads; they matter when the file is sorted, e.g. by class.
"""

import os
from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_random_state

__all__ = ["fit_memmap", "iter_chunks"]


def _as_array(data, name):
    """Map a ``.npy`` path read-only; leave arrays (and memmaps) as they are."""
    if isinstance(data, str | os.PathLike):
        return np.load(data, mmap_mode="r")
    if not hasattr(data, "shape") or not hasattr(data, "__getitem__"):
        raise TypeError(
            f"{name} must be a path to a .npy file or an array such as "
            f"np.load(path, mmap_mode='r'); got {type(data).__name__}."
        )
    return data


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _chunk_blocks(n_samples, chunk_size, block_size, shuffle, rng):
    """The blocks of each chunk of one epoch, as lists of (start, stop)."""
    starts = np.arange(0, n_samples, block_size)
    if shuffle:
        starts = rng.permutation(starts)
    per_chunk = max(chunk_size // block_size, 1)
    for first in range(0, len(starts), per_chunk):
        # Read the chunk's blocks in file order: sequential reads are faster.
        chunk_starts = np.sort(starts[first:first + per_chunk])
        yield [(int(s), min(int(s) + block_size, n_samples)) for s in chunk_starts]


def _read(array, blocks, out=None):
    if len(blocks) == 1:
        start, stop = blocks[0]
        return array[start:stop]  # a view: no copy until the estimator needs one
    parts = [array[start:stop] for start, stop in blocks]
    if out is None:
        return np.concatenate(parts)
    n_rows = sum(len(part) for part in parts)
    return np.concatenate(parts, out=out[:n_rows])


def _validated(X, y, chunk_size, block_size):
    X, y = _as_array(X, "X"), _as_array(y, "y")
    if len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of rows; got {len(X)} and {len(y)}."
        )
    chunk_size = _check_positive_int(chunk_size, "chunk_size")
    block_size = _check_positive_int(
        chunk_size if block_size is None else block_size, "block_size"
    )
    if block_size > chunk_size:
        raise ValueError(
            f"block_size={block_size} must not exceed chunk_size={chunk_size}."
        )
    return X, y, chunk_size, block_size


def _chunks(X, y, chunk_size, block_size, shuffle, rng, buffer=None):
    for blocks in _chunk_blocks(len(X), chunk_size, block_size, shuffle, rng):
        yield _read(X, blocks, out=buffer), _read(y, blocks)


def iter_chunks(X, y, *, chunk_size, block_size=None, shuffle=True,
                random_state=None):
    """Yield one epoch of ``(X_chunk, y_chunk)`` pairs read from (mapped) arrays.

    Every row appears in exactly one chunk.  A chunk of contiguous rows is a
    view of ``X``; a chunk gathered from several blocks is a new array.  The
    rows within a chunk keep their file order: leave their shuffling to the
    estimator's ``partial_fit``.

    Parameters
    ----------
    X : str, path-like or array-like of shape (n_samples, ...)
        Samples, typically ``np.load(path, mmap_mode='r')``; a path to a
        ``.npy`` file is mapped read-only.
    y : str, path-like or array-like of shape (n_samples,)
        Targets, mapped or in memory.
    chunk_size : int
        Rows per chunk at most: a chunk gathers ``chunk_size // block_size``
        blocks (the last chunk of an epoch may be smaller).
    block_size : int, default=None
        Rows per contiguous block read from the file; ``chunk_size`` (one
        block per chunk) if None.  Must not exceed ``chunk_size``.
    shuffle : bool, default=True
        Visit the blocks in a random order; if False, read the file in order.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the blocks.

    Yields
    ------
    X_chunk : ndarray of shape (n_chunk, ...)
    y_chunk : ndarray of shape (n_chunk,)
    """
    X, y, chunk_size, block_size = _validated(X, y, chunk_size, block_size)
    rng = check_random_state(random_state)
    yield from _chunks(X, y, chunk_size, block_size, shuffle, rng)


def _unique_labels(y, chunk_size):
    """np.unique of y, read chunk by chunk."""
    labels = [np.unique(y[start:start + chunk_size])
              for start in range(0, len(y), chunk_size)]
    return np.unique(np.concatenate(labels)) if labels else np.array([])


def fit_memmap(estimator, X, y, *, epochs=1, chunk_size=10_000, block_size=None,
               classes=None, transform=None, shuffle=True, random_state=None,
               callback=None):
    """Train an estimator by ``partial_fit`` on arrays read chunk by chunk.

    Each epoch reads the data once, in chunks of ``chunk_size`` rows whose
    order changes from epoch to epoch (see :func:`iter_chunks`), and calls
    ``estimator.partial_fit`` on every chunk, so memory holds one chunk at a
    time, never the whole of ``X``.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        For example :class:`skmlp.ScratchMLPClassifier`.  It is trained in
        place: a fitted estimator continues from its current weights (pass
        ``sklearn.base.clone(estimator)`` to start afresh).
    X : str, path-like or array-like of shape (n_samples, ...)
        Training samples, typically ``np.load(path, mmap_mode='r')``; a path
        to a ``.npy`` file is mapped read-only.
    y : str, path-like or array-like of shape (n_samples,)
        Training labels.
    epochs : int, default=1
        Passes over the data.
    chunk_size : int, default=10_000
        Rows per ``partial_fit`` call at most; memory use grows with it.
        Each call is one epoch of the estimator over the chunk, so its
        ``n_iter_`` and ``loss_curve_`` count chunks.
    block_size : int, default=None
        Rows per contiguous read; ``chunk_size`` if None.  Smaller blocks
        mix rows from further apart into each chunk (needed when the file is
        sorted, e.g. by class) at the cost of more reads.  Chunks of one
        block are views of the mapped file; chunks of several blocks are
        read into one buffer of ``chunk_size`` rows, reused from chunk to
        chunk, so ``partial_fit`` must not keep a reference to its ``X``
        (no scikit-learn estimator does).
    classes : array-like, default=None
        Every label ``y`` can hold, for the first ``partial_fit`` call of a
        classifier.  If None, and the classifier is not fitted yet, it is read
        from ``y``.  Ignored for regressors.
    transform : callable, default=None
        Applied to each chunk of ``X`` before ``partial_fit``, e.g.
        ``ImageVectorizer().fit_transform`` or
        ``lambda X: X.reshape(len(X), -1) / 255`` for uint8 images.
    shuffle : bool, default=True
        Shuffle the order of the blocks in each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the blocks; the estimator's own ``random_state``
        seeds its initialisation and the shuffling within chunks.
    callback : callable, default=None
        Called as ``callback(estimator, epoch, chunk)`` after each
        ``partial_fit`` (both counters start at 0), e.g. to log the cost or
        save a checkpoint.

    Returns
    -------
    estimator : estimator
        The trained estimator.

    Raises
    ------
    KeyboardInterrupt
        On Ctrl-C, at once: no further chunk is read.  A ScratchMLPClassifier
        keeps the weights of its last completed ``partial_fit`` (warning with
        :class:`~skmlp.exceptions.TrainingInterrupted`), so training can go on
        with another call.

    See Also
    --------
    iter_chunks : The chunks of one epoch.
    numpy.lib.format.open_memmap : Write a ``.npy`` file piece by piece.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skmlp import ScratchMLPClassifier
    >>> from skmlp.streaming import fit_memmap
    >>> X, y = load_digits(n_class=2, return_X_y=True)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = tmp.name
    >>> np.save(f"{folder}/X.npy", (X / 16).astype(np.float32))
    >>> np.save(f"{folder}/y.npy", y)
    >>> clf = ScratchMLPClassifier(hidden_layers=(16,), eta=0.01, random_state=0)
    >>> clf = fit_memmap(clf, f"{folder}/X.npy", f"{folder}/y.npy",
    ...                  epochs=5, chunk_size=100, random_state=0)
    >>> clf.n_iter_  # 5 epochs of 4 chunks
    20
    >>> clf.score(X / 16, y) > 0.95
    True
    >>> tmp.cleanup()
    """
    if not hasattr(estimator, "partial_fit"):
        raise TypeError(
            f"{type(estimator).__name__} has no partial_fit; fit_memmap needs an "
            "estimator that learns incrementally."
        )
    X, y, chunk_size, block_size = _validated(X, y, chunk_size, block_size)
    epochs = _check_positive_int(epochs, "epochs")
    # Classifiers must see every class on the first call; regressors take no
    # classes argument at all.
    fit_params = {}
    if is_classifier(estimator):
        if classes is None and not hasattr(estimator, "classes_"):
            classes = _unique_labels(y, chunk_size)
        fit_params["classes"] = classes
    rng = check_random_state(random_state)
    # Chunks gathered from several blocks are all read into this one buffer:
    # memory then holds a single chunk, whatever the allocator keeps around.
    buffer = None
    if block_size < chunk_size:
        per_chunk = chunk_size // block_size
        buffer = np.empty((per_chunk * block_size, *X.shape[1:]), dtype=X.dtype)
    for epoch in range(epochs):
        chunks = _chunks(X, y, chunk_size, block_size, shuffle, rng, buffer)
        for index, (X_chunk, y_chunk) in enumerate(chunks):
            if transform is not None:
                X_chunk = transform(X_chunk)
            estimator.partial_fit(X_chunk, y_chunk, **fit_params)
            # Free this chunk before the next one is read: one in memory, not two.
            del X_chunk, y_chunk
            if callback is not None:
                callback(estimator, epoch, index)
    return estimator
