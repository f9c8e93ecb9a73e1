"""``skmlp train``: the run's files, its report, --save, and Ctrl-C.

Tiny networks and one or two epochs: these tests check what the command does
(files, tables, exit statuses, messages), not how well it learns.  The
fixtures ``run_cli``, ``interrupt_epoch`` and ``assert_png`` are in conftest.py.
"""

import json
import re

import numpy as np
import pytest

import skmlp
import skmlp.nn.fast
from skmlp import ScratchMLPClassifier, load_mnist_sample
from skmlp.cli import EXIT_INTERRUPTED, build_parser
from skmlp.cli._options import MODEL_OPTIONS, classifier_params
from skmlp.persistence import load

TINY = ["--hidden", "8", "--epochs", "2"]


def _read_json(path):
    return json.loads(path.read_text())


def test_train_smoke_on_the_sample(run_cli, tmp_path, assert_png):
    out = tmp_path / "run"
    model_file = tmp_path / "model.joblib"
    status, stdout, _ = run_cli("train", "--sample", "--digits", "1", "5", *TINY,
                                "--seed", "0", "--out", out, "--save", model_file)
    assert status == 0
    report = _read_json(out / "run.json")
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
    for name in ("training-curves.png", "confusion-matrix.png",
                 "misclassified.png", "first-layer-weights.png"):
        assert_png(out / name)
    # The saved pipeline predicts images directly, as accurately as reported.
    model = load(model_file)
    (_, _), (x_test, y_test) = load_mnist_sample()
    pair = np.isin(y_test, [1, 5])
    assert model.score(x_test[pair], y_test[pair]) == report["accuracy"]


@pytest.mark.parametrize("deskew", [True, False])
def test_train_deskews_unless_told_not_to(run_cli, tmp_path, deskew):
    flags = [] if deskew else ["--no-deskew"]
    model_file = tmp_path / "model.joblib"
    status, stdout, _ = run_cli("train", "--sample", *TINY, *flags, "--out",
                                tmp_path / "run", "--save", model_file)
    assert status == 0
    assert ("(deskewed)" in stdout.splitlines()[0]) == deskew
    assert _read_json(tmp_path / "run" / "run.json")["preprocessing"] == {
        "deskew": deskew}
    # The saved pipeline deskews the images it predicts as it was trained.
    assert load(model_file)[0].deskew is deskew


def test_train_passes_only_the_options_given(run_cli, tmp_path):
    status, _, _ = run_cli("train", "--sample", "--hidden", "8", "4",
                           "--epochs", "1", "--out", tmp_path)
    assert status == 0
    parameters = _read_json(tmp_path / "run.json")["parameters"]
    assert parameters["given"] == {"hidden_layers": [8, 4], "epochs": 1}
    defaults = ScratchMLPClassifier().get_params()
    for name in ("eta", "batch_size", "solver", "random_state"):
        assert parameters["classifier"][name] == defaults[name]


def test_every_classifier_option_reaches_the_model(run_cli, tmp_path):
    model_file = tmp_path / "model.joblib"
    status, stdout, _ = run_cli(
        "train", "--sample", "--hidden", "8", "--epochs", "2", "--seed", "3",
        "--solver", "sgd", "--learning-rate", "constant", "--eta", "0.002",
        "--batch-size", "50", "--momentum", "0.5", "--alpha", "0.001",
        "--init", "glorot", "--activation", "tanh", "--loss", "log_loss",
        "--early-stopping", "--engine", "reference", "--dropout", "0.25",
        "--class-weight", "1:1,5:2.5",
        "--out", tmp_path, "--save", model_file)
    assert status == 0
    expected = {"hidden_layers": (8,), "epochs": 2, "random_state": 3,
                "solver": "sgd", "learning_rate": "constant", "eta": 0.002,
                "batch_size": 50, "momentum": 0.5, "alpha": 0.001,
                "init": "glorot", "activation": "tanh", "loss": "log_loss",
                "early_stopping": True, "engine": "reference", "dropout": 0.25,
                "class_weight": {1: 1.0, 5: 2.5}}
    params = load(model_file)[-1].get_params()
    assert {name: params[name] for name in expected} == expected
    given = _read_json(tmp_path / "run.json")["parameters"]["given"]
    assert given == {**expected, "hidden_layers": [8],
                     "class_weight": {"1": 1.0, "5": 2.5}}  # JSON keys
    # Early stopping held out a validation set and scored it every epoch.
    assert len(load(model_file)[-1].validation_scores_) == 2
    assert "solver='sgd'" in stdout


