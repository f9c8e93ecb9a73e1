"""The fast engine (skmlp/nn/fast.py) computes what the reference engine does.

The training loop works in place in reused buffers, multiplies by masks
instead of assigning through them, gathers batches with ``np.take`` and may
run on one BLAS thread; here each of those is checked against an epoch of the
reference engine (``skmlp.nn.reference``, the mathematics in plain NumPy), and
prediction in chunks against prediction in one piece.  Memory: fitting does
not copy a float32 C-contiguous ``X``, and predicting needs memory for one
chunk of rows, not for the activations of all of them.
"""

import copy
import itertools
import tracemalloc
from functools import cache

import numpy as np
import pytest
from conftest import small_problem as _small_problem
from conftest import targets as _targets
from threadpoolctl import threadpool_info

from skmlp import ScratchMLPClassifier, classifier, load_mnist_sample
from skmlp.nn import _fast_updates, fast, reference
from skmlp.nn import reference as ref
from skmlp.nn.activations import DERIVATIVES

# --------------------------------------------------------------------------
# The oracle: an epoch of the reference engine, fresh arrays at every step.


def _net(X, coefs, alpha=0.0):
    """The spec of a ReLU network with one sigmoid output, squared error."""
    return reference.Network((X.shape[1], *(W.shape[1] for W in coefs)),
                             alpha=alpha)


def _reference_epoch(X, T, coefs, intercepts, order, batch_size, eta, momentum):
    net = _net(X, coefs)
    state = reference.init_optimizer("sgd", coefs + intercepts)
    cost, change, _ = reference.train_epoch(
        net, coefs, intercepts, state, X, T, None, solver="sgd", eta=eta,
        momentum=momentum, batch_size=batch_size, order=order)
    return cost, change


