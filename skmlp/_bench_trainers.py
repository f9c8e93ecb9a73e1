"""The implementations that ``skmlp bench`` times, each behind one interface.

``TRAINERS[name]`` is ``(fit, predict)``: ``fit(X, y, config)`` trains a fresh
model on ``X`` (rows of pixels) and ``y`` (0 / 1) for ``config['epochs']``
epochs and returns ``(seconds per epoch, model)``; ``predict(model, X)``
returns the predicted 0 / 1 labels (None for the floor, which has none).
:mod:`skmlp.benchmark` describes what each one is and runs them.
"""

import time
import warnings
from itertools import pairwise

import numpy as np

from .classifier import ScratchMLPClassifier

__all__ = ["ADAM_ETA", "ETA", "MOMENTUM", "SETTINGS", "SKLEARN_LEARNING_RATE",
           "TRAINERS", "torch_available", "torch_info"]


# skmlp's and PyTorch's cost is a sum over the batch: a step of 1e-4 with
# batches of 1000 is a mean-cost step of 0.1, which is scikit-learn's below.
ETA = 1e-4
SKLEARN_LEARNING_RATE = 0.1
MOMENTUM = 0.9
# Adam's steps do not depend on the scale of the cost: a sum and a mean over
# the batch take the same steps, skmlp's default (and scikit-learn's).
ADAM_ETA = 1e-3

#: The settings timed: the notebook's (SGD with momentum, batches of 1000)
#: and skmlp's defaults (Adam, batches of 128, a cosine schedule).
SETTINGS = {"notebook": {"solver": "sgd", "batch_size": 1000},
            "default": {"solver": "adam", "batch_size": 128}}


def _fit_skmlp(X, y, config):
    epochs = config["epochs"]
    if config.get("setting", "notebook") == "default":
        optimiser = {}  # Adam, eta=0.001 and the cosine schedule
    else:
        optimiser = {"solver": "sgd", "eta": ETA, "learning_rate": "constant",
                     "momentum": MOMENTUM}
    clf = ScratchMLPClassifier(
        hidden_layers=config["hidden_layers"], **optimiser,
        batch_size=config["batch_size"], epochs=epochs,
        tol=0.0, n_iter_no_change=epochs, random_state=config["seed"],
    )
    start = time.perf_counter()
    clf.fit(X, y)  # Ctrl-C raises KeyboardInterrupt: no epochs cut short are timed
    seconds = time.perf_counter() - start
    return seconds / clf.n_iter_, clf


def _fit_sklearn(X, y, config):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    epochs = config["epochs"]
    if config.get("setting", "notebook") == "default":
        optimiser = {"solver": "adam", "learning_rate_init": ADAM_ETA}
    else:
        optimiser = {"solver": "sgd", "learning_rate_init": SKLEARN_LEARNING_RATE,
                     "momentum": MOMENTUM}
    clf = MLPClassifier(
        hidden_layer_sizes=config["hidden_layers"], **optimiser, alpha=0.0,
        batch_size=config["batch_size"], max_iter=epochs, tol=0.0,
        n_iter_no_change=epochs, random_state=config["seed"],
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Stopping after max_iter epochs is what we ask for.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return (time.perf_counter() - start) / clf.n_iter_, clf


def _predict_estimator(model, X):
    return model.predict(X)


def _torch_network(n_features, hidden_layers, dtype):
    import torch

    layers, fan_in = [], n_features
    for fan_out in hidden_layers:
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
        fan_in = fan_out
    layers += [torch.nn.Linear(fan_in, 1), torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers).to(getattr(torch, str(dtype)))


def _fit_torch(X, y, config):
    import torch

    torch.manual_seed(config["seed"])
    model = _torch_network(X.shape[1], config["hidden_layers"], X.dtype)
    if config.get("setting", "notebook") == "default":
        optimizer = torch.optim.Adam(model.parameters(), lr=ADAM_ETA)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=ETA, momentum=MOMENTUM)
    inputs = torch.from_numpy(X)
    targets = torch.from_numpy(y.astype(X.dtype).reshape(-1, 1))
    n, batch_size = X.shape[0], config["batch_size"]
    start = time.perf_counter()
    for _ in range(config["epochs"]):
        order = torch.randperm(n)
        cost = 0.0
        for first in range(0, n, batch_size):
            batch = order[first:first + batch_size]
            optimizer.zero_grad(set_to_none=True)
            output = model(inputs.index_select(0, batch))
            # The notebook's cost, as skmlp's: 1/2 * sum of squared errors.
            loss = 0.5 * (output - targets.index_select(0, batch)).square().sum()
            loss.backward()
            optimizer.step()
            cost += loss.item()  # recorded per epoch, as the others do
    return (time.perf_counter() - start) / config["epochs"], model


