"""``skmlp bench --time-to-accuracy``: training time until a test accuracy.

Speed per epoch is half the story: an implementation that needs fewer epochs
wins too.  Each implementation trains on a pair's training images with its
own defaults, epoch by epoch; after every epoch the clock stops, the test
accuracy is taken, and the first epoch at or above the pair's target gives
the time to accuracy (training time only, evaluation excluded):

- ``skmlp``: :class:`~skmlp.ScratchMLPClassifier` with its defaults (Adam,
  batches of 128, 15 epochs on a cosine schedule, which is set by its
  ``epochs``: it runs them all, or stops at the target);
- ``sklearn``: ``MLPClassifier`` with its defaults (Adam, batches of 200,
  ``alpha=1e-4``), one ``partial_fit`` per epoch (which keeps Adam's state);
- ``torch``: PyTorch, the same network, Adam (step 0.001), batches of 128.

The targets are 99.5 % on 1 vs 5 and 99.0 % on 4 vs 9.  Before the first
pair, each implementation trains once on 256 of its images, untimed: the
costs a process pays once (numba loading skmlp's compiled updates, PyTorch's
start-up) are left out, as imports are.  Each turn starts after a pause
(:data:`SETTLE`), so that one implementation's BLAS threads, still spinning,
do not slow the next.  With ``repeats`` the
implementations take turns, round after round, as in ``skmlp bench``: the
seconds are the median over the rounds, and each ratio to scikit-learn the
median of the ratios within a round.
"""

import copy
import statistics
import time
import warnings

import numpy as np

from ._bench_trainers import ADAM_ETA, _torch_network, torch_available
from ._machine import load_average, machine_info
from .classifier import ScratchMLPClassifier
from .datasets import load_mnist, load_mnist_sample
from .preprocessing import DigitPairSelector, ImageVectorizer

__all__ = ["TARGETS", "format_accuracy_table", "run_time_to_accuracy"]

#: Pairs of digits and the test accuracy to reach on each.
TARGETS = {(1, 5): 0.995, (4, 9): 0.990}


def _pair(mnist, digits, dtype):
    (x_train, y_train), (x_test, y_test) = mnist
    selector, vectorizer = DigitPairSelector(*digits), ImageVectorizer(dtype=dtype)
    X_train, y_train = selector.fit_resample(x_train, y_train)
    X_test, y_test = selector.fit_resample(x_test, y_test)
    return (vectorizer.fit_transform(X_train), (y_train == digits[1]).astype(int),
            vectorizer.transform(X_test), (y_test == digits[1]).astype(int))


def _skmlp_epochs(X, y, config):
    """Yield ``(seconds, predict)`` after each epoch of a default fit.

    The fit runs its epochs in one call (its cosine schedule is set by
    ``epochs``), so the weights after each epoch are copied as it runs, with
    the clock paused, and scored afterwards.  The time counts everything the
    fit does but the copies.
    """
    from .nn import fast

    clf = ScratchMLPClassifier(random_state=config["seed"],
                               hidden_layers=config["hidden_layers"])
    epochs_done, paused = [], [0.0]
    train_epoch = fast.train_epoch

    def copying_epoch(*args, **kwargs):
        result = train_epoch(*args, **kwargs)
        stop = time.perf_counter()
        epochs_done.append((stop - start - paused[0],
                            [p.copy() for p in clf.coefs_ + clf.intercepts_]))
        paused[0] += time.perf_counter() - stop
        return result

    fast.train_epoch = copying_epoch
    try:
        start = time.perf_counter()
        clf.fit(X, y)
    finally:
        fast.train_epoch = train_epoch
    n, previous = len(clf.coefs_), 0.0
    for elapsed, params in epochs_done:
        model = copy.copy(clf)  # the fitted model with this epoch's weights
        model.coefs_, model.intercepts_ = params[:n], params[n:]
        yield elapsed - previous, model.predict
        previous = elapsed


