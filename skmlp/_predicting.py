"""Prediction of ScratchMLPClassifier: the network's output in chunks of
rows, with a second try in float64 for float32 rows that overflow and a clear
error for those that still do."""

import numpy as np

from ._training import ENGINES
from .nn import fast


def _network_output(engine, net, coefs, intercepts, X):
    """The fast engine's lean pass of prediction, or the reference engine's
    last layer (it has no other)."""
    if engine is fast:
        return fast.feedforward_output(net, coefs, intercepts, X)
    return engine.feedforward(net, coefs, intercepts, X)[-1]


def forward(clf, X, chunk):
    """Output probabilities of the network, computed in chunks of ``chunk``
    rows."""
    n = X.shape[0]
    dtype = np.result_type(X.dtype, clf.coefs_[0].dtype)
    proba = np.empty((n, clf.coefs_[-1].shape[1]), dtype=dtype)
    engine, net = ENGINES[clf.engine], clf._network()
    # Overflow is handled below, row by row: no RuntimeWarnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            proba[start:stop] = _network_output(
                engine, net, clf.coefs_, clf.intercepts_, X[start:stop]
            )
        # Inputs of huge magnitude can overflow a layer (inf - inf = NaN).
        # float32 rows get a second try in float64, which has room to spare.
        bad = ~np.isfinite(proba).all(axis=1)
        if bad.any() and dtype != np.float64:
            proba[bad] = engine.feedforward(
                net,
                [W.astype(np.float64) for W in clf.coefs_],
                [b.astype(np.float64) for b in clf.intercepts_],
                X[bad].astype(np.float64),
            )[-1]
            bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        largest_weight = max(float(np.abs(W).max()) for W in clf.coefs_)
        raise ValueError(
            f"The network's activations overflowed on {bad.sum()} sample(s) "
            f"of X (largest |x| {np.abs(X[bad]).max():.3g}, largest |weight| "
            f"{largest_weight:.3g}). Scale the features first, e.g. with "
            "sklearn.preprocessing.StandardScaler; huge weights mean that "
            f"training nearly diverged: use a smaller eta than {clf.eta}."
        )
    return proba
