"""``skmlp bench``: training speed against scikit-learn, PyTorch and the floor.

Each implementation trains the course notebook's network, 784-500-250-1 on
MNIST 1 vs 5, with mini-batch SGD with momentum 0.9, for a few epochs
without early stopping:

- ``skmlp``: :class:`~skmlp.ScratchMLPClassifier` (``solver='sgd'``);
- ``sklearn``: scikit-learn's ``MLPClassifier(solver='sgd', momentum=0.9,
  alpha=0)`` with its other defaults (Nesterov's momentum among them);
- ``torch``: the same network in PyTorch on the CPU (when it is installed);
- ``floor``: only the matrix products of an epoch -- forward ``X @ W1``,
  ``Y1 @ W2``, ``Y2 @ W3``, backward the three weight-gradient products and
  the two delta products (the input layer's delta is never needed) -- on
  contiguous batches, with no activation, loss, update or shuffling: what
  any implementation that multiplies these matrices must spend.  (skmlp
  leaves the blank columns of each batch -- the border of the digits --
  out of the first layer's products, so it multiplies smaller ones.)

The implementations run round-robin, ``repeats`` times, so that a change in
the machine's load affects them all alike; the table shows the median time
per epoch (fit time / epochs run), its ratio to skmlp's (the median of the
ratios within each round), the prediction
throughput and the peak memory of a fit.  The memory is measured in a fresh
process per implementation as the rise of its peak resident set size (Linux'
``VmHWM``, reset before the fit), so that it counts every allocator, PyTorch's
included; elsewhere it falls back to :mod:`tracemalloc`, which sees NumPy's
allocations only.
"""

import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from itertools import pairwise

import numpy as np

IMPLEMENTATIONS = ("floor", "skmlp", "sklearn", "torch")
DTYPES = ("float32", "float64")

# skmlp's and PyTorch's cost is a sum over the batch: a step of 1e-4 with
# batches of 1000 is a mean-cost step of 0.1, which is scikit-learn's below.
_ETA = 1e-4
_SKLEARN_LEARNING_RATE = 0.1
_MOMENTUM = 0.9


# ------------------------------------------------------------------- data


def load_digit_pair(*, digits=(1, 5), n_samples=None, dtype="float32",
                    source="mnist", path=None):
    """MNIST's training images of two digits as rows of pixels in [0, 1].

    Parameters
    ----------
    digits : tuple of int, default=(1, 5)
        The two digits; the first is class 0, the second class 1.
    n_samples : int, default=None
        Keep only the first ``n_samples`` selected images (all when None).
    dtype : {'float32', 'float64'}, default='float32'
    source : {'mnist', 'sample'}, default='mnist'
        'mnist' reads the full MNIST with :func:`skmlp.load_mnist`; 'sample'
        the small sample shipped with skmlp (for quick runs and tests).
    path : str or os.PathLike, default=None
        Where the full MNIST is, for ``source='mnist'``; None lets
        :func:`skmlp.load_mnist` find it (``SKMLP_MNIST``, Keras' cache, ...).

    Returns
    -------
    X : ndarray of shape (n, 784), C-contiguous, of ``dtype``
    y : ndarray of shape (n,), 0 for ``digits[0]`` and 1 for ``digits[1]``
    """
    from .datasets import load_mnist, load_mnist_sample
    from .preprocessing import DigitPairSelector, ImageVectorizer

    (images, labels), _ = (
        load_mnist(path) if source == "mnist" else load_mnist_sample()
    )
    images, labels = DigitPairSelector(*digits).fit_resample(images, labels)
    if n_samples is not None:
        images, labels = images[:n_samples], labels[:n_samples]
    X = ImageVectorizer(dtype=np.dtype(dtype)).fit_transform(images)
    return np.ascontiguousarray(X), (labels == digits[1]).astype(np.intp)


# --------------------------------------------------------- implementations
# Each trainer fits a fresh model and returns (seconds per epoch, model);
# each predictor returns the predicted 0 / 1 labels of X.


def _fit_skmlp(X, y, config):
    from .classifier import ScratchMLPClassifier

    epochs = config["epochs"]
    clf = ScratchMLPClassifier(
        hidden_layers=config["hidden_layers"], solver="sgd", eta=_ETA,
        learning_rate="constant",
        momentum=_MOMENTUM, batch_size=config["batch_size"], epochs=epochs,
        tol=0.0, n_iter_no_change=epochs, random_state=config["seed"],
    )
    start = time.perf_counter()
    clf.fit(X, y)
    return (time.perf_counter() - start) / clf.n_iter_, clf


