"""benchmarks/ten_digits.py in its quick mode, on the MNIST sample."""

import argparse
import json

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("ten_digits")


def test_quick_run_records_every_fit_and_summarizes_them(bench, tmp_path, capsys):
    out = tmp_path / "results.json"
    results, summaries = bench.main([
        "--quick", "--pairs", "notebook", "7-9", "--seeds", "0", "1",
        "--configs", "{}", '{"dropout": 0.2, "epochs": 2}', "--out", str(out),
    ])
    tasks = ["0-9", "1-5", "1-7", "4-7", "2-3", "4-9", "7-9"]
    assert len(results) == len(tasks) * 2 * 2
    assert [r["task"] for r in results[::4]] == tasks
    for row in results:
        # The candidate's parameters reach the fit: 2 epochs instead of 3.
        assert row["n_iter"] == (2 if row["config"] else 3)
        assert row["fit_seconds"] > 0
    ten = [r["accuracy"] for r in results if r["task"] == "0-9"]
    pairs = [r["accuracy"] for r in results if r["task"] != "0-9"]
    assert min(ten) > 0.5  # far above the 10 % of chance
    assert min(pairs) > 0.8

    # The summary is recomputed here from the rows.
    for summary, config in zip(summaries, [{}, {"dropout": 0.2, "epochs": 2}]):
        rows = [r for r in results if r["config"] == config]
        ten = [r["accuracy"] for r in rows if r["task"] == "0-9"]
        pairs = [r for r in rows if r["task"] != "0-9"]
        notebook = [r["accuracy"] for r in pairs if r["task"] != "7-9"]
        worst = min(pairs, key=lambda r: r["accuracy"])
        assert summary["config"] == config
        assert summary["ten_accuracy"] == pytest.approx(np.mean(ten))
        assert summary["notebook_pairs_accuracy"] == pytest.approx(np.mean(notebook))
        assert summary["pairs_accuracy"] == pytest.approx(
            np.mean([r["accuracy"] for r in pairs]))
        assert summary["n_pairs"] == 6
        assert (summary["worst_pair"], summary["worst_pair_accuracy"]) == (
            worst["task"], worst["accuracy"])

    written = json.loads(out.read_text())
    assert written["quick"] is True
    assert [r["accuracy"] for r in written["results"]] == [
        r["accuracy"] for r in results]
    table = capsys.readouterr().out
    assert table.count("\n| 0-9 |") == 4
    assert '| {"dropout": 0.2, "epochs": 2} |' in table


def test_a_seed_gives_the_same_fit_twice(bench):
    results, _ = bench.main(["--quick", "--no-ten", "--pairs", "4-9",
                             "--seeds", "3", "3", "4", "--configs", "{}"])
    accuracies = [r["accuracy"] for r in results]
    assert accuracies[0] == accuracies[1]
    assert [r["seed"] for r in results] == [3, 3, 4]


def test_without_ten_digits_only_pairs_are_fitted(bench):
    results, summaries = bench.main(["--quick", "--no-ten", "--pairs", "1-5",
                                     "--configs", "{}"])
    assert [r["task"] for r in results] == ["1-5"]
    assert summaries[0]["ten_accuracy"] is None
    # One of the notebook's five pairs is not the notebook's five.
    assert summaries[0]["notebook_pairs_accuracy"] is None


def test_pair_sets(bench):
    assert len(set(bench.parse_pairs("all"))) == 45
    assert bench.parse_pairs("9-4") == ((4, 9),)
    assert (4, 9) in bench.parse_pairs("notebook")
    assert len(bench.parse_pairs("hard")) == 6


@pytest.mark.parametrize("text, message", [
    ("4-4", "two different digits"),
    ("4-10", "two different digits"),
    ("four-nine", "not a pair"),
])
def test_bad_pair_says_what_a_pair_is(bench, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        bench.parse_pairs(text)


@pytest.mark.parametrize("text, message", [
    ("{dropout: 0.2}", "not JSON"),
    ("[0.2]", "not a JSON dict"),
    ('{"dropuot": 0.2}', "no parameter"),
])
def test_bad_config_says_what_is_wrong(bench, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        bench.parse_config(text)


def test_config_lists_become_tuples(bench):
    assert bench.parse_config('{"hidden_layers": [800, 400]}') == {
        "hidden_layers": (800, 400)}


def test_no_task_is_a_usage_error(bench):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--quick", "--no-ten"])
    assert exc.value.code == 2
