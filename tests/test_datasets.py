"""Tests of skmlp.datasets: every source of load_mnist, and every bad file.

Most tests run on the shipped sample: the ``sample_is_mnist`` fixture makes
load_mnist expect the sample's counts and digests instead of MNIST's, so the
sources and checks run hermetically; the tests marked ``mnist_full`` check the
real thing.
"""

import gzip
import hashlib
import importlib.util
import os
import pathlib
import struct
import sys
import tracemalloc
import types
import warnings
import zipfile
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest

import skmlp
from skmlp import datasets
from skmlp.datasets import (
    MNISTFormatError,
    MNISTNotFoundError,
    load_mnist,
    load_mnist_sample,
)

KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# From MNIST's documentation (the data README): the first labels and the
# pixel statistics that identify MNIST.
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TRAIN_MEAN, TRAIN_STD = 33.318421449829934, 78.56748998339798
TEST_MEAN, TEST_STD = 33.791224489795916, 79.17246322228642


# ----------------------------------------------------------------- helpers


def as_dict(data):
    (x_train, y_train), (x_test, y_test) = data
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def assert_same(data, expected):
    got, want = as_dict(data), as_dict(expected)
    for key in KEYS:
        assert got[key].dtype == np.uint8, key
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


def save_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def write_idx(path, array, gzipped=False):
    """An IDX file written from the format's description, independently of skmlp."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if gzipped:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data, compresslevel=1))
    else:
        path.write_bytes(data)
    return path


def write_idx_folder(folder, arrays, gzipped=(False, False, False, False)):
    folder.mkdir(exist_ok=True)
    for key, gz in zip(KEYS, gzipped, strict=True):
        write_idx(folder / IDX_NAMES[key], arrays[key], gzipped=gz)
    return folder


def fake_keras(load_data):
    """Modules keras, keras.datasets, keras.datasets.mnist with ``load_data``."""
    keras = types.ModuleType("keras")
    keras.__path__ = []
    keras_datasets = types.ModuleType("keras.datasets")
    keras_datasets.__path__ = []
    mnist = types.ModuleType("keras.datasets.mnist")
    mnist.load_data = load_data
    keras.datasets, keras_datasets.mnist = keras_datasets, mnist
    return {"keras": keras, "keras.datasets": keras_datasets,
            "keras.datasets.mnist": mnist}


def fake_openml_from(arrays, calls):
    """A fetch_openml that returns ``arrays`` as OpenML's mnist_784 does."""

    def fetch_openml(name, **kwargs):
        calls.append((name, kwargs))
        X = np.concatenate([arrays["x_train"], arrays["x_test"]]).reshape(-1, 784)
        y = np.concatenate([arrays["y_train"], arrays["y_test"]])
        # OpenML gives float64 pixels and the digits as strings.
        return X.astype(np.float64), y.astype(str).astype(object)

    return fetch_openml


def openml_offline(name, **kwargs):
    raise URLError("[Errno -3] Temporary failure in name resolution")


def openml_forbidden(name, **kwargs):
    raise AssertionError("load_mnist went to OpenML instead of failing")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def no_mnist_anywhere(monkeypatch, tmp_path):
    """No SKMLP_MNIST, an empty home (no Keras cache), no Keras, no network."""
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setitem(sys.modules, "keras", None)  # "import keras" fails
    monkeypatch.setattr(datasets, "fetch_openml", openml_forbidden)
    return home


@pytest.fixture
def sample(mnist_sample):
    return as_dict(mnist_sample)


@pytest.fixture
def sample_is_mnist(monkeypatch, sample):
    """Make load_mnist expect the sample's counts and digests instead of MNIST's."""
    fingerprint = {
        key: (len(array), hashlib.sha256(array.tobytes()).hexdigest())
        for key, array in sample.items()
    }
    monkeypatch.setattr(datasets, "_FINGERPRINT", fingerprint)
    return sample


@pytest.fixture
def sample_npz(tmp_path, sample):
    return save_npz(tmp_path / "mnist.npz", sample)


# ----------------------------------------------------------------- sources


