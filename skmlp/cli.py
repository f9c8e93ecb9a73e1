"""The ``skmlp`` command: each experiment of the course notebook in one command.

::

    skmlp train --digits 1 5            # train, evaluate, plot, write run.json
    skmlp grid --eta 0.01 0.001 --batch-size 1000 1500 2000 \\
               --hidden 500,250 500,250,50 --cv 3 --n-jobs -1
    skmlp pairs                         # the notebook's pairs, beside its figures
    skmlp pairs --all                   # all 45 pairs and their heatmap
    skmlp show --n 5                    # random training digits with labels

Options of the classifier that are not given keep ScratchMLPClassifier's
defaults.  Errors in the arguments or the data end the command with one line
on stderr and exit status 2 (1 for other failures); Ctrl-C stops the work,
reports what was finished and exits with status 130.  Also runs as
``python -m skmlp``.
"""

import argparse
import contextlib
import csv
import importlib
import importlib.util
import json
import os
import platform
import signal
import sys
import time
import warnings
from datetime import datetime
from itertools import combinations
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from . import __version__
from .classifier import ScratchMLPClassifier
from .datasets import (
    ENV_VAR,
    MNISTFormatError,
    MNISTNotFoundError,
    load_mnist,
    load_mnist_sample,
)
from .preprocessing import DigitPairSelector, ImageVectorizer

__all__ = ["build_parser", "main"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

#: Test accuracy of the course notebook on its pairs of digits.
NOTEBOOK_ACCURACY = {
    (1, 5): 0.9965,
    (1, 7): 0.9903,
    (4, 7): 0.9851,
    (2, 3): 0.9770,
    (4, 9): 0.9372,
}
ALL_PAIRS = list(combinations(range(10), 2))

# Command-line option -> ScratchMLPClassifier parameter.
_MODEL_OPTIONS = {
    "hidden": "hidden_layers",
    "eta": "eta",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "seed": "random_state",
}
_STEP = "scratchmlpclassifier__"  # make_pipeline's name of the classifier step


class CommandError(Exception):
    """A failure to report in one line, with the exit status to return."""

    def __init__(self, message, code=EXIT_FAILURE):
        super().__init__(message)
        self.code = code


class _StopRequested(BaseException):
    """Ctrl-C during a grid search.

    Not a KeyboardInterrupt, which ScratchMLPClassifier turns into a warning
    (keeping the last epoch) and GridSearchCV would then carry on with the
    next fit; a BaseException passes through both and stops the search.
    """


def _one_line(message):
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line: argparse's usage block is one --help away.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_one_line(message)} "
                              f"(see '{self.prog} --help')\n")


# ------------------------------------------------------------ argument types


def _integer(text, what):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _digit(text):
    value = _integer(text, "a digit from 0 to 9")
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a digit from 0 to 9")
    return value


def _positive_int(text):
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = np.nan
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _seed(text):
    value = _integer(text, "a seed (an integer from 0 to 2**32 - 1)")
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seed (an integer from 0 to 2**32 - 1)"
        )
    return value


