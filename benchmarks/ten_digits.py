"""Candidate defaults of ScratchMLPClassifier on ten digits and on digit pairs.

Each candidate is a JSON dict of parameters over today's defaults.  It is
trained on all ten digits (MNIST's 60000 training images, scored on its 10000
test images) and, with ``--pairs``, on pairs of digits, once per seed; every
fit is one line of a Markdown table: task, candidate, seed, test accuracy,
epochs run and fit seconds.  A summary per candidate follows: the ten-digit
accuracy, the mean of the notebook's five pairs, the mean and the worst of
every pair measured, and the mean fit time of each task.

Images go through ``ImageVectorizer`` (float32, each image divided by its
largest pixel; deskewed first with ``--deskew``, as ``skmlp train`` does).
Each fit uses one BLAS thread; ``--n-jobs 2`` runs two fits at once (more are
refused: the figures are fit times, which more jobs than cores would
distort).

Usage::

    python benchmarks/ten_digits.py                      # the ten-digit sweep
    python benchmarks/ten_digits.py --seeds 0 1 --configs '{"dropout": 0.2}'
    python benchmarks/ten_digits.py --no-ten --pairs notebook hard \\
        --configs '{"dropout": 0.2}' --n-jobs 2
    python benchmarks/ten_digits.py --quick              # seconds, on the sample

``--pairs`` takes pairs such as ``4-9`` and the names ``notebook`` (1-5, 1-7,
4-7, 2-3, 4-9), ``hard`` (4-9, 7-9, 3-5, 5-8, 3-8, 2-7) and ``all`` (the 45).
MNIST is read with ``skmlp.load_mnist`` (``--mnist``, else ``$SKMLP_MNIST``,
...); ``--quick`` uses ``load_mnist_sample()`` and a small network instead.
"""

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from skmlp import (
    DigitPairSelector,
    ImageVectorizer,
    ScratchMLPClassifier,
    load_mnist,
    load_mnist_sample,
)

NOTEBOOK_PAIRS = ((1, 5), (1, 7), (4, 7), (2, 3), (4, 9))
HARD_PAIRS = ((4, 9), (7, 9), (3, 5), (5, 8), (3, 8), (2, 7))
ALL_PAIRS = tuple(itertools.combinations(range(10), 2))
PAIR_SETS = {"notebook": NOTEBOOK_PAIRS, "hard": HARD_PAIRS, "all": ALL_PAIRS}

# The ten-digit sweep of issue 17: dropout with either loss, more epochs, a
# small L2 penalty; "{}" is today's defaults, the reference for the fit time.
CANDIDATES = (
    {},
    {"dropout": 0.1},
    {"dropout": 0.2},
    {"dropout": 0.3},
    {"dropout": 0.1, "loss": "log_loss"},
    {"dropout": 0.2, "loss": "log_loss"},
    {"dropout": 0.3, "loss": "log_loss"},
    {"dropout": 0.2, "epochs": 30},
    {"dropout": 0.2, "alpha": 1e-5},
)

# --quick: a network and a schedule that fit the sample in about a second.
QUICK_PARAMS = {"hidden_layers": (32,), "epochs": 3}
QUICK_CANDIDATES = ({}, {"dropout": 0.2})

TEN = "0-9"


def parse_pairs(text):
    """The pairs named by one ``--pairs`` word: a set's name or ``D1-D2``."""
    if text in PAIR_SETS:
        return PAIR_SETS[text]
    try:
        d1, d2 = (int(part) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a pair such as 4-9 nor one of {sorted(PAIR_SETS)}"
        ) from None
    if d1 == d2 or not (0 <= d1 <= 9 and 0 <= d2 <= 9):
        raise argparse.ArgumentTypeError(
            f"{text!r}: a pair is two different digits from 0 to 9, such as 4-9")
    return (tuple(sorted((d1, d2))),)


def parse_config(text):
    """A JSON dict of ScratchMLPClassifier parameters; lists become tuples."""
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a JSON dict such as '{{\"dropout\": 0.2}}'")
    unknown = set(params) - set(ScratchMLPClassifier().get_params())
    if unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: ScratchMLPClassifier has no parameter {sorted(unknown)}")
    return {key: tuple(value) if isinstance(value, list) else value
            for key, value in params.items()}


def task_name(pair):
    return TEN if pair is None else f"{pair[0]}-{pair[1]}"


def task_data(data, pair, deskew=False):
    """Vectorized train and test images of ten digits (pair None) or of a pair."""
    (x_train, y_train), (x_test, y_test) = data
    if pair is not None:
        selector = DigitPairSelector(*pair)
        x_train, y_train = selector.fit_resample(x_train, y_train)
        x_test, y_test = selector.fit_resample(x_test, y_test)
    vectorizer = ImageVectorizer(deskew=deskew)
    return (vectorizer.fit_transform(x_train), y_train,
            vectorizer.transform(x_test), y_test)


def fit_and_score(params, X_train, y_train, X_test, y_test):
    """Fit on one BLAS thread; the test accuracy, epochs run and fit seconds."""
    with threadpool_limits(limits=1, user_api="blas"):
        clf = ScratchMLPClassifier(**params)
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        accuracy = clf.score(X_test, y_test)
    return {"accuracy": float(accuracy), "n_iter": int(clf.n_iter_),
            "fit_seconds": fit_seconds}


