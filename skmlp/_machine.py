"""The machine and the software a result was obtained on.

One dict, recorded beside every result: the ``run.json`` of ``skmlp train``
and the other commands, the report of ``skmlp bench`` and the scripts in
``benchmarks/``.  It is the bottom of the package's imports (only the standard
library, NumPy and threadpoolctl at the top; the other libraries are looked up
when asked for), so that anything may use it.
"""

import contextlib
import importlib
import os
import platform
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from . import __version__

__all__ = ["blas_info", "cpu_model", "load_average", "machine_info", "summary",
           "versions"]

# Distribution name -> module, for the versions recorded beside NumPy's.
_LIBRARIES = {
    "scipy": "scipy",
    "scikit-learn": "sklearn",
    "matplotlib": "matplotlib",
    "joblib": "joblib",
    "threadpoolctl": "threadpoolctl",
}
_BLAS_KEYS = ("internal_api", "version", "architecture", "num_threads", "filepath")


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo`` on Linux), or None if unknown."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def versions():
    """Versions of Python, skmlp and the libraries it runs on, by distribution name.

    A library that cannot be imported is left out.
    """
    found = {"python": platform.python_version(), "skmlp": __version__,
             "numpy": np.__version__}
    for name, module in _LIBRARIES.items():
        with contextlib.suppress(ImportError):
            found[name] = importlib.import_module(module).__version__
    return found


def blas_info():
    """The BLAS libraries loaded in this process, as threadpoolctl sees them now.

    One dict per library, with its ``internal_api`` (openblas, mkl, ...),
    ``version``, ``architecture``, ``num_threads`` (within any
    ``threadpool_limits`` in force) and ``filepath``.
    """
    return [{key: pool.get(key) for key in _BLAS_KEYS}
            for pool in threadpool_info() if pool.get("user_api") == "blas"]


def load_average():
    """The 1, 5 and 15-minute load averages, or None where there are none."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info():
    """CPU, cores, load, platform, versions and BLAS in use, as a JSON-able dict.

    Returns
    -------
    dict
        ``cpu`` (the model name, else the architecture), ``cores``
        (:func:`os.cpu_count`), ``load_average``, ``platform``, ``versions``
        (see :func:`versions`) and ``blas`` (see :func:`blas_info`).
    """
    return {
        "cpu": cpu_model() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": load_average(),
        "platform": platform.platform(),
        "versions": versions(),
        "blas": blas_info(),
    }


def summary(info=None):
    """One line for a log: CPU, cores, load, Python, NumPy and BLAS.

    ``info`` is a :func:`machine_info` dict (a new one when None).
    """
    info = machine_info() if info is None else info
    versions = info["versions"]
    blas = ", ".join(
        f"{pool['internal_api']} {pool['version']} ({pool['num_threads']} "
        f"thread{'' if pool['num_threads'] == 1 else 's'})" for pool in info["blas"]
    ) or "none seen"
    load = info["load_average"]
    return (f"{info['cpu']}, {info['cores']} cores"
            + (f", load {load[0]:.2f}" if load else "")
            + f"; Python {versions['python']}, NumPy {versions['numpy']}, "
              f"skmlp {versions['skmlp']}; BLAS {blas}")