def _layers(text):
    """``"500,250"`` -> ``(500, 250)``."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of layer sizes: expected positive integers "
            "separated by commas, such as 500,250"
        )
    return sizes


def _pair(text):
    """``"1-7"`` -> ``(1, 7)``."""
    parts = text.split("-")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a pair of digits such as 1-7"
        )
    d1, d2 = (_digit(part) for part in parts)
    if d1 == d2:
        raise argparse.ArgumentTypeError(f"{text!r} pairs a digit with itself")
    return d1, d2


class _DigitPair(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        if values[0] == values[1]:
            parser.error(f"argument {option_string}: the two digits must differ; "
                         f"got {values[0]} twice")
        setattr(namespace, self.dest, tuple(values))


# ------------------------------------------------------------------- parser


def _add_digits_argument(parser):
    parser.add_argument("--digits", nargs=2, type=_digit, action=_DigitPair,
                        default=(1, 5), metavar=("D1", "D2"),
                        help="the pair of digits (default: 1 5)")


def _add_data_arguments(parser):
    group = parser.add_argument_group("data")
    source = group.add_mutually_exclusive_group()
    source.add_argument(
        "--mnist", metavar="PATH",
        help="MNIST as a Keras-style mnist.npz or a folder of its IDX files "
             f"(default: ${ENV_VAR}, Keras' cache, else a download)",
    )
    source.add_argument(
        "--sample", action="store_true",
        help="use the small MNIST sample shipped with skmlp (500 training and "
             "100 test images per digit) instead of MNIST",
    )


def _add_model_arguments(parser, *, grid=False):
    group = parser.add_argument_group(
        "classifier", "ScratchMLPClassifier's parameters; those not given keep "
                      "its defaults" + ("; several values make a grid" if grid else "")
    )
    many = {"nargs": "+"} if grid else {}
    if grid:
        group.add_argument("--hidden", nargs="+", type=_layers, metavar="N,N",
                           help="hidden-layer sizes, one comma-separated list "
                                "per candidate, e.g. 500,250 500,250,50")
    else:
        group.add_argument("--hidden", nargs="+", type=_layers, metavar="N",
                           help="hidden-layer sizes, e.g. 500 250")
    group.add_argument("--eta", type=_positive_float, metavar="F", **many,
                       help="learning rate")
    group.add_argument("--batch-size", type=_positive_int, metavar="N", **many,
                       help="samples per mini-batch")
    group.add_argument("--epochs", type=_positive_int, metavar="N", **many,
                       help="passes over the training data")
    return group


def _add_out_argument(parser, writes):
    parser.add_argument(
        "--out", metavar="DIR", type=Path,
        help=f"folder for {writes} (default: ./skmlp-runs/<date>_<time>)",
    )


def build_parser():
    """The argument parser of the ``skmlp`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Its subcommands set ``args.run``, the function running them.
    """
    parser = _Parser(
        prog="skmlp",
        description="A from-scratch NumPy multilayer perceptron on MNIST digit "
                    "pairs: the course notebook's experiments, one command each.",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train on one pair, evaluate, plot the training curves",
        description="Train ScratchMLPClassifier on a pair of MNIST digits with a "
                    "progress bar, print the test accuracy and the confusion "
                    "matrix, and write training-curves.png, confusion-matrix.png "
                    "and run.json.",
    )
    _add_digits_argument(train)
    group = _add_model_arguments(train)
    group.add_argument("--seed", type=_seed, metavar="N",
                       help="random_state: seeds the weights and the shuffling")
    _add_data_arguments(train)
    _add_out_argument(train, "the figures and run.json")
    train.add_argument("--save", metavar="FILE", type=Path,
                       help="save the fitted pipeline (ImageVectorizer + "
                            "classifier): .skops with skops, else joblib")
    train.set_defaults(run=_train)

    grid = commands.add_parser(
        "grid", help="grid search with cross-validation on one pair",
        description="GridSearchCV over make_pipeline(ImageVectorizer(), "
                    "ScratchMLPClassifier()) on a pair of digits: a ranked "
                    "table of the candidates, the test accuracy of the best "
                    "one refitted, and cv_results.csv.",
    )
    _add_digits_argument(grid)
    group = _add_model_arguments(grid, grid=True)
    group.add_argument("--seed", type=_seed, metavar="N",
                       help="random_state of every candidate")
    search = grid.add_argument_group("search")
    search.add_argument("--cv", type=_positive_int, metavar="K",
                        help="number of folds (default: GridSearchCV's)")
    search.add_argument("--n-jobs", type=int, metavar="N",
                        help="parallel fits; -1 uses every core (default: 1)")
    dask = search.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", metavar="ADDRESS",
                      help="run the fits on the Dask cluster of this scheduler, "
                           "e.g. tcp://host:8786 (needs dask.distributed)")
    dask.add_argument("--local-cluster", type=_positive_int, metavar="N",
                      help="run the fits on a local Dask cluster of N worker "
                           "processes")
    _add_data_arguments(grid)
    _add_out_argument(grid, "cv_results.csv and grid.json")
    grid.set_defaults(run=_grid)

    pairs = commands.add_parser(
        "pairs", help="test accuracy of several pairs (or all 45)",
        description="Train one classifier per pair of digits and print their "
                    "test accuracies, beside the notebook's where it has one; "
                    "write pairs.csv, pairs.json and the heatmap pairs.png.",
    )
    which = pairs.add_mutually_exclusive_group()
    which.add_argument("--pairs", nargs="+", type=_pair, metavar="D1-D2",
                       help="pairs such as 1-7 4-9 (default: the notebook's "
                            "1-5 1-7 4-7 2-3 4-9)")
    which.add_argument("--all", action="store_true", help="all 45 pairs")
    group = _add_model_arguments(pairs)
    group.add_argument("--seed", type=_seed, metavar="N", default=0,
                       help="random_state of every classifier (default: 0)")
    _add_data_arguments(pairs)
    _add_out_argument(pairs, "pairs.csv, pairs.json and pairs.png")
    pairs.set_defaults(run=_pairs)

    show = commands.add_parser(
        "show", help="a picture of random training digits with their labels",
        description="Draw random training images with their labels into "
                    "digits.png; a different set on every run unless seeded.",
    )
    show.add_argument("--n", type=_positive_int, default=5, metavar="N",
                      help="number of images (default: 5)")
    show.add_argument("--seed", type=_seed, metavar="N",
                      help="seed of the draw (default: a new draw each run)")
    _add_data_arguments(show)
    _add_out_argument(show, "digits.png")
    show.set_defaults(run=_show)

    _add_bench(commands)
    return parser


def _add_bench(commands):
    """Register ``skmlp bench`` from skmlp.benchmark, when that module has it."""
    if importlib.util.find_spec("skmlp.benchmark") is None:
        return
    try:
        benchmark = importlib.import_module("skmlp.benchmark")
    except ImportError:
        return
    if not (callable(getattr(benchmark, "add_arguments", None))
            and callable(getattr(benchmark, "run", None))):
        return
    doc = (benchmark.__doc__ or "").strip()
    # The docstring's first line, in the style of the other commands' help.
    summary = doc.splitlines()[0] if doc else "Benchmarks."
    summary = summary.removeprefix("``skmlp bench``:").strip().rstrip(".")
    bench = commands.add_parser(
        "bench", help=summary[:1].lower() + summary[1:],
        description=doc or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    benchmark.add_arguments(bench)
    bench.set_defaults(run=benchmark.run)


# -------------------------------------------------------------------- main


def main(argv=None):
    """Run the ``skmlp`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 on a failure, 2 on a usage error (bad arguments, an
        unreadable ``--mnist``), 130 when interrupted with Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    prog = f"skmlp {args.command}"
    try:
        return args.run(args)
    except CommandError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return exc.code
    except (KeyboardInterrupt, _StopRequested):
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# ---------------------------------------------------------------- helpers


