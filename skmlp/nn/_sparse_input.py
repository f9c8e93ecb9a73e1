"""How the fast engine holds a mostly-zero ``X`` for training.

Part of :mod:`skmlp.nn.fast`, kept apart for its length: a dense ``X`` that
is mostly zeros (digit images) becomes CSR once per fit, whose first-layer
products (``_sparse_products``) visit its values only; the columns with a
value in most rows (an image's centre) stay dense, for the BLAS
(:class:`SplitCSR`).  The conversion's loops are compiled as
``_fast_updates``' are.
"""

from functools import cache

import numpy as np
from scipy import sparse

from . import _blas
from ._fast_updates import compiled

# A dense X with at most this share of nonzero values trains as CSR.  Per
# value the loops cost about 2.5 times the BLAS, and on random values they
# pay up to 35-40 % density (``benchmarks/sparse.py``).  On MNIST, whose
# batches leave blank columns for the BLAS to skip too, the products of a
# batch took 0.6-0.9 x the BLAS's time on raw images (15-19 % nonzero) and
# on deskewed pairs (20-25 %), but 0.9-1.1 x on all ten deskewed digits
# (26 %), which stay dense.
SPARSE_INPUT = 0.25


def csr_if_mostly_zeros(X):
    """``X`` as the fast engine trains on it: a dense ``X`` that is mostly
    zeros, such as digit images, as a CSR matrix, whose first-layer products
    visit its nonzero values only; any other ``X`` as it is.

    When some of its columns have a value in most rows (the centre of digit
    images), those are held dense, and the others as CSR: a
    :class:`SplitCSR` (see :data:`DENSE_COLUMN`).

    The conversion is two compiled passes over ``X``, made once per fit (8 -
    10 ms for 12,000 MNIST images), the first of which counts the values of
    each column (and decides); the CSR form of 15 % dense float32 takes 30 %
    of the dense memory.  A memory-mapped ``X`` is left as it is: its CSR
    form would be in memory.
    """
    if type(X) is not np.ndarray or X.ndim != 2 or not X.flags.c_contiguous:
        return X
    counts = _column_value_counts(X)
    if counts.sum() > SPARSE_INPUT * X.size:
        return X
    dense_columns = np.flatnonzero(counts > DENSE_COLUMN * X.shape[0])
    indptr, indices, data, dense = _filled(X, counts, dense_columns)
    csr = sparse.csr_array((data, indices, indptr), shape=X.shape)
    if not len(dense_columns):
        return csr
    return SplitCSR(csr, dense, dense_columns, np.flatnonzero(counts == 0))


def training_input(X, layer_sizes, batch_size):
    """``X`` as the fast engine trains on it, to make once per fit.

    A dense ``X`` that is mostly zeros (digit images) becomes CSR, whose
    compiled first-layer products visit its values only (see
    :func:`csr_if_mostly_zeros`), when those products would run on
    one BLAS thread anyway: a small batch, or a BLAS set to one thread.  A
    large batch shares its products among the BLAS's threads, which do them
    faster: the notebook's batches of 1000 on two threads took 0.78 x
    ``MLPClassifier``'s time as CSR and 0.72 x through the BLAS.
    """
    products = _blas.largest_gemm(layer_sizes[:2], batch_size, X.dtype)
    if products >= _blas.SINGLE_THREAD_GEMM and _blas.blas_threads() > 1:
        return X
    return csr_if_mostly_zeros(X)


# A column of a mostly-zero X with values in more than this share of its rows
# stays dense (a SplitCSR), and its share of the first layer's products goes
# through the BLAS.  A column costs the BLAS its every row, the loops its
# values only, each about three times what it costs the BLAS: on 128-row
# batches of 500 units, one thread, forward and gradient together took 0.88
# - 0.90 x the time of the loops alone on 1 vs 5 with 0.35 - 0.4 (139 / 117
# of its 784 columns dense), 0.80 - 0.82 on 4 vs 9 and 3 vs 8; 0.3 and 0.5
# were slower on all three.
DENSE_COLUMN = 0.35


class SplitCSR:
    """A mostly-zero ``X`` for training, in two parts: ``dense``, the columns
    ``dense_columns`` that have a value in most rows, as a C-contiguous
    array of ``len(X)`` rows, and ``csr``, the other columns, a CSR matrix
    of ``X``'s shape with no value in the dense columns.

    The first layer's products take the dense columns through the BLAS and
    the others through the compiled loops (``_sparse_products.SparseRows``).
    ``blank_columns``, when known, are the columns with no value.
    """

    def __init__(self, csr, dense, dense_columns, blank_columns=None):
        self.csr, self.dense, self.dense_columns = csr, dense, dense_columns
        self.shape, self.dtype = csr.shape, csr.dtype
        self._blank = blank_columns

    def astype(self, dtype):
        """This matrix in ``dtype``: itself if it is in it already."""
        if self.dtype == dtype:
            return self
        return SplitCSR(self.csr.astype(dtype), self.dense.astype(dtype),
                        self.dense_columns, self._blank)

    def blank_columns(self):
        """The indices of the columns with no value."""
        if self._blank is None:
            self._blank = np.setdiff1d(blank_columns(self.csr), self.dense_columns)
        return self._blank

    def toarray(self):
        X = self.csr.toarray()
        X[:, self.dense_columns] = self.dense
        return X


