"""scikit-learn's MLP tests (``sklearn/neural_network/tests/test_mlp.py``), ported.

Each test keeps its upstream name and says how it was adapted.  The names map
as ``hidden_layer_sizes`` -> ``hidden_layers``, ``max_iter`` -> ``epochs``,
``learning_rate_init`` -> ``eta`` and ``MLPClassifier`` -> ``ScratchMLPClassifier``;
:func:`mlp_classifier` gives skmlp MLPClassifier's defaults (log-loss, a constant
learning rate, one hidden layer of 100 units, 200 epochs, batches of
``min(200, n)``, Glorot initialisation, ``alpha=1e-4``, ``momentum=0.9``) and
turns ``learning_rate_init`` into ``eta``: the same for 'adam', divided by the
batch size for 'sgd', whose cost in skmlp is a sum over the batch, not a mean.

Where upstream fits with 'lbfgs' only to get a fitted model (``test_gradient``,
``test_sparse_matrices``, ``test_warm_start``) the port uses 'adam'.  Tests
written for MLPRegressor that check machinery the classifier shares (shuffling,
non-finite weights, partial_fit after joblib, sample weights with early
stopping, the validation split) are ported to the classifier on class labels.

Left out, upstream name -> reason:

- ``test_lbfgs_classification``: 'lbfgs' only (skmlp has 'sgd' and 'adam').
- ``test_lbfgs_regression``: MLPRegressor and 'lbfgs'.
- ``test_lbfgs_classification_maxfun``: 'lbfgs' and ``max_fun``.
- ``test_lbfgs_regression_maxfun``: MLPRegressor, 'lbfgs' and ``max_fun``.
- ``test_multilabel_classification``: multilabel targets (a 2-D indicator ``y``),
  which skmlp does not fit; its fit part is also 'lbfgs'.
- ``test_multioutput_regression``: MLPRegressor with several targets and 'lbfgs'.
- ``test_predict_proba_multilabel``: multilabel targets and 'lbfgs'.
- ``test_adaptive_learning_rate``: ``learning_rate='adaptive'``.
- ``test_mlp_regressor_dtypes_casting``: MLPRegressor; the classifier's
  counterpart ``test_mlp_classifier_dtypes_casting`` is ported.
- ``test_mlp_diverging_loss``: MLPRegressor with the 'identity' activation; its
  NaN validation score is an R^2 of NaN predictions, which a classifier's
  accuracy never is.
- ``test_mlp_vs_poisson_glm_equivalent``: MLPRegressor, Poisson loss, 'identity'
  and 'lbfgs'.

Parts left out of ported tests: the 'invscaling' half of
``test_learning_rate_warmstart``, the "lbfgs has no partial_fit" half of
``test_partial_fit_errors``, the MLPRegressor parametrisations, the 'lbfgs'
parametrisation of ``test_mlp_warm_start_no_convergence``, and there its
``pytest.warns(ConvergenceWarning)``: skmlp warns only when training collapsed
to one class, not when it used up its epochs.  Upstream tests that read the
private ``_no_improvement_count`` read the same count off ``loss_curve_``.
"""

import math
import re
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import LabelBinarizer, MinMaxScaler
from sklearn.utils._testing import (
    assert_allclose,
    assert_almost_equal,
    assert_array_equal,
)
from sklearn.utils.fixes import CSR_CONTAINERS

from skmlp import ScratchMLPClassifier
from skmlp.nn import fast
from skmlp.nn.activations import LOSSES

ACTIVATION_TYPES = ["sigmoid", "tanh", "relu"]  # upstream: + 'identity'

X_digits, y_digits = load_digits(n_class=3, return_X_y=True)

X_digits_multi = MinMaxScaler().fit_transform(X_digits[:200])
y_digits_multi = y_digits[:200]

X_digits, y_digits = load_digits(n_class=2, return_X_y=True)

X_digits_binary = MinMaxScaler().fit_transform(X_digits[:200])
y_digits_binary = y_digits[:200]

classification_datasets = [
    pytest.param(X_digits_multi, y_digits_multi, id="multiclass"),
    pytest.param(X_digits_binary, y_digits_binary, id="binary"),
]

iris = load_iris()

X_iris = iris.data
y_iris = iris.target

# MLPClassifier's defaults where skmlp's differ (or have no counterpart).
SKLEARN_DEFAULTS = {
    "hidden_layers": (100,),
    "loss": "log_loss",
    "solver": "adam",
    "learning_rate": "constant",
    "epochs": 200,
    "momentum": 0.9,
    "alpha": 1e-4,
    "init": "glorot",
}


