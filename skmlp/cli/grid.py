"""``skmlp grid``: GridSearchCV over the pipeline on two or more digits, locally
or on Dask."""

import contextlib
import csv
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from ..classifier import ScratchMLPClassifier
from ..distributed import DaskWorkerLostError, SchedulerUnreachableError
from ..preprocessing import ImageVectorizer
from ._data import load_data, select
from ._options import (
    EXIT_INTERRUPTED,
    MODEL_OPTIONS,
    CommandError,
    add_data_arguments,
    add_deskew_argument,
    add_digits_argument,
    add_model_arguments,
    add_out_argument,
    check_network_size,
    deskewed_text,
    digits_name,
    int_at_least,
    n_jobs,
    n_outputs,
    one_line,
    positive_int,
    scheduler_address,
    seed,
)
from ._output import (
    Outputs,
    check_out,
    output_dir,
    percent,
    run_record,
    table,
    write_json,
)

_STEP = "scratchmlpclassifier__"  # make_pipeline's name of the classifier step


def add_parser(commands):
    parser = commands.add_parser(
        "grid", help="grid search with cross-validation on two or more digits",
        description="GridSearchCV over make_pipeline(ImageVectorizer(deskew="
                    "True), ScratchMLPClassifier()) on two or more digits: a ranked "
                    "table of the candidates, the test accuracy of the best "
                    "one refitted, and cv_results.csv.",
    )
    add_digits_argument(parser)
    group = add_model_arguments(parser, grid=True)
    group.add_argument("--seed", type=seed, metavar="N",
                       help="random_state of every candidate")
    search = parser.add_argument_group("search")
    search.add_argument("--cv", type=int_at_least(2), metavar="K",
                        help="number of folds, at least 2 (default: GridSearchCV's)")
    search.add_argument("--n-jobs", type=n_jobs, metavar="N",
                        help="parallel fits; -1 uses every core (default: 1)")
    dask = search.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", type=scheduler_address, metavar="ADDRESS",
                      help="run the fits on the Dask cluster of this scheduler, "
                           "e.g. tcp://host:8786 (needs dask.distributed)")
    dask.add_argument("--local-cluster", type=positive_int, metavar="N",
                      help="run the fits on a local Dask cluster of N worker "
                           "processes")
    add_data_arguments(parser)
    add_deskew_argument(parser)
    add_out_argument(parser, "cv_results.csv and grid.json")
    parser.set_defaults(run=run)
    return parser


def _dask_context(args):
    if args.scheduler is None and args.local_cluster is None:
        return contextlib.nullcontext()
    if args.n_jobs == 1:
        # joblib runs n_jobs=1 in this process whatever its backend.
        raise CommandError("--n-jobs 1 would run every fit on this machine, not on "
                           "Dask; leave --n-jobs out to use the whole cluster")
    from ..distributed import dask_backend

    return dask_backend(args.scheduler, n_workers=args.local_cluster)


