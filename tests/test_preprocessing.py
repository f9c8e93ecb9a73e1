"""Tests of skmlp.preprocessing: DigitPairSelector and ImageVectorizer."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from imblearn.base import is_sampler
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from scipy import sparse
from sklearn.base import clone, is_classifier
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmlp import DigitPairSelector, ImageVectorizer, ScratchMLPClassifier

RNG = np.random.default_rng(0)


def read_only(array):
    array = np.array(array)
    array.setflags(write=False)
    return array


@pytest.fixture
def images():
    """Twelve random 4 x 3 uint8 images, labels 0..5 twice; read-only."""
    X = read_only(RNG.integers(0, 256, size=(12, 4, 3), dtype=np.uint8))
    y = read_only(np.tile(np.arange(6, dtype=np.uint8), 2))
    return X, y


# ------------------------------------------------------ DigitPairSelector


def pair_oracle(X, y, d1, d2):
    """The pair's rows, picked one sample at a time (the obvious, slow way)."""
    keep = [i for i in range(len(y)) if int(y[i]) in (d1, d2)]
    return np.asarray(X)[keep], np.asarray(y)[keep]


@pytest.mark.parametrize("flat", [False, True], ids=["images", "vectors"])
def test_selector_keeps_the_pair_in_order(images, flat):
    X, y = images
    if flat:
        X = read_only(X.reshape(len(X), -1))
    X_pair, y_pair = DigitPairSelector(1, 4).fit_resample(X, y)
    X_expected, y_expected = pair_oracle(X, y, 1, 4)
    np.testing.assert_array_equal(X_pair, X_expected)
    np.testing.assert_array_equal(y_pair, y_expected)
    assert y_pair.tolist() == [1, 4, 1, 4]
    assert X_pair.dtype == X.dtype and y_pair.dtype == y.dtype
    # New arrays: the caller's data stays untouched and unshared.
    assert not np.shares_memory(X_pair, X) and not np.shares_memory(y_pair, y)


def test_selector_on_mnist(mnist):
    (x_train, y_train), _ = mnist
    X_pair, y_pair = DigitPairSelector(7, 1).fit_resample(x_train, y_train)
    assert set(np.unique(y_pair)) == {1, 7}
    assert len(y_pair) == np.count_nonzero((y_train == 1) | (y_train == 7))
    assert X_pair.shape == (len(y_pair), 28, 28)
    first_seven = np.flatnonzero(y_train == 7)[0]
    np.testing.assert_array_equal(X_pair[np.flatnonzero(y_pair == 7)[0]],
                                  x_train[first_seven])


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1, 2, 1, 5, 2], dtype=np.uint8),
        np.array([0, 1, 2, 1, 5, 2], dtype=np.int64),
        np.array([0, 1, 2, 1, 5, 2], dtype=np.int8),
        np.array([0.0, 1.0, 2.0, 1.0, 5.0, 2.0]),
        np.array(["0", "1", "2", "1", "5", "2"]),
        np.array([b"0", b"1", b"2", b"1", b"5", b"2"]),
        np.array([0, "1", 2, "1", 5, "2"], dtype=object),
        [0, 1, 2, 1, 5, 2],
    ],
    ids=["uint8", "int64", "int8", "float", "str", "bytes", "object", "list"],
)
def test_selector_label_dtypes(labels):
    X = np.arange(6 * 4).reshape(6, 2, 2)
    X_pair, y_pair = DigitPairSelector(1, 2).fit_resample(X, labels)
    np.testing.assert_array_equal(X_pair, X[[1, 2, 3, 5]])
    np.testing.assert_array_equal(y_pair, np.asarray(labels)[[1, 2, 3, 5]])
    assert y_pair.dtype == np.asarray(labels).dtype


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 1.0, "2", b"1", np.int64(5), " 2 "], dtype=object),
        [0, 1, "2", "1", 5.0, 2],
    ],
    ids=["object-mix", "list-mix"],
)
def test_selector_mixed_label_types_are_compared_as_digits(labels):
    X = np.arange(6 * 4).reshape(6, 2, 2)
    X_pair, _ = DigitPairSelector(1, 2).fit_resample(X, labels)
    np.testing.assert_array_equal(X_pair, X[[1, 2, 3, 5]])


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([None, "1", "5", "1", "5"], dtype=object),
         r"missing label \(None\) at index 0"),
        ([None, "1", "5", "1", "5"], r"missing label \(None\) at index 0"),
        (np.array([1, 5, None, 1, 5], dtype=object),
         r"missing label \(None\) at index 2"),
        (np.array([1, 5, np.nan, 1, 5], dtype=object),
         r"missing label \(nan\) at index 2"),
        (np.array([1.0, 5.0, np.nan, 1.0, np.nan]),
         r"2 missing labels \(NaN\), the first at index 2"),
        (np.array([1, 5, [3], 1, 5], dtype=object), r"y\[2\] is \[3\], of type list"),
        (np.array([1, 5, True, 1, 5], dtype=object), r"y\[2\] is True, of type bool"),
    ],
    ids=["none-str", "none-str-list", "none-int",
         "nan-object", "nan-float", "list-label", "bool-label"],
)
def test_selector_unusable_labels_are_a_clear_value_error(labels, match):
    X = np.zeros((5, 4))
    # 1 and 5 are in every y (the labels themselves are refused); 2 is in
    # none, which makes the selector list the labels it found.
    for d1 in (1, 2):
        with pytest.raises(ValueError, match=match):
            DigitPairSelector(d1, 5).fit(X, labels)
        with pytest.raises(ValueError, match=match):
            DigitPairSelector(d1, 5).fit_resample(X, labels)


