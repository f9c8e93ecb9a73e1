"""A per-layer training monitor on scikit-learn's callbacks (``sklearn.callback``).

:class:`LayerMonitor` watches every layer of a :class:`ScratchMLPClassifier`
while it trains, as skorch's ``SkorchDoctor`` does: after each epoch, the
norm of each layer's weights, of the cost's gradient with respect to them,
the size of the epoch's update relative to the weights, and the share of
ReLU units that output 0 for every sample.  The classifier's fit is one task
with one subtask per epoch (see ``skmlp._callbacks``); the monitor reads the
weights at the beginning and at the end of each epoch's task.

The gradient and the dead units are measured on a *probe batch*: a fixed
random sample of the training data, drawn once per fit, through the
reference engine (``skmlp.nn.reference``), so that the measurement follows the
lecture's formulas and costs the same whatever engine trains.
"""

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.callback._callback_context import get_context_path
from sklearn.callback._transport import can_reuse_listener, open_listener, send
from sklearn.utils._optional_dependencies import check_pandas_support
from sklearn.utils._param_validation import Interval, validate_params

from . import _validation
from .classifier import ScratchMLPClassifier
from .nn import reference

__all__ = ["LayerHistory", "LayerMonitor"]

# The per-epoch records, for the numpydoc of both classes.
_FIELDS = ("weight_norm", "grad_norm", "update_ratio", "dead_share")


@dataclass
class LayerHistory:
    """What :class:`LayerMonitor` recorded during one fit of one classifier.

    Parameters
    ----------
    task_path : tuple of (str, str, int)
        ``(estimator_name, task_name, task_id)`` of each task from the
        outermost estimator's fit down to the classifier's fit: in a
        ``GridSearchCV``, it tells which candidate and which split this fit
        was (e.g. ``("GridSearchCV", "fit", 0), ...``); for a classifier
        fitted on its own, ``(("ScratchMLPClassifier", "fit", 0),)``.
    params : dict
        The classifier's ``get_params(deep=False)`` at the start of the fit:
        in a grid search, the candidate's parameters.
    layer_sizes : tuple of int
        The network's layer sizes, input first.
    epochs : list of dict
        One dict per completed epoch, in order (see
        :attr:`LayerMonitor.history_` for its keys).
    """

    task_path: tuple
    params: dict
    layer_sizes: tuple
    epochs: list = field(default_factory=list)