def run(args):
    start = time.perf_counter()
    check_out(args)  # before the work, not after
    for hidden_layers in args.hidden or ():
        check_network_size(hidden_layers, n_outputs=n_outputs(args.digits))
    param_grid, fixed = _grid(args)
    data, source = load_data(args)
    out = output_dir(args)
    X_train, y_train, X_test, y_test = select(data, args.digits)
    search = GridSearchCV(
        make_pipeline(ImageVectorizer(deskew=args.deskew),
                      ScratchMLPClassifier(**fixed)),
        param_grid, cv=args.cv, n_jobs=args.n_jobs, verbose=3,
    )
    print(f"{digits_name(args.digits)} from {source}: {len(y_train)} training and "
          f"{len(y_test)} test images{deskewed_text(args)}; "
          f"{one_line(repr(ScratchMLPClassifier(**fixed)))} and the grid")
    try:
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(_dask_context(args))
            except (ImportError, SchedulerUnreachableError) as exc:
                # Their own messages name the address and what to do.
                raise CommandError(exc) from exc
            except (OSError, TimeoutError, RuntimeError, ValueError, TypeError) as exc:
                raise CommandError(
                    f"cannot use the Dask scheduler "
                    f"{args.scheduler or '(local cluster)'}: {exc}") from exc
            try:
                search.fit(X_train, y_train)
            except ValueError as exc:
                raise CommandError(_fit_failure(exc)) from exc
            except KeyboardInterrupt:
                # The classifier re-raises Ctrl-C: the search stops at once.
                print("Interrupted: the search stopped before its end (the fits "
                      "above finished); nothing was written.", file=sys.stderr)
                return EXIT_INTERRUPTED
    except DaskWorkerLostError as exc:
        # Raised when the Dask context is left, after the search.
        raise CommandError(exc) from exc
    accuracy = search.score(X_test, y_test)

    results = search.cv_results_
    names = list(param_grid)
    print(_ranked_table(results, names))
    best = {name.removeprefix(_STEP): value
            for name, value in search.best_params_.items()}
    print(f"Best: {best}, CV accuracy {search.best_score_:.4f}; refitted on all "
          f"the training images, test accuracy {percent(accuracy)}")
    outputs = Outputs()
    outputs.write(out / "cv_results.csv", _write_cv_results, results)
    outputs.write(out / "grid.json", write_json, run_record(
        "grid",
        digits=list(args.digits),
        data={"source": source, "n_train": len(y_train), "n_test": len(y_test)},
        param_grid={name.removeprefix(_STEP): values
                    for name, values in param_grid.items()},
        fixed=fixed,
        preprocessing={"deskew": args.deskew},
        cv=search.n_splits_,
        best_params=best,
        best_cv_accuracy=search.best_score_,
        test_accuracy=accuracy,
        timings={"refit_seconds": search.refit_time_,
                 "total_seconds": time.perf_counter() - start},
    ))
    outputs.report()
    return 0


def _grid(args):
    """``(param_grid, fixed)``: the grid axes given (every one of their values
    a candidate) and the other classifier parameters given."""
    param_grid, fixed = {}, {}
    for option in MODEL_OPTIONS:
        value = getattr(args, option.dest)
        if value is None:
            continue
        if option.axis:
            param_grid[_STEP + option.param] = value
        else:
            fixed[option.param] = value
    if args.seed is not None:
        fixed["random_state"] = args.seed
    return param_grid, fixed


def _fit_failure(exc):
    """One line for a ValueError of the search.

    When every fit fails, GridSearchCV raises a ValueError whose text holds
    the formatted traceback of each distinct failure; the line given is the
    last line of the first one, the failure's own ``Type: message``.
    """
    text = str(exc)
    if "Traceback (most recent call last)" not in text:
        return one_line(text)  # e.g. the refit of the best candidate diverged
    first = text.split("Traceback (most recent call last)", 1)[1]
    first = first.split("-" * 80, 1)[0]
    lines = [line for line in first.splitlines() if line.strip()]
    return ("every candidate of the grid failed to fit; the first failure: "
            + one_line(lines[-1] if lines else "unknown"))


def _ranked_table(results, names):
    """The candidates, best first."""
    order = np.argsort(results["rank_test_score"], kind="stable")
    rows = [
        [results["rank_test_score"][i],
         *(_param_text(results[f"param_{name}"][i]) for name in names),
         f"{results['mean_test_score'][i]:.4f}", f"{results['std_test_score'][i]:.4f}",
         f"{results['mean_fit_time'][i]:.1f}"]
        for i in order
    ]
    headers = ["rank", *(name.removeprefix(_STEP) for name in names),
               "mean CV accuracy", "std", "fit time (s)"]
    return table(headers, rows)


def _param_text(value):
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _write_cv_results(path, results):
    columns = [key for key in results if key != "params"]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([key.removeprefix("param_").removeprefix(_STEP)
                         for key in columns])
        for i in range(len(results["params"])):
            writer.writerow([_param_text(results[key][i]) for key in columns])