def test_options_not_given_keep_the_defaults_even_flags():
    args = build_parser().parse_args(["train"])
    assert classifier_params(args) == {}
    args = build_parser().parse_args(["train", "--early-stopping"])
    assert classifier_params(args) == {"early_stopping": True}


def test_choices_come_from_the_classifier():
    # The command line offers what _parameter_constraints allows, no more.
    constraints = ScratchMLPClassifier._parameter_constraints
    for option in MODEL_OPTIONS:
        if option.choices is not None:
            [allowed] = [c.options for c in constraints[option.param]
                         if hasattr(c, "options") and isinstance(c.options, set)]
            assert set(option.choices) == allowed, option.param
    params = set(ScratchMLPClassifier().get_params())
    assert {option.param for option in MODEL_OPTIONS} <= params


def test_the_notebook_configuration_collapses_with_one_warning_line(run_cli,
                                                                    tmp_path):
    # The notebook's settings, one command; on the sample, seed 0 collapses.
    status, stdout, stderr = run_cli(
        "train", "--sample", "--digits", "1", "5", "--solver", "sgd",
        "--learning-rate", "constant", "--eta", "0.01", "--batch-size", "1000",
        "--init", "uniform", "--seed", "0", "--out", tmp_path)
    assert status == 0
    [line] = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert line.startswith("warning: ScratchMLPClassifier collapsed to predicting "
                           "the single class")
    assert "eta=0.01" in line
    assert "Traceback" not in stderr
    assert "Test accuracy: 50.00 %" in stdout  # one class of two halves
    params = _read_json(tmp_path / "run.json")["parameters"]["classifier"]
    assert (params["solver"], params["learning_rate"], params["eta"],
            params["batch_size"], params["init"]) == (
        "sgd", "constant", 0.01, 1000, "uniform")


def test_train_all_ten_digits(run_cli, tmp_path, assert_png):
    status, stdout, _ = run_cli("train", "--sample", "--digits", "all",
                                "--hidden", "16", "--epochs", "2", "--seed", "0",
                                "--out", tmp_path)
    assert status == 0
    assert stdout.startswith("all ten digits from the MNIST sample")
    report = _read_json(tmp_path / "run.json")
    assert report["digits"] == list(range(10))
    assert report["data"] == {"source": report["data"]["source"],
                              "n_train": 5000, "n_test": 1000}
    matrix = np.array(report["confusion_matrix"]["matrix"])
    assert report["confusion_matrix"]["labels"] == list(range(10))
    assert matrix.shape == (10, 10) and matrix.sum() == 1000
    assert (matrix.sum(axis=1) == 100).all()  # 100 test images per digit
    assert np.trace(matrix) / 1000 == pytest.approx(report["accuracy"])
    for label, row in enumerate(matrix):
        cells = r"\s+".join(map(str, row))
        assert re.search(rf"^\s*{label}\s+{cells}\s*$", stdout, re.M)
    for name in ("training-curves.png", "confusion-matrix.png",
                 "misclassified.png", "first-layer-weights.png"):
        assert_png(tmp_path / name)


def test_train_three_digits_in_increasing_order(run_cli, tmp_path):
    status, stdout, _ = run_cli("train", "--sample", "--digits", "7", "1", "5",
                                *TINY, "--out", tmp_path)
    assert status == 0
    assert stdout.startswith("digits 1, 5, 7 from")
    report = _read_json(tmp_path / "run.json")
    assert report["digits"] == report["confusion_matrix"]["labels"] == [1, 5, 7]
    assert report["data"]["n_test"] == 300


def test_the_figures_of_the_weights_and_the_mistakes(run_cli, tmp_path):
    from matplotlib.image import imread

    status, _, _ = run_cli("train", "--sample", "--hidden", "100", "--epochs", "1",
                           "--seed", "0", "--out", tmp_path)
    assert status == 0
    # 64 of the 100 units, in an 8 x 8 grid of tiles: a large, square figure.
    weights = imread(tmp_path / "first-layer-weights.png")
    assert min(weights.shape[:2]) > 500
    assert weights.std() > 0.05  # not a blank picture
    mistakes = imread(tmp_path / "misclassified.png")
    assert mistakes.shape[1] > 800 and mistakes.shape[0] > 150
    assert mistakes.std() > 0.05


