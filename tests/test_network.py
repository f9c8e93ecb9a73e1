"""The mathematics of the network: gradients against finite differences, and
one SGD step worked by hand in the notebook's own notation."""

import itertools

import numpy as np
import pytest

from skmlp import ScratchMLPClassifier
from skmlp.nn import fast
from skmlp.nn.activations import ACTIVATIONS, LOSSES


def _cost(net, X, T, sw, coefs, intercepts):
    outputs = fast.feedforward(net, coefs, intercepts, X)
    cost = LOSSES[net.loss](T, outputs[-1], sw)
    return cost + 0.5 * net.alpha * sum(float(np.sum(W**2)) for W in coefs)


def _problem(n_outputs, activation, seed=0):
    rng = np.random.default_rng(seed)
    n, sizes = 8, [5, 6, 5, n_outputs]
    X = rng.normal(size=(n, sizes[0]))
    if n_outputs == 1:
        T = rng.integers(0, 2, (n, 1)).astype(float)
    else:
        T = np.eye(n_outputs)[rng.integers(0, n_outputs, n)]
    coefs, intercepts = fast.init_params(
        fast.Network(tuple(sizes), activation), "glorot", rng, np.float64
    )
    # Non-zero biases, so their gradients are exercised away from 0.
    intercepts = [rng.normal(0.2, 0.5, size=b.shape) for b in intercepts]
    return X, T, sizes, coefs, intercepts


@pytest.mark.parametrize(
    "activation, loss, n_outputs, weighted",
    list(
        itertools.product(
            ["relu", "sigmoid", "tanh"], ["squared_error", "log_loss"], [1, 3],
            [False, True],
        )
    ),
)
def test_gradients_match_central_differences(activation, loss, n_outputs, weighted):
    X, T, sizes, coefs, intercepts = _problem(n_outputs, activation)
    out_activation = "sigmoid" if n_outputs == 1 else "softmax"
    net = fast.Network(tuple(sizes), activation, out_activation, loss, alpha=0.3)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(X)) if weighted else None

    ws = fast.Workspace(net.layer_sizes, len(X), np.float64)
    outputs = fast.feedforward(net, coefs, intercepts, X)
    cost = fast.backprop(net, coefs, outputs, X, T, sw, ws)
    args = (net, X, T, sw, coefs, intercepts)
    assert cost == pytest.approx(_cost(*args), rel=1e-12)

    params = coefs + intercepts
    analytic = ws.coef_grads + ws.intercept_grads
    h = 1e-6
    for p, grad in zip(params, analytic):
        numeric = np.empty_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + h
            up = _cost(*args)
            p[i] = saved - h
            down = _cost(*args)
            p[i] = saved
            numeric[i] = (up - down) / (2 * h)
        assert np.linalg.norm(numeric) > 0, "degenerate problem: a zero gradient"
        error = np.linalg.norm(grad - numeric) / (
            np.linalg.norm(grad) + np.linalg.norm(numeric)
        )
        assert error < 1e-6, (p.shape, error)


def test_activations_are_overflow_safe_and_exact():
    z = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])
    for dtype in (np.float32, np.float64):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = ACTIVATIONS["sigmoid"](z.astype(dtype))
        assert y.dtype == dtype
        assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
        assert y[3] == 0.5
        np.testing.assert_allclose(y[2:5], 1 / (1 + np.exp(-z[2:5])), rtol=1e-6)
    s = ACTIVATIONS["softmax"](np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(s, [[0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(ACTIVATIONS["relu"](np.array([-2.0, 0.0, 3.0])),
                                  [0, 0, 3])


def _notebook_step(W, X_cols, Y, eta):
    """One step of the notebook's backpropagation, written from SPEC.md in its
    own notation: samples are columns, W[l] carries the bias as a last column
    and a row of ones is stacked under each layer's input (without the
    notebook's Y[i-1] defect on the first layer)."""
    ones = np.ones((1, X_cols.shape[1]))
    inputs, outputs = [], []
    Y_prev = X_cols
    for layer, Wl in enumerate(W):
        augmented = np.vstack([Y_prev, ones])
        Z = Wl @ augmented
        Y_prev = 1 / (1 + np.exp(-Z)) if layer == len(W) - 1 else np.maximum(Z, 0)
        inputs.append(augmented)
        outputs.append(Y_prev)
    # C = 1/2 * sum over the batch of (y_hat - y)^2
    dC_dZ = (outputs[-1] - Y) * outputs[-1] * (1 - outputs[-1])
    new_W = [None] * len(W)
    for layer in range(len(W) - 1, -1, -1):
        dC_dW = dC_dZ @ inputs[layer].T
        if layer > 0:
            dC_dY = W[layer][:, :-1].T @ dC_dZ
            dC_dZ = (outputs[layer - 1] > 0) * dC_dY
        new_W[layer] = W[layer] - eta * dC_dW
    cost = 0.5 * np.sum((outputs[-1] - Y) ** 2)
    return new_W, cost


def _as_notebook(clf):
    return [np.hstack([W.T, b[:, None]]) for W, b in zip(clf.coefs_, clf.intercepts_)]


def test_one_sgd_step_by_hand_matches_partial_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    y = np.where(X[:, 0] + X[:, 1] > 0, "five", "one")
    clf = ScratchMLPClassifier(
        hidden_layers=(5, 4), solver="sgd", eta=0.05, batch_size=40, shuffle=False,
        random_state=0,
    )
    clf.partial_fit(X, y, classes=["five", "one"])
    before = _as_notebook(clf)
    clf.partial_fit(X, y)  # one epoch = one batch of all 40 samples

    Y = (y == clf.classes_[1]).astype(float)[None, :]
    expected, cost = _notebook_step(before, X.T, Y, eta=0.05)
    for got, want in zip(_as_notebook(clf), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    # The notebook's cost per epoch: the batch cost over the number of samples.
    assert clf.loss_curve_[-1] == pytest.approx(cost / 40, rel=1e-12)
    # The weight change is the mean over layers of ||W_new - W_old|| (one batch).
    change = np.mean([np.linalg.norm(a - b) for a, b in zip(expected, before)])
    assert clf.weight_change_curve_[-1] == pytest.approx(change, rel=1e-9)


def test_momentum_step_by_hand():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = ScratchMLPClassifier(
        hidden_layers=(3,), solver="sgd", eta=0.05, momentum=0.5, batch_size=30,
        shuffle=False, random_state=0,
    )
    clf.partial_fit(X, y, classes=[0, 1])
    W0 = _as_notebook(clf)
    # The first epoch started from zero velocity, so its step is plain SGD:
    # recover the velocity from a second, plain step of the notebook.
    clf.partial_fit(X, y)
    W1 = _as_notebook(clf)
    plain, _ = _notebook_step(W0, X.T, y[None, :].astype(float), eta=0.05)
    # W1 = W0 + v1 with v1 = 0.5 * v0 + (plain - W0); check v0 is consistent:
    # it must be the first step, which is the same recipe from the initial W.
    v1 = [a - b for a, b in zip(W1, W0)]
    v0 = [(v - (p - w)) / 0.5 for v, p, w in zip(v1, plain, W0)]
    assert all(np.linalg.norm(v) > 0 for v in v0)
    W_init = [w - v for w, v in zip(W0, v0)]
    first, _ = _notebook_step(W_init, X.T, y[None, :].astype(float), eta=0.05)
    for a, b in zip(first, W0):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
