"""
What the first layer learns: the filters of 1 vs 5
===================================================

Each hidden unit of the first layer weighs every pixel of the image: column
``j`` of ``coefs_[0]``, drawn as a 28 x 28 image, is the pattern that switches
unit ``j`` on (red: positive weights) or off (blue: negative weights).  On 1
vs 5 the units learn a vertical stroke (the 1) against the loop and the bar
of a 5.  Before looking, we check that the gradients that trained them are
right: :func:`~skmlp.check_gradients` compares backpropagation with finite
differences of the cost, the first thing to run after editing the network.

Set ``SKMLP_EXAMPLES_QUICK=1`` for a run of seconds (fewer images, epochs).
"""

# %%
# The 1s and 5s of MNIST (a local copy or a download, else the sample shipped
# with skmlp).
import os

import matplotlib.pyplot as plt
from sklearn.pipeline import make_pipeline

from skmlp import (
    DigitPairSelector,
    ImageVectorizer,
    ScratchMLPClassifier,
    check_gradients,
    load_mnist,
)
from skmlp.plotting import plot_first_layer_weights

QUICK = os.environ.get("SKMLP_EXAMPLES_QUICK") == "1"

(x_train, y_train), (x_test, y_test) = load_mnist(sample_if_missing=True)
selector = DigitPairSelector(1, 5)
X_train, y_train = selector.fit_resample(x_train, y_train)
X_test, y_test = selector.fit_resample(x_test, y_test)
if QUICK:
    X_train, y_train = X_train[:2000], y_train[:2000]

# %%
# The default network (784-500-250-1) for a few epochs, then the gradient
# check on 1000 training images: five weights and five biases of each layer,
# each compared with ``(C(w + eps) - C(w - eps)) / (2 eps)``.  A relative error
# below 1e-4 passes; a wrong derivative gives 1e-2 or more.
default = make_pipeline(ImageVectorizer(), ScratchMLPClassifier(
    epochs=1 if QUICK else 3, random_state=0))
default.fit(X_train, y_train)
print(f"test accuracy {100 * default.score(X_test, y_test):.2f} %")
print(check_gradients(default, X_train[:1000], y_train[:1000]))

# %%
# 500 units are too many to look at: a network with 16 hidden units learns
# the pair as well.  Without a penalty, the filters hold structure in the
# middle of the image, while the border keeps its random initial weights:
# those pixels are 0 in every training image, so their weights get no
# gradient and never change.
small = make_pipeline(ImageVectorizer(), ScratchMLPClassifier(
    hidden_layers=(16,), eta=0.01, epochs=3 if QUICK else 10, random_state=0))
small.fit(X_train, y_train)
print(f"16 units: test accuracy {100 * small.score(X_test, y_test):.2f} %")
plot_first_layer_weights(small)
plt.show()

# %%
# An L2 penalty (``alpha``) pulls every weight towards 0 unless the data pull
# it back: the untouched border fades away and what the units look for stands
# out: red vertical strokes where a 1 is written, blue where a 5's loop and
# bar would be (and the other way round for the units that vote for 5).
# The scale is shared and centred on 0, so equal colours mean equal weights
# in every tile.
penalized = make_pipeline(ImageVectorizer(), ScratchMLPClassifier(
    hidden_layers=(16,), eta=0.01, alpha=1e-2, epochs=3 if QUICK else 10,
    random_state=0))
penalized.fit(X_train, y_train)
print(f"16 units, alpha=0.01: test accuracy "
      f"{100 * penalized.score(X_test, y_test):.2f} %")
plot_first_layer_weights(penalized)
plt.show()