def mlp_classifier(n_samples, *, learning_rate_init=0.001, **params):
    """A ScratchMLPClassifier configured as ``MLPClassifier(**params)`` would be.

    ``params`` use skmlp's names; ``n_samples`` (the number of training
    samples) gives MLPClassifier's ``batch_size='auto'``, ``min(200, n)``, of
    the samples left for training after the early-stopping split.  With
    'sgd', ``eta`` is ``learning_rate_init`` divided by the batch size: skmlp's
    cost of a batch is the sum of its samples' losses, scikit-learn's their
    mean.
    """
    params = {**SKLEARN_DEFAULTS, **params}
    n_train = n_samples
    if params.get("early_stopping", False):
        n_train -= math.ceil(params.get("validation_fraction", 0.1) * n_samples)
    params.setdefault("batch_size", min(200, n_train))
    batch = min(params["batch_size"], n_train)
    if params["solver"] == "sgd":
        return ScratchMLPClassifier(eta=learning_rate_init / batch, **params)
    return ScratchMLPClassifier(eta=learning_rate_init, **params)


def no_improvement_count(loss_curve, tol):
    """scikit-learn's ``_no_improvement_count`` replayed over a loss curve."""
    best, count = np.inf, 0
    for loss in loss_curve:
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
    return count


def test_alpha():
    # Test that larger alpha yields weights closer to zero
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]

    alpha_vectors = []
    alpha_values = np.arange(2)
    absolute_sum = lambda x: np.sum(np.abs(x))  # noqa: E731

    for alpha in alpha_values:
        mlp = mlp_classifier(len(X), hidden_layers=(10,), alpha=alpha, random_state=1)
        mlp.fit(X, y)
        alpha_vectors.append(
            np.array([absolute_sum(mlp.coefs_[0]), absolute_sum(mlp.coefs_[1])])
        )

    for i in range(len(alpha_values) - 1):
        assert (alpha_vectors[i] > alpha_vectors[i + 1]).all()


def test_fit():
    # Test that the algorithm solution is equal to a worked out example.
    # Adapted: skmlp's first partial_fit draws the weights (and takes a step),
    # so the worked example's weights are set after it and the second call
    # takes the step that is checked.  Batch size 1, so eta = 0.1.
    X = np.array([[0.6, 0.8, 0.7]])
    y = np.array([0])
    mlp = mlp_classifier(
        len(X),
        solver="sgd",
        learning_rate_init=0.1,
        alpha=0.1,
        activation="sigmoid",
        random_state=1,
        epochs=1,
        hidden_layers=(2,),
        momentum=0,
    )
    mlp.partial_fit(X, y, classes=[0, 1])
    mlp.coefs_ = [
        np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]),
        np.array([[0.1], [0.2]]),
    ]
    mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]

    mlp.partial_fit(X, y)
    # Manually worked out example (upstream's comments):
    # h1 = g(X1 * W_i1 + b11) = g(0.6 * 0.1 + 0.8 * 0.3 + 0.7 * 0.5 + 0.1)
    #       =  0.679178699175393
    # h2 = g(X2 * W_i2 + b12) = g(0.6 * 0.2 + 0.8 * 0.1 + 0.7 * 0 + 0.1)
    #         = 0.574442516811659
    # o1 = g(h * W2 + b21) = g(0.679 * 0.1 + 0.574 * 0.2 + 1)
    #       = 0.7654329236196236
    # d21 = -(0 - 0.765) = 0.765
    # d11 = (1 - 0.679) * 0.679 * 0.765 * 0.1 = 0.01667
    # d12 = (1 - 0.574) * 0.574 * 0.765 * 0.2 = 0.0374
    # W1grad11 = X1 * d11 + alpha * W11 = 0.6 * 0.01667 + 0.1 * 0.1 = 0.0200
    # W1grad11 = X1 * d12 + alpha * W12 = 0.6 * 0.0374 + 0.1 * 0.2 = 0.04244
    # W1grad21 = X2 * d11 + alpha * W13 = 0.8 * 0.01667 + 0.1 * 0.3 = 0.043336
    # W1grad22 = X2 * d12 + alpha * W14 = 0.8 * 0.0374 + 0.1 * 0.1 = 0.03992
    # W1grad31 = X3 * d11 + alpha * W15 = 0.6 * 0.01667 + 0.1 * 0.5 = 0.060002
    # W1grad32 = X3 * d12 + alpha * W16 = 0.6 * 0.0374 + 0.1 * 0 = 0.02244
    # W2grad1 = h1 * d21 + alpha * W21 = 0.679 * 0.765 + 0.1 * 0.1 = 0.5294
    # W2grad2 = h2 * d21 + alpha * W22 = 0.574 * 0.765 + 0.1 * 0.2 = 0.45911
    # b1grad1 = d11 = 0.01667
    # b1grad2 = d12 = 0.0374
    # b2grad = d21 = 0.765
    # W1 = W1 - eta * [W1grad11, .., W1grad32] = [[0.1, 0.2], [0.3, 0.1],
    #          [0.5, 0]] - 0.1 * [[0.0200, 0.04244], [0.043336, 0.03992],
    #          [0.060002, 0.02244]] = [[0.098, 0.195756], [0.2956664,
    #          0.096008], [0.4939998, -0.002244]]
    # W2 = W2 - eta * [W2grad1, W2grad2] = [[0.1], [0.2]] - 0.1 *
    #        [[0.5294], [0.45911]] = [[0.04706], [0.154089]]
    # b1 = b1 - eta * [b1grad1, b1grad2] = 0.1 - 0.1 * [0.01667, 0.0374]
    #         = [0.098333, 0.09626]
    # b2 = b2 - eta * b2grad = 1.0 - 0.1 * 0.765 = 0.9235
    assert_almost_equal(
        mlp.coefs_[0],
        np.array([[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]]),
        decimal=3,
    )
    assert_almost_equal(mlp.coefs_[1], np.array([[0.04706], [0.154089]]), decimal=3)
    assert_almost_equal(mlp.intercepts_[0], np.array([0.098333, 0.09626]), decimal=3)
    assert_almost_equal(mlp.intercepts_[1], np.array([0.9235]), decimal=3)
    # Testing output
    #  h1 = g(X1 * W_i1 + b11) = g(0.6 * 0.098 + 0.8 * 0.2956664 +
    #               0.7 * 0.4939998 + 0.098333) = 0.677
    #  h2 = g(X2 * W_i2 + b12) = g(0.6 * 0.195756 + 0.8 * 0.096008 +
    #            0.7 * -0.002244 + 0.09626) = 0.572
    #  o1 = h * W2 + b21 = 0.677 * 0.04706 +
    #             0.572 * 0.154089 + 0.9235 = 1.043
    #  prob = sigmoid(o1) = 0.739
    assert_almost_equal(mlp.predict_proba(X)[0, 1], 0.739, decimal=3)


