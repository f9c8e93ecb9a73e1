"""skmlp: a from-scratch NumPy multilayer perceptron for scikit-learn."""

from .classifier import ScratchMLPClassifier
from .datasets import load_mnist, load_mnist_sample
from .distributed import dask_backend
from .persistence import TRUSTED_TYPES, InconsistentVersionWarning
from .preprocessing import DigitPairSelector, ImageVectorizer
from .streaming import fit_memmap

__version__ = "0.1.0"

__all__ = [
    "DigitPairSelector",
    "ImageVectorizer",
    "InconsistentVersionWarning",
    "ScratchMLPClassifier",
    "TRUSTED_TYPES",
    "__version__",
    "dask_backend",
    "fit_memmap",
    "load_mnist",
    "load_mnist_sample",
]