def test_npz_path(sample_is_mnist, sample_npz, mnist_sample):
    assert_same(load_mnist(sample_npz), mnist_sample)
    assert_same(load_mnist(str(sample_npz)), mnist_sample)


def test_returned_arrays_are_the_callers(sample_is_mnist, sample_npz):
    (x_train, y_train), _ = load_mnist(sample_npz)
    assert x_train.flags.writeable and y_train.flags.writeable
    x_train[0] = 0  # a fresh array, not a view of shared data


@pytest.mark.parametrize(
    "gzipped",
    [(False,) * 4, (True,) * 4, (True, False, False, True)],
    ids=["plain", "gzipped", "mixed"],
)
def test_idx_folder(sample_is_mnist, tmp_path, mnist_sample, gzipped):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist, gzipped)
    assert_same(load_mnist(folder), mnist_sample)


def test_idx_folder_prefers_the_plain_file(sample_is_mnist, tmp_path, mnist_sample):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist)
    # A broken .gz beside the plain file is not read.
    (folder / (IDX_NAMES["x_train"] + ".gz")).write_bytes(b"\x1f\x8bbroken")
    assert_same(load_mnist(folder), mnist_sample)


def test_environment_variable(sample_is_mnist, sample_npz, monkeypatch, mnist_sample):
    monkeypatch.setenv("SKMLP_MNIST", str(sample_npz))
    assert_same(load_mnist(), mnist_sample)


def test_environment_variable_names_an_idx_folder(
    sample_is_mnist, tmp_path, monkeypatch, mnist_sample
):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist, (True,) * 4)
    monkeypatch.setenv("SKMLP_MNIST", str(folder))
    assert_same(load_mnist(), mnist_sample)


def test_explicit_path_wins_over_environment(
    sample_is_mnist, sample_npz, monkeypatch, tmp_path, mnist_sample
):
    monkeypatch.setenv("SKMLP_MNIST", str(tmp_path / "absent.npz"))
    assert_same(load_mnist(sample_npz), mnist_sample)


def test_keras_cache_file(sample_is_mnist, no_mnist_anywhere, mnist_sample):
    cache = no_mnist_anywhere / ".keras" / "datasets"
    cache.mkdir(parents=True)
    save_npz(cache / "mnist.npz", sample_is_mnist)
    assert_same(load_mnist(), mnist_sample)


def test_keras_home_cache_file(sample_is_mnist, monkeypatch, tmp_path, mnist_sample):
    keras_home = tmp_path / "keras_home"
    (keras_home / "datasets").mkdir(parents=True)
    save_npz(keras_home / "datasets" / "mnist.npz", sample_is_mnist)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    assert_same(load_mnist(), mnist_sample)


def test_environment_variable_wins_over_keras_cache(
    sample_is_mnist, no_mnist_anywhere, monkeypatch, tmp_path, mnist_sample
):
    cache = no_mnist_anywhere / ".keras" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"not the file to read")
    good = save_npz(tmp_path / "m.npz", sample_is_mnist)
    monkeypatch.setenv("SKMLP_MNIST", str(good))
    assert_same(load_mnist(), mnist_sample)


def test_keras_download(sample_is_mnist, monkeypatch, mnist_sample):
    calls = []

    def load_data():
        calls.append(1)
        s = sample_is_mnist
        return (s["x_train"], s["y_train"]), (s["x_test"], s["y_test"])

    for name, module in fake_keras(load_data).items():
        monkeypatch.setitem(sys.modules, name, module)
    assert_same(load_mnist(), mnist_sample)
    assert calls == [1]


def test_openml_download(sample_is_mnist, monkeypatch, tmp_path, mnist_sample):
    calls = []
    fake = fake_openml_from(sample_is_mnist, calls)
    monkeypatch.setattr(datasets, "fetch_openml", fake)
    assert_same(load_mnist(data_home=tmp_path / "sk_data"), mnist_sample)
    (name, kwargs), = calls
    assert name == "mnist_784"
    assert kwargs["version"] == 1 and kwargs["as_frame"] is False
    assert kwargs["data_home"] == tmp_path / "sk_data"


