"""Bad input is refused with a ValueError / TypeError that says what is wrong
and what to do; good input is never modified."""

import hashlib
import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.exceptions import NotFittedError

from skmlp import ScratchMLPClassifier

N, D = 30, 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = np.arange(N) % 2
    return X, y


def _small(**params):
    params = {"hidden_layers": (5,), "epochs": 2, "random_state": 0, **params}
    return ScratchMLPClassifier(**params)


@pytest.fixture(scope="module")
def fitted(data):
    return _small().fit(*data)


def _with(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


# --------------------------------------------------------------------------
# X


@pytest.mark.parametrize(
    "make_X, message",
    [
        (lambda X: _with(X, np.nan), "(?s)Input X contains NaN.*impute"),
        (lambda X: _with(X, np.inf), "infinity.*Replace or drop the infinite values"),
        (lambda X: _with(X, -np.inf), "infinity.*Replace or drop the infinite values"),
        (lambda X: X[:, 0], "(?s)Expected 2D array, got 1D array.*reshape"),
        (lambda X: X.reshape(N, 2, 2), r"X has 3 dimensions \(shape \(30, 2, 2\)\)"),
        (lambda X: X.reshape(N, 2, 2).tolist(), "Flatten images first with skmlp"),
        (lambda X: X.reshape(N, 1, 2, 2), "4 dimensions.*skmlp.ImageVectorizer"),
        (lambda X: X[:0], r"0 sample\(s\).*minimum of 1 is required"),
        (lambda X: X[:, :0], r"0 feature\(s\).*minimum of 1 is required"),
        (
            lambda X: np.where(X > 0, "high", "low"),
            "could not convert string to float.*OneHotEncoder",
        ),
        (
            lambda X: np.where(np.arange(D) == 2, "red", X.astype(object)),
            "could not convert string to float: 'red'.*encode text",
        ),
        (lambda X: X + 1j, "Complex data not supported"),
    ],
    ids=[
        "nan", "inf", "-inf", "1d", "3d", "3d-list", "4d", "no-samples",
        "no-features", "str", "object-str", "complex",
    ],
)
def test_bad_X_in_fit_and_predict(data, fitted, make_X, message):
    X, y = data
    bad = make_X(X)
    n = len(bad)
    with pytest.raises(ValueError, match=message):
        _small().fit(bad, y[:n])
    with pytest.raises(ValueError, match=message):
        _small().partial_fit(bad, y[:n], classes=[0, 1])
    if np.shape(bad)[1:2] == (0,):
        return  # no features: predict fails on the feature count instead
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(ValueError, match=message):
            getattr(fitted, method)(bad)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.nan, "(?s)Input X contains NaN.*impute"),
        (np.inf, "infinity.*Replace or drop the infinite values"),
        (1j, "Complex data not supported"),
    ],
    ids=["nan", "inf", "complex"],
)
@pytest.mark.parametrize("container", [sparse.csr_matrix, sparse.csc_array])
def test_sparse_X_is_accepted_but_its_bad_values_are_refused(
    data, fitted, container, value, message
):
    # Sparse X is accepted (tests/test_sparse.py); its stored values are
    # checked as a dense X's are, with the same remedies.
    X, y = data
    assert_array_equal(fitted.predict(container(X)), fitted.predict(X))
    bad = container(_with(X.astype(np.result_type(X, value)), value))
    with pytest.raises(ValueError, match=message):
        _small().fit(bad, y)
    with pytest.raises(ValueError, match=message):
        _small().partial_fit(bad, y, classes=[0, 1])
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(ValueError, match=message):
            getattr(fitted, method)(bad)


def test_predict_with_another_number_of_features(data, fitted):
    X, _ = data
    message = "X has 3 features, but ScratchMLPClassifier is expecting 4 features"
    for method in ("predict", "predict_proba", "score"):
        args = (X[:, :3],) if method != "score" else (X[:, :3], data[1])
        with pytest.raises(ValueError, match=message):
            getattr(fitted, method)(*args)
    with pytest.raises(ValueError, match=message):
        fitted.partial_fit(X[:, :3], data[1])


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_predict_before_fit(data, method):
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        getattr(_small(), method)(data[0])


def test_score_before_fit(data):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        _small().score(*data)


# --------------------------------------------------------------------------
# y


