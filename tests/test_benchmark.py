"""``skmlp bench`` at a tiny size: it runs every implementation, and its table
and JSON hold what they promise.  No timing is asserted: the figures depend
on the machine; the benchmark itself is for comparing them."""

import argparse
import json

import numpy as np
import pytest

from skmlp import benchmark

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


def test_command_prints_a_table_and_writes_json(tmp_path, capsys):
    parser = benchmark.add_arguments(argparse.ArgumentParser())
    path = tmp_path / "bench.json"
    before = benchmark.machine_info()["blas"]
    args = parser.parse_args([
        "--sample", "--n-samples", "100", "--epochs", "1", "--repeats", "1",
        "--batch-size", "50", "--dtype", "float32", "--no-torch", "--no-memory",
        "--threads", "1", "--json", str(path),
    ])
    assert benchmark.run(args) == 0
    table = capsys.readouterr().out
    for word in ("floor", "skmlp", "sklearn", "s/epoch", "skmlp/floor", "BLAS"):
        assert word in table
    assert "torch " not in table.split("implementation")[1]
    report = json.loads(path.read_text())
    assert set(report) == {"config", "machine", "memory_method", "results", "ratios"}
    assert [row["implementation"] for row in report["results"]] == [
        "floor", "skmlp", "sklearn"]
    assert report["config"]["n_samples"] == 100
    assert report["config"]["sklearn_nesterovs_momentum"] is True
    # --threads 1 held while timing, and released after.
    assert report["config"]["threads"] == 1
    assert {pool["num_threads"] for pool in report["machine"]["blas"]} == {1}
    assert benchmark.machine_info()["blas"] == before


def test_command_rejects_bad_sizes(capsys):
    parser = benchmark.add_arguments(argparse.ArgumentParser())
    assert benchmark.run(parser.parse_args(["--sample", "--epochs", "0"])) == 2
    assert "--epochs" in capsys.readouterr().err
    assert benchmark.run(parser.parse_args(["--sample", "--threads", "0"])) == 2
    assert "--threads" in capsys.readouterr().err
