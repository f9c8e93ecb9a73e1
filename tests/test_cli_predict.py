"""``skmlp predict``: labels of images in a .npy file, printed or written, and
the one-line errors for arrays that hold no images.  The model is
conftest.py's ``saved_model`` (digits 1, 5, 7)."""

import csv

import numpy as np
import pytest

from skmlp import load_mnist_sample
from skmlp.persistence import load, save


@pytest.fixture(scope="module")
def images():
    (_, _), (x_test, _) = load_mnist_sample()
    return x_test[::50]  # 20 images of every digit


def _save(tmp_path, array, name="images.npy"):
    path = tmp_path / name
    np.save(path, array)
    return path


def test_predict_prints_one_label_a_line(run_cli, tmp_path, saved_model, images):
    status, stdout, stderr = run_cli("predict", saved_model, _save(tmp_path, images))
    assert status == 0 and stderr == ""
    expected = load(saved_model).predict(images)
    assert stdout.split() == [str(label) for label in expected]
    assert set(expected) <= {1, 5, 7}


@pytest.mark.parametrize("shape", ["images", "channel", "rows"])
def test_every_accepted_shape_gives_the_same_labels(run_cli, tmp_path, saved_model,
                                                    images, shape):
    array = {"images": images, "channel": images[..., np.newaxis],
             "rows": images.reshape(len(images), 784).astype(np.float32)}[shape]
    status, stdout, _ = run_cli("predict", saved_model, _save(tmp_path, array))
    assert status == 0
    assert stdout.split() == [str(label) for label in
                              load(saved_model).predict(images)]


def test_a_bare_classifier_gets_images_scaled(run_cli, tmp_path, saved_model,
                                              images):
    pipeline = load(saved_model)
    path = tmp_path / "clf.joblib"
    save(pipeline[-1], path)
    status, stdout, _ = run_cli("predict", path, _save(tmp_path, images))
    assert status == 0
    assert stdout.split() == [str(label) for label in pipeline.predict(images)]


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".txt"])
def test_predict_writes_the_labels(run_cli, tmp_path, saved_model, images, suffix):
    out = tmp_path / f"labels{suffix}"
    status, stdout, _ = run_cli("predict", saved_model, _save(tmp_path, images),
                                "--out", out)
    assert status == 0 and stdout == f"Wrote {out}\n"
    expected = load(saved_model).predict(images)
    if suffix == ".npy":
        np.testing.assert_array_equal(np.load(out, allow_pickle=False), expected)
    elif suffix == ".csv":
        with out.open(newline="") as file:
            rows = list(csv.DictReader(file))
        assert [int(row["index"]) for row in rows] == list(range(len(images)))
        assert [int(row["label"]) for row in rows] == list(expected)
    else:
        assert out.read_text().split() == [str(label) for label in expected]


def _error(run_cli, *argv):
    status, stdout, stderr = run_cli("predict", *argv)
    assert status == 2, stderr
    assert stdout == "" and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("skmlp predict: error: argument")
    return stderr


@pytest.mark.parametrize("array", [np.zeros((3, 28, 20), np.uint8),
                                   np.zeros((3, 28, 28, 3), np.uint8),
                                   np.zeros((3, 100)), np.zeros(784),
                                   np.zeros((0, 28, 28), np.uint8)],
                         ids=["narrow", "rgb", "100 features", "one row", "empty"])
def test_an_array_of_other_shapes(run_cli, tmp_path, saved_model, array):
    stderr = _error(run_cli, saved_model, _save(tmp_path, array))
    assert f"of shape {array.shape}; expected (n, 28, 28) images" in stderr
    assert "(n, 784) rows of pixels" in stderr


def test_values_that_are_no_pixels(run_cli, tmp_path, saved_model):
    text = np.full((2, 784), "x")
    assert "holds <U1 values; expected numbers" in _error(
        run_cli, saved_model, _save(tmp_path, text))
    nan = np.full((2, 784), np.nan)
    assert "NaN or infinite values" in _error(run_cli, saved_model,
                                             _save(tmp_path, nan))


def test_pickled_objects_are_refused(run_cli, tmp_path, saved_model):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    stderr = _error(run_cli, saved_model, path)
    assert "Object arrays cannot be loaded when allow_pickle=False" in stderr


def test_not_a_npy_file(run_cli, tmp_path, saved_model, images):
    npz = tmp_path / "images.npz"
    np.savez(npz, images=images)
    assert "is an .npz archive" in _error(run_cli, saved_model, npz)
    text = tmp_path / "images.npy"
    text.write_text("0 0 0\n")
    assert "cannot read" in _error(run_cli, saved_model, text)
    assert "does not exist" in _error(run_cli, saved_model, tmp_path / "no.npy")


def test_out_is_checked_before_loading(run_cli, tmp_path, images):
    # The model file does not exist: the bad --out is found first.
    images_file = _save(tmp_path, images)
    stderr = _error(run_cli, tmp_path / "none.joblib", images_file,
                    "--out", tmp_path / "labels.json")
    assert "labels.json names no label format" in stderr
    stderr = _error(run_cli, tmp_path / "none.joblib", images_file,
                    "--out", tmp_path / "missing" / "labels.csv")
    assert "does not exist" in stderr and "missing" in stderr


def test_a_model_of_other_inputs(run_cli, tmp_path, images):
    from sklearn.datasets import load_digits

    from skmlp import ScratchMLPClassifier

    X, y = load_digits(n_class=2, return_X_y=True)
    path = tmp_path / "digits.joblib"
    save(ScratchMLPClassifier(hidden_layers=(4,), epochs=1).fit(X / 16, y), path)
    stderr = _error(run_cli, path, _save(tmp_path, images))
    assert "64 inputs" in stderr
