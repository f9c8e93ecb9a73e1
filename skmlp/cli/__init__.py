"""The ``skmlp`` command: each experiment of the course notebook in one command.

::

    skmlp train --digits 1 5            # train, evaluate, plot, write run.json
    skmlp grid --eta 0.01 0.001 --batch-size 1000 1500 2000 \\
               --hidden 500,250 500,250,50 --cv 3 --n-jobs -1
    skmlp pairs                         # the notebook's pairs, beside its figures
    skmlp pairs --all                   # all 45 pairs and their heatmap
    skmlp show --n 5                    # random training digits with labels
    skmlp bench                         # training speed against scikit-learn

Options of the classifier that are not given keep ScratchMLPClassifier's
defaults.  Errors in the arguments or the data end the command with one line
on stderr and exit status 2 (1 for other failures); Ctrl-C stops the work,
reports what was finished and exits with status 130.  Also runs as
``python -m skmlp``.

One module per command (:mod:`~skmlp.cli.train`, ``grid``, ``pairs``,
``show``, ``bench``), each with ``add_parser(commands)`` and ``run(args)``;
the argument types and shared options are in ``_options``, the output helpers
in ``_output``, loading and fitting in ``_data``.
"""

import sys

from .. import __version__
from . import bench, grid, pairs, show, train
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
COMMANDS = (train, grid, pairs, show, bench)


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
        print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
        return exc.code
    except (KeyboardInterrupt, grid.StopRequested):
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
