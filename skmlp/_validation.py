"""Input validation of ScratchMLPClassifier: ``X``, ``y``, sample weights and
the hidden layers, each bad input with an error that says how to fix it.

scikit-learn's ``validate_data`` does the checking; this module adds the
remedies its messages leave out, chosen by testing the data, never by
matching their wording.  Nothing here mutates what the caller passed.
"""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.utils import compute_class_weight
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_sample_weight, validate_data

# Sparse X as scikit-learn's MLPClassifier takes it; other formats are converted
# to the first by validate_data, and CSC to CSR by as_csr: batches are rows.
ACCEPT_SPARSE = ["csr", "csc"]

# Remedies added to scikit-learn's validation errors that only say what is wrong.
_NOT_NUMERIC = (
    "X must hold numbers: encode text or categorical columns first, e.g. "
    "with sklearn.preprocessing.OneHotEncoder."
)
_INFINITE = "Replace or drop the infinite values first (np.isfinite finds them)."
_MISSING_LABEL = "Drop the samples whose label is missing."


class NumberInterval(Interval):
    """scikit-learn's ``Interval`` refusing booleans: ``True`` is an int to
    Python, but ``eta=True`` or ``batch_size=True`` is a mistake, not 1."""

    def is_satisfied_by(self, val):
        return not isinstance(val, bool | np.bool_) and super().is_satisfied_by(val)

    def __str__(self):
        return f"{super().__str__()} (not a bool)"


def mean_one(sample_weight):
    """``sample_weight`` scaled to mean 1, or None when all weights are equal.

    Only the ratios of the weights count: the summed cost of a batch keeps the
    size it has without weights whatever their scale (AdaBoost's sum to 1),
    and equal weights are the unweighted problem exactly.
    """
    if sample_weight is None or np.all(sample_weight == sample_weight[0]):
        return None
    mean = sample_weight.mean(dtype=np.float64)
    return (sample_weight / mean).astype(sample_weight.dtype, copy=False)


def validate(estimator, X, y="no_validation", **kwargs):
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


def as_csr(X):
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


def checked_hidden_layers(value):
    """The ``hidden_layers`` parameter as a tuple of ints, or a clear error."""
    layers = np.atleast_1d(np.asarray(value, dtype=object))
    bad = [
        h for h in layers.ravel()
        if isinstance(h, bool | np.bool_) or not isinstance(h, Integral) or h < 1
    ]
    if layers.size == 0 or layers.ndim > 1 or bad:
        raise ValueError(
            "hidden_layers must be a non-empty tuple of positive integers, "
            f"such as (500, 250); got {value!r}."
        )
    return tuple(int(h) for h in layers.ravel())


def checked_dropout(value, n_hidden_layers):
    """The ``dropout`` parameter as one rate per hidden layer, or None for no
    dropout at all; a clear error for anything else."""
    rates = np.atleast_1d(np.asarray(value, dtype=object)).ravel()
    if np.ndim(value) == 0:
        rates = np.repeat(rates, n_hidden_layers)
    good = np.ndim(value) <= 1 and len(rates) == n_hidden_layers and all(
        isinstance(p, Real) and not isinstance(p, bool | np.bool_) and 0 <= p < 1
        for p in rates
    )
    if not good:
        raise ValueError(
            "dropout must be a float in [0, 1) or a tuple with one such value "
            f"per hidden layer ({n_hidden_layers} here), e.g. 0.2; got {value!r}."
        )
    rates = tuple(float(p) for p in rates)
    return None if not any(rates) else rates


def checked_sample_weight(sample_weight, X, row_weights=None):
    """``sample_weight`` checked against ``X``, in its dtype, or None.

    ``row_weights`` (the class weight of each row) multiply it first, in
    float64: the result is that of passing their product as sample_weight.
    """
    if row_weights is not None:
        sample_weight = row_weights if sample_weight is None else (
            _check_sample_weight(sample_weight, X, dtype=np.float64,
                                 ensure_non_negative=True) * row_weights
        )
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )
    # Unit weights are the unweighted problem exactly; skip the extra work.
    return None if np.all(sample_weight == 1) else sample_weight


def class_weights_of_rows(class_weight, classes, y_index):
    """The weight of each row's class under ``class_weight`` (None, a dict
    label -> weight, or 'balanced' on these rows), as
    ``sklearn.utils.compute_sample_weight`` gives it; None for None."""
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        bad = {label: w for label, w in class_weight.items()
               if not (isinstance(w, Real) and not isinstance(w, bool) and w >= 0)}
        if bad:
            raise ValueError(
                "class_weight must map class labels to non-negative numbers; "
                f"got {bad!r}. Use e.g. class_weight={{label: 2.0}} or "
                "class_weight='balanced'."
            )
    per_class = compute_class_weight(class_weight, classes=classes,
                                     y=classes[y_index])
    return per_class[y_index]