@pytest.mark.parametrize("activation", ACTIVATION_TYPES)
@pytest.mark.parametrize("n_labels", [2, 3])
def test_gradient(n_labels, activation):
    # Test gradient.

    # This makes sure that the activation functions and their derivatives
    # are correct. The numerical and analytical computation of the gradient
    # should be close.
    # Adapted: upstream differentiates lbfgs's loss function; skmlp's analytic
    # gradient is fast.backprop, its cost the loss table plus the L2 term.
    n_samples = 5
    n_features = 10
    random_state = np.random.RandomState(seed=42)
    X = random_state.rand(n_samples, n_features)
    y = 1 + np.mod(np.arange(n_samples) + 1, n_labels)
    Y = LabelBinarizer().fit_transform(y).astype(float)

    mlp = mlp_classifier(
        n_samples,
        activation=activation,
        hidden_layers=(10,),
        alpha=1e-5,
        learning_rate_init=0.2,
        epochs=1,
        random_state=1,
    )
    mlp.fit(X, y)
    coefs, intercepts = mlp.coefs_, mlp.intercepts_
    layer_units = [n_features, *mlp.hidden_layers, mlp.n_outputs_]
    net = fast.Network(tuple(layer_units), mlp.activation, mlp.out_activation_,
                       mlp.loss, mlp.alpha)

    def cost():
        y_prob = fast.feedforward(net, coefs, intercepts, X)[-1]
        penalty = 0.5 * mlp.alpha * sum(np.sum(W**2) for W in coefs)
        return LOSSES[mlp.loss](Y, y_prob, None) + penalty

    ws = fast.Workspace(layer_units, n_samples, X.dtype)
    outputs = fast.feedforward(net, coefs, intercepts, X)
    value = fast.backprop(net, coefs, outputs, X, Y, None, ws)
    assert value == pytest.approx(cost(), rel=1e-12)
    grad = np.hstack([g.ravel() for g in ws.coef_grads + ws.intercept_grads])

    # numerically compute the gradients
    numgrad = []
    epsilon = 1e-5
    for p in coefs + intercepts:
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + epsilon
            up = cost()
            p[i] = saved - epsilon
            down = cost()
            p[i] = saved
            numgrad.append((up - down) / (epsilon * 2.0))
    assert_almost_equal(np.array(numgrad), grad)


