"""The ``skmlp`` command under attack: output paths checked before any work,
one-line errors for user mistakes, and Ctrl-C / SIGTERM that stop the work,
report it and leave no process behind."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import skmlp
import skmlp._training
import skmlp.cli._data
import skmlp.nn.fast
import skmlp.persistence
from skmlp import ScratchMLPClassifier
from skmlp.cli import EXIT_INTERRUPTED, _options

ROOT = Path(skmlp.__file__).parent.parent  # this skmlp, for the subprocesses
TINY_BENCH = ["--sample", "--n-samples", "100", "--epochs", "1", "--repeats", "1",
              "--batch-size", "50", "--hidden", "16", "--dtype", "float32",
              "--no-memory", "--no-torch"]
LONG_NAME = "m" * 300


def _assert_one_line_error(stderr, command, *, after_progress=False):
    assert "Traceback" not in stderr
    if after_progress:  # the lines of a progress bar first
        assert "\n" in stderr[:-1]
        stderr = stderr[stderr.rindex("\n", 0, len(stderr) - 1) + 1:]
    assert stderr.startswith(f"skmlp {command}: error:"), stderr
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert "Traceback" not in stderr


@pytest.fixture
def no_work(monkeypatch):
    """Loading MNIST or training fails the test: the command must stop first."""
    def work(*args, **kwargs):
        raise AssertionError("the command started working")

    monkeypatch.setattr(skmlp.cli._data, "load_mnist_sample", work)
    monkeypatch.setattr(skmlp.nn.fast, "train_epoch", work)


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: creating a file in ``folder`` fails as it would
    in a read-only folder (the tests run as root, whom permissions do not
    stop, so the probe write is made to fail instead)."""
    folders = []
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and Path(dir).resolve() in folders:
            raise PermissionError(13, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return lambda folder: folders.append(Path(folder).resolve())


# ------------------------------------------------- output paths, before work

COMMANDS = {
    "train": ["--sample", "--hidden", "8", "--epochs", "1"],
    "grid": ["--sample", "--hidden", "8", "--epochs", "1", "--cv", "2"],
    "pairs": ["--sample", "--pairs", "1-5", "--hidden", "8", "--epochs", "1"],
    "show": ["--sample"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_out_folder_fails_before_any_work(run_cli, tmp_path, no_work,
                                                      read_only, command):
    out = tmp_path / "existing"
    out.mkdir()
    read_only(out)
    status, stdout, stderr = run_cli(command, *COMMANDS[command], "--out", out)
    assert status == 2 and stdout == ""
    _assert_one_line_error(stderr, command)
    assert "--out" in stderr and "Permission denied" in stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_new_out_folder_in_a_read_only_folder(run_cli, tmp_path, no_work,
                                                read_only, command):
    # The folder is created to be checked, and removed again when it fails.
    read_only(tmp_path / "new" / "run")
    status, _, stderr = run_cli(command, *COMMANDS[command],
                                "--out", tmp_path / "new" / "run")
    assert status == 2
    _assert_one_line_error(stderr, command)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_out_that_is_a_file_or_too_long(run_cli, tmp_path, no_work, command):
    (tmp_path / "file").write_text("")
    for out, message in [(tmp_path / "file", "is not a folder"),
                         (tmp_path / LONG_NAME, "too long")]:
        status, _, stderr = run_cli(command, *COMMANDS[command], "--out", out)
        assert status == 2
        _assert_one_line_error(stderr, command)
        assert message in stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
def test_a_really_read_only_out_folder(run_cli, tmp_path, no_work):
    out = tmp_path / "locked"
    out.mkdir(mode=0o500)
    status, _, stderr = run_cli("show", "--sample", "--out", out)
    assert status == 2 and "Permission denied" in stderr


@pytest.mark.parametrize("save, message", [
    ("folder", "is a folder"),
    ("read-only/model.joblib", "Permission denied"),
    (f"{LONG_NAME}.joblib", "too long"),
    # Short enough, but not with the temporary file that save writes first.
    (f"{'m' * 240}.joblib", "too long"),
    ("model.txt", "names no model format"),
    ("model", "names no model format"),
])
def test_a_save_target_that_cannot_be_written_fails_before_training(
    run_cli, tmp_path, no_work, read_only, save, message
):
    (tmp_path / "folder").mkdir()
    (tmp_path / "read-only").mkdir()
    read_only(tmp_path / "read-only")
    status, _, stderr = run_cli("train", *COMMANDS["train"], "--out", tmp_path / "o",
                                "--save", tmp_path / save)
    assert status == 2
    _assert_one_line_error(stderr, "train")
    assert "--save" in stderr and message in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name, message", [
    ("folder", "is a folder"),
    ("read-only/bench.json", "Permission denied"),
    (LONG_NAME, "too long"),
])
def test_bench_json_that_cannot_be_written_fails_before_timing(
    run_cli, tmp_path, no_work, read_only, name, message
):
    (tmp_path / "folder").mkdir()
    (tmp_path / "read-only").mkdir()
    read_only(tmp_path / "read-only")
    status, stdout, stderr = run_cli("bench", *TINY_BENCH, "--json", tmp_path / name)
    assert status == 2 and stdout == ""
    _assert_one_line_error(stderr, "bench")
    assert "--json" in stderr and message in stderr


def test_a_save_that_fails_at_the_end_still_writes_run_json(run_cli, tmp_path,
                                                            monkeypatch):
    def disk_full(model, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(skmlp.persistence, "save", disk_full)
    status, stdout, stderr = run_cli("train", *COMMANDS["train"], "--out", tmp_path,
                                     "--save", tmp_path / "model.joblib")
    assert status == 1
    _assert_one_line_error(stderr, "train", after_progress=True)
    assert "model.joblib" in stderr and "No space left on device" in stderr
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["n_iter"] == 1
    assert (tmp_path / "training-curves.png").exists()
    assert "run.json" in stdout  # what was written is listed


def test_a_figure_that_fails_at_the_end_of_pairs(run_cli, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    real_savefig = Figure.savefig

    def savefig(self, path, *args, **kwargs):
        if Path(path).name == "pairs.png":
            raise PermissionError(13, "Permission denied")
        return real_savefig(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    status, _, stderr = run_cli("pairs", *COMMANDS["pairs"], "--out", tmp_path)
    assert status == 1
    _assert_one_line_error(stderr, "pairs", after_progress=True)
    assert "pairs.png" in stderr
    assert json.loads((tmp_path / "pairs.json").read_text())["results"]


# -------------------------------------------------- one line, never a traceback


def _not_mnist(tmp_path):
    path = tmp_path / "not-mnist.npz"
    path.write_bytes(b"these are not the digits you are looking for\n")
    return path


USER_ERRORS = {
    "huge network": (["train", "--sample", "--hidden", "1000000000000"], 2,
                     r"784-1000000000000-1 network .* PB"),
    "bad scheduler": (["grid", "--sample", "--scheduler", "garbage-address"], 2,
                      r"--scheduler: 'garbage-address' is not the address"),
    "bench not MNIST": (["bench", "--mnist", _not_mnist, "--no-memory"], 2,
                        r"--mnist: .*not-mnist.npz"),
    "bench json folder": (["bench", *TINY_BENCH, "--json", "."], 2, r"is a folder"),
    "one fold": (["grid", "--sample", "--cv", "1"], 2, r"--cv: '1' is not"),
    "zero jobs": (["grid", "--sample", "--n-jobs", "0"], 2, r"--n-jobs: '0' is not"),
    "all candidates diverge": (
        ["grid", "--sample", "--eta", "1e200", "1e300", "--hidden", "4",
         "--epochs", "1", "--cv", "2"], 1,
        r"every candidate of the grid failed to fit; the first failure: "
        r"ValueError: Training diverged in epoch 1",
    ),
}


@pytest.mark.parametrize("case", USER_ERRORS)
def test_user_errors_are_one_line_without_traceback(run_cli, tmp_path, monkeypatch,
                                                    case):
    monkeypatch.chdir(tmp_path)
    argv, code, pattern = USER_ERRORS[case]
    argv = [arg(tmp_path) if callable(arg) else arg for arg in argv]
    status, _, stderr = run_cli(*argv, *(["--out", tmp_path / "out"]
                                         if argv[0] == "grid" else []))
    assert status == code
    _assert_one_line_error(stderr, argv[0])
    assert re.search(pattern, stderr), stderr
    assert len(stderr) < 600  # a message, not a flattened traceback


def test_memory_error_is_a_one_line_failure(run_cli, tmp_path, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(skmlp._training, "initialize", out_of_memory)
    status, _, stderr = run_cli("train", *COMMANDS["train"], "--out", tmp_path)
    assert status == 1
    _assert_one_line_error(stderr, "train")
    assert "out of memory" in stderr


def test_the_network_size_check(monkeypatch):
    monkeypatch.setattr(_options, "memory_size", lambda: 10**9)  # 1 GB
    _options.check_network_size((500, 250))  # 0.5 M weights: fits
    with pytest.raises(_options.CommandError, match=r"784-100000-1 network has "
                       r"7.86e\+07 weights, 629 MB in float64 and about 2.52 GB"):
        _options.check_network_size((100_000,))


# ---------------------------------------------------------- Ctrl-C and SIGTERM


def test_ctrl_c_in_a_grid_reports_and_stops(run_cli, tmp_path, interrupt_epoch,
                                            monkeypatch):
    fits = []
    real_fit = ScratchMLPClassifier.fit
    monkeypatch.setattr(ScratchMLPClassifier, "fit",
                        lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k))
    interrupt_epoch(2)  # the first epoch of the second fit
    status, _, stderr = run_cli("grid", "--sample", "--eta", "0.01", "0.001",
                                "--hidden", "8", "--epochs", "1", "--cv", "2",
                                "--out", tmp_path)
    assert status == EXIT_INTERRUPTED
    assert "Interrupted: the search stopped" in stderr
    assert "Traceback" not in stderr and "TrainingInterrupted" not in stderr
    assert len(fits) == 2
    assert not (tmp_path / "cv_results.csv").exists()


def _skmlp_process(*argv, **kwargs):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "skmlp", *map(str, argv)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT, **kwargs)


def _read_in_background(stream):
    text = []
    thread = threading.Thread(target=lambda: text.extend(iter(
        lambda: stream.read(1), "")), daemon=True)
    thread.start()
    return text


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.mnist_full
def test_sigterm_during_train_writes_an_interrupted_run_json(tmp_path,
                                                             mnist_full_path):
    process = _skmlp_process("train", "--mnist", mnist_full_path, "--hidden", "64",
                             "--epochs", "300", "--out", tmp_path)
    stderr = _read_in_background(process.stderr)
    try:
        # tqdm's bar counts the epochs on stderr: "  1/300 ".
        _wait_for(lambda: re.search(r"\b[1-9]\d*/300\b", "".join(stderr)), 300,
                  "the first epoch")
        process.send_signal(signal.SIGTERM)
        stdout = process.stdout.read()
        status = process.wait(timeout=120)
    finally:
        process.kill()
    stderr = "".join(stderr)
    assert status == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    assert "Interrupted: training stopped after" in stderr
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["interrupted"] is True and 1 <= record["n_iter"] < 300
    assert "Test accuracy" in stdout


def test_sigterm_to_a_parallel_grid_leaves_no_process(tmp_path):
    psutil = pytest.importorskip("psutil")
    process = _skmlp_process("grid", "--sample", "--n-jobs", "2",
                             "--eta", "0.001", "0.0001", "--hidden", "256,128",
                             "--epochs", "500", "--cv", "2", "--out", tmp_path)
    stderr = _read_in_background(process.stderr)
    try:
        parent = psutil.Process(process.pid)
        # The pool's two workers (and loky's resource tracker) are started.
        _wait_for(lambda: len(parent.children(recursive=True)) >= 2, 180,
                  "the worker processes")
        time.sleep(1)  # the workers are fitting
        children = parent.children(recursive=True)
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=120)
    finally:
        process.kill()
    stderr = "".join(stderr)
    assert status == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, [child.cmdline() for child in alive]


@pytest.mark.parametrize("how", ["python -m skmlp", "entry point"])
def test_sigint_while_importing_exits_quietly(tmp_path, how):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    if how == "entry point":  # what the installed `skmlp` script runs
        argv = [sys.executable, "-c", "import sys; from skmlp.__main__ import "
                "entry; sys.argv[0] = 'skmlp'; sys.exit(entry())"]
    else:
        argv = [sys.executable, "-m", "skmlp"]
    process = subprocess.Popen([*argv, "show", "--sample", "--out", tmp_path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=ROOT)
    time.sleep(0.3)  # after Python's start, while numpy and scikit-learn load
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1 and "interrupted" in stderr


def test_the_entry_point_is_the_quiet_one():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["skmlp"] == "skmlp.__main__:entry"
