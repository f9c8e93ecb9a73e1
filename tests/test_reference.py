"""The reference engine: its gradients against central differences, one SGD
step worked in the notebook's own notation, its updates, schedule and dtypes.
The fast engine is checked against it in tests/test_fast.py."""

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import small_problem as _small_problem

from skmlp import ScratchMLPClassifier
from skmlp.nn import activations as _activations
from skmlp.nn import fast
from skmlp.nn import reference as ref

ACTIVATIONS = ["relu", "sigmoid", "tanh"]
LOSSES = ["squared_error", "log_loss"]




# --------------------------------------------------------------------------
# Activations and losses: overflow-safe, and the fast engine's tables' values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_and_losses_are_safe_at_the_extremes(dtype):
    z = np.array([[-1e4, -800.0, -90.0, -30.0, 0.0, 30.0, 90.0, 800.0, 1e4]], dtype)
    eps = float(np.finfo(dtype).eps)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name, A in ref.ACTIVATIONS.items():
            y = A(z)
            assert y.dtype == dtype and np.all(np.isfinite(y))
            np.testing.assert_allclose(y, _activations.ACTIVATIONS[name](z.copy()),
                                       rtol=4 * eps)
            if name in ref.DERIVATIVES:
                delta = np.ones_like(y)
                np.testing.assert_allclose(
                    delta * ref.DERIVATIVES[name](y),
                    _activations.DERIVATIVES[name](y, delta.copy()),
                    rtol=4 * eps)
        assert ref.sigmoid(z)[0, 4] == 0.5 and ref.sigmoid(z)[0, -1] == 1
        # Saturated probabilities (exactly 0 and 1) on the wrong side: clipped
        # to [eps, 1 - eps], a large but finite cost, as the fast engine's.
        p = np.array([[0.0], [1.0], [0.3]], dtype)
        t = np.array([[1.0], [0.0], [1.0]], dtype)
        P3 = np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]], dtype)
        T3 = np.eye(3, dtype=dtype)[[1, 2]]
        for P, T in [(p, t), (P3, T3)]:
            for name, loss in ref.LOSSES.items():
                rows = loss(P, T)
                assert rows.shape == (len(P),) and np.all(np.isfinite(rows))
                assert float(rows.sum()) == pytest.approx(
                    _activations.LOSSES[name](T, P), rel=4 * eps)
        assert ref.log_loss(p, t)[0] == pytest.approx(-np.log(eps))


# --------------------------------------------------------------------------
# Gradients against central differences


def _cost_from_the_definition(net, coefs, intercepts, X, T, sw):
    # The cost written out again, independently of the engine's loss table.
    P = ref.feedforward(net, coefs, intercepts, X)[-1]
    if net.loss == "squared_error":
        rows = 0.5 * ((P - T) ** 2).sum(axis=1)
    elif P.shape[1] == 1:
        rows = -(T * np.log(P) + (1 - T) * np.log(1 - P)).sum(axis=1)
    else:
        rows = -(T * np.log(P)).sum(axis=1)
    w = np.ones(len(X)) if sw is None else sw
    return float(w @ rows) + net.alpha / 2 * sum(float((W**2).sum()) for W in coefs)


@pytest.mark.parametrize(
    "activation, loss, n_outputs, weighted, alpha",
    list(itertools.product(ACTIVATIONS, LOSSES, [1, 3], [False, True], [0.0, 0.3])),
)
def test_gradients_match_central_differences(activation, loss, n_outputs, weighted,
                                             alpha):
    net, X, T, coefs, intercepts = _small_problem(n_outputs, activation, loss, alpha)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(X)) if weighted else None
    cost, coef_grads, intercept_grads = ref.backprop(net, coefs, intercepts, X, T, sw)
    assert cost == pytest.approx(
        _cost_from_the_definition(net, coefs, intercepts, X, T, sw), rel=1e-12)

    h = 1e-6
    for p, grad in zip(coefs + intercepts, coef_grads + intercept_grads):
        assert grad.shape == p.shape
        numeric = np.empty_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + h
            up = ref.backprop(net, coefs, intercepts, X, T, sw)[0]
            p[i] = saved - h
            down = ref.backprop(net, coefs, intercepts, X, T, sw)[0]
            p[i] = saved
            numeric[i] = (up - down) / (2 * h)
        assert np.linalg.norm(numeric) > 0, "degenerate problem: a zero gradient"
        error = np.linalg.norm(grad - numeric) / (
            np.linalg.norm(grad) + np.linalg.norm(numeric))
        assert error < 1e-6, (p.shape, error)


# --------------------------------------------------------------------------
# One SGD step in the notebook's notation