def _sklearn_epochs(X, y, config):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=config["hidden_layers"],
                        random_state=config["seed"])
    for _ in range(config["max_epochs"]):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.partial_fit(X, y, classes=[0, 1])
        yield time.perf_counter() - start, clf.predict


def _torch_epochs(X, y, config):
    import torch

    torch.manual_seed(config["seed"])
    model = _torch_network(X.shape[1], config["hidden_layers"], X.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=ADAM_ETA)
    inputs = torch.from_numpy(X)
    targets = torch.from_numpy(y.astype(X.dtype).reshape(-1, 1))

    def predict(X_test):
        with torch.inference_mode():
            proba = model(torch.from_numpy(X_test))
        return (proba[:, 0] > 0.5).numpy().astype(int)

    for _ in range(config["max_epochs"]):
        start = time.perf_counter()
        order = torch.randperm(len(X))
        for first in range(0, len(X), 128):
            batch = order[first:first + 128]
            optimizer.zero_grad(set_to_none=True)
            output = model(inputs.index_select(0, batch))
            loss = 0.5 * (output - targets.index_select(0, batch)).square().sum()
            loss.backward()
            optimizer.step()
        yield time.perf_counter() - start, predict


EPOCHS = {"skmlp": _skmlp_epochs, "sklearn": _sklearn_epochs, "torch": _torch_epochs}


def run_time_to_accuracy(*, targets=None, max_epochs=30, hidden_layers=(500, 250),
                         torch=None, threads=None, source="mnist", path=None,
                         mnist=None, seed=0, dtype="float32", repeats=1):
    """Time each implementation's training until it first reaches each target.

    Parameters
    ----------
    targets : dict, default=None
        ``{(d1, d2): accuracy}``; None means :data:`TARGETS`.
    max_epochs : int, default=30
        Epochs at most for scikit-learn and PyTorch (skmlp runs its 20).
    hidden_layers : tuple of int, default=(500, 250)
        The hidden-layer sizes of every implementation.
    torch : bool, default=None
        Include PyTorch; None means when it is installed.
    threads : int, default=None
        BLAS / OpenMP threads for every implementation (None: their own).
    source : {'mnist', 'sample'}, default='mnist'
        Where MNIST comes from, as in :func:`skmlp.benchmark.load_digit_pair`.
    path : str or os.PathLike, default=None
        As in :func:`skmlp.benchmark.load_digit_pair`.
    mnist : tuple, default=None
        As in :func:`skmlp.benchmark.load_digit_pair`.
    seed : int, default=0
        Seeds every model's initialisation.
    dtype : str, default='float32'
        The dtype of the images.
    repeats : int, default=1
        Rounds over the implementations, for each pair.

    Returns
    -------
    dict
        ``config``, ``machine`` and ``results``: one dict per pair and
        implementation with ``seconds`` (the median over the rounds; None
        when the target was not reached), ``seconds_rounds`` (each round's),
        ``ratio_to_sklearn`` (the median of the rounds' ratios of its seconds
        to scikit-learn's, or None), ``epochs`` (to the target),
        ``best_accuracy`` and ``accuracy_curve`` / ``seconds_curve`` (after
        each epoch, in the first round).
    """
    from .benchmark import limit_threads

    targets = TARGETS if targets is None else targets
    if torch is None:
        torch = torch_available()
    names = [name for name in EPOCHS if name != "torch" or torch]
    if mnist is None:
        mnist = load_mnist(path) if source == "mnist" else load_mnist_sample()
    config = {"max_epochs": int(max_epochs), "seed": int(seed),
              "hidden_layers": tuple(int(h) for h in hidden_layers),
              "threads": threads, "dtype": dtype, "source": source,
              "repeats": int(repeats),
              "targets": {f"{a}-{b}": t for (a, b), t in targets.items()}}
    results = []
    with limit_threads(threads, torch=torch):
        machine = machine_info()
        for index, (digits, target) in enumerate(targets.items()):
            X, y, X_test, y_test = _pair(mnist, digits, np.dtype(dtype))
            if index == 0:
                _warm_up(names, X, y, config)
            rounds = [{name: _to_target(name, X, y, X_test, y_test, digits,
                                        target, config) for name in names}
                      for _ in range(repeats)]
            results += [_over_rounds(name, rounds) for name in names]
    machine["load_average_after"] = load_average()
    return {"config": config, "machine": machine, "results": results}


