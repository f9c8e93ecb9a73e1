"""BLAS threads for the fast engine: small batches train on one thread.

Part of :mod:`skmlp.nn.fast`, kept apart for its length; ``fast`` exports its
names (``blas_thread_limit``, ``largest_gemm``, ``SINGLE_THREAD_GEMM``).
"""

import threading
from contextlib import contextmanager, nullcontext
from functools import cache
from itertools import pairwise

import numpy as np
from threadpoolctl import ThreadpoolController

# A product split over BLAS threads finishes when its last thread does: on a
# busy machine, one that waits for a core stalls the call for a scheduling
# delay of a few milliseconds.  Threads can at most halve a product's time,
# so they only pay for products that run longer than such a delay on one
# core: ~1e8 float32 multiply-adds (2-3 ms; float64 counts double).  Smaller
# batches train on one thread; see benchmarks/blas_threads.py for figures.
SINGLE_THREAD_GEMM = 100_000_000


def largest_gemm(layer_sizes, batch_size, dtype=np.float32):
    """Multiply-adds of the largest matrix product of a batch, in float32 units.

    float64 products take twice as long as float32 ones and count double.
    """
    largest = max(fan_in * fan_out for fan_in, fan_out in pairwise(layer_sizes))
    return batch_size * largest * np.dtype(dtype).itemsize // 4


@cache
def _blas_controller():
    # Inspecting the loaded libraries takes ~1 ms: once per process.
    return ThreadpoolController()


# The BLAS's number of threads is one setting for the whole process, so fits
# in several threads share the one-thread limit: the first one in saves the
# setting and sets one thread, the last one out puts back what the first
# saved.  Each saving and restoring its own would race: fit A saves 2 and
# sets 1, fit B saves 1, A restores 2 under B, and B restores 1 for good.
_blas_lock = threading.Lock()
_blas_users = 0  # fits inside the one-thread limit
_blas_limiter = None  # the first one's: it restores the saved setting


@contextmanager
def _single_blas_thread():
    """One BLAS thread for the process while any fit in any thread is inside."""
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                limiter, _blas_limiter = _blas_limiter, None
                limiter.restore_original_limits()


def small_products(layer_sizes, batch_size, dtype=np.float32):
    """Whether a batch's products are small enough for one BLAS thread."""
    return largest_gemm(layer_sizes, batch_size, dtype) < SINGLE_THREAD_GEMM


def blas_thread_limit(layer_sizes, batch_size, dtype=np.float32):
    """Context to train in: one BLAS thread when a batch's products are small.

    Larger products keep the BLAS's own setting (or the caller's, e.g. from
    ``threadpoolctl.threadpool_limits``), except while a fit in another thread
    runs on one thread: the setting is the process's, not the thread's.  The
    number of threads changes the results by rounding at most: the BLAS may
    split a sum among threads.  Safe to enter from several threads at once:
    the setting of before the first is back after the last.
    """
    if not small_products(layer_sizes, batch_size, dtype):
        return nullcontext()
    return _single_blas_thread()


def single_thread_fits():
    """Whether a fit in some thread is inside the one-thread limit."""
    return _blas_users > 0


def blas_threads():
    """The most threads of the loaded BLAS libraries (1 inside a one-thread limit)."""
    return max((lib.num_threads for lib in _blas_controller().lib_controllers
                if lib.user_api == "blas"), default=1)