def test_selector_lists_mixed_labels_it_cannot_sort():
    # ints and strings cannot be sorted together; the message lists them as text.
    X, y = np.zeros((5, 4)), np.array([1, "5", 5, "x", 1], dtype=object)
    with pytest.raises(ValueError, match=r"Digit 2 does not occur .*\['1', '5', 'x'\]"):
        DigitPairSelector(2, 5).fit_resample(X, y)
    _, y_pair = DigitPairSelector(1, 5).fit_resample(X, y)
    assert y_pair.tolist() == [1, "5", 5, 1]


def test_selector_sparse_and_list_input():
    y = np.array([3, 8, 3, 0])
    X = np.arange(8).reshape(4, 2)
    X_sparse, _ = DigitPairSelector(3, 8).fit_resample(sparse.csr_matrix(X), y)
    assert sparse.issparse(X_sparse)
    np.testing.assert_array_equal(X_sparse.toarray(), X[:3])
    X_list, _ = DigitPairSelector(3, 8).fit_resample(X.tolist(), y)
    np.testing.assert_array_equal(X_list, X[:3])


@pytest.mark.parametrize(
    ("d1", "d2", "error", "match"),
    [
        (1, 10, InvalidParameterError, "d2"),
        (-1, 5, InvalidParameterError, "d1"),
        (1.5, 5, InvalidParameterError, "d1"),
        ("1", 5, InvalidParameterError, "d1"),
        (True, 5, ValueError, "digits from 0 to 9"),
        (3, 3, ValueError, "two different digits"),
    ],
)
def test_selector_invalid_digits(images, d1, d2, error, match):
    X, y = images
    with pytest.raises(error, match=match):
        DigitPairSelector(d1, d2).fit_resample(X, y)
    with pytest.raises(error, match=match):
        DigitPairSelector(d1, d2).fit(X, y)


def test_selector_invalid_data(images):
    X, y = images
    with pytest.raises(ValueError, match="X holds 12 samples but y holds 11"):
        DigitPairSelector(1, 2).fit_resample(X, y[:-1])
    with pytest.raises(ValueError, match=r"Digit 9 does not occur in y .*\[0, 1, 2"):
        DigitPairSelector(1, 9).fit_resample(X, y)
    with pytest.raises(ValueError, match="y must be 1-D"):
        DigitPairSelector(1, 2).fit_resample(X, y.reshape(-1, 1))
    with pytest.raises(ValueError, match="digit labels"):
        DigitPairSelector(1, 2).fit_resample(X, y.astype(np.complex128))


def test_selector_is_an_estimator(images):
    X, y = images
    selector = DigitPairSelector(2, 3)
    assert selector.fit(X, y) is selector
    assert selector.n_features_in_ == 12
    assert selector.get_params() == {"d1": 2, "d2": 3}
    assert clone(selector.set_params(d2=5)).get_params() == {"d1": 2, "d2": 5}
    assert repr(DigitPairSelector(4, 9)) == "DigitPairSelector(d1=4, d2=9)"
    tags = get_tags(selector)
    assert tags.estimator_type == "sampler" and tags.target_tags.required
    assert is_sampler(selector) and not is_classifier(selector)
    assert not hasattr(selector, "transform")  # a sampler, never a transformer