def _fit_sklearn(X, y, config):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    epochs = config["epochs"]
    clf = MLPClassifier(
        hidden_layer_sizes=config["hidden_layers"], solver="sgd", alpha=0.0,
        batch_size=config["batch_size"], learning_rate_init=_SKLEARN_LEARNING_RATE,
        momentum=_MOMENTUM, max_iter=epochs, tol=0.0,
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
    optimizer = torch.optim.SGD(model.parameters(), lr=_ETA, momentum=_MOMENTUM)
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

    def epoch(self, X):
        coefs, outputs, deltas = self.coefs, self.outputs, self.deltas
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


def _predict_floor(floor, X):
    return floor.forward(X)


_TRAINERS = {
    "floor": (_fit_floor, _predict_floor),
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


# ------------------------------------------------------------------ memory


def _vm_status():
    """``VmRSS`` and ``VmHWM`` of this process in bytes (Linux only)."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


def _can_reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # 5 resets VmHWM to the current VmRSS
        return "VmHWM" in _vm_status()
    except OSError:
        return False


@contextmanager
def limit_threads(threads, torch=False):
    """Run with at most ``threads`` BLAS / OpenMP threads (None: no limit).

    PyTorch keeps its own thread pool, limited with ``torch.set_num_threads``
    when ``torch`` is true.
    """
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    previous = None
    if torch:
        import torch as torch_module

        previous = torch_module.get_num_threads()
        torch_module.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        if previous is not None:
            torch_module.set_num_threads(previous)


def _fit_peak_memory(implementation, X, y, config):
    """Peak extra memory, in bytes, of one fit: the child process's body."""
    fit, _ = _TRAINERS[implementation]
    X.sum()  # X resident before the baseline is taken
    if implementation == "torch":
        import torch  # noqa: F401  (its import is not the fit's memory)
    with limit_threads(config["threads"], torch=implementation == "torch"):
        if _can_reset_peak_rss():
            baseline = _vm_status()["VmRSS"]
            fit(X, y, config)
            return _vm_status()["VmHWM"] - baseline
        tracemalloc.start()
        try:
            fit(X, y, config)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def memory_method():
    """How :func:`run_benchmark` measures memory on this machine."""
    if _can_reset_peak_rss():
        return "peak RSS rise during fit (VmHWM, fresh process)"
    return "tracemalloc peak during fit (NumPy allocations only)"


def _peak_memory(implementation, X, y, config):
    # A fresh process: the allocator holds no memory freed by earlier fits.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_fit_peak_memory, implementation, X, y, config).result()


# ----------------------------------------------------------------- machine


def machine_info():
    """CPU, cores, load, library versions and the BLAS in use, as a dict."""
    import sklearn
    from threadpoolctl import threadpool_info

    from .cli import _cpu_model

    info = {
        "cpu": _cpu_model() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "blas": [
            {key: pool.get(key) for key in
             ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for pool in threadpool_info() if pool.get("user_api") == "blas"
        ],
    }
    if torch_available():
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = "MKL" if torch.backends.mkl.is_available() else "other"
    return info


# --------------------------------------------------------------- benchmark


def _time_predict(predict, model, X):
    start = time.perf_counter()
    labels = predict(model, X)
    return time.perf_counter() - start, labels


def _timed_rounds(names, data, config, repeats):
    """Fit and predict with each implementation, round-robin over dtypes."""
    times = {(name, dtype): {"fit": [], "predict": []}
             for dtype in data for name in names}
    accuracy = {}
    for _ in range(repeats):
        for dtype, (X, y) in data.items():
            for name in names:
                fit, predict = _TRAINERS[name]
                seconds, model = fit(X, y, config)
                predict_seconds, labels = _time_predict(predict, model, X)
                times[name, dtype]["fit"].append(seconds)
                times[name, dtype]["predict"].append(predict_seconds)
                if labels is not None:
                    accuracy[name, dtype] = float(np.mean(labels == y))
    return times, accuracy


def _round_ratio(numerator, denominator):
    """Median over the rounds of the ratio of two implementations' times.

    Within a round the two ran one after the other, under the same load, so
    each round's ratio is sound even when the load drifts between rounds.
    """
    return statistics.median(a / b for a, b in zip(numerator, denominator,
                                                   strict=True))


def _summary(names, data, config, times, accuracy, memory):
    """One row per implementation and dtype, and skmlp's ratios to the others."""
    results, ratios = [], {}
    for dtype, (X, y) in data.items():
        skmlp_times = times["skmlp", dtype]["fit"]
        ratios[dtype] = {}
        for name in names:
            epoch_times = times[name, dtype]["fit"]
            peak = _peak_memory(name, X, y, config) if memory else None
            results.append({
                "implementation": name,
                "dtype": dtype,
                "seconds_per_epoch": statistics.median(epoch_times),
                "epoch_seconds": epoch_times,
                "ratio_to_skmlp": _round_ratio(epoch_times, skmlp_times),
                "predict_images_per_second": (
                    X.shape[0] / statistics.median(times[name, dtype]["predict"])
                ),
                "peak_memory_mb": None if peak is None else peak / 2**20,
                "train_accuracy": accuracy.get((name, dtype)),
            })
            if name != "skmlp":
                ratios[dtype][f"skmlp/{name}"] = _round_ratio(skmlp_times,
                                                              epoch_times)
    return results, ratios


def run_benchmark(*, epochs=5, repeats=3, dtypes=DTYPES, n_samples=None,
                  batch_size=1000, hidden_layers=(500, 250), torch=None,
                  threads=None, memory=True, source="mnist", path=None, seed=0,
                  warmup=True):
    """Time the implementations side by side; return the results as a dict.

    Parameters
    ----------
    epochs : int, default=5
        Epochs per fit; the time per epoch is the fit time over the epochs run.
    repeats : int, default=3
        Rounds; in each, every implementation fits once per dtype, in turn.
    dtypes : sequence of {'float32', 'float64'}, default=('float32', 'float64')
    n_samples : int, default=None
        Use only the first ``n_samples`` images of the pair (all when None).
    batch_size : int, default=1000
    hidden_layers : tuple of int, default=(500, 250)
    torch : bool, default=None
        Include PyTorch; None means when it is installed.
    threads : int, default=None
        Limit every implementation to this many BLAS / OpenMP threads (and
        PyTorch's own pool); None keeps each library's default.  On a machine
        that others share, one thread gives steadier figures.
    memory : bool, default=True
        Measure each implementation's peak memory in a fit (one extra fit
        per implementation and dtype, in a fresh process).
    source : {'mnist', 'sample'}, default='mnist'
    path : str or os.PathLike, default=None
        See :func:`load_digit_pair`.
    seed : int, default=0
        Seeds every model's initialisation.
    warmup : bool, default=True
        Run each implementation once, untimed, before the timed rounds.

    Returns
    -------
    dict
        ``config``, ``machine``, ``memory_method``, ``results`` (one dict per
        implementation and dtype: ``seconds_per_epoch`` (the median),
        ``epoch_seconds`` (every round), ``ratio_to_skmlp``,
        ``predict_images_per_second``, ``peak_memory_mb``, ``train_accuracy``)
        and ``ratios`` (skmlp's time over each other implementation's, per
        dtype).  Ratios are medians over the rounds of each round's ratio.
    """
    if torch is None:
        torch = torch_available()
    names = [name for name in IMPLEMENTATIONS if name != "torch" or torch]
    config = {
        "epochs": int(epochs), "repeats": int(repeats), "batch_size": int(batch_size),
        "hidden_layers": tuple(int(h) for h in hidden_layers), "seed": int(seed),
        "threads": None if threads is None else int(threads),
    }
    data = {
        dtype: load_digit_pair(n_samples=n_samples, dtype=dtype, source=source,
                               path=path)
        for dtype in dtypes
    }
    with limit_threads(config["threads"], torch=torch):
        machine = machine_info()
        if warmup:
            X, y = data[dtypes[0]]
            for name in names:
                _TRAINERS[name][0](X, y, {**config, "epochs": 1})
        times, accuracy = _timed_rounds(names, data, config, repeats)
    machine["load_average_after"] = (
        list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    )
    results, ratios = _summary(names, data, config, times, accuracy, memory)
    n, n_features = data[dtypes[0]][0].shape
    config.update(
        n_samples=int(n), n_features=int(n_features), dtypes=list(dtypes),
        source=source, digits=[1, 5], eta=_ETA, momentum=_MOMENTUM,
        sklearn_learning_rate_init=_SKLEARN_LEARNING_RATE,
        sklearn_nesterovs_momentum=True,
    )
    return {
        "config": config,
        "machine": machine,
        "memory_method": memory_method() if memory else None,
        "results": results,
        "ratios": ratios,
    }


# ------------------------------------------------------------------ report


def _threads(n):
    return f"{n} thread" + ("" if n == 1 else "s")


def format_table(report):
    """The results of :func:`run_benchmark` as a plain-text table."""
    config, machine = report["config"], report["machine"]
    blas = ", ".join(
        f"{pool['internal_api']} {pool['version']} ({pool['architecture']}, "
        f"{_threads(pool['num_threads'])})" for pool in machine["blas"]
    )
    load = machine.get("load_average")
    lines = [
        f"MNIST 1 vs 5: {config['n_samples']} x {config['n_features']}, network "
        f"{config['n_features']}-{'-'.join(map(str, config['hidden_layers']))}-1, "
        f"batch {config['batch_size']}, {config['epochs']} epochs x "
        f"{config['repeats']} rounds",
        f"machine: {machine['cpu']}, {machine['cores']} cores"
        + (f", load {load[0]:.2f} -> {machine['load_average_after'][0]:.2f}"
           if load else ""),
        f"numpy {machine['numpy']}, BLAS loaded: {blas}",
    ]
    if "torch" in machine:
        lines.append(f"torch {machine['torch']} ({machine['torch_blas']}, "
                     f"{_threads(machine['torch_threads'])})")
    header = (f"{'implementation':<14} {'dtype':<8} {'s/epoch':>9} {'x skmlp':>8} "
              f"{'predict img/s':>14} {'peak MB':>8} {'train acc':>9}")
    lines += ["", header, "-" * len(header)]
    for row in report["results"]:
        peak = row["peak_memory_mb"]
        accuracy = row["train_accuracy"]
        lines.append(
            f"{row['implementation']:<14} {row['dtype']:<8} "
            f"{row['seconds_per_epoch']:>9.4f} {row['ratio_to_skmlp']:>8.2f} "
            f"{row['predict_images_per_second']:>14,.0f} "
            f"{'-' if peak is None else f'{peak:.1f}':>8} "
            f"{'-' if accuracy is None else f'{accuracy:.4f}':>9}"
        )
    lines.append("")
    for dtype, ratios in report["ratios"].items():
        lines.append(f"{dtype}: " + ", ".join(
            f"{key} = {value:.2f}" for key, value in ratios.items()))
    if report["memory_method"]:
        lines.append(f"memory: {report['memory_method']}")
    return "\n".join(lines)


def add_arguments(parser):
    """Add the options of ``skmlp bench`` to an ``argparse`` parser."""
    parser.add_argument("--epochs", type=int, default=5,
                        help="epochs per fit (default: 5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds over the implementations (default: 3)")
    parser.add_argument("--dtype", choices=[*DTYPES, "both"], default="both",
                        help="floating-point type (default: both)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use only the first N images of the pair")
    parser.add_argument("--batch-size", type=int, default=1000,
                        help="mini-batch size (default: 1000)")
    parser.add_argument("--no-torch", action="store_true",
                        help="leave PyTorch out even when it is installed")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit every implementation to N BLAS / OpenMP "
                             "threads (default: each library's own)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory fits")
    parser.add_argument("--sample", action="store_true",
                        help="use the MNIST sample shipped with skmlp")
    parser.add_argument("--mnist", metavar="PATH", default=None,
                        help="MNIST as a Keras-style .npz or a folder of IDX files "
                             "(default: SKMLP_MNIST, then skmlp.load_mnist's search)")
    parser.add_argument("--json", metavar="FILE", default=None,
                        help="also write the results as JSON to FILE")
    return parser


def run(args):
    """Run ``skmlp bench`` with parsed ``args``; return the exit status."""
    from .datasets import MNISTNotFoundError

    for option in ("epochs", "repeats", "batch_size", "threads"):
        if getattr(args, option) is not None and getattr(args, option) < 1:
            print(f"--{option.replace('_', '-')} must be at least 1",
                  file=sys.stderr)
            return 2
    if args.n_samples is not None and args.n_samples < 2:
        print("--n-samples must be at least 2", file=sys.stderr)
        return 2
    try:
        report = run_benchmark(
            epochs=args.epochs, repeats=args.repeats,
            dtypes=DTYPES if args.dtype == "both" else (args.dtype,),
            n_samples=args.n_samples, batch_size=args.batch_size,
            torch=False if args.no_torch else None, threads=args.threads,
            memory=not args.no_memory,
            source="sample" if args.sample else "mnist", path=args.mnist,
        )
    except MNISTNotFoundError as exc:
        print(f"{exc}\nUse --sample to benchmark on the MNIST sample shipped "
              "with skmlp.", file=sys.stderr)
        return 1
    print(format_table(report))
    if args.json:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    import argparse

    sys.exit(run(add_arguments(argparse.ArgumentParser(prog="skmlp bench"))
                 .parse_args()))
