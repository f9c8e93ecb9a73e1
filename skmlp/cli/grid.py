"""``skmlp grid``: GridSearchCV over the pipeline on one pair, locally or on Dask."""

import contextlib
import csv
import signal
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from ..classifier import ScratchMLPClassifier
from ..preprocessing import ImageVectorizer
from ._data import load_data, select
from ._options import (
    EXIT_INTERRUPTED,
    MODEL_OPTIONS,
    CommandError,
    add_data_arguments,
    add_digits_argument,
    add_model_arguments,
    add_out_argument,
    positive_int,
    seed,
)
from ._output import output_dir, percent, run_record, table, write_json

_STEP = "scratchmlpclassifier__"  # make_pipeline's name of the classifier step


class StopRequested(BaseException):
    """Ctrl-C during a grid search.

    Not a KeyboardInterrupt, which ScratchMLPClassifier turns into a warning
    (keeping the last epoch) and GridSearchCV would then carry on with the
    next fit; a BaseException passes through both and stops the search.
    """


def add_parser(commands):
    parser = commands.add_parser(
        "grid", help="grid search with cross-validation on one pair",
        description="GridSearchCV over make_pipeline(ImageVectorizer(), "
                    "ScratchMLPClassifier()) on a pair of digits: a ranked "
                    "table of the candidates, the test accuracy of the best "
                    "one refitted, and cv_results.csv.",
    )
    add_digits_argument(parser)
    group = add_model_arguments(parser, grid=True)
    group.add_argument("--seed", type=seed, metavar="N",
                       help="random_state of every candidate")
    search = parser.add_argument_group("search")
    search.add_argument("--cv", type=positive_int, metavar="K",
                        help="number of folds (default: GridSearchCV's)")
    search.add_argument("--n-jobs", type=int, metavar="N",
                        help="parallel fits; -1 uses every core (default: 1)")
    dask = search.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run the fits on the Dask cluster of this scheduler, "
                           "e.g. tcp://host:8786 (needs dask.distributed)")
    dask.add_argument("--local-cluster", type=positive_int, metavar="N",
                      help="run the fits on a local Dask cluster of N worker "
                           "processes")
    add_data_arguments(parser)
    add_out_argument(parser, "cv_results.csv and grid.json")
    parser.set_defaults(run=run)
    return parser


@contextlib.contextmanager
def _ctrl_c_stops_everything():
    """Make Ctrl-C raise StopRequested in the main thread (see its docstring)."""
    def stop(signum, frame):
        raise StopRequested

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    data, source = load_data(args)
    out = output_dir(args)
    X_train, y_train, X_test, y_test = select(data, args.digits)
    fixed = {"random_state": args.seed} if args.seed is not None else {}
    param_grid = {
        _STEP + MODEL_OPTIONS[option]: values
        for option in ("eta", "batch_size", "hidden", "epochs")
        if (values := getattr(args, option)) is not None
    }
    search = GridSearchCV(
        make_pipeline(ImageVectorizer(), ScratchMLPClassifier(**fixed)),
        param_grid, cv=args.cv, n_jobs=args.n_jobs, verbose=3,
    )
    d1, d2 = args.digits
    print(f"{d1} vs {d2} from {source}: {len(y_train)} training and {len(y_test)} "
          f"test images")
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_dask_context(args))
        except ImportError as exc:
            raise CommandError(exc) from exc
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise CommandError(f"cannot use the Dask scheduler "
                               f"{args.scheduler or '(local cluster)'}: {exc}") from exc
        with _ctrl_c_stops_everything():
            try:
                search.fit(X_train, y_train)
            except ValueError as exc:
                raise CommandError(exc) from exc
            except (KeyboardInterrupt, StopRequested):
                print("Interrupted: the search stopped before its end (the fits "
                      "above finished); nothing was written.", file=sys.stderr)
                return EXIT_INTERRUPTED
    accuracy = search.score(X_test, y_test)

    results = search.cv_results_
    names = list(param_grid)
    print(_ranked_table(results, names))
    best = {name.removeprefix(_STEP): value
            for name, value in search.best_params_.items()}
    print(f"Best: {best}, CV accuracy {search.best_score_:.4f}; refitted on all "
          f"the training images, test accuracy {percent(accuracy)}")
    _write_cv_results(out / "cv_results.csv", results)
    write_json(out / "grid.json", run_record(
        "grid",
        digits=list(args.digits),
        data={"source": source, "n_train": len(y_train), "n_test": len(y_test)},
        param_grid={name.removeprefix(_STEP): values
                    for name, values in param_grid.items()},
        fixed=fixed,
        cv=search.n_splits_,
        best_params=best,
        best_cv_accuracy=search.best_score_,
        test_accuracy=accuracy,
        timings={"refit_seconds": search.refit_time_,
                 "total_seconds": time.perf_counter() - start},
    ))
    print(f"Wrote {out / 'cv_results.csv'}, {out / 'grid.json'}")
    return 0


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
