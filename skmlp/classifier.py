"""ScratchMLPClassifier: the scikit-learn face of the from-scratch network."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.utils._param_validation import Options, StrOptions
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
)
from sklearn.utils.validation import check_is_fitted

from . import _callbacks, _classifier_state, _predicting, _stamp, _training, _validation
from ._concurrency import one_fit_at_a_time
from ._validation import NumberInterval
from .nn import reference

# Rows per chunk in predict: memory for one chunk's activations, whatever len(X).
_PREDICT_CHUNK = 4096


class ScratchMLPClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier written from scratch in NumPy.

    The hidden layers use ``activation``; the output is one sigmoid unit for two
    classes and a softmax over the classes for three or more.  Training runs
    ``epochs`` passes of (shuffled) mini-batches; the cost of a batch is a
    **sum** over its samples, as in the course notebook this estimator grew
    from, so a learning rate ``eta`` keeps the notebook's meaning for
    ``solver='sgd'``.

    scikit-learn's callbacks (``sklearn.callback``) are set with
    :meth:`set_callbacks`, or propagated from a ``Pipeline`` or
    ``GridSearchCV``: a fit is a task with one subtask per epoch, so that
    ``ProgressBar()`` counts epochs and ``ScoringMonitor`` scores each; a
    callback that asks to stop ends training after that epoch.

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
    epochs : int, default=15
        Number of passes over the training data (fewer with early stopping or
        when the training cost stops improving, see ``tol``).
    momentum : float, default=0.0
        Momentum of 'sgd', in [0, 1).  0 gives the notebook's plain update.
    alpha : float, default=0.0
        Strength of the L2 penalty ``alpha / 2 * sum ||W||^2`` added to the
        cost of every batch (biases are not penalised).
    class_weight : dict, 'balanced' or None, default=None
        Weight of each class in the cost, as in scikit-learn's linear models:
        a dict ``{label: weight}`` (classes not in it weigh 1), or 'balanced'
        for ``n_samples / (n_classes * np.bincount(y))``.  The weights
        multiply ``sample_weight``: fitting with them is fitting with
        ``sample_weight * compute_sample_weight(class_weight, y)``.  With
        early stopping they are computed on and applied to the training part
        only (the validation part is scored by ``sample_weight`` alone).
        ``partial_fit`` takes a dict and refuses 'balanced', as
        ``SGDClassifier`` does.
    dropout : float or tuple of float, default=0.0
        Share of each hidden layer's units dropped in training, in [0, 1): one
        value for every hidden layer, or a tuple with one per hidden layer.
        Inverted dropout: in each batch every unit is dropped with that
        probability and the kept ones are scaled by ``1 / (1 - p)``, so that
        prediction uses all units unscaled.  The masks are seeded by
        ``random_state``; 0 trains without dropout.  ``loss_curve_`` is the
        cost with the units dropped.
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
    engine : {'fast', 'reference'}, default='fast'
        The implementation that trains and predicts.  'reference' is
        :mod:`skmlp.nn.reference`, the lecture's formulas written plainly, to
        read and to step through in a debugger; 'fast' is :mod:`skmlp.nn.fast`,
        which gives the same numbers within rounding, faster.
        Both share the optimiser's state, so a warm-start ``fit`` or a
        ``partial_fit`` may switch engines; prediction uses the engine set
        when it is called.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, as given in ``y``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
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
    validation_loss_curve_ : list of float or None
        With early stopping, the cost of the validation part per epoch, in the
        units of ``loss_curve_`` (its summed cost, with the current weights
        and no dropout, divided by its total sample weight), beside
        ``validation_scores_``; else None.
    best_validation_score_ : float or None
        Best validation accuracy with early stopping, else None.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The multilayer perceptron of scikit-learn.

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
    array([[1.  , 0.  ],
           [0.01, 0.99]])
    """

    _parameter_constraints = {
        "hidden_layers": [
            "array-like", NumberInterval(Integral, 1, None, closed="left")
        ],
        "activation": [StrOptions({"relu", "sigmoid", "tanh"})],
        "loss": [StrOptions({"squared_error", "log_loss"})],
        "solver": [StrOptions({"sgd", "adam"})],
        "eta": [NumberInterval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions({"constant", "cosine"})],
        "batch_size": [NumberInterval(Integral, 1, None, closed="left")],
        "epochs": [NumberInterval(Integral, 1, None, closed="left")],
        "momentum": [NumberInterval(Real, 0, 1, closed="left")],
        "alpha": [NumberInterval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "dropout": [NumberInterval(Real, 0, 1, closed="left"), "array-like"],
        "init": [StrOptions({"auto", "he", "glorot", "uniform"})],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [NumberInterval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [
            NumberInterval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "tol": [NumberInterval(Real, 0, None, closed="left")],
        "warm_start": ["boolean"],
        # scikit-learn's "random_state" but for seed=True.
        "random_state": [
            NumberInterval(Integral, 0, 2**32 - 1, closed="both"),
            np.random.RandomState,
            None,
        ],
        "verbose": ["verbose"],
        "engine": [StrOptions({"fast", "reference"})],
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
        epochs=15,
        momentum=0.0,
        alpha=0.0,
        class_weight=None,
        dropout=0.0,
        init="auto",
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=0,
        engine="fast",
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
        self.class_weight = class_weight
        self.dropout = dropout
        self.init = init
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.engine = engine

    # ------------------------------------------------------------------ fit

    @one_fit_at_a_time
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
            Non-negative weight of each sample in the cost, multiplied by
            ``class_weight``'s.  Only their ratios count: they are scaled to
            mean 1 over the training samples (those left for training with
            ``early_stopping``), so that ``eta`` means what it means without
            weights.

        Returns
        -------
        self : ScratchMLPClassifier
            The fitted estimator.
        """
        reset = not (self.warm_start and hasattr(self, "classes_"))
        return self._fit(X, y, sample_weight, reset=reset, incremental=False)

    @one_fit_at_a_time
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
            Non-negative weight of each sample in the cost, multiplied by
            ``class_weight``'s and scaled to mean 1 over this call's samples.

        Returns
        -------
        self : ScratchMLPClassifier
            The updated estimator.
        """
        _validation.check_partial_fit(y, classes, self.early_stopping,
                                      self.class_weight)
        first_call = _check_partial_fit_first_call(self, classes)
        return self._fit(X, y, sample_weight, reset=first_call, incremental=True)

    def _fit(self, X, y, sample_weight, *, reset, incremental):
        hidden_layers, dropout, X, y = _validation.fit_input(
            self, X, y, reset=reset, incremental=incremental)
        y_index = _validation.encode(self.classes_, y)
        X_all, sample_weight_in = X, sample_weight  # what callbacks score on
        early_stopping = self.early_stopping and not incremental
        # With early stopping, the class weights of the training part only.
        row_weights = None if early_stopping else _validation.class_weights_of_rows(
            self.class_weight, self.classes_, y_index)
        sample_weight = _validation.checked_sample_weight(sample_weight, X,
                                                          row_weights)

        if reset:
            _training.initialize(self, hidden_layers, X.dtype)
        else:
            _validation.check_architecture(self.coefs_, hidden_layers)
            # float32 data continues in float32, float64 in float64.
            self.coefs_ = [W.astype(X.dtype, copy=False) for W in self.coefs_]
            self.intercepts_ = [b.astype(X.dtype, copy=False) for b in self.intercepts_]
        if reset or not _training.optimizer_state_fits_solver(self):
            self._optimizer_state = reference.init_optimizer(
                self.solver, self.coefs_ + self.intercepts_
            )

        targets = _validation.targets(len(self.classes_), y_index, X.dtype)
        if early_stopping:
            X, X_val, targets, T_val, y_index, y_val, sample_weight, sw_val = (
                _training.validation_split(self, X, targets, y_index, sample_weight)
            )
            sample_weight = _validation.with_class_weights(
                sample_weight, _validation.class_weights_of_rows(
                    self.class_weight, self.classes_, y_index), X.dtype)
        sample_weight = _validation.mean_one(sample_weight)
        epochs = 1 if incremental else self.epochs
        if not hasattr(self, "_epochs_done"):  # saved before it was recorded
            self._epochs_done = self.n_iter_
        if not incremental:
            self.n_iter_ = 0  # the epochs of this fit, as in scikit-learn
        callbacks = _callbacks.FitCallbacks(self, X_all, y, sample_weight_in, epochs)
        _training.train(self, X, targets, sample_weight, epochs, early_stopping,
                        (X_val, y_val, sw_val, T_val) if early_stopping else None,
                        dropout=dropout, callbacks=callbacks)
        callbacks.end()
        if not incremental:
            self._warn_if_collapsed(X, y_index)
        return self

    def _network(self, layer_sizes=None):
        """The network's spec for the engines (by default the fitted sizes)."""
        if layer_sizes is None:
            layer_sizes = [self.n_features_in_, *(W.shape[1] for W in self.coefs_)]
        return reference.Network(tuple(layer_sizes), self.activation,
                                 self.out_activation_, self.loss, float(self.alpha))

    def _warn_if_collapsed(self, X, y_index):
        """Warn when the network predicts one class for all of several, naming
        the cause measured on it (see ``_training.warn_if_collapsed``)."""
        _training.warn_if_collapsed(self, X, y_index)

    def _forward(self, X):
        """Output probabilities of the network, computed in chunks of rows."""
        return _predicting.forward(self, X, _PREDICT_CHUNK)

    def _validated_X(self, X):
        check_is_fitted(self)
        X = _validation.validate(self, X, reset=False, dtype=(np.float64, np.float32),
                                 accept_sparse=_validation.ACCEPT_SPARSE)
        return _validation.as_csr(X)

    def _predict_index(self, X):
        return _training.class_index(self._forward(X))

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

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels of ``X``, of one type (as in ``fit``).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample.

        Returns
        -------
        score : float
            The (weighted) share of samples predicted right.
        """
        _validation.check_label_types(y)
        return super().score(X, y, sample_weight=sample_weight)

    def __getstate__(self):
        # The version lets a later skmlp warn about an older model; the
        # checksum refuses a file that was damaged after saving.
        return _stamp.stamp_state(super().__getstate__())

    def __setstate__(self, state):
        # A state that cannot work fails here, not later with AttributeError.
        state, saved_version = _stamp.read_stamped_state(
            type(self).__name__, state
        )
        # Parameters and attributes added after a model was saved.
        _classifier_state.add_missing(state)
        _classifier_state.check_state(type(self), state, saved_version)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.input_tags.sparse = True
        return tags
