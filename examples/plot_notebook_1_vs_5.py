"""
The course notebook end to end: 1 vs 5
======================================

The notebook this library grew from classifies MNIST's 1s and 5s with a
784-500-250-1 perceptron written in NumPy.  Here each of its questions takes a
line or two: random digits (Q1), the pair of digits (Q2, Q4), vectorized
images (Q3), training with mini-batches and the two curves of each epoch
(Q5-Q9), then the test accuracy and the confusion matrix (Q10).

The notebook reached 99.65 % on the test set.  Set ``SKMLP_EXAMPLES_QUICK=1``
for a run of seconds (a fifth of the images, two epochs).
"""

# %%
# MNIST: a local copy or a download, else the small sample shipped with skmlp.
import os

import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline

from skmlp import (
    DigitPairSelector,
    ImageVectorizer,
    ScratchMLPClassifier,
    load_mnist,
)
from skmlp.plotting import plot_training_curves, show_digits

QUICK = os.environ.get("SKMLP_EXAMPLES_QUICK") == "1"

(x_train, y_train), (x_test, y_test) = load_mnist(sample_if_missing=True)
print(f"training images {x_train.shape}, test images {x_test.shape}")

# %%
# Q1: five random training images with their labels, a different set on every
# run (pass ``random_state`` to fix it).
show_digits(x_train, y_train, n=5)
plt.show()

# %%
# Q2 and Q4: keep the 1s and the 5s.  :class:`~skmlp.DigitPairSelector` keeps
# the digits as labels: no recoding to 0 / 1, the classifier predicts 1 or 5.
selector = DigitPairSelector(1, 5)
X_train, y_train_pair = selector.fit_resample(x_train, y_train)
X_test, y_test_pair = selector.fit_resample(x_test, y_test)
if QUICK:
    X_train, y_train_pair = X_train[:2500], y_train_pair[:2500]
print(f"{len(X_train)} training and {len(X_test)} test images of 1 and 5")

# %%
# Q3: :class:`~skmlp.ImageVectorizer` flattens each 28 x 28 image to 784
# pixels and divides it by its own largest pixel, as the notebook does; one
# row per image, scikit-learn's convention.
print(ImageVectorizer().fit_transform(X_train[:3]).shape)

# %%
# Q5-Q9: the network (ReLU hidden layers, one sigmoid output) trained on
# shuffled mini-batches.  In a pipeline, the vectorizer comes along when the
# model is saved or cross-validated.  ``verbose=1`` would show a progress bar.
clf = ScratchMLPClassifier(hidden_layers=(500, 250), random_state=0)
if QUICK:
    clf.set_params(epochs=2)
model = make_pipeline(ImageVectorizer(), clf).fit(X_train, y_train_pair)
print(f"{clf.n_iter_} epochs; classes {clf.classes_}")

# %%
# Q9: the notebook's two plots, the cost and the change of the weights (L2
# norm) in each epoch, read from ``loss_curve_`` and ``weight_change_curve_``.
plot_training_curves(model)
plt.show()

# %%
# Q10: the test accuracy and scikit-learn's confusion matrix.
accuracy = model.score(X_test, y_test_pair)
print(f"test accuracy {100 * accuracy:.2f} % (the notebook: 99.65 %)")
ConfusionMatrixDisplay.from_estimator(model, X_test, y_test_pair, cmap="Blues")
plt.show()

# %%
# The first mistakes, each titled with the digit the network saw.
wrong = model.predict(X_test) != y_test_pair
if wrong.any():
    mistakes = X_test[wrong][:10]
    show_digits(mistakes, model.predict(mistakes), label_format="seen: {}")
    plt.show()