@pytest.mark.parametrize(
    "make_y, message",
    [
        (lambda y: y[:-1], r"inconsistent numbers of samples: \[30, 29\]"),
        (lambda y: np.zeros_like(y), "at least 2 classes in y; got only one class"),
        (lambda y: np.full(N, "seven"), "only one class: np.str_\\('seven'\\)"),
        (
            lambda y: np.where(np.arange(N) == 5, np.nan, y),
            "Input y contains NaN. Drop the samples whose label is missing",
        ),
        (lambda y: np.linspace(0, 1, N), "Unknown label type: continuous"),
        (lambda y: np.c_[y, y], r"y should be a 1d array, got an array of shape"),
    ],
    ids=["length", "one-class", "one-str-class", "nan", "continuous", "2d"],
)
def test_bad_y(data, make_y, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        _small().fit(X, make_y(y))


def test_partial_fit_needs_classes_first_and_known_labels_after(data):
    X, y = data
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        _small().partial_fit(X, y)
    clf = _small().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"labels not seen before.*classes=\.\.\."):
        clf.partial_fit(X, y + 1)


def test_warm_start_refuses_another_architecture(data):
    X, y = data
    clf = _small(warm_start=True).fit(X, y)
    clf.set_params(hidden_layers=(6,))
    with pytest.raises(ValueError, match=r"differs from the fitted.*warm_start=False"):
        clf.fit(X, y)


# --------------------------------------------------------------------------
# Parameters

BAD_PARAMS = [
    ("hidden_layers", (), "non-empty tuple of positive integers"),
    ("hidden_layers", [], "non-empty tuple of positive integers"),
    ("hidden_layers", 0, "'hidden_layers' parameter .* int in the range \\[1, inf\\)"),
    ("hidden_layers", (8, 0), "non-empty tuple of positive integers.*got \\(8, 0\\)"),
    ("hidden_layers", (-3,), "non-empty tuple of positive integers"),
    ("hidden_layers", (2.5,), "non-empty tuple of positive integers"),
    ("hidden_layers", ("8",), "non-empty tuple of positive integers"),
    ("hidden_layers", (True,), "non-empty tuple of positive integers"),
    ("hidden_layers", [[8, 4]], "non-empty tuple of positive integers"),
    ("hidden_layers", None, "'hidden_layers' parameter .* array-like"),
    ("hidden_layers", "500", "'hidden_layers' parameter .* array-like"),
    ("eta", 0, "'eta' parameter .* range \\(0.0, inf\\)"),
    ("eta", -0.1, "'eta' parameter .* range \\(0.0, inf\\)"),
    ("eta", np.nan, "'eta' parameter"),
    ("eta", "0.1", "'eta' parameter"),
    ("batch_size", 0, "'batch_size' parameter .* range \\[1, inf\\)"),
    ("batch_size", -5, "'batch_size' parameter"),
    ("batch_size", 8.0, "'batch_size' parameter .* an int"),
    ("epochs", 0, "'epochs' parameter .* range \\[1, inf\\)"),
    ("epochs", -1, "'epochs' parameter"),
    ("momentum", 1.0, "'momentum' parameter .* range \\[0.0, 1.0\\)"),
    ("momentum", 1.5, "'momentum' parameter"),
    ("momentum", -0.1, "'momentum' parameter"),
    ("alpha", -1e-4, "'alpha' parameter .* range \\[0.0, inf\\)"),
    ("validation_fraction", 0.0, "'validation_fraction' parameter .* \\(0.0, 1.0\\)"),
    ("validation_fraction", 1.0, "'validation_fraction' parameter"),
    ("validation_fraction", 1.5, "'validation_fraction' parameter"),
    ("activation", "gelu", "'activation' parameter .* a str among"),
    ("activation", "softmax", "'activation' parameter"),
    ("loss", "hinge", "'loss' parameter .* a str among"),
    ("solver", "lbfgs", "'solver' parameter .* a str among"),
    ("init", "zeros", "'init' parameter .* a str among"),
    ("n_iter_no_change", 0, "'n_iter_no_change' parameter"),
    ("tol", -1.0, "'tol' parameter"),
    ("shuffle", "yes", "'shuffle' parameter"),
    ("early_stopping", 1, "'early_stopping' parameter"),
    ("warm_start", None, "'warm_start' parameter"),
    ("random_state", "seed", "'random_state' parameter"),
    ("verbose", -1, "'verbose' parameter"),
]


