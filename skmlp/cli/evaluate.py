"""``skmlp evaluate``: the test accuracy and confusion matrix of a saved model."""

from pathlib import Path

import numpy as np
from sklearn.metrics import confusion_matrix

from ._data import load_data
from ._model import (
    check_mnist_classifier,
    classes_as_digits,
    describe,
    load_model,
    model_input,
    takes_images,
)
from ._options import (
    ALL,
    EXIT_USAGE,
    CommandError,
    add_data_arguments,
    digit_or_all,
    digits_name,
    one_line,
)
from ._output import percent, table


def add_parser(commands):
    parser = commands.add_parser(
        "evaluate", help="test accuracy and confusion matrix of a saved model",
        description="Load a model saved by 'skmlp train --save' (joblib, or "
                    "skops trusting skmlp's types only) and print its accuracy "
                    "and confusion matrix on the MNIST test images of its "
                    "digits, or of the --digits given.",
    )
    parser.add_argument("model", metavar="MODEL", type=Path,
                        help="a .joblib (.joblib.gz, ...), .pkl or .skops file")
    parser.add_argument("--digits", nargs="+", type=digit_or_all, metavar="D",
                        help="evaluate on the test images of these digits, which "
                             "the model must know, or 'all' (default: the "
                             "model's classes)")
    add_data_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def _digits(requested, known, path):
    """The digits to evaluate on: those requested, each known to the model."""
    if requested is None or requested == [ALL]:
        return known
    if ALL in requested:
        raise CommandError("argument --digits: 'all' stands alone; give either "
                           "digits or 'all'", EXIT_USAGE)
    unknown = sorted(set(requested) - set(known))
    if unknown:
        raise CommandError(
            f"argument --digits: the model of {path} knows the digits "
            f"{', '.join(map(str, known))}; it was not trained on "
            f"{', '.join(map(str, unknown))}", EXIT_USAGE)
    return sorted(set(requested))


def run(args):
    model = load_model(args.model)  # before MNIST: the quicker check first
    check_mnist_classifier(model, args.model)
    known = classes_as_digits(model, args.model)
    digits = _digits(args.digits, known, args.model)
    data, source = load_data(args)
    (_, _), (x_test, y_test) = data
    keep = np.isin(y_test, digits)
    images, labels = x_test[keep], y_test[keep]
    prepared = "" if takes_images(model) else " (scaled by ImageVectorizer())"
    print(f"{args.model}: {describe(model)} of the digits "
          f"{', '.join(map(str, known))}; {len(labels)} test images of "
          f"{digits_name(digits)} from {source}{prepared}")
    try:
        predicted = model.predict(model_input(model, images))
    except (ValueError, TypeError) as exc:
        raise CommandError(f"the model of {args.model} cannot predict MNIST's "
                           f"images: {one_line(exc)}") from exc
    right = int(np.sum(predicted == labels))
    print(f"Test accuracy: {percent(right / len(labels))}, {right} of "
          f"{len(labels)} test images right")
    # One row per digit evaluated, one column per class the model predicts.
    matrix = confusion_matrix(labels, predicted, labels=known)
    rows = [[digit, *matrix[known.index(digit)]] for digit in digits]
    print(table(["true \\ predicted", *map(str, known)], rows))
    return 0