def test_learning_rate_warmstart():
    # Tests that warm_start reuse past solutions.
    # Adapted: 'constant' only ('invscaling' is not in skmlp), and the
    # learning rate is read off its effect: two warm fits of one epoch take the
    # same steps as one fit of two epochs.  No momentum, no shuffling, one
    # batch: scikit-learn's warm fits would match too.
    X = [[3, 2], [1, 6], [5, 6], [-2, -4]]
    y = [1, 1, 1, 0]
    params = dict(solver="sgd", hidden_layers=(4,), learning_rate="constant",
                  momentum=0, shuffle=False, random_state=0)
    mlp = mlp_classifier(len(X), epochs=1, warm_start=True, **params)
    mlp.fit(X, y)
    prev_coefs = [W.copy() for W in mlp.coefs_]
    mlp.fit(X, y)
    once = mlp_classifier(len(X), epochs=2, **params).fit(X, y)

    assert not all(np.array_equal(a, b) for a, b in zip(prev_coefs, mlp.coefs_))
    for warm, two_epochs in zip(mlp.coefs_ + mlp.intercepts_,
                                once.coefs_ + once.intercepts_):
        assert_allclose(warm, two_epochs)


def test_partial_fit_classes_error():
    # Tests that passing different classes to partial_fit raises an error
    X = [[3, 2]]
    y = [0]
    clf = mlp_classifier(len(X), solver="sgd")
    clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError):
        clf.partial_fit(X, y, classes=[1, 2])


@pytest.mark.parametrize("X,y", classification_datasets)
def test_partial_fit_classification(X, y):
    # Test partial_fit on classification.
    # `partial_fit` should yield the same results as 'fit' for binary and
    # multi-class classification.
    mlp = mlp_classifier(
        len(X),
        solver="sgd",
        epochs=100,
        random_state=1,
        tol=0,
        alpha=1e-5,
        learning_rate_init=0.2,
    )
    mlp.fit(X, y)
    pred1 = mlp.predict(X)
    mlp = mlp_classifier(
        len(X), solver="sgd", random_state=1, alpha=1e-5, learning_rate_init=0.2
    )
    for _ in range(100):
        mlp.partial_fit(X, y, classes=np.unique(y))
    pred2 = mlp.predict(X)
    assert_array_equal(pred1, pred2)
    assert mlp.score(X, y) > 0.95