@pytest.mark.parametrize(
    "name, value, message",
    BAD_PARAMS,
    ids=[f"{name}={value!r}" for name, value, _ in BAD_PARAMS],
)
def test_parameter_out_of_range(data, name, value, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        _small(**{name: value}).fit(X, y)
    with pytest.raises(ValueError, match=message):
        _small(**{name: value}).partial_fit(X, y, classes=[0, 1])


# Every numeric parameter: a bool is an int to Python, never a number here.
NUMERIC_PARAMS = ["hidden_layers", "eta", "batch_size", "epochs", "momentum",
                  "alpha", "validation_fraction", "n_iter_no_change", "tol",
                  "random_state", "dropout"]


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_])
@pytest.mark.parametrize("name", NUMERIC_PARAMS)
def test_numeric_parameters_refuse_booleans(data, name, value):
    X, y = data
    message = f"(?s)The '{name}' parameter .*not a bool.*Got {value!r} instead"
    for call in (lambda clf: clf.fit(X, y),
                 lambda clf: clf.partial_fit(X, y, classes=[0, 1])):
        with pytest.raises(ValueError, match=message):
            call(_small(**{name: value}))


def test_every_numeric_constraint_refuses_booleans():
    from sklearn.utils._param_validation import Interval

    from skmlp._validation import NumberInterval

    numeric = {
        name for name, constraints in
        ScratchMLPClassifier._parameter_constraints.items()
        for c in constraints if isinstance(c, Interval)
    }
    assert numeric == set(NUMERIC_PARAMS)
    for name in numeric:
        for c in ScratchMLPClassifier._parameter_constraints[name]:
            assert not isinstance(c, Interval) or isinstance(c, NumberInterval)


def test_verbose_takes_a_bool_as_in_scikit_learn(data):
    assert _small(verbose=False).fit(*data).n_iter_ == 2


def test_parameter_errors_are_also_type_errors(data):
    # sklearn's InvalidParameterError is both, so either except clause works.
    with pytest.raises(TypeError, match="'eta' parameter"):
        _small(eta="fast").fit(*data)


# --------------------------------------------------------------------------
# sample_weight


@pytest.mark.parametrize(
    "weights, error, message",
    [
        (np.ones(N - 1), ValueError, r"shape == \(29,\), expected \(30,\)"),
        (np.ones(N + 1), ValueError, r"expected \(30,\)"),
        (-np.ones(N), ValueError, "Negative values in data passed to `sample_weight`"),
        (np.r_[np.ones(N - 1), -1e-3], ValueError, "Negative values"),
        (np.r_[np.ones(N - 1), np.nan], ValueError, "sample_weight contains NaN"),
        (np.r_[np.ones(N - 1), np.inf], ValueError, "sample_weight contains infinity"),
        (np.zeros(N), ValueError, "at least one non-zero"),
        (np.ones((N, 1)), ValueError, "Sample weights must be 1D array or scalar"),
        (np.full(N, "heavy"), ValueError, "could not convert string to float"),
    ],
    ids=["short", "long", "negative", "one-negative", "nan", "inf", "zeros", "2d",
         "str"],
)
def test_bad_sample_weight(data, weights, error, message):
    X, y = data
    with pytest.raises(error, match=message):
        _small().fit(X, y, sample_weight=weights)
    with pytest.raises(error, match=message):
        _small().partial_fit(X, y, classes=[0, 1], sample_weight=weights)


# --------------------------------------------------------------------------
# Nothing the user gave is modified


def _digest(*objects):
    return hashlib.sha256(pickle.dumps(objects)).hexdigest()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"early_stopping": True, "validation_fraction": 0.3},
        {"shuffle": False, "solver": "sgd", "momentum": 0.9, "eta": 0.01},
        {"alpha": 0.1, "loss": "log_loss", "batch_size": 7},
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inputs_are_not_modified(data, params, dtype):
    X, y = data
    # Arrays of the training dtype, C-ordered: validation passes them through
    # without a copy, so any write would reach the caller's data.
    X = np.ascontiguousarray(X, dtype=dtype)
    y3 = np.array(["a", "b", "c"])[np.arange(N) % 3]
    weights = np.linspace(0.5, 2.0, N).astype(dtype)
    hidden = [5, 3]
    before = _digest(X, y, y3, weights, hidden)
    clf = _small(hidden_layers=hidden, **params)
    clf.fit(X, y, sample_weight=weights)
    clf.set_params(early_stopping=False).partial_fit(X, y, sample_weight=weights)
    clf.predict(X), clf.predict_proba(X), clf.predict_log_proba(X)
    clf.score(X, y, sample_weight=weights)
    _small(**params).fit(X, y3, sample_weight=weights).predict_proba(X)
    assert _digest(X, y, y3, weights, hidden) == before
    assert clf.get_params()["hidden_layers"] is hidden


def test_list_input_is_not_modified(data):
    X, y = data
    X_list, y_list = X.tolist(), y.tolist()
    before = _digest(X_list, y_list)
    _small().fit(X_list, y_list).predict_proba(X_list)
    assert _digest(X_list, y_list) == before


