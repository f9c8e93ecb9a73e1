"""
Training on data larger than memory
===================================

When the training set does not fit in RAM, write it to a ``.npy`` file once,
piece by piece, and let :func:`skmlp.fit_memmap` stream it from disk through
``partial_fit``: each epoch visits the file in shuffled chunks, and memory
holds a single chunk at a time.

Here the file holds MNIST's 1s and 5s (a few megabytes, so that the example
runs in seconds), but nothing below depends on its size.  Set
``SKMLP_EXAMPLES_QUICK=1`` for a shorter run.
"""

# %%
# The data: MNIST 1 vs 5, or scikit-learn's 8x8 digits where MNIST is not
# available (no local copy and no network).
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from numpy.lib.format import open_memmap
from sklearn.datasets import load_digits

from skmlp import ScratchMLPClassifier, fit_memmap

QUICK = os.environ.get("SKMLP_EXAMPLES_QUICK") == "1"


def load_pair(d1=1, d2=5):
    """Train and test images of two digits, as uint8 arrays (n, h, w)."""
    try:
        from skmlp import load_mnist

        (x_train, y_train), (x_test, y_test) = load_mnist()
    except (ImportError, OSError, ValueError):
        digits = load_digits()
        images = (digits.images * 255 / 16).astype(np.uint8)
        x_train, x_test = images[:1200], images[1200:]
        y_train, y_test = digits.target[:1200], digits.target[1200:]
    train = np.isin(y_train, [d1, d2])
    test = np.isin(y_test, [d1, d2])
    return x_train[train], y_train[train], x_test[test], y_test[test]


images, labels, test_images, y_test = load_pair()
if QUICK:
    images, labels = images[:3000], labels[:3000]
X_test = test_images.reshape(len(test_images), -1) / np.float32(255)
print(f"{len(images)} training images of shape {images.shape[1:]}")

# %%
# Write the training set to disk as float32 rows, a slice at a time, so the
# full float array never exists in memory: ``open_memmap`` creates the
# ``.npy`` file and maps it, and each slice written lands in the file.
folder = Path(tempfile.mkdtemp())
n_samples, n_features = len(images), int(np.prod(images.shape[1:]))
X_file = open_memmap(folder / "X.npy", mode="w+", dtype=np.float32,
                     shape=(n_samples, n_features))
for start in range(0, n_samples, 5000):
    piece = images[start:start + 5000]
    X_file[start:start + len(piece)] = piece.reshape(len(piece), -1) / 255
X_file.flush()
del X_file
np.save(folder / "y.npy", labels)
print(f"X.npy: {(folder / 'X.npy').stat().st_size / 2**20:.1f} MiB")

# %%
# Train from the mapped file.  ``chunk_size`` bounds the memory used;
# ``block_size`` sets how far apart the rows of one chunk come from.  The
# callback measures the test accuracy at the end of every epoch.
X = np.load(folder / "X.npy", mmap_mode="r")
y = np.load(folder / "y.npy", mmap_mode="r")
chunk_size = 2048
n_chunks = -(-n_samples // chunk_size)
epochs = 1 if QUICK else 4
accuracy = []


def record(estimator, epoch, chunk):
    if chunk == n_chunks - 1:
        accuracy.append(estimator.score(X_test, y_test))


clf = ScratchMLPClassifier(hidden_layers=(500, 250), random_state=0)
fit_memmap(clf, X, y, epochs=epochs, chunk_size=chunk_size, block_size=256,
           random_state=0, callback=record)
print(f"test accuracy after each epoch: {np.round(accuracy, 4)}")

# %%
# ``partial_fit`` runs one pass over each chunk, so the cost curve has one
# point per chunk.
fig, (ax_cost, ax_accuracy) = plt.subplots(1, 2, figsize=(9, 3.5))
ax_cost.plot(np.arange(1, clf.n_iter_ + 1) / n_chunks, clf.loss_curve_)
ax_cost.set(xlabel="epoch", ylabel="cost per sample", yscale="log",
            title="Cost of each chunk")
ax_accuracy.plot(np.arange(1, len(accuracy) + 1), accuracy, marker="o")
ax_accuracy.set(xlabel="epoch", ylabel="accuracy", title="Test accuracy",
                xticks=np.arange(1, len(accuracy) + 1))
fig.tight_layout()
plt.show()