def with_class_weights(sample_weight, row_weights, dtype):
    """``sample_weight`` (or ones) times ``row_weights``, in ``dtype``."""
    if row_weights is None:
        return sample_weight
    if sample_weight is not None:
        row_weights = sample_weight * row_weights
    return row_weights.astype(dtype)


def _label_kind(label):
    if label is None:
        return "None"
    if isinstance(label, str):
        return "str"
    if isinstance(label, Real) and not isinstance(label, complex):
        return "number"
    return type(label).__name__


def check_label_types(y, name="y"):
    """Refuse labels of types that cannot be sorted together (None and
    strings, ints and strings), which ``classes_`` must be."""
    dtype = getattr(y, "dtype", None)
    if isinstance(y, str) or (dtype is not None and dtype != np.dtype(object)):
        return  # one dtype: sortable (or refused later with its own message)
    try:
        labels = np.asarray(y, dtype=object).ravel()
    except (TypeError, ValueError):
        return
    kinds = {}
    for label in labels:
        kinds.setdefault(_label_kind(label), label)
    if len(kinds) > 1:
        examples = ", ".join(f"{kind} ({label!r})" for kind, label in kinds.items())
        missing = (" A None label is often a missing one: drop those samples."
                   if "None" in kinds else "")
        raise ValueError(
            f"{name} mixes labels of types that cannot be sorted together: "
            f"{examples}. Convert the labels to one type first, e.g. "
            f"{name}.astype(str) or {name}.astype(int).{missing}"
        )


def check_warm_start_classes(classes, y):
    """Refuse a warm-start ``y`` whose classes are not the fitted ``classes``."""
    got = unique_labels(y)
    if set(got) != set(classes):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in "
            f"the previous call to fit. Previously got {classes}, `y` "
            f"has {got}. Set warm_start=False to train a new network on "
            "these classes."
        )


def encode(classes, y):
    """The index in ``classes`` of each label of ``y``, or a clear error."""
    index = np.searchsorted(classes, y)
    index = np.minimum(index, len(classes) - 1)
    unknown = classes[index] != y
    if np.any(unknown):
        raise ValueError(
            f"y contains labels not seen before: {np.unique(y[unknown])!r}; "
            f"the classes are {classes!r}. Pass every class to the "
            "first partial_fit call with classes=..."
        )
    return index


def targets(n_classes, y_index, dtype):
    """The network's targets: one column of 0/1 for two classes, else one-hot."""
    if n_classes == 2:
        return y_index.astype(dtype).reshape(-1, 1)
    onehot = np.zeros((len(y_index), n_classes), dtype=dtype)
    onehot[np.arange(len(y_index)), y_index] = 1
    return onehot


def fit_input(clf, X, y, *, reset, incremental):
    """The checked input of a fit or partial_fit of ``clf``.

    Returns ``(hidden_layers, dropout, X, y)``: the hidden layers and dropout
    rates as tuples, X validated (CSR if sparse) and y; sets ``classes_`` on a
    new fit and refuses a warm start on other classes, or a single class.
    """
    check_label_types(y)
    hidden_layers = checked_hidden_layers(clf.hidden_layers)
    dropout = checked_dropout(clf.dropout, len(hidden_layers))
    X, y = validate(clf, X, y, reset=reset, dtype=(np.float64, np.float32),
                    order="C", accept_sparse=ACCEPT_SPARSE)
    check_classification_targets(y)
    if reset and not incremental:
        clf.classes_ = unique_labels(y)
    elif not incremental:
        check_warm_start_classes(clf.classes_, y)
    if len(clf.classes_) < 2:
        raise ValueError(
            f"{type(clf).__name__} needs samples of at least 2 classes in y; "
            f"got only one class: {clf.classes_[0]!r}."
        )
    return hidden_layers, dropout, as_csr(X), y


def check_partial_fit(y, classes, early_stopping, class_weight=None):
    """Refuse what ``partial_fit`` cannot do, saying what to do instead."""
    check_label_types(y)
    if classes is not None:
        check_label_types(classes, name="classes")
    if isinstance(class_weight, str) and class_weight == "balanced":
        # SGDClassifier's rule: one call's samples do not tell the classes'
        # frequencies, and weights that change from call to call mislead.
        raise ValueError(
            "class_weight='balanced' is not supported by partial_fit. Compute "
            "the weights once with sklearn.utils.compute_class_weight("
            "'balanced', classes=classes, y=y) on the whole training target "
            "(or a large enough sample of it) and pass them as a dict: "
            "class_weight=dict(zip(classes, weights))."
        )
    if early_stopping:
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


def check_architecture(coefs, hidden_layers):
    """Refuse to continue a fit whose ``hidden_layers`` changed."""
    fitted = tuple(W.shape[1] for W in coefs[:-1])
    if fitted != hidden_layers:
        raise ValueError(
            f"hidden_layers={hidden_layers} differs from the fitted network's "
            f"{fitted}; set warm_start=False to train a new network."
        )