class LayerMonitor:
    """Record each layer's weights, gradients, updates and dead units per epoch.

    A scikit-learn callback for :class:`~skmlp.ScratchMLPClassifier`: set it
    with ``clf.set_callbacks(LayerMonitor())``.  It is auto-propagated, as
    scikit-learn's ``ProgressBar`` is: set on a ``Pipeline`` or a
    ``GridSearchCV`` (on the outermost estimator, not on the classifier
    inside it), it reaches every classifier those fit.  Other estimators'
    tasks are ignored.

    Parameters
    ----------
    probe_size : int, default=256
        Number of training samples in the probe batch, on which the gradient
        norms and the dead units are measured (all of them if the training
        data have fewer).  The probe is drawn once per fit, so that every
        epoch is measured on the same samples.
    random_state : int or None, default=0
        Seeds the draw of the probe batch; None draws another one each fit.
    max_propagation_depth : int or None, default=None
        How many levels of nested estimators the monitor is propagated to
        from the estimator it is set on; None reaches every level.

    Attributes
    ----------
    histories_ : list of LayerHistory
        One record per fit of a classifier, in the order the fits ended: a
        grid search of 2 candidates with ``cv=3`` and ``refit=True`` leaves
        2 * 3 + 1 records, told apart by their ``task_path`` and
        ``params``.  Fits run in other processes (``n_jobs``) send their
        records back here.
    history_ : list of dict
        The epochs of the most recent fit (``histories_[-1].epochs``), one
        dict per epoch with the keys:

        - ``epoch`` : int, the epoch's number in its fit, from 1;
        - ``loss`` : float, the classifier's ``loss_curve_`` entry for it;
        - ``weight_norm`` : list of float, one per layer ``l`` (from the
          first hidden layer to the output): the Frobenius norm
          ``||W[l]||`` of ``coefs_[l]`` at the end of the epoch (the
          intercepts are not included);
        - ``grad_norm`` : list of float, one per layer: ``||dC/dW[l]||``, the
          gradient of the batch cost ``C`` (summed over the probe batch,
          unweighted, with the L2 penalty ``alpha``, without dropout) at
          the end of the epoch's weights, from
          ``skmlp.nn.reference.backprop``;
        - ``update_ratio`` : list of float, one per layer:
          ``||W_e - W_{e-1}|| / ||W_{e-1}||``, the epoch's change of the
          weights over their norm at the start of the epoch (NaN where that
          norm is 0);
        - ``dead_share`` : list of float, one per *hidden* layer (one fewer
          than the others): the share of its units that output 0 for every
          sample of the probe batch, at the end of the epoch; NaN for a
          hidden activation other than ReLU.

    Notes
    -----
    An epoch that does not complete (training interrupted, or diverged and
    rolled back) is not recorded.  Each ``partial_fit`` call is a fit of one
    epoch, and so a record of its own.
    """

    @validate_params(
        {
            "probe_size": [Interval(Integral, 1, None, closed="left")],
            "random_state": [Interval(Integral, 0, None, closed="left"), None],
            "max_propagation_depth": [Interval(Integral, 0, None, closed="left"),
                                      None],
        },
        prefer_skip_nested_validation=True,
    )
    def __init__(self, *, probe_size=256, random_state=0, max_propagation_depth=None):
        self.probe_size = probe_size
        self.random_state = random_state
        self.max_propagation_depth = max_propagation_depth
        self.histories_ = []
        # The fits under way, keyed by id(estimator): probe batch, weights at
        # the start of the epoch, and the record being filled.
        self._running = {}
        # Fits in worker processes send their finished records to the
        # process that made this monitor, as ScoringMonitor's scores do.
        self._listener_handle = open_listener(self.histories_.append, owner=self)

    # -- results

    @property
    def history_(self):
        if not self.histories_:
            raise AttributeError(
                "This LayerMonitor has recorded no fit yet: set it on a "
                "ScratchMLPClassifier (or the Pipeline or GridSearchCV around "
                "it) with set_callbacks(...) and fit."
            )
        return self.histories_[-1].epochs

    def to_frame(self):
        """Return every record as a tidy pandas DataFrame.

        One row per fit, epoch and layer.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``fit`` (the index in :attr:`histories_`), ``epoch``,
            ``layer`` (from 1, the output layer last), ``loss`` and the four
            quantities of :attr:`history_`; ``dead_share`` is NaN on the
            output layer.
        """
        pd = check_pandas_support("LayerMonitor.to_frame")
        rows = []
        for fit, record in enumerate(self.histories_):
            for entry in record.epochs:
                n_layers = len(entry["weight_norm"])
                dead = [*entry["dead_share"], np.nan]
                for layer in range(n_layers):
                    rows.append({
                        "fit": fit, "epoch": entry["epoch"], "layer": layer + 1,
                        "loss": entry["loss"],
                        **{name: (dead if name == "dead_share" else entry[name])[layer]
                           for name in _FIELDS},
                    })
        return pd.DataFrame(rows, columns=["fit", "epoch", "layer", "loss", *_FIELDS])

    # -- the callback protocol

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        if not isinstance(estimator, ScratchMLPClassifier):
            return
        if context.task_name == "epoch" and id(estimator) in self._running:
            self._running[id(estimator)]["start"] = [
                W.astype(np.float64) for W in estimator.coefs_]
        elif context.parent is None or context.source_estimator_name is not None:
            # The classifier's own fit task (the root of its task tree, or
            # the leaf of a meta-estimator's that it was merged with).
            self._running[id(estimator)] = self._begin_fit(estimator, context, X, y)

    def on_fit_task_end(self, estimator, context, *, X=None):
        state = self._running.get(id(estimator))
        if state is None:
            return
        if context.task_name == "epoch":
            # An epoch cut short ends without data: it was rolled back.
            if X is not None and "start" in state:
                state["record"].epochs.append(self._measure(estimator, state))
            state.pop("start", None)
            return
        del self._running[id(estimator)]
        send(self._listener_handle, state["record"])

    # -- measurements

    def _begin_fit(self, estimator, context, X, y):
        rng = np.random.default_rng(self.random_state)
        n_samples = X.shape[0]
        rows = np.sort(rng.choice(n_samples, size=min(self.probe_size, n_samples),
                                  replace=False))
        X_probe = X[rows]
        if sp.issparse(X_probe):
            X_probe = X_probe.toarray()
        y_index = _validation.encode(estimator.classes_, np.asarray(y)[rows])
        task_path = tuple((ctx.estimator_name, ctx.task_name, ctx.task_id)
                          for ctx in get_context_path(context))
        layer_sizes = (X.shape[1], *(W.shape[1] for W in estimator.coefs_))
        return {
            "X": X_probe,
            "T": _validation.targets(len(estimator.classes_), y_index, X_probe.dtype),
            "record": LayerHistory(task_path=task_path,
                                   params=estimator.get_params(deep=False),
                                   layer_sizes=layer_sizes),
        }

    def _measure(self, estimator, state):
        coefs, intercepts = estimator.coefs_, estimator.intercepts_
        net = estimator._network()
        X, T = state["X"], state["T"]
        with np.errstate(all="ignore"):
            _, coef_grads, _ = reference.backprop(net, coefs, intercepts, X, T)
            outputs = reference.feedforward(net, coefs, intercepts, X)
        weight_norm = [_norm(W) for W in coefs]
        update_ratio = []
        for W, W_prev in zip(coefs, state["start"]):
            prev = _norm(W_prev)
            change = _norm(W.astype(np.float64) - W_prev)
            update_ratio.append(change / prev if prev > 0 else float("nan"))
        if net.activation == "relu":
            dead_share = [float(np.mean(~Y.any(axis=0))) for Y in outputs[:-1]]
        else:
            dead_share = [float("nan")] * (len(coefs) - 1)
        return {
            "epoch": len(state["record"].epochs) + 1,
            "loss": float(estimator.loss_curve_[-1]),
            "weight_norm": weight_norm,
            "grad_norm": [_norm(G) for G in coef_grads],
            "update_ratio": update_ratio,
            "dead_share": dead_share,
        }

    # -- pickling (a grid search with n_jobs sends the monitor to workers)

    def __getstate__(self):
        return {**self.__dict__, "histories_": list(self.histories_),
                "_running": {}}

    def __setstate__(self, state):
        self.__dict__.update(state)
        if not can_reuse_listener(self._listener_handle):
            self._listener_handle = open_listener(self.histories_.append, owner=self)


def _norm(A):
    return float(np.linalg.norm(np.asarray(A, dtype=np.float64)))
