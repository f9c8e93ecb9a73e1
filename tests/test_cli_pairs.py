"""``skmlp pairs``: several pairs or all 45, beside the notebook's figures."""

import csv
import json
import re

import numpy as np
import pytest

import skmlp.cli.pairs
from skmlp.cli import ALL_PAIRS, EXIT_INTERRUPTED, NOTEBOOK_ACCURACY

TINY = ["--hidden", "8", "--epochs", "2"]


def _read_json(path):
    return json.loads(path.read_text())


def _read_csv(path):
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_pairs(run_cli, tmp_path, assert_png):
    status, stdout, _ = run_cli("pairs", "--sample", "--pairs", "1-5", "7-1",
                                "3-8", *TINY, "--out", tmp_path)
    assert status == 0
    rows = _read_csv(tmp_path / "pairs.csv")
    assert [row["pair"] for row in rows] == ["1-5", "1-7", "3-8"]
    assert rows[0]["notebook"] == str(NOTEBOOK_ACCURACY[1, 5])
    assert rows[2]["notebook"] == ""
    report = _read_json(tmp_path / "pairs.json")
    accuracies = [result["accuracy"] for result in report["results"]]
    assert report["summary"]["mean"] == pytest.approx(np.mean(accuracies))
    assert report["summary"]["min"] == min(accuracies)
    assert report["parameters"]["given"]["random_state"] == 0  # pairs' default seed
    for row, accuracy in zip(rows, accuracies, strict=True):
        assert re.search(rf"^\s*{row['pair']}\s+{100 * accuracy:.2f} %", stdout, re.M)
    assert "99.65 %" in stdout  # the notebook's figure beside 1-5
    assert_png(tmp_path / "pairs.png")


@pytest.mark.parametrize("deskew", [True, False])
def test_pairs_score_what_the_pipeline_of_each_pair_scores(run_cli, tmp_path, deskew):
    # The images are deskewed once for every pair, not by each pair's
    # ImageVectorizer: the same numbers.
    from sklearn.pipeline import make_pipeline

    from skmlp import (
        DigitPairSelector,
        ImageVectorizer,
        ScratchMLPClassifier,
        load_mnist_sample,
    )

    flags = [] if deskew else ["--no-deskew"]
    status, stdout, _ = run_cli("pairs", "--sample", "--pairs", "4-9", *TINY,
                                "--n-jobs", "1", *flags, "--out", tmp_path)
    assert status == 0
    assert ("(deskewed)" in stdout.splitlines()[0]) == deskew
    report = _read_json(tmp_path / "pairs.json")
    assert report["preprocessing"] == {"deskew": deskew}
    (x_train, y_train), (x_test, y_test) = load_mnist_sample()
    selector = DigitPairSelector(4, 9)
    model = make_pipeline(ImageVectorizer(deskew=deskew), ScratchMLPClassifier(
        hidden_layers=(8,), epochs=2, random_state=0))
    model.fit(*selector.fit_resample(x_train, y_train))
    score = model.score(*selector.fit_resample(x_test, y_test))
    assert report["results"][0]["accuracy"] == score


