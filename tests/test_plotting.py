"""skmlp.plotting: what each figure shows, read back from the Axes."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils import check_random_state

from skmlp import ScratchMLPClassifier
from skmlp.plotting import (
    pair_accuracy_matrix,
    plot_first_layer_weights,
    plot_pair_accuracies,
    plot_training_curves,
    show_digits,
    show_misclassified,
)

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8), np.arange(20) % 10


@pytest.fixture(scope="module")
def fitted():
    X, y = load_digits(n_class=2, return_X_y=True)
    return ScratchMLPClassifier(hidden_layers=(8,), epochs=4, random_state=0).fit(
        X / 16, y
    )


# -------------------------------------------------------------- show_digits


def test_show_digits_draws_the_drawn_images(images):
    x, y = images
    ax = show_digits(x, y, n=5, random_state=0)
    chosen = check_random_state(0).choice(len(x), 5, replace=False)
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (28, 5 * 28 + 4 * 2)  # one row, 2-pixel gaps
    for k, i in enumerate(chosen):
        np.testing.assert_array_equal(mosaic[:, k * 30:k * 30 + 28], x[i])
    assert mosaic.mask[:, 28:30].all()  # the gaps are blank
    assert [text.get_text() for text in ax.texts] == [f"Label = {y[i]}"
                                                      for i in chosen]


def test_show_digits_differs_between_calls_unless_seeded(images):
    x, y = images

    def drawn(**kwargs):
        return [t.get_text() for t in show_digits(x, np.arange(20), n=5,
                                                  **kwargs).texts]

    assert drawn(random_state=1) == drawn(random_state=1)
    draws = {tuple(drawn()) for _ in range(5)}
    assert len(draws) > 1


def test_show_digits_flat_images_grid_and_ax(images):
    x, _ = images
    fig, ax = plt.subplots()
    returned = show_digits(x[:12].reshape(12, -1), ncols=4, ax=ax)
    assert returned is ax
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (3 * 28 + 2 * 2, 4 * 28 + 3 * 2)  # 3 rows of 4
    np.testing.assert_array_equal(mosaic[30:58, 30:58], x[5])
    assert len(ax.texts) == 0  # no labels given


@pytest.mark.parametrize("kwargs, message", [
    ({"images": np.zeros((3, 10))}, "must be square"),
    ({"images": np.zeros((0, 28, 28))}, "non-empty"),
    ({"images": np.zeros((3, 28, 28)), "labels": [1, 2]}, "one label per image"),
    ({"images": np.zeros((3, 28, 28)), "n": 4}, "between 1 and 3"),
])
def test_show_digits_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        show_digits(**kwargs)


# ----------------------------------------------------- plot_training_curves


def test_plot_training_curves(fitted):
    axes = plot_training_curves(fitted)
    assert axes.shape == (2,)
    (cost,), (change,) = axes[0].lines, axes[1].lines
    epochs = np.arange(1, fitted.n_iter_ + 1)
    np.testing.assert_array_equal(cost.get_xdata(), epochs)
    np.testing.assert_array_equal(cost.get_ydata(), fitted.loss_curve_)
    np.testing.assert_array_equal(change.get_ydata(), fitted.weight_change_curve_)
    assert "Cost" in axes[0].get_title() and "Weight change" in axes[1].get_title()


def test_plot_training_curves_of_a_pipeline_on_given_axes(fitted):
    X, y = load_digits(n_class=2, return_X_y=True)
    pipeline = make_pipeline(MinMaxScaler(), fitted).fit(X, y)
    fig, given = plt.subplots(2, 1)
    axes = plot_training_curves(pipeline, axes=given)
    assert list(axes) == list(given)
    np.testing.assert_array_equal(axes[0].lines[0].get_ydata(), fitted.loss_curve_)


def test_plot_training_curves_log_scale(fitted):
    axes = plot_training_curves(fitted, log=True)
    assert [ax.get_yscale() for ax in axes] == ["log", "log"]
    assert [ax.get_yscale() for ax in plot_training_curves(fitted)] == ["linear"] * 2


def test_plot_training_curves_needs_a_fitted_classifier():
    with pytest.raises(ValueError, match="fitted ScratchMLPClassifier"):
        plot_training_curves(ScratchMLPClassifier())


# -------------------------------------------------------- pair accuracies


def test_pair_accuracy_matrix():
    matrix = pair_accuracy_matrix({(1, 5): 0.99, (7, 1): 0.98, "4-9": 0.9})
    assert matrix[1, 5] == matrix[5, 1] == 0.99
    assert matrix[1, 7] == matrix[7, 1] == 0.98
    assert matrix[4, 9] == matrix[9, 4] == 0.9
    assert np.isfinite(matrix).sum() == 6
    upper = np.triu(np.full((10, 10), 0.5), k=1)
    upper[np.tril_indices(10)] = np.nan
    full = pair_accuracy_matrix(upper)
    np.testing.assert_array_equal(full, full.T)
    assert np.isnan(np.diag(full)).all() and np.isfinite(full).sum() == 90


@pytest.mark.parametrize("accuracies, message", [
    ({(3, 3): 0.5}, "two different digits"),
    ({(3, 10): 0.5}, "two different digits"),
    (np.zeros((9, 9)), "10 x 10"),
])
def test_pair_accuracy_matrix_errors(accuracies, message):
    with pytest.raises(ValueError, match=message):
        pair_accuracy_matrix(accuracies)


def test_plot_pair_accuracies():
    accuracies = {(1, 5): 0.9965, (4, 9): 0.9372, (2, 3): 0.977}
    ax = plot_pair_accuracies(accuracies)
    values = ax.images[0].get_array()
    assert values[1, 5] == values[5, 1] == pytest.approx(99.65)
    assert values.mask.sum() == 100 - 6  # only the given pairs are drawn
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    assert len(cells) == 6
    assert cells[1, 5] == cells[5, 1] == "99.65"
    assert cells[9, 4] == "93.72"
    assert len(ax.figure.axes) == 2  # the heatmap and its colorbar


def test_plot_pair_accuracies_as_fractions_on_given_ax():
    fig, ax = plt.subplots()
    returned = plot_pair_accuracies({(0, 1): 0.5}, ax=ax, percent=False,
                                    colorbar=False)
    assert returned is ax and len(fig.axes) == 1
    assert [t.get_text() for t in ax.texts] == ["0.5000", "0.5000"]


def test_importing_skmlp_does_not_import_matplotlib():
    code = "import sys, skmlp; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True, timeout=120)
    assert result.stdout.strip() == "False"


# ------------------------------------------------- plot_first_layer_weights


def test_first_layer_weights_one_labelled_tile_per_unit(fitted):
    ax = plot_first_layer_weights(fitted, image_shape=(8, 8))
    W = fitted.coefs_[0]
    mosaic = ax.images[0].get_array()
    # 8 units in a 3 x 3 grid: tiles of 8 x 8, 2-pixel gaps, 7 above each row.
    assert mosaic.shape == (3 * 8 + 2 * 7, 3 * 8 + 2 * 2)
    assert [t.get_text() for t in ax.texts] == [str(j) for j in range(8)]
    for j in range(8):
        row, column = divmod(j, 3)
        tile = mosaic[row * 15:row * 15 + 8, column * 10:column * 10 + 8]
        np.testing.assert_array_equal(tile, W[:, j].reshape(8, 8))
    assert mosaic.mask[:, 8:10].all()  # the gaps are blank
    assert mosaic[30:38, 20:28].mask.all()  # the ninth tile is empty


def test_first_layer_weights_blank_cells_hold_zeros(fitted):
    # Uninitialised memory under the mask (np.ma.masked_all) made matplotlib
    # overflow while scaling colours; fill freed memory with huge values first.
    for _ in range(20):
        del_me = np.full((3 * 8 + 2 * 7, 3 * 8 + 2 * 2), 1e308)
        del del_me
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ax = plot_first_layer_weights(fitted, image_shape=(8, 8))
        ax.figure.canvas.draw()
    mosaic = ax.images[0].get_array()
    assert mosaic.mask.any()
    assert np.all(mosaic.data[mosaic.mask] == 0)


def test_first_layer_weights_share_a_symmetric_scale_with_a_colorbar(fitted):
    ax = plot_first_layer_weights(fitted, image_shape=(8, 8), n_units=3)
    vmin, vmax = ax.images[0].get_clim()
    limit = np.abs(fitted.coefs_[0][:, :3]).max()
    assert (vmin, vmax) == pytest.approx((-limit, limit))
    assert len(ax.figure.axes) == 2  # the grid and its colorbar
    assert ax.figure.axes[1].get_ylabel() == "weight"
    assert len(ax.texts) == 3


def test_first_layer_weights_shows_blank_pixels_as_they_are(fitted):
    # Pixel 0 of sklearn's digits is 0 in every image: its weights keep the
    # values they started with, and the tile shows them, unchanged.
    ax = plot_first_layer_weights(make_pipeline(MinMaxScaler(), fitted),
                                  image_shape=(8, 8), ncols=8, colorbar=False)
    mosaic = ax.images[0].get_array()
    np.testing.assert_array_equal(mosaic[0, 0:80:10], fitted.coefs_[0][0])
    assert len(ax.figure.axes) == 1


def test_first_layer_weights_refuses_a_network_of_other_images(fitted):
    with pytest.raises(ValueError, match=r"64 inputs, which are no 28 x 28 image"):
        plot_first_layer_weights(fitted)
    with pytest.raises(ValueError, match="n_units must be between 1 and 8"):
        plot_first_layer_weights(fitted, image_shape=(8, 8), n_units=9)
    with pytest.raises(ValueError, match="fitted ScratchMLPClassifier"):
        plot_first_layer_weights(ScratchMLPClassifier(), image_shape=(8, 8))


def test_first_layer_weights_on_given_axes(fitted):
    fig, ax = plt.subplots()
    assert plot_first_layer_weights(fitted, image_shape=(8, 8), ax=ax) is ax


# ------------------------------------------------------- show_misclassified


@pytest.fixture(scope="module")
def hesitant():
    # Too little training to get every image right.
    X, y = load_digits(n_class=3, return_X_y=True)
    clf = ScratchMLPClassifier(hidden_layers=(4,), epochs=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X / 16, y)
    return clf, X / 16, y


def test_show_misclassified_shows_each_mistake_with_its_probability(hesitant):
    clf, X, y = hesitant
    proba = clf.predict_proba(X)
    predicted = clf.predict(X)
    wrong = np.flatnonzero(predicted != y)
    assert 3 <= len(wrong) < len(y)
    ax = show_misclassified(clf, X, y, n=3)
    expected = [f"true {y[i]}, predicted {predicted[i]} ({proba[i].max():.2f})"
                for i in wrong[:3]]
    assert [t.get_text() for t in ax.texts] == expected
    mosaic = ax.images[0].get_array()
    np.testing.assert_array_equal(mosaic[:, :8], X[wrong[0]].reshape(8, 8))
    assert ax.get_title() == f"{len(wrong)} misclassified of {len(y)} (the first 3)"


def test_show_misclassified_draws_the_images_given(hesitant):
    clf, X, y = hesitant
    images = (X * 16).reshape(-1, 8, 8)
    ax = show_misclassified(clf, X, y, n=1, images=images)
    wrong = np.flatnonzero(clf.predict(X) != y)
    np.testing.assert_array_equal(ax.images[0].get_array(), images[wrong[0]])


def test_show_misclassified_says_when_there_is_no_mistake(hesitant):
    clf, X, y = hesitant
    right = clf.predict(X) == y
    ax = show_misclassified(clf, X[right], y[right])
    assert len(ax.images) == 0
    assert ax.get_title() == f"No misclassified sample among {right.sum()}"


def test_show_misclassified_refuses_mismatched_input(hesitant):
    clf, X, y = hesitant
    with pytest.raises(ValueError, match="one label per sample"):
        show_misclassified(clf, X, y[:-1])
    with pytest.raises(ValueError, match="one image per sample"):
        show_misclassified(clf, X, y, images=X[:3])
    with pytest.raises(ValueError, match="n must be a positive integer"):
        show_misclassified(clf, X, y, n=0)
