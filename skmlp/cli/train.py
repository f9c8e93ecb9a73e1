"""``skmlp train``: train on two or more digits, evaluate, plot the notebook's
curves, the first layer's weights and the mistakes."""

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.pipeline import make_pipeline

from ..classifier import ScratchMLPClassifier
from ..preprocessing import ImageVectorizer
from ._data import fit, load_data, n_epochs_run, select
from ._options import (
    EXIT_INTERRUPTED,
    add_data_arguments,
    add_deskew_argument,
    add_digits_argument,
    add_model_arguments,
    add_out_argument,
    classifier_params,
    deskewed_text,
    digits_name,
    one_line,
    seed,
)
from ._output import (
    Outputs,
    check_out,
    figure,
    output_dir,
    percent,
    run_record,
    table,
    write_json,
)
from ._paths import check_model_file

MISTAKES_SHOWN = 20  # in misclassified.png
WEIGHTS_SHOWN = 64  # first-layer units in first-layer-weights.png


def add_parser(commands):
    parser = commands.add_parser(
        "train", help="train on two or more digits, evaluate, plot",
        description="Train ScratchMLPClassifier on two or more MNIST digits (all "
                    "ten with --digits all) with a progress bar, print the test "
                    "accuracy and the confusion matrix, and write "
                    "training-curves.png, confusion-matrix.png, "
                    "misclassified.png, first-layer-weights.png and run.json.",
    )
    add_digits_argument(parser)
    group = add_model_arguments(parser)
    group.add_argument("--seed", type=seed, metavar="N",
                       help="random_state: seeds the weights and the shuffling")
    add_data_arguments(parser)
    add_deskew_argument(parser)
    add_out_argument(parser, "the figures and run.json")
    parser.add_argument("--save", metavar="FILE", type=Path,
                        help="save the fitted pipeline (ImageVectorizer + "
                             "classifier): .skops with skops, else joblib")
    parser.set_defaults(run=run)
    return parser


def run(args):
    start = time.perf_counter()
    # Every path this command writes, checked before the work.
    check_out(args)
    check_model_file("--save", args.save)
    params = classifier_params(args)  # and the network's size
    data, source = load_data(args)
    out = output_dir(args)
    X_train, y_train, X_test, y_test = select(data, args.digits)
    load_seconds = time.perf_counter() - start
    model = make_pipeline(ImageVectorizer(deskew=args.deskew),
                          ScratchMLPClassifier(**params, verbose=1))
    clf = model[-1]
    print(f"{digits_name(args.digits)} from {source}: {len(y_train)} training and "
          f"{len(y_test)} test images{deskewed_text(args)}; "
          f"{one_line(repr(ScratchMLPClassifier(**params)))}")

    fit_seconds, interrupted = fit(model, X_train, y_train)
    n_iter = n_epochs_run(clf)
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
    print(f"Test accuracy: {percent(accuracy)}{partial}, "
          f"{int(np.trace(matrix))} of {len(y_test)} test images right")
    print(_confusion_text(clf.classes_, matrix))

    outputs = Outputs()  # a file that cannot be written does not stop the others
    _figures(outputs, out, model, matrix, X_test, y_test,
             n_mistakes=int(np.sum(y_pred != y_test)))
    if args.save is not None and not interrupted:
        from ..persistence import save

        clf.set_params(verbose=0)  # no progress bar if the saved model is refitted
        outputs.write(args.save, lambda path: save(model, path))
    elif args.save is not None:
        print(f"The model was not saved to {args.save}: its training was "
              "interrupted.", file=sys.stderr)
    outputs.write(out / "run.json", write_json, run_record(
        "train",
        digits=list(args.digits),
        data={"source": source, "n_train": len(y_train), "n_test": len(y_test)},
        parameters={"given": params, "classifier": clf.get_params()},
        preprocessing={"deskew": args.deskew},
        interrupted=interrupted,
        n_iter=n_iter,
        accuracy=accuracy,
        confusion_matrix={"labels": clf.classes_, "matrix": matrix},
        curves={"cost": clf.loss_curve_, "weight_change": clf.weight_change_curve_},
        timings={
            "load_seconds": load_seconds,
            "fit_seconds": fit_seconds,
            "seconds_per_epoch": fit_seconds / n_iter if n_iter else None,
            "predict_seconds": predict_seconds,
            "total_seconds": time.perf_counter() - start,
        },
    ))
    outputs.report()
    return EXIT_INTERRUPTED if interrupted else 0


def _early_stop_reason(clf):
    what = ("the validation accuracy" if clf.early_stopping
            else "the training cost")
    return (f"Stopped after {clf.n_iter_} of {clf.epochs} epochs: {what} improved "
            f"by less than tol={clf.tol:g} for n_iter_no_change="
            f"{clf.n_iter_no_change} epochs.")


def _confusion_text(labels, matrix):
    headers = ["true \\ predicted", *map(str, labels)]
    return table(headers, [[label, *row] for label, row in
                           zip(labels, matrix, strict=True)])


def _figures(outputs, out, model, matrix, X_test, y_test, n_mistakes):
    from sklearn.metrics import ConfusionMatrixDisplay

    from ..plotting import (
        plot_first_layer_weights,
        plot_training_curves,
        show_misclassified,
    )

    clf = model[-1]
    name = digits_name(clf.classes_)
    fig = figure(figsize=(10, 3.8))
    plot_training_curves(clf, axes=fig.subplots(1, 2), log=True)
    fig.suptitle(f"Training of {name}")
    outputs.write(out / "training-curves.png", fig.savefig, dpi=100)
    # A cell per pair of classes: the figure grows with their number.
    side = max(4.5, 0.55 * len(clf.classes_) + 1.5)
    fig = figure(figsize=(side, side - 0.7))
    ConfusionMatrixDisplay(matrix, display_labels=clf.classes_).plot(
        ax=fig.subplots(), cmap="Blues", values_format="d"
    )
    outputs.write(out / "confusion-matrix.png", fig.savefig, dpi=100)
    n_shown = min(MISTAKES_SHOWN, n_mistakes)
    rows = max(1, -(-n_shown // 5))
    fig = figure(figsize=(10.5, 1.9 * rows + 0.9))
    show_misclassified(model, X_test, y_test, n=MISTAKES_SHOWN, ncols=5,
                       ax=fig.subplots())
    fig.suptitle(f"Test images of {name} that the model gets wrong")
    outputs.write(out / "misclassified.png", fig.savefig, dpi=100)
    fig = figure(figsize=(9, 8))
    plot_first_layer_weights(model, n_units=min(WEIGHTS_SHOWN, clf.coefs_[0].shape[1]),
                             ax=fig.subplots())
    fig.suptitle(f"First-layer weights of {name}, one tile per hidden unit")
    outputs.write(out / "first-layer-weights.png", fig.savefig, dpi=100)
