"""The ``skmlp`` command, run in-process through ``main`` and once as a process.

Every run uses tiny networks and one or two epochs: these tests check what
the command does (files, tables, exit statuses, messages), not how well it
learns.
"""

import csv
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.image import imread

import skmlp._network
from skmlp import ScratchMLPClassifier, load_mnist_sample
from skmlp.cli import ALL_PAIRS, EXIT_INTERRUPTED, NOTEBOOK_ACCURACY, main
from skmlp.persistence import load

TINY = ["--hidden", "8", "--epochs", "2"]
HAS_BENCHMARK = importlib.util.find_spec("skmlp.benchmark") is not None


def run(capsys, *argv):
    """``main(argv)`` -> (status, stdout, stderr)."""
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def read_json(path):
    return json.loads(path.read_text())


def read_csv(path):
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def assert_png(path):
    image = imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100


@pytest.fixture
def interrupt_epoch(monkeypatch):
    """Make the n-th epoch of training (1-based) raise KeyboardInterrupt."""
    def arm(n):
        train_epoch = skmlp._network.train_epoch
        calls = []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return train_epoch(*args, **kwargs)

        monkeypatch.setattr(skmlp._network, "train_epoch", interrupted)
    return arm


# -------------------------------------------------------------------- train


def test_train_smoke_on_the_sample(capsys, tmp_path):
    out = tmp_path / "run"
    model_file = tmp_path / "model.joblib"
    status, stdout, _ = run(capsys, "train", "--sample", "--digits", "1", "5", *TINY,
                            "--seed", "0", "--out", out, "--save", model_file)
    assert status == 0
    report = read_json(out / "run.json")
    accuracy = float(re.search(r"Test accuracy: ([\d.]+) %", stdout).group(1))
    assert accuracy == pytest.approx(100 * report["accuracy"], abs=0.005)
    assert report["accuracy"] > 0.9
    # The confusion matrix, as text and in run.json, adds up to the test set.
    matrix = np.array(report["confusion_matrix"]["matrix"])
    assert report["confusion_matrix"]["labels"] == [1, 5]
    assert matrix.sum() == report["data"]["n_test"] == 200
    assert np.trace(matrix) / matrix.sum() == pytest.approx(report["accuracy"])
    for label, row in zip((1, 5), matrix, strict=True):
        assert re.search(rf"^\s*{label}\s+{row[0]}\s+{row[1]}\s*$", stdout, re.M)
    # The notebook's curves, one value per epoch.
    assert report["n_iter"] == 2
    assert len(report["curves"]["cost"]) == len(report["curves"]["weight_change"]) == 2
    assert report["timings"]["fit_seconds"] > 0
    assert report["environment"]["versions"]["skmlp"] == skmlp.__version__
    for name in ("training-curves.png", "confusion-matrix.png"):
        assert_png(out / name)
    # The saved pipeline predicts images directly, as accurately as reported.
    model = load(model_file)
    (_, _), (x_test, y_test) = load_mnist_sample()
    pair = np.isin(y_test, [1, 5])
    assert model.score(x_test[pair], y_test[pair]) == report["accuracy"]


def test_train_passes_only_the_options_given(capsys, tmp_path):
    status, _, _ = run(capsys, "train", "--sample", "--hidden", "8", "4",
                       "--epochs", "1", "--out", tmp_path)
    assert status == 0
    parameters = read_json(tmp_path / "run.json")["parameters"]
    assert parameters["given"] == {"hidden_layers": [8, 4], "epochs": 1}
    defaults = ScratchMLPClassifier().get_params()
    for name in ("eta", "batch_size", "solver", "random_state"):
        assert parameters["classifier"][name] == defaults[name]