def _classifier_params(args):
    """The classifier parameters given on the command line, and only those."""
    params = {}
    for option, param in _MODEL_OPTIONS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if option == "hidden":  # --hidden 500 250 and --hidden 500,250 alike
            value = tuple(size for sizes in value for size in sizes)
        params[param] = value
    return params


def _load_data(args):
    """``((x_train, y_train), (x_test, y_test))`` and a description of the source."""
    if args.sample:
        return load_mnist_sample(), "the MNIST sample shipped with skmlp"
    # A bad --mnist is a usage error; a bad $SKMLP_MNIST or no MNIST is not.
    if args.mnist is not None:
        source, code, prefix = args.mnist, EXIT_USAGE, "argument --mnist: "
    elif os.environ.get(ENV_VAR):
        source, code, prefix = f"${ENV_VAR}={os.environ[ENV_VAR]}", EXIT_FAILURE, ""
    else:
        source, code, prefix = "MNIST", EXIT_FAILURE, ""
    try:
        return load_mnist(args.mnist), source
    except (MNISTFormatError, MNISTNotFoundError) as exc:
        raise CommandError(f"{prefix}{exc}", code) from exc
    except OSError as exc:  # e.g. permission denied
        raise CommandError(f"{prefix}cannot read {source}: {exc}", code) from exc


