"""The fast engine's second core: a helper thread for small batches.

Part of :mod:`skmlp.nn.fast`, kept apart for its length.  A small batch
trains on one BLAS thread (``_blas``: a product split among threads waits
for the slowest, and on a busy machine for a core), so during a default fit
a second core idles.  Backpropagation has work that needs no order between
its parts, though:

- a layer's weight gradient ``Y[l-1].T @ delta[l]`` and the delta below it,
  ``delta[l] @ W[l].T``, only read the same ``delta[l]`` (and ``W[l]``, which
  nothing changes until the update);
- once backpropagation is done, the update of the layers above the first
  needs nothing of the first's.

So with a :class:`Helper` the fit's own thread computes the deltas, the
first layer's gradient and its update, while the helper thread computes the
gradients of the larger layers above (:func:`fast.backprop`) and then their
updates (``apply_updates``).  Both run compiled loops and BLAS calls that
release the GIL.  On the 2-core machine of the docs (float32, default fits
of 784-500-250-1 with the helper and inside ``threadpool_limits(1)`` in
turn, ``benchmarks/helper_thread.py``): 0.86 - 1.07 x the time on 1 vs 5
(median 0.96 of six runs), 0.92 - 0.97 on 4 vs 9, 0.84 - 0.90 with 800-400
units; the helper's thread is often slow to wake on that virtual machine.
Splitting the first layer's gradient or update between the threads too did
not pay (0.98 - 1.17 x): the next batch's first product then reads weights
from the other core's cache.

**No stalls.**  A task the helper has not started by the time the fit needs
its result is taken back (``Future.cancel``) and run on the fit's thread: a
helper that waits for a core, on a busy machine, costs a few submissions,
not a scheduling delay.  Only a task the helper is running is waited for.
Whoever runs a task runs the same operations on the same arrays, so the
results are the same bit for bit with and without the helper (tested).

**When.**  Only where the BLAS would run the batch on one thread anyway,
with a core to spare: not inside a one-thread limit (a
``threadpoolctl.threadpool_limits(1)`` around the fit, the workers of
``skmlp pairs`` and of ``joblib``'s process pools), not beside another fit
in another thread, and not while other processes keep the other cores
busy (Linux's CPU times since the last epoch; see :func:`helper_for`).  The
BLAS thread limit is the user's switch: ``threadpool_limits(1)`` makes a fit
use one core.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

from . import _blas

# A layer above the first whose gradient takes at least this many
# multiply-adds per batch is worth a task for the helper: a submission costs
# a few microseconds, a product of 2**20 multiply-adds about 20 on one core
# (a bound set by that count; the layers measured had 2**24 and more).
HELPER_GEMM = 2**20


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# The state of :func:`_others_busy` since its last call: (wall clock, the
# machine's busy CPU seconds, this process's CPU seconds).
_last_reading = None


def _cpu_reading():
    """(wall clock, the machine's busy CPU seconds from Linux's /proc/stat,
    this process's CPU seconds), or None where /proc/stat is not."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal: all but idle and iowait
    # (steal is time the virtual machine's host took the core away).
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6, 7)) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return time.monotonic(), busy, own.user + own.system


def _others_busy(cores):
    """Whether other processes left less than half a core idle besides
    this process's since the last call (the last epoch), on Linux: on two
    cores, whether they used more than half of the other.  The first call
    knows nothing yet: not busy."""
    global _last_reading
    reading, last = _cpu_reading(), _last_reading
    _last_reading = reading
    if reading is None or last is None or reading[0] - last[0] < 0.05:
        return False
    others = (reading[1] - last[1]) - (reading[2] - last[2])
    return others > (cores - 1.5) * (reading[0] - last[0])


def helper_for(layer_sizes, batch_size, dtype, sparse_input=False):
    """A :class:`Helper` for a fit of ``layer_sizes`` in batches of
    ``batch_size`` rows, or None when it would not pay.  With
    ``sparse_input`` the first layer's products are compiled loops, not the
    BLAS's.

    To call before entering :func:`_blas.blas_thread_limit`, whose one-thread
    limit it must not mistake for the user's.
    """
    blas_layers = layer_sizes[1:] if sparse_input else layer_sizes
    single = _blas.small_products(blas_layers, batch_size, dtype)
    upper = max((batch_size * fan_in * fan_out
                 for fan_in, fan_out in pairwise(layer_sizes[1:])), default=0)
    cores = _cores()
    if (single and upper >= HELPER_GEMM and cores > 1 and _blas.blas_threads() > 1
            and not _blas.single_thread_fits() and not _others_busy(cores)):
        return Helper()
    return None


# The helper is given up for the rest of an epoch when, over a window of
# this many batches, the fit waited for it more than this share of the time
# (more than it can save: it takes about a sixth of a default batch's work),
# or it left more than half of its tasks to the fit.  A single scheduling
# delay of the helper's thread, a few milliseconds, made 13 - 15 % of a
# window on the quiet machine of the docs (most windows: 0.1 - 5 %), and is
# not enough.
WINDOW, LATE = 16, 0.25


class Helper:
    """A thread that runs a batch's tasks beside the fit's own thread.

    :meth:`submit` queues a task; :meth:`finish`, once a batch, returns once
    every queued task has run, running those the helper has not started on
    the calling thread.  Tasks run in the order they were submitted, on
    either thread.  A helper that keeps the fit waiting is given up: its
    tasks then run as they are submitted.  Use as a context manager: the
    thread ends with the ``with`` block.
    """

    def __init__(self):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="skmlp-helper")
        self._tasks = []
        self.given_up = False
        self.submitted = self.taken_back = 0  # over the helper's life
        self._new_window(time.perf_counter())

    def _new_window(self, start):
        self._window_start, self._window_batches = start, 0
        self._window_waited, self._window_submitted, self._window_taken = 0.0, 0, 0

    def submit(self, task, *args):
        if not self.given_up:
            try:
                future = self._executor.submit(task, *args)
            except RuntimeError:  # no new threads: the interpreter is exiting
                self.given_up = True
            else:
                self._tasks.append((future, task, args))
                self.submitted += 1
                return
        task(*args)

    def finish(self):
        tasks, self._tasks = self._tasks, []
        # From the last: once a task has started, every one before it has
        # too (one thread, in order); those after it run here, in order.
        # Taking back the first alone would let the helper start the second
        # while the first runs here.
        taken = []
        for future, task, args in reversed(tasks):
            if not future.cancel():
                break
            taken.append((task, args))
        start = time.perf_counter()
        for future, _, _ in tasks[:len(tasks) - len(taken)]:
            future.result()  # raises what the task raised
        waited = time.perf_counter() - start
        self.taken_back += len(taken)
        for task, args in reversed(taken):
            task(*args)
        self._judge(waited, len(tasks), len(taken))

    def _judge(self, waited, submitted, taken_back):
        self._window_batches += 1
        self._window_waited += waited
        self._window_submitted += submitted
        self._window_taken += taken_back
        if self._window_batches < WINDOW:
            return
        now = time.perf_counter()
        if (self._window_waited > LATE * (now - self._window_start)
                or 2 * self._window_taken > self._window_submitted):
            self.given_up = True
            self._executor.shutdown(wait=False)
        self._new_window(now)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._tasks = []
        self._executor.shutdown(wait=True, cancel_futures=True)
