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

from ._layer_plot import plot_layer_monitor

__all__ = [
    "pair_accuracy_matrix",
    "plot_first_layer_weights",
    "plot_layer_monitor",
    "plot_pair_accuracies",
    "plot_training_curves",
    "show_digits",
    "show_misclassified",
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
    # Blank cells hold 0 under the mask, not uninitialised memory, whose huge
    # values would overflow matplotlib's colour scaling (masked_all's np.empty).
    mosaic = np.ma.masked_array(
        np.zeros((nrows * row_step - row_step + height, ncols * column_step - _GAP)),
        mask=True,
    )
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
        ``loss_curve_`` and ``weight_change_curve_`` are drawn, and with early
        stopping its ``validation_loss_curve_`` beside the training cost.
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
    ax_cost.plot(epochs, clf.loss_curve_, color="tab:red", marker=".",
                 label="training")
    validation = getattr(clf, "validation_loss_curve_", None)
    if validation:
        # With warm starts, the last len(validation) epochs had a validation part.
        ax_cost.plot(epochs[len(epochs) - len(validation):], validation,
                     color="tab:orange", marker=".", label="validation")
        ax_cost.legend()
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


# ------------------------------------------------------- inside the network


def _fitted_network(clf, caller):
    """The fitted ScratchMLPClassifier of ``clf`` (a Pipeline's last step)."""
    if isinstance(clf, Pipeline):
        clf = clf[-1]
    if not hasattr(clf, "coefs_"):
        raise ValueError(
            f"{caller} needs a fitted ScratchMLPClassifier (or a Pipeline ending "
            f"in one); got {type(clf).__name__} without coefs_."
        )
    return clf


def plot_first_layer_weights(clf, *, image_shape=(28, 28), n_units=None,
                             ncols=None, ax=None, cmap="RdBu_r", colorbar=True):
    """Each first-layer unit's incoming weights, drawn as an image.

    Column ``j`` of ``coefs_[0]`` holds the weight of every pixel on hidden
    unit ``j``: drawn in the shape of the image, it is the pattern that
    switches the unit on (positive weights) or off (negative ones), as in
    scikit-learn's ``plot_mnist_filters`` example.  All tiles share one
    colour scale, symmetric around 0, so a colour means the same weight in
    every tile.  Pixels that are 0 in every training image get no gradient:
    their weights keep their initial random values, and are drawn as they are.

    Parameters
    ----------
    clf : ScratchMLPClassifier or Pipeline
        A fitted classifier, or a pipeline whose last step is one.
    image_shape : tuple of int, default=(28, 28)
        The shape of an image; its size must be the network's number of
        inputs.
    n_units : int, default=None
        Draw the first ``n_units`` units; None draws them all.
    ncols : int, default=None
        Tiles per row; None makes a roughly square grid.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    cmap : str or Colormap, default='RdBu_r'
        A diverging colormap: red for positive weights, blue for negative.
    colorbar : bool, default=True
        Whether to add the colorbar of the shared scale.

    Returns
    -------
    ax : matplotlib Axes
        The Axes holding the grid (one image), each tile labelled with its
        unit's index.
    """
    clf = _fitted_network(clf, "plot_first_layer_weights")
    W = np.asarray(clf.coefs_[0])
    image_shape = tuple(int(s) for s in image_shape)
    if int(np.prod(image_shape)) != W.shape[0]:
        raise ValueError(
            f"The network has {W.shape[0]} inputs, which are no "
            f"{' x '.join(map(str, image_shape))} image "
            f"({int(np.prod(image_shape))} pixels); pass the image_shape of its "
            "training images, e.g. image_shape=(8, 8) for sklearn's load_digits."
        )
    n_total = W.shape[1]
    n_units = n_total if n_units is None else n_units
    if not 1 <= n_units <= n_total:
        raise ValueError(f"n_units must be between 1 and {n_total}; got {n_units}.")
    ncols = int(np.ceil(np.sqrt(n_units))) if ncols is None else ncols
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer; got {ncols}.")
    nrows = -(-n_units // ncols)
    tiles = W[:, :n_units].T.reshape(n_units, *image_shape)
    height, width = image_shape
    row_step, column_step = height + _LABEL_GAP, width + _GAP
    # Blank cells hold 0 under the mask, not uninitialised memory, whose huge
    # values would overflow matplotlib's colour scaling (masked_all's np.empty).
    mosaic = np.ma.masked_array(
        np.zeros((nrows * row_step - row_step + height, ncols * column_step - _GAP)),
        mask=True,
    )
    for k in range(n_units):
        row, column = divmod(k, ncols)
        top, left = row * row_step, column * column_step
        mosaic[top:top + height, left:left + width] = tiles[k]

    if ax is None:
        ax = _new_axes(figsize=(1.1 * ncols + 1.2, 1.25 * nrows + 0.3))
    limit = float(np.abs(tiles).max()) or 1.0  # all-zero weights: any scale
    image = ax.imshow(mosaic, cmap=cmap, vmin=-limit, vmax=limit,
                      interpolation="nearest")
    ax.set_axis_off()
    for k in range(n_units):
        row, column = divmod(k, ncols)
        ax.text(column * column_step + width / 2, row * row_step - 1, str(k),
                ha="center", va="bottom", fontsize=8)
    ax.set_title(f"Incoming weights of {n_units} of the {n_total} first-layer "
                 "units", pad=14)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="weight", shrink=0.8)
    return ax


def show_misclassified(clf, X, y, *, n=20, images=None, image_shape=None,
                       ncols=None, ax=None, cmap="gray"):
    """Show the samples ``clf`` gets wrong, titled with what it saw.

    Each image is labelled ``true 4, predicted 9 (0.93)``: its label, the
    predicted class and the predicted probability of that class.  The
    mistakes are shown in the order of ``X``.

    Parameters
    ----------
    clf : classifier or Pipeline
        A fitted classifier with ``predict_proba`` and ``classes_``, such as
        a ScratchMLPClassifier or a pipeline ending in one.
    X : array-like of shape (n_samples, n_features) or (n_samples, h, w)
        The samples, as ``clf`` takes them (e.g. the images themselves for a
        pipeline starting with an ImageVectorizer).
    y : array-like of shape (n_samples,)
        Their true labels.
    n : int, default=20
        Show at most the first ``n`` mistakes.
    images : array-like of shape (n_samples, h, w), default=None
        The images to draw, when ``X`` is not them (e.g. scaled rows); None
        draws ``X``.
    image_shape : tuple of int, default=None
        Reshape each row of ``images`` (or ``X``) to this; None takes square
        images (784 pixels: 28 x 28).
    ncols : int, default=None
        Images per row; None puts up to 5 in a row.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a figure.
    cmap : str or Colormap, default='gray'
        Colormap of the pixels.

    Returns
    -------
    ax : matplotlib Axes
        The Axes of the grid, built by :func:`show_digits`.  With no mistake
        it holds no image and its title says so.
    """
    y = np.asarray(y)
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    proba = clf.predict_proba(X)
    classes = clf.classes_
    if len(y) != len(proba):
        raise ValueError(f"y must hold one label per sample ({len(proba)}); "
                         f"got {len(y)}.")
    predicted = classes[np.argmax(proba, axis=1)]
    wrong = np.flatnonzero(predicted != y)
    if len(wrong) == 0:
        if ax is None:
            ax = _new_axes(figsize=(4, 1))
        ax.set_axis_off()
        ax.set_title(f"No misclassified sample among {len(y)}")
        return ax
    shown = wrong[:n]
    pictures = np.asarray(X if images is None else images)
    if len(pictures) != len(y):
        raise ValueError(f"images must hold one image per sample ({len(y)}); "
                         f"got {len(pictures)}.")
    pictures = pictures[shown]
    if image_shape is not None:
        pictures = pictures.reshape(len(shown), *image_shape)
    labels = [f"true {y[i]}, predicted {predicted[i]} ({proba[i].max():.2f})"
              for i in shown]
    # The labels are wider than the images: fewer, wider columns.
    ncols = min(len(shown), 5) if ncols is None else ncols
    if ax is None:
        nrows = -(-len(shown) // ncols)
        ax = _new_axes(figsize=(2.1 * ncols, 1.9 * nrows + 0.4))
    ax = show_digits(pictures, np.array(labels, dtype=object), ncols=ncols,
                     ax=ax, cmap=cmap, label_format="{}")
    for text in ax.texts:
        text.set_fontsize(8)
    ax.set_title(f"{len(wrong)} misclassified of {len(y)}"
                 + (f" (the first {len(shown)})" if len(shown) < len(wrong) else ""),
                 pad=16)
    return ax
