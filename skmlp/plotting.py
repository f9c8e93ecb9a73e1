"""Figures of the course notebook: digits, training curves, pair accuracies.

Each function draws on the Axes it is given (``ax=None`` creates a figure)
and returns what it drew on, as scikit-learn's displays do; computing and
drawing stay apart, so a figure can be redrawn from stored results (e.g. the
``run.json`` or ``pairs.json`` that ``skmlp`` writes) without training again.
The confusion matrix needs nothing of ours: use
:class:`sklearn.metrics.ConfusionMatrixDisplay`.

matplotlib is imported only when a function is called, so ``import skmlp``
stays light.
"""

from itertools import combinations

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

__all__ = [
    "pair_accuracy_matrix",
    "plot_pair_accuracies",
    "plot_training_curves",
    "show_digits",
]

_N_DIGITS = 10
# Blank pixels between the tiles of a digit grid, and above each row for its
# labels.
_GAP = 2
_LABEL_GAP = 7


def _new_axes(ncols=1, figsize=None):
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, ncols, figsize=figsize, layout="constrained")
    return axes


def show_digits(images, labels=None, *, n=None, ncols=None, random_state=None,
                ax=None, cmap="gray", label_format="Label = {}"):
    """Show images in a grid, each titled with its label (the notebook's Q1).

    Parameters
    ----------
    images : array-like of shape (n_samples, h, w) or (n_samples, h * w)
        The images; flat rows must be square images (784 pixels for MNIST).
    labels : array-like of shape (n_samples,), default=None
        Label written above each image; None writes none.
    n : int, default=None
        Show ``n`` images drawn at random without replacement; None shows them
        all, in order.
    ncols : int, default=None
        Images per row of the grid; None puts up to 10 in a row.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw of the ``n`` images.  None draws a different set on
        every call, as the notebook asks.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    cmap : str or Colormap, default='gray'
        Colormap of the pixels.
    label_format : str, default='Label = {}'
        How to write a label above its image, with :meth:`str.format`.

    Returns
    -------
    ax : matplotlib Axes
        The Axes holding the grid, one image, with the labels as text.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(
                f"Flat images must be square: {images.shape[1]} pixels per row "
                "is no h x w image; pass images of shape (n_samples, h, w)."
            )
        images = images.reshape(len(images), side, side)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(
            "images must be a non-empty array of shape (n_samples, h, w); "
            f"got shape {images.shape}."
        )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),):
            raise ValueError(
                f"labels must hold one label per image ({len(images)}); "
                f"got shape {labels.shape}."
            )
    index = np.arange(len(images))
    if n is not None:
        if not 1 <= n <= len(images):
            raise ValueError(f"n must be between 1 and {len(images)}; got {n}.")
        index = check_random_state(random_state).choice(len(images), n, replace=False)

    ncols = min(len(index), _N_DIGITS) if ncols is None else ncols
    nrows = -(-len(index) // ncols)
    height, width = images.shape[1:]
    row_step = height + (_GAP if labels is None else _LABEL_GAP)
    column_step = width + _GAP
    # One mosaic in one imshow; the gaps and unused tiles are masked (blank).
    mosaic = np.ma.masked_all((nrows * row_step - row_step + height,
                               ncols * column_step - _GAP))
    for k, i in enumerate(index):
        row, column = divmod(k, ncols)
        top, left = row * row_step, column * column_step
        mosaic[top:top + height, left:left + width] = images[i]

    if ax is None:
        ax = _new_axes(figsize=(1.3 * ncols, 1.45 * nrows + 0.1))
    ax.imshow(mosaic, cmap=cmap, interpolation="nearest")
    ax.set_axis_off()
    if labels is not None:
        for k, i in enumerate(index):
            row, column = divmod(k, ncols)
            ax.text(column * column_step + width / 2, row * row_step - 1,
                    label_format.format(labels[i]), ha="center", va="bottom")
    return ax


def _fitted_classifier(clf):
    if isinstance(clf, Pipeline):
        clf = clf[-1]
    if not hasattr(clf, "loss_curve_") or not hasattr(clf, "weight_change_curve_"):
        raise ValueError(
            "plot_training_curves needs a fitted ScratchMLPClassifier (or a "
            f"Pipeline ending in one); got {type(clf).__name__} without "
            "loss_curve_ and weight_change_curve_."
        )
    return clf


def plot_training_curves(clf, axes=None, *, log=False):
    """Plot the notebook's two training curves: cost and weight change per epoch.

    Parameters
    ----------
    clf : ScratchMLPClassifier or Pipeline
        A fitted classifier, or a pipeline whose last step is one.  Its
        ``loss_curve_`` and ``weight_change_curve_`` are drawn.
    axes : sequence of two matplotlib Axes, default=None
        Where to draw the cost and the weight change; None creates a figure
        with the two side by side.
    log : bool, default=False
        Logarithmic y axes, which show the late epochs as well as the first
        ones (the notebook's plots are linear).

    Returns
    -------
    axes : ndarray of two matplotlib Axes
        The cost Axes and the weight-change Axes.
    """
    clf = _fitted_classifier(clf)
    if axes is None:
        axes = _new_axes(ncols=2, figsize=(10, 3.8))
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.shape != (2,):
        raise ValueError(f"axes must hold two Axes; got {axes.size}.")
    epochs = np.arange(1, len(clf.loss_curve_) + 1)
    ax_cost, ax_change = axes
    ax_cost.plot(epochs, clf.loss_curve_, color="tab:red", marker=".")
    ax_cost.set(xlabel="Epoch", ylabel="Cost per sample", title="Cost per epoch")
    ax_change.plot(epochs, clf.weight_change_curve_, color="tab:blue", marker=".")
    ax_change.set(xlabel="Epoch", ylabel="Weight change (L2 norm)",
                  title="Weight change per epoch")
    for ax in axes:
        if log:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.4)
        # Epochs are whole numbers.
        ax.xaxis.get_major_locator().set_params(integer=True)
    return axes


def pair_accuracy_matrix(accuracies):
    """The 10 x 10 symmetric matrix of pair accuracies, NaN where unknown.

    Parameters
    ----------
    accuracies : dict or array-like of shape (10, 10)
        ``{(d1, d2): accuracy}`` (a pair in either order, or a ``"d1-d2"``
        string), or a matrix; in a matrix only the finite off-diagonal
        entries count, and ``[d1, d2]`` is used when ``[d2, d1]`` is NaN.

    Returns
    -------
    matrix : ndarray of shape (10, 10)
        ``matrix[d1, d2] == matrix[d2, d1]`` is the accuracy of the pair;
        the diagonal and the pairs not given are NaN.
    """
    matrix = np.full((_N_DIGITS, _N_DIGITS), np.nan)
    if isinstance(accuracies, dict):
        for pair, accuracy in accuracies.items():
            d1, d2 = (map(int, pair.split("-")) if isinstance(pair, str) else pair)
            if not (0 <= d1 < _N_DIGITS and 0 <= d2 < _N_DIGITS) or d1 == d2:
                raise ValueError(f"{pair!r} is not a pair of two different digits.")
            matrix[d1, d2] = matrix[d2, d1] = accuracy
        return matrix
    given = np.asarray(accuracies, dtype=float)
    if given.shape != matrix.shape:
        raise ValueError(
            f"accuracies must be a dict or a 10 x 10 matrix; got shape {given.shape}."
        )
    for d1, d2 in combinations(range(_N_DIGITS), 2):
        value = given[d1, d2] if np.isfinite(given[d1, d2]) else given[d2, d1]
        matrix[d1, d2] = matrix[d2, d1] = value
    return matrix


def plot_pair_accuracies(accuracies, ax=None, *, percent=True, cmap="viridis",
                         colorbar=True):
    """Heatmap of the test accuracy of each pair of digits, annotated.

    Parameters
    ----------
    accuracies : dict or array-like of shape (10, 10)
        As for :func:`pair_accuracy_matrix`: ``{(d1, d2): accuracy}`` with
        accuracies in [0, 1], or a 10 x 10 matrix.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    percent : bool, default=True
        Write the cells in percent (``99.65``) rather than as fractions.
    cmap : str or Colormap, default='viridis'
        Colormap; the worst pairs get its dark end.
    colorbar : bool, default=True
        Whether to add a colorbar.

    Returns
    -------
    ax : matplotlib Axes
        The Axes of the heatmap.  Each pair appears twice, above and below
        the (empty) diagonal.
    """
    matrix = pair_accuracy_matrix(accuracies)
    scale = 100 if percent else 1
    values = np.ma.masked_invalid(matrix * scale)
    if ax is None:
        ax = _new_axes(figsize=(7.5, 6.3))
    image = ax.imshow(values, cmap=cmap, interpolation="nearest")
    if colorbar:
        ax.figure.colorbar(
            image, ax=ax, label="test accuracy" + (" (%)" if percent else "")
        )
    # Readable text on both ends of the colormap.
    low, high = (values.min(), values.max()) if values.count() else (0, 1)
    middle = (low + high) / 2
    cell = "{:.2f}" if percent else "{:.4f}"
    for d1, d2 in zip(*np.nonzero(~values.mask), strict=True):
        value = values[d1, d2]
        ax.text(d2, d1, cell.format(value), ha="center", va="center", fontsize=7,
                color="black" if value > middle else "white")
    ticks = np.arange(_N_DIGITS)
    ax.set(xticks=ticks, yticks=ticks, xlabel="digit", ylabel="digit",
           title="Test accuracy of each pair of digits")
    return ax
