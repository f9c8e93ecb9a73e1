"""``skmlp show``: random training digits with their labels (the notebook's Q1)."""

from sklearn.utils import check_random_state

from ._data import load_data
from ._options import (
    EXIT_USAGE,
    CommandError,
    add_data_arguments,
    add_out_argument,
    positive_int,
    seed,
)
from ._output import Outputs, check_out, figure, output_dir, table


def add_parser(commands):
    parser = commands.add_parser(
        "show", help="a picture of random training digits with their labels",
        description="Draw random training images with their labels into "
                    "digits.png; a different set on every run unless seeded.",
    )
    parser.add_argument("--n", type=positive_int, default=5, metavar="N",
                        help="number of images (default: 5)")
    parser.add_argument("--seed", type=seed, metavar="N",
                        help="seed of the draw (default: a new draw each run)")
    add_data_arguments(parser)
    add_out_argument(parser, "digits.png")
    parser.set_defaults(run=run)
    return parser


def run(args):
    from ..plotting import show_digits

    check_out(args)  # before the work, not after
    ((x_train, y_train), _), source = load_data(args)
    if args.n > len(x_train):
        raise CommandError(f"argument --n: at most {len(x_train)} images; got "
                           f"{args.n}", EXIT_USAGE)
    out = output_dir(args)
    index = check_random_state(args.seed).choice(len(x_train), args.n, replace=False)
    ncols = min(args.n, 10)
    nrows = -(-args.n // ncols)
    fig = figure(figsize=(1.3 * ncols, 1.45 * nrows + 0.1))
    show_digits(x_train[index], y_train[index], ncols=ncols, ax=fig.subplots())
    print(table(["training image", "label"],
                [[i, y_train[i]] for i in index]))
    print(f"{args.n} images from {source}")
    outputs = Outputs()
    outputs.write(out / "digits.png", fig.savefig, dpi=100)
    outputs.report()
    return 0
