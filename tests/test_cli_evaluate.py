"""``skmlp evaluate``: a saved model's accuracy and confusion matrix, and its
one-line errors.  The model is conftest.py's ``saved_model`` (digits 1, 5, 7,
saved by ``skmlp train --save``)."""

import re

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import confusion_matrix

from skmlp import ImageVectorizer, ScratchMLPClassifier, load_mnist_sample
from skmlp.persistence import load, save


class NotSkmlp:
    """A type of no library skmlp trusts, for a .skops file."""


@pytest.fixture(scope="module")
def sample_test():
    (_, _), (x_test, y_test) = load_mnist_sample()
    return x_test, y_test


def _matrix_rows(stdout):
    return {int(m.group(1)): [int(v) for v in m.group(2).split()]
            for m in re.finditer(r"^ *(\d)((?: +\d+)+) *$", stdout, re.M)}


def test_evaluate_on_the_models_digits(run_cli, saved_model, sample_test):
    status, stdout, stderr = run_cli("evaluate", saved_model, "--sample")
    assert status == 0 and stderr == ""
    x_test, y_test = sample_test
    keep = np.isin(y_test, [1, 5, 7])
    model = load(saved_model)
    predicted = model.predict(x_test[keep])
    accuracy = np.mean(predicted == y_test[keep])
    assert f"Test accuracy: {100 * accuracy:.2f} %" in stdout
    assert f"of {keep.sum()} test images right" in stdout
    matrix = confusion_matrix(y_test[keep], predicted, labels=[1, 5, 7])
    assert _matrix_rows(stdout) == {1: list(matrix[0]), 5: list(matrix[1]),
                                    7: list(matrix[2])}
    assert "ImageVectorizer -> ScratchMLPClassifier of the digits 1, 5, 7" in stdout


def test_evaluate_on_some_of_its_digits(run_cli, saved_model):
    status, stdout, _ = run_cli("evaluate", saved_model, "--sample",
                                "--digits", "7", "1")
    assert status == 0
    assert "200 test images of 1 vs 7" in stdout
    rows = _matrix_rows(stdout)
    # Rows of the digits evaluated, columns of every class the model predicts.
    assert set(rows) == {1, 7} and all(len(row) == 3 for row in rows.values())
    assert sum(map(sum, rows.values())) == 200


def test_evaluate_a_bare_classifier_scales_the_images(run_cli, tmp_path,
                                                      sample_test):
    # Scaled, not deskewed: a bare classifier does not say how it was trained.
    pipeline = tmp_path / "pipeline.joblib"
    assert run_cli("train", "--sample", "--digits", "1", "5", "7", "--hidden", "16",
                   "--epochs", "2", "--seed", "0", "--no-deskew", "--out",
                   tmp_path / "run", "--save", pipeline)[0] == 0
    path = tmp_path / "clf.joblib"
    save(load(pipeline)[-1], path)
    status, stdout, _ = run_cli("evaluate", path, "--sample")
    assert status == 0 and "(scaled by ImageVectorizer())" in stdout
    pipeline_out = run_cli("evaluate", pipeline, "--sample")[1]
    accuracy = re.compile(r"Test accuracy: .*")
    assert accuracy.search(stdout).group() == accuracy.search(pipeline_out).group()


def test_evaluate_a_skops_file(run_cli, tmp_path, saved_model):
    pytest.importorskip("skops")
    path = tmp_path / "model.skops"
    save(load(saved_model), path)
    status, stdout, _ = run_cli("evaluate", path, "--sample")
    assert status == 0 and "Test accuracy" in stdout


def test_evaluate_on_full_mnist(run_cli, saved_model, mnist_full_path):
    status, stdout, _ = run_cli("evaluate", saved_model, "--mnist", mnist_full_path)
    assert status == 0
    # MNIST's test set: 1135 ones, 892 fives, 1028 sevens.
    assert "of 3055 test images right" in stdout


def _error(run_cli, *argv):
    status, stdout, stderr = run_cli("evaluate", *argv)
    assert status == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("skmlp evaluate: error: argument")
    return stderr


def test_a_digit_the_model_does_not_know(run_cli, saved_model):
    stderr = _error(run_cli, saved_model, "--sample", "--digits", "1", "8")
    assert "knows the digits 1, 5, 7; it was not trained on 8" in stderr


def test_a_missing_model_file(run_cli, tmp_path):
    stderr = _error(run_cli, tmp_path / "nowhere.joblib", "--sample")
    assert "nowhere.joblib does not exist" in stderr


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_model_file(run_cli, tmp_path, saved_model, damage):
    data = saved_model.read_bytes()
    content = {"garbage": b"not a model" * 50, "truncated": data[: len(data) // 2],
               "empty": b""}[damage]
    path = tmp_path / "model.joblib"
    path.write_bytes(content)
    stderr = _error(run_cli, path, "--sample")
    assert f"Cannot load {path}" in stderr


def test_a_skops_file_of_untrusted_types(run_cli, tmp_path):
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "other.skops"
    sio.dump({"model": NotSkmlp()}, path)
    stderr = _error(run_cli, path, "--sample")
    assert "test_cli_evaluate.NotSkmlp" in stderr
    assert "which skmlp does not trust" in stderr
    assert "skmlp.persistence.load(path, trusted=skmlp.TRUSTED_TYPES + " in stderr


def test_a_file_that_holds_no_classifier(run_cli, tmp_path, sample_test):
    path = tmp_path / "vectorizer.joblib"
    joblib.dump(ImageVectorizer().fit(sample_test[0]), path)
    stderr = _error(run_cli, path, "--sample")
    assert "holds ImageVectorizer, not a classifier" in stderr


def test_a_classifier_of_other_inputs(run_cli, tmp_path):
    X, y = load_digits(n_class=3, return_X_y=True)
    path = tmp_path / "digits.joblib"
    joblib.dump(ScratchMLPClassifier(hidden_layers=(4,), epochs=1).fit(X / 16, y),
                path)
    stderr = _error(run_cli, path, "--sample")
    assert "a classifier of 64 inputs, not of the 784 pixels" in stderr


def test_an_unfitted_classifier(run_cli, tmp_path):
    path = tmp_path / "unfitted.joblib"
    joblib.dump(ScratchMLPClassifier(), path)
    stderr = _error(run_cli, path, "--sample")
    assert "is not fitted" in stderr


def test_a_classifier_of_other_classes(run_cli, tmp_path, sample_test):
    x_test, y_test = sample_test
    keep = np.isin(y_test, [1, 5])
    names = np.where(y_test[keep] == 1, "one", "five")
    path = tmp_path / "names.joblib"
    model = ScratchMLPClassifier(hidden_layers=(4,), epochs=1)
    joblib.dump(model.fit(ImageVectorizer().transform(x_test[keep]), names), path)
    stderr = _error(run_cli, path, "--sample")
    assert "which are not the digits 0 to 9" in stderr
