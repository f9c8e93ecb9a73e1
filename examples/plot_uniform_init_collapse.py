"""
Why the notebook got 55.99 %: weights drawn from U[-1, 1]
=========================================================

Several of the notebook's runs ended at 55.99 % on 1 vs 5 -- the share of 1s
in the test set: the network answered "1" for every image.  Its weights
started uniform in [-1, 1].  With 784 inputs, the first layer's sums then
have a spread of about ten times the inputs', the ReLU layers pass it on
growing, and the output sigmoid starts at 0 or 1 for nearly every image.
There its derivative ``y (1 - y)`` is zero, the squared-error gradient
vanishes with it, and the plain SGD steps of the notebook (eta=0.01, batches
of 1000, the cost summed over the batch) throw the network to one side, from
which it does not come back.

``init='uniform'`` reproduces that initialisation; skmlp's default (``'auto'``:
He for ReLU layers, Glorot for the output) scales the weights to the fan-in
instead.  Whether a uniform start collapses depends on the seed: most seeds
do, a few learn.  Set ``SKMLP_EXAMPLES_QUICK=1`` for a run of seconds.
"""

# %%
# The 1s and 5s of MNIST (or of the sample shipped with skmlp).
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skmlp import (
    DigitPairSelector,
    ImageVectorizer,
    ScratchMLPClassifier,
    load_mnist,
    load_mnist_sample,
)
from skmlp.datasets import MNISTNotFoundError

QUICK = os.environ.get("SKMLP_EXAMPLES_QUICK") == "1"

try:
    (x_train, y_train), (x_test, y_test) = load_mnist()
except MNISTNotFoundError:
    (x_train, y_train), (x_test, y_test) = load_mnist_sample()
selector = DigitPairSelector(1, 5)
vectorizer = ImageVectorizer()
X_train, y_train = selector.fit_resample(x_train, y_train)
X_test, y_test = selector.fit_resample(x_test, y_test)
X_train, X_test = vectorizer.fit_transform(X_train), vectorizer.transform(X_test)
if QUICK:
    X_train, y_train = X_train[:2000], y_train[:2000]
share_of_ones = np.mean(y_test == 1)
print(f"{len(X_train)} training images; 1s are {100 * share_of_ones:.2f} % "
      "of the test images")

# %%
# The notebook's network and update, started from U[-1, 1] with several
# seeds, and the same with skmlp's default initialisation.  The classifier
# warns when it collapses; the warnings are collected here and printed once.
epochs = 3 if QUICK else 20
seeds = [0, 1, 2] if QUICK else [0, 1, 2, 3, 4]
notebook = dict(hidden_layers=(500, 250), solver="sgd", eta=0.01, batch_size=1000,
                epochs=epochs)
runs = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    for seed in seeds:
        runs[f"U[-1, 1], seed {seed}"] = ScratchMLPClassifier(
            init="uniform", random_state=seed, **notebook
        ).fit(X_train, y_train)
    runs["default init, seed 0"] = ScratchMLPClassifier(
        random_state=0, **notebook
    ).fit(X_train, y_train)
print(f"{len(caught)} run(s) warned: {caught[0].message}" if caught
      else "no run collapsed")
for name, clf in runs.items():
    print(f"{name:22} test accuracy {100 * clf.score(X_test, y_test):6.2f} %")

# %%
# Left: the cost per epoch; a collapsed run stays flat, high.  Middle: the
# test accuracy, with the share of 1s (the accuracy of answering "1" always)
# as a dashed line.  Right: the predicted probability of a 5 for each test
# image after training: a collapsed network is saturated, it gives every
# image the same answer with certainty.
fig, (ax_cost, ax_accuracy, ax_proba) = plt.subplots(
    1, 3, figsize=(13, 3.8), layout="constrained"
)
for name, clf in runs.items():
    style = {"color": "tab:gray", "linestyle": "--"} if "default" in name else {}
    ax_cost.plot(np.arange(1, clf.n_iter_ + 1), clf.loss_curve_, marker=".",
                 label=name, **style)
ax_cost.set(xlabel="epoch", ylabel="cost per sample", yscale="log",
            title="Cost per epoch")
ax_cost.xaxis.get_major_locator().set_params(integer=True)
ax_cost.legend(fontsize=8)

names = list(runs)
accuracies = [100 * runs[name].score(X_test, y_test) for name in names]
bars = ax_accuracy.barh(
    names, accuracies,
    color=["tab:gray" if "default" in n else "tab:red" for n in names],
)
ax_accuracy.bar_label(bars, fmt="%.2f %%", padding=3, fontsize=8)
ax_accuracy.axvline(100 * share_of_ones, color="black", linestyle="--")
ax_accuracy.set(xlim=(40, 110), xlabel="test accuracy (%)", title="Test accuracy")
ax_accuracy.invert_yaxis()

bins = np.linspace(0, 1, 21)
collapsed = min(names, key=lambda n: runs[n].score(X_test, y_test))
for name in (collapsed, "default init, seed 0"):
    ax_proba.hist(runs[name].predict_proba(X_test)[:, 1], bins=bins, alpha=0.6,
                  label=name)
ax_proba.set(yscale="log", xlabel="predicted probability of a 5",
             ylabel="test images", title="Outputs after training")
ax_proba.legend(fontsize=8)
plt.show()