def test_selector_in_imblearn_pipeline(mnist_sample):
    (x_train, y_train), (x_test, y_test) = mnist_sample
    model = make_imblearn_pipeline(
        DigitPairSelector(1, 7),
        ImageVectorizer(),
        ScratchMLPClassifier(hidden_layers=(16,), epochs=5, random_state=0),
    ).fit(x_train, y_train)
    np.testing.assert_array_equal(model.classes_, [1, 7])
    # Samplers act when fitting only: select the test pair the same way.
    X_pair, y_pair = DigitPairSelector(1, 7).fit_resample(x_test, y_test)
    assert set(np.unique(model.predict(X_pair))) == {1, 7}
    assert model.score(X_pair, y_pair) > 0.95
    assert model[-1].n_features_in_ == 784


def test_skmlp_does_not_import_imblearn():
    code = "import sys, skmlp; print('imblearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "False"


# -------------------------------------------------------- ImageVectorizer


@parametrize_with_checks([
    ImageVectorizer(),
    ImageVectorizer(normalize="fixed", dtype=np.float64),
    ImageVectorizer(normalize=None, dtype=None),
])
def test_vectorizer_sklearn_checks(estimator, check):
    check(estimator)


def notebook_vectorize(X):
    """The notebook's Q3: vectorize, transpose, divide each column by its max."""
    X_vectorized = X.reshape(X.shape[0], X.shape[1] * X.shape[2])
    X_transposed = X_vectorized.T
    return X_transposed / np.max(X_transposed, axis=0)


def test_vectorizer_matches_the_notebook(mnist_sample):
    (x_train, _), _ = mnist_sample
    X = x_train[:300]
    got = ImageVectorizer(dtype=np.float64).fit_transform(X)
    # skmlp keeps rows as samples: the notebook's result, transposed back.
    np.testing.assert_allclose(got, notebook_vectorize(X).T, rtol=1e-15)
    got32 = ImageVectorizer().fit_transform(X)
    assert got32.dtype == np.float32 and got32.shape == (300, 784)
    np.testing.assert_allclose(got32, got, rtol=1e-6)
    np.testing.assert_array_equal(got32.max(axis=1), 1)


def test_vectorizer_modes(images):
    X, _ = images
    flat = X.reshape(len(X), -1).astype(np.float64)
    np.testing.assert_allclose(ImageVectorizer(normalize="fixed").transform(X),
                               flat / 255, rtol=1e-6)
    np.testing.assert_array_equal(ImageVectorizer(normalize=None).transform(X), flat)
    np.testing.assert_allclose(ImageVectorizer().transform(X),
                               flat / flat.max(axis=1, keepdims=True), rtol=1e-6)


def test_vectorizer_blank_image_stays_zero():
    X = np.zeros((2, 5, 5), dtype=np.uint8)
    X[1, 2, 3] = 128
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division-by-zero RuntimeWarning
        out = ImageVectorizer().fit_transform(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[0], 0)
    assert out[1].max() == 1 and np.count_nonzero(out[1]) == 1


def test_vectorizer_max_uses_largest_absolute_value():
    X = np.array([[-4.0, 2.0, 1.0], [0.5, -0.25, 0.0]])
    out = ImageVectorizer(dtype=np.float64).fit_transform(X)
    np.testing.assert_array_equal(out, [[-1.0, 0.5, 0.25], [1.0, -0.5, 0.0]])


@pytest.mark.parametrize(
    ("dtype", "X_dtype", "expected"),
    [
        (np.float32, np.uint8, np.float32),
        (np.float64, np.uint8, np.float64),
        ("float64", np.float32, np.float64),
        (None, np.float32, np.float32),
        (None, np.float64, np.float64),
        (None, np.uint8, np.float64),
    ],
)
def test_vectorizer_dtype(images, dtype, X_dtype, expected):
    X, _ = images
    out = ImageVectorizer(dtype=dtype).fit_transform(X.astype(X_dtype))
    assert out.dtype == expected


@pytest.mark.parametrize("normalize", ["max", "fixed", None])
def test_vectorizer_never_touches_its_input(normalize):
    X = RNG.random((6, 4, 4)).astype(np.float32)
    before = X.copy()
    out = ImageVectorizer(normalize=normalize).fit_transform(X)
    np.testing.assert_array_equal(X, before)
    assert not np.shares_memory(out, X)
    out[:] = -1
    np.testing.assert_array_equal(X, before)


