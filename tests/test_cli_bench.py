"""``skmlp bench`` as a command: its options, errors and exit statuses are the
other commands' (the argument types are checked in test_cli.py's
test_bad_arguments).  Tiny sizes; no timing is asserted."""

import json
import sys

import pytest

import skmlp
import skmlp.nn.fast
from skmlp._machine import blas_info
from skmlp.cli import EXIT_INTERRUPTED

TINY = ["--sample", "--n-samples", "100", "--epochs", "1", "--repeats", "1",
        "--batch-size", "50", "--hidden", "16", "8", "--dtype", "float32",
        "--no-memory"]


def test_bench_prints_a_table_and_writes_json(run_cli, tmp_path):
    path = tmp_path / "bench.json"
    before = blas_info()
    status, table, stderr = run_cli("bench", *TINY, "--no-torch", "--threads", "1",
                                    "--seed", "3", "--setting", "notebook",
                                    "--json", path)
    assert status == 0, stderr
    for word in ("floor", "skmlp", "sklearn", "s/epoch", "skmlp/floor", "BLAS"):
        assert word in table
    assert "torch " not in table.split("implementation")[1]
    assert "adam-floor" not in table
    settings = json.loads(path.read_text())["settings"]
    assert list(settings) == ["notebook"]
    report = settings["notebook"]
    assert set(report) == {"config", "machine", "memory_method", "results", "ratios"}
    assert [row["implementation"] for row in report["results"]] == [
        "floor", "skmlp", "sklearn"]
    config = report["config"]
    assert config["n_samples"] == 100 and config["hidden_layers"] == [16, 8]
    assert config["seed"] == 3 and config["source"] == "sample"
    assert config["sklearn_nesterovs_momentum"] is True
    # --threads 1 held while timing, recorded with the machine, released after.
    assert config["threads"] == 1
    assert {pool["num_threads"] for pool in report["machine"]["blas"]} == {1}
    assert blas_info() == before
    assert report["machine"]["versions"]["skmlp"] == skmlp.__version__


def test_bench_runs_without_torch(run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails
    status, table, stderr = run_cli("bench", *TINY)  # no --no-torch
    assert status == 0, stderr
    rows = table.split("implementation")[1]
    assert "skmlp" in rows and "sklearn" in rows and "torch" not in rows


def test_bench_help_describes_the_implementations(run_cli):
    status, stdout, _ = run_cli("bench", "--help")
    assert status == 0 and stdout.startswith("usage: skmlp bench")
    assert "--mnist PATH | --sample" in stdout
    assert "floor" in stdout and "round-robin" in stdout


def test_bench_bad_mnist_is_a_usage_error(run_cli, tmp_path):
    status, stdout, stderr = run_cli("bench", "--mnist", tmp_path / "nowhere.npz")
    assert status == 2 and stdout == ""
    assert stderr.count("\n") == 1
    assert stderr.startswith("skmlp bench: error: argument --mnist:")
    assert "does not exist" in stderr


def test_bench_bad_environment_variable_is_a_failure(run_cli, tmp_path,
                                                     monkeypatch):
    monkeypatch.setenv("SKMLP_MNIST", str(tmp_path / "nowhere.npz"))
    status, _, stderr = run_cli("bench", "--no-memory")
    assert status == 1 and stderr.count("\n") == 1
    assert stderr.startswith("skmlp bench: error:") and "nowhere.npz" in stderr


def test_bench_json_into_a_missing_folder_fails_before_timing(run_cli, tmp_path,
                                                              monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("benchmarked although the results cannot be written")

    monkeypatch.setattr(skmlp.nn.fast, "train_epoch", no_training)
    status, _, stderr = run_cli("bench", *TINY, "--json",
                                tmp_path / "missing" / "bench.json")
    assert status == 2 and stderr.count("\n") == 1
    assert stderr.startswith("skmlp bench: error: argument --json:")
    assert "does not exist" in stderr


# Epoch 1 is skmlp's warm-up fit (one epoch), epoch 3 the second of its timed fit.
@pytest.mark.parametrize("epoch", [1, 3])
def test_ctrl_c_stops_the_benchmark(run_cli, interrupt_epoch, epoch):
    # skmlp's fit keeps its last epoch and raises Ctrl-C again; the benchmark
    # stops rather than time a fit cut short.
    interrupt_epoch(epoch)
    status, stdout, stderr = run_cli("bench", *TINY, "--epochs", "2")
    assert status == EXIT_INTERRUPTED
    assert stderr == "skmlp bench: interrupted\n"
    assert "s/epoch" not in stdout


def test_bench_times_both_settings_by_default(run_cli, tmp_path):
    path = tmp_path / "bench.json"
    argv = [arg for arg in TINY if arg not in ("--batch-size", "50")]
    status, stdout, stderr = run_cli("bench", *argv, "--no-torch", "--json", path)
    assert status == 0, stderr
    assert "setting 'notebook'" in stdout and "setting 'default'" in stdout
    assert "skmlp/adam-floor" in stdout
    settings = json.loads(path.read_text())["settings"]
    assert list(settings) == ["notebook", "default"]
    assert settings["notebook"]["config"]["batch_size"] == 1000
    assert settings["default"]["config"]["batch_size"] == 128
    assert settings["default"]["config"]["solver"] == "adam"


def test_bench_time_to_accuracy(run_cli, tmp_path):
    path = tmp_path / "accuracy.json"
    status, stdout, stderr = run_cli("bench", "--sample", "--time-to-accuracy",
                                     "--max-epochs", "1", "--hidden", "4",
                                     "--no-torch", "--threads", "1", "--json", path)
    assert status == 0, stderr
    assert "time to accuracy" in stdout and "s/epoch" not in stdout
    report = json.loads(path.read_text())
    assert [(row["pair"], row["implementation"]) for row in report["results"]] == [
        ("1-5", "skmlp"), ("1-5", "sklearn"), ("4-9", "skmlp"), ("4-9", "sklearn")]
    assert report["config"]["targets"] == {"1-5": 0.995, "4-9": 0.99}
    for row in report["results"]:
        if row["implementation"] == "sklearn":
            assert len(row["accuracy_curve"]) == 1  # --max-epochs 1
