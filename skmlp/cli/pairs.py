"""``skmlp pairs``: the test accuracy of several pairs of digits, or of all 45."""

import csv
import sys
import time
from itertools import combinations

import joblib
import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from ..classifier import ScratchMLPClassifier
from ..preprocessing import ImageVectorizer
from ._data import deskewed, fit, load_data, n_epochs_run, select
from ._options import (
    EXIT_INTERRUPTED,
    add_data_arguments,
    add_deskew_argument,
    add_model_arguments,
    add_out_argument,
    classifier_params,
    deskewed_text,
    one_line,
    pair,
    positive_int,
    seed,
)
from ._output import (
    Outputs,
    check_out,
    figure,
    output_dir,
    pair_name,
    percent,
    run_record,
    table,
    write_json,
)

#: Test accuracy of the course notebook on its pairs of digits.
NOTEBOOK_ACCURACY = {
    (1, 5): 0.9965,
    (1, 7): 0.9903,
    (4, 7): 0.9851,
    (2, 3): 0.9770,
    (4, 9): 0.9372,
}
ALL_PAIRS = list(combinations(range(10), 2))


def add_parser(commands):
    parser = commands.add_parser(
        "pairs", help="test accuracy of several pairs (or all 45)",
        description="Train one classifier per pair of digits and print their "
                    "test accuracies, beside the notebook's where it has one; "
                    "write pairs.csv, pairs.json and the heatmap pairs.png.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--pairs", nargs="+", type=pair, metavar="D1-D2",
                       help="pairs such as 1-7 4-9 (default: the notebook's "
                            "1-5 1-7 4-7 2-3 4-9)")
    which.add_argument("--all", action="store_true", help="all 45 pairs")
    group = add_model_arguments(parser)
    group.add_argument("--seed", type=seed, metavar="N", default=0,
                       help="random_state of every classifier (default: 0)")
    parser.add_argument("--n-jobs", type=positive_int, metavar="N",
                        help="pairs trained at once, each in its own process "
                             "on one BLAS thread (default: every core); the "
                             "results do not depend on it")
    add_data_arguments(parser)
    add_deskew_argument(parser)
    add_out_argument(parser, "pairs.csv, pairs.json and pairs.png")
    parser.set_defaults(run=run)
    return parser


def run(args):
    start = time.perf_counter()
    if args.all:
        pairs = ALL_PAIRS
    else:
        # Each pair once, smaller digit first: 7-1 is 1-7.
        pairs = list(dict.fromkeys(tuple(sorted(digits)) for digits in
                                   args.pairs or NOTEBOOK_ACCURACY))
    check_out(args)  # before the work, not after
    params = classifier_params(args)
    data, source = load_data(args)
    if args.deskew:
        # Once for every pair, as each pair's ImageVectorizer(deskew=True)
        # would (image by image), before the pairs are shared out.
        data = deskewed(data)
    out = output_dir(args)
    print(f"{len(pairs)} pair(s) from {source}{deskewed_text(args)}; "
          f"{one_line(repr(ScratchMLPClassifier(**params)))}")

    n_jobs = min(args.n_jobs or joblib.cpu_count(), len(pairs))
    results, stopped_at = [], None
    progress = tqdm(pairs, desc="Pairs", unit="pair")
    trained = _trained_pairs(data, pairs, params, n_jobs)
    for digits in progress:
        epochs = None
        try:
            progress.set_postfix_str(pair_name(digits))
            result, epochs = next(trained)
        except KeyboardInterrupt:
            result = None
        if result is None:  # interrupted
            stopped_at = (digits, epochs)
            break
        results.append(result)
        tqdm.write(f"{result['pair']}: {percent(result['accuracy'])} "
                   f"({result['n_iter']} epochs, {result['fit_seconds']:.1f} s)")
    progress.close()
    trained.close()  # stops the pairs still training
    wall_seconds = time.perf_counter() - start

    if stopped_at is not None:
        digits, epochs = stopped_at
        after = "" if epochs is None else f" (after {epochs} epoch(s))"
        print(f"Interrupted while training {pair_name(digits)}{after}; "
              f"{len(results)} of {len(pairs)} pair(s) finished.",
              file=sys.stderr)
    if not results:
        return EXIT_INTERRUPTED if stopped_at else 0
    _print_pairs(results)
    outputs = Outputs()
    _write_pairs(outputs, out, results, run_record(
        "pairs",
        data={"source": source},
        parameters={"given": params,
                    "classifier": ScratchMLPClassifier(**params).get_params()},
        preprocessing={"deskew": args.deskew},
        pairs_requested=[pair_name(digits) for digits in pairs],
        interrupted=stopped_at is not None,
        wall_seconds=wall_seconds,
    ))
    print(f"Wall time {wall_seconds:.0f} s.")
    outputs.report()
    return EXIT_INTERRUPTED if stopped_at else 0


