"""Dropout: the masks, the gradient through them, both engines, the estimator.

Inverted dropout multiplies each hidden layer's output by a mask of 0 (unit
dropped) and ``1 / (1 - p)`` (unit kept) in training; prediction uses every
unit unscaled.  The reference engine is checked against central differences
with a fixed mask, the fast engine against the reference with the same masks.
"""

import itertools
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skmlp import ScratchMLPClassifier
from skmlp.nn import fast
from skmlp.nn import reference as ref

ACTIVATIONS = ["relu", "sigmoid", "tanh"]


def _problem(activation, n_outputs=1, loss="squared_error", alpha=0.0, seed=0):
    rng = np.random.default_rng(seed)
    net = ref.Network((5, 6, 4, n_outputs), activation,
                      "sigmoid" if n_outputs == 1 else "softmax", loss, alpha)
    X = rng.normal(size=(9, 5))
    labels = rng.integers(0, 6, 9)
    T = ((labels % 2).reshape(-1, 1) if n_outputs == 1
         else np.eye(n_outputs)[labels % n_outputs]).astype(np.float64)
    coefs, intercepts = ref.init_params(net, "glorot", rng, np.float64)
    intercepts = [rng.normal(0.2, 0.5, b.shape) for b in intercepts]
    return net, X, T, coefs, intercepts


def _masks(net, n_rows, dropout=(0.5, 0.25), seed=3):
    return ref.dropout_masks(np.random.default_rng(seed), dropout, n_rows,
                             net.layer_sizes, np.float64)


def test_masks_drop_the_share_asked_and_scale_the_rest():
    masks = ref.dropout_masks(np.random.default_rng(0), (0.3, 0.0, 0.75), 4000,
                              (8, 50, 20, 10, 1), np.float32)
    assert masks[1] is None  # p = 0: no mask, no draw
    for mask, p in [(masks[0], 0.3), (masks[2], 0.75)]:
        assert mask.dtype == np.float32
        assert set(np.unique(mask)) == {0, np.float32(1 / (1 - p))}
        assert np.mean(mask == 0) == pytest.approx(p, abs=0.01)
        assert mask.mean() == pytest.approx(1.0, abs=0.03)  # inverted dropout


def test_the_masks_multiply_the_hidden_outputs_only():
    net, X, _, coefs, intercepts = _problem("sigmoid")
    masks = _masks(net, len(X))
    plain = ref.feedforward(net, coefs, intercepts, X)
    dropped = ref.feedforward(net, coefs, intercepts, X, masks)
    np.testing.assert_allclose(dropped[0], plain[0] * masks[0])
    assert (dropped[0][masks[0] == 0] == 0).all()
    # The second layer sees the masked first: its output changes.
    assert not np.allclose(dropped[-1], plain[-1])


@pytest.mark.parametrize(
    "activation, n_outputs, loss, alpha",
    list(itertools.product(ACTIVATIONS, [1, 3], ["squared_error", "log_loss"],
                           [0.0, 0.3])),
)
def test_gradients_with_a_fixed_mask_match_central_differences(activation,
                                                              n_outputs, loss,
                                                              alpha):
    net, X, T, coefs, intercepts = _problem(activation, n_outputs, loss, alpha)
    masks = _masks(net, len(X))
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    _, coef_grads, intercept_grads = ref.backprop(net, coefs, intercepts, X, T,
                                                  sw, masks)
    h = 1e-6
    for p, grad in zip(coefs + intercepts, coef_grads + intercept_grads):
        numeric = np.empty_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + h
            up = ref.backprop(net, coefs, intercepts, X, T, sw, masks)[0]
            p[i] = saved - h
            down = ref.backprop(net, coefs, intercepts, X, T, sw, masks)[0]
            p[i] = saved
            numeric[i] = (up - down) / (2 * h)
        assert np.linalg.norm(numeric) > 0, "degenerate problem: a zero gradient"
        error = np.linalg.norm(grad - numeric) / (
            np.linalg.norm(grad) + np.linalg.norm(numeric))
        assert error < 1e-6, (p.shape, error)
    # The mask matters: without it the gradients differ.
    plain = ref.backprop(net, coefs, intercepts, X, T, sw)[1]
    assert not np.allclose(plain[0], coef_grads[0])


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_fast_backprop_with_masks_gives_the_reference_gradients(activation,
                                                                n_outputs):
    net, X, T, coefs, intercepts = _problem(activation, n_outputs, "log_loss")
    masks = _masks(net, len(X))
    cost, coef_grads, intercept_grads = ref.backprop(net, coefs, intercepts, X, T,
                                                     None, masks)
    ws = fast.Workspace(net.layer_sizes, len(X), np.float64, dropout=True)
    outputs = fast.feedforward(net, coefs, intercepts, X, out=ws.outputs,
                               masks=masks, unmasked=ws.unmasked)
    assert fast.backprop(net, coefs, outputs, X, T, None, ws,
                         masks=masks) == pytest.approx(cost, rel=1e-12)
    for a, b in zip(ws.coef_grads + ws.intercept_grads,
                    coef_grads + intercept_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=3, return_X_y=True)
    return X[:240] / 16, y[:240]