def _warm_up(names, X, y, config):
    """Train each implementation once, briefly and untimed, on 256 images:
    what a process pays once (numba loading skmlp's compiled updates, 0.6 -
    0.8 s; PyTorch's start-up) is not time to accuracy."""
    rows = np.concatenate([np.flatnonzero(y == label)[:128] for label in (0, 1)])
    for name in names:
        for _ in EPOCHS[name](X[rows], y[rows], {**config, "max_epochs": 1}):
            break


def _over_rounds(name, rounds):
    """The first round's row of ``name``, with the seconds of every round."""
    row = dict(rounds[0][name])
    row["seconds_rounds"] = seconds = [run[name]["seconds"] for run in rounds]
    reached = None not in seconds
    row["seconds"] = statistics.median(seconds) if reached else None
    ratios = [run[name]["seconds"] / run["sklearn"]["seconds"] for run in rounds
              if run[name]["seconds"] is not None
              and run["sklearn"]["seconds"] is not None]
    row["ratio_to_sklearn"] = (statistics.median(ratios)
                               if len(ratios) == len(rounds) else None)
    return row


# Seconds to pause before each implementation's turn: OpenBLAS's threads
# spin for about 0.1 s after their last product (scikit-learn's fit, a
# prediction), on the cores the next one would use.
SETTLE = 0.25


def _to_target(name, X, y, X_test, y_test, digits, target, config):
    time.sleep(SETTLE)
    elapsed, seconds_curve, accuracy_curve = 0.0, [], []
    reached = None
    for seconds, predict in EPOCHS[name](X, y, config):
        elapsed += seconds
        accuracy = float(np.mean(predict(X_test) == y_test))
        seconds_curve.append(elapsed)
        accuracy_curve.append(accuracy)
        if accuracy >= target:
            reached = len(accuracy_curve)
            break
    return {"implementation": name, "pair": f"{digits[0]}-{digits[1]}",
            "target": target, "seconds": elapsed if reached else None,
            "epochs": reached, "best_accuracy": max(accuracy_curve),
            "accuracy_curve": accuracy_curve, "seconds_curve": seconds_curve}


def format_accuracy_table(report):
    """Format the results of :func:`run_time_to_accuracy` as a plain-text table.

    Parameters
    ----------
    report : dict
        What :func:`run_time_to_accuracy` returned.

    Returns
    -------
    table : str
        One line per pair and implementation.
    """
    machine = report["machine"]
    load = machine.get("load_average")
    repeats = report["config"].get("repeats", 1)
    lines = [f"time to accuracy (training only), machine: {machine['cpu']}, "
             f"{machine['cores']} cores"
             + (f", load {load[0]:.2f} -> {machine['load_average_after'][0]:.2f}"
                if load else "")
             + (f"; median of {repeats} rounds" if repeats > 1 else ""), ""]
    header = (f"{'pair':<5} {'target':>7} {'implementation':<14} {'seconds':>8} "
              f"{'epochs':>6} {'best acc':>9} {'x sklearn':>9}")
    lines += [header, "-" * len(header)]
    for row in report["results"]:
        seconds = "-" if row["seconds"] is None else f"{row['seconds']:.3f}"
        epochs = "-" if row["epochs"] is None else str(row["epochs"])
        ratio = row.get("ratio_to_sklearn")
        ratio = "-" if ratio is None else f"{ratio:.2f}"
        lines.append(f"{row['pair']:<5} {100 * row['target']:>6.1f}% "
                     f"{row['implementation']:<14} {seconds:>8} {epochs:>6} "
                     f"{100 * row['best_accuracy']:>8.2f}% {ratio:>9}")
    return "\n".join(lines)