def config_text(config):
    return json.dumps(config) if config else "defaults"


def run(data, configs, seeds, tasks, base_params, n_jobs, deskew=False):
    """Every (task, config, seed) fit, printed as a table row when it ends."""
    jobs = [(pair, config, seed) for pair in tasks
            for config in configs for seed in seeds]
    prepared = {pair: task_data(data, pair, deskew) for pair in tasks}
    print("| task | candidate | seed | test accuracy | epochs | fit |")
    print("| --- | --- | ---: | ---: | ---: | ---: |", flush=True)
    results = []
    outputs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(fit_and_score)({**base_params, **config, "random_state": seed},
                               *prepared[pair])
        for pair, config, seed in jobs
    )
    for (pair, config, seed), output in zip(jobs, outputs):
        row = {"task": task_name(pair), "config": config, "seed": seed, **output}
        results.append(row)
        print(f"| {row['task']} | {config_text(config)} | {seed} "
              f"| {100 * row['accuracy']:.2f} % | {row['n_iter']} "
              f"| {row['fit_seconds']:.1f} s |", flush=True)
    return results


def summarize(results, configs):
    """Per candidate: ten-digit accuracy, pair means and worst, mean fit times."""
    summaries = []
    for config in configs:
        rows = [r for r in results if r["config"] == config]
        ten = [r for r in rows if r["task"] == TEN]
        pairs = [r for r in rows if r["task"] != TEN]
        notebook_names = {task_name(p) for p in NOTEBOOK_PAIRS}
        notebook = [r for r in pairs if r["task"] in notebook_names]

        def mean(selected, key="accuracy"):
            return float(np.mean([r[key] for r in selected])) if selected else None

        worst = min(pairs, key=lambda r: r["accuracy"]) if pairs else None
        summaries.append({
            "config": config,
            "ten_accuracy": mean(ten),
            "ten_fit_seconds": mean(ten, "fit_seconds"),
            "notebook_pairs_accuracy": (
                mean(notebook)
                if {r["task"] for r in notebook} == notebook_names else None),
            "pairs_accuracy": mean(pairs),
            "n_pairs": len({r["task"] for r in pairs}),
            "worst_pair": None if worst is None else worst["task"],
            "worst_pair_accuracy": None if worst is None else worst["accuracy"],
            "pair_fit_seconds": mean(pairs, "fit_seconds"),
        })
    return summaries


def print_summary(summaries):
    def percent(value):
        return "" if value is None else f"{100 * value:.2f} %"

    def seconds(value):
        return "" if value is None else f"{value:.1f} s"

    print()
    print("| candidate | ten digits | ten-digit fit | notebook's 5 pairs "
          "| pairs measured | mean of the pairs | worst pair | pair fit |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for s in summaries:
        worst = ("" if s["worst_pair"] is None
                 else f"{s['worst_pair']}: {percent(s['worst_pair_accuracy'])}")
        print(f"| {config_text(s['config'])} | {percent(s['ten_accuracy'])} "
              f"| {seconds(s['ten_fit_seconds'])} "
              f"| {percent(s['notebook_pairs_accuracy'])} | {s['n_pairs']} "
              f"| {percent(s['pairs_accuracy'])} | {worst} "
              f"| {seconds(s['pair_fit_seconds'])} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", type=parse_config, metavar="JSON",
                        help="candidates, JSON dicts of parameters over the "
                             "defaults (default: the sweep of issue 17)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], metavar="N",
                        help="random_state of each fit (default: 0)")
    parser.add_argument("--pairs", nargs="+", type=parse_pairs, default=[],
                        metavar="PAIRS", help="D1-D2, notebook, hard or all")
    parser.add_argument("--no-ten", dest="ten", action="store_false",
                        help="skip the ten-digit fits (pairs only)")
    parser.add_argument("--n-jobs", type=int, choices=(1, 2), default=1,
                        help="fits at once, each on one BLAS thread")
    parser.add_argument("--deskew", action="store_true",
                        help="ImageVectorizer(deskew=True), as skmlp train does")
    parser.add_argument("--mnist", metavar="PATH")
    parser.add_argument("--quick", action="store_true",
                        help="the MNIST sample and a small network: seconds")
    parser.add_argument("--out", type=Path, metavar="JSON",
                        help="also write every result to this JSON file")
    args = parser.parse_args(argv)

    pairs = list(dict.fromkeys(p for group in args.pairs for p in group))
    tasks = ([None] if args.ten else []) + pairs
    if not tasks:
        parser.error("nothing to measure: --no-ten needs --pairs")
    if args.quick:
        data, base_params = load_mnist_sample(), QUICK_PARAMS
        configs = args.configs or list(QUICK_CANDIDATES)
    else:
        data, base_params = load_mnist(args.mnist), {}
        configs = args.configs or list(CANDIDATES)

    results = run(data, configs, args.seeds, tasks, base_params, args.n_jobs,
                  args.deskew)
    summaries = summarize(results, configs)
    print_summary(summaries)
    if args.out is not None:
        args.out.write_text(json.dumps({
            "quick": args.quick,
            "deskew": args.deskew,
            "base_parameters": ScratchMLPClassifier(**base_params).get_params(),
            "results": results,
            "summaries": summaries,
        }, indent=2, default=str) + "\n")
    return results, summaries


if __name__ == "__main__":
    main()
