"""skmlp: a from-scratch NumPy multilayer perceptron for scikit-learn."""

from .classifier import ScratchMLPClassifier

__version__ = "0.1.0"

__all__ = ["ScratchMLPClassifier", "__version__"]
