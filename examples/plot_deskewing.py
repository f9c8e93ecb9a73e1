"""
Deskewing: standing the digits upright
======================================

Handwriting leans, and a network must learn every slant of every digit.
``ImageVectorizer(deskew=True)`` takes the slant out first: with each
image's intensities as weights, the slant is the covariance of row and column
over the variance of the row, ``alpha = v_rc / v_rr`` (how far the ink moves
right per row down).  The image is sheared by ``-alpha`` so that its long axis
stands upright, and shifted so that its centre of mass sits at the centre.
This is the "deskewing" preprocessing of LeCun's MNIST table, and what
``skmlp train``, ``grid`` and ``pairs`` do by default.

Set ``SKMLP_EXAMPLES_QUICK=1`` for a run of seconds (fewer images, epochs).
"""

# %%
# The 4s and 9s of MNIST (a local copy or a download, else the sample shipped
# with skmlp): one of its hardest pairs, where a slanted 4 and a 9 look alike.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline

from skmlp import (
    DigitPairSelector,
    ImageVectorizer,
    ScratchMLPClassifier,
    load_mnist,
)
from skmlp.plotting import show_digits

QUICK = os.environ.get("SKMLP_EXAMPLES_QUICK") == "1"

(x_train, y_train), (x_test, y_test) = load_mnist(sample_if_missing=True)
selector = DigitPairSelector(4, 9)
X_train, y_train = selector.fit_resample(x_train, y_train)
X_test, y_test = selector.fit_resample(x_test, y_test)
if QUICK:
    X_train, y_train = X_train[:2000], y_train[:2000]


def slant(images):
    """Each image's slant ``v_rc / v_rr``, its intensities as weights."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), 28, 28)
    rows, cols = np.mgrid[:28, :28]
    mass = x.sum(axis=(1, 2))
    d_r = rows - (x * rows).sum(axis=(1, 2))[:, None, None] / mass[:, None, None]
    d_c = cols - (x * cols).sum(axis=(1, 2))[:, None, None] / mass[:, None, None]
    return (x * d_r * d_c).sum(axis=(1, 2)) / (x * d_r**2).sum(axis=(1, 2))


# %%
# Ten test images as they are (top) and deskewed (bottom), each titled with
# its slant: the slant goes, the digit stays.  ``normalize=None`` keeps the
# pixels' scale for the picture.
deskewed = ImageVectorizer(deskew=True, normalize=None).fit_transform(X_test[:10])
fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.2))
show_digits(X_test[:10], np.round(slant(X_test[:10]), 2) + 0.0, ax=top,
            label_format="{}")
show_digits(deskewed, np.round(slant(deskewed), 2) + 0.0, ax=bottom,
            label_format="{}")
top.set_title("as they are, each titled with its slant", fontsize=10, pad=18)
bottom.set_title("deskewed", fontsize=10, pad=18)
fig.tight_layout()

before, after = np.abs(slant(X_test)), np.abs(slant(
    ImageVectorizer(deskew=True, normalize=None).fit_transform(X_test)))
print(f"median |slant| of the {len(X_test)} test images: {np.median(before):.3f} "
      f"as they are, {np.median(after):.4f} deskewed")

# %%
# The same network trained on each: deskewing leaves it less to learn.
for deskew in (False, True):
    model = make_pipeline(ImageVectorizer(deskew=deskew), ScratchMLPClassifier(
        epochs=2 if QUICK else 15, random_state=0))
    model.fit(X_train, y_train)
    errors = int(np.sum(model.predict(X_test) != y_test))
    print(f"deskew={deskew}: test accuracy {100 * model.score(X_test, y_test):.2f} %"
          f" ({errors} of {len(y_test)} test images wrong)")
plt.show()
