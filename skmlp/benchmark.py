"""``skmlp bench``: training speed against scikit-learn, PyTorch and the floor.

Each implementation trains the course notebook's network, 784-500-250-1 on
MNIST 1 vs 5, for a few epochs without early stopping, in two settings:
'notebook', mini-batch SGD with momentum 0.9 and batches of 1000, and
'default', skmlp's defaults: Adam (step 0.001), batches of 128 and a cosine
schedule.

- ``skmlp``: :class:`~skmlp.ScratchMLPClassifier` (``solver='sgd'``, or
  its defaults);
- ``sklearn``: scikit-learn's ``MLPClassifier(solver='sgd', momentum=0.9,
  alpha=0)`` with its other defaults (Nesterov's momentum among them), or
  ``MLPClassifier(solver='adam', batch_size=128, alpha=0,
  learning_rate_init=0.001)``;
- ``torch``: the same network in PyTorch on the CPU (when it is installed),
  with SGD and momentum or Adam;
- ``floor``: only the matrix products of an epoch -- forward ``X @ W1``,
  ``Y1 @ W2``, ``Y2 @ W3``, backward the three weight-gradient products and
  the two delta products (the input layer's delta is never needed) -- on
  contiguous batches, with no activation, loss, update or shuffling: what
  any implementation that multiplies these matrices must spend.  (skmlp
  leaves the blank columns of each batch -- the border of the digits --
  out of the first layer's products, so it multiplies smaller ones.)
- ``adam-floor`` ('default' only): the floor plus, after each batch, one
  pass that reads and writes the weights and Adam's two moments: what any
  Adam update must move through memory, without its arithmetic.

``--threads 1`` (one BLAS thread for every implementation) gives the
comparison that depends least on the machine's load.  ``--time-to-accuracy``
measures instead how long each implementation trains before its test
accuracy first reaches a target (:mod:`skmlp.benchmark_accuracy`).

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

import multiprocessing
import statistics
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import numpy as np

from ._bench_trainers import (
    ADAM_ETA,
    ETA,
    MOMENTUM,
    SETTINGS,
    SKLEARN_LEARNING_RATE,
    TRAINERS,
    torch_available,
    torch_info,
)
from ._machine import load_average, machine_info
from .datasets import load_mnist, load_mnist_sample
from .preprocessing import DigitPairSelector, ImageVectorizer

__all__ = ["DTYPES", "IMPLEMENTATIONS", "SETTINGS", "format_table", "limit_threads",
           "load_digit_pair", "memory_method", "run_benchmark"]

IMPLEMENTATIONS = ("floor", "adam-floor", "skmlp", "sklearn", "torch")
DTYPES = ("float32", "float64")

# ------------------------------------------------------------------- data


def load_digit_pair(*, digits=(1, 5), n_samples=None, dtype="float32",
                    source="mnist", path=None, mnist=None):
    """Load MNIST's training images of two digits as rows of pixels in [0, 1].

    Parameters
    ----------
    digits : tuple of int, default=(1, 5)
        The two digits; the first is class 0, the second class 1.
    n_samples : int, default=None
        Keep only the first ``n_samples`` selected images (all when None).
    dtype : {'float32', 'float64'}, default='float32'
        The dtype of ``X``.
    source : {'mnist', 'sample'}, default='mnist'
        'mnist' reads the full MNIST with :func:`skmlp.load_mnist`; 'sample'
        the small sample shipped with skmlp (for quick runs and tests).
    path : str or os.PathLike, default=None
        Where the full MNIST is, for ``source='mnist'``; None lets
        :func:`skmlp.load_mnist` find it (``SKMLP_MNIST``, Keras' cache, ...).
    mnist : tuple, default=None
        The images already loaded, ``((x_train, y_train), (x_test, y_test))``
        as :func:`skmlp.load_mnist` returns them; then ``source`` and ``path``
        are not read.

    Returns
    -------
    X : ndarray of shape (n, 784)
        The images, C-contiguous, of ``dtype``.
    y : ndarray of shape (n,)
        0 for ``digits[0]`` and 1 for ``digits[1]``.
    """
    if mnist is None:
        mnist = load_mnist(path) if source == "mnist" else load_mnist_sample()
    (images, labels), _ = mnist
    images, labels = DigitPairSelector(*digits).fit_resample(images, labels)
    if n_samples is not None:
        images, labels = images[:n_samples], labels[:n_samples]
    X = ImageVectorizer(dtype=np.dtype(dtype)).fit_transform(images)
    return np.ascontiguousarray(X), (labels == digits[1]).astype(np.intp)


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

    Parameters
    ----------
    threads : int or None
        The most threads of every BLAS and OpenMP pool; None leaves them be.
    torch : bool, default=False
        Also limit PyTorch's own pool, with ``torch.set_num_threads``.

    Yields
    ------
    None
        The limits hold inside the ``with`` block.
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
    fit, _ = TRAINERS[implementation]
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
    """Describe how :func:`run_benchmark` measures memory on this machine.

    Returns
    -------
    method : str
        The measurement, in words.
    """
    if _can_reset_peak_rss():
        return "peak RSS rise during fit (VmHWM, fresh process)"
    return "tracemalloc peak during fit (NumPy allocations only)"


def _peak_memory(implementation, X, y, config):
    # A fresh process: the allocator holds no memory freed by earlier fits.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        return pool.submit(_fit_peak_memory, implementation, X, y, config).result()


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
                fit, predict = TRAINERS[name]
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


def run_benchmark(*, setting="notebook", epochs=5, repeats=3, dtypes=DTYPES,
                  n_samples=None, batch_size=None, hidden_layers=(500, 250),
                  torch=None, threads=None, memory=True, source="mnist", path=None,
                  mnist=None, seed=0, warmup=True):
    """Time the implementations side by side; return the results as a dict.

    Parameters
    ----------
    setting : {'notebook', 'default'}, default='notebook'
        The notebook's SGD with momentum, or skmlp's defaults (Adam, cosine
        schedule), which adds the ``adam-floor``.
    epochs : int, default=5
        Epochs per fit; the time per epoch is the fit time over the epochs run.
    repeats : int, default=3
        Rounds; in each, every implementation fits once per dtype, in turn.
    dtypes : sequence of {'float32', 'float64'}, default=('float32', 'float64')
    n_samples : int, default=None
        Use only the first ``n_samples`` images of the pair (all when None).
    batch_size : int, default=None
        None is the setting's: 1000 for 'notebook', 128 for 'default'.
    hidden_layers : tuple of int, default=(500, 250)
        The hidden-layer sizes of every implementation.
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
        See :func:`load_digit_pair`.
    path : str or os.PathLike, default=None
        See :func:`load_digit_pair`.
    mnist : tuple, default=None
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
    names = [name for name in IMPLEMENTATIONS if (name != "torch" or torch)
             and (name != "adam-floor" or setting == "default")]
    if batch_size is None:
        batch_size = SETTINGS[setting]["batch_size"]
    config = {
        "setting": setting, "epochs": int(epochs), "repeats": int(repeats),
        "batch_size": int(batch_size),
        "hidden_layers": tuple(int(h) for h in hidden_layers), "seed": int(seed),
        "threads": None if threads is None else int(threads),
    }
    data = {
        dtype: load_digit_pair(n_samples=n_samples, dtype=dtype, source=source,
                               path=path, mnist=mnist)
        for dtype in dtypes
    }
    with limit_threads(config["threads"], torch=torch):
        machine = machine_info()
        if torch:
            machine.update(torch_info())
        if warmup:
            X, y = data[dtypes[0]]
            for name in names:
                TRAINERS[name][0](X, y, {**config, "epochs": 1})
        times, accuracy = _timed_rounds(names, data, config, repeats)
    machine["load_average_after"] = load_average()
    results, ratios = _summary(names, data, config, times, accuracy, memory)
    n, n_features = data[dtypes[0]][0].shape
    config.update(
        n_samples=int(n), n_features=int(n_features), dtypes=list(dtypes),
        source=source, digits=[1, 5], solver=SETTINGS[setting]["solver"],
    )
    if setting == "default":
        config.update(eta=ADAM_ETA, learning_rate="cosine",
                      sklearn_learning_rate_init=ADAM_ETA)
    else:
        config.update(eta=ETA, momentum=MOMENTUM,
                      sklearn_learning_rate_init=SKLEARN_LEARNING_RATE,
                      sklearn_nesterovs_momentum=True)
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
    """Format the results of :func:`run_benchmark` as a plain-text table.

    Parameters
    ----------
    report : dict
        What :func:`run_benchmark` returned.

    Returns
    -------
    table : str
        The machine, the settings and one line per implementation and dtype.
    """
    config, machine = report["config"], report["machine"]
    blas = ", ".join(
        f"{pool['internal_api']} {pool['version']} ({pool['architecture']}, "
        f"{_threads(pool['num_threads'])})" for pool in machine["blas"]
    )
    load = machine.get("load_average")
    solver = ("Adam, cosine schedule" if config["setting"] == "default"
              else "SGD + momentum")
    lines = [
        f"setting '{config['setting']}' ({solver}); "
        f"MNIST 1 vs 5: {config['n_samples']} x {config['n_features']}, network "
        f"{config['n_features']}-{'-'.join(map(str, config['hidden_layers']))}-1, "
        f"batch {config['batch_size']}, {config['epochs']} epochs x "
        f"{config['repeats']} rounds",
        f"machine: {machine['cpu']}, {machine['cores']} cores"
        + (f", load {load[0]:.2f} -> {machine['load_average_after'][0]:.2f}"
           if load else ""),
        f"numpy {machine['versions']['numpy']}, BLAS loaded: {blas}",
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