def _fit(X, y, **params):
    params = {"hidden_layers": (16, 8), "batch_size": 32, "epochs": 3,
              "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ScratchMLPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_the_engines_agree_with_dropout(digits, activation, solver):
    X, y = digits
    kwargs = {"dropout": (0.5, 0.2), "activation": activation, "solver": solver,
              "eta": 0.01}
    fast_fit = _fit(X, y, engine="fast", **kwargs)
    ref_fit = _fit(X, y, engine="reference", **kwargs)
    np.testing.assert_allclose(fast_fit.loss_curve_, ref_fit.loss_curve_,
                               rtol=1e-9)
    for a, b in zip(fast_fit.coefs_ + fast_fit.intercepts_,
                    ref_fit.coefs_ + ref_fit.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    # ...and dropout did change the training.
    plain = _fit(X, y, engine="fast", **{**kwargs, "dropout": 0.0})
    assert not np.allclose(plain.coefs_[0], fast_fit.coefs_[0])


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_no_dropout_is_bit_identical_to_the_default(digits, engine):
    X, y = digits
    default = _fit(X, y, engine=engine)
    for dropout in (0.0, 0, (0.0, 0.0)):
        other = _fit(X, y, engine=engine, dropout=dropout)
        assert other.loss_curve_ == default.loss_curve_
        for a, b in zip(other.coefs_, default.coefs_):
            assert np.array_equal(a, b)


def test_dropout_is_seeded_by_random_state(digits):
    X, y = digits
    a = _fit(X, y, dropout=0.3)
    b = _fit(X, y, dropout=0.3)
    c = _fit(X, y, dropout=0.3, random_state=1)
    assert a.loss_curve_ == b.loss_curve_
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_))
    assert a.loss_curve_ != c.loss_curve_


def test_one_rate_per_layer(digits, monkeypatch):
    X, y = digits
    seen = []
    masks_of = ref.dropout_masks

    def spy(rng, dropout, *args):
        seen.append(dropout)
        return masks_of(rng, dropout, *args)

    monkeypatch.setattr(fast, "dropout_masks", spy)
    clf = _fit(X, y, dropout=(0.4, 0.0))
    assert seen and set(seen) == {(0.4, 0.0)}
    assert _fit(X, y, dropout=0.4).loss_curve_ != clf.loss_curve_


def test_prediction_uses_every_unit_unscaled(digits):
    X, y = digits
    clf = _fit(X, y, dropout=0.5)
    expected = ref.feedforward(clf._network(), clf.coefs_, clf.intercepts_, X)[-1]
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    assert np.array_equal(clf.predict(X), clf.predict(X))


@pytest.mark.parametrize("dropout", [1.0, -0.1, (0.2,), (0.2, 0.3, 0.1),
                                     (0.2, 1.5), "0.2", ((0.1, 0.2),)])
def test_a_bad_dropout_says_what_is_allowed(digits, dropout):
    X, y = digits
    with pytest.raises(ValueError, match="dropout"):
        ScratchMLPClassifier(hidden_layers=(16, 8), dropout=dropout).fit(X, y)


def test_a_model_saved_before_dropout_existed_loads_without_it(digits):
    X, y = digits
    clf = _fit(X, y)
    state = clf.__getstate__()
    state.pop("_skmlp_checksum")  # states from before the checksum load too
    del state["dropout"]
    restored = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    restored.__setstate__(state)
    assert restored.dropout == 0.0
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