def test_partial_fit_unseen_classes():
    # Non regression test for bug 6994
    # Tests for labeling errors in partial fit

    clf = mlp_classifier(3, random_state=0)
    clf.partial_fit([[1], [2], [3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
    clf.partial_fit([[4]], ["d"])
    assert clf.score([[1], [2], [3], [4]], ["a", "b", "c", "d"]) > 0


@pytest.mark.parametrize("momentum", [0, 0.9])
def test_partial_fit_regression(momentum):
    # Test partial_fit on regression.
    # `partial_fit` should yield the same results as 'fit' for regression.
    # Adapted from MLPRegressor: the classifier on the binary digits, with
    # one batch of all samples and with and without momentum.
    X = X_digits_binary
    y = y_digits_binary
    params = dict(solver="sgd", activation="relu", random_state=1,
                  learning_rate_init=0.01, batch_size=X.shape[0], momentum=momentum)
    mlp = mlp_classifier(len(X), epochs=100, tol=0, **params)
    mlp.fit(X, y)
    pred1 = mlp.predict_proba(X)
    mlp = mlp_classifier(len(X), **params)
    for _ in range(100):
        mlp.partial_fit(X, y, classes=np.unique(y))

    pred2 = mlp.predict_proba(X)
    assert_allclose(pred1, pred2)
    assert mlp.score(X, y) > 0.95


@pytest.mark.parametrize("classes", [[2], [2, 3]])
def test_partial_fit_errors(classes):
    # Test partial_fit error handling.
    # Adapted: also with two classes, neither of them in y (with a single
    # class skmlp refuses the classes themselves).
    X = [[3, 2], [1, 6]]
    y = [1, 0]

    # no classes passed
    with pytest.raises(ValueError):
        mlp_classifier(len(X), solver="sgd").partial_fit(X, y, classes=classes)


def test_nonfinite_params():
    # Check that MLPRegressor throws ValueError when dealing with non-finite
    # parameter values
    # Adapted from MLPRegressor: the classifier on two classes.
    rng = np.random.RandomState(0)
    n_samples = 10
    fmax = np.finfo(np.float64).max
    X = fmax * rng.uniform(size=(n_samples, 2))
    y = np.arange(n_samples) % 2

    clf = mlp_classifier(n_samples)
    with pytest.raises(ValueError):
        with warnings.catch_warnings():
            # RuntimeWarning: overflow encountered in square
            warnings.simplefilter("ignore")
            clf.fit(X, y)


def test_predict_proba_binary():
    # Test that predict_proba works as expected for binary class.
    X = X_digits_binary[:50]
    y = y_digits_binary[:50]

    clf = mlp_classifier(
        len(X), hidden_layers=(5,), activation="sigmoid", random_state=1
    )
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    y_log_proba = clf.predict_log_proba(X)

    (n_samples, n_classes) = y.shape[0], 2

    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(proba_max, proba_log_max)
    assert_allclose(y_log_proba, np.log(y_proba))

    assert roc_auc_score(y, y_proba[:, 1]) == 1.0


def test_predict_proba_multiclass():
    # Test that predict_proba works as expected for multi class.
    X = X_digits_multi[:10]
    y = y_digits_multi[:10]

    clf = mlp_classifier(len(X), hidden_layers=(5,))
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    y_log_proba = clf.predict_log_proba(X)

    (n_samples, n_classes) = y.shape[0], np.unique(y).size

    proba_max = y_proba.argmax(axis=1)
    proba_log_max = y_log_proba.argmax(axis=1)

    assert y_proba.shape == (n_samples, n_classes)
    assert_array_equal(proba_max, proba_log_max)
    assert_allclose(y_log_proba, np.log(y_proba))


def _params(mlp):
    return mlp.coefs_ + mlp.intercepts_


def test_shuffle():
    # Test that the shuffle parameter affects the training process (it should)
    # Adapted from MLPRegressor: the classifier on make_classification, and
    # all the weights compared (a single ReLU unit may not learn at all).
    X, y = make_classification(n_samples=50, n_features=5, random_state=0)

    # The coefficients will be identical if both do or do not shuffle
    for shuffle in [True, False]:
        mlp1 = mlp_classifier(
            len(X), hidden_layers=(1,), epochs=1, batch_size=1, random_state=0,
            shuffle=shuffle,
        )
        mlp2 = mlp_classifier(
            len(X), hidden_layers=(1,), epochs=1, batch_size=1, random_state=0,
            shuffle=shuffle,
        )
        mlp1.fit(X, y)
        mlp2.fit(X, y)

        for p1, p2 in zip(_params(mlp1), _params(mlp2)):
            assert np.array_equal(p1, p2)

    # The coefficients will be slightly different if shuffle=True
    mlp1 = mlp_classifier(
        len(X), hidden_layers=(1,), epochs=1, batch_size=1, random_state=0,
        shuffle=True,
    )
    mlp2 = mlp_classifier(
        len(X), hidden_layers=(1,), epochs=1, batch_size=1, random_state=0,
        shuffle=False,
    )
    mlp1.fit(X, y)
    mlp2.fit(X, y)

    assert not all(np.array_equal(p1, p2) for p1, p2 in zip(_params(mlp1),
                                                             _params(mlp2)))


@pytest.mark.parametrize("csr_container", CSR_CONTAINERS)
def test_sparse_matrices(csr_container):
    # Test that sparse and dense input matrices output the same results.
    # Adapted: 'adam' instead of 'lbfgs'.
    X = X_digits_binary[:50]
    y = y_digits_binary[:50]
    X_sparse = csr_container(X)
    mlp = mlp_classifier(len(X), hidden_layers=(15,), random_state=1)
    mlp.fit(X, y)
    pred1 = mlp.predict(X)
    mlp.fit(X_sparse, y)
    pred2 = mlp.predict(X_sparse)
    assert_almost_equal(pred1, pred2)
    pred1 = mlp.predict(X)
    pred2 = mlp.predict(X_sparse)
    assert_array_equal(pred1, pred2)


def test_tolerance():
    # Test tolerance.
    # It should force the solver to exit the loop when it converges.
    X = [[3, 2], [1, 6]]
    y = [1, 0]
    clf = mlp_classifier(len(X), tol=0.5, epochs=3000, solver="sgd")
    clf.fit(X, y)
    assert clf.epochs > clf.n_iter_


@pytest.mark.xfail(
    strict=True,
    reason="skmlp shows a tqdm progress bar (on stderr) instead of printing "
    "'Iteration' lines on stdout",
)
def test_verbose_sgd(capsys):
    # Test verbose.
    X = [[3, 2], [1, 6]]
    y = [1, 0]
    clf = mlp_classifier(
        len(X), solver="sgd", epochs=2, verbose=10, hidden_layers=(2,)
    )

    clf.fit(X, y)
    clf.partial_fit(X, y)

    out, _ = capsys.readouterr()
    assert "Iteration" in out


def test_verbose_sgd_progress_bar(capsys):
    # skmlp's counterpart of test_verbose_sgd: a progress bar over the epochs
    # on stderr, for fit and for partial_fit, and nothing on stdout.
    X = [[3, 2], [1, 6]]
    y = [1, 0]
    clf = mlp_classifier(
        len(X), solver="sgd", epochs=2, verbose=10, hidden_layers=(2,)
    )

    clf.fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    assert "2/2" in err
    clf.partial_fit(X, y)
    out, err = capsys.readouterr()
    assert out == ""
    assert "1/1" in err


def test_early_stopping():
    # Adapted: the MLPClassifier parametrisation.
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]
    tol = 0.2
    mlp_estimator = mlp_classifier(
        len(X), tol=tol, epochs=3000, solver="sgd", early_stopping=True
    )
    mlp_estimator.fit(X, y)
    assert mlp_estimator.epochs > mlp_estimator.n_iter_

    assert mlp_estimator.best_loss_ is None
    assert isinstance(mlp_estimator.validation_scores_, list)

    valid_scores = mlp_estimator.validation_scores_
    best_valid_score = mlp_estimator.best_validation_score_
    assert max(valid_scores) == best_valid_score
    assert best_valid_score + tol > valid_scores[-2]
    assert best_valid_score + tol > valid_scores[-1]

    # check that the attributes `validation_scores_` and `best_validation_score_`
    # are set to None when `early_stopping=False`
    mlp_estimator = mlp_classifier(
        len(X), tol=tol, epochs=3000, solver="sgd", early_stopping=False
    )
    mlp_estimator.fit(X, y)
    assert mlp_estimator.validation_scores_ is None
    assert mlp_estimator.best_validation_score_ is None
    assert mlp_estimator.best_loss_ is not None


y_2classes = np.array([0] * 75 + [1] * 75)
y_3classes = np.array([0] * 40 + [1] * 40 + [2] * 70)
y_3classes_alt = np.array([0] * 50 + [1] * 50 + [3] * 50)
y_4classes = np.array([0] * 37 + [1] * 37 + [2] * 38 + [3] * 38)
y_5classes = np.array([0] * 30 + [1] * 30 + [2] * 30 + [3] * 30 + [4] * 30)


@pytest.mark.parametrize(
    "y_i",
    [
        pytest.param(y_2classes, id="2classes"),
        pytest.param(y_3classes_alt, id="3classes_alt"),
        pytest.param(y_4classes, id="4classes"),
        pytest.param(y_5classes, id="5classes"),
    ],
)
def test_warm_start(y_i):
    # Adapted: 'adam' instead of 'lbfgs'; the classes that warm_start refuses
    # are parametrised, and the error is matched by its class only.
    X = X_iris
    y = y_iris
    params = dict(hidden_layers=(2,), warm_start=True, random_state=42, tol=1e-2)

    # No error raised
    clf = mlp_classifier(len(X), **params).fit(X, y)
    clf.fit(X, y)
    clf.fit(X, y_3classes)

    clf = mlp_classifier(len(X), **params).fit(X, y)
    with pytest.raises(ValueError):
        clf.fit(X, y_i)


def test_warm_start_full_iteration():
    # Non-regression test for:
    # https://github.com/scikit-learn/scikit-learn/issues/16812
    # Check that the MLP estimator accomplish `max_iter` with a
    # warm started estimator.
    # Adapted: the MLPClassifier parametrisation.
    X, y = X_iris, y_iris
    max_iter = 3
    clf = mlp_classifier(
        len(X), hidden_layers=(2,), solver="sgd", warm_start=True, epochs=max_iter
    )
    clf.fit(X, y)
    assert max_iter == clf.n_iter_
    clf.fit(X, y)
    assert max_iter == clf.n_iter_


@pytest.mark.parametrize("n_iter_no_change", [2, 5, 10, 50, 100])
def test_n_iter_no_change(n_iter_no_change):
    # test n_iter_no_change using binary data set
    # the classifying fitting process is not prone to loss curve fluctuations
    # Adapted: the loop over n_iter_no_change is parametrised.
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]
    tol = 0.01
    max_iter = 3000

    clf = mlp_classifier(
        len(X), tol=tol, epochs=max_iter, solver="sgd",
        n_iter_no_change=n_iter_no_change,
    )
    clf.fit(X, y)

    # validate n_iter_no_change
    assert no_improvement_count(clf.loss_curve_, tol) == n_iter_no_change + 1
    assert max_iter > clf.n_iter_


def test_n_iter_no_change_inf():
    # test n_iter_no_change using binary data set
    # the fitting process should go to max_iter iterations
    X = X_digits_binary[:100]
    y = y_digits_binary[:100]

    # set a ridiculous tolerance
    # this should always trigger _update_no_improvement_count()
    tol = 1e9

    # fit
    n_iter_no_change = np.inf
    max_iter = 3000
    clf = mlp_classifier(
        len(X), tol=tol, epochs=max_iter, solver="sgd",
        n_iter_no_change=n_iter_no_change,
    )
    clf.fit(X, y)

    # validate n_iter_no_change doesn't cause early stopping
    assert clf.n_iter_ == max_iter

    # validate _update_no_improvement_count() was always triggered
    assert no_improvement_count(clf.loss_curve_, tol) == clf.n_iter_ - 1


def test_early_stopping_stratified():
    # Make sure data splitting for early stopping is stratified
    # Adapted: skmlp adds its advice to train_test_split's message.
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    y = [0, 0, 0, 1]

    mlp = mlp_classifier(len(X), early_stopping=True)
    with pytest.raises(
        ValueError, match=re.compile("least populated class", re.IGNORECASE)
    ):
        mlp.fit(X, y)


def test_mlp_early_stopping_string_labels():
    """Check that labels can be strings when `early_stopping=True`.

    Non-regression test for:
    https://github.com/scikit-learn/scikit-learn/issues/33760
    """
    X, y = make_classification(
        n_samples=200,
        n_features=10,
        n_classes=3,
        n_informative=5,
        random_state=42,
    )
    labels = np.array(["class_a", "class_b", "class_c"], dtype=object)
    y = labels[y]

    mlp = mlp_classifier(len(X), early_stopping=True, epochs=50, random_state=42)
    mlp.fit(X, y)

    assert mlp.validation_scores_ is not None
    assert len(mlp.validation_scores_) == mlp.n_iter_
    assert np.isfinite(mlp.validation_scores_).all()


def test_mlp_classifier_dtypes_casting():
    # Compare predictions for different dtypes
    params = dict(alpha=1e-5, hidden_layers=(5, 3), random_state=1, epochs=100,
                  tol=1e-1)
    mlp_64 = mlp_classifier(300, **params)
    mlp_64.fit(X_digits[:300], y_digits[:300])
    pred_64 = mlp_64.predict(X_digits[300:])
    proba_64 = mlp_64.predict_proba(X_digits[300:])

    mlp_32 = mlp_classifier(300, **params)
    mlp_32.fit(X_digits[:300].astype(np.float32), y_digits[:300])
    pred_32 = mlp_32.predict(X_digits[300:].astype(np.float32))
    proba_32 = mlp_32.predict_proba(X_digits[300:].astype(np.float32))

    assert_array_equal(pred_64, pred_32)
    assert_allclose(proba_64, proba_32, rtol=1e-02)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mlp_param_dtypes(dtype):
    # Checks if input dtype is used for network parameters
    # and predictions
    # Adapted: the MLPClassifier parametrisation.
    X, y = X_digits.astype(dtype), y_digits
    mlp = mlp_classifier(
        300, alpha=1e-5, hidden_layers=(5, 3), random_state=1, epochs=50, tol=1e-1
    )
    mlp.fit(X[:300], y[:300])
    mlp.predict(X[300:])

    assert all([intercept.dtype == dtype for intercept in mlp.intercepts_])

    assert all([coef.dtype == dtype for coef in mlp.coefs_])


def test_mlp_loading_from_joblib_partial_fit(tmp_path):
    """Loading from MLP and partial fitting updates weights. Non-regression
    test for #19626."""
    # Adapted from MLPRegressor: fit on two points, then learn their swapped
    # labels with partial_fit after a joblib round trip.
    pre_trained_estimator = mlp_classifier(
        2, hidden_layers=(42,), random_state=42, learning_rate_init=0.01, epochs=200
    )
    features, target = [[2], [-2]], [0, 1]

    pre_trained_estimator.fit(features, target)
    assert_array_equal(pre_trained_estimator.predict(features), target)

    # dump and load model
    pickled_file = tmp_path / "mlp.pkl"
    joblib.dump(pre_trained_estimator, pickled_file)
    load_estimator = joblib.load(pickled_file)

    # Train for a more epochs on the same points, with their labels swapped
    fine_tune_features, fine_tune_target = [[2], [-2]], [1, 0]

    for _ in range(200):
        load_estimator.partial_fit(fine_tune_features, fine_tune_target)

    # finetuned model learned the new target
    predicted_value = load_estimator.predict(fine_tune_features)
    assert_array_equal(predicted_value, fine_tune_target)


@pytest.mark.parametrize(
    "y_values",
    [
        pytest.param(
            np.full(10, 1),
            id="one_class",
            marks=pytest.mark.xfail(
                strict=True,
                raises=ValueError,
                reason="skmlp refuses a y with a single class",
            ),
        ),
        pytest.param(np.arange(10) % 2, id="two_classes"),
    ],
)
def test_preserve_feature_names(y_values):
    """Check that feature names are preserved when early stopping is enabled.

    Feature names are required for consistency checks during scoring.

    Non-regression test for gh-24846
    """
    # Adapted: the MLPClassifier parametrisation; upstream's y holds one class,
    # the second case two.
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)

    X = pd.DataFrame(data=rng.randn(10, 2), columns=["colname_a", "colname_b"])
    y = pd.Series(data=y_values, name="colname_y")

    model = mlp_classifier(len(X), early_stopping=True, validation_fraction=0.2)

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        # Ten random points may well be fitted to one class: skmlp then says so
        # with a ConvergenceWarning (a UserWarning), which is not what this
        # test is about (feature names).
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)