def test_vectorizer_flat_input_equals_images(images):
    X, _ = images
    vectorizer = ImageVectorizer()
    np.testing.assert_array_equal(vectorizer.fit_transform(X),
                                  vectorizer.transform(X.reshape(len(X), -1)))
    lists = ImageVectorizer().fit_transform(X.tolist())
    np.testing.assert_array_equal(lists, vectorizer.transform(X))


def test_vectorizer_fit_records_the_images(images):
    X, _ = images
    vectorizer = ImageVectorizer().fit(X)
    assert vectorizer.n_features_in_ == 12 and vectorizer.image_shape_ == (4, 3)
    names = vectorizer.get_feature_names_out()
    assert names.dtype == object and len(names) == 12
    assert names[:4].tolist() == ["pixel_0_0", "pixel_0_1", "pixel_0_2", "pixel_1_0"]
    assert names[-1] == "pixel_3_2"
    flat = ImageVectorizer().fit(X.reshape(len(X), -1))
    assert flat.image_shape_ is None
    assert flat.get_feature_names_out()[[0, 11]].tolist() == ["pixel0", "pixel11"]
    assert flat.get_feature_names_out([f"f{i}" for i in range(12)])[0] == "f0"


def test_vectorizer_checks_later_input(images):
    X, _ = images
    vectorizer = ImageVectorizer().fit(X)
    with pytest.raises(ValueError, match=r"shape \(3, 4\).*fitted on .*\(4, 3\)"):
        vectorizer.transform(X.reshape(12, 3, 4))
    with pytest.raises(ValueError, match="X has 9 features.* expecting 12"):
        vectorizer.transform(X[:, :3, :].reshape(12, 9))
    with pytest.raises(ValueError, match="dim 4"):
        vectorizer.transform(X.reshape(12, 2, 2, 3))


def test_vectorizer_accepts_a_trailing_channel_of_one(images):
    X, _ = images
    with_channel = read_only(X[..., np.newaxis])
    vectorizer = ImageVectorizer().fit(with_channel)
    assert vectorizer.image_shape_ == (4, 3) and vectorizer.n_features_in_ == 12
    np.testing.assert_array_equal(vectorizer.transform(with_channel),
                                  ImageVectorizer().fit_transform(X))
    # Fitted on one form, it takes the other: the images are the same.
    np.testing.assert_array_equal(ImageVectorizer().fit(X).transform(with_channel),
                                  vectorizer.transform(X))
    assert vectorizer.get_feature_names_out()[-1] == "pixel_3_2"


@pytest.mark.parametrize(
    "shape", [(12, 4, 3, 3), (12, 4, 3, 1, 1), (12, 1, 4, 3)],
    ids=["colour", "5-d", "leading-channel"],
)
def test_vectorizer_other_shapes_say_which_work(images, shape):
    X = np.zeros(shape, dtype=np.uint8)
    for method in ("fit_transform", "transform"):
        with pytest.raises(ValueError) as error:
            getattr(ImageVectorizer(), method)(X)
        message = str(error.value)
        assert f"shape {shape}" in message
        assert "(n_samples, height, width, 1)" in message
        assert "(n_samples, n_features)" in message
        assert "dim <= 2" not in message


def test_vectorizer_is_stateless(images):
    X, _ = images
    unfitted = ImageVectorizer()
    np.testing.assert_array_equal(unfitted.transform(X),
                                  ImageVectorizer().fit_transform(X))
    assert not hasattr(unfitted, "n_features_in_")
    tags = get_tags(unfitted)
    assert tags.requires_fit is False and tags.input_tags.three_d_array
    assert tags.transformer_tags.preserves_dtype == ["float32"]


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"normalize": "l2"}, InvalidParameterError, "normalize"),
        ({"dtype": np.int32}, ValueError, "floating dtype"),
        ({"dtype": "complex128"}, ValueError, "floating dtype"),
        ({"dtype": 3}, InvalidParameterError, "dtype"),
    ],
)
def test_vectorizer_invalid_parameters(images, params, error, match):
    X, _ = images
    with pytest.raises(error, match=match):
        ImageVectorizer(**params).fit(X)
    with pytest.raises(error, match=match):  # transform needs no fit, and checks too
        ImageVectorizer(**params).transform(X)