def _notebook_step(W, X_cols, Y, eta):
    """The notebook's step, in its notation: samples are columns, each W[l]
    carries its bias as a last column and a row of ones is stacked under each
    layer's input; ReLU hidden layers, a sigmoid output, C = 1/2 ||Y_L - Y||^2.
    (Without the notebook's defect: the first layer's input is X.)"""
    ones = np.ones((1, X_cols.shape[1]))
    inputs, outputs, Y_prev = [], [], X_cols
    for layer, Wl in enumerate(W):
        augmented = np.vstack([Y_prev, ones])
        Z = Wl @ augmented
        Y_prev = 1 / (1 + np.exp(-Z)) if layer == len(W) - 1 else np.maximum(Z, 0)
        inputs.append(augmented)
        outputs.append(Y_prev)
    dC_dZ = (outputs[-1] - Y) * outputs[-1] * (1 - outputs[-1])
    new_W = [None] * len(W)
    for layer in range(len(W) - 1, -1, -1):
        dC_dW = dC_dZ @ inputs[layer].T
        if layer > 0:
            dC_dY = W[layer][:, :-1].T @ dC_dZ  # the bias column has no input
            dC_dZ = np.where(outputs[layer - 1] == 0, 0, 1) * dC_dY  # deriv_ReLu(Y)
        new_W[layer] = W[layer] - eta * dC_dW
    return new_W, 0.5 * np.sum((outputs[-1] - Y) ** 2)


def _augmented(coefs, intercepts):
    return [np.hstack([W.T, b[:, None]]) for W, b in zip(coefs, intercepts)]


def test_one_sgd_step_worked_in_the_notebooks_notation():
    X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 1.0, 1.0],
                  [0.0, -0.75, 0.5]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    net = ref.Network((3, 4, 2, 1))
    coefs, intercepts = ref.init_params(net, "uniform", np.random.default_rng(3),
                                        np.float64)
    before = _augmented(coefs, intercepts)
    expected, cost = _notebook_step(before, X.T, y[None, :], eta=0.1)

    state = ref.init_optimizer("sgd", coefs + intercepts)
    got_cost, change, n_batches = ref.train_epoch(
        net, coefs, intercepts, state, X, y[:, None], None, solver="sgd", eta=0.1,
        momentum=0.0, batch_size=len(X), order=None)
    assert n_batches == 1
    after = _augmented(coefs, intercepts)
    for got, want, old in zip(after, expected, before):
        assert np.abs(want - old).max() > 1e-3, "the step moved nothing"
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert got_cost == pytest.approx(cost, rel=1e-13)
    # The notebook's weight change: the sum over layers of ||W_new - W_old||.
    assert change == pytest.approx(
        sum(np.linalg.norm(a - b) for a, b in zip(expected, before)), rel=1e-12)


def test_momentum_keeps_a_velocity():
    net, X, T, coefs, intercepts = _small_problem(1, "relu")
    params = coefs + intercepts
    grads = [np.full_like(p, 0.5) for p in params]
    state = ref.init_optimizer("sgd", params)
    first = ref.sgd_update(params, grads, state, 0.1, 0.9)
    second = ref.sgd_update(params, grads, state, 0.1, 0.9)
    for a, b, v in zip(first, second, state["velocities"]):
        np.testing.assert_allclose(a, -0.05)  # from rest: -eta * g
        np.testing.assert_allclose(b, 0.9 * -0.05 - 0.05)
        np.testing.assert_array_equal(v, b)


def test_adam_is_the_textbook_update_with_its_epsilon_moved():
    # eta_t m / (sqrt(v) + eps) with eta_t = eta sqrt(1 - b2^t) / (1 - b1^t)
    # is eta m_hat / (sqrt(v_hat) + eps / sqrt(1 - b2^t)), exactly.
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(4, 3)), rng.normal(size=3)]
    state = ref.init_optimizer("adam", params)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    b1, b2, eps, eta = 0.9, 0.999, 1e-8, 0.01
    for t in range(1, 4):
        grads = [rng.normal(size=p.shape) * 1e-6 for p in params]  # eps matters
        changes = ref.adam_update(params, grads, state, eta)
        assert state["t"] == t
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            want = -eta * m_hat / (np.sqrt(v_hat) + eps / math.sqrt(1 - b2**t))
            np.testing.assert_allclose(changes[i], want, rtol=1e-12)
            np.testing.assert_allclose(state["m"][i], m[i], rtol=1e-12)
            np.testing.assert_allclose(state["v"][i], v[i], rtol=1e-12)
            # The textbook's own eps gives another number at these gradients.
            textbook = -eta * m_hat / (np.sqrt(v_hat) + eps)
            assert np.abs(changes[i] - textbook).max() > 1e-3 * np.abs(textbook).max()


