"""What every command shares on its way in: argument types, options, errors.

Each type turns one word of the command line into a value or raises
``argparse.ArgumentTypeError`` with a message that names the word and what was
expected; the parser prints it on one line and exits with :data:`EXIT_USAGE`.
"""

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..classifier import ScratchMLPClassifier
from ..datasets import ENV_VAR

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

ALL = "all"  # --digits all
ALL_DIGITS = tuple(range(10))

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


def digit_or_all(text):
    return ALL if text.lower() == ALL else digit(text)


class _Digits(argparse.Action):
    """``--digits 1 5``, ``--digits 1 5 7`` or ``--digits all``: two or more
    different digits, stored in increasing order (the order of ``classes_``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if ALL in values:
            if len(values) > 1:
                parser.error(f"argument {option_string}: 'all' stands alone; "
                             "give either digits or 'all'")
            setattr(namespace, self.dest, ALL_DIGITS)
            return
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            parser.error(f"argument {option_string}: the digits must differ; got "
                         f"{repeated[0]} {values.count(repeated[0])} times")
        if len(values) < 2:
            parser.error(f"argument {option_string}: give two or more digits, or "
                         f"'all' for the ten; got only {values[0]}")
        setattr(namespace, self.dest, tuple(sorted(values)))


# ----------------------------------------------------------- shared options


def digits_name(digits):
    """``(1, 5)`` -> '1 vs 5'; ten digits -> 'all ten digits'; else 'digits 1, 5, 7'."""
    if len(digits) == 2:
        return f"{digits[0]} vs {digits[1]}"
    if tuple(digits) == ALL_DIGITS:
        return "all ten digits"
    return "digits " + ", ".join(map(str, digits))


def add_digits_argument(parser):
    parser.add_argument(
        "--digits", nargs="+", type=digit_or_all, action=_Digits, default=(1, 5),
        metavar="D",
        help="two or more digits to tell apart, or 'all' for the ten "
             "(default: 1 5)",
    )


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


def add_deskew_argument(parser):
    """``--no-deskew``: the images as they are, not deskewed first."""
    parser.add_argument(
        "--no-deskew", dest="deskew", action="store_false",
        help="keep the images as they are; by default each is deskewed "
             "(sheared upright and centred by its moments) before scaling: "
             "ImageVectorizer(deskew=True)",
    )


def deskewed_text(args):
    return " (deskewed)" if args.deskew else ""


# ----------------------------------------------- the classifier's options

_CONSTRAINTS = ScratchMLPClassifier._parameter_constraints
_DEFAULTS = ScratchMLPClassifier().get_params()


def choices_of(param):
    """The string values ScratchMLPClassifier allows for ``param``, sorted."""
    for constraint in _CONSTRAINTS[param]:
        if isinstance(constraint, StrOptions):
            return sorted(constraint.options)
    raise ValueError(f"ScratchMLPClassifier's {param} takes no strings")


def _interval_text(interval):
    left = "-inf" if interval.left is None else f"{interval.left:g}"
    right = "inf" if interval.right is None else f"{interval.right:g}"
    opening = "[" if interval.closed in ("left", "both") else "("
    closing = "]" if interval.closed in ("right", "both") else ")"
    return f"{opening}{left}, {right}{closing}"


def number_in_range(param):
    """The type of an option whose value must satisfy the Interval of
    ScratchMLPClassifier's ``param``: '1' is not a momentum in [0, 1)."""
    [interval] = [constraint for constraint in _CONSTRAINTS[param]
                  if isinstance(constraint, Interval)]
    what = f"a number in {_interval_text(interval)} for {param}"

    def convert(text):
        try:
            value = float(text)
        except ValueError:
            value = np.nan
        if not (np.isfinite(value) and interval.is_satisfied_by(value)):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return convert


def class_weight(text):
    """``--class-weight``: 'balanced', 'none', or digit:weight pairs."""
    if text in ("balanced", "none"):
        return None if text == "none" else text
    weights = {}
    for pair in text.split(","):
        digit, _, weight = pair.partition(":")
        try:
            digit, weight = int(digit), float(weight)
        except ValueError:
            digit = weight = None
        if digit not in range(10) or not (np.isfinite(weight) and weight >= 0):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not 'balanced', 'none' or digit:weight pairs such "
                "as 4:1,9:5 (digits 0-9, weights >= 0)")
        weights[digit] = weight
    return weights


@dataclass(frozen=True)
class ModelOption:
    """One command-line option that sets one ScratchMLPClassifier parameter."""

    dest: str  # argparse's name: --batch-size -> batch_size
    param: str
    help: str
    type: object = None
    metavar: str = None
    choices: tuple = None
    flag: bool = False  # an on/off switch, no value
    axis: bool = False  # in ``skmlp grid``, several values make a grid axis

    @property
    def option(self):
        return "--" + self.dest.replace("_", "-")


def _choice(dest, help, *, axis=False):
    choices = tuple(choices_of(dest))
    return ModelOption(dest, dest, help, choices=choices, axis=axis,
                       metavar="{" + ",".join(choices) + "}")


