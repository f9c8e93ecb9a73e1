"""One fit at a time per estimator object.

``fit`` and ``partial_fit`` update the weights and the optimiser state in
place, so two of them on the same object in two threads would interleave
their steps into a state that neither call made.  The estimators being
fitted are kept here, in a module-level weak set, rather than in an
attribute: the estimator stays picklable and cloneable while it trains, and
a finished fit leaves nothing behind.
"""

import functools
import threading
import weakref

_lock = threading.Lock()
_fitting = weakref.WeakSet()  # compared by identity: estimators define no __eq__


def one_fit_at_a_time(method):
    """Make ``method`` (``fit``, ``partial_fit``) refuse to run on an object
    that another thread is fitting, with a RuntimeError that says what to do."""

    @functools.wraps(method)
    def guarded(estimator, *args, **kwargs):
        with _lock:
            if estimator in _fitting:
                raise RuntimeError(
                    f"This {type(estimator).__name__} is being fitted in another "
                    f"thread; {method.__name__} cannot run on it at the same "
                    "time. Fit a copy in each thread (sklearn.base.clone(est)), "
                    "or fit one after the other."
                )
            _fitting.add(estimator)
        try:
            return method(estimator, *args, **kwargs)
        finally:
            with _lock:
                _fitting.discard(estimator)

    return guarded