def test_pairs_default_is_the_notebooks(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(skmlp.cli.pairs, "_train_pair", lambda data, pair, params: (
        {"pair": f"{pair[0]}-{pair[1]}", "d1": pair[0], "d2": pair[1],
         "accuracy": 0.5, "notebook": NOTEBOOK_ACCURACY.get(pair), "n_train": 1,
         "n_test": 1, "n_iter": 1, "fit_seconds": 0.0}, None))
    # In this process: a worker process would not see the stand-in.
    assert run_cli("pairs", "--sample", "--n-jobs", "1", "--out", tmp_path)[0] == 0
    pairs = [tuple(map(int, row["pair"].split("-")))
             for row in _read_csv(tmp_path / "pairs.csv")]
    assert pairs == list(NOTEBOOK_ACCURACY)


def test_pairs_all(run_cli, tmp_path, assert_png):
    status, stdout, _ = run_cli("pairs", "--sample", "--all", "--hidden", "4",
                                "--epochs", "1", "--batch-size", "500",
                                "--out", tmp_path)
    assert status == 0
    rows = _read_csv(tmp_path / "pairs.csv")
    assert [(int(row["d1"]), int(row["d2"])) for row in rows] == ALL_PAIRS
    assert "Mean over 45 pair(s)" in stdout
    assert_png(tmp_path / "pairs.png")


def test_ctrl_c_during_pairs_reports_the_pairs_done(run_cli, tmp_path,
                                                    interrupt_epoch):
    interrupt_epoch(4)  # the second epoch of the second pair
    status, stdout, stderr = run_cli("pairs", "--sample", "--pairs", "1-5",
                                     "1-7", "4-9", *TINY, "--n-jobs", "1",
                                     "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "Interrupted while training 1-7 (after 1 epoch(s)); 1 of 3 pair(s) " \
           "finished" in stderr
    assert [row["pair"] for row in _read_csv(tmp_path / "pairs.csv")] == ["1-5"]
    assert _read_json(tmp_path / "pairs.json")["interrupted"] is True
    assert "Mean over 1 pair(s)" in stdout


def test_classifier_options_reach_every_pair(run_cli, tmp_path):
    status, _, _ = run_cli("pairs", "--sample", "--pairs", "1-7", *TINY,
                           "--solver", "sgd", "--learning-rate", "constant",
                           "--eta", "0.001", "--init", "glorot",
                           "--activation", "sigmoid", "--out", tmp_path)
    assert status == 0
    parameters = _read_json(tmp_path / "pairs.json")["parameters"]
    expected = {"solver": "sgd", "learning_rate": "constant", "eta": 0.001,
                "init": "glorot", "activation": "sigmoid"}
    assert {name: parameters["given"][name] for name in expected} == expected
    assert {name: parameters["classifier"][name] for name in expected} == expected


def test_pairs_results_do_not_depend_on_n_jobs(run_cli, tmp_path):
    reports = {}
    for n_jobs in ("1", "2"):
        out = tmp_path / n_jobs
        status, stdout, stderr = run_cli("pairs", "--sample", "--pairs", "1-5",
                                         "4-9", "2-3", *TINY, "--n-jobs", n_jobs,
                                         "--out", out)
        assert status == 0, stderr
        reports[n_jobs] = _read_json(out / "pairs.json")
        reports[n_jobs]["table"] = stdout.split("pair ", 1)[1].split("Wall")[0]
    one, two = reports["1"], reports["2"]
    assert [r["pair"] for r in two["results"]] == ["1-5", "4-9", "2-3"]
    for key in ("accuracy", "n_iter", "n_train", "n_test"):
        assert [r[key] for r in one["results"]] == [r[key] for r in two["results"]]
    assert one["summary"] == two["summary"]
    assert one["parameters"] == two["parameters"]
    # The table but for the fit times.
    def without_times(table):
        return re.sub(r"\d+\.\d\s*$", "", table, flags=re.M)
    assert without_times(one["table"]) == without_times(two["table"])


def test_ctrl_c_during_parallel_pairs_reports_the_pairs_done(run_cli, tmp_path,
                                                             monkeypatch):
    # Ctrl-C reaches the main process while it waits for the second pair.
    def parallel(**kwargs):
        def run(tasks):
            task = next(iter(tasks))
            yield task[0](*task[1], **task[2])
            raise KeyboardInterrupt
        return run

    monkeypatch.setattr(skmlp.cli.pairs.joblib, "Parallel", parallel)
    status, stdout, stderr = run_cli("pairs", "--sample", "--pairs", "1-5",
                                     "1-7", "4-9", *TINY, "--n-jobs", "2",
                                     "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "Interrupted while training 1-7; 1 of 3 pair(s) finished" in stderr
    assert [row["pair"] for row in _read_csv(tmp_path / "pairs.csv")] == ["1-5"]
    assert _read_json(tmp_path / "pairs.json")["interrupted"] is True