def test_failed_keras_download_warns_then_uses_openml(
    sample_is_mnist, monkeypatch, mnist_sample
):
    def load_data():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...")

    for name, module in fake_keras(load_data).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(datasets, "fetch_openml", fake_openml_from(sample_is_mnist, []))
    with pytest.warns(UserWarning, match="Keras could not download MNIST"):
        assert_same(load_mnist(), mnist_sample)


def test_offline_without_a_file_says_how_to_supply_one(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_openml", openml_offline)
    with pytest.raises(MNISTNotFoundError) as error:
        load_mnist()
    message = str(error.value)
    assert "SKMLP_MNIST" in message
    assert "load_mnist('/path/to/mnist.npz')" in message
    assert "train-images-idx3-ubyte" in message
    assert "Keras is not installed" in message
    assert "name resolution" in message  # OpenML's own reason
    assert isinstance(error.value, FileNotFoundError)


def keras_without_backend(monkeypatch):
    """Make ``import keras...`` fail as a Keras without TensorFlow/JAX/PyTorch does."""
    real_import = __import__

    def failing_import(name, *args, **kwargs):
        if name == "keras" or name.startswith("keras."):
            raise ModuleNotFoundError("No module named 'tensorflow'", name="tensorflow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", failing_import)


def test_keras_without_backend_is_reported(monkeypatch):
    monkeypatch.setattr(datasets, "fetch_openml", openml_offline)
    keras_without_backend(monkeypatch)
    with pytest.warns(UserWarning, match="needs a backend: TensorFlow, JAX or PyTorch"):
        with pytest.raises(MNISTNotFoundError, match="No module named 'tensorflow'"):
            load_mnist()


# ------------------------------------------------- MNIST itself (full set)


@pytest.mark.mnist_full
def test_full_mnist_matches_its_known_statistics(mnist_full):
    (x_train, y_train), (x_test, y_test) = mnist_full
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert y_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert y_test[:10].tolist() == FIRST_TEST_LABELS
    assert set(np.unique(y_train)) == set(range(10))
    assert x_train.mean() == pytest.approx(TRAIN_MEAN, rel=1e-12)
    assert x_train.std() == pytest.approx(TRAIN_STD, rel=1e-12)
    assert x_test.mean() == pytest.approx(TEST_MEAN, rel=1e-12)
    assert x_test.std() == pytest.approx(TEST_STD, rel=1e-12)


@pytest.mark.mnist_full
def test_full_mnist_through_the_environment_variable(mnist_full_path, monkeypatch,
                                                      mnist_full):
    monkeypatch.setenv("SKMLP_MNIST", str(mnist_full_path))
    assert_same(load_mnist(), mnist_full)


@pytest.mark.mnist_full
def test_full_mnist_as_gzipped_idx(mnist_full, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", as_dict(mnist_full), (True,) * 4)
    assert_same(load_mnist(folder), mnist_full)


@pytest.mark.mnist_full
def test_fashion_like_data_is_refused(mnist_full, tmp_path):
    # Same layout, other images: only the digests tell them apart.
    arrays = as_dict(mnist_full)
    arrays["x_train"] = 255 - arrays["x_train"]
    path = save_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(MNISTFormatError, match=r"x_train is not MNIST's.*pixel mean"):
        load_mnist(path)
    (x_train, _), _ = load_mnist(path, verify=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])


# --------------------------------------------------------------- the sample


def test_sample_layout(mnist_sample):
    (x_train, y_train), (x_test, y_test) = mnist_sample
    assert x_train.shape == (5000, 28, 28) and x_test.shape == (1000, 28, 28)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    np.testing.assert_array_equal(np.bincount(y_train), [500] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [100] * 10)
    assert y_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert y_test[:10].tolist() == FIRST_TEST_LABELS
    # Real digits, not blank images: MNIST's mean pixel is about 33.
    assert 25 < x_train.mean() < 45


def test_sample_file_is_small_and_attributed():
    data = Path(skmlp.__file__).parent / "data"
    assert (data / "mnist_sample.npz").stat().st_size < 1.5e6
    readme = (data / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme
    assert "Yann LeCun" in readme and "Corinna Cortes" in readme


def test_sample_is_read_afresh():
    (first, _), _ = load_mnist_sample()
    first[:] = 0
    (second, _), _ = load_mnist_sample()
    assert second.any()


def test_sample_is_not_mnist_for_load_mnist(tmp_path, sample):
    # With MNIST's real fingerprint, the sample's counts are refused.
    path = save_npz(tmp_path / "mnist.npz", sample)
    with pytest.raises(MNISTFormatError, match="holds 5000 samples, MNIST has 60000"):
        load_mnist(path)
    with pytest.raises(MNISTFormatError, match="holds 5000 samples"):
        load_mnist(path, verify=False)


@pytest.mark.mnist_full
def test_sample_is_first_images_of_each_digit(mnist_full, mnist_sample):
    (x_train, y_train), (x_test, y_test) = mnist_full
    (xs_train, ys_train), (xs_test, ys_test) = mnist_sample
    for x, y, xs, ys, n in [(x_train, y_train, xs_train, ys_train, 500),
                            (x_test, y_test, xs_test, ys_test, 100)]:
        kept = sorted(i for d in range(10) for i in np.flatnonzero(y == d)[:n])
        np.testing.assert_array_equal(xs, x[kept])
        np.testing.assert_array_equal(ys, y[kept])


@pytest.mark.mnist_full
def test_make_sample_script_reproduces_the_file(mnist_full_path, tmp_path):
    script = Path(skmlp.__file__).parent / "data" / "make_sample.py"
    spec = importlib.util.spec_from_file_location("make_sample", script)
    make_sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_sample)
    make_sample.main([str(mnist_full_path), "-o", str(tmp_path / "sample.npz")])
    shipped = Path(skmlp.__file__).parent / "data" / "mnist_sample.npz"
    assert (tmp_path / "sample.npz").read_bytes() == shipped.read_bytes()


# --------------------------------------------------------------- bad files


def test_missing_path(tmp_path):
    with pytest.raises(MNISTNotFoundError, match="absent.npz.*does not exist"):
        load_mnist(tmp_path / "absent.npz")


def test_sample_if_missing_stands_in_for_missing_mnist_only(tmp_path):
    # What the gallery examples load: MNIST where it is found, else the
    # shipped sample; a file that is there but is not MNIST is still an error.
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path / "absent.npz",
                                                      sample_if_missing=True)
    (xs_train, ys_train), (xs_test, ys_test) = load_mnist_sample()
    np.testing.assert_array_equal(x_train, xs_train)
    np.testing.assert_array_equal(y_test, ys_test)
    bad = tmp_path / "bad.npz"
    bad.write_text("hello")
    with pytest.raises(MNISTFormatError, match="bad.npz"):
        load_mnist(bad, sample_if_missing=True)


