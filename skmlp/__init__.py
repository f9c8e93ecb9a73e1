"""skmlp: a from-scratch NumPy multilayer perceptron for scikit-learn."""

# First, so that every module can ``from . import __version__`` at its top.
__version__ = "0.1.0"

from .classifier import ScratchMLPClassifier
from .datasets import load_mnist, load_mnist_sample
from .distributed import dask_backend
from .exceptions import InconsistentVersionWarning, TrainingInterrupted
from .gradient_check import check_gradients
from .persistence import TRUSTED_TYPES
from .preprocessing import DigitPairSelector, ImageVectorizer
from .streaming import fit_memmap

__all__ = [
    "DigitPairSelector",
    "ImageVectorizer",
    "InconsistentVersionWarning",
    "ScratchMLPClassifier",
    "TRUSTED_TYPES",
    "TrainingInterrupted",
    "__version__",
    "check_gradients",
    "dask_backend",
    "fit_memmap",
    "load_mnist",
    "load_mnist_sample",
]
