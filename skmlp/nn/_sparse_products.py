"""The fast engine's first-layer products for inputs that are mostly zeros.

Part of :mod:`skmlp.nn.fast`, kept apart for its length.  A digit image is
about 15-25 % ink: the other pixels add nothing to ``X @ W[1]`` and nothing
to ``X.T @ delta[1]``.  The BLAS multiplies them all (the blank border of a
batch is left out, see ``fast._column_mask``, but the zeros between the
strokes stay).  Here the inputs are rows of a CSR matrix ``(indptr, indices,
data)``, and each product visits the stored values only:

- forward, ``out[i] = X[rows[i]] @ W``: the weighted sum of the rows of ``W``
  that the row's values pick (:func:`_rows_times_loop`);
- gradient, ``out[a] = X[rows][:, columns[a]] @ delta``: the batch turned
  around (the forward product's buckets, see below, or the CSR form of its
  transpose, :func:`_transpose_loop`), whose rows of ``columns`` then pick
  rows of ``delta`` the same way.

The same loop does both.  It sums eight picked rows at a time, so that each
value of ``out`` is loaded and stored once per eight rows; the picked rows
stream from the cache.  On 128 MNIST images of 1 and 5 (15 % ink, 468 of
784 columns with ink) and 500 units, one thread: forward 0.34 ms, gradient
0.35 ms plus 0.05 ms to turn the batch, against 0.59 and 0.58 ms for the
BLAS on the inked columns (``benchmarks/sparse.py``).  A value costs about
2.5 times what it costs the BLAS, so the loops pay below about 40 % density
of the batch's inked columns; :func:`training_input` chooses.

The forward loop also counts the values of each column, and sorts them into
a bucket per column (:meth:`SparseRows.times`): the gradient's columns come
from the counts, and the buckets are the transposed batch.  Passes of their
own read the batch's values twice more: within a default fit on 1 vs 5 the
column pass took 0.07 ms a batch and the transposition 0.11 ms with its
count, 0.09 ms without (of a batch's 2.5 - 2.9 ms); with the counts, a first
epoch took 0.97 x the time, and with the buckets 0.98 - 0.99 x that again
(1 vs 5; 0.98 on 4 vs 9; both versions in one process, 20 - 40 fits each in
turn).  Wide data is transposed after the forward pass
(:data:`BUCKET_SLOTS`).

The loops are about at the cache's pace: with ``W`` small enough for the
first-level cache (8 distinct rows) the forward product took 0.28 ms against
0.35 - 0.40 ms for MNIST's, and splitting the output columns into blocks that
stay in the second-level cache made it slower (0.53 ms in two blocks, 0.77 in
four).

Compiled by numba as ``_fast_updates`` is, with the same fast-math licences
(``reassoc`` lets the sums of eight be vectorised): the results differ from
the BLAS's by the order of summation only.
"""

from functools import cache

import numpy as np

from ._fast_updates import _every_row, compiled
from ._sparse_input import SplitCSR

# The forward product sorts a batch's values into a bucket per column when
# the buckets, one slot per column and batch row, hold at most this many
# slots (8 MB in float32; MNIST at batches of 128: 100,352 slots, at 1000:
# 784,000).  Wider data (text, many one-hot levels) is transposed after the
# forward pass instead: its mostly empty buckets would cost memory, and
# writes to more places at once than the cache holds (a cap, not measured
# beyond MNIST and the 1000 one-hot columns of benchmarks/sparse.py).
BUCKET_SLOTS = 2**20


def transpose_buckets(n_features, batch_size, dtype):
    """The arrays of :meth:`SparseRows.times`'s buckets (rows, values) for
    batches of up to ``batch_size`` rows of ``n_features`` columns, or None
    when they would exceed :data:`BUCKET_SLOTS`."""
    slots = n_features * batch_size
    if slots > BUCKET_SLOTS:
        return None
    return np.empty(slots, np.int32), np.empty(slots, dtype)


