"""Shared fixtures: MNIST (the full set when it is on the machine, else the
sample) and the command line.

- ``mnist``: the full MNIST when present, else the sample shipped with skmlp;
- ``mnist_full``: the full MNIST, the test is skipped when it is absent;
- ``mnist_sample``: the shipped sample;
- ``digits``: the first three classes of scikit-learn's ``load_digits``;
- marker ``mnist_full``: skip a test (or a whole module with ``pytestmark``)
  when the full MNIST is absent.

and, for the tests of the ``skmlp`` command (test_cli*.py):

- ``run_cli``: ``run_cli(*argv)`` runs the command in-process and returns its
  exit status, stdout and stderr;
- ``interrupt_epoch``: ``interrupt_epoch(n)`` makes the n-th training epoch
  raise KeyboardInterrupt, as Ctrl-C would;
- ``assert_png``: ``assert_png(path)`` checks that a figure was written;
- ``saved_model``: a pipeline of three digits (1, 5, 7) that ``skmlp train
  --save`` wrote, once per session, for ``skmlp evaluate`` and ``predict``.

The full MNIST is the file or folder named by ``SKMLP_MNIST`` (CI sets it);
without it those tests skip, saying how to set it.  The fixtures are session-wide and
their arrays are read-only, so a test that modifies them fails instead of
changing the data of the tests after it.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skmlp import ScratchMLPClassifier
from skmlp.datasets import ENV_VAR, load_mnist, load_mnist_sample
from skmlp.nn import reference


def _full_mnist_path():
    if not os.environ.get(ENV_VAR):
        return None
    path = Path(os.environ[ENV_VAR]).expanduser()
    return path if path.exists() else None


FULL_MNIST_PATH = _full_mnist_path()
NO_FULL_MNIST = (
    f"the full MNIST is absent: set {ENV_VAR} to a Keras-style mnist.npz or a "
    "folder of the four IDX files"
    + (f" ({ENV_VAR}={os.environ[ENV_VAR]} does not exist)"
       if os.environ.get(ENV_VAR) else "")
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"mnist_full: needs the full MNIST ({ENV_VAR}); skipped without it"
    )


def pytest_runtest_setup(item):
    if item.get_closest_marker("mnist_full") and FULL_MNIST_PATH is None:
        pytest.skip(NO_FULL_MNIST)


def _read_only(data):
    for part in data:
        for array in part:
            array.setflags(write=False)
    return data


@pytest.fixture(scope="session")
def mnist_full_path():
    """Path of the full MNIST; skips the test when there is none."""
    if FULL_MNIST_PATH is None:
        pytest.skip(NO_FULL_MNIST)
    return FULL_MNIST_PATH


@pytest.fixture(scope="session")
def mnist_full(mnist_full_path):
    """``((x_train, y_train), (x_test, y_test))`` of the full MNIST, read-only."""
    return _read_only(load_mnist(mnist_full_path))


@pytest.fixture(scope="session")
def mnist_sample():
    """The sample shipped with skmlp (5000 / 1000 images), read-only."""
    return _read_only(load_mnist_sample())


@pytest.fixture(scope="session")
def mnist(request):
    """The full MNIST when present, else the shipped sample; read-only."""
    name = "mnist_sample" if FULL_MNIST_PATH is None else "mnist_full"
    return request.getfixturevalue(name)


def load_benchmark(name):
    """``benchmarks/<name>.py`` as a module (the benchmarks are scripts, not a
    package).  Test modules import it by name."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_classifier(**params):
    """A quick ScratchMLPClassifier (one hidden layer of 8 units, 3 epochs,
    seeded); ``params`` override.  Test modules import it by name."""
    return ScratchMLPClassifier(
        **{"hidden_layers": (8,), "epochs": 3, "random_state": 0, **params})


def targets(labels, n_outputs, dtype):
    """Targets for a network of ``n_outputs`` units from integer ``labels``:
    one column of 0/1 (labels mod 2), or one-hot rows (labels mod n)."""
    if n_outputs == 1:
        return (labels % 2).astype(dtype).reshape(-1, 1)
    return np.eye(n_outputs, dtype=dtype)[labels % n_outputs]


def small_problem(n_outputs, activation, loss="squared_error", alpha=0.0, seed=0):
    """``(net, X, T, coefs, intercepts)``: a 5-6-4-n network of the engines'
    spec on 9 random rows, Glorot weights and non-zero biases (so that their
    gradients are exercised away from 0), float64."""
    rng = np.random.default_rng(seed)
    net = reference.Network((5, 6, 4, n_outputs), activation,
                            "sigmoid" if n_outputs == 1 else "softmax", loss, alpha)
    X = rng.normal(size=(9, 5))
    T = targets(rng.integers(0, 6, 9), n_outputs, np.float64)
    coefs, intercepts = reference.init_params(net, "glorot", rng, np.float64)
    intercepts = [rng.normal(0.2, 0.5, b.shape) for b in intercepts]
    return net, X, T, coefs, intercepts


@pytest.fixture(scope="session")
def digits():
    """``(X, y)``: the first three classes of ``load_digits``, scaled to [0, 1],
    read-only (the small data of most classifier tests)."""
    X, y = load_digits(n_class=3, return_X_y=True)
    return _read_only([(X / 16, y)])[0]


# ------------------------------------------------------------ the command line


@pytest.fixture
def run_cli(capsys):
    """``run_cli(*argv)`` runs ``skmlp.cli.main`` -> (status, stdout, stderr)."""
    from skmlp.cli import main

    def run(*argv):
        status = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
def interrupt_epoch(monkeypatch):
    """``interrupt_epoch(n)`` makes the n-th epoch of training (1-based) raise
    KeyboardInterrupt, as Ctrl-C would."""
    import skmlp.nn.fast

    def arm(n):
        train_epoch = skmlp.nn.fast.train_epoch
        calls = []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return train_epoch(*args, **kwargs)

        monkeypatch.setattr(skmlp.nn.fast, "train_epoch", interrupted)

    return arm


@pytest.fixture
def assert_png():
    """``assert_png(path)`` checks that ``path`` is a picture of some size."""
    from matplotlib.image import imread

    def check(path):
        image = imread(path)
        assert image.ndim == 3 and min(image.shape[:2]) > 100

    return check


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory):
    """The path of a model of the digits 1, 5 and 7 saved by ``skmlp train
    --save`` (the sample, a tiny network, two epochs)."""
    import contextlib
    import io

    from skmlp.cli import main

    folder = tmp_path_factory.mktemp("saved_model")
    path = folder / "model.joblib"
    with contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        status = main(["train", "--sample", "--digits", "1", "5", "7", "--hidden",
                       "16", "--epochs", "2", "--seed", "0", "--out",
                       str(folder / "run"), "--save", str(path)])
    assert status == 0
    return path
