"""ScratchMLPClassifier: the scikit-learn face of the from-scratch network."""

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    unique_labels,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from tqdm.auto import tqdm

from . import _network, persistence
from .exceptions import TrainingInterrupted

# Rows per chunk in predict: memory for one chunk's activations, whatever len(X).
_PREDICT_CHUNK = 4096

# Sparse X as scikit-learn's MLPClassifier takes it; other formats are converted
# to the first by validate_data, and CSC to CSR by _csr: batches are rows.
_ACCEPT_SPARSE = ["csr", "csc"]

# Remedies added to scikit-learn's validation errors that only say what is wrong.
_NOT_NUMERIC = (
    "X must hold numbers: encode text or categorical columns first, e.g. "
    "with sklearn.preprocessing.OneHotEncoder."
)
_INFINITE = "Replace or drop the infinite values first (np.isfinite finds them)."
_MISSING_LABEL = "Drop the samples whose label is missing."


def _mean_one(sample_weight):
    """``sample_weight`` scaled to mean 1, or None when all weights are equal.

    Only the ratios of the weights count: the summed cost of a batch keeps the
    size it has without weights whatever their scale (AdaBoost's sum to 1),
    and equal weights are the unweighted problem exactly.
    """
    if sample_weight is None or np.all(sample_weight == sample_weight[0]):
        return None
    mean = sample_weight.mean(dtype=np.float64)
    return (sample_weight / mean).astype(sample_weight.dtype, copy=False)