def test_vectorizer_rejects_nan(images):
    X, _ = images
    X = X.astype(np.float64)
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ImageVectorizer().fit_transform(X)


# -------------------------------------------------------- deskewing


def _slant(images):
    """Each image's slant: the covariance of row and column over the
    variance of the row, weighted by intensity."""
    x = images.astype(np.float64)
    rows, cols = np.mgrid[:x.shape[1], :x.shape[2]]
    mass = x.sum(axis=(1, 2))
    m_r = (x * rows).sum(axis=(1, 2)) / mass
    m_c = (x * cols).sum(axis=(1, 2)) / mass
    d_r, d_c = rows - m_r[:, None, None], cols - m_c[:, None, None]
    return (x * d_r * d_c).sum(axis=(1, 2)) / (x * d_r**2).sum(axis=(1, 2))


def _scipy_deskew(image):
    """Deskewing as it is usually written, with scipy.ndimage."""
    from scipy import ndimage

    alpha = _slant(image[None])[0]
    x = image.astype(np.float64)
    rows, cols = np.mgrid[:x.shape[0], :x.shape[1]]
    centre = np.array([(x * rows).sum(), (x * cols).sum()]) / x.sum()
    shear = np.array([[1.0, 0.0], [alpha, 1.0]])
    offset = centre - shear @ (np.array(x.shape) / 2)
    return ndimage.affine_transform(x, shear, offset=offset, order=1)


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-9), (np.float32, 1e-4)])
def test_deskew_is_scipys_affine_transform(mnist_sample, dtype, atol):
    (x_train, _), _ = mnist_sample
    X = x_train[::10]  # 500 images, 50 of each digit
    got = ImageVectorizer(deskew=True, normalize=None, dtype=dtype).fit_transform(X)
    want = np.stack([_scipy_deskew(image) for image in X]).reshape(len(X), -1)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)


def test_deskew_stands_digits_upright_and_centres_them(mnist_sample):
    (x_train, _), _ = mnist_sample
    X = x_train[:1000]
    out = ImageVectorizer(deskew=True, normalize=None).fit_transform(X)
    out = out.reshape(X.shape)
    before, after = np.abs(_slant(X)), np.abs(_slant(out))
    assert np.median(before) > 0.1
    assert np.median(after) < 0.1 * np.median(before)
    rows = np.arange(28)
    centre = (out.sum(axis=2) @ rows) / out.sum(axis=(1, 2))
    assert np.abs(centre - 14).max() < 0.7  # from wherever it was
    # Ink moves, it is not made: the total stays but for what leaves the frame.
    np.testing.assert_allclose(out.sum(axis=(1, 2)), X.sum(axis=(1, 2)), rtol=0.05)


def test_deskew_of_a_slanted_stroke():
    image = np.zeros((1, 28, 28), np.uint8)
    for r in range(4, 24):
        image[0, r, 8 + r // 2] = 255  # a stroke leaning right by 1/2
    assert _slant(image)[0] == pytest.approx(0.5, abs=0.02)
    out = ImageVectorizer(deskew=True).fit_transform(image).reshape(1, 28, 28)
    assert abs(_slant(out)[0]) < 0.05
    columns = np.flatnonzero(out[0].sum(axis=0) > 0.5)
    assert columns.max() - columns.min() <= 2  # one upright column of ink


def test_deskew_flat_rows_images_and_blanks():
    X = (RNG.random((5, 28, 28)) * 255).astype(np.uint8)
    X[2] = 0
    before = X.copy()
    vectorizer = ImageVectorizer(deskew=True)
    images = vectorizer.fit_transform(X)
    np.testing.assert_array_equal(X, before)  # the input is not touched
    np.testing.assert_array_equal(vectorizer.transform(X.reshape(5, -1)), images)
    np.testing.assert_array_equal(images[2], 0)
    assert np.isfinite(images).all() and images.min() >= 0


@pytest.mark.parametrize("X, match", [
    (np.ones((3, 10)), "rows of 10 values, which are not square images"),
    (-np.ones((3, 4, 4)), "must be >= 0; X has values down to -1"),
])
def test_deskew_refuses_what_it_cannot_deskew(X, match):
    with pytest.raises(ValueError, match=match):
        ImageVectorizer(deskew=True).fit(X)
    with pytest.raises(ValueError, match=match):
        ImageVectorizer(deskew=True).transform(X)