def _trained_pairs(data, pairs, params, n_jobs):
    """Yield ``(result, epochs run)`` of each pair in turn (``result`` None
    when its training was interrupted).

    With ``n_jobs > 1`` the pairs train in ``n_jobs`` worker processes at
    once (loky), each on one BLAS thread: a pair's batches are too small for
    two threads to pay (see ``skmlp.nn.fast.blas_thread_limit``), so the
    cores are better used by several pairs.  The results come back in the
    pairs' order, and each is what the pair gives alone.
    """
    if n_jobs == 1:
        for digits in pairs:
            clf = None
            try:
                result, clf = _train_pair(data, digits, params)
            except KeyboardInterrupt:
                yield None, n_epochs_run(clf)
                return
            yield result, n_epochs_run(clf)
        return
    tasks = (joblib.delayed(_train_pair_alone)(_pair_data(data, digits), digits,
                                               params)
             for digits in pairs)
    yield from joblib.Parallel(n_jobs=n_jobs, backend="loky",
                               return_as="generator")(tasks)


def _pair_data(data, digits):
    """The images of two digits only, in ``data``'s layout: what a worker
    process needs of MNIST."""
    X_train, y_train, X_test, y_test = select(data, digits)
    return (X_train, y_train), (X_test, y_test)


def _train_pair_alone(data, digits, params):
    """:func:`_train_pair` on one BLAS thread, in a worker process."""
    with threadpool_limits(1, user_api="blas"):
        result, clf = _train_pair(data, digits, params)
    return result, n_epochs_run(clf)


def _train_pair(data, digits, params):
    """Train and score one pair: (result, classifier), or (None, classifier)
    when the training was interrupted."""
    X_train, y_train, X_test, y_test = select(data, digits)
    vectorizer = ImageVectorizer()
    X_train, X_test = vectorizer.fit_transform(X_train), vectorizer.transform(X_test)
    clf = ScratchMLPClassifier(**params)
    fit_seconds, interrupted = fit(clf, X_train, y_train)
    if interrupted:
        return None, clf
    return {
        "pair": pair_name(digits), "d1": digits[0], "d2": digits[1],
        "accuracy": clf.score(X_test, y_test),
        "notebook": NOTEBOOK_ACCURACY.get(digits),
        "n_train": len(y_train), "n_test": len(y_test),
        "n_iter": clf.n_iter_, "fit_seconds": fit_seconds,
    }, clf


def _summary(results):
    accuracies = np.array([result["accuracy"] for result in results])
    worst = int(np.argmin(accuracies))
    return {"n_pairs": len(results), "mean": float(accuracies.mean()),
            "min": float(accuracies[worst]), "worst_pair": results[worst]["pair"]}


def _print_pairs(results):
    with_notebook = any(result["notebook"] is not None for result in results)
    headers = ["pair", "test accuracy", *(["notebook"] if with_notebook else []),
               "epochs", "fit time (s)"]
    rows = [[result["pair"], percent(result["accuracy"]),
             *([percent(result["notebook"])] if with_notebook else []),
             result["n_iter"], f"{result['fit_seconds']:.1f}"]
            for result in results]
    print(table(headers, rows))
    summary = _summary(results)
    line = (f"Mean over {len(results)} pair(s): {percent(summary['mean'])}; "
            f"worst {summary['worst_pair']}: {percent(summary['min'])}")
    mine = [r["accuracy"] for r in results if r["notebook"] is not None]
    if mine:
        notebook = [r["notebook"] for r in results if r["notebook"] is not None]
        line += (f". On the notebook's {len(mine)} pair(s): {percent(np.mean(mine))}"
                 f" (notebook {percent(np.mean(notebook))})")
    print(line)


def _write_csv(path, results):
    columns = ["pair", "d1", "d2", "accuracy", "notebook", "n_train", "n_test",
               "n_iter", "fit_seconds"]
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(results)


def _write_pairs(outputs, out, results, record):
    from ..plotting import plot_pair_accuracies

    outputs.write(out / "pairs.csv", _write_csv, results)
    outputs.write(out / "pairs.json", write_json,
                  {**record, "summary": _summary(results), "results": results})
    fig = figure(figsize=(7.5, 6.3))
    plot_pair_accuracies({(r["d1"], r["d2"]): r["accuracy"] for r in results},
                         ax=fig.subplots())
    outputs.write(out / "pairs.png", fig.savefig, dpi=100)