#: The command line's names of ScratchMLPClassifier's parameters.  Choices and
#: ranges come from the classifier's ``_parameter_constraints``, so that the
#: command cannot accept what the estimator refuses.  The grid axes are the
#: options whose values compare fairly at one setting of the others; solver,
#: learning-rate and loss change what eta means, so a grid over them with one
#: eta would compare unlike things: they take one value in ``skmlp grid``.
MODEL_OPTIONS = (
    ModelOption("hidden", "hidden_layers", "hidden-layer sizes", type=layers,
                axis=True),
    ModelOption("eta", "eta", "learning rate (step size)", type=positive_float,
                metavar="F", axis=True),
    ModelOption("batch_size", "batch_size", "samples per mini-batch",
                type=positive_int, metavar="N", axis=True),
    ModelOption("epochs", "epochs", "passes over the training data",
                type=positive_int, metavar="N", axis=True),
    _choice("solver", "'sgd': the notebook's W <- W - eta dC/dW (plus "
                      "--momentum); 'adam': Adam with step size eta"),
    _choice("learning_rate", "schedule of eta over the epochs: 'constant' (the "
                             "notebook's) or 'cosine', annealed towards 0"),
    ModelOption("momentum", "momentum", "momentum of --solver sgd, in [0, 1)",
                type=number_in_range("momentum"), metavar="F", axis=True),
    ModelOption("alpha", "alpha", "strength of the L2 penalty on the weights, "
                                  ">= 0", type=number_in_range("alpha"),
                metavar="F", axis=True),
    _choice("init", "weight initialisation: 'uniform' is the notebook's "
                    "U[-1, 1]; 'auto' is He for ReLU layers, Glorot elsewhere",
            axis=True),
    _choice("activation", "activation of the hidden layers", axis=True),
    _choice("loss", "'squared_error': the notebook's 1/2 sum (y_hat - y)^2; "
                    "'log_loss': the cross-entropy"),
    ModelOption("dropout", "dropout", "share of each hidden layer's units "
                "dropped in training (inverted dropout), in [0, 1)",
                type=number_in_range("dropout"), metavar="F", axis=True),
    ModelOption("class_weight", "class_weight", "weight of each class in the "
                "cost: 'balanced' (inversely to its frequency), 'none', or "
                "digit:weight pairs such as 4:1,9:5", type=class_weight,
                metavar="W"),
    ModelOption("early_stopping", "early_stopping",
                "hold out 10%% of the training images and stop when their "
                "accuracy stops improving; keep the best epoch", flag=True),
    _choice("engine", "'reference': the lecture's formulas written plainly; "
                      "'fast': the same numbers within rounding, faster"),
)

#: Command-line option (argparse's name) -> ScratchMLPClassifier parameter.
PARAMETER_OF = {option.dest: option.param for option in MODEL_OPTIONS}
PARAMETER_OF["seed"] = "random_state"  # added by each command, with its own help


def _default_text(option):
    default = _DEFAULTS[option.param]
    if option.flag:
        return "off" if not default else "on"
    if isinstance(default, tuple):
        return " ".join(map(str, default))
    return f"{default:g}" if isinstance(default, float) else str(default)


def add_model_arguments(parser, *, grid=False):
    """ScratchMLPClassifier's options; with ``grid``, several values for the
    grid axes."""
    group = parser.add_argument_group(
        "classifier", "ScratchMLPClassifier's parameters; those not given keep "
                      "its defaults" + ("; several values of an option marked "
                                        "'grid axis' make a grid" if grid else "")
    )
    for option in MODEL_OPTIONS:
        many = grid and option.axis
        help = f"{option.help} (default: {_default_text(option)})"
        if many:
            help += "; grid axis"
        if option.flag:
            group.add_argument(option.option, dest=option.dest, action="store_true",
                               default=None, help=help)
        elif option.dest == "hidden":
            if grid:
                group.add_argument(
                    "--hidden", nargs="+", type=layers, metavar="N,N",
                    help=f"{help}: one comma-separated list per candidate, "
                         "e.g. 500,250 500,250,50")
            else:
                group.add_argument("--hidden", nargs="+", type=layers, metavar="N",
                                   help=f"{help}, e.g. 500 250")
        else:
            group.add_argument(option.option, dest=option.dest, type=option.type,
                               choices=option.choices, metavar=option.metavar,
                               nargs="+" if many else None, help=help)
    return group


def add_out_argument(parser, writes):
    parser.add_argument(
        "--out", metavar="DIR", type=Path,
        help=f"folder for {writes} (default: ./skmlp-runs/<date>_<time>)",
    )


def n_outputs(digits):
    """Output units of a network for these digits: 1 for two, else one each."""
    return 1 if len(digits) == 2 else len(digits)


def classifier_params(args):
    """The classifier parameters given on the command line, and only those."""
    params = {}
    for option, param in PARAMETER_OF.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if option == "hidden":  # --hidden 500 250 and --hidden 500,250 alike
            value = tuple(size for sizes in value for size in sizes)
            check_network_size(value, n_outputs=n_outputs(
                getattr(args, "digits", (0, 1))))
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