def test_bad_environment_variable_is_an_error_not_a_fallback(
    sample_is_mnist, no_mnist_anywhere, monkeypatch, tmp_path
):
    # A valid Keras cache file is there, and must not be used instead.
    cache = no_mnist_anywhere / ".keras" / "datasets"
    cache.mkdir(parents=True)
    save_npz(cache / "mnist.npz", sample_is_mnist)
    monkeypatch.setenv("SKMLP_MNIST", str(tmp_path / "absent.npz"))
    with pytest.raises(MNISTNotFoundError, match="given by SKMLP_MNIST"):
        load_mnist()
    bad = tmp_path / "bad.npz"
    bad.write_text("hello")
    monkeypatch.setenv("SKMLP_MNIST", str(bad))
    with pytest.raises(MNISTFormatError, match="bad.npz"):
        load_mnist()


def test_corrupt_keras_cache_file_is_an_error(no_mnist_anywhere):
    cache = no_mnist_anywhere / ".keras" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"PK\x03\x04 partial download")
    with pytest.raises(MNISTFormatError, match=r"\.keras/datasets/mnist\.npz"):
        load_mnist()


def test_truncated_npz(sample_is_mnist, sample_npz):
    data = sample_npz.read_bytes()
    sample_npz.write_bytes(data[: len(data) // 2])
    with pytest.raises(MNISTFormatError, match=r"mnist\.npz.*truncated"):
        load_mnist(sample_npz)


def test_corrupt_npz_member(sample_is_mnist, tmp_path, sample):
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **sample)
    data = bytearray(path.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 64] = bytes(64)  # zeroes inside compressed data
    path.write_bytes(bytes(data))
    with pytest.raises(MNISTFormatError, match="truncated or corrupt"):
        load_mnist(path)


def test_text_file_is_not_mnist(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("x_train,y_train\n1,2\n")
    with pytest.raises(MNISTFormatError, match=r"not an \.npz file.*x_train \(60000"):
        load_mnist(path)


def test_npy_file_is_not_mnist(tmp_path, sample):
    path = tmp_path / "mnist.npy"
    np.save(path, sample["x_train"])
    with pytest.raises(MNISTFormatError, match="not an .npz file"):
        load_mnist(path)


def test_foreign_npz_keys(tmp_path, sample):
    path = save_npz(tmp_path / "cifar.npz", {"data": sample["x_train"],
                                             "labels": sample["y_train"]})
    with pytest.raises(MNISTFormatError) as error:
        load_mnist(path)
    message = str(error.value)
    assert "cifar.npz" in message and "['data', 'labels']" in message
    assert "missing ['x_train', 'y_train', 'x_test', 'y_test']" in message


def test_pickled_npz_is_refused(tmp_path, sample):
    arrays = dict(sample)
    arrays["y_train"] = arrays["y_train"].astype(object)
    path = save_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(MNISTFormatError, match="allow_pickle"):
        load_mnist(path)


@pytest.mark.parametrize(
    ("key", "change", "match"),
    [
        ("x_train", lambda a: a.reshape(-1, 784), r"x_train has shape \(5000, 784\)"),
        ("x_test", lambda a: a[:, :27, :], r"x_test has shape \(1000, 27, 28\)"),
        ("y_train", lambda a: a.reshape(-1, 1), r"y_train has shape \(5000, 1\)"),
        ("x_train", lambda a: a.astype(np.float32) / 255, "dtype float32"),
        ("y_test", lambda a: a.astype(bool), "dtype bool"),
        ("y_train", lambda a: np.where(a == 9, 10, a), "from 0 to 10, .* 0 to 9"),
        ("y_test", lambda a: a.astype(np.int64) - 1, "from -1 to 8"),
        ("x_train", lambda a: a.astype(np.int32) * 2, "from 0 to 510"),
        ("y_train", lambda a: a[:-1], "x_train holds 5000 images but y_train 4999"),
    ],
    ids=["flat-images", "27-rows", "2d-labels", "float-images", "bool-labels",
         "label-10", "label-minus-1", "pixel-510", "count-mismatch"],
)
def test_wrong_arrays(sample_is_mnist, tmp_path, key, change, match):
    arrays = dict(sample_is_mnist)
    arrays[key] = change(arrays[key])
    path = save_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(MNISTFormatError, match=match):
        load_mnist(path)


def test_other_integer_dtypes_are_converted(sample_is_mnist, tmp_path, mnist_sample):
    arrays = {k: a.astype(np.int64) for k, a in sample_is_mnist.items()}
    assert_same(load_mnist(save_npz(tmp_path / "mnist.npz", arrays)), mnist_sample)


def test_digest_mismatch(sample_is_mnist, tmp_path):
    arrays = dict(sample_is_mnist)
    arrays["y_test"] = arrays["y_test"][::-1].copy()  # same labels, other order
    path = save_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(MNISTFormatError, match="y_test is not MNIST's.*verify=False"):
        load_mnist(path)
    _, (_, y_test) = load_mnist(path, verify=False)
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_folder_without_idx_files(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing here")
    with pytest.raises(MNISTFormatError, match=r"without the IDX files.*notes\.txt"):
        load_mnist(folder)


def test_truncated_idx(sample_is_mnist, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist)
    images = folder / IDX_NAMES["x_test"]
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(MNISTFormatError, match=r"t10k-images-idx3-ubyte holds .*"):
        load_mnist(folder)


def test_truncated_gzipped_idx(sample_is_mnist, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist, (True,) * 4)
    labels = folder / (IDX_NAMES["y_train"] + ".gz")
    labels.write_bytes(labels.read_bytes()[:-20])
    with pytest.raises(MNISTFormatError, match=r"idx1-ubyte\.gz could not be read"):
        load_mnist(folder)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (b"\x89PNG\r\n\x1a\n", "not an IDX file"),
        (struct.pack(">HBB", 0, 0x0D, 1), r"type code 0x0d"),
        (struct.pack(">HBB", 0, 0x08, 3), "with 3 dimensions; expected .* with 1"),
        (struct.pack(">HBB", 0, 0x08, 1) + b"\x00\x00", "IDX header is incomplete"),
    ],
    ids=["png", "float-idx", "images-as-labels", "short-header"],
)
def test_foreign_idx(sample_is_mnist, tmp_path, header, match):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist)
    (folder / IDX_NAMES["y_test"]).write_bytes(header)
    with pytest.raises(MNISTFormatError, match=match):
        load_mnist(folder)


