"""The ``skmlp`` command: each experiment of the course notebook in one command.

::

    skmlp train --digits 1 5            # train, evaluate, plot, write run.json
    skmlp train --digits all --save model.joblib   # the ten digits
    skmlp evaluate model.joblib         # its test accuracy, confusion matrix
    skmlp predict model.joblib images.npy --out labels.csv
    skmlp grid --eta 0.01 0.001 --batch-size 1000 1500 2000 \\
               --hidden 500,250 500,250,50 --cv 3 --n-jobs -1
    skmlp pairs                         # the notebook's pairs, beside its figures
    skmlp pairs --all                   # all 45 pairs and their heatmap
    skmlp show --n 5                    # random training digits with labels
    skmlp bench                         # training speed against scikit-learn

Options of the classifier that are not given keep ScratchMLPClassifier's
defaults.  Errors in the arguments or the data end the command with one line
on stderr and exit status 2 (1 for other failures); Ctrl-C stops the work,
reports what was finished and exits with status 130; SIGTERM does the same
and exits with status 143.  Also runs as ``python -m skmlp``.

One module per command (:mod:`~skmlp.cli.train`, ``evaluate``, ``predict``,
``grid``, ``pairs``, ``show``, ``bench``), each with ``add_parser(commands)``
and ``run(args)``; the argument types and shared options (the table of the
classifier's options among them) are in ``_options``, the output helpers in
``_output``, loading and fitting in ``_data``, loading a saved model in
``_model``.
"""

import contextlib
import signal
import sys
import threading
import warnings

from .. import __version__
from ..exceptions import TrainingInterrupted
from . import bench, evaluate, grid, pairs, predict, show, train
from ._options import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    Parser,
    one_line,
)
from .pairs import ALL_PAIRS, NOTEBOOK_ACCURACY

__all__ = [
    "ALL_PAIRS",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "NOTEBOOK_ACCURACY",
    "build_parser",
    "main",
]

#: The subcommands, in the order of ``skmlp --help``.
COMMANDS = (train, evaluate, predict, grid, pairs, show, bench)


def build_parser():
    """The argument parser of the ``skmlp`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Its subcommands set ``args.run``, the function running them.
    """
    parser = Parser(
        prog="skmlp",
        description="A from-scratch NumPy multilayer perceptron on MNIST digit "
                    "pairs: the course notebook's experiments, one command each.",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None):
    """Run the ``skmlp`` command.

    SIGTERM is handled like Ctrl-C while the command runs (the work stops, what
    was finished is reported and written), and the processes of a parallel
    grid search are stopped on the way out; the previous handler is restored
    afterwards.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 on a failure, 2 on a usage error (bad arguments, an
        unreadable ``--mnist``, an output path that cannot be written), 130
        when interrupted with Ctrl-C, 143 (128 + SIGTERM) when terminated:
        what a shell reports for a process that the signal ended, so that a
        job scheduler sees why it stopped.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    prog = f"skmlp {args.command}"
    with _interrupted_by_signals() as received, warnings.catch_warnings():
        # The commands report an interruption in their own words.
        warnings.simplefilter("ignore", TrainingInterrupted)
        try:
            status = args.run(args)
        except CommandError as exc:
            print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
            status = exc.code
        except OSError as exc:  # a file system failure no check foresaw
            print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
            status = EXIT_FAILURE
        except MemoryError:
            print(f"{prog}: error: out of memory; use a smaller network "
                  "(--hidden), a smaller --batch-size or fewer --n-jobs",
                  file=sys.stderr)
            status = EXIT_FAILURE
        except KeyboardInterrupt:
            print(f"{prog}: {'terminated' if received else 'interrupted'}",
                  file=sys.stderr)
            status = EXIT_INTERRUPTED
        if status == EXIT_INTERRUPTED:
            _stop_worker_processes()
    if status == EXIT_INTERRUPTED and received:
        status = 128 + received[0]
    return status


@contextlib.contextmanager
def _interrupted_by_signals():
    """Make SIGTERM raise KeyboardInterrupt in the main thread, as Ctrl-C
    does; yield the list of the signals received."""
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be set in the main thread
        return

    def interrupt(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop_worker_processes():
    """Kill the worker processes of joblib's process pool, if it has any.

    After an interruption the pool may still be computing (a fit it was given
    before), or have been restarted by joblib; left alone, its workers would
    outlive the command.
    """
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None)
    if executor is not None:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True, kill_workers=True)