def _problem(dtype, n=230, sizes=(30, 16, 8, 1), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    T = (X[:, :1] + X[:, 1:2] > 0).astype(dtype)
    coefs, intercepts = fast.init_params(reference.Network(sizes), "auto", rng, dtype)
    intercepts = [rng.normal(0, 0.1, b.shape).astype(dtype) for b in intercepts]
    return X, T, coefs, intercepts, rng.permutation(n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blank_input_columns_are_left_out_exactly(monkeypatch, dtype):
    # Images have a blank border: those columns add nothing to the products
    # and their weights get no gradient, so the batch skips them.
    X, T, coefs, intercepts, order = _problem(dtype)
    X[:, ::3] = 0  # a third of the columns blank everywhere
    X[np.random.default_rng(1).random(X.shape) < 0.3] = 0  # and sparse pixels
    batch_size, eta, momentum = 64, 0.01, 0.9
    ref_W, ref_b = [W.copy() for W in coefs], [b.copy() for b in intercepts]
    ref_cost, _ = _reference_epoch(X, T, ref_W, ref_b, order, batch_size,
                                     eta, momentum)

    skipped = []
    real = fast._column_mask

    def spy(Xb):
        active = real(Xb)
        skipped.append(0 if active is None else np.count_nonzero(~active))
        return active

    monkeypatch.setattr(fast, "_column_mask", spy)
    first_layer = coefs[0].copy()
    cost, _, _ = fast.train_epoch(
        _net(X, coefs), coefs, intercepts,
        fast.init_optimizer("sgd", coefs + intercepts), X, T, None, solver="sgd",
        eta=eta, momentum=momentum, batch_size=batch_size, order=order,
        workspace=fast.Workspace(_net(X, coefs).layer_sizes, batch_size, dtype),
    )
    assert len(skipped) == 4 and min(skipped) >= X.shape[1] // 3
    # The blank columns' weights are untouched, bit for bit.
    np.testing.assert_array_equal(coefs[0][::3], first_layer[::3])
    # The rest: the same sums without their zero terms, in another order.
    eps = float(np.finfo(dtype).eps)
    for got, want in zip(coefs + intercepts, ref_W + ref_b, strict=True):
        np.testing.assert_allclose(got, want, rtol=0,
                                   atol=50 * eps * np.abs(want).max())
    assert cost == pytest.approx(ref_cost, rel=100 * eps)


def test_blank_columns_still_decay_under_an_l2_penalty():
    # alpha > 0 gives every weight a gradient alpha * W: full products then.
    X, T, coefs, intercepts, order = _problem(np.float64)
    X[:, ::3] = 0
    before = coefs[0].copy()
    fast.train_epoch(
        _net(X, coefs, alpha=0.5), coefs, intercepts,
        fast.init_optimizer("sgd", coefs + intercepts), X, T, None, solver="sgd",
        eta=0.01, momentum=0.0, batch_size=64, order=order,
    )
    # Four steps of W <- W - eta * alpha * W on the blank rows.
    np.testing.assert_allclose(coefs[0][::3], before[::3] * (1 - 0.01 * 0.5) ** 4,
                               rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_derivative_is_exactly_the_masked_assignment(dtype):
    rng = np.random.default_rng(0)
    Y = np.maximum(rng.normal(size=(50, 40)), 0).astype(dtype)
    delta = rng.normal(size=Y.shape).astype(dtype)
    expected = delta.copy()
    expected[Y <= 0] = 0
    got = DERIVATIVES["relu"](Y, delta)
    assert got is delta
    np.testing.assert_array_equal(got, expected)
    assert 0 < np.count_nonzero(got) < got.size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_single_output_delta_product_is_exact(dtype):
    # delta @ W.T with one output unit is an outer product, computed by a
    # broadcast multiply: one rounding per element, as in the BLAS call.
    rng = np.random.default_rng(0)
    delta = rng.normal(size=(70, 1)).astype(dtype)
    W = rng.normal(size=(30, 1)).astype(dtype)
    out = np.empty((70, 30), dtype)
    got = fast._times_transpose(delta, W, out)
    assert got is out
    np.testing.assert_array_equal(got, delta @ W.T)
    # More output units: the matrix product itself.
    delta3, W3 = rng.normal(size=(70, 3)), rng.normal(size=(30, 3))
    np.testing.assert_array_equal(
        fast._times_transpose(delta3, W3, np.empty((70, 30))), delta3 @ W3.T
    )


def test_unshuffled_and_shuffled_batches_agree():
    # shuffle=False visits the rows in order as views; an identity `order`
    # gathers the same rows into the buffer: the same weights, bit for bit.
    X, T, coefs, intercepts, _ = _problem(np.float64)
    results = []
    for order in (None, np.arange(len(X))):
        W, b = [c.copy() for c in coefs], [c.copy() for c in intercepts]
        fast.train_epoch(
            _net(X, W), W, b, fast.init_optimizer("sgd", W + b), X, T, None,
            solver="sgd", eta=0.01, momentum=0.5, batch_size=50, order=order,
        )
        results.append(W + b)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def _gradients(X, T, sw, coefs, intercepts):
    net = _net(X, coefs, alpha=0.1)
    ws = fast.Workspace(net.layer_sizes, len(X), X.dtype)
    outputs = fast.feedforward(net, coefs, intercepts, X)
    cost = fast.backprop(net, coefs, outputs, X, T, sw, ws)
    return cost, [g.copy() for g in ws.coef_grads + ws.intercept_grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("zero_rows", ["saturated", "zero weight"])
def test_rows_without_error_are_skipped_exactly(monkeypatch, dtype, zero_rows):
    X, T, coefs, intercepts, _ = _problem(dtype)
    sw = None
    if zero_rows == "saturated":
        # A huge output bias drives y_hat to exactly 1.0 wherever the
        # first layer does not pull it back: (y - y_hat) y_hat (1 - y_hat) = 0.
        intercepts[-1][:] = 60
        coefs[-1][: coefs[-1].shape[0] // 2] *= -40
    else:
        sw = np.where(np.arange(len(X)) % 3 == 0, 1.5, 0.0).astype(dtype)
    outputs = fast.feedforward(_net(X, coefs), coefs, intercepts, X)
    delta = fast.OUTPUT_DELTAS["squared_error", "sigmoid"](
        T, outputs[-1], np.empty_like(T))
    if sw is not None:
        delta *= sw[:, None]
    kept = fast._rows_with_error(delta)
    assert kept is not None and 0 < len(kept) < 0.8 * len(X), "nothing to skip"

    cost, skipped = _gradients(X, T, sw, coefs, intercepts)
    monkeypatch.setattr(fast, "_SPARSE_ROWS", -1.0)  # keep every row
    assert fast._rows_with_error(delta) is None
    full_cost, full = _gradients(X, T, sw, coefs, intercepts)
    assert cost == full_cost
    # The same sums without their zero terms: equal but for the order of
    # summation inside the products.
    eps = float(np.finfo(dtype).eps)
    for a, b in zip(skipped, full, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=20 * eps * np.abs(b).max())
        assert np.abs(b).max() > 0


def test_a_batch_without_error_has_zero_gradients():
    X, T, coefs, intercepts, _ = _problem(np.float64)
    sw = np.zeros(len(X))
    cost, grads = _gradients(X, T, sw, coefs, intercepts)
    assert cost == pytest.approx(0.05 * sum(np.sum(W**2) for W in coefs))
    # Only the L2 penalty (alpha = 0.1) is left.
    for g, W in zip(grads, coefs, strict=False):
        np.testing.assert_allclose(g, 0.1 * W)
    for g in grads[len(coefs):]:
        np.testing.assert_array_equal(g, 0)


# --------------------------------------------------------------------------
# BLAS threads


def _blas_threads():
    return [pool["num_threads"] for pool in threadpool_info()
            if pool["user_api"] == "blas"]


def test_small_batches_train_on_one_blas_thread(monkeypatch):
    sizes = [784, 500, 250, 1]
    assert fast.largest_gemm(sizes, 64) == 64 * 784 * 500
    assert fast.largest_gemm(sizes, 64, np.float64) == 2 * 64 * 784 * 500
    threshold = fast.SINGLE_THREAD_GEMM
    small, large = threshold // (784 * 500), threshold // (784 * 500) + 1
    assert fast.largest_gemm(sizes, small) < threshold
    assert fast.largest_gemm(sizes, large) >= threshold
    before = _blas_threads()
    with fast.blas_thread_limit(sizes, small):
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
    with fast.blas_thread_limit(sizes, large):
        assert _blas_threads() == before
    # float64 products take twice as long: threads pay from half the batch.
    with fast.blas_thread_limit(sizes, large // 2 + 1, np.float64):
        assert _blas_threads() == before

    # And the limit is in force while train_epoch runs its batches.
    seen = []
    real_feedforward = fast.feedforward

    def spy(*args, **kwargs):
        seen.append(set(_blas_threads()))
        return real_feedforward(*args, **kwargs)

    monkeypatch.setattr(fast, "feedforward", spy)
    X, T, coefs, intercepts, order = _problem(np.float64)
    fast.train_epoch(
        _net(X, coefs), coefs, intercepts,
        fast.init_optimizer("sgd", coefs + intercepts), X, T, None,
        solver="sgd", eta=0.01, momentum=0.0, batch_size=64, order=order,
    )
    assert seen and all(threads == {1} for threads in seen)


def test_thread_limit_changes_the_result_by_rounding_only():
    # The BLAS may split a sum among its threads, which changes the last bit
    # of some weights (and only that): one thread or several, the same fit.
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 500)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    # Large enough for the BLAS's own threads (when it has several).
    assert fast.largest_gemm([500, 400, 1], 500) >= fast.SINGLE_THREAD_GEMM
    fits = []
    for threads in (1, None):
        with threadpool_limits(threads):
            clf = ScratchMLPClassifier(hidden_layers=(400,), solver="sgd",
                                       eta=1e-3, batch_size=500, epochs=2,
                                       random_state=0).fit(X, y)
        fits.append(clf.coefs_ + clf.intercepts_)
    for a, b in zip(*fits, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * np.abs(b).max())


# --------------------------------------------------------------------------
# Prediction in chunks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_prediction_equals_one_piece(monkeypatch, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 20)).astype(dtype)
    # Sparse columns: a chunk of 37 rows has blank columns the whole has not.
    X[:, 10:] *= rng.random((1000, 10)) < 0.02
    y = np.where(X[:, 0] * X[:, 1] > 0, "a", "b")
    clf = ScratchMLPClassifier(hidden_layers=(30, 20), batch_size=100, epochs=5,
                               random_state=0).fit(X, y)
    monkeypatch.setattr(classifier, "_PREDICT_CHUNK", 10**9)
    whole_proba, whole = clf.predict_proba(X), clf.predict(X)
    monkeypatch.setattr(classifier, "_PREDICT_CHUNK", 37)
    chunked_proba, chunked = clf.predict_proba(X), clf.predict(X)
    np.testing.assert_array_equal(chunked, whole)
    assert len(np.unique(whole)) == 2
    assert fast._active_columns(X[:37]) is not None
    assert fast._active_columns(X) is None
    # A row's products do not depend on its neighbours; leaving blank columns
    # out changes the order of summation: equal but for rounding.
    np.testing.assert_allclose(chunked_proba, whole_proba, rtol=0,
                               atol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prediction_pass_leaves_blank_columns_out(dtype):
    X, _, coefs, intercepts, _ = _problem(dtype)
    X[:, ::2] = 0
    assert len(fast._active_columns(X)) == X.shape[1] // 2
    net = _net(X, coefs)
    got = fast.feedforward_output(net, coefs, intercepts, X)
    want = fast.feedforward(net, coefs, intercepts, X)[-1]
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=10 * np.finfo(dtype).eps)


def test_prediction_needs_memory_for_a_chunk_not_for_all_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10)).astype(np.float32)
    clf = ScratchMLPClassifier(hidden_layers=(256,), epochs=1,
                               random_state=0).fit(X, X[:, 0] > 0)
    X_big = rng.normal(size=(60_000, 10)).astype(np.float32)
    all_activations = X_big.shape[0] * 256 * X_big.itemsize  # 61 MB
    tracemalloc.start()
    try:
        clf.predict(X_big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    chunk = classifier._PREDICT_CHUNK * 256 * X_big.itemsize  # 4 MB
    assert peak < 3 * chunk + X_big.shape[0] * 16, (peak, chunk)
    assert peak < all_activations / 5


# --------------------------------------------------------------------------
# Memory of fit


def _fit_peak(X, y, **params):
    clf = ScratchMLPClassifier(hidden_layers=(16,), solver="sgd", eta=1e-4,
                               batch_size=500, epochs=1, random_state=0, **params)
    tracemalloc.start()
    try:
        clf.fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_fit_does_not_copy_float32_data():
    rng = np.random.default_rng(0)
    X = rng.random((25_000, 784), dtype=np.float32)  # 78 MB
    y = rng.integers(0, 2, len(X))
    assert X.flags.c_contiguous
    # Shuffling permutes indices and gathers one batch at a time.
    assert _fit_peak(X, y) < 0.1 * X.nbytes
    assert _fit_peak(X, y, shuffle=False) < 0.1 * X.nbytes
    # Early stopping splits off a validation set: one copy of X at most.
    assert _fit_peak(X, y, early_stopping=True) < 1.1 * X.nbytes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scaled_backprop_gives_the_sgd_steps(dtype):
    # SGD asks backprop for -eta * dC/dW directly (the output delta scaled):
    # the same as scaling the gradients, L2 term and sample weights included,
    # but for rounding; the cost is the unscaled one.
    X, T, coefs, intercepts, _ = _problem(dtype)
    sw = np.random.default_rng(2).uniform(0.5, 2, len(X)).astype(dtype)
    net = _net(X, coefs, alpha=0.1)
    outputs = fast.feedforward(net, coefs, intercepts, X)
    results = []
    for scale in (1.0, -0.01):
        ws = fast.Workspace(net.layer_sizes, len(X), dtype)
        cost = fast.backprop(net, coefs, outputs, X, T, sw, ws, scale)
        results.append((cost, [g.copy() for g in ws.coef_grads + ws.intercept_grads]))
    (cost, grads), (scaled_cost, steps) = results
    assert scaled_cost == cost
    eps = float(np.finfo(dtype).eps)
    for g, s in zip(grads, steps, strict=True):
        np.testing.assert_allclose(s, -0.01 * g, rtol=0,
                                   atol=8 * eps * np.abs(0.01 * g).max())
    assert fast.gradient_scale("sgd", 0.01) == -0.01
    assert fast.gradient_scale("adam", 0.01) == 1.0


# --------------------------------------------------------------------------
# The compiled updates


def _adam_run(X, T, sizes, dtype, batch_size, epochs, engine):
    rng = np.random.default_rng(4)
    net = reference.Network(tuple(sizes))
    coefs, intercepts = reference.init_params(net, "auto", rng, dtype)
    state = reference.init_optimizer("adam", coefs + intercepts)
    for epoch in range(epochs):
        order = np.random.default_rng(epoch).permutation(len(X))
        kwargs = {"solver": "adam", "eta": 0.001, "momentum": 0.0,
                  "batch_size": batch_size, "order": order}
        if engine == "reference":
            reference.train_epoch(net, coefs, intercepts, state, X, T, None,
                                  **kwargs)
        else:
            fast.train_epoch(net, coefs, intercepts, state, X, T, None, **kwargs)
    return coefs + intercepts, state


def test_adam_over_long_epochs_is_the_references():
    # 400 steps an epoch: the compiled update keeps the reference engine's
    # m and v step after step.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1600, 40))
    T = (X[:, :1] > 0).astype(np.float64)
    sizes = [40, 30, 8, 1]
    want, want_state = _adam_run(X, T, sizes, np.float64, 4, 2, "reference")
    got, got_state = _adam_run(X, T, sizes, np.float64, 4, 2, "fast")
    assert got_state["t"] == want_state["t"] == 800
    for name in ("m", "v"):
        for a, b in zip(got_state[name], want_state[name], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-300)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_lone_adam_step_is_the_references():
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(30, 5)), rng.normal(size=5)]
    state = reference.init_optimizer("adam", params)
    ref_params = [p.copy() for p in params]
    ref_state = reference.init_optimizer("adam", ref_params)
    for _ in range(3):
        grads = [rng.normal(size=p.shape) for p in params]
        want = reference.adam_update(ref_params, [g.copy() for g in grads],
                                     ref_state, 0.01)
        for p, change in zip(ref_params, want, strict=True):
            p += change
        changes = fast.apply_updates("adam", state, params, grads, 0.01, 0.0)
        assert changes == pytest.approx([float(np.sum(c**2)) for c in want],
                                        rel=1e-12)
    for a, b in zip(params, ref_params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(state["m"] + state["v"], ref_state["m"] + ref_state["v"],
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_adam_moments_are_plain_after_an_interrupted_epoch(monkeypatch):
    # Ctrl-C in the middle of an epoch: the moments are left in the plain form
    # (of the steps taken), not the scaled one.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 10))
    T = (X[:, :1] > 0).astype(np.float64)
    net = reference.Network((10, 6, 1))
    coefs, intercepts = reference.init_params(net, "auto", rng, np.float64)
    params = coefs + intercepts
    state = reference.init_optimizer("adam", params)
    ref_params = [p.copy() for p in params]
    ref_state = reference.init_optimizer("adam", ref_params)
    real, steps = fast.apply_updates, []

    def spy(solver, state, params, grads, *args):
        if len(steps) == 3:
            raise KeyboardInterrupt
        steps.append([g.copy() for g in grads])
        return real(solver, state, params, grads, *args)

    monkeypatch.setattr(fast, "apply_updates", spy)
    with pytest.raises(KeyboardInterrupt):
        fast.train_epoch(net, coefs, intercepts, state, X, T, None, solver="adam",
                         eta=0.01, momentum=0.0, batch_size=8, order=None)
    for grads in steps:
        reference.adam_update(ref_params, grads, ref_state, 0.01)
    assert state["t"] == ref_state["t"] == 3
    for a, b in zip(state["m"] + state["v"], ref_state["m"] + ref_state["v"],
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


ACTIVATIONS = ["relu", "sigmoid", "tanh"]
LOSSES = ["squared_error", "log_loss"]


# --------------------------------------------------------------------------
# The fast engine against the reference


def test_the_engines_share_the_spec_initialisation_and_optimiser_state():
    # One definition of each, so the engines cannot drift apart: the same
    # initial weights, bit for bit, and the same optimiser state, which lets
    # a model switch engines between fits.
    for name in ("Network", "init_params", "init_optimizer", "scheduled_eta"):
        assert getattr(fast, name) is getattr(ref, name), name


@pytest.mark.parametrize(
    "activation, loss, n_outputs, weighted, alpha",
    list(itertools.product(ACTIVATIONS, LOSSES, [1, 3], [False, True], [0.0, 0.3])),
)
def test_fast_backprop_gives_the_reference_gradients(activation, loss, n_outputs,
                                                     weighted, alpha):
    net, X, T, coefs, intercepts = _small_problem(n_outputs, activation, loss, alpha)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(X)) if weighted else None
    cost, coef_grads, intercept_grads = ref.backprop(net, coefs, intercepts, X, T, sw)
    ws = fast.Workspace(net.layer_sizes, len(X), np.float64)
    outputs = fast.feedforward(net, coefs, intercepts, X)
    fast_cost = fast.backprop(net, coefs, outputs, X, T, sw, ws)
    assert fast_cost == pytest.approx(cost, rel=1e-12)
    for a, b in zip(ws.coef_grads + ws.intercept_grads,
                    coef_grads + intercept_grads, strict=True):
        assert np.abs(b).max() > 0
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * np.abs(b).max())


@cache
def _data(kind, dtype):
    """Random rows (no blank column), or MNIST images (a blank border)."""
    rng = np.random.default_rng(0)
    if kind == "random":
        X = rng.normal(size=(150, 20))
        labels = (X[:, 0] > 0) + 2 * (X[:, 1] > 0.5)
    else:
        (images, labels), _ = load_mnist_sample()
        images, labels = images[:150], labels[:150].astype(int)
        X = images.reshape(len(images), -1) / images.max(axis=(1, 2))[:, None]
    # A quarter of the rows weigh nothing: the fast engine skips their rows.
    sw = rng.uniform(0.5, 2.0, len(X)) * (np.arange(len(X)) % 4 != 0)
    return X.astype(dtype), labels, sw.astype(dtype)


# (weights, outputs) absolute, (epoch cost, weight change) relative.  The
# largest differences measured over every case below, after 3 epochs of 5
# batches: float64 6.2e-16 in the weights, 6.7e-16 in the outputs, 5.3e-16
# relative in the cost and weight change; float32 6.0e-7, 3.3e-7 and 1.1e-7.
TOLERANCE = {np.float64: (1e-6, 1e-6, 1e-12), np.float32: (2e-6, 1e-6, 5e-7)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", ["random", "mnist"])
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("solver, momentum", [("sgd", 0.0), ("sgd", 0.9),
                                              ("adam", 0.0)])
def test_fast_epochs_give_the_reference_weights(monkeypatch, solver, momentum,
                                                activation, loss, n_outputs, alpha,
                                                data, dtype):
    X, labels, sw = _data(data, dtype)
    T = _targets(labels, n_outputs, dtype)
    net = ref.Network((X.shape[1], 12, 6, n_outputs), activation,
                      "sigmoid" if n_outputs == 1 else "softmax", loss, alpha)
    coefs, intercepts = ref.init_params(net, "auto", np.random.default_rng(1), dtype)
    fast_W, fast_b = [W.copy() for W in coefs], [b.copy() for b in intercepts]
    start = [p.copy() for p in coefs + intercepts]
    state = ref.init_optimizer(solver, coefs + intercepts)
    fast_state = fast.init_optimizer(solver, fast_W + fast_b)
    workspace = fast.Workspace(net.layer_sizes, 32, dtype)
    masked, column_mask = [], fast._column_mask

    def spy(Xb):
        masked.append(column_mask(Xb))
        return masked[-1]

    monkeypatch.setattr(fast, "_column_mask", spy)
    eta = 0.002 if solver == "sgd" else 0.003
    for epoch in range(3):
        order = np.random.default_rng(epoch).permutation(len(X))
        got = ref.train_epoch(net, coefs, intercepts, state, X, T, sw, solver=solver,
                              eta=eta, momentum=momentum, batch_size=32, order=order)
        want = fast.train_epoch(
            net, fast_W, fast_b, fast_state, X, T, sw, solver=solver, eta=eta,
            momentum=momentum, batch_size=32, order=order, workspace=workspace)
        assert got[2] == want[2] == 5 and np.isfinite(got[0])
        assert got[:2] == pytest.approx(want[:2], rel=TOLERANCE[dtype][2])
    # The fast engine's blank-column path runs on images without a penalty.
    took_blank_path = any(mask is not None for mask in masked)
    assert took_blank_path == (data == "mnist" and not alpha)

    weight_tol, output_tol, _ = TOLERANCE[dtype]
    moved = [np.abs(a - s).max() for a, s in zip(coefs + intercepts, start)]
    assert min(moved) > 0 and max(moved) > 100 * weight_tol, "too little training"
    for a, b in zip(coefs + intercepts, fast_W + fast_b, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=0, atol=weight_tol)
    outputs = ref.feedforward(net, coefs, intercepts, X)[-1]
    fast_outputs = fast.feedforward(net, fast_W, fast_b, X)[-1]
    np.testing.assert_allclose(outputs, fast_outputs, rtol=0, atol=output_tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver, momentum", [("adam", 0.0), ("sgd", 0.0),
                                              ("sgd", 0.9)])
@pytest.mark.parametrize("rows", [[0, 3, 4, 8], [4, 0, 8, 3]],
                         ids=["increasing", "any-order"])
def test_an_update_of_listed_rows_is_that_of_a_zero_filled_gradient(solver,
                                                                    momentum,
                                                                    dtype, rows):
    # The blank input columns of a batch: the gradient of the first weights
    # holds its other rows only, and the update treats the rest as zero.
    rng = np.random.default_rng(5)
    params = [rng.normal(size=(9, 4)).astype(dtype), rng.normal(size=4).astype(dtype)]
    state = reference.init_optimizer(solver, params)
    for key in ("m", "v", "velocities"):  # a state that is not all zero
        for a in state.get(key, []):
            a[...] = rng.normal(size=a.shape)
            if key == "v":
                np.abs(a, out=a)
    rows = np.array(rows)  # a SplitCSR's batch lists its dense columns first
    steps = [(rng.normal(size=(len(rows), 4)).astype(dtype),
              rng.normal(size=4).astype(dtype)) for _ in range(3)]
    runs = []
    for listed in (True, False):
        ps, st = copy.deepcopy((params, state))
        changes = []
        for compact, bias in steps:
            full = np.zeros((9, 4), dtype)
            full[rows] = compact
            grads = [compact.copy(), bias.copy()] if listed else [full, bias.copy()]
            changes.append(fast.apply_updates(solver, st, ps, grads, 0.01,
                                              momentum, rows if listed else None))
        runs.append((ps, st, changes))
    (got, got_state, got_changes), (want, want_state, want_changes) = runs
    # Equal but for rounding: the compiler may order a value's products and
    # quotient otherwise in the two branches.
    rtol = 8 * float(np.finfo(dtype).eps)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol)
    for key in ("m", "v", "velocities"):
        for a, b in zip(got_state.get(key, []), want_state.get(key, []), strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol)
    np.testing.assert_allclose(got_changes, want_changes, rtol=1e-6)
    # The rows left out move too under Adam and momentum (their state is not
    # zero), so that the comparison can fail.
    moved = not np.array_equal(got[0][1], params[0][1])
    assert moved == (solver == "adam" or bool(momentum))


@pytest.mark.parametrize("solver, momentum", [("adam", 0.0), ("sgd", 0.9),
                                              ("sgd", 0.0)])
def test_the_updates_skip_still_rows_and_only_those(solver, momentum):
    # Rows with a zero gradient and a zero state do not move: they are
    # skipped.  Given a state that is not zero, a skipped row would not move
    # either, which shows that the loop skips it.
    rng = np.random.default_rng(6)
    params = [rng.normal(size=(6, 3)), rng.normal(size=3)]
    state = reference.init_optimizer(solver, params)
    for key in ("m", "v", "velocities"):
        for a in state.get(key, []):
            a[...] = np.abs(rng.normal(size=a.shape))
    keys = {"adam": ["m", "v"], "sgd": ["velocities"] if momentum else []}[solver]
    for key in keys:
        state[key][0][[1, 4]] = 0.0
    blank = np.array([1, 2, 4])
    still = _fast_updates.still_rows(state, solver, momentum, blank)
    if not keys:  # plain SGD moves no row without a gradient: nothing to skip
        assert still is None
        return
    np.testing.assert_array_equal(still, [1, 4])  # row 2's state is not zero
    rows, grads = np.array([0, 3, 5]), [rng.normal(size=(3, 3)), rng.normal(size=3)]
    runs = []
    for skipped in (None, still, np.array([2])):
        ps, st = copy.deepcopy((params, state))
        fast.apply_updates(solver, st, ps, [g.copy() for g in grads], 0.01, momentum,
                           rows, still=skipped)
        runs.append(ps[0])
    np.testing.assert_array_equal(runs[0], runs[1])  # the same, to the bit
    assert not np.array_equal(runs[0][2], params[0][2])  # row 2 moves...
    np.testing.assert_array_equal(runs[2][2], params[0][2])  # ...unless skipped


def test_a_fit_skips_the_weights_of_blank_columns_to_the_same_bits(monkeypatch):
    rng = np.random.default_rng(7)
    X = (rng.random((200, 30)) < 0.15) * rng.random((200, 30))
    X[:, [0, 7, 29]] = 0  # no value in any row
    y = rng.integers(0, 2, len(X))
    seen = []
    still_rows = _fast_updates.still_rows

    def spy(*args):
        seen.append(still_rows(*args))
        return seen[-1]

    fits = []
    for skip in (True, False):
        monkeypatch.setattr(fast, "still_rows", spy if skip else lambda *a: None)
        fits.append(ScratchMLPClassifier(hidden_layers=(5,), epochs=2, batch_size=32,
                                         random_state=0).fit(X, y))
    assert [list(s) for s in seen] == [[0, 7, 29]] * 2
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_,
                    fits[1].coefs_ + fits[1].intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_updates_refuse_arrays_they_cannot_update_in_place():
    params = [np.asfortranarray(np.ones((3, 2)))]
    state = reference.init_optimizer("adam", params)
    with pytest.raises(ValueError, match="C-contiguous"):
        fast.apply_updates("adam", state, params, [np.ones((3, 2))], 0.01, 0.0)