@pytest.mark.mnist_full
def test_train_smoke_on_full_mnist(capsys, tmp_path, mnist_full_path):
    status, stdout, _ = run(capsys, "train", "--mnist", mnist_full_path, "--digits",
                            "4", "7", "--hidden", "16", "--epochs", "1", "--seed", "0",
                            "--out", tmp_path)
    assert status == 0
    report = read_json(tmp_path / "run.json")
    # MNIST's 4s and 7s: 5842 + 6265 training, 982 + 1028 test images.
    assert report["data"]["n_train"] == 5842 + 6265
    assert report["data"]["n_test"] == 982 + 1028
    assert report["accuracy"] > 0.95
    assert "Test accuracy" in stdout


def test_train_says_why_it_stopped_early(capsys, tmp_path, monkeypatch):
    defaults = {**ScratchMLPClassifier.__init__.__kwdefaults__,
                "tol": 1.0, "n_iter_no_change": 1}
    monkeypatch.setattr(ScratchMLPClassifier.__init__, "__kwdefaults__", defaults)
    status, stdout, _ = run(capsys, "train", "--sample", "--hidden", "8",
                            "--epochs", "5", "--out", tmp_path)
    assert status == 0
    # The first epoch improves on nothing; the stop comes when more than
    # n_iter_no_change epochs after it did not improve (scikit-learn's rule).
    assert ("Stopped after 3 of 5 epochs: the training cost improved by less than "
            "tol=1 for n_iter_no_change=1 epochs.") in stdout
    assert read_json(tmp_path / "run.json")["n_iter"] == 3


def test_train_saves_skops(capsys, tmp_path):
    pytest.importorskip("skops")
    status, _, _ = run(capsys, "train", "--sample", *TINY, "--seed", "0",
                       "--out", tmp_path, "--save", tmp_path / "model.skops")
    assert status == 0
    model = load(tmp_path / "model.skops")
    assert list(model.classes_) == [1, 5]


def test_train_default_out_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "train", "--sample", *TINY)[0] == 0
    assert run(capsys, "train", "--sample", *TINY)[0] == 0
    # Two runs, two folders, even within the same second.
    runs = sorted((tmp_path / "skmlp-runs").iterdir())
    assert len(runs) == 2
    assert all((folder / "run.json").is_file() for folder in runs)


