"""End to end on MNIST: the course notebook's workflow, through skmlp.

The accuracy tests train the default ScratchMLPClassifier on the full MNIST and
are skipped without it (see conftest.py); the grid-search test uses a few
thousand images, from the full MNIST or else from the shipped sample.
"""

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from skmlp import DigitPairSelector, ImageVectorizer, ScratchMLPClassifier


@pytest.fixture(scope="module")
def one_vs_five(mnist_full):
    """The notebook's Q2-Q4 and Q9: 1 vs 5, vectorized, default classifier."""
    (x_train, y_train), (x_test, y_test) = mnist_full
    selector = DigitPairSelector(1, 5)
    X_train, y_pair = selector.fit_resample(x_train, y_train)
    X_test, y_test_pair = selector.fit_resample(x_test, y_test)
    vectorizer = ImageVectorizer()
    clf = ScratchMLPClassifier(random_state=0).fit(
        vectorizer.fit_transform(X_train), y_pair
    )
    return clf, vectorizer.transform(X_test), y_test_pair


@pytest.mark.mnist_full
@pytest.mark.slow
def test_one_vs_five_accuracy(one_vs_five):
    clf, X_test, y_test = one_vs_five
    assert len(y_test) == 2027  # 1135 ones and 892 fives in MNIST's test set
    accuracy = clf.score(X_test, y_test)
    assert accuracy >= 0.995, f"1 vs 5 test accuracy {accuracy:.4%}"


@pytest.mark.mnist_full
@pytest.mark.slow
def test_one_vs_five_predicts_digits(one_vs_five):
    clf, X_test, y_test = one_vs_five
    np.testing.assert_array_equal(clf.classes_, [1, 5])
    predicted = clf.predict(X_test)
    assert predicted.dtype == y_test.dtype
    assert set(np.unique(predicted)) == {1, 5}
    proba = clf.predict_proba(X_test)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)


@pytest.mark.mnist_full
@pytest.mark.slow
def test_one_vs_seven_imblearn_pipeline(mnist_full):
    (x_train, y_train), (x_test, y_test) = mnist_full
    model = make_imblearn_pipeline(
        DigitPairSelector(1, 7), ImageVectorizer(), ScratchMLPClassifier(random_state=0)
    ).fit(x_train, y_train)  # all 60000 images: the selector keeps 1s and 7s
    clf = model[-1]
    n_pair = np.count_nonzero((y_train == 1) | (y_train == 7))
    assert clf.n_features_in_ == 784
    np.testing.assert_array_equal(clf.classes_, [1, 7])
    # The sampler acts at fit time only: select the test pair the same way.
    X_test, y_test_pair = DigitPairSelector(1, 7).fit_resample(x_test, y_test)
    accuracy = model.score(X_test, y_test_pair)
    assert accuracy >= 0.99, f"1 vs 7 test accuracy {accuracy:.4%} ({n_pair} train)"


def classifier_weights(pipeline):
    clf = pipeline[-1]
    return clf.coefs_ + clf.intercepts_


def test_grid_search_refits_the_best_parameters(mnist):
    """The grid's eta, batch_size and hidden_layers are really trained with.

    The notebook's grid never passed eta or hidden_layers to its trainer, so
    its "best parameters" were labels only; each check below fails if any
    parameter of the grid does not reach the fitted network.
    """
    (x_train, y_train), _ = mnist
    X, y = DigitPairSelector(4, 9).fit_resample(x_train, y_train)
    X, y = X[:2000], y[:2000]  # small and fast: the point is the plumbing
    pipeline = make_pipeline(
        ImageVectorizer(), ScratchMLPClassifier(epochs=3, random_state=0)
    )
    grid = {
        "scratchmlpclassifier__eta": [1e-3, 2e-2],
        "scratchmlpclassifier__batch_size": [16, 128],
        "scratchmlpclassifier__hidden_layers": [(8,), (12, 4)],
    }
    cv = StratifiedKFold(3)
    search = GridSearchCV(pipeline, grid, cv=cv).fit(X, y)
    best = search.best_params_
    scores = search.cv_results_["mean_test_score"]
    assert len(np.unique(scores)) > 1, "every candidate scored the same"

    # The refitted classifier carries the best parameters...
    clf = search.best_estimator_[-1]
    params = clf.get_params()
    for name, value in best.items():
        assert params[name.split("__")[1]] == value
    # ... its layers are the best hidden_layers ...
    sizes = [784, *best["scratchmlpclassifier__hidden_layers"], 1]
    expected_shapes = list(zip(sizes[:-1], sizes[1:], strict=True))
    assert [W.shape for W in clf.coefs_] == expected_shapes
    # ... its weights are those of a fresh fit with the best parameters ...
    refit = clone(pipeline).set_params(**best).fit(X, y)
    for got, expected in zip(classifier_weights(search.best_estimator_),
                             classifier_weights(refit), strict=True):
        np.testing.assert_array_equal(got, expected)
    # ... which differ as soon as eta or batch_size differs, so both are used ...
    for name in ("scratchmlpclassifier__eta", "scratchmlpclassifier__batch_size"):
        other = next(v for v in grid[name] if v != best[name])
        changed = clone(pipeline).set_params(**{**best, name: other}).fit(X, y)
        assert not all(
            np.array_equal(a, b)
            for a, b in zip(classifier_weights(changed), classifier_weights(refit),
                            strict=True)
        ), f"{name}={other} trained the same network as {best[name]}"
    # ... and the best score is the cross-validated score of those parameters.
    rescored = cross_val_score(clone(pipeline).set_params(**best), X, y, cv=cv)
    assert rescored.mean() == pytest.approx(search.best_score_, abs=1e-12)