@pytest.mark.parametrize("learning_rate", ["constant", "cosine"])
def test_scheduled_eta_is_the_classifiers(monkeypatch, learning_rate):
    # The rates that the classifier gives each epoch of its engine.
    seen, train_epoch = [], fast.train_epoch

    def spy(*args, **kwargs):
        seen.append(kwargs["eta"])
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(fast, "train_epoch", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 20))
    labels = (X[:, 0] > 0) + 2 * (X[:, 1] > 0.5)
    ScratchMLPClassifier((4,), learning_rate=learning_rate, eta=0.3, epochs=7,
                         solver="adam", tol=0, n_iter_no_change=np.inf,
                         random_state=0).fit(X, labels % 2)
    etas = [ref.scheduled_eta(learning_rate, 0.3, e, 7) for e in range(7)]
    assert etas == seen
    assert etas[0] == 0.3 and (learning_rate == "constant") == (etas[-1] == 0.3)


# --------------------------------------------------------------------------
# The interface: dtypes, sparse input, no mutation, a non-finite cost


def _epoch(net, coefs, intercepts, X, T, sw, solver="adam", **kwargs):
    state = ref.init_optimizer(solver, coefs + intercepts)
    kwargs = {"eta": 0.01, "momentum": 0.9, "batch_size": 4, "order": None, **kwargs}
    return ref.train_epoch(net, coefs, intercepts, state, X, T, sw, solver=solver,
                           **kwargs), state


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_float32_stays_float32(solver):
    net, X, T, coefs, intercepts = _small_problem(3, "tanh", "log_loss", 0.1)
    net = ref.Network(net.layer_sizes, net.activation, net.out_activation, net.loss,
                      np.float64(0.1))  # NumPy scalars must not upcast either
    X, T = X.astype(np.float32), T.astype(np.float32)
    coefs = [W.astype(np.float32) for W in coefs]
    intercepts = [b.astype(np.float32) for b in intercepts]
    sw = np.linspace(0.5, 2, len(X))  # float64 weights
    outputs = ref.feedforward(net, coefs, intercepts, X)
    _, coef_grads, intercept_grads = ref.backprop(net, coefs, intercepts, X, T, sw)
    (cost, change, _), state = _epoch(net, coefs, intercepts, X, T, sw, solver,
                                      eta=np.float64(0.01), momentum=np.float64(0.9))
    arrays = outputs + coef_grads + intercept_grads + coefs + intercepts
    arrays += [a for key in ("m", "v", "velocities") for a in state.get(key, [])]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert isinstance(cost, float) and isinstance(change, float) and change > 0


def test_sparse_input_is_densified_one_batch_at_a_time():
    net, X, T, coefs, intercepts = _small_problem(1, "relu")
    X[X < 0.3] = 0
    sizes = []

    class Rows:  # a CSR matrix that records the rows asked of it
        shape = X.shape

        def __getitem__(self, rows):
            batch = sp.csr_matrix(X)[rows]
            sizes.append(batch.shape[0])
            return batch

        def toarray(self):
            raise AssertionError("the whole of X was densified")

    dense_W = [p.copy() for p in coefs + intercepts]
    order = np.random.default_rng(0).permutation(len(X))
    want, _ = _epoch(net, dense_W[:3], dense_W[3:], X, T, None, order=order)
    got, _ = _epoch(net, coefs, intercepts, Rows(), T, None, order=order)
    assert sizes == [4, 4, 1]
    assert got == want
    for a, b in zip(coefs + intercepts, dense_W):
        np.testing.assert_array_equal(a, b)


def test_nothing_the_caller_passed_is_mutated_but_the_weights():
    net, X, T, coefs, intercepts = _small_problem(3, "sigmoid", "log_loss", 0.1)
    sw = np.linspace(0.5, 2, len(X))
    order = np.arange(len(X))[::-1]
    inputs = [a.copy() for a in (X, T, sw, order)]
    params = [p.copy() for p in coefs + intercepts]
    ref.backprop(net, coefs, intercepts, X, T, sw)
    ref.feedforward(net, coefs, intercepts, X)
    for a, b in zip(coefs + intercepts, params):
        np.testing.assert_array_equal(a, b)
    held = coefs + intercepts
    _epoch(net, coefs, intercepts, X, T, sw, order=order)
    for a, b in zip((X, T, sw, order), inputs):
        np.testing.assert_array_equal(a, b)
    # The caller's own arrays are the ones updated.
    assert all(a is b for a, b in zip(held, coefs + intercepts))
    assert all(np.abs(a - b).max() > 0 for a, b in zip(held, params))


def test_a_non_finite_cost_stops_the_epoch():
    net, X, T, coefs, intercepts = _small_problem(1, "relu")
    coefs[-1][0, 0] = np.nan
    first = coefs[0].copy()
    (cost, change, n_batches), _ = _epoch(net, coefs, intercepts, X, T, None)
    assert not np.isfinite(cost) and n_batches == 1 and change == 0
    np.testing.assert_array_equal(coefs[0], first)  # no update applied
