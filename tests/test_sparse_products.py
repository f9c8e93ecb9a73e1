"""The fast engine's compiled CSR products (skmlp/nn/_sparse_products.py) and
the training form of a mostly-zero X (skmlp/nn/_sparse_input.py).

Each is checked against NumPy's product of the dense arrays, on rows with
every count of values from none to more than the loop's eight at a time,
and the conversion of a dense ``X`` against scipy's.  Whole fits on CSR
rows are checked against the reference engine in ``tests/test_engines.py``.
"""

import tracemalloc

import numpy as np
import pytest
from scipy import sparse

from skmlp import ScratchMLPClassifier
from skmlp.nn import _blas, fast
from skmlp.nn import _sparse_input as si
from skmlp.nn import _sparse_products as sp

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def _sparse_dense(dtype, n=60, d=40, seed=0):
    """Rows with 0, 1, ..., 24 values (the loop takes eight at a time, then
    one by one), and a column that no row uses."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, d), dtype)
    for i in range(n):
        columns = rng.choice(d - 1, size=i % 25, replace=False)
        X[i, columns] = rng.standard_normal(len(columns))
    return X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conversion_is_scipys_csr(dtype):
    # 43 columns: five blocks of eight (skipped when blank) and a tail of 3.
    X = _sparse_dense(dtype, d=43)
    X[5, 7] = -0.0  # a bit set, but no value
    indptr, indices, data = si.to_csr(X)
    want = sparse.csr_array(X)
    np.testing.assert_array_equal(indptr, want.indptr)
    np.testing.assert_array_equal(indices, want.indices)
    np.testing.assert_array_equal(data, want.data)
    assert data.dtype == dtype
    empty = si.to_csr(np.zeros((3, 5), dtype))
    assert list(empty[0]) == [0, 0, 0, 0] and len(empty[1]) == len(empty[2]) == 0


def _split_dense(dtype, n=60, d=100):
    """``_sparse_dense``'s rows with six columns that have a value in more
    than ``DENSE_COLUMN`` of the rows (and a zero here and there)."""
    X = _sparse_dense(dtype, n, d)
    rng = np.random.default_rng(3)
    dense = [2, 3, 17, 30, 31, 98]  # the last in the loop's tail of four
    X[:, dense] = rng.standard_normal((n, len(dense))) * (rng.random((n, len(dense)))
                                                          < 0.8)
    return X, dense


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_columns_with_values_in_most_rows_stay_dense(dtype):
    X, dense = _split_dense(dtype)
    split = si.csr_if_mostly_zeros(X)
    assert isinstance(split, si.SplitCSR)
    np.testing.assert_array_equal(split.dense_columns, dense)
    np.testing.assert_array_equal(split.dense, X[:, dense])
    assert split.dense.flags.c_contiguous and split.dense.dtype == dtype
    others = X.copy()
    others[:, dense] = 0
    want = sparse.csr_array(others)
    for got, expected in ((split.csr.indptr, want.indptr),
                          (split.csr.indices, want.indices),
                          (split.csr.data, want.data)):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(split.toarray(), X)
    assert split.shape == X.shape
    blank = np.flatnonzero(~X.any(axis=0))
    assert X.shape[1] - 1 in blank
    np.testing.assert_array_equal(split.blank_columns(), blank)
    np.testing.assert_array_equal(si.blank_columns(split.csr), np.union1d(blank, dense))
    other = np.float64 if dtype == np.float32 else np.float32
    assert split.astype(dtype) is split
    np.testing.assert_array_equal(split.astype(other).toarray(), X.astype(other))
    # Not given, the blank columns are found from the CSR part.
    found = si.SplitCSR(split.csr, split.dense, split.dense_columns)
    np.testing.assert_array_equal(found.blank_columns(), blank)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bucketed", [True, False])
def test_a_split_batch_takes_its_dense_columns_through_the_blas(dtype, bucketed):
    X, dense = _split_dense(dtype)
    split = si.csr_if_mostly_zeros(X)
    rng = np.random.default_rng(4)
    rows = rng.permutation(len(X))[:30]
    W = rng.standard_normal((X.shape[1], 7)).astype(dtype)
    delta = rng.standard_normal((len(rows), 19)).astype(dtype)
    buckets = sp.transpose_buckets(X.shape[1], len(rows), dtype) if bucketed else None
    batch = sp.SparseRows(split.csr, rows, buckets=buckets,
                          dense=(split.dense_columns, split.dense[rows],
                                 np.empty((len(dense), 7), dtype)))
    out = np.full((len(rows), 7), np.nan, dtype)
    batch.times(W, out)
    atol = TOLERANCE[dtype] * 10
    np.testing.assert_allclose(out, X[rows] @ W, rtol=0, atol=atol)
    # The gradient's columns: the dense ones, then the others with a value.
    inked = batch.columns_with_values()
    others = [j for j in np.flatnonzero(X[rows].any(axis=0)) if j not in dense]
    np.testing.assert_array_equal(inked, dense + others)
    for columns in (inked, None):
        want = X[rows].T @ delta if columns is None else X[rows][:, columns].T @ delta
        got = np.full(want.shape, np.nan, dtype)
        batch.with_gradient_columns(columns).transposed_times(delta, got)
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    # A subset of rows (the rows with an error) keeps its dense rows.
    keep = np.arange(0, len(rows), 2)
    got = np.empty((len(inked), 19), dtype)
    batch.with_gradient_columns(inked)[keep].transposed_times(delta[keep], got)
    np.testing.assert_allclose(got, X[rows[keep]][:, inked].T @ delta[keep], rtol=0,
                               atol=atol)
    with pytest.raises(ValueError, match="start with its dense columns"):
        batch.with_gradient_columns(inked[1:])


def test_a_fit_with_dense_columns_is_a_fit_without_them(monkeypatch):
    # The same sums in another order: the same weights but for rounding, and
    # the split's products ran.
    X, _ = _split_dense(np.float64, n=300)
    y = np.random.default_rng(0).integers(0, 2, len(X))
    times, split = sp.SparseRows.times, []

    def spy(self, B, out):
        split.append(self.dense is not None)
        return times(self, B, out)

    monkeypatch.setattr(sp.SparseRows, "times", spy)
    fits = []
    for share in (si.DENSE_COLUMN, 1.0):
        monkeypatch.setattr(si, "DENSE_COLUMN", share)
        fits.append(ScratchMLPClassifier(hidden_layers=(9,), epochs=3, batch_size=32,
                                         random_state=0).fit(X, y))
    assert split == [True] * 30 + [False] * 30
    assert min(fits[1].weight_change_curve_) > 1e-6
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_,
                    fits[1].coefs_ + fits[1].intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_product_is_numpys(dtype):
    X = _sparse_dense(dtype)
    S = sparse.csr_array(X)
    rng = np.random.default_rng(1)
    W = rng.standard_normal((X.shape[1], 37)).astype(dtype)
    rows = np.r_[rng.permutation(len(X)), [3, 3, 0]]  # repeated rows too
    out = np.full((len(rows), 37), np.nan, dtype)
    sp.rows_times(S, rows, W, out)
    np.testing.assert_allclose(out, X[rows] @ W, rtol=0, atol=TOLERANCE[dtype] * 10)
    assert not out[rows == 0].any()  # row 0 has no values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_product_is_numpys(dtype):
    X = _sparse_dense(dtype)
    S = sparse.csr_array(X)
    rng = np.random.default_rng(2)
    rows = rng.permutation(len(X))[:30]
    delta = rng.standard_normal((len(rows), 19)).astype(dtype)
    # The columns and their counts, from a pass of their own or from the
    # forward product, which counts them on the way and, given buckets,
    # sorts the values by column.
    W = rng.standard_normal((X.shape[1], 7)).astype(dtype)
    counted = sp.SparseRows(S, rows)
    sorted_ = sp.SparseRows(S, rows, buckets=sp.transpose_buckets(
        X.shape[1], len(rows), dtype))
    for forward in (counted, sorted_):
        out = np.empty((len(rows), 7), dtype)
        forward.times(W, out)
        np.testing.assert_allclose(out, X[rows] @ W, rtol=0,
                                   atol=TOLERANCE[dtype] * 10)
        np.testing.assert_array_equal(forward.column_counts,
                                      np.count_nonzero(X[rows], axis=0))
    assert sorted_.bucketed and not counted.bucketed
    for batch in (sp.SparseRows(S, rows), counted, sorted_):
        inked = batch.columns_with_values()
        np.testing.assert_array_equal(inked, np.flatnonzero(X[rows].any(axis=0)))
        assert X.shape[1] - 1 not in inked
        for columns in (inked, None, inked[::3]):
            want = (X[rows].T @ delta if columns is None
                    else X[rows][:, columns].T @ delta)
            out = np.full(want.shape, np.nan, dtype)
            batch.with_gradient_columns(columns).transposed_times(delta, out)
            np.testing.assert_allclose(out, want, rtol=0,
                                       atol=TOLERANCE[dtype] * 10)
        # A subset of rows (the rows with an error) keeps the columns, and
        # counts its own values.
        keep = np.arange(0, len(rows), 2)
        out = np.empty((len(inked), 19), dtype)
        batch.with_gradient_columns(inked)[keep].transposed_times(delta[keep], out)
        np.testing.assert_allclose(out, X[rows[keep]][:, inked].T @ delta[keep],
                                   rtol=0, atol=TOLERANCE[dtype] * 10)


def test_mostly_zero_arrays_train_as_csr_and_others_as_they_are(tmp_path):
    X = _sparse_dense(np.float32, n=200, d=100)
    assert np.count_nonzero(X) < si.SPARSE_INPUT * X.size
    converted = si.csr_if_mostly_zeros(X)
    assert sparse.issparse(converted) and converted.format == "csr"
    np.testing.assert_array_equal(converted.toarray(), X)
    dense = np.random.default_rng(0).random((50, 40)).astype(np.float32)
    assert si.csr_if_mostly_zeros(dense) is dense
    # Not converted: Fortran order, a memory map (its CSR form would be in
    # memory) and what is sparse already.
    fortran = np.asfortranarray(X)
    assert si.csr_if_mostly_zeros(fortran) is fortran
    mapped = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+",
                                       dtype=X.dtype, shape=X.shape)
    mapped[...] = X
    assert si.csr_if_mostly_zeros(mapped) is mapped
    csr = sparse.csr_array(X)
    assert si.csr_if_mostly_zeros(csr) is csr


def test_large_batches_keep_the_blas_and_its_threads(monkeypatch):
    # A batch whose first-layer products the BLAS shares among threads trains
    # dense: its threads beat the one-thread loops.
    X = _sparse_dense(np.float32, n=200, d=100)
    sizes, large = (100, 500, 1), fast.SINGLE_THREAD_GEMM // (100 * 500)
    monkeypatch.setattr(_blas, "blas_threads", lambda: 2)
    assert fast.training_input(X, sizes, large) is X
    assert sparse.issparse(fast.training_input(X, sizes, large - 1))
    monkeypatch.setattr(_blas, "blas_threads", lambda: 1)
    assert sparse.issparse(fast.training_input(X, sizes, large))


def test_fit_on_digit_images_needs_less_memory_than_their_copy():
    # Their CSR form (values and column indices) is the fit's largest array.
    rng = np.random.default_rng(0)
    X = _sparse_dense(np.float32, n=20_000, d=784)
    X[:, :100] = 0  # a blank border
    y = rng.integers(0, 2, len(X))
    assert np.count_nonzero(X) < 0.02 * X.size
    clf = ScratchMLPClassifier(hidden_layers=(50,), epochs=1, random_state=0)
    # numba's loading of the compiled loops is not the fit's memory.
    clf.fit(X[:200], y[:200])
    tracemalloc.start()
    try:
        clf.fit(X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.1 * X.nbytes


def test_the_compiled_loops_make_no_arrays():
    # An array that numba returns is boxed through a call into Python, where
    # the KeyboardInterrupt of a signal (Ctrl-C; SIGTERM in the command line)
    # surfaces as a SystemError: the loops write into arrays they are given.
    X = sparse.csr_array(_sparse_dense(np.float32, n=12, d=20))
    rows, kernels = np.arange(12), sp._kernels()
    indptr = np.r_[0, np.cumsum(np.bincount(X.indices, minlength=20))]
    values = np.empty(X.nnz, np.float32)
    results = [
        kernels.transpose(X.indptr, X.indices, X.data, rows, indptr,
                          np.empty(X.nnz, np.int32), values),
        kernels.count_columns(X.indptr, X.indices, rows, np.zeros(20, np.int64)),
        kernels.rows_times(X.indptr[:-1], X.indptr[1:], X.indices, X.data, rows,
                           np.ones((20, 3), np.float32), np.empty((12, 3), np.float32),
                           False, np.zeros(20, np.int64),
                           *sp.transpose_buckets(20, 12, np.float32), 12),
        si._kernels().column_values(X.toarray(), np.zeros(20, np.int64)),
        si._kernels().fill_csr(X.toarray(), X.toarray().view(np.uint32),
                               np.empty(13, np.int32), np.empty(X.nnz + 1, np.int32),
                               np.empty(X.nnz + 1, np.float32),
                               np.full(20, -1, np.int64),
                               np.zeros((12, 0), np.float32)),
    ]
    assert results == [None] * len(results)


def test_buckets_give_the_transposition_s_gradients_exactly(monkeypatch):
    # The forward product's buckets list each column's rows in the order the
    # transposition does: the same sums, bit for bit.
    X = _sparse_dense(np.float32, n=300, d=100)
    y = np.random.default_rng(0).integers(0, 2, len(X))
    assert sp.transpose_buckets(100, 32, np.float32) is not None
    transposed_times, bucketed = sp.SparseRows.transposed_times, []

    def spy(self, delta, out):
        bucketed.append(self.bucketed)
        return transposed_times(self, delta, out)

    monkeypatch.setattr(sp.SparseRows, "transposed_times", spy)
    fits = []
    for slots in (sp.BUCKET_SLOTS, 100 * 32 - 1):  # then too many for buckets
        monkeypatch.setattr(sp, "BUCKET_SLOTS", slots)
        fits.append(ScratchMLPClassifier(hidden_layers=(9,), epochs=2, batch_size=32,
                                         random_state=0).fit(X, y))
    n_batches = 2 * 10
    assert bucketed == [True] * n_batches + [False] * n_batches
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_,
                    fits[1].coefs_ + fits[1].intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