class SparseRows:
    """The rows ``rows`` of a CSR matrix: a batch of a sparse ``X`` in
    training, which the products read in place (no batch is gathered).  The
    first weights get a gradient for ``columns`` (None: all).

    The forward product (:meth:`times`) counts the values of each column on
    the way and, given ``buckets`` (see :func:`transpose_buckets`), also
    sorts them by column: bucket ``j`` holds the batch rows with a value in
    column ``j`` and the values, which is the transposed batch that the
    gradient's product reads.  Without buckets (or for a subset of the
    rows) the gradient transposes the batch from the counts.

    A batch of a :class:`SplitCSR` has ``dense = (dense_columns, values,
    weights)``: the split's dense columns, the batch's rows of them
    (``len(rows)`` x k) and a buffer for the first weights' rows of those
    columns (k x units).  Its products take those columns through the BLAS.
    """

    def __init__(self, matrix, rows, columns=None, buckets=None, dense=None):
        self.matrix, self.rows, self.columns = matrix, rows, columns
        self.buckets, self.dense = buckets, dense
        self.column_counts = None
        self.bucketed = False  # whether the buckets hold these rows' values
        self.shape = (len(rows), matrix.shape[1])
        self.dtype = matrix.dtype

    def __getitem__(self, keep):
        # Other rows: neither the counts nor the buckets are of these.
        dense = None
        if self.dense is not None:
            dense_columns, values, weights = self.dense
            dense = dense_columns, values[keep], weights
        return SparseRows(self.matrix, self.rows[keep], self.columns, dense=dense)

    def times(self, B, out):
        """``X @ B`` into ``out``, counting (and with buckets, sorting) the
        values of each column of the CSR matrix."""
        X = self.matrix
        self.column_counts = np.zeros(self.shape[1], np.int64)
        picked, values = _NO_BUCKETS if self.buckets is None else self.buckets
        if self.dense is not None:
            dense_columns, dense_values, weights = self.dense
            np.matmul(dense_values, np.take(B, dense_columns, axis=0, mode="clip",
                                            out=weights), out=out)
        _kernels().rows_times(X.indptr[:-1], X.indptr[1:], X.indices, X.data,
                              self.rows, B, out, self.dense is not None,
                              self.column_counts, picked, values, len(self.rows))
        self.bucketed = self.buckets is not None
        return out

    def _counts(self):
        if self.column_counts is None:
            X, self.column_counts = self.matrix, np.zeros(self.shape[1], np.int64)
            _kernels().count_columns(X.indptr, X.indices, self.rows,
                                     self.column_counts)
        return self.column_counts

    def columns_with_values(self):
        """The indices of the columns with a value in these rows, increasing;
        a split's dense columns come first, all of them."""
        inked = np.flatnonzero(self._counts())
        if self.dense is None:
            return inked
        return np.concatenate([self.dense[0], inked])

    def with_gradient_columns(self, columns):
        """These rows, whose first weights get a gradient for ``columns``:
        None (all), or for a split's batch, ``columns`` that start with its
        dense columns, as :meth:`columns_with_values` gives them."""
        if self.dense is not None and columns is not None:
            dense_columns = self.dense[0]
            if not np.array_equal(columns[:len(dense_columns)], dense_columns):
                raise ValueError("the gradient's columns of a SplitCSR batch "
                                 "must start with its dense columns")
        rows = SparseRows(self.matrix, self.rows, columns, self.buckets, self.dense)
        rows.column_counts, rows.bucketed = self.column_counts, self.bucketed
        return rows

    def transposed_times(self, delta, out):
        """``X[:, columns].T @ delta`` into ``out``: one row per column."""
        columns = _every_row(self.shape[1]) if self.columns is None else self.columns
        sparse_columns, sparse_out = columns, out
        if self.dense is not None and self.columns is not None:
            # The dense columns' rows first, through the BLAS.
            dense_columns, values, _ = self.dense
            k = len(dense_columns)
            np.matmul(values.T, delta, out=out[:k])
            sparse_columns, sparse_out = columns[k:], out[k:]
        if not self.bucketed:
            transposed_times(self.matrix, self.rows, sparse_columns, delta,
                             sparse_out, self._counts())
        else:
            # Bucket j starts at slot j * len(rows).
            starts = _every_row(self.shape[1]) * len(self.rows)
            picked, values = self.buckets
            _kernels().rows_times(starts, starts + self.column_counts, picked,
                                  values, sparse_columns, delta, sparse_out, False,
                                  *_NOTHING_MORE)
        if self.dense is not None and self.columns is None:
            # Every column: the dense ones, zero in the CSR part, get theirs.
            dense_columns, values, _ = self.dense
            out[dense_columns] = values.T @ delta
        return out


def batch(X, rows, workspace, rows_slice=None):
    """The rows ``rows`` of a CSR ``X`` or a :class:`SplitCSR` as the
    products read them, with ``workspace``'s buffers (``fast.Workspace``).
    A split's dense columns are gathered, or with ``rows_slice``, the same
    rows as a slice, viewed."""
    if not isinstance(X, SplitCSR):
        return SparseRows(X, rows, buckets=workspace.buckets)
    values = (X.dense[rows_slice] if rows_slice is not None
              else np.take(X.dense, rows, axis=0, mode="clip",
                           out=workspace.dense_values[:len(rows)]))
    return SparseRows(X.csr, rows, buckets=workspace.buckets,
                      dense=(X.dense_columns, values, workspace.dense_weights))


_NO_COUNTS = np.zeros(0, np.int64)
_NO_BUCKETS = np.zeros(0, np.int32), np.zeros(0, np.float32)
# The loop's last arguments when it neither counts nor sorts.
_NOTHING_MORE = (_NO_COUNTS, *_NO_BUCKETS, 0)


def rows_times(X, rows, B, out):
    """``out[i] = X[rows[i]] @ B`` for a CSR matrix ``X`` (C-contiguous
    ``B`` and ``out``)."""
    _kernels().rows_times(X.indptr[:-1], X.indptr[1:], X.indices, X.data, rows,
                          B, out, False, *_NOTHING_MORE)
    return out


