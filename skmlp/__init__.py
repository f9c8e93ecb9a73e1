"""skmlp: a from-scratch NumPy multilayer perceptron for scikit-learn."""

from .classifier import ScratchMLPClassifier
from .distributed import dask_backend
from .streaming import fit_memmap

__version__ = "0.1.0"

__all__ = ["ScratchMLPClassifier", "__version__", "dask_backend", "fit_memmap"]