def test_mlp_warm_start_with_early_stopping():
    """Check that early stopping works with warm start."""
    # Adapted: the MLPClassifier parametrisation.
    mlp = mlp_classifier(
        len(X_iris), epochs=10, random_state=0, warm_start=True, early_stopping=True
    )
    mlp.fit(X_iris, y_iris)
    n_validation_scores = len(mlp.validation_scores_)
    mlp.set_params(epochs=20)
    mlp.fit(X_iris, y_iris)
    assert len(mlp.validation_scores_) > n_validation_scores


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_mlp_warm_start_no_convergence(solver):
    """Check that we stop the number of iteration at `max_iter` when warm starting.

    Non-regression test for:
    https://github.com/scikit-learn/scikit-learn/issues/24764
    """
    # Adapted: the MLPClassifier parametrisation, without 'lbfgs' and without
    # upstream's pytest.warns(ConvergenceWarning) (see the module docstring).
    model = mlp_classifier(
        len(X_iris),
        solver=solver,
        warm_start=True,
        early_stopping=False,
        epochs=10,
        n_iter_no_change=np.inf,
        random_state=0,
    )

    model.fit(X_iris, y_iris)
    assert model.n_iter_ == 10

    model.set_params(epochs=20)
    model.fit(X_iris, y_iris)
    assert model.n_iter_ == 20