def transposed_times(X, rows, columns, delta, out, column_counts):
    """``out[a] = X[rows][:, columns[a]].T @ delta`` for every ``a``: a row
    of ``out`` whose column has no value in ``rows`` is zero.
    ``column_counts`` are the values of each column of ``X`` in ``rows``."""
    # The loops make no arrays: one returned by numba is boxed through a call
    # into Python, where a signal's KeyboardInterrupt (Ctrl-C, SIGTERM in
    # the command line) would surface as a SystemError.
    indptr = np.zeros(X.shape[1] + 1, np.int64)
    np.cumsum(column_counts, out=indptr[1:])
    picked = np.empty(indptr[-1], np.int32)
    values = np.empty(indptr[-1], X.dtype)
    _kernels().transpose(X.indptr, X.indices, X.data, rows, indptr, picked,
                         values)
    _kernels().rows_times(indptr[:-1], indptr[1:], picked, values, columns, delta,
                          out, False, *_NOTHING_MORE)
    return out


# The loops.


def _rows_times_loop(starts, stops, indices, data, rows, B, out, add,
                     column_counts, picked, values, stride):
    """``out[i] = sum over p in starts[rows[i]] .. stops[rows[i]] of data[p] *
    B[indices[p]]``, or with ``add``, ``out[i]`` plus that sum.  Unless
    ``column_counts`` is empty, each value's column
    is counted in it; unless ``picked`` is empty too, the value and its row
    ``i`` go to slot ``stride * column + count`` of ``values`` and
    ``picked``: a bucket per column."""
    n = B.shape[1]
    count, sort = len(column_counts) > 0, len(picked) > 0
    for i in range(len(rows)):
        o = out[i]
        if not add:
            for c in range(n):
                o[c] = 0
        p, stop = starts[rows[i]], stops[rows[i]]
        if sort:
            for q in range(p, stop):
                j = indices[q]
                slot = stride * j + column_counts[j]
                picked[slot] = i
                values[slot] = data[q]
                column_counts[j] += 1
        elif count:
            for q in range(p, stop):
                column_counts[indices[q]] += 1
        while p + 8 <= stop:
            b0, b1, b2, b3 = (B[indices[p]], B[indices[p + 1]],
                              B[indices[p + 2]], B[indices[p + 3]])
            b4, b5, b6, b7 = (B[indices[p + 4]], B[indices[p + 5]],
                              B[indices[p + 6]], B[indices[p + 7]])
            x0, x1, x2, x3 = data[p], data[p + 1], data[p + 2], data[p + 3]
            x4, x5, x6, x7 = data[p + 4], data[p + 5], data[p + 6], data[p + 7]
            for c in range(n):
                o[c] += (((x0 * b0[c] + x1 * b1[c]) + (x2 * b2[c] + x3 * b3[c]))
                         + ((x4 * b4[c] + x5 * b5[c]) + (x6 * b6[c] + x7 * b7[c])))
            p += 8
        # The last seven: four, two and one at a time (one by one, they took
        # about a tenth of the loop on a SplitCSR's sparse columns).
        if p + 4 <= stop:
            b0, b1, b2, b3 = (B[indices[p]], B[indices[p + 1]],
                              B[indices[p + 2]], B[indices[p + 3]])
            x0, x1, x2, x3 = data[p], data[p + 1], data[p + 2], data[p + 3]
            for c in range(n):
                o[c] += (x0 * b0[c] + x1 * b1[c]) + (x2 * b2[c] + x3 * b3[c])
            p += 4
        if p + 2 <= stop:
            b0, b1, x0, x1 = B[indices[p]], B[indices[p + 1]], data[p], data[p + 1]
            for c in range(n):
                o[c] += x0 * b0[c] + x1 * b1[c]
            p += 2
        if p < stop:
            b, x = B[indices[p]], data[p]
            for c in range(n):
                o[c] += x * b[c]


def _transpose_loop(indptr, indices, data, rows, t_indptr, t_rows, t_data):
    """The CSR arrays of ``X[rows].T`` into ``t_rows``, ``t_data`` (one slot
    per value of the rows), given their ``t_indptr``: its row ``j`` lists
    the batch rows (0 to ``len(rows) - 1``) with a value in column ``j``, and
    the values."""
    for i in range(len(rows)):
        for p in range(indptr[rows[i]], indptr[rows[i] + 1]):
            j = indices[p]
            # t_indptr[j] counts up to the row's end, and is put back below.
            t_rows[t_indptr[j]] = i
            t_data[t_indptr[j]] = data[p]
            t_indptr[j] += 1
    for j in range(len(t_indptr) - 2, 0, -1):
        t_indptr[j] = t_indptr[j - 1]
    t_indptr[0] = 0


def _count_columns_loop(indptr, indices, rows, column_counts):
    for i in range(len(rows)):
        for p in range(indptr[rows[i]], indptr[rows[i] + 1]):
            column_counts[indices[p]] += 1

@cache
def _kernels():
    return compiled(_rows_times_loop, _transpose_loop, _count_columns_loop)
