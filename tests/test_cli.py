"""What every ``skmlp`` command shares: its parser, its one-line errors and exit
statuses, and how it tells a Ctrl-C from another warning.

Run in-process through ``main`` (the ``run_cli`` fixture of conftest.py) and
once as a process.  Each subcommand has its own file: test_cli_train.py,
test_cli_grid.py, test_cli_pairs.py, test_cli_show.py, test_cli_bench.py.
"""

import json
import os
import subprocess
import sys
import warnings

import pytest

import skmlp
import skmlp.cli._data
import skmlp.nn.fast
from skmlp.cli import EXIT_INTERRUPTED, build_parser


def test_every_command_is_registered():
    parser = build_parser()
    [commands] = [action for action in parser._actions
                  if isinstance(action.choices, dict)]
    assert list(commands.choices) == ["train", "evaluate", "predict", "grid",
                                      "pairs", "show", "bench"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--digits", "1", "10"], "'10' is not a digit from 0 to 9"),
        (["train", "--digits", "-1", "5"], "is not a digit from 0 to 9"),
        (["train", "--digits", "3", "3"], "the digits must differ; got 3 2 times"),
        (["train", "--digits", "1", "5", "1"], "the digits must differ"),
        (["train", "--digits", "3"], "give two or more digits, or 'all'"),
        (["train", "--digits"], "expected at least one argument"),
        (["train", "--digits", "all", "3"], "'all' stands alone"),
        (["train", "--digits", "1", "x"], "'x' is not a digit from 0 to 9"),
        (["train", "--solver", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["train", "--learning-rate", "adaptive"], "invalid choice: 'adaptive'"),
        (["train", "--init", "normal"], "invalid choice: 'normal'"),
        (["train", "--activation", "softmax"], "invalid choice: 'softmax'"),
        (["train", "--loss", "hinge"], "invalid choice: 'hinge'"),
        (["train", "--engine", "gpu"], "invalid choice: 'gpu'"),
        (["train", "--momentum", "1"], "'1' is not a number in [0, 1) for momentum"),
        (["train", "--dropout", "1"], "'1' is not a number in [0, 1) for dropout"),
        (["train", "--class-weight", "4:x"], "'4:x' is not 'balanced', 'none' or"),
        (["train", "--class-weight", "12:1"], "digits 0-9, weights >= 0"),
        (["train", "--momentum", "-0.1"], "is not a number in [0, 1) for momentum"),
        (["train", "--momentum", "nan"], "'nan' is not a number in [0, 1)"),
        (["train", "--alpha", "-1"], "'-1' is not a number in [0, inf) for alpha"),
        (["train", "--alpha", "inf"], "'inf' is not a number in [0, inf)"),
        (["train", "--early-stopping", "yes"], "unrecognized arguments: yes"),
        (["grid", "--solver", "sgd", "adam"], "unrecognized arguments: adam"),
        (["grid", "--momentum", "0.9", "1.5"], "'1.5' is not a number in [0, 1)"),
        (["grid", "--digits", "2", "2"], "the digits must differ"),
        (["pairs", "--solver", "newton"], "invalid choice: 'newton'"),
        (["evaluate"], "required: MODEL"),
        (["evaluate", "m.joblib", "--digits", "12"], "'12' is not a digit"),
        (["predict", "m.joblib"], "required: IMAGES"),
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
        (["bench", "--epochs", "0"], "'0' is not a positive integer"),
        (["bench", "--repeats", "x"], "'x' is not a positive integer"),
        (["bench", "--batch-size", "2.5"], "'2.5' is not a positive integer"),
        (["bench", "--threads", "-1"], "'-1' is not a positive integer"),
        (["bench", "--n-samples", "1"], "'1' is not an integer of at least 2"),
        (["bench", "--seed", "-1"], "is not a seed"),
        (["bench", "--hidden", "500,0"], "is not a list of layer sizes"),
        (["bench", "--dtype", "float16"], "invalid choice"),
        (["bench", "--sample", "--mnist", "x.npz"], "not allowed with"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments(run_cli, argv, message):
    status, stdout, stderr = run_cli(*argv)
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and message in stderr
    assert stderr.startswith("skmlp")


def test_unreadable_mnist_file(run_cli, tmp_path):
    garbage = tmp_path / "mnist.npz"
    garbage.write_bytes(b"not an npz file" * 100)
    status, _, stderr = run_cli("train", "--mnist", garbage, "--out", tmp_path)
    assert status == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("skmlp train: error: argument --mnist:")
    assert "not an .npz file" in stderr


def test_truncated_mnist_file(run_cli, tmp_path):
    from importlib import resources

    sample = resources.files("skmlp").joinpath("data", "mnist_sample.npz").read_bytes()
    truncated = tmp_path / "mnist.npz"
    truncated.write_bytes(sample[: len(sample) // 2])
    status, _, stderr = run_cli("train", "--mnist", truncated, "--out", tmp_path)
    assert status == 2 and stderr.count("\n") == 1
    assert str(truncated) in stderr


def test_missing_mnist_file(run_cli, tmp_path):
    status, _, stderr = run_cli("show", "--mnist", tmp_path / "nowhere.npz",
                                "--out", tmp_path)
    assert status == 2 and stderr.count("\n") == 1
    assert "does not exist" in stderr


def test_bad_environment_variable_is_not_a_usage_error(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SKMLP_MNIST", str(tmp_path / "nowhere.npz"))
    status, _, stderr = run_cli("train")
    assert status == 1 and stderr.count("\n") == 1
    assert "nowhere.npz" in stderr
    assert not (tmp_path / "skmlp-runs").exists()  # no empty run folder


def test_as_a_process_no_traceback():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "skmlp", "train", "--digits", "1", "1"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("skmlp train: error:")


def test_version_and_help(run_cli):
    status, stdout, _ = run_cli("--version")
    assert status == 0 and stdout.strip() == f"skmlp {skmlp.__version__}"
    status, stdout, _ = run_cli("train", "--help")
    assert status == 0 and "--digits" in stdout and "--save" in stdout


def test_ctrl_c_while_loading(run_cli, tmp_path, monkeypatch):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(skmlp.cli._data, "load_mnist_sample", interrupted)
    status, _, stderr = run_cli("show", "--sample", "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert stderr == "skmlp show: interrupted\n"



@pytest.mark.parametrize("command", ["train", "pairs"])
def test_a_warning_that_mentions_an_interruption_is_not_one(run_cli, tmp_path,
                                                           monkeypatch, command):
    # Only TrainingInterrupted, the classifier's own warning, means Ctrl-C.
    train_epoch = skmlp.nn.fast.train_epoch

    def warns(*args, **kwargs):
        warnings.warn("the data stream was interrupted and resumed", UserWarning,
                      stacklevel=1)
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(skmlp.nn.fast, "train_epoch", warns)
    argv = ["--pairs", "1-5"] if command == "pairs" else []
    status, _, stderr = run_cli(command, "--sample", *argv, "--hidden", "8",
                                "--epochs", "2", "--out", tmp_path)
    assert status == 0
    assert "Interrupted" not in stderr
    assert "warning: the data stream was interrupted and resumed" in stderr
    record = json.loads((tmp_path / f"{'run' if command == 'train' else command}"
                         ".json").read_text())
    assert record["interrupted"] is False


def test_nothing_below_the_command_line_imports_it():
    # Imports go one way: the package and its benchmark never need skmlp.cli.
    code = ("import pkgutil, sys, importlib, skmlp\n"
            "for module in pkgutil.iter_modules(skmlp.__path__):\n"
            "    if module.name not in ('cli', '__main__'):\n"
            "        importlib.import_module('skmlp.' + module.name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('skmlp.cli')))\n")
    root = os.path.dirname(os.path.dirname(skmlp.__file__))  # this skmlp
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, timeout=120, check=True, cwd=root)
    assert result.stdout.strip() == "[]"