def _select(data, digits):
    """Train and test images and labels of one pair of digits."""
    (x_train, y_train), (x_test, y_test) = data
    selector = DigitPairSelector(*digits)
    return (*selector.fit_resample(x_train, y_train),
            *selector.fit_resample(x_test, y_test))


def _output_dir(args):
    """Create and return ``--out``, or a new ./skmlp-runs/<date>_<time>."""
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"argument --out: cannot create {args.out}: "
                               f"{exc.strerror}", EXIT_USAGE) from exc
        return args.out
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(1, 100):
        folder = Path("skmlp-runs") / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue  # two runs within the same second
        except OSError as exc:
            raise CommandError(f"cannot create {folder}: {exc.strerror}; "
                               "choose another folder with --out") from exc
        return folder
    raise CommandError("no free folder name in ./skmlp-runs; use --out")


def _is_interruption(warning):
    # ScratchMLPClassifier turns Ctrl-C during an epoch into this warning.
    return (issubclass(warning.category, UserWarning)
            and "interrupted" in str(warning.message).lower())


def _fit(estimator, X, y):
    """Fit; return (seconds, interrupted).  Warnings are shown on one line each."""
    start = time.perf_counter()
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            estimator.fit(X, y)
        except KeyboardInterrupt:  # between two epochs
            interrupted = True
        except ValueError as exc:  # e.g. training diverged: the message says why
            raise CommandError(exc) from exc
    seconds = time.perf_counter() - start
    for warning in caught:
        if _is_interruption(warning):
            interrupted = True
        else:
            tqdm.write(f"warning: {_one_line(warning.message)}", file=sys.stderr)
    return seconds, interrupted


def _n_epochs_run(clf):
    return getattr(clf, "n_iter_", 0)


def _figure(**kwargs):
    """A matplotlib Figure not managed by pyplot: no GUI, nothing left open."""
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kwargs)


def _cpu_model():
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def _environment():
    """Versions and machine, recorded beside every result."""
    versions = {"python": platform.python_version(), "skmlp": __version__}
    for name in ("numpy", "scipy", "sklearn", "matplotlib", "joblib"):
        with contextlib.suppress(ImportError):
            versions[name] = importlib.import_module(name).__version__
    return {
        "versions": versions,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
    }


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _write_json(path, content):
    path.write_text(json.dumps(content, indent=2, default=_jsonable) + "\n")


