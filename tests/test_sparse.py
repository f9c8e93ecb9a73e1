"""scipy sparse X (CSR, CSC; sparse matrices and sparse arrays): the same
network as on the dense X within rounding, its float32 kept, and all of X never
densified."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from skmlp import ScratchMLPClassifier, classifier
from skmlp.nn import fast

CONTAINERS = [sparse.csr_matrix, sparse.csr_array, sparse.csc_matrix,
              sparse.csc_array]
CONTAINER_IDS = ["csr_matrix", "csr_array", "csc_matrix", "csc_array"]


def _sparse_problem(n=300, n_features=40, n_classes=2, density=0.15, seed=0):
    """Non-negative features, mostly zeros, a few columns blank throughout."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, n_features))
    X[rng.random(X.shape) > density] = 0
    X[:, :8] = 0  # blank columns: the dense side takes its column shortcut
    score = X[:, 8:].sum(axis=1) + 0.3 * rng.standard_normal(n)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return X, y


def _small(**params):
    params = {"hidden_layers": (16, 8), "epochs": 4, "batch_size": 32,
              "random_state": 0, **params}
    return ScratchMLPClassifier(**params)


def _assert_same_network(a, b, rtol=1e-9, atol=1e-12):
    for name in ("coefs_", "intercepts_"):
        for p, q in zip(getattr(a, name), getattr(b, name), strict=True):
            assert p.dtype == q.dtype
            assert_allclose(p, q, rtol=rtol, atol=atol)
    assert_allclose(a.loss_curve_, b.loss_curve_, rtol=rtol)
    assert a.n_iter_ == b.n_iter_


CONFIGS = {
    "sgd-squared": dict(solver="sgd", eta=0.01),
    "sgd-momentum-alpha": dict(solver="sgd", eta=0.01, momentum=0.9, alpha=0.01),
    "adam-log-loss-3-classes": dict(loss="log_loss", n_classes=3),
    "adam-alpha-sigmoid-no-shuffle": dict(alpha=0.1, activation="sigmoid",
                                          shuffle=False),
    "adam-tanh-early-stopping": dict(activation="tanh", early_stopping=True,
                                     n_iter_no_change=2, epochs=8),
    "sample-weights": dict(solver="sgd", eta=0.01, sample_weight=True),
}


@pytest.mark.parametrize("container", CONTAINERS, ids=CONTAINER_IDS)
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_sparse_and_dense_fit_the_same_network(container, config):
    config = dict(config)
    X, y = _sparse_problem(n_classes=config.pop("n_classes", 2))
    fit_params = {}
    if config.pop("sample_weight", False):
        # A third of the weights 0: the rows without error are dropped from
        # the backward products, on the sparse rows too.
        rng = np.random.default_rng(1)
        fit_params["sample_weight"] = rng.choice([0.0, 0.5, 2.0], len(y))
    dense = _small(**config).fit(X, y, **fit_params)
    X_sparse = container(X)
    fitted = _small(**config).fit(X_sparse, y, **fit_params)
    _assert_same_network(fitted, dense)
    if config.get("early_stopping"):
        assert_allclose(fitted.validation_scores_, dense.validation_scores_)
    for method in ("predict_proba", "predict_log_proba"):
        assert_allclose(getattr(fitted, method)(X_sparse),
                        getattr(dense, method)(X), rtol=1e-9, atol=1e-12)
    assert_array_equal(fitted.predict(X_sparse), dense.predict(X))
    assert fitted.score(X_sparse, y) == dense.score(X, y)
    # A model fitted on either predicts the other kind of input alike.
    assert_allclose(dense.predict_proba(X_sparse), dense.predict_proba(X),
                    rtol=1e-9, atol=1e-12)


def test_rows_without_error_are_dropped_from_sparse_batches(monkeypatch):
    # The shortcut must have run on sparse batches for the comparison of
    # sample weights above to cover it.
    X, y = _sparse_problem()
    sample_weight = np.where(np.arange(len(y)) % 3 == 0, 0.0, 1.5)
    dropped = []
    rows_with_error = fast._rows_with_error

    def spy(delta):
        keep = rows_with_error(delta)
        dropped.append(keep is not None)
        return keep

    monkeypatch.setattr(fast, "_rows_with_error", spy)
    sparse_fit = _small(solver="sgd", eta=0.01).fit(
        sparse.csr_matrix(X), y, sample_weight=sample_weight)
    assert sum(dropped) > len(dropped) / 2  # most batches, by chance
    dense_fit = _small(solver="sgd", eta=0.01).fit(X, y, sample_weight=sample_weight)
    _assert_same_network(sparse_fit, dense_fit)


