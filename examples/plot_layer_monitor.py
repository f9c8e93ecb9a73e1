"""
Watching every layer train: LayerMonitor
========================================

:class:`~skmlp.LayerMonitor` is a scikit-learn callback that looks inside the
network after every epoch, as skorch's ``SkorchDoctor`` does.  For each layer
``l`` it records

- the weight norm ``||W[l]||``: how large the layer's weights are;
- the gradient norm ``||dC/dW[l]||`` of the batch cost on a fixed probe batch
  of 256 training images: how much the cost still pushes on the layer (0
  means that layer has stopped learning);
- the update ratio ``||W_e - W_(e-1)|| / ||W_(e-1)||``: how far the epoch
  moved the weights, relative to their size (around 1e-3 per step is the
  usual rule of thumb; 1e-6 is a frozen layer, 1 a layer thrown about);
- the share of dead ReLU units: units that output 0 for every probe image,
  and so pass no gradient back.

:func:`~skmlp.plotting.plot_layer_monitor` draws the four over the epochs, one
line per layer.

Below, the notebook's network (784-500-250-1, plain SGD on batches of 1000,
``eta=0.001``) trains on MNIST 1 vs 5 twice: from skmlp's default
initialisation (``init='auto'``: He-scaled weights for the ReLU layers, zero
biases) and from the notebook's ``init='uniform'`` (U[-1, 1] for weights and
biases).

What to expect from ``init='uniform'``: its dead-unit share is *not* higher
than He's.  Whether a ReLU unit is dead depends on the sign of its sums,
and scaling a layer's weights does not change their sign: U[-1, 1] is He's
distribution made about 11 times wider in the first layer (He's bound
``sqrt(6 / 784)`` is 0.087) and 6 times in the second, and its U[-1, 1]
biases are small next to sums that wide.  Both starts leave at most 2 % of
the units dead.  What the wide weights break is the output: its sums are
about a hundred wide, the sigmoid sits at 0 or 1 for most images and its
derivative ``y (1 - y)`` -- and with it every layer's gradient -- is 0
there; the gradient-norm panel shows it, the dead-unit panel does not.  Dead
units come from large steps instead: at the notebook's ``eta=0.01`` (seeds 0
and 1, 8 epochs, all the 1s and 5s), the first steps from He weights killed
13 % to 23 % of the second layer's units.  The monitor tells the two
failures apart.

Set ``SKMLP_EXAMPLES_QUICK=1`` for a run of seconds (fewer images and
epochs).
"""

# %%
# The 1s and 5s of MNIST (or of the sample shipped with skmlp), as rows of
# pixels.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skmlp import (
    DigitPairSelector,
    ImageVectorizer,
    LayerMonitor,
    ScratchMLPClassifier,
    load_mnist,
)
from skmlp.plotting import plot_layer_monitor

QUICK = os.environ.get("SKMLP_EXAMPLES_QUICK") == "1"

(x_train, y_train), (x_test, y_test) = load_mnist(sample_if_missing=True)
selector = DigitPairSelector(1, 5)
vectorizer = ImageVectorizer()
X_train, y_train = selector.fit_resample(x_train, y_train)
X_test, y_test = selector.fit_resample(x_test, y_test)
X_train, X_test = vectorizer.fit_transform(X_train), vectorizer.transform(X_test)
if QUICK:
    X_train, y_train = X_train[:2000], y_train[:2000]
print(f"{len(X_train)} training images")

# %%
# One monitor per fit, set on the classifier like any scikit-learn callback
# (on a ``Pipeline`` or a ``GridSearchCV``, set it on the outer estimator:
# it reaches the classifier, and ``monitor.histories_`` keeps one record per
# fit, with the fit's ``task_path`` and ``params``).
epochs = 3 if QUICK else 10
monitors = {}
for init in ["auto", "uniform"]:
    monitor = LayerMonitor(probe_size=256, random_state=0)
    clf = ScratchMLPClassifier(
        hidden_layers=(500, 250), init=init, solver="sgd", eta=0.001,
        learning_rate="constant", batch_size=1000, epochs=epochs,
        n_iter_no_change=np.inf, random_state=0,
    ).set_callbacks(monitor)
    with warnings.catch_warnings():
        # A collapsed run warns; the figures say the same.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    monitors[init] = monitor
    last = monitor.history_[-1]
    print(f"init={init!r:10} test accuracy {100 * clf.score(X_test, y_test):6.2f} %")
    for name in ["dead_share", "grad_norm", "update_ratio"]:
        print(f"    last epoch, {name:12}",
              "  ".join(f"{value:.3g}" for value in last[name]))

# %%
# The default initialisation.  The gradient norms start at a few units and
# shrink slowly as the cost falls, the hidden layers' update ratios stay near
# 1e-3, and the dead share of both hidden layers stays below 2 %: a healthy
# network.
axes = plot_layer_monitor(monitors["auto"])
axes[0].figure.suptitle("init='auto' (He), SGD, eta=0.001")
plt.show()

# %%
# The notebook's U[-1, 1].  The weight norms are about ten times larger and
# the dead share is no higher -- but the gradient norms on the probe batch
# fall by 28 orders of magnitude in six epochs and then are exactly 0: every
# probe image sits on a flat end of the sigmoid, all layers at once (their
# lines overlap), and a log axis does not draw the zeros.  The updates go on
# only from the few training images not saturated yet.  (A run that ends with
# most images on the *wrong* flat end is the notebook's 55.99 %; see the
# example on the uniform initialisation.)
axes = plot_layer_monitor(monitors["uniform"])
axes[0].figure.suptitle("init='uniform' (the notebook's U[-1, 1]), SGD, eta=0.001")
plt.show()

# %%
# The records are plain data: ``monitor.history_`` is a list of dicts, and
# ``monitor.to_frame()`` (with pandas) a tidy table, one row per epoch and
# layer.
print(monitors["uniform"].history_[0])
