"""What every command shares on its way in: argument types, options, errors.

Each type turns one word of the command line into a value or raises
``argparse.ArgumentTypeError`` with a message that names the word and what was
expected; the parser prints it on one line and exits with :data:`EXIT_USAGE`.
"""

import argparse
import os
import re
from pathlib import Path

import numpy as np

from ..datasets import ENV_VAR

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

# Command-line option -> ScratchMLPClassifier parameter.
MODEL_OPTIONS = {
    "hidden": "hidden_layers",
    "eta": "eta",
    "batch_size": "batch_size",
    "epochs": "epochs",
    "seed": "random_state",
}


class CommandError(Exception):
    """A failure to report in one line, with the exit status to return."""

    def __init__(self, message, code=EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def one_line(message):
    return " ".join(str(message).split())


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line: argparse's usage block is one --help away.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {one_line(message)} "
                              f"(see '{self.prog} --help')\n")


# ------------------------------------------------------------ argument types


def _integer(text, what):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def int_at_least(minimum):
    """The type of an integer option of at least ``minimum``."""
    what = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"

    def convert(text):
        value = _integer(text, what)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return convert


positive_int = int_at_least(1)


def digit(text):
    value = _integer(text, "a digit from 0 to 9")
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"{text!r} is not a digit from 0 to 9")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = np.nan
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def seed(text):
    value = _integer(text, "a seed (an integer from 0 to 2**32 - 1)")
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seed (an integer from 0 to 2**32 - 1)"
        )
    return value


def n_jobs(text):
    """joblib's n_jobs: a positive number of processes, or -1 for every core
    (-2 for all but one, ...); not 0."""
    value = _integer(text, "a number of jobs (a positive integer, or -1 for "
                           "every core)")
    if value == 0:
        raise argparse.ArgumentTypeError(
            "'0' is not a number of jobs: use a positive integer, or -1 for every "
            "core (-2 for all but one, ...)"
        )
    return value


_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}"
)


def scheduler_address(text):
    """A Dask scheduler's address, ``[protocol://]host:port``."""
    if not _ADDRESS.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not the address of a Dask scheduler: expected "
            "[protocol://]host:port, such as tcp://10.0.0.5:8786 or localhost:8786"
        )
    return text


def layers(text):
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


def pair(text):
    """``"1-7"`` -> ``(1, 7)``."""
    parts = text.split("-")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a pair of digits such as 1-7"
        )
    d1, d2 = (digit(part) for part in parts)
    if d1 == d2:
        raise argparse.ArgumentTypeError(f"{text!r} pairs a digit with itself")
    return d1, d2


class _DigitPair(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        if values[0] == values[1]:
            parser.error(f"argument {option_string}: the two digits must differ; "
                         f"got {values[0]} twice")
        setattr(namespace, self.dest, tuple(values))


# ----------------------------------------------------------- shared options


def add_digits_argument(parser):
    parser.add_argument("--digits", nargs=2, type=digit, action=_DigitPair,
                        default=(1, 5), metavar=("D1", "D2"),
                        help="the pair of digits (default: 1 5)")


def add_data_arguments(parser):
    """``--mnist PATH`` or ``--sample``, one or the other."""
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


def add_model_arguments(parser, *, grid=False):
    """ScratchMLPClassifier's options; with ``grid``, several values each."""
    group = parser.add_argument_group(
        "classifier", "ScratchMLPClassifier's parameters; those not given keep "
                      "its defaults" + ("; several values make a grid" if grid else "")
    )
    many = {"nargs": "+"} if grid else {}
    if grid:
        group.add_argument("--hidden", nargs="+", type=layers, metavar="N,N",
                           help="hidden-layer sizes, one comma-separated list "
                                "per candidate, e.g. 500,250 500,250,50")
    else:
        group.add_argument("--hidden", nargs="+", type=layers, metavar="N",
                           help="hidden-layer sizes, e.g. 500 250")
    group.add_argument("--eta", type=positive_float, metavar="F", **many,
                       help="learning rate")
    group.add_argument("--batch-size", type=positive_int, metavar="N", **many,
                       help="samples per mini-batch")
    group.add_argument("--epochs", type=positive_int, metavar="N", **many,
                       help="passes over the training data")
    return group


def add_out_argument(parser, writes):
    parser.add_argument(
        "--out", metavar="DIR", type=Path,
        help=f"folder for {writes} (default: ./skmlp-runs/<date>_<time>)",
    )


def classifier_params(args):
    """The classifier parameters given on the command line, and only those."""
    params = {}
    for option, param in MODEL_OPTIONS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if option == "hidden":  # --hidden 500 250 and --hidden 500,250 alike
            value = tuple(size for sizes in value for size in sizes)
            check_network_size(value)
        params[param] = value
    return params


# ------------------------------------------------------------ network size

MNIST_PIXELS = 28 * 28
# Training holds the weights about four times over (the weights, their
# gradients, the copy of the last completed epoch, the optimiser's state).
_COPIES_IN_TRAINING = 4


def _bytes_text(n_bytes):
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n_bytes < 1000 or unit == "PB":
            break
        n_bytes /= 1000
    return f"{n_bytes:.3g} {unit}"


def memory_size():
    """The machine's physical memory in bytes, None if unknown."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def check_network_size(hidden_layers, n_features=MNIST_PIXELS, n_outputs=1):
    """Refuse, before any work, a network whose weights cannot fit in memory.

    Counts the weights (and biases) of ``n_features``-``hidden_layers``-
    ``n_outputs`` in float64, about four times over for training.
    """
    sizes = [n_features, *hidden_layers, n_outputs]
    n_weights = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    needed = _COPIES_IN_TRAINING * 8 * n_weights
    memory = memory_size()
    if memory is not None and needed > memory:
        shape = "-".join(map(str, sizes))
        raise CommandError(
            f"argument --hidden: a {shape} network has {n_weights:.3g} weights, "
            f"{_bytes_text(8 * n_weights)} in float64 and about "
            f"{_bytes_text(needed)} to train, more than the "
            f"{_bytes_text(memory)} of memory of this machine; use smaller "
            "hidden layers", EXIT_USAGE)
