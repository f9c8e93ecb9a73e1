"""class_weight: scikit-learn's class weights, as the sample weights they stand for.

Fitting with ``class_weight`` must be fitting with
``sample_weight=compute_sample_weight(class_weight, y)`` (times any given
``sample_weight``) to the last bit; with early stopping the weights belong to
the training part; ``partial_fit`` takes a dict and refuses 'balanced'.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.utils import compute_sample_weight

from skmlp import ScratchMLPClassifier, _training
from skmlp._validation import mean_one


@pytest.fixture(scope="module")
def imbalanced():
    """Digits 0, 1, 2 with only a quarter of the 2s: imbalanced classes."""
    X, y = load_digits(n_class=3, return_X_y=True)
    keep = (y != 2) | (np.arange(len(y)) % 4 == 0)
    return X[keep][:200] / 16, y[keep][:200]


def _clf(**params):
    return ScratchMLPClassifier(**{"hidden_layers": (12,), "batch_size": 32,
                                   "epochs": 3, "random_state": 0, **params})


def _fit(clf, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.fit(*args, **kwargs)


def _assert_same_weights(a, b):
    assert a.loss_curve_ == b.loss_curve_
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_,
                    strict=True):
        assert p.dtype == q.dtype
        assert np.array_equal(p, q)


CLASS_WEIGHTS = ["balanced", {0: 2.0, 2: 5.0}, {0: 1.0, 1: 0.25, 2: 3.0}]


@pytest.mark.parametrize("class_weight", CLASS_WEIGHTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_class_weight_is_the_matching_sample_weight(imbalanced, class_weight,
                                                    dtype, engine):
    X, y = imbalanced
    X = X.astype(dtype)
    weighted = _fit(_clf(class_weight=class_weight, engine=engine), X, y)
    expected = _fit(_clf(engine=engine), X, y,
                    sample_weight=compute_sample_weight(class_weight, y))
    _assert_same_weights(weighted, expected)
    # The weights matter: without them the fit differs.
    plain = _fit(_clf(engine=engine), X, y)
    assert plain.loss_curve_ != weighted.loss_curve_


@pytest.mark.parametrize("class_weight", CLASS_WEIGHTS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_class_weight_multiplies_sample_weight(imbalanced, class_weight, dtype):
    X, y = imbalanced
    X = X.astype(dtype)
    sw = np.random.default_rng(0).uniform(0.1, 3.0, len(y))  # not float32-exact
    sw_before = sw.copy()
    weighted = _fit(_clf(class_weight=class_weight), X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, sw_before)  # the caller's array untouched
    expected = _fit(_clf(), X, y,
                    sample_weight=sw * compute_sample_weight(class_weight, y))
    _assert_same_weights(weighted, expected)
    alone = _fit(_clf(), X, y, sample_weight=sw)
    assert alone.loss_curve_ != weighted.loss_curve_


def test_string_labels(imbalanced):
    X, y = imbalanced
    labels = np.array(["zero", "one", "two"])[y]
    weighted = _fit(_clf(class_weight={"two": 4.0}), X, labels)
    expected = _fit(_clf(), X, labels,
                    sample_weight=compute_sample_weight({"two": 4.0}, labels))
    _assert_same_weights(weighted, expected)


@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_with_early_stopping_only_the_training_part_is_weighted(
        imbalanced, monkeypatch, with_sample_weight):
    X, y = imbalanced
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    seen = {}
    split, train = _training.validation_split, _training.train

    def split_spy(*args):
        seen["split"] = split(*args)
        return seen["split"]

    def train_spy(clf, X, targets, sample_weight, *args, **kwargs):
        seen["sample_weight"], seen["validation"] = sample_weight, args[2]
        return train(clf, X, targets, sample_weight, *args, **kwargs)

    monkeypatch.setattr(_training, "validation_split", split_spy)
    monkeypatch.setattr(_training, "train", train_spy)
    clf = _clf(class_weight="balanced", early_stopping=True,
               validation_fraction=0.25)
    _fit(clf, X, y, sample_weight=sw if with_sample_weight else None)
    *_, y_train, y_val, sw_train, sw_val = seen["split"]
    # The class weights are those of the training part's labels...
    balanced = compute_sample_weight("balanced", y_train)
    expected = balanced if sw_train is None else sw_train * balanced
    np.testing.assert_array_equal(seen["sample_weight"],
                                  mean_one(expected.astype(X.dtype)))
    # ...and the validation part keeps sample_weight alone.
    assert seen["validation"][2] is sw_val
    assert (sw_val is None) == (not with_sample_weight)
    assert len(y_val) + len(y_train) == len(y)


def test_partial_fit_takes_a_dict_and_refuses_balanced(imbalanced):
    X, y = imbalanced
    classes = np.unique(y)
    class_weight = {0: 3.0, 1: 0.5}
    a, b = _clf(class_weight=class_weight), _clf()
    for chunk in np.array_split(np.arange(len(y)), 3):
        a.partial_fit(X[chunk], y[chunk], classes=classes)
        b.partial_fit(X[chunk], y[chunk], classes=classes,
                      sample_weight=compute_sample_weight(class_weight,
                                                          y[chunk]))
    _assert_same_weights(a, b)
    with pytest.raises(ValueError, match="compute_class_weight"):
        _clf(class_weight="balanced").partial_fit(X, y, classes=classes)
    fitted = _fit(_clf(), X, y).set_params(class_weight="balanced")
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        fitted.partial_fit(X, y)


@pytest.mark.parametrize("class_weight, match", [
    ({0: -1.0}, "non-negative"),
    ({0: "heavy"}, "non-negative"),
    ("balance", "class_weight"),
    ([1.0, 2.0, 3.0], "class_weight"),
])
def test_a_bad_class_weight_says_what_is_allowed(imbalanced, class_weight, match):
    X, y = imbalanced
    with pytest.raises(ValueError, match=match):
        _clf(class_weight=class_weight).fit(X, y)


def test_a_model_saved_before_class_weight_existed_loads_without_it(imbalanced):
    X, y = imbalanced
    clf = _fit(_clf(), X, y)
    state = clf.__getstate__()
    state.pop("_skmlp_checksum")
    del state["class_weight"]
    restored = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    restored.__setstate__(state)
    assert restored.class_weight is None
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