@pytest.mark.parametrize("container", CONTAINERS, ids=CONTAINER_IDS)
def test_partial_fit_on_sparse_batches(container):
    X, y = _sparse_problem(n_classes=3)
    dense, fitted = _small(), _small()
    for rows in np.array_split(np.arange(len(y)), 3):
        dense.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        fitted.partial_fit(container(X[rows]), y[rows], classes=[0, 1, 2])
    _assert_same_network(fitted, dense)
    assert_allclose(fitted.predict_proba(container(X)), dense.predict_proba(X),
                    rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("container", [sparse.csr_array, sparse.csc_matrix],
                         ids=["csr_array", "csc_matrix"])
def test_sparse_dtype_is_kept_through_fit_and_predict(monkeypatch, container, dtype):
    X, y = _sparse_problem()
    X_sparse = container(X.astype(dtype))
    grad_dtypes = set()
    apply_updates = fast.apply_updates

    def spy(solver, state, params, grads, *args):
        grad_dtypes.update(g.dtype for g in grads)
        return apply_updates(solver, state, params, grads, *args)

    monkeypatch.setattr(fast, "apply_updates", spy)
    clf = _small(alpha=0.01).fit(X_sparse, y)
    assert grad_dtypes == {np.dtype(dtype)}
    assert {p.dtype for p in clf.coefs_ + clf.intercepts_} == {np.dtype(dtype)}
    assert clf.predict_proba(X_sparse).dtype == dtype
    # and the same network as the dense data of that dtype, within its rounding
    dense = _small(alpha=0.01).fit(X.astype(dtype), y)
    tol = 1e-4 if dtype == np.float32 else 1e-9
    assert_allclose(clf.predict_proba(X_sparse), dense.predict_proba(X.astype(dtype)),
                    rtol=tol, atol=tol)


def test_integer_sparse_input_trains_in_float64():
    X, y = _sparse_problem()
    X_int = sparse.csr_matrix((X > 0).astype(np.int64))
    clf = _small().fit(X_int, y)
    assert clf.coefs_[0].dtype == np.float64
    dense = _small().fit((X > 0).astype(np.float64), y)
    _assert_same_network(clf, dense)


class _NoDensifying(sparse.csr_matrix):
    """A CSR matrix whose dense form of more than ``limit`` rows is an error.

    scipy keeps the subclass through row indexing and ``tocsr``, so batches and
    predict chunks are of this class too, and may be densified: they are small.
    """

    limit = 0

    def _refuse(self, what):
        if self.shape[0] > self.limit:
            raise AssertionError(f"{what} of {self.shape[0]} rows of X")

    def toarray(self, *args, **kwargs):
        self._refuse("toarray")
        return super().toarray(*args, **kwargs)

    def todense(self, *args, **kwargs):
        self._refuse("todense")
        return super().todense(*args, **kwargs)

    def __array__(self, *args, **kwargs):
        self._refuse("__array__")
        return self.toarray().__array__(*args, **kwargs)


def test_all_of_X_is_never_densified(monkeypatch):
    monkeypatch.setattr(classifier, "_PREDICT_CHUNK", 100)
    monkeypatch.setattr(_NoDensifying, "limit", 100)
    X, y = _sparse_problem(n=600)
    X_guarded = _NoDensifying(X)
    with pytest.raises(AssertionError, match="toarray of 600 rows"):
        X_guarded.toarray()  # the guard works
    with pytest.raises(AssertionError, match="__array__ of 600 rows"):
        np.asarray(X_guarded)
    params = dict(batch_size=50, early_stopping=True, n_iter_no_change=2, epochs=3)
    weights = np.linspace(1, 3, 600)  # unequal: equal weights are no weights
    clf = _small(**params).fit(X_guarded, y, sample_weight=weights)
    clf.set_params(early_stopping=False).partial_fit(X_guarded, y)
    for method in ("predict", "predict_proba", "predict_log_proba"):
        getattr(clf, method)(X_guarded)
    dense = _small(**params).fit(X, y, sample_weight=weights)
    dense.set_params(early_stopping=False).partial_fit(X, y)
    assert_allclose(clf.predict_proba(X_guarded), dense.predict_proba(X),
                    rtol=1e-9, atol=1e-12)


def test_memory_stays_far_below_the_dense_form_of_X():
    # 3000 x 200,000 with 5 values a row: 51 MB of dense float32 per batch
    # of 64, 2.4 GB for all of X; the first layer's weights take 3.2 MB.
    n, n_features, per_row = 3000, 200_000, 5
    rng = np.random.default_rng(0)
    columns = rng.choice(n_features, (n, per_row))
    X = sparse.csr_matrix(
        (np.ones(n * per_row, np.float32), columns.ravel(),
         np.arange(0, n * per_row + 1, per_row)),
        shape=(n, n_features),
    )
    y = np.arange(n) % 2
    clf = ScratchMLPClassifier(hidden_layers=(4,), epochs=1, batch_size=64,
                               random_state=0)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Weights, gradients, Adam's two moments, the product's temporary and the
    # snapshot of an epoch's start: 8 x 3.2 MB; a dense batch alone is 51 MB.
    assert peak < 40e6, f"peak {peak / 1e6:.1f} MB"
    assert clf.coefs_[0].dtype == np.float32


def test_non_canonical_sparse_X_is_read_as_is_and_left_unchanged():
    # Unsorted column indices and duplicate entries (which sum), as scipy
    # allows: the products read them right, and nothing is sorted in place.
    X, y = _sparse_problem(n=120)
    coo = sparse.coo_matrix(X)
    by_row = np.lexsort((-coo.col, coo.row))  # columns in decreasing order
    cols = np.repeat(coo.col[by_row], 2)  # each value twice, as two halves
    data = np.repeat(coo.data[by_row] / 2, 2)
    counts = np.bincount(coo.row, minlength=X.shape[0]) * 2
    X_odd = sparse.csr_matrix((data, cols, np.r_[0, np.cumsum(counts)]),
                              shape=X.shape)
    assert not X_odd.has_sorted_indices
    saved = [a.copy() for a in (X_odd.data, X_odd.indices, X_odd.indptr)]
    assert len(X_odd.data) == 2 * coo.nnz
    clf = _small(shuffle=True).fit(X_odd, y)
    proba = clf.predict_proba(X_odd)
    for array, copy in zip((X_odd.data, X_odd.indices, X_odd.indptr), saved):
        assert_array_equal(array, copy)
    dense = _small(shuffle=True).fit(X, y)
    _assert_same_network(clf, dense)
    assert_allclose(proba, dense.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_float32_overflow_retry_and_error_on_sparse_rows():
    X, y = _sparse_problem(n=100)
    clf = _small().fit(sparse.csr_matrix(X.astype(np.float32)), y)
    X_huge = X.astype(np.float32)
    X_huge[:3, 8:] = 3e37  # overflows float32 in the first layer only
    want = clf.predict_proba(X_huge)  # dense: retried in float64
    assert np.isfinite(want).all()
    assert_allclose(clf.predict_proba(sparse.csr_matrix(X_huge)), want, rtol=1e-6)
    X_inf = X.copy()
    X_inf[0, 8:] = 1e308
    clf.coefs_[0][:] = 1.0  # the first layer gives inf, the second inf - inf
    for X_bad in (X_inf, sparse.csr_matrix(X_inf)):
        with pytest.raises(ValueError, match=r"overflowed on 1 sample.*1e\+308"):
            clf.predict(X_bad)


def test_one_hot_encoded_dataframe_in_a_pipeline():
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({
        "colour": pd.Categorical(rng.choice(["red", "green", "blue", "grey"], n)),
        "shape": pd.Categorical(rng.choice(list("abcdefghij"), n)),
        "size": rng.choice(["S", "M", "L"], n),
    })
    # The label is a rule on the categories that a network can learn.
    rule = frame["colour"].isin(["red", "blue"]) ^ frame["shape"].isin(list("abcd"))
    y = np.where(rule, "yes", "no")

    def pipeline(sparse_output):
        encode = ColumnTransformer(
            [("onehot", OneHotEncoder(sparse_output=sparse_output),
              ["colour", "shape", "size"])]
        )
        return make_pipeline(encode, _small(hidden_layers=(16,), epochs=40, eta=0.01))

    model = pipeline(sparse_output=True).fit(frame, y)
    assert sparse.issparse(model[0].transform(frame))  # the classifier saw CSR
    assert model.score(frame, y) > 0.95
    assert set(model.predict(frame)) == {"yes", "no"}
    dense = pipeline(sparse_output=False).fit(frame, y)
    assert not sparse.issparse(dense[0].transform(frame))
    assert_allclose(model.predict_proba(frame), dense.predict_proba(frame),
                    rtol=1e-9, atol=1e-12)


def test_sparse_tag_is_set():
    assert ScratchMLPClassifier().__sklearn_tags__().input_tags.sparse