def is_sparse_input(X):
    """Whether the fast engine trains on ``X`` through :class:`SparseRows`."""
    return isinstance(X, SplitCSR) or sparse.issparse(X)


def training_form(X, dtype):
    """A sparse ``X`` (scipy's, or a :class:`SplitCSR`) as the products read
    it: CSR (or split) in ``dtype``."""
    if isinstance(X, SplitCSR):
        return X.astype(dtype)
    return X.tocsr().astype(dtype, copy=False)


def dense_column_count(X):
    return len(X.dense_columns) if isinstance(X, SplitCSR) else 0


def blank_columns(X):
    """The indices of the columns of a CSR ``X`` or a :class:`SplitCSR` with
    no value."""
    if isinstance(X, SplitCSR):
        return X.blank_columns()
    return np.flatnonzero(np.bincount(X.indices, minlength=X.shape[1]) == 0)


def to_csr(X):
    """The CSR arrays ``(indptr, indices, data)`` of a dense C-contiguous
    ``X``: 5 - 8 ms for 12,000 MNIST images, against 72 ms for
    ``scipy.sparse.csr_array(X)``, whose ``nonzero`` builds index arrays for
    every value first."""
    return _filled(X, _column_value_counts(X), np.arange(0))[:3]


def _column_value_counts(X):
    """The number of values in each column of ``X`` (int64): 1 ms for 12,000
    MNIST images, against 5 ms for ``np.count_nonzero``."""
    counts = np.zeros(X.shape[1], np.int64)
    _kernels().column_values(X, counts)
    return counts


def _filled(X, column_counts, dense_columns):
    """``(indptr, indices, data, dense)``: the CSR arrays of ``X`` but for
    the columns ``dense_columns``, and those columns as a dense array."""
    values = int(column_counts.sum() - column_counts[dense_columns].sum())
    index = np.int32 if values < 2**31 and X.shape[1] < 2**31 else np.int64
    indptr = np.empty(X.shape[0] + 1, index)
    indices = np.empty(values + 1, index)
    data = np.empty(values + 1, X.dtype)
    dense_at = np.full(X.shape[1], -1, np.int64)
    dense_at[dense_columns] = np.arange(len(dense_columns))
    dense = np.zeros((X.shape[0], len(dense_columns)), X.dtype)
    # The fill reads the values' bits too, to skip eight zeros at a time.
    bits = X.view(np.uint32 if X.dtype.itemsize == 4 else np.uint64)
    _kernels().fill_csr(X, bits, indptr, indices, data, dense_at, dense)
    return indptr, indices[:-1], data[:-1], dense


# The loops.


def _column_values_loop(X, counts):
    """Add the number of values of each column of ``X`` to ``counts``."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            counts[j] += X[i, j] != 0


def _fill_csr_loop(X, bits, indptr, indices, data, dense_at, dense):
    # Eight values whose bits are all zero are skipped at once (the blank
    # border of images: 2x faster).  Otherwise every value is written, and
    # the next slot taken only after a nonzero: no branch to mispredict (2x
    # faster than an if).  A zero's write lands on the slot of the row's next
    # value, or of the next row's first (the arrays have one slot to spare),
    # which is written again after it.  -0.0 has a bit set and is no value.
    # A column with ``dense_at[j] >= 0`` goes to that column of ``dense``.
    # The tail of fewer than eight repeats the body: one loop over blocks
    # that end at min(start + 8, n) took twice the time.
    n = X.shape[1]
    # Without dense columns dense_at is not read: reading it anyway took
    # 1.17 x the time.
    split = dense.shape[1] > 0
    p = indptr[0] = 0
    for i in range(X.shape[0]):
        start = 0
        while start + 8 <= n:
            if (bits[i, start] | bits[i, start + 1] | bits[i, start + 2]
                    | bits[i, start + 3] | bits[i, start + 4] | bits[i, start + 5]
                    | bits[i, start + 6] | bits[i, start + 7]):
                for j in range(start, start + 8):
                    x = X[i, j]
                    if split and dense_at[j] >= 0:
                        dense[i, dense_at[j]] = x
                        continue
                    indices[p] = j
                    data[p] = x
                    p += x != 0
            start += 8
        for j in range(start, n):
            x = X[i, j]
            if split and dense_at[j] >= 0:
                dense[i, dense_at[j]] = x
                continue
            indices[p] = j
            data[p] = x
            p += x != 0
        indptr[i + 1] = p


@cache
def _kernels():
    return compiled(_column_values_loop, _fill_csr_loop)