def test_train_smoke_on_full_mnist(run_cli, tmp_path, mnist_full_path):
    status, stdout, _ = run_cli("train", "--mnist", mnist_full_path, "--digits",
                                "4", "7", "--hidden", "16", "--epochs", "1",
                                "--seed", "0", "--out", tmp_path)
    assert status == 0
    report = _read_json(tmp_path / "run.json")
    # MNIST's 4s and 7s: 5842 + 6265 training, 982 + 1028 test images.
    assert report["data"]["n_train"] == 5842 + 6265
    assert report["data"]["n_test"] == 982 + 1028
    assert report["accuracy"] > 0.95
    assert "Test accuracy" in stdout


def test_train_says_why_it_stopped_early(run_cli, tmp_path, monkeypatch):
    defaults = {**ScratchMLPClassifier.__init__.__kwdefaults__,
                "tol": 1.0, "n_iter_no_change": 1}
    monkeypatch.setattr(ScratchMLPClassifier.__init__, "__kwdefaults__", defaults)
    status, stdout, _ = run_cli("train", "--sample", "--hidden", "8",
                                "--epochs", "5", "--out", tmp_path)
    assert status == 0
    # The first epoch improves on nothing; the stop comes when more than
    # n_iter_no_change epochs after it did not improve (scikit-learn's rule).
    assert ("Stopped after 3 of 5 epochs: the training cost improved by less than "
            "tol=1 for n_iter_no_change=1 epochs.") in stdout
    assert _read_json(tmp_path / "run.json")["n_iter"] == 3


def test_train_saves_skops(run_cli, tmp_path):
    pytest.importorskip("skops")
    status, _, _ = run_cli("train", "--sample", *TINY, "--seed", "0",
                           "--out", tmp_path, "--save", tmp_path / "model.skops")
    assert status == 0
    model = load(tmp_path / "model.skops")
    assert list(model.classes_) == [1, 5]


def test_train_default_out_folder(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli("train", "--sample", *TINY)[0] == 0
    assert run_cli("train", "--sample", *TINY)[0] == 0
    # Two runs, two folders, even within the same second.
    runs = sorted((tmp_path / "skmlp-runs").iterdir())
    assert len(runs) == 2
    assert all((folder / "run.json").is_file() for folder in runs)


def test_save_into_a_missing_folder_fails_before_training(run_cli, tmp_path,
                                                          monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained although the model cannot be saved")

    monkeypatch.setattr(skmlp.nn.fast, "train_epoch", no_training)
    status, _, stderr = run_cli("train", "--sample", *TINY, "--out", tmp_path,
                                "--save", tmp_path / "missing" / "model.joblib")
    assert status == 2 and stderr.count("\n") == 1
    assert "does not exist" in stderr


def test_ctrl_c_during_train_reports_the_last_epoch(run_cli, tmp_path,
                                                    interrupt_epoch):
    interrupt_epoch(2)
    model_file = tmp_path / "model.joblib"
    status, stdout, stderr = run_cli("train", "--sample", "--hidden", "8",
                                     "--epochs", "3", "--out", tmp_path,
                                     "--save", model_file)
    assert status == EXIT_INTERRUPTED
    assert "after 1 epoch(s) of 3" in stdout
    assert "Interrupted: training stopped after 1 of 3 epoch(s)" in stderr
    assert "Traceback" not in stderr
    report = _read_json(tmp_path / "run.json")
    assert report["interrupted"] is True and report["n_iter"] == 1
    assert len(report["curves"]["cost"]) == 1
    assert not model_file.exists()  # a partly trained model is not saved


def test_ctrl_c_in_the_first_epoch(run_cli, tmp_path, interrupt_epoch):
    interrupt_epoch(1)
    status, _, stderr = run_cli("train", "--sample", *TINY, "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "nothing to evaluate" in stderr
    assert not (tmp_path / "run.json").exists()
