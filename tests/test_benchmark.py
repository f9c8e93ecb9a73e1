"""skmlp.benchmark at a tiny size: it runs every implementation, and its report
holds what it promises (the command, ``skmlp bench``, is tested in
test_cli_bench.py).  No timing is asserted: the figures depend on the machine;
the benchmark itself is for comparing them."""

import numpy as np
import pytest

from skmlp import benchmark, load_mnist_sample

TINY = dict(epochs=1, repeats=2, n_samples=120, batch_size=50,
            hidden_layers=(24, 12), source="sample", warmup=False)


def _rows(report):
    return {(row["implementation"], row["dtype"]): row for row in report["results"]}


def test_load_digit_pair_selects_and_scales():
    X, y = benchmark.load_digit_pair(n_samples=300, dtype="float64", source="sample")
    assert X.shape == (300, 784) and X.dtype == np.float64 and X.flags.c_contiguous
    assert set(np.unique(y)) == {0, 1}
    # ImageVectorizer's 'max': every non-blank image reaches 1 exactly.
    assert X.min() == 0 and np.all(X.max(axis=1) == 1)


def test_load_digit_pair_takes_mnist_already_loaded():
    # source='mnist' would read the full MNIST; the images given win.
    X, y = benchmark.load_digit_pair(n_samples=300, mnist=load_mnist_sample())
    X_sample, y_sample = benchmark.load_digit_pair(n_samples=300, source="sample")
    np.testing.assert_array_equal(X, X_sample)
    np.testing.assert_array_equal(y, y_sample)


def test_load_digit_pair_reads_full_mnist(mnist_full_path):
    X, y = benchmark.load_digit_pair(dtype="float32", path=mnist_full_path)
    # MNIST's training set has 6742 ones and 5421 fives.
    assert X.shape == (6742 + 5421, 784) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [6742, 5421]


def test_run_benchmark_reports_every_implementation():
    report = benchmark.run_benchmark(**TINY, dtypes=("float32", "float64"),
                                     torch=False, memory=False)
    rows = _rows(report)
    assert set(rows) == {(name, dtype) for name in ("floor", "skmlp", "sklearn")
                         for dtype in ("float32", "float64")}
    for (name, dtype), row in rows.items():
        assert len(row["epoch_seconds"]) == TINY["repeats"]
        assert row["seconds_per_epoch"] == np.median(row["epoch_seconds"]) > 0
        # The median over rounds of the ratio within each round.
        skmlp = rows["skmlp", dtype]["epoch_seconds"]
        assert row["ratio_to_skmlp"] == pytest.approx(
            np.median(np.divide(row["epoch_seconds"], skmlp)))
        assert row["predict_images_per_second"] > 0
        assert row["peak_memory_mb"] is None
        if name == "floor":
            assert row["train_accuracy"] is None
        else:
            assert 0 <= row["train_accuracy"] <= 1
    assert rows["skmlp", "float32"]["ratio_to_skmlp"] == 1
    for dtype in ("float32", "float64"):
        assert set(report["ratios"][dtype]) == {"skmlp/floor", "skmlp/sklearn"}
        assert report["ratios"][dtype]["skmlp/floor"] == pytest.approx(np.median(
            np.divide(rows["skmlp", dtype]["epoch_seconds"],
                      rows["floor", dtype]["epoch_seconds"])))
    config = report["config"]
    assert config["n_samples"] == 120 and config["n_features"] == 784
    assert config["hidden_layers"] == (24, 12)
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["cpu"]
    assert machine["blas"] and all(pool["num_threads"] >= 1 for pool in machine["blas"])


def test_peak_memory_is_measured_per_implementation():
    report = benchmark.run_benchmark(**{**TINY, "repeats": 1}, dtypes=("float32",),
                                     torch=False, memory=True)
    assert report["memory_method"] == benchmark.memory_method()
    peaks = {row["implementation"]: row["peak_memory_mb"] for row in report["results"]}
    # Each fit allocates at least its weights: 784 x 24 float32 is 73 kB.
    assert all(peak > 784 * 24 * 4 / 2**20 for peak in peaks.values()), peaks


def test_torch_is_benchmarked_when_installed():
    pytest.importorskip("torch")
    report = benchmark.run_benchmark(**{**TINY, "repeats": 1}, dtypes=("float32",),
                                     torch=True, memory=False)
    rows = _rows(report)
    assert ("torch", "float32") in rows
    assert 0 <= rows["torch", "float32"]["train_accuracy"] <= 1
    assert "skmlp/torch" in report["ratios"]["float32"]
    assert report["machine"]["torch"]