# --------------------------------------------------------------------------
# Continuing a fit


def test_warm_start_refuses_other_classes(data):
    X, y = data
    clf = _small(warm_start=True).fit(X, y)
    for other in (y + 1, np.where(np.arange(N) % 3 == 0, 2, y)):
        with pytest.raises(ValueError, match="warm_start can only be used where `y` "
                           "has the same classes") as error:
            clf.fit(X, other)
        # The hint for partial_fit is no help to fit.
        assert "partial_fit" not in str(error.value)
        assert "warm_start=False" in str(error.value)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    clf.fit(X, 1 - y)  # the same classes, in another order: fine


def test_partial_fit_refuses_early_stopping(data):
    X, y = data
    clf = _small(early_stopping=True)
    with pytest.raises(ValueError, match="partial_fit does not support "
                       "early_stopping=True.*early_stopping=False"):
        clf.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(clf, "classes_")


@pytest.mark.parametrize("classes", [[], [1], np.array([4, 4])])
def test_partial_fit_needs_at_least_two_classes(data, classes):
    X, y = data
    clf = _small()
    with pytest.raises(ValueError, match="classes must list every class that y can "
                       "hold, at least 2; got classes="):
        clf.partial_fit(X, y, classes=classes)
    # The failed call left nothing behind: the next first call works.
    clf.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(clf.classes_, [0, 1])


def test_remedies_follow_the_data_not_the_wording(data, monkeypatch):
    # Whatever scikit-learn's messages say, the remedy matches the condition.
    import skmlp._validation

    real = skmlp._validation.validate_data

    def reworded(*args, **kwargs):
        try:
            return real(*args, **kwargs)
        except ValueError as exc:
            raise ValueError("The input is not valid.") from exc

    monkeypatch.setattr(skmlp._validation, "validate_data", reworded)
    X, y = data
    cases = [
        (_with(X, np.inf), y, "Replace or drop the infinite values"),
        (np.where(X > 0, "high", "low"), y, "X must hold numbers"),
        (X, np.where(np.arange(N) == 5, np.nan, y), "Drop the samples whose label"),
    ]
    for bad_X, bad_y, remedy in cases:
        with pytest.raises(ValueError, match=f"^The input is not valid. {remedy}"):
            _small().fit(bad_X, bad_y)
    # No remedy where the condition does not hold.
    for bad_X in (_with(X, np.nan), X + 1j, _with(X, np.inf)[:, 0]):
        with pytest.raises(ValueError, match=r"^The input is not valid\.$"):
            _small().fit(bad_X, y)


# --------------------------------------------------------------------------
# Labels of types that cannot be sorted together

MIXED_LABELS = {
    "None+str": ([None, "b"], r"None \(None\), str \('b'\)", ".*drop those samples"),
    "int+str": ([1, "b"], r"number \(1\), str \('b'\)", ""),
}


def _mixed(labels, as_list):
    y = labels * (N // 2)
    return y if as_list else np.array(y, dtype=object)


@pytest.mark.parametrize("as_list", [False, True], ids=["array", "list"])
@pytest.mark.parametrize("kind", MIXED_LABELS)
def test_labels_of_mixed_types_are_refused(data, kind, as_list):
    X, _ = data
    labels, types, tail = MIXED_LABELS[kind]
    y = _mixed(labels, as_list)
    message = f"(?s)y mixes labels of types .*{types}.*y.astype\\(str\\){tail}"
    with pytest.raises(ValueError, match=message):
        _small().fit(X, y)
    with pytest.raises(ValueError, match=message):
        _small().partial_fit(X, y, classes=["a", "b"])
    fitted = _small().fit(X, np.array(["a", "b"] * (N // 2)))
    with pytest.raises(ValueError, match=message):
        fitted.partial_fit(X, y)
    with pytest.raises(ValueError, match=message):
        fitted.score(X, y)


@pytest.mark.parametrize("kind", MIXED_LABELS)
def test_classes_of_mixed_types_are_refused(data, kind):
    X, _ = data
    labels, types, _ = MIXED_LABELS[kind]
    y = np.array(["b"] * N, dtype=object)
    with pytest.raises(ValueError, match=f"classes mixes labels of types .*{types}"):
        _small().partial_fit(X, y, classes=np.array(labels, dtype=object))


def test_labels_of_one_type_in_an_object_array_are_accepted(data):
    X, y = data
    clf = _small().fit(X, np.array(["a", "b"] * (N // 2), dtype=object))
    assert list(clf.classes_) == ["a", "b"]
    assert 0 <= clf.score(X, np.array(["a", "b"] * (N // 2), dtype=object)) <= 1