def test_bad_keras_data_is_an_error_not_a_fallback(sample_is_mnist, monkeypatch):
    def load_data():
        s = sample_is_mnist
        return (s["x_train"].reshape(-1, 784), s["y_train"]), (s["x_test"], s["y_test"])

    for name, module in fake_keras(load_data).items():
        monkeypatch.setitem(sys.modules, name, module)
    with pytest.raises(MNISTFormatError, match=r"keras.*x_train has shape"):
        load_mnist()


def test_bad_openml_data(sample_is_mnist, monkeypatch):
    def fetch_openml(name, **kwargs):
        X, y = fake_openml_from(sample_is_mnist, [])(name, **kwargs)
        return X / 255, y  # scaled pixels are not MNIST's bytes

    monkeypatch.setattr(datasets, "fetch_openml", fetch_openml)
    with pytest.raises(MNISTFormatError, match="mnist_784: pixels are not whole"):
        load_mnist()


def test_no_warning_on_a_good_file(sample_is_mnist, sample_npz):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_mnist(sample_npz)


# ----------------------------------------------------------- hostile files
#
# Files built to exhaust the memory or to confuse the error messages.  Each
# must be refused with MNISTFormatError (or PermissionError) while skmlp
# allocates at most MNIST's own size: the sample's here, under 1 MB per array.