def _validate(estimator, X, y="no_validation", **kwargs):
    """``validate_data``, refusing images clearly and saying how to fix ``X``."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, list | tuple):
        try:
            ndim = np.ndim(X)
        except ValueError:  # ragged nested lists: validate_data explains
            ndim = None
    if ndim is not None and ndim > 2:
        # sklearn's own message for this case does not say what to do.
        raise ValueError(
            f"X has {ndim} dimensions (shape {np.shape(X)}), but "
            f"{type(estimator).__name__} expects a 2-D array of shape "
            "(n_samples, n_features). Flatten images first with "
            "skmlp.ImageVectorizer, e.g. "
            "make_pipeline(ImageVectorizer(), ScratchMLPClassifier())."
        )
    try:
        return validate_data(estimator, X, y, **kwargs)
    except ValueError as exc:
        remedy = _remedy(X, y)
        if remedy is None:
            raise
        raise ValueError(f"{str(exc).rstrip('.')}. {remedy}") from exc


def _csr(X):
    """A sparse ``X`` as CSR (batches and predict chunks are rows), else ``X``."""
    return X.tocsr() if sparse.issparse(X) else X


def _remedy(X, y):
    """The remedy for a failed validation of ``X``, ``y``, read from the data.

    The conditions are tested on the data, in the order in which
    ``validate_data`` checks them, never on the wording of its message.
    """
    values = X.data if sparse.issparse(X) else _as_array(X)
    if values is None or (values.ndim != 2 and not sparse.issparse(X)):
        return None  # ragged, or of a shape whose own message says enough
    if values.dtype.kind == "c":
        return None  # complex: scikit-learn's message says it is not supported
    numbers = _as_float(values)
    if numbers is None:
        return _NOT_NUMERIC
    if np.isinf(numbers).any():
        return _INFINITE
    labels = None if isinstance(y, str) else _as_float(_as_array(y))
    if labels is not None and np.isnan(labels).any():
        return _MISSING_LABEL
    return None


def _as_array(a):
    try:
        return np.asarray(a)
    except (TypeError, ValueError):
        return None


def _as_float(a):
    """``a`` as float64, or None when its values are no real numbers."""
    if a is None or a.dtype.kind == "c":
        return None
    try:
        return a.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        return None


class ScratchMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier written from scratch in NumPy.

    The hidden layers use ``activation``; the output is one sigmoid unit for two
    classes and a softmax over the classes for three or more.  Training runs
    ``epochs`` passes of (shuffled) mini-batches; the cost of a batch is a
    **sum** over its samples, as in the course notebook this estimator grew
    from, so a learning rate ``eta`` keeps the notebook's meaning for
    ``solver='sgd'``.

    Parameters
    ----------
    hidden_layers : tuple of int, default=(500, 250)
        Number of units in each hidden layer.
    activation : {'relu', 'sigmoid', 'tanh'}, default='relu'
        Activation of the hidden layers.
    loss : {'squared_error', 'log_loss'}, default='squared_error'
        'squared_error' is the notebook's ``C = 1/2 * sum (y_hat - y)^2`` over
        the one-hot targets; 'log_loss' is the cross-entropy.
    solver : {'adam', 'sgd'}, default='adam'
        'sgd' is the notebook's update ``W <- W - eta * dC/dW`` (plus
        ``momentum`` if set); 'adam' is Adam with step size ``eta``.  A
        warm-start ``fit`` or a ``partial_fit`` after ``set_params(solver=...)``
        starts the new solver's state afresh.
    eta : float, default=0.001
        Learning rate (step size), > 0.
    learning_rate : {'cosine', 'constant'}, default='cosine'
        Schedule of the learning rate over the epochs of a ``fit``.  'cosine'
        starts at ``eta`` and anneals it to nearly 0 by the last epoch:
        ``eta * (1 + cos(pi * e / epochs)) / 2`` in epoch ``e = 0, 1, ...``;
        the small late steps keep the last epochs from undoing what the
        earlier ones learned.  'constant' keeps ``eta`` throughout, as the
        notebook does.  Each ``fit`` with ``warm_start`` starts the schedule
        anew; ``partial_fit`` always uses ``eta``.
    batch_size : int, default=128
        Samples per mini-batch; the last batch of an epoch may be smaller.
    epochs : int, default=20
        Number of passes over the training data (fewer with early stopping or
        when the training cost stops improving, see ``tol``).
    momentum : float, default=0.0
        Momentum of 'sgd', in [0, 1).  0 gives the notebook's plain update.
    alpha : float, default=0.0
        Strength of the L2 penalty ``alpha / 2 * sum ||W||^2`` added to the
        cost of every batch (biases are not penalised).
    init : {'auto', 'he', 'glorot', 'uniform'}, default='auto'
        Weight initialisation.  'uniform' is the notebook's U[-1, 1] (weights
        and biases), kept to reproduce it: with 784 inputs it saturates the
        output and training can collapse to one class.  'auto' uses He for
        ReLU hidden layers and Glorot elsewhere.
    shuffle : bool, default=True
        Whether to shuffle the samples before each epoch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified),
        stop when its accuracy has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs, and keep the weights of the best epoch.
        ``partial_fit`` refuses it, as scikit-learn's does: it has no samples
        to hold out.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, in (0, 1).
    n_iter_no_change : int or np.inf, default=10
        Training stops when more than ``n_iter_no_change`` epochs in a row
        have not improved by ``tol`` (the validation accuracy with early
        stopping, the training cost otherwise), scikit-learn's rule;
        ``np.inf`` never stops early.
    tol : float, default=1e-4
        Least improvement that counts, see ``n_iter_no_change``.
    warm_start : bool, default=False
        Continue from the weights of the previous ``fit`` instead of starting
        afresh; ``y`` must then hold the classes of that fit.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the shuffling and the validation split.  An
        int gives identical weights on every run.
    verbose : int, default=0
        ``verbose=1`` shows a progress bar over the epochs with the current
        cost.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, as given in ``y``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.
    coefs_ : list of ndarray
        ``coefs_[l]`` has shape (fan_in, fan_out): row ``i`` holds the weights
        from unit ``i`` of layer ``l``.  Prediction reads these arrays, so
        editing them changes the model.
    intercepts_ : list of ndarray
        The bias vector of each layer.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units (1 for two classes).
    out_activation_ : str
        'sigmoid' or 'softmax'.
    n_iter_ : int
        Number of epochs run by the last ``fit`` (with ``warm_start``, that
        call's epochs only, as in scikit-learn); each ``partial_fit`` adds 1.
    loss_curve_ : list of float
        The notebook's cost per epoch, over every ``fit`` (with
        ``warm_start``) and ``partial_fit``: the summed batch costs divided by
        the total sample weight (the number of samples without
        ``sample_weight``).
    weight_change_curve_ : list of float
        The notebook's weight change per epoch: the L2 norm of the change of
        each layer's weights (bias included), summed over batches and layers
        and divided by ``n_batches * n_layers``.
    best_loss_ : float or None
        Lowest value of ``loss_curve_``; None with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy per epoch with early stopping, else None.
    best_validation_score_ : float or None
        Best validation accuracy with early stopping, else None.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's multilayer perceptron.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from skmlp import ScratchMLPClassifier
    >>> X, y = load_digits(n_class=2, return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
    >>> clf = ScratchMLPClassifier(random_state=0).fit(X_train, y_train)
    >>> clf.score(X_test, y_test)
    1.0
    >>> clf.predict(X_test[:5])
    array([0, 1, 0, 0, 0])
    >>> clf.predict_proba(X_test[:2]).round(2)
    array([[1., 0.],
           [0., 1.]])
    """

    _parameter_constraints = {
        "hidden_layers": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"relu", "sigmoid", "tanh"})],
        "loss": [StrOptions({"squared_error", "log_loss"})],
        "solver": [StrOptions({"sgd", "adam"})],
        "eta": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"constant", "cosine"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"auto", "he", "glorot", "uniform"})],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "tol": [Interval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layers=(500, 250),
        *,
        activation="relu",
        loss="squared_error",
        solver="adam",
        eta=0.001,
        learning_rate="cosine",
        batch_size=128,
        epochs=20,
        momentum=0.0,
        alpha=0.0,
        init="auto",
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.loss = loss
        self.solver = solver
        self.eta = eta
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.momentum = momentum
        self.alpha = alpha
        self.init = init
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X``, ``y`` for ``epochs`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, one sample per row (flatten images first, e.g. with
            :class:`skmlp.ImageVectorizer`).  float32 data trains in float32;
            scipy sparse X (CSR, CSC) stays sparse.
        y : array-like of shape (n_samples,)
            Class labels, any hashable type (ints, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the cost.  Only their ratios
            count: they are scaled to mean 1 over the training samples (those
            left for training with ``early_stopping``), so that ``eta`` means
            what it means without weights.

        Returns
        -------
        self : ScratchMLPClassifier
            The fitted estimator.
        """
        reset = not (self.warm_start and hasattr(self, "classes_"))
        return self._fit(X, y, sample_weight, reset=reset, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Run one epoch over ``X``, ``y``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes that ``y`` can hold, at least 2.  Required on the
            first call, ignored afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the cost, scaled to mean 1
            over this call's samples.

        Returns
        -------
        self : ScratchMLPClassifier
            The updated estimator.
        """
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: it trains on "
                "the samples it is given, with none to hold out. Set "
                "early_stopping=False, or call fit."
            )
        if classes is not None and len(np.unique(classes)) < 2:
            raise ValueError(
                "classes must list every class that y can hold, at least 2; got "
                f"classes={classes!r}. Pass e.g. classes=np.unique(y_all) on the "
                "first call."
            )
        first_call = _check_partial_fit_first_call(self, classes)
        return self._fit(X, y, sample_weight, reset=first_call, incremental=True)

    def _fit(self, X, y, sample_weight, *, reset, incremental):
        hidden_layers = self._validated_hidden_layers()
        X, y = _validate(
            self, X, y, reset=reset, dtype=(np.float64, np.float32), order="C",
            accept_sparse=_ACCEPT_SPARSE,
        )
        X = _csr(X)
        check_classification_targets(y)
        if reset and not incremental:
            self.classes_ = unique_labels(y)
        elif not incremental:
            self._check_warm_start_classes(y)
        if len(self.classes_) < 2:
            raise ValueError(
                "ScratchMLPClassifier needs samples of at least 2 classes in y; "
                f"got only one class: {self.classes_[0]!r}."
            )
        y_index = self._encode(y)
        sample_weight = self._validated_sample_weight(sample_weight, X)

        if reset:
            self._initialize(hidden_layers, X.dtype)
        else:
            self._check_architecture(hidden_layers)
            # float32 data continues in float32, float64 in float64.
            self.coefs_ = [W.astype(X.dtype, copy=False) for W in self.coefs_]
            self.intercepts_ = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
        if reset or not self._optimizer_state_fits_solver():
            self._optimizer_state = _network.init_optimizer(
                self.solver, self.coefs_ + self.intercepts_
            )

        targets = self._targets(y_index, X.dtype)
        early_stopping = self.early_stopping and not incremental
        if early_stopping:
            X, X_val, targets, _, y_index, y_val, sample_weight, sw_val = (
                self._validation_split(X, targets, y_index, sample_weight)
            )
        sample_weight = _mean_one(sample_weight)
        epochs = 1 if incremental else self.epochs
        if not hasattr(self, "_epochs_done"):  # saved before it was recorded
            self._epochs_done = self.n_iter_
        if not incremental:
            self.n_iter_ = 0  # the epochs of this fit, as in scikit-learn
        self._train(X, targets, sample_weight, epochs, early_stopping,
                    (X_val, y_val, sw_val) if early_stopping else None)
        if not incremental:
            self._warn_if_collapsed(X, y_index)
        return self

    def _check_warm_start_classes(self, y):
        classes = unique_labels(y)
        if set(classes) != set(self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {self.classes_}, `y` "
                f"has {classes}. Set warm_start=False to train a new network on "
                "these classes."
            )

    def _validated_hidden_layers(self):
        layers = np.atleast_1d(np.asarray(self.hidden_layers, dtype=object))
        bad = [
            h for h in layers.ravel()
            if isinstance(h, bool | np.bool_) or not isinstance(h, Integral) or h < 1
        ]
        if layers.size == 0 or layers.ndim > 1 or bad:
            raise ValueError(
                "hidden_layers must be a non-empty tuple of positive integers, "
                f"such as (500, 250); got {self.hidden_layers!r}."
            )
        return tuple(int(h) for h in layers.ravel())

    def _validated_sample_weight(self, sample_weight, X):
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        # Unit weights are the unweighted problem exactly; skip the extra work.
        return None if np.all(sample_weight == 1) else sample_weight

    def _encode(self, y):
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not seen before: {np.unique(y[unknown])!r}; "
                f"the classes are {self.classes_!r}. Pass every class to the "
                "first partial_fit call with classes=..."
            )
        return index

    def _targets(self, y_index, dtype):
        if len(self.classes_) == 2:
            return y_index.astype(dtype).reshape(-1, 1)
        targets = np.zeros((len(y_index), len(self.classes_)), dtype=dtype)
        targets[np.arange(len(y_index)), y_index] = 1
        return targets

    def _initialize(self, hidden_layers, dtype):
        n_classes = len(self.classes_)
        self.n_outputs_ = 1 if n_classes == 2 else n_classes
        self.out_activation_ = "sigmoid" if n_classes == 2 else "softmax"
        layer_sizes = [self.n_features_in_, *hidden_layers, self.n_outputs_]
        self.n_layers_ = len(layer_sizes)
        # One int seeds everything, so the fitted state holds only plain values;
        # epoch e shuffles with the seed (seed, e), and partial_fit goes on.
        self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        rng = np.random.default_rng(self._seed)
        self.coefs_, self.intercepts_ = _network.init_params(
            layer_sizes, self.init, self.activation, rng, dtype
        )
        self.n_iter_ = 0
        self._epochs_done = 0  # over every fit and partial_fit: seeds the shuffling
        self.loss_curve_ = []
        self.weight_change_curve_ = []
        self.best_loss_ = np.inf
        self._no_improvement_count = 0
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _optimizer_state_fits_solver(self):
        """Whether the stored optimiser state is one of ``self.solver``.

        After ``set_params(solver=...)`` it belongs to the other solver, and
        training continues from a fresh state of the new one.
        """
        state = getattr(self, "_optimizer_state", None)
        fresh = _network.init_optimizer(self.solver, [])
        return state is not None and state.keys() == fresh.keys()

    def _check_architecture(self, hidden_layers):
        fitted = tuple(W.shape[1] for W in self.coefs_[:-1])
        if fitted != hidden_layers:
            raise ValueError(
                f"hidden_layers={hidden_layers} differs from the fitted network's "
                f"{fitted}; set warm_start=False to train a new network."
            )

    def _validation_split(self, X, targets, y_index, sample_weight):
        arrays = [X, targets, y_index]
        if sample_weight is not None:
            arrays.append(sample_weight)
        advice = (
            f"early_stopping=True holds out validation_fraction="
            f"{self.validation_fraction} of the samples, stratified by class"
        )
        try:
            split = train_test_split(
                *arrays,
                test_size=self.validation_fraction,
                stratify=y_index,
                random_state=self._seed,
            )
        except ValueError as exc:
            raise ValueError(
                f"{advice}, which these data do not allow: {str(exc).rstrip('.')}. "
                "Use more samples per class, another validation_fraction or "
                "early_stopping=False."
            ) from exc
        if sample_weight is None:
            split += [None, None]
        elif not (split[-2].sum() > 0 and split[-1].sum() > 0):
            raise ValueError(
                f"{advice}; the sample_weight of the training or of the "
                "validation part sums to 0. Use fewer zero weights, another "
                "validation_fraction or early_stopping=False."
            )
        return split

    def _train(self, X, targets, sample_weight, epochs, early_stopping, validation):
        layer_sizes = [self.n_features_in_, *(W.shape[1] for W in self.coefs_)]
        batch_size = min(self.batch_size, X.shape[0])
        workspace = _network.Workspace(layer_sizes, batch_size, X.dtype,
                                       sparse_input=sparse.issparse(X))
        total_weight = X.shape[0] if sample_weight is None else sample_weight.sum()
        best_params = None
        # Continuing (warm_start, partial_fit) a fit made in the other mode.
        if early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        if not early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        # Counted by hand, so a stop counts the epoch it ended with.
        progress = tqdm(
            total=epochs, desc="Training", unit="epoch", disable=not self.verbose
        )
        for epoch in range(epochs):
            order = None
            if self.shuffle:
                rng = np.random.default_rng([self._seed, self._epochs_done])
                order = rng.permutation(X.shape[0])
            # Weights and optimiser state, so that a later fit resumes exactly.
            last_good = self._snapshot()
            try:
                with np.errstate(all="ignore"):
                    cost, change, n_batches = _network.train_epoch(
                        X, targets, sample_weight, self.coefs_, self.intercepts_,
                        self._optimizer_state, solver=self.solver,
                        eta=self._epoch_eta(epoch, epochs),
                        momentum=self.momentum, alpha=self.alpha,
                        activation=self.activation, loss=self.loss,
                        out_activation=self.out_activation_, batch_size=batch_size,
                        order=order, workspace=workspace,
                    )
            except KeyboardInterrupt:
                # Roll back, warn, and let the interruption stop the caller
                # too (a grid search, a loop over chunks): a model cut short
                # must not be scored as if it had finished.
                self._rollback(last_good)
                progress.close()
                warnings.warn(
                    f"Training interrupted after {self.n_iter_} completed epoch(s); "
                    "the model keeps the weights of the last completed epoch and "
                    "the KeyboardInterrupt is raised again: catch it to go on "
                    "using the model.",
                    TrainingInterrupted,
                    stacklevel=4,
                )
                raise
            if not np.isfinite(cost) or not all(
                np.isfinite(p).all() for p in self.coefs_ + self.intercepts_
            ):
                self._rollback(last_good)
                raise ValueError(
                    f"Training diverged in epoch {self.n_iter_ + 1}: the cost or the "
                    f"weights became infinite or NaN with eta={self.eta}. Use a "
                    "smaller eta (the cost is a sum over the batch, so a larger "
                    "batch_size needs a smaller eta), or solver='adam'; and scale "
                    "the features (e.g. with StandardScaler or ImageVectorizer)."
                )
            self.n_iter_ += 1
            self._epochs_done += 1
            self.loss_curve_.append(cost / total_weight)
            self.weight_change_curve_.append(change / (n_batches * len(self.coefs_)))
            progress.set_postfix(cost=f"{self.loss_curve_[-1]:.4g}", refresh=False)
            progress.update()

            if early_stopping:
                X_val, y_val, sw_val = validation
                score = self._accuracy(X_val, y_val, sw_val)
                self.validation_scores_.append(score)
                improved = score >= self.best_validation_score_ + self.tol
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_params = [p.copy() for p in self.coefs_ + self.intercepts_]
            else:
                improved = self.loss_curve_[-1] <= self.best_loss_ - self.tol
                self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            self._no_improvement_count = (
                0 if improved else self._no_improvement_count + 1
            )
            if self._no_improvement_count > self.n_iter_no_change:
                break
        progress.close()
        if early_stopping:
            self.best_loss_ = None
            if best_params is not None:
                self._restore(best_params)

    def _epoch_eta(self, epoch, epochs):
        """The learning rate of epoch ``epoch`` (from 0) of ``epochs``."""
        if self.learning_rate == "constant":
            return self.eta
        return self.eta * (1 + math.cos(math.pi * epoch / epochs)) / 2

    def _snapshot(self):
        params = [p.copy() for p in self.coefs_ + self.intercepts_]
        return params, copy.deepcopy(self._optimizer_state)

    def _rollback(self, snapshot):
        params, self._optimizer_state = snapshot
        self._restore(params)

    def _restore(self, params):
        for dst, src in zip(self.coefs_ + self.intercepts_, params):
            dst[...] = src

    def _accuracy(self, X, y_index, sample_weight):
        correct = self._predict_index(X) == y_index
        return float(np.average(correct, weights=sample_weight))

    def _warn_if_collapsed(self, X, y_index):
        """Warn when the network predicts one class for all of several.

        The warning names the likely cause, as measured on the network:
        saturated output units (sigmoid near 0 or 1, softmax near one-hot),
        under which the squared-error gradient vanishes -- the notebook's
        55.99 %; a hidden layer whose ReLU units all output 0, through which
        no gradient passes; otherwise, a network that has not learned yet.

        The check looks at the first 2000 samples and the first of each
        class; it first runs only a few of them, the first 64 and the first
        of each class: a network that predicts two classes there has not
        collapsed, and most fits end here.
        """
        _, first_of_class = np.unique(y_index, return_index=True)
        probe = np.union1d(np.arange(min(len(y_index), 64)), first_of_class)
        if len(np.unique(self._index_of(self._forward(X[probe])))) > 1:
            return
        rows = np.union1d(np.arange(min(len(y_index), 2000)), first_of_class)
        X = X[rows]
        proba = self._forward(X)
        predicted = np.unique(self._index_of(proba))
        if len(predicted) > 1:
            return
        top = proba.max(axis=1) if proba.shape[1] > 1 else np.maximum(proba, 1 - proba)
        saturated = np.mean(top > 1 - 1e-6) > 0.9
        dead = self._dead_hidden_layer(X)
        batch_note = (
            f"eta={self.eta} is too large (the cost is a sum over the batch, "
            "so a larger batch_size needs a smaller eta)"
        )
        if dead is not None:
            cause = (
                f"every unit of hidden layer {dead} outputs 0 (ReLU) for every "
                "sample, so no gradient reaches the layers below it: a step was "
                f"too large. This usually means {batch_note}; try a smaller eta "
                "or solver='adam'."
            )
        elif saturated:
            vanished = (
                ", so the gradient vanished" if self.loss == "squared_error" else ""
            )
            cause = (
                f"its output units are saturated{vanished}. This usually means "
                f"{batch_note} or init='uniform' or unscaled features saturated "
                "the network; try a smaller eta, init='auto' or solver='adam', "
                "and scale the features (e.g. with StandardScaler or "
                "ImageVectorizer)."
            )
        else:
            cause = (
                "its outputs are not saturated and its units are alive: it has "
                f"not learned yet. Train for more epochs than {self.n_iter_} or "
                f"try another eta than {self.eta}."
            )
        warnings.warn(
            "ScratchMLPClassifier collapsed to predicting the single class "
            f"{self.classes_[predicted[0]]} for every training sample: {cause}",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _dead_hidden_layer(self, X):
        """The number (from 1) of a ReLU hidden layer that outputs 0 for every
        row of ``X``, or None."""
        if self.activation != "relu":
            return None
        with np.errstate(all="ignore"):  # only the zeros count here
            outputs = _network.feedforward(
                X, self.coefs_, self.intercepts_, self.activation,
                self.out_activation_,
            )
        for layer, Y in enumerate(outputs[:-1], start=1):
            if not Y.any():
                return layer
        return None

    # -------------------------------------------------------------- predict

    def _forward(self, X):
        """Output probabilities of the network, computed in chunks of rows."""
        n = X.shape[0]
        dtype = np.result_type(X.dtype, self.coefs_[0].dtype)
        proba = np.empty((n, self.coefs_[-1].shape[1]), dtype=dtype)
        # Overflow is handled below, row by row: no RuntimeWarnings.
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, n, _PREDICT_CHUNK):
                stop = min(start + _PREDICT_CHUNK, n)
                proba[start:stop] = _network.feedforward_output(
                    X[start:stop], self.coefs_, self.intercepts_, self.activation,
                    self.out_activation_,
                )
            # Inputs of huge magnitude can overflow a layer (inf - inf = NaN).
            # float32 rows get a second try in float64, which has room to spare.
            bad = ~np.isfinite(proba).all(axis=1)
            if bad.any() and dtype != np.float64:
                proba[bad] = _network.feedforward(
                    X[bad].astype(np.float64),
                    [W.astype(np.float64) for W in self.coefs_],
                    [b.astype(np.float64) for b in self.intercepts_],
                    self.activation, self.out_activation_,
                )[-1]
                bad = ~np.isfinite(proba).all(axis=1)
        if bad.any():
            largest_weight = max(float(np.abs(W).max()) for W in self.coefs_)
            raise ValueError(
                f"The network's activations overflowed on {bad.sum()} sample(s) "
                f"of X (largest |x| {np.abs(X[bad]).max():.3g}, largest |weight| "
                f"{largest_weight:.3g}). Scale the features first, e.g. with "
                "sklearn.preprocessing.StandardScaler; huge weights mean that "
                f"training nearly diverged: use a smaller eta than {self.eta}."
            )
        return proba

    def _validated_X(self, X):
        check_is_fitted(self)
        return _csr(_validate(self, X, reset=False, dtype=(np.float64, np.float32),
                              accept_sparse=_ACCEPT_SPARSE))

    def _predict_index(self, X):
        return self._index_of(self._forward(X))

    @staticmethod
    def _index_of(proba):
        """The predicted class index of each row of network outputs."""
        if proba.shape[1] == 1:
            return (proba[:, 0] > 0.5).astype(np.intp)
        return proba.argmax(axis=1)

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted labels, taken from ``classes_``.
        """
        index = self._predict_index(self._validated_X(X))
        return self.classes_[index]

    def predict_proba(self, X):
        """Probability of each class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``; each row sums to 1.  With two classes
            the columns are ``[1 - p, p]`` for the sigmoid output ``p``.
        """
        proba = self._forward(self._validated_X(X))
        if proba.shape[1] == 1:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log`` of the class probabilities (``-inf`` where one is 0).
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __getstate__(self):
        # The skmlp version lets a later version warn about an older model.
        return persistence.stamp_version(super().__getstate__())

    def __setstate__(self, state):
        # A state that cannot work fails here, not later with AttributeError.
        super().__setstate__(persistence.checked_classifier_state(self, state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.input_tags.sparse = True
        return tags