def _predict_torch(model, X):
    import torch

    with torch.inference_mode():
        proba = model(torch.from_numpy(X))
    return (proba[:, 0] > 0.5).numpy().astype(np.intp)


class _Floor:
    """The matrix products of training and predicting, and nothing else."""

    def __init__(self, layer_sizes, batch_size, dtype, seed):
        rng = np.random.default_rng(seed)
        pairs = list(pairwise(layer_sizes))
        self.coefs = [
            (rng.standard_normal(pair) / np.sqrt(pair[0])).astype(dtype)
            for pair in pairs
        ]
        self.grads = [np.empty_like(W) for W in self.coefs]
        self.outputs = [np.empty((batch_size, fan_out), dtype) for _, fan_out in pairs]
        # Products of random deltas keep every value normal (no slow denormals).
        self.deltas = [
            rng.standard_normal((batch_size, fan_out)).astype(dtype)
            for _, fan_out in pairs
        ]
        self.batch_size = batch_size

    def epoch(self, X, adam=False):
        """The products of an epoch; with ``adam``, after each batch one
        pass that reads the gradients and reads and writes a copy of the
        weights and Adam's two moments (an add of the gradient to each: the
        least memory traffic of any Adam update, and none of its arithmetic;
        the copy keeps the products' weights as they are)."""
        coefs, outputs, deltas = self.coefs, self.outputs, self.deltas
        if adam and not hasattr(self, "adam_arrays"):
            self.adam_arrays = [[np.zeros_like(W) for _ in range(3)]
                                for W in coefs]
        for first in range(0, X.shape[0], self.batch_size):
            Xb = X[first:first + self.batch_size]
            m = Xb.shape[0]
            inputs = [Xb]
            for W, Z in zip(coefs, outputs, strict=True):
                inputs.append(np.matmul(inputs[-1], W, out=Z[:m]))
            for layer in range(len(coefs) - 1, -1, -1):
                np.matmul(inputs[layer].T, deltas[layer][:m], out=self.grads[layer])
                if layer > 0:
                    np.matmul(deltas[layer][:m], coefs[layer].T,
                              out=deltas[layer - 1][:m])
            if adam:
                for grad, arrays in zip(self.grads, self.adam_arrays, strict=True):
                    for array in arrays:
                        np.add(array, grad, out=array)

    def forward(self, X, chunk=4096):
        for first in range(0, X.shape[0], chunk):
            Y = X[first:first + chunk]
            for W in self.coefs:
                Y = Y @ W
        return None


def _fit_floor(X, y, config):
    layer_sizes = [X.shape[1], *config["hidden_layers"], 1]
    floor = _Floor(layer_sizes, config["batch_size"], X.dtype, config["seed"])
    start = time.perf_counter()
    for _ in range(config["epochs"]):
        floor.epoch(X)
    return (time.perf_counter() - start) / config["epochs"], floor


def _fit_adam_floor(X, y, config):
    layer_sizes = [X.shape[1], *config["hidden_layers"], 1]
    floor = _Floor(layer_sizes, config["batch_size"], X.dtype, config["seed"])
    floor.epoch(X[:config["batch_size"]], adam=True)  # the moments allocated
    start = time.perf_counter()
    for _ in range(config["epochs"]):
        floor.epoch(X, adam=True)
    return (time.perf_counter() - start) / config["epochs"], floor


def _predict_floor(floor, X):
    return floor.forward(X)


TRAINERS = {
    "floor": (_fit_floor, _predict_floor),
    "adam-floor": (_fit_adam_floor, _predict_floor),
    "skmlp": (_fit_skmlp, _predict_estimator),
    "sklearn": (_fit_sklearn, _predict_estimator),
    "torch": (_fit_torch, _predict_torch),
}


def torch_available():
    """Whether PyTorch can be imported (the optional extra ``skmlp[bench]``)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def torch_info():
    """PyTorch's version, threads and BLAS, for the benchmark's machine record."""
    import torch

    return {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
    }