BOMB_BYTES = 128 * 2**20  # what each bomb expands to
MEMORY_BOUND = 16 * 2**20  # far below BOMB_BYTES, far above the sample's arrays


def refused_within_memory(path, match, error=MNISTFormatError):
    """load_mnist(path) raises ``error``; return its message and traced peak."""
    tracemalloc.start()
    try:
        with pytest.raises(error, match=match) as raised:
            load_mnist(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(raised.value), peak


def zeros_in_chunks(n_bytes, chunk=2**20):
    for _ in range(n_bytes // chunk):
        yield bytes(chunk)


def npy_bytes(shape, descr="|u1", fortran_order=False, data=b""):
    """An .npy file written from the format's description, independently of numpy."""
    header = (f"{{'descr': '{descr}', 'fortran_order': {fortran_order}, "
              f"'shape': {tuple(shape)!r}, }}")
    # Version 1.0: magic, version, little-endian uint16 header length; the
    # header is padded with spaces and a newline to a multiple of 64 bytes.
    padding = -(10 + len(header) + 1) % 64
    header = (header + " " * padding + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def write_npz_with(path, arrays, key, member_chunks):
    """A deflated .npz of ``arrays`` whose member ``key`` is ``member_chunks``."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            if name == key:
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    for chunk in member_chunks:
                        member.write(chunk)
            else:
                with archive.open(f"{name}.npy", "w") as member:
                    np.save(member, array)
    return path


def test_gzip_bomb_idx_is_refused_in_bounded_memory(sample_is_mnist, tmp_path):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist, (True,) * 4)
    bomb = folder / (IDX_NAMES["x_test"] + ".gz")
    # A true header, (1000, 28, 28), then 128 MiB of zeros: about 130 KB on disk.
    with gzip.open(bomb, "wb", compresslevel=9) as file:
        file.write(struct.pack(">HBB3I", 0, 0x08, 3, 1000, 28, 28))
        for chunk in zeros_in_chunks(BOMB_BYTES):
            file.write(chunk)
    assert bomb.stat().st_size < BOMB_BYTES / 500
    message, peak = refused_within_memory(folder, "holds more than the 784000 bytes")
    assert "t10k-images-idx3-ubyte.gz" in message
    assert peak < MEMORY_BOUND


def test_gzip_bomb_with_a_huge_header_is_refused_before_its_data(
    sample_is_mnist, tmp_path
):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist, (True,) * 4)
    bomb = folder / (IDX_NAMES["x_train"] + ".gz")
    with gzip.open(bomb, "wb", compresslevel=9) as file:
        file.write(struct.pack(">HBB3I", 0, 0x08, 3, 2**32 - 1, 28, 28))
        for chunk in zeros_in_chunks(BOMB_BYTES):
            file.write(chunk)
    message, peak = refused_within_memory(
        folder, r"announces shape \(4294967295, 28, 28\).*has 5000.*before reading"
    )
    assert "train-images-idx3-ubyte.gz" in message
    assert peak < MEMORY_BOUND


@pytest.mark.parametrize(
    ("key", "dims", "match"),
    [
        ("x_test", (2**32 - 1, 28, 28), r"\(4294967295, 28, 28\), 4294967295 samples"),
        # 1000 * 2**31 * 2**31 is 0 in int64 arithmetic: the product must not wrap.
        ("x_test", (1000, 2**31, 2**31), r"has shape \(1000, 2147483648, 2147483648\)"),
        ("x_test", (2**32 - 1,) * 3, r"expected \(n, 28, 28\)"),
        ("y_test", (2**32 - 1,), r"\(4294967295,\), 4294967295 samples.*has 1000"),
    ],
    ids=["many-images", "overflowing-product", "huge-images", "many-labels"],
)
def test_idx_header_with_huge_dimensions(sample_is_mnist, tmp_path, key, dims, match):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist)
    header = struct.pack(f">HBB{len(dims)}I", 0, 0x08, len(dims), *dims)
    (folder / IDX_NAMES[key]).write_bytes(header + bytes(100))
    _, peak = refused_within_memory(folder, match)
    assert peak < MEMORY_BOUND


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzipped"])
def test_idx_with_data_beyond_its_header_is_refused(
    sample_is_mnist, tmp_path, gzipped
):
    labels = sample_is_mnist["y_train"]
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist)
    data = struct.pack(">HBBI", 0, 0x08, 1, len(labels)) + labels.tobytes() + b"\x01"
    path = folder / IDX_NAMES["y_train"]
    if gzipped:
        path.unlink()
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    with pytest.raises(MNISTFormatError, match=r"idx1-ubyte(\.gz)? holds more than"):
        load_mnist(folder)


@pytest.mark.parametrize(
    ("key", "shape", "match"),
    [
        ("x_train", (10**12, 28, 28), r"x_train announces shape \(1000000000000, 28"),
        ("y_test", (10**12,), r"y_test announces shape \(1000000000000,\).*has 1000"),
        ("x_train", (5000, 10**6, 10**6), r"x_train has shape \(5000, 1000000, 10"),
    ],
    ids=["many-images", "many-labels", "huge-images"],
)
def test_npz_with_a_forged_header(sample_is_mnist, tmp_path, key, shape, match):
    path = write_npz_with(tmp_path / "mnist.npz", sample_is_mnist, key,
                          [npy_bytes(shape, data=bytes(1000))])
    _, peak = refused_within_memory(path, match)
    assert peak < MEMORY_BOUND


def test_npz_member_bomb_is_refused_in_bounded_memory(sample_is_mnist, tmp_path):
    # A true header, (1000, 28, 28) uint8, followed by 128 MiB of zeros.
    path = write_npz_with(
        tmp_path / "mnist.npz", sample_is_mnist, "x_test",
        [npy_bytes((1000, 28, 28)), *zeros_in_chunks(BOMB_BYTES)],
    )
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("x_test.npy").compress_size < BOMB_BYTES / 500
    _, peak = refused_within_memory(path, r"x_test holds more than the 784000 bytes")
    assert peak < MEMORY_BOUND


def test_npz_header_is_read_as_numpy_writes_it(sample_is_mnist, tmp_path, mnist_sample):
    # The forged members above are refused for what they say, not for their form:
    # the same hand-made header with true data loads.
    arrays = sample_is_mnist
    member = npy_bytes(arrays["y_test"].shape, data=arrays["y_test"].tobytes())
    path = write_npz_with(tmp_path / "mnist.npz", arrays, "y_test", [member])
    assert_same(load_mnist(path), mnist_sample)


def test_fortran_ordered_npz_arrays_are_read_in_their_order(
    sample_is_mnist, tmp_path, mnist_sample
):
    arrays = {key: np.asfortranarray(a) for key, a in sample_is_mnist.items()}
    assert_same(load_mnist(save_npz(tmp_path / "mnist.npz", arrays)), mnist_sample)


def test_object_array_in_npz_is_named_not_called_truncated(tmp_path, sample):
    arrays = dict(sample)
    arrays["y_train"] = arrays["y_train"].astype(object)
    path = save_npz(tmp_path / "mnist.npz", arrays)
    with pytest.raises(MNISTFormatError, match="y_train is an array of Python obj"):
        load_mnist(path)
    with pytest.raises(MNISTFormatError) as error:
        load_mnist(path)
    assert "truncated" not in str(error.value)
    assert "allow_pickle=True" in str(error.value)


def test_encrypted_npz_member_is_a_format_error(sample_is_mnist, sample_npz):
    # Set the "encrypted" flag of the first member in the central directory.
    data = bytearray(sample_npz.read_bytes())
    entry = data.index(b"PK\x01\x02")
    data[entry + 8] |= 0x01
    sample_npz.write_bytes(bytes(data))
    with pytest.raises(MNISTFormatError, match=r"mnist\.npz could not be read.*encr"):
        load_mnist(sample_npz)


# ----------------------------------------------------------- permissions


def deny_reading(monkeypatch, denied):
    """Make Path.open fail on ``denied`` as it does on a mode-000 file."""
    real_open = pathlib.Path.open

    def open_unless_denied(self, *args, **kwargs):
        if self == denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", open_unless_denied)


@pytest.mark.parametrize("source", ["npz", "idx", "idx.gz"])
def test_unreadable_file_is_a_permission_error(
    sample_is_mnist, tmp_path, monkeypatch, source
):
    if source == "npz":
        path = denied = save_npz(tmp_path / "mnist.npz", sample_is_mnist)
    else:
        gzipped = (source == "idx.gz",) * 4
        path = write_idx_folder(tmp_path / "idx", sample_is_mnist, gzipped)
        denied = path / (IDX_NAMES["y_test"] + (".gz" if gzipped[0] else ""))
    deny_reading(monkeypatch, denied)
    with pytest.raises(PermissionError) as error:
        load_mnist(path)
    assert not isinstance(error.value, MNISTFormatError)
    assert error.value.filename == str(denied)
    assert str(denied) in str(error.value) and "chmod" in str(error.value)
    assert "truncated" not in str(error.value)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads a mode-000 file; the monkeypatched variant above runs instead",
)
def test_mode_000_file_is_a_permission_error(sample_is_mnist, tmp_path):
    path = save_npz(tmp_path / "mnist.npz", sample_is_mnist)
    path.chmod(0)
    try:
        with pytest.raises(PermissionError, match="mnist.npz"):
            load_mnist(path)
    finally:
        path.chmod(0o600)


# ----------------------------------------------------- other kinds of entry


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_name_that_is_a_folder(sample_is_mnist, tmp_path, suffix):
    folder = write_idx_folder(tmp_path / "idx", sample_is_mnist)
    (folder / IDX_NAMES["x_train"]).unlink()
    (folder / (IDX_NAMES["x_train"] + suffix)).mkdir()
    with pytest.raises(MNISTFormatError, match=rf"idx3-ubyte{suffix} is not a file"):
        load_mnist(folder)


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null here")
def test_device_is_neither_file_nor_folder():
    with pytest.raises(MNISTFormatError, match="/dev/null .*neither a file nor"):
        load_mnist("/dev/null")
