"""Property-based tests: whatever the shapes, values, labels and parameters,
skmlp either gives a correct, finite answer or raises ValueError / TypeError,
and never modifies its input.

Each example is kept cheap (tiny networks, a few epochs); the numbers of
examples are chosen so that this file runs in well under 40 seconds.
"""

import hashlib
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import ConvergenceWarning

from skmlp import ScratchMLPClassifier, preprocessing

SETTINGS = {
    "deadline": None,  # fitting time varies with the machine's load
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

# Values a careless pipeline can produce: ordinary, huge, tiny, zero, and
# (in `any_float`) the extremes of float64, NaN and infinities.
SPECIAL = [0.0, 1.0, -1.0, 1e30, -1e30, 1e-30, -1e-30, 3e38, -3e38, 1e300, 1e-300]
moderate_float = st.floats(-10, 10, allow_subnormal=False)
any_float = st.one_of(
    moderate_float,
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
)


def _digest(*arrays):
    """A fingerprint of arrays: shape, dtype and every byte."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"None")
            continue
        a = np.asarray(a)
        h.update(repr((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def _assert_probabilities(P, n_samples, n_classes):
    assert P.shape == (n_samples, n_classes)
    assert np.isfinite(P).all(), P
    assert ((P >= 0) & (P <= 1)).all(), P
    tolerance = 16 * np.finfo(P.dtype).eps
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=0, atol=tolerance)


def _refused_clearly(exc):
    # ValueError / TypeError only, and a message that says something.
    assert isinstance(exc, ValueError | TypeError)
    assert len(str(exc)) > 20, str(exc)


# --------------------------------------------------------------------------
# Strategies


LABEL_SETS = {
    "int": lambda k: np.arange(k) * 3 - 2,
    "big-int": lambda k: np.arange(k, dtype=np.int64) * 10**12,
    "uint8": lambda k: np.arange(k, dtype=np.uint8),
    "str": lambda k: np.array(["cat", "dog", "", "a b", "ünï"])[:k],
    "object": lambda k: np.array(["x", "y", "z", "w", "v"], dtype=object)[:k],
    "float": lambda k: np.arange(k) / 1.0,
}


@st.composite
def labels(draw, n_samples):
    """2..5 classes of one kind, each present, in a random order."""
    k = draw(st.integers(2, min(5, n_samples)))
    classes = LABEL_SETS[draw(st.sampled_from(sorted(LABEL_SETS)))](k)
    order = draw(st.permutations(range(n_samples)))
    return classes[np.arange(n_samples) % k][list(order)]


@st.composite
def matrices(draw, elements, n_samples=None, n_features=None):
    n = draw(st.integers(2, 24)) if n_samples is None else n_samples
    d = draw(st.integers(1, 5)) if n_features is None else n_features
    X = draw(hnp.arrays(np.float64, (n, d), elements=elements))
    for column in draw(st.sets(st.integers(0, d - 1), max_size=d)):
        X[:, column] = draw(elements)  # constant columns
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    with np.errstate(over="ignore"):
        return X.astype(dtype)  # huge float64 may become inf in float32


def classifier_params(draw, safe):
    params = {
        "hidden_layers": tuple(
            draw(st.lists(st.integers(1, 6), min_size=1, max_size=2))
        ),
        "activation": draw(st.sampled_from(["relu", "sigmoid", "tanh"])),
        "loss": draw(st.sampled_from(["squared_error", "log_loss"])),
        "batch_size": draw(st.integers(1, 16)),
        "epochs": draw(st.integers(1, 3)),
        "alpha": draw(st.sampled_from([0.0, 1e-3, 1.0])),
        "shuffle": draw(st.booleans()),
        "random_state": draw(st.integers(0, 2**31 - 2)),
    }
    if safe:
        # Adam moves each weight by about eta per step: it cannot diverge.
        params.update(solver="adam", eta=draw(st.sampled_from([1e-4, 1e-3, 1e-2])))
    else:
        params.update(
            solver=draw(st.sampled_from(["sgd", "adam"])),
            eta=draw(st.sampled_from([1e-4, 1e-2, 1.0, 1e3])),
            momentum=draw(st.sampled_from([0.0, 0.9])),
            init=draw(st.sampled_from(["auto", "he", "glorot", "uniform"])),
            early_stopping=draw(st.booleans()),
            validation_fraction=draw(st.sampled_from([0.2, 0.5])),
        )
    return params


@st.composite
def problems(draw, safe):
    X = draw(matrices(moderate_float if safe else any_float))
    y = draw(labels(len(X)))
    weights = draw(
        st.none()
        | hnp.arrays(
            np.float64,
            len(X),
            elements=(
                st.floats(0.1, 10)
                if safe
                else st.sampled_from([0.0, 1.0]) | st.floats(0, 1e30)
            ),
        )
    )
    return X, y, weights, classifier_params(draw, safe)


# --------------------------------------------------------------------------
# ScratchMLPClassifier


def _fit_quietly(clf, *args, **kwargs):
    # A collapsed tiny network is an expected outcome here, not a failure.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(*args, **kwargs)


@settings(max_examples=150, **SETTINGS)
@given(problem=problems(safe=False))
def test_classifier_fits_or_refuses_clearly(problem):
    X, y, weights, params = problem
    before = _digest(X, y, weights)
    clf = ScratchMLPClassifier(**params)
    try:
        _fit_quietly(clf, X, y, sample_weight=weights)
        P = clf.predict_proba(X)
    except Exception as exc:  # noqa: BLE001 - the property is about its type
        _refused_clearly(exc)
        event(f"refused: {str(exc)[:40]}")
    else:
        event("fitted")
        _assert_probabilities(P, len(X), len(np.unique(y)))
        assert set(clf.predict(X)) <= set(clf.classes_)
    assert _digest(X, y, weights) == before


@settings(max_examples=80, **SETTINGS)
@given(problem=problems(safe=True), data=st.data())
def test_classifier_on_ordinary_data_always_fits(problem, data):
    X, y, weights, params = problem
    before = _digest(X, y, weights)
    clf = _fit_quietly(ScratchMLPClassifier(**params), X, y, sample_weight=weights)
    assert clf.n_iter_ >= 1
    assert np.isfinite(clf.loss_curve_).all()
    _assert_probabilities(clf.predict_proba(X), len(X), len(np.unique(y)))
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    # New data with values from tiny to huge (1e30).
    X_new = data.draw(
        matrices(st.floats(-1e30, 1e30), n_features=X.shape[1]), label="X_new"
    )
    new_before = _digest(X_new)
    _assert_probabilities(clf.predict_proba(X_new), len(X_new), len(clf.classes_))
    assert _digest(X, y, weights) == before
    assert _digest(X_new) == new_before


@pytest.fixture(scope="module")
def fitted_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    models = []
    for y in (np.arange(60) % 2, np.arange(60) % 3):
        for activation in ("relu", "sigmoid", "tanh"):
            clf = ScratchMLPClassifier(
                hidden_layers=(6, 4), activation=activation, epochs=3, random_state=0
            )
            models.append(clf.fit(X, y))
            models.append(
                ScratchMLPClassifier(**clf.get_params()).fit(X.astype(np.float32), y)
            )
    return models


@settings(max_examples=200, **SETTINGS)
@given(X=matrices(any_float, n_features=3), which=st.integers(0, 11))
def test_predict_is_finite_or_refused_for_any_values(fitted_models, X, which):
    clf = fitted_models[which]
    before = _digest(X)
    try:
        P = clf.predict_proba(X)
    except Exception as exc:  # noqa: BLE001
        _refused_clearly(exc)
        # Only non-finite input, or input large enough to overflow, is refused.
        assert not np.isfinite(X).all() or np.abs(X).max() > 1e30
    else:
        _assert_probabilities(P, len(X), len(clf.classes_))
    assert _digest(X) == before


# --------------------------------------------------------------------------
# ImageVectorizer


@st.composite
def image_stacks(draw):
    n = draw(st.integers(1, 8))
    shape = draw(
        st.sampled_from(["images", "flat"]).map(
            lambda kind: (n, draw(st.integers(1, 5)), draw(st.integers(1, 5)))
            if kind == "images"
            else (n, draw(st.integers(1, 12)))
        )
    )
    dtype = draw(st.sampled_from([np.uint8, np.int32, np.float32, np.float64]))
    if dtype == np.float64:
        elements = any_float
    elif dtype == np.float32:
        elements = st.floats(width=32, allow_nan=True, allow_infinity=True)
    else:
        elements = None  # hypothesis' own values for the integer dtype
    return draw(hnp.arrays(dtype, shape, elements=elements))


@settings(max_examples=200, **SETTINGS)
@given(
    X=image_stacks(),
    normalize=st.sampled_from(["max", "fixed", None]),
    dtype=st.sampled_from([np.float32, np.float64, None]),
    fit_first=st.booleans(),
)
def test_image_vectorizer_flattens_and_scales_or_refuses(
    X, normalize, dtype, fit_first
):
    before = _digest(X)
    vectorizer = preprocessing.ImageVectorizer(normalize=normalize, dtype=dtype)
    try:
        Xt = (vectorizer.fit(X) if fit_first else vectorizer).transform(X)
    except Exception as exc:  # noqa: BLE001
        _refused_clearly(exc)
        with np.errstate(over="ignore"):
            out = np.asarray(X, dtype=dtype or np.result_type(X.dtype, np.float32))
        assert not np.isfinite(out).all()  # refused only for non-finite values
    else:
        n = X.shape[0]
        assert Xt.shape == (n, int(np.prod(X.shape[1:])))
        expected_dtype = np.dtype(dtype) if dtype else np.result_type(X, np.float32)
        if dtype is None and X.dtype.kind != "f":
            expected_dtype = np.dtype(np.float64)
        assert Xt.dtype == expected_dtype
        assert np.isfinite(Xt).all()
        # An independent oracle, in float64 from the converted values.
        expected = X.reshape(n, -1).astype(Xt.dtype).astype(np.float64)
        if normalize == "fixed":
            expected /= 255
        elif normalize == "max":
            scale = np.abs(expected).max(axis=1, keepdims=True)
            expected = np.divide(expected, scale, out=expected, where=scale > 0)
            assert (np.abs(Xt) <= 1).all()
        # Subnormal results carry fewer digits: compare those absolutely.
        info = np.finfo(Xt.dtype)
        np.testing.assert_allclose(
            Xt, expected.astype(Xt.dtype), rtol=4 * info.eps, atol=info.tiny
        )
        assert Xt is not X and not np.shares_memory(Xt, X)
    assert _digest(X) == before


# --------------------------------------------------------------------------
# DigitPairSelector

DIGIT_DTYPES = {
    "int64": lambda d: d.astype(np.int64),
    "uint8": lambda d: d.astype(np.uint8),
    "float": lambda d: d.astype(np.float64),
    "str": lambda d: d.astype(str),
    "object": lambda d: d.astype(object),
}


@settings(max_examples=200, **SETTINGS)
@given(
    digits=hnp.arrays(np.int64, st.integers(1, 30), elements=st.integers(0, 9)),
    kind=st.sampled_from(sorted(DIGIT_DTYPES)),
    pair=st.tuples(st.integers(0, 9), st.integers(0, 9)),
    image_shape=st.sampled_from([(3, 2), (5,), (1, 1)]),
    data=st.data(),
)
def test_digit_pair_selector_keeps_exactly_the_pair(
    digits, kind, pair, image_shape, data
):
    y = DIGIT_DTYPES[kind](digits)
    X = data.draw(
        hnp.arrays(np.float64, (len(y), *image_shape), elements=moderate_float),
        label="X",
    )
    before = _digest(X, y)
    d1, d2 = pair
    keep = (digits == d1) | (digits == d2)  # the oracle, on the integer digits
    should_work = d1 != d2 and (digits == d1).any() and (digits == d2).any()
    try:
        X_pair, y_pair = preprocessing.DigitPairSelector(d1, d2).fit_resample(X, y)
    except Exception as exc:  # noqa: BLE001
        _refused_clearly(exc)
        assert not should_work, exc
    else:
        assert should_work
        np.testing.assert_array_equal(X_pair, X[keep], strict=True)
        np.testing.assert_array_equal(y_pair, y[keep], strict=True)
    assert _digest(X, y) == before


@settings(max_examples=50, **SETTINGS)
@given(
    d1=st.one_of(
        st.integers(-3, 12), st.floats(0, 9), st.booleans(), st.text(max_size=2)
    ),
)
def test_digit_pair_selector_refuses_bad_digits(d1):
    y = np.arange(20) % 10
    X = np.zeros((20, 4))
    selector = preprocessing.DigitPairSelector(d1, 7)
    valid = type(d1) is int and 0 <= d1 <= 9 and d1 != 7
    try:
        X_pair, y_pair = selector.fit_resample(X, y)
    except Exception as exc:  # noqa: BLE001
        _refused_clearly(exc)
        assert not valid, exc
    else:
        assert valid
        assert set(y_pair) == {d1, 7}