# ------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--digits", "1", "10"], "'10' is not a digit from 0 to 9"),
        (["train", "--digits", "-1", "5"], "is not a digit from 0 to 9"),
        (["train", "--digits", "3", "3"], "the two digits must differ"),
        (["train", "--digits", "3"], "expected 2 arguments"),
        (["train", "--hidden", "500,abc"], "'500,abc' is not a list of layer sizes"),
        (["train", "--hidden", "500,,250"], "is not a list of layer sizes"),
        (["train", "--hidden", "0"], "'0' is not a list of layer sizes"),
        (["train", "--eta", "0"], "'0' is not a positive number"),
        (["train", "--eta", "-0.1"], "is not a positive number"),
        (["train", "--eta", "inf"], "'inf' is not a positive number"),
        (["train", "--batch-size", "0"], "'0' is not a positive integer"),
        (["train", "--epochs", "-3"], "is not a positive integer"),
        (["train", "--epochs", "2.5"], "'2.5' is not a positive integer"),
        (["train", "--seed", "-1"], "is not a seed"),
        (["train", "--sample", "--mnist", "x.npz"], "not allowed with"),
        (["grid", "--eta", "0.01", "0"], "'0' is not a positive number"),
        (["grid", "--hidden", "500,250", "500;250"], "is not a list of layer sizes"),
        (["grid", "--batch-size", "1000", "-5"], "is not a positive integer"),
        (["grid", "--scheduler", "tcp://h:8786", "--local-cluster", "2"],
         "not allowed with"),
        (["pairs", "--pairs", "4-4"], "'4-4' pairs a digit with itself"),
        (["pairs", "--pairs", "4-11"], "'11' is not a digit"),
        (["pairs", "--pairs", "47"], "'47' is not a pair of digits"),
        (["pairs", "--all", "--pairs", "1-7"], "not allowed with"),
        (["show", "--n", "0"], "'0' is not a positive integer"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments(capsys, argv, message):
    status, stdout, stderr = run(capsys, *argv)
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and message in stderr
    assert stderr.startswith("skmlp")


def test_unreadable_mnist_file(capsys, tmp_path):
    garbage = tmp_path / "mnist.npz"
    garbage.write_bytes(b"not an npz file" * 100)
    status, _, stderr = run(capsys, "train", "--mnist", garbage, "--out", tmp_path)
    assert status == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("skmlp train: error: argument --mnist:")
    assert "not an .npz file" in stderr


def test_truncated_mnist_file(capsys, tmp_path):
    from importlib import resources

    sample = resources.files("skmlp").joinpath("data", "mnist_sample.npz").read_bytes()
    truncated = tmp_path / "mnist.npz"
    truncated.write_bytes(sample[: len(sample) // 2])
    status, _, stderr = run(capsys, "train", "--mnist", truncated, "--out", tmp_path)
    assert status == 2 and stderr.count("\n") == 1
    assert str(truncated) in stderr


def test_missing_mnist_file(capsys, tmp_path):
    status, _, stderr = run(capsys, "show", "--mnist", tmp_path / "nowhere.npz",
                            "--out", tmp_path)
    assert status == 2 and stderr.count("\n") == 1
    assert "does not exist" in stderr


def test_bad_environment_variable_is_not_a_usage_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKMLP_MNIST", str(tmp_path / "nowhere.npz"))
    status, _, stderr = run(capsys, "train")
    assert status == 1 and stderr.count("\n") == 1
    assert "nowhere.npz" in stderr
    assert not (tmp_path / "skmlp-runs").exists()  # no empty run folder


def test_show_more_images_than_there_are(capsys, tmp_path):
    status, _, stderr = run(capsys, "show", "--sample", "--n", "5001",
                            "--out", tmp_path / "digits")
    assert status == 2 and "at most 5000 images" in stderr
    assert not (tmp_path / "digits").exists()


def test_save_into_a_missing_folder_fails_before_training(capsys, tmp_path,
                                                          monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although the model cannot be saved")

    monkeypatch.setattr(skmlp._network, "train_epoch", no_training)
    status, _, stderr = run(capsys, "train", "--sample", *TINY, "--out", tmp_path,
                            "--save", tmp_path / "missing" / "model.joblib")
    assert status == 2 and stderr.count("\n") == 1
    assert "does not exist" in stderr


def test_as_a_process_no_traceback():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "skmlp", "train", "--digits", "1", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("skmlp train: error:")


def test_version_and_help(capsys):
    status, stdout, _ = run(capsys, "--version")
    assert status == 0 and stdout.strip() == f"skmlp {skmlp.__version__}"
    status, stdout, _ = run(capsys, "train", "--help")
    assert status == 0 and "--digits" in stdout and "--save" in stdout


# --------------------------------------------------------------------- show


def shown(stdout):
    """The (index, label) rows of show's table."""
    return re.findall(r"^\s*(\d+)\s+(\d)\s*$", stdout, re.M)


def test_show(capsys, tmp_path):
    _, seeded, _ = run(capsys, "show", "--sample", "--n", "7", "--seed", "3",
                       "--out", tmp_path / "a")
    _, again, _ = run(capsys, "show", "--sample", "--n", "7", "--seed", "3",
                      "--out", tmp_path / "b")
    _, unseeded, _ = run(capsys, "show", "--sample", "--n", "7",
                         "--out", tmp_path / "c")
    _, other, _ = run(capsys, "show", "--sample", "--n", "7",
                      "--out", tmp_path / "d")
    assert len(shown(seeded)) == 7
    assert shown(seeded) == shown(again)
    assert shown(unseeded) != shown(other)  # a new draw on every run
    (x_train, y_train), _ = load_mnist_sample()
    for index, label in shown(seeded):
        assert y_train[int(index)] == int(label)
    assert_png(tmp_path / "a" / "digits.png")


# --------------------------------------------------------------------- grid


def test_grid(capsys, tmp_path):
    status, stdout, _ = run(capsys, "grid", "--sample", "--eta", "0.01", "0.001",
                            "--hidden", "8", "8,4", "--epochs", "1", "--cv", "2",
                            "--seed", "0", "--out", tmp_path)
    assert status == 0
    rows = read_csv(tmp_path / "cv_results.csv")
    assert len(rows) == 4
    assert {row["eta"] for row in rows} == {"0.01", "0.001"}
    assert {row["hidden_layers"] for row in rows} == {"8", "8,4"}
    best = min(rows, key=lambda row: int(row["rank_test_score"]))
    assert float(best["mean_test_score"]) == max(
        float(row["mean_test_score"]) for row in rows)
    # The table lists the candidates best first.
    table = re.findall(r"^\s*(\d)\s+(0\.0?01)\s+([\d,]+)\s+1\s+([\d.]+)", stdout, re.M)
    assert len(table) == 4
    scores = [float(score) for *_, score in table]
    assert scores == sorted(scores, reverse=True)
    report = read_json(tmp_path / "grid.json")
    assert report["best_params"]["eta"] in (0.01, 0.001)
    assert report["best_cv_accuracy"] == pytest.approx(scores[0], abs=1e-4)
    assert 0.5 < report["test_accuracy"] <= 1
    assert f"test accuracy {100 * report['test_accuracy']:.2f} %" in stdout


def test_grid_without_dask(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    status, _, stderr = run(capsys, "grid", "--sample", "--epochs", "1",
                            "--local-cluster", "1", "--out", tmp_path)
    assert status == 1
    assert stderr.count("\n") == 1 and "dask" in stderr.lower()
    assert "pip install" in stderr


def test_grid_on_dask_refuses_one_job(capsys, tmp_path):
    # joblib would run n_jobs=1 in this process and leave the cluster idle.
    status, _, stderr = run(capsys, "grid", "--sample", "--epochs", "1",
                            "--local-cluster", "2", "--n-jobs", "1", "--out", tmp_path)
    assert status == 1
    assert stderr.count("\n") == 1 and "--n-jobs" in stderr


# -------------------------------------------------------------------- pairs


def test_pairs(capsys, tmp_path):
    status, stdout, _ = run(capsys, "pairs", "--sample", "--pairs", "1-5", "7-1",
                            "3-8", *TINY, "--out", tmp_path)
    assert status == 0
    rows = read_csv(tmp_path / "pairs.csv")
    assert [row["pair"] for row in rows] == ["1-5", "1-7", "3-8"]
    assert rows[0]["notebook"] == str(NOTEBOOK_ACCURACY[1, 5])
    assert rows[2]["notebook"] == ""
    report = read_json(tmp_path / "pairs.json")
    accuracies = [result["accuracy"] for result in report["results"]]
    assert report["summary"]["mean"] == pytest.approx(np.mean(accuracies))
    assert report["summary"]["min"] == min(accuracies)
    assert report["parameters"]["given"]["random_state"] == 0  # pairs' default seed
    for row, accuracy in zip(rows, accuracies, strict=True):
        assert re.search(rf"^\s*{row['pair']}\s+{100 * accuracy:.2f} %", stdout, re.M)
    assert "99.65 %" in stdout  # the notebook's figure beside 1-5
    assert_png(tmp_path / "pairs.png")


def test_pairs_default_is_the_notebooks(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(skmlp.cli, "_train_pair", lambda data, pair, params: (
        {"pair": f"{pair[0]}-{pair[1]}", "d1": pair[0], "d2": pair[1],
         "accuracy": 0.5, "notebook": NOTEBOOK_ACCURACY.get(pair), "n_train": 1,
         "n_test": 1, "n_iter": 1, "fit_seconds": 0.0}, None))
    assert run(capsys, "pairs", "--sample", "--out", tmp_path)[0] == 0
    pairs = [tuple(map(int, row["pair"].split("-")))
             for row in read_csv(tmp_path / "pairs.csv")]
    assert pairs == list(NOTEBOOK_ACCURACY)


def test_pairs_all(capsys, tmp_path):
    status, stdout, _ = run(capsys, "pairs", "--sample", "--all", "--hidden", "4",
                            "--epochs", "1", "--batch-size", "500", "--out", tmp_path)
    assert status == 0
    rows = read_csv(tmp_path / "pairs.csv")
    assert [(int(row["d1"]), int(row["d2"])) for row in rows] == ALL_PAIRS
    assert "Mean over 45 pair(s)" in stdout
    assert_png(tmp_path / "pairs.png")


# ------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_during_train_reports_the_last_epoch(capsys, tmp_path,
                                                    interrupt_epoch):
    interrupt_epoch(2)
    model_file = tmp_path / "model.joblib"
    status, stdout, stderr = run(capsys, "train", "--sample", "--hidden", "8",
                                 "--epochs", "3", "--out", tmp_path,
                                 "--save", model_file)
    assert status == EXIT_INTERRUPTED
    assert "after 1 epoch(s) of 3" in stdout
    assert "Interrupted: training stopped after 1 of 3 epoch(s)" in stderr
    assert "Traceback" not in stderr
    report = read_json(tmp_path / "run.json")
    assert report["interrupted"] is True and report["n_iter"] == 1
    assert len(report["curves"]["cost"]) == 1
    assert not model_file.exists()  # a partly trained model is not saved


def test_ctrl_c_in_the_first_epoch(capsys, tmp_path, interrupt_epoch):
    interrupt_epoch(1)
    status, _, stderr = run(capsys, "train", "--sample", *TINY, "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "nothing to evaluate" in stderr
    assert not (tmp_path / "run.json").exists()


def test_ctrl_c_during_pairs_reports_the_pairs_done(capsys, tmp_path,
                                                    interrupt_epoch):
    interrupt_epoch(4)  # the second epoch of the second pair
    status, stdout, stderr = run(capsys, "pairs", "--sample", "--pairs", "1-5",
                                 "1-7", "4-9", *TINY, "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "Interrupted while training 1-7 (after 1 epoch(s)); 1 of 3 pair(s) " \
           "finished" in stderr
    assert [row["pair"] for row in read_csv(tmp_path / "pairs.csv")] == ["1-5"]
    assert read_json(tmp_path / "pairs.json")["interrupted"] is True
    assert "Mean over 1 pair(s)" in stdout


def test_ctrl_c_stops_the_whole_grid(capsys, tmp_path, monkeypatch):
    # A real SIGINT: the classifier alone would keep its last epoch and the
    # search would go on with the next fit.
    handler_before = signal.getsignal(signal.SIGINT)
    train_epoch = skmlp._network.train_epoch
    calls = []

    def sigint(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(skmlp._network, "train_epoch", sigint)
    status, _, stderr = run(capsys, "grid", "--sample", "--eta", "0.01", "0.001",
                            "--hidden", "8", "--epochs", "2", "--cv", "2",
                            "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "Interrupted: the search stopped" in stderr
    assert len(calls) == 2  # no fit ran after Ctrl-C
    assert not (tmp_path / "cv_results.csv").exists()
    # The command restores whatever handler was in place (a process started
    # with SIGINT ignored, under nohup or in the background, has SIG_IGN).
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_ctrl_c_while_loading(capsys, tmp_path, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(skmlp.cli, "load_mnist_sample", interrupted)
    status, _, stderr = run(capsys, "show", "--sample", "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert stderr == "skmlp show: interrupted\n"


# -------------------------------------------------------------------- bench


@pytest.mark.skipif(not HAS_BENCHMARK, reason="skmlp.benchmark is absent")
def test_bench_is_registered(capsys):
    status, stdout, _ = run(capsys, "bench", "--help")
    assert status == 0 and stdout.startswith("usage: skmlp bench")


def test_no_bench_without_its_module(capsys, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: (
        None if name == "skmlp.benchmark" else find_spec(name, *args)))
    status, _, stderr = run(capsys, "bench")
    assert status == 2 and "invalid choice" in stderr
