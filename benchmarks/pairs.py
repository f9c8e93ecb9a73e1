"""Test accuracy on the notebook's pairs: skmlp's defaults beside MLPClassifier's.

For each pair of digits, both classifiers learn from the same vectorized
training images (``ImageVectorizer``: 784 pixels divided by the image's largest,
deskewed first with ``--deskew``, as ``skmlp pairs`` does by default) and are
scored on all the test images of the pair:

- skmlp: ``ScratchMLPClassifier(random_state=0)``, every other parameter at
  its default;
- scikit-learn: ``MLPClassifier(hidden_layer_sizes=<skmlp's default>,
  random_state=0)``, every other parameter at *its* default (Adam, batches of
  200, up to 200 epochs with its own stopping rule, L2 penalty 1e-4).

The notebook's own figures are printed beside them.  The output is a Markdown
table (and, with ``--out``, a JSON file with every number and timing).

Usage::

    python benchmarks/pairs.py                       # the notebook's 5 pairs
    python benchmarks/pairs.py --pairs 1-5 4-9
    python benchmarks/pairs.py --skmlp-results skmlp-runs/<run>/pairs.json
    python benchmarks/pairs.py --deskew --skmlp-results skmlp-runs/<run>/pairs.json

``--skmlp-results`` takes skmlp's accuracies from a ``skmlp pairs`` run
(``pairs.json``) instead of training skmlp again.  MNIST is read with
``skmlp.load_mnist`` (``--mnist``, else ``$SKMLP_MNIST``, ...).
"""

import argparse
import json
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skmlp import DigitPairSelector, ImageVectorizer, ScratchMLPClassifier, load_mnist
from skmlp._machine import machine_info, summary
from skmlp.cli import NOTEBOOK_ACCURACY


def parse_pair(text):
    d1, d2 = (int(part) for part in text.split("-"))
    return tuple(sorted((d1, d2)))


def pair_data(data, pair, deskew=False):
    (x_train, y_train), (x_test, y_test) = data
    selector, vectorizer = DigitPairSelector(*pair), ImageVectorizer(deskew=deskew)
    X_train, y_train = selector.fit_resample(x_train, y_train)
    X_test, y_test = selector.fit_resample(x_test, y_test)
    return (vectorizer.fit_transform(X_train), y_train,
            vectorizer.transform(X_test), y_test)


def fit_and_score(clf, X_train, y_train, X_test, y_test):
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(X_train, y_train)
    return {
        "accuracy": clf.score(X_test, y_test),
        "fit_seconds": time.perf_counter() - start,
        "n_iter": int(clf.n_iter_),
        "warnings": [str(w.message) for w in caught],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", type=parse_pair,
                        default=list(NOTEBOOK_ACCURACY), metavar="D1-D2")
    parser.add_argument("--mnist", metavar="PATH")
    parser.add_argument("--skmlp-results", type=Path, metavar="PAIRS_JSON",
                        help="skmlp's accuracies from a `skmlp pairs` run")
    parser.add_argument("--deskew", action="store_true",
                        help="deskew the images first (skmlp pairs' default)")
    parser.add_argument("--out", type=Path, metavar="JSON")
    args = parser.parse_args(argv)

    reused = {}
    if args.skmlp_results is not None:
        run = json.loads(args.skmlp_results.read_text())
        reused = {parse_pair(r["pair"]): r for r in run["results"]}
        missing = [p for p in args.pairs if p not in reused]
        if missing:
            parser.error(f"{args.skmlp_results} lacks the pairs {missing}")
        deskewed = run.get("preprocessing", {}).get("deskew", False)
        if deskewed != args.deskew:
            parser.error(f"{args.skmlp_results} was run with deskew={deskewed}; "
                         f"pass {'--deskew' if deskewed else 'no --deskew'} to "
                         "give MLPClassifier the same images")

    data = load_mnist(args.mnist)
    machine = machine_info()
    print(summary(machine), flush=True)
    hidden_layers = ScratchMLPClassifier().hidden_layers
    rows = []
    for pair in args.pairs:
        X_train, y_train, X_test, y_test = pair_data(data, pair, args.deskew)
        if pair in reused:
            skmlp = {key: reused[pair][key]
                     for key in ("accuracy", "fit_seconds", "n_iter")}
        else:
            skmlp = fit_and_score(ScratchMLPClassifier(random_state=0),
                                  X_train, y_train, X_test, y_test)
        sklearn = fit_and_score(
            MLPClassifier(hidden_layer_sizes=hidden_layers, random_state=0),
            X_train, y_train, X_test, y_test,
        )
        rows.append({"pair": f"{pair[0]}-{pair[1]}",
                     "notebook": NOTEBOOK_ACCURACY.get(pair),
                     "skmlp": skmlp, "sklearn": sklearn})
        print(f"{pair[0]}-{pair[1]}: skmlp {100 * skmlp['accuracy']:.2f} % "
              f"({skmlp['fit_seconds']:.0f} s), MLPClassifier "
              f"{100 * sklearn['accuracy']:.2f} % ({sklearn['fit_seconds']:.0f} s, "
              f"{sklearn['n_iter']} epochs)", flush=True)

    print()
    print("| pair | notebook | skmlp (defaults) | MLPClassifier (defaults) |"
          " skmlp fit | MLPClassifier fit |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        notebook = "" if row["notebook"] is None else f"{100 * row['notebook']:.2f} %"
        print(f"| {row['pair']} | {notebook} | {100 * row['skmlp']['accuracy']:.2f} % "
              f"| {100 * row['sklearn']['accuracy']:.2f} % "
              f"| {row['skmlp']['fit_seconds']:.0f} s "
              f"| {row['sklearn']['fit_seconds']:.0f} s |")
    means = {name: sum(r[name]["accuracy"] for r in rows) / len(rows)
             for name in ("skmlp", "sklearn")}
    notebook = [r["notebook"] for r in rows if r["notebook"] is not None]
    mean_notebook = (f"{100 * sum(notebook) / len(notebook):.2f} %"
                     if len(notebook) == len(rows) else "")
    print(f"| mean | {mean_notebook} | {100 * means['skmlp']:.2f} % "
          f"| {100 * means['sklearn']:.2f} % | | |")
    if args.out is not None:
        args.out.write_text(json.dumps({
            "skmlp_parameters": ScratchMLPClassifier(random_state=0).get_params(),
            "sklearn_parameters": MLPClassifier(hidden_layer_sizes=hidden_layers,
                                                random_state=0).get_params(),
            "skmlp_results_from": (None if args.skmlp_results is None
                                   else str(args.skmlp_results)),
            "deskew": args.deskew,
            "rows": rows, "means": means, "environment": machine,
        }, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
