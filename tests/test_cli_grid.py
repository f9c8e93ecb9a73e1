"""``skmlp grid``: the ranked table, cv_results.csv, Dask's options and Ctrl-C."""

import csv
import json
import os
import re
import signal
import sys

import pytest

import skmlp.nn.fast
from skmlp.cli import EXIT_INTERRUPTED


def _read_json(path):
    return json.loads(path.read_text())


def _read_csv(path):
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_grid(run_cli, tmp_path):
    status, stdout, _ = run_cli("grid", "--sample", "--eta", "0.01", "0.001",
                                "--hidden", "8", "8,4", "--epochs", "1", "--cv", "2",
                                "--seed", "0", "--out", tmp_path)
    assert status == 0
    rows = _read_csv(tmp_path / "cv_results.csv")
    assert len(rows) == 4
    assert {row["eta"] for row in rows} == {"0.01", "0.001"}
    assert {row["hidden_layers"] for row in rows} == {"8", "8,4"}
    best = min(rows, key=lambda row: int(row["rank_test_score"]))
    assert float(best["mean_test_score"]) == max(
        float(row["mean_test_score"]) for row in rows)
    # The table lists the candidates best first.
    # Columns: rank, hidden_layers, eta, epochs, then the scores.
    table = re.findall(r"^\s*(\d)\s+([\d,]+)\s+(0\.0?01)\s+1\s+([\d.]+)", stdout, re.M)
    assert len(table) == 4
    scores = [float(score) for *_, score in table]
    assert scores == sorted(scores, reverse=True)
    report = _read_json(tmp_path / "grid.json")
    assert report["best_params"]["eta"] in (0.01, 0.001)
    assert report["best_cv_accuracy"] == pytest.approx(scores[0], abs=1e-4)
    assert 0.5 < report["test_accuracy"] <= 1
    assert f"test accuracy {100 * report['test_accuracy']:.2f} %" in stdout


def test_grid_without_dask(run_cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    status, _, stderr = run_cli("grid", "--sample", "--epochs", "1",
                                "--local-cluster", "1", "--out", tmp_path)
    assert status == 1
    assert stderr.count("\n") == 1 and "dask" in stderr.lower()
    assert "pip install" in stderr


def test_grid_on_dask_refuses_one_job(run_cli, tmp_path):
    # joblib would run n_jobs=1 in this process and leave the cluster idle.
    status, _, stderr = run_cli("grid", "--sample", "--epochs", "1",
                                "--local-cluster", "2", "--n-jobs", "1",
                                "--out", tmp_path)
    assert status == 1
    assert stderr.count("\n") == 1 and "--n-jobs" in stderr


def test_ctrl_c_stops_the_whole_grid(run_cli, tmp_path, monkeypatch):
    # A real SIGINT: the classifier keeps its last epoch and raises it again,
    # which stops the search.
    handler_before = signal.getsignal(signal.SIGINT)
    train_epoch = skmlp.nn.fast.train_epoch
    calls = []

    def sigint(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(skmlp.nn.fast, "train_epoch", sigint)
    status, _, stderr = run_cli("grid", "--sample", "--eta", "0.01", "0.001",
                                "--hidden", "8", "--epochs", "2", "--cv", "2",
                                "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "Interrupted: the search stopped" in stderr
    assert len(calls) == 2  # no fit ran after Ctrl-C
    assert not (tmp_path / "cv_results.csv").exists()
    # The command restores whatever handler was in place (a process started
    # with SIGINT ignored, under nohup or in the background, has SIG_IGN).
    assert signal.getsignal(signal.SIGINT) is handler_before


@pytest.mark.parametrize("failure", ["unreachable", "worker lost"])
def test_dask_failures_are_one_line(run_cli, tmp_path, monkeypatch, failure):
    # Both errors carry their own explanation; the command passes it on as is.
    import contextlib

    from skmlp.cli import grid
    from skmlp.distributed import DaskWorkerLostError, SchedulerUnreachableError

    @contextlib.contextmanager
    def broken(args):
        if failure == "unreachable":
            raise SchedulerUnreachableError("no Dask scheduler answers at tcp://x:1")
        yield
        raise DaskWorkerLostError("a Dask worker died and its work was lost")

    monkeypatch.setattr(grid, "_dask_context", broken)
    status, _, stderr = run_cli("grid", "--sample", "--epochs", "1", "--hidden", "4",
                                "--cv", "2", "--local-cluster", "2", "--out", tmp_path)
    assert status == 1
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    expected = "no Dask scheduler answers" if failure == "unreachable" else "died"
    assert expected in stderr


def test_grid_axes_and_fixed_options_reach_the_search(run_cli, tmp_path):
    status, stdout, _ = run_cli(
        "grid", "--sample", "--digits", "0", "1", "2", "--hidden", "8",
        "--epochs", "1", "--alpha", "0", "0.001", "--momentum", "0.5",
        "--solver", "sgd", "--learning-rate", "constant", "--eta", "0.001",
        "--early-stopping", "--engine", "reference", "--cv", "2", "--seed", "0",
        "--out", tmp_path)
    assert status == 0
    assert stdout.startswith("digits 0, 1, 2 from")
    report = _read_json(tmp_path / "grid.json")
    assert report["param_grid"] == {"hidden_layers": [[8]], "eta": [0.001],
                                    "epochs": [1], "momentum": [0.5],
                                    "alpha": [0.0, 0.001]}
    assert report["fixed"] == {"solver": "sgd", "learning_rate": "constant",
                               "early_stopping": True, "engine": "reference",
                               "random_state": 0}
    assert report["preprocessing"] == {"deskew": True}
    rows = _read_csv(tmp_path / "cv_results.csv")
    assert {row["alpha"] for row in rows} == {"0.0", "0.001"}
    # Three classes: the test accuracy is over their 300 test images.
    assert report["data"]["n_test"] == 300