def test_mlp_partial_fit_after_fit():
    """Check partial fit does not fail after fit when early_stopping=True.

    Non-regression test for gh-25693.
    """
    # Adapted: the MLPClassifier parametrisation; the error is matched by its
    # class only.
    mlp = mlp_classifier(len(X_iris), early_stopping=True, random_state=0)
    mlp.fit(X_iris, y_iris)

    with pytest.raises(ValueError):
        mlp.partial_fit(X_iris, y_iris)


def test_mlp_sample_weight_with_early_stopping():
    # Test code path for inner validation set splitting.
    # Adapted from MLPRegressor: the classifier on make_classification, its
    # probabilities compared.
    X, y = make_classification(
        n_samples=100,
        n_features=2,
        n_informative=2,
        n_redundant=0,
        random_state=42,
    )
    sw = np.ones_like(y, dtype=float)
    params = dict(
        hidden_layers=(10,),
        solver="adam",
        early_stopping=True,
        tol=1e-2,
        learning_rate_init=0.01,
        batch_size=10,
        random_state=42,
    )
    m1 = mlp_classifier(len(X), **params)
    m1.fit(X, y, sample_weight=sw)

    m2 = mlp_classifier(len(X), **params).fit(X, y, sample_weight=None)
    assert_allclose(m1.predict_proba(X), m2.predict_proba(X))


def test_minimum_input_sample_size():
    """Check error message when the validation set is too small."""
    # Adapted from MLPRegressor: the classifier's stratified validation split
    # needs a sample of each class; validation_fraction=0.05 of 20 samples
    # leaves one.  The error is matched by its class only.
    X, y = make_classification(n_samples=20, n_features=5, random_state=0)
    model = mlp_classifier(
        len(X), early_stopping=True, validation_fraction=0.05, random_state=0
    )
    with pytest.raises(ValueError):
        model.fit(X, y)
