"""skmlp: a from-scratch NumPy multilayer perceptron for scikit-learn."""

# First, so that every module can ``from . import __version__`` at its top.
__version__ = "0.1.0"

from importlib import import_module as _import_module

# The public API, each name imported from its module on first use (PEP 562):
# ``import skmlp`` itself loads neither numpy nor scikit-learn, so the
# ``skmlp`` command starts at once and Ctrl-C while it loads can be handled.
_PUBLIC = {
    "ScratchMLPClassifier": "classifier",
    "LayerMonitor": "callbacks",
    "load_mnist": "datasets",
    "load_mnist_sample": "datasets",
    "dask_backend": "distributed",
    "InconsistentVersionWarning": "exceptions",
    "TrainingInterrupted": "exceptions",
    "TRUSTED_TYPES": "persistence",
    "DigitPairSelector": "preprocessing",
    "ImageVectorizer": "preprocessing",
    "fit_memmap": "streaming",
    "check_gradients": "gradient_check",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(f".{_PUBLIC[name]}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__():
    return sorted({*globals(), *__all__})