def _table(headers, rows):
    """Rows as a text table with right-aligned columns."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in
                               zip(row, widths, strict=True))
                     for row in [headers, *rows])


def _percent(value):
    return "" if value is None else f"{100 * value:.2f} %"


def _pair_name(pair):
    return f"{pair[0]}-{pair[1]}"


# -------------------------------------------------------------------- train


def _check_save_target(path):
    """Fail before training, not after, when --save cannot be written."""
    if path is None:
        return
    if not path.parent.is_dir():
        raise CommandError(f"argument --save: the folder {path.parent} does not "
                           "exist", EXIT_USAGE)
    if path.suffix.lower() == ".skops" and importlib.util.find_spec("skops") is None:
        raise CommandError("argument --save: a .skops file needs skops (pip "
                           "install skops); or use a .joblib file", EXIT_USAGE)


def _confusion_text(labels, matrix):
    headers = ["true \\ predicted", *map(str, labels)]
    return _table(headers, [[label, *row] for label, row in
                            zip(labels, matrix, strict=True)])


def _train(args):
    start = time.perf_counter()
    data, source = _load_data(args)
    out = _output_dir(args)
    _check_save_target(args.save)  # fail now rather than after training
    X_train, y_train, X_test, y_test = _select(data, args.digits)
    load_seconds = time.perf_counter() - start
    params = _classifier_params(args)
    model = make_pipeline(ImageVectorizer(), ScratchMLPClassifier(**params, verbose=1))
    clf = model[-1]
    d1, d2 = args.digits
    print(f"{d1} vs {d2} from {source}: {len(y_train)} training and {len(y_test)} "
          f"test images; {ScratchMLPClassifier(**params)!r}")

    fit_seconds, interrupted = _fit(model, X_train, y_train)
    n_iter = _n_epochs_run(clf)
    if interrupted:
        print(f"Interrupted: training stopped after {n_iter} of {clf.epochs} "
              "epoch(s).", file=sys.stderr)
        if n_iter == 0:
            print("No epoch was completed: nothing to evaluate.", file=sys.stderr)
            return EXIT_INTERRUPTED

    predict_start = time.perf_counter()
    y_pred = model.predict(X_test)
    predict_seconds = time.perf_counter() - predict_start
    accuracy = accuracy_score(y_test, y_pred)
    matrix = confusion_matrix(y_test, y_pred, labels=clf.classes_)
    if not interrupted and n_iter < clf.epochs:
        print(_early_stop_reason(clf))
    partial = f" (after {n_iter} epoch(s) of {clf.epochs})" if interrupted else ""
    print(f"Test accuracy: {_percent(accuracy)}{partial}, "
          f"{int(np.trace(matrix))} of {len(y_test)} test images right")
    print(_confusion_text(clf.classes_, matrix))

    files = _train_figures(out, model, matrix)
    if args.save is not None and not interrupted:
        from .persistence import save

        clf.set_params(verbose=0)  # no progress bar if the saved model is refitted
        try:
            files.append(save(model, args.save))
        except OSError as exc:
            raise CommandError(f"cannot save the model to {args.save}: {exc}") from exc
    elif args.save is not None:
        print(f"The model was not saved to {args.save}: its training was "
              "interrupted.", file=sys.stderr)
    files.append(out / "run.json")
    _write_json(out / "run.json", {
        "command": "train",
        "argv": sys.argv[1:],
        "digits": list(args.digits),
        "data": {"source": source, "n_train": len(y_train), "n_test": len(y_test)},
        "parameters": {"given": params, "classifier": clf.get_params()},
        "interrupted": interrupted,
        "n_iter": n_iter,
        "accuracy": accuracy,
        "confusion_matrix": {"labels": clf.classes_, "matrix": matrix},
        "curves": {"cost": clf.loss_curve_, "weight_change": clf.weight_change_curve_},
        "timings": {
            "load_seconds": load_seconds,
            "fit_seconds": fit_seconds,
            "seconds_per_epoch": fit_seconds / n_iter if n_iter else None,
            "predict_seconds": predict_seconds,
            "total_seconds": time.perf_counter() - start,
        },
        "environment": _environment(),
    })
    print("Wrote " + ", ".join(str(file) for file in files))
    return EXIT_INTERRUPTED if interrupted else 0


def _early_stop_reason(clf):
    what = ("the validation accuracy" if clf.early_stopping
            else "the training cost")
    return (f"Stopped after {clf.n_iter_} of {clf.epochs} epochs: {what} improved "
            f"by less than tol={clf.tol:g} for n_iter_no_change="
            f"{clf.n_iter_no_change} epochs.")


def _train_figures(out, model, matrix):
    from sklearn.metrics import ConfusionMatrixDisplay

    from .plotting import plot_training_curves

    clf = model[-1]
    fig = _figure(figsize=(10, 3.8))
    plot_training_curves(clf, axes=fig.subplots(1, 2), log=True)
    fig.suptitle(f"Training of {clf.classes_[0]} vs {clf.classes_[1]}")
    fig.savefig(out / "training-curves.png", dpi=100)
    fig = _figure(figsize=(4.5, 3.8))
    ConfusionMatrixDisplay(matrix, display_labels=clf.classes_).plot(
        ax=fig.subplots(), cmap="Blues", values_format="d"
    )
    fig.savefig(out / "confusion-matrix.png", dpi=100)
    return [out / "training-curves.png", out / "confusion-matrix.png"]


# --------------------------------------------------------------------- grid


@contextlib.contextmanager
def _ctrl_c_stops_everything():
    """Make Ctrl-C raise _StopRequested in the main thread (see its docstring)."""
    def stop(signum, frame):
        raise _StopRequested

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
    from .distributed import dask_backend

    return dask_backend(args.scheduler, n_workers=args.local_cluster)


def _grid(args):
    start = time.perf_counter()
    data, source = _load_data(args)
    out = _output_dir(args)
    X_train, y_train, X_test, y_test = _select(data, args.digits)
    fixed = {"random_state": args.seed} if args.seed is not None else {}
    param_grid = {
        _STEP + _MODEL_OPTIONS[option]: values
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
            except (KeyboardInterrupt, _StopRequested):
                print("Interrupted: the search stopped before its end (the fits "
                      "above finished); nothing was written.", file=sys.stderr)
                return EXIT_INTERRUPTED
    accuracy = search.score(X_test, y_test)

    results = search.cv_results_
    names = list(param_grid)
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
    print(_table(headers, rows))
    best = {name.removeprefix(_STEP): value
            for name, value in search.best_params_.items()}
    print(f"Best: {best}, CV accuracy {search.best_score_:.4f}; refitted on all "
          f"the training images, test accuracy {_percent(accuracy)}")
    _write_cv_results(out / "cv_results.csv", results)
    _write_json(out / "grid.json", {
        "command": "grid",
        "argv": sys.argv[1:],
        "digits": list(args.digits),
        "data": {"source": source, "n_train": len(y_train), "n_test": len(y_test)},
        "param_grid": {name.removeprefix(_STEP): values
                       for name, values in param_grid.items()},
        "fixed": fixed,
        "cv": search.n_splits_,
        "best_params": best,
        "best_cv_accuracy": search.best_score_,
        "test_accuracy": accuracy,
        "timings": {"refit_seconds": search.refit_time_,
                    "total_seconds": time.perf_counter() - start},
        "environment": _environment(),
    })
    print(f"Wrote {out / 'cv_results.csv'}, {out / 'grid.json'}")
    return 0


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


# -------------------------------------------------------------------- pairs


def _pairs(args):
    start = time.perf_counter()
    if args.all:
        pairs = ALL_PAIRS
    else:
        # Each pair once, smaller digit first: 7-1 is 1-7.
        pairs = list(dict.fromkeys(tuple(sorted(pair)) for pair in
                                   args.pairs or NOTEBOOK_ACCURACY))
    data, source = _load_data(args)
    out = _output_dir(args)
    params = _classifier_params(args)
    print(f"{len(pairs)} pair(s) from {source}; {ScratchMLPClassifier(**params)!r}")

    results, stopped_at = [], None
    progress = tqdm(pairs, desc="Pairs", unit="pair")
    for pair in progress:
        clf = None
        try:
            progress.set_postfix_str(_pair_name(pair))
            result, clf = _train_pair(data, pair, params)
        except KeyboardInterrupt:
            result = None
        if result is None:  # interrupted
            stopped_at = (pair, _n_epochs_run(clf))
            break
        results.append(result)
        tqdm.write(f"{result['pair']}: {_percent(result['accuracy'])} "
                   f"({result['n_iter']} epochs, {result['fit_seconds']:.1f} s)")
    progress.close()
    wall_seconds = time.perf_counter() - start

    if stopped_at is not None:
        pair, epochs = stopped_at
        print(f"Interrupted while training {_pair_name(pair)} (after {epochs} "
              f"epoch(s)); {len(results)} of {len(pairs)} pair(s) finished.",
              file=sys.stderr)
    if not results:
        return EXIT_INTERRUPTED if stopped_at else 0
    _print_pairs(results)
    summary = _pairs_summary(results)
    _write_pairs(out, results, summary, {
        "command": "pairs", "argv": sys.argv[1:],
        "data": {"source": source},
        "parameters": {"given": params,
                       "classifier": ScratchMLPClassifier(**params).get_params()},
        "pairs_requested": [_pair_name(pair) for pair in pairs],
        "interrupted": stopped_at is not None,
        "wall_seconds": wall_seconds,
        "environment": _environment(),
    })
    print(f"Wall time {wall_seconds:.0f} s. Wrote {out / 'pairs.csv'}, "
          f"{out / 'pairs.json'}, {out / 'pairs.png'}")
    return EXIT_INTERRUPTED if stopped_at else 0


def _train_pair(data, pair, params):
    """Train and score one pair: (result, classifier), or (None, classifier)
    when the training was interrupted."""
    X_train, y_train, X_test, y_test = _select(data, pair)
    vectorizer = ImageVectorizer()
    X_train, X_test = vectorizer.fit_transform(X_train), vectorizer.transform(X_test)
    clf = ScratchMLPClassifier(**params)
    fit_seconds, interrupted = _fit(clf, X_train, y_train)
    if interrupted:
        return None, clf
    return {
        "pair": _pair_name(pair), "d1": pair[0], "d2": pair[1],
        "accuracy": clf.score(X_test, y_test),
        "notebook": NOTEBOOK_ACCURACY.get(pair),
        "n_train": len(y_train), "n_test": len(y_test),
        "n_iter": clf.n_iter_, "fit_seconds": fit_seconds,
    }, clf


def _print_pairs(results):
    with_notebook = any(result["notebook"] is not None for result in results)
    headers = ["pair", "test accuracy", *(["notebook"] if with_notebook else []),
               "epochs", "fit time (s)"]
    rows = [[result["pair"], _percent(result["accuracy"]),
             *([_percent(result["notebook"])] if with_notebook else []),
             result["n_iter"], f"{result['fit_seconds']:.1f}"]
            for result in results]
    print(_table(headers, rows))
    summary = _pairs_summary(results)
    line = (f"Mean over {len(results)} pair(s): {_percent(summary['mean'])}; "
            f"worst {summary['worst_pair']}: {_percent(summary['min'])}")
    mine = [r["accuracy"] for r in results if r["notebook"] is not None]
    if mine:
        notebook = [r["notebook"] for r in results if r["notebook"] is not None]
        line += (f". On the notebook's {len(mine)} pair(s): {_percent(np.mean(mine))}"
                 f" (notebook {_percent(np.mean(notebook))})")
    print(line)


def _pairs_summary(results):
    accuracies = np.array([result["accuracy"] for result in results])
    worst = int(np.argmin(accuracies))
    return {"n_pairs": len(results), "mean": float(accuracies.mean()),
            "min": float(accuracies[worst]), "worst_pair": results[worst]["pair"]}


def _write_pairs(out, results, summary, run):
    from .plotting import plot_pair_accuracies

    columns = ["pair", "d1", "d2", "accuracy", "notebook", "n_train", "n_test",
               "n_iter", "fit_seconds"]
    with (out / "pairs.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(results)
    _write_json(out / "pairs.json", {**run, "summary": summary, "results": results})
    fig = _figure(figsize=(7.5, 6.3))
    plot_pair_accuracies({(r["d1"], r["d2"]): r["accuracy"] for r in results},
                         ax=fig.subplots())
    fig.savefig(out / "pairs.png", dpi=100)


# --------------------------------------------------------------------- show


def _show(args):
    from .plotting import show_digits

    ((x_train, y_train), _), source = _load_data(args)
    if args.n > len(x_train):
        raise CommandError(f"argument --n: at most {len(x_train)} images; got "
                           f"{args.n}", EXIT_USAGE)
    out = _output_dir(args)
    index = check_random_state(args.seed).choice(len(x_train), args.n, replace=False)
    ncols = min(args.n, 10)
    nrows = -(-args.n // ncols)
    fig = _figure(figsize=(1.3 * ncols, 1.45 * nrows + 0.1))
    show_digits(x_train[index], y_train[index], ncols=ncols, ax=fig.subplots())
    fig.savefig(out / "digits.png", dpi=100)
    print(_table(["training image", "label"],
                 [[i, y_train[i]] for i in index]))
    print(f"Wrote {out / 'digits.png'} ({args.n} images from {source})")
    return 0
