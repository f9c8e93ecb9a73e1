"""``skmlp predict``: the labels a saved model gives images stored with NumPy."""

from pathlib import Path

import numpy as np

from ._model import (
    ACCEPTED_SHAPES,
    check_images,
    check_mnist_classifier,
    load_model,
    model_input,
)
from ._options import EXIT_USAGE, CommandError, one_line
from ._output import Outputs
from ._paths import check_file

#: --out suffix -> how the labels are written.
LABEL_FORMATS = (".npy", ".csv", ".txt")


def add_parser(commands):
    parser = commands.add_parser(
        "predict", help="predicted labels of images in a .npy file",
        description="Load a model saved by 'skmlp train --save' and print the "
                    "label it predicts for each image of IMAGES, a .npy file "
                    f"(numpy.save) of {ACCEPTED_SHAPES}: a pipeline of skmlp "
                    "train flattens and scales them itself; a bare classifier "
                    "gets images scaled by ImageVectorizer(), and rows as they "
                    "are.",
    )
    parser.add_argument("model", metavar="MODEL", type=Path,
                        help="a .joblib (.joblib.gz, ...), .pkl or .skops file")
    parser.add_argument("images", metavar="IMAGES", type=Path,
                        help="a .npy file of images (no pickled objects)")
    parser.add_argument("--out", metavar="FILE", type=Path,
                        help="write the labels to FILE instead of printing "
                             "them: .npy (numpy.save), .csv (index,label) or "
                             ".txt (one a line)")
    parser.set_defaults(run=run)
    return parser


def _check_out(path):
    if path is None:
        return
    if path.suffix.lower() not in LABEL_FORMATS:
        raise CommandError(f"argument --out: {path.name} names no label format: "
                           "use a .npy, .csv or .txt file", EXIT_USAGE)
    check_file("--out", path)


def load_images(path):
    """The array of a .npy file, with one-line errors; pickles are refused."""
    what = f"argument IMAGES: {path}"
    try:
        X = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise CommandError(f"argument IMAGES: {path} does not exist",
                           EXIT_USAGE) from exc
    except IsADirectoryError as exc:
        raise CommandError(f"argument IMAGES: {path} is a folder; name a .npy "
                           "file", EXIT_USAGE) from exc
    except PermissionError as exc:
        raise CommandError(f"argument IMAGES: cannot read {path}: permission "
                           "denied", EXIT_USAGE) from exc
    except (ValueError, OSError, EOFError) as exc:
        raise CommandError(
            f"argument IMAGES: cannot read {path} as a .npy file of numbers: "
            f"{one_line(exc)}; save the images with numpy.save(path, images)",
            EXIT_USAGE) from exc
    if not isinstance(X, np.ndarray):  # an .npz archive
        X.close()
        raise CommandError(f"argument IMAGES: {path} is an .npz archive of "
                           "several arrays; save the images alone with "
                           "numpy.save(path, images)", EXIT_USAGE)
    check_images(X, what)
    return X


def _write_labels(path, labels):
    suffix = path.suffix.lower()
    if suffix == ".npy":
        np.save(path, labels, allow_pickle=False)
    elif suffix == ".csv":
        lines = ["index,label", *(f"{i},{label}" for i, label in enumerate(labels))]
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text("".join(f"{label}\n" for label in labels))


def run(args):
    _check_out(args.out)  # before the work
    model = load_model(args.model)
    check_mnist_classifier(model, args.model)
    X = load_images(args.images)
    try:
        labels = model.predict(model_input(model, X))
    except (ValueError, TypeError) as exc:
        raise CommandError(f"the model of {args.model} cannot predict the images "
                           f"of {args.images}: {one_line(exc)}",
                           EXIT_USAGE) from exc
    if args.out is None:
        print("\n".join(map(str, labels)))
        return 0
    outputs = Outputs()
    outputs.write(args.out, _write_labels, labels)
    outputs.report()
    return 0
