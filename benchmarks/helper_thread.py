"""Does the fast engine's helper thread pay (``skmlp.nn._overlap``)?

Fits the default ScratchMLPClassifier on MNIST pairs with the helper (no
thread limit) and without it (inside ``threadpool_limits(1)``, the user's
switch), alternately, so that a change in the machine's load hits both
alike, and prints the median fit times, the ratio of the medians and the
median of the paired ratios.  ``--busy N`` runs N busy loops in other
processes meanwhile: a loaded machine, where the helper waits for a core.

    python benchmarks/helper_thread.py [--repeats 15] [--epochs 1] [--busy 1]
"""

import argparse
import multiprocessing
import statistics
import time

from threadpoolctl import threadpool_limits

from skmlp import ScratchMLPClassifier
from skmlp._machine import load_average, summary
from skmlp.benchmark import load_digit_pair
from skmlp.nn import _overlap


def _busy_loop():
    while True:
        pass


def _fit_seconds(X, y, epochs, hidden_layers, threads):
    clf = ScratchMLPClassifier(hidden_layers, epochs=epochs, random_state=0)
    with threadpool_limits(threads):
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start


def main(argv=None):
    """Print the table; return its rows (pair, hidden, seconds with and without
    the helper, their paired ratio, tasks submitted and taken back)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--busy", type=int, default=0,
                        help="busy loops in other processes while timing")
    parser.add_argument("--sample", action="store_true",
                        help="MNIST sample shipped with skmlp instead of MNIST")
    args = parser.parse_args(argv)
    source = "sample" if args.sample else "mnist"
    cases = [((1, 5), (500, 250)), ((4, 9), (500, 250)), ((1, 5), (800, 400))]
    helpers, made = [], _overlap.Helper.__init__

    def counted(self):
        made(self)
        helpers.append(self)

    _overlap.Helper.__init__ = counted
    busy = [multiprocessing.Process(target=_busy_loop, daemon=True)
            for _ in range(args.busy)]
    for process in busy:
        process.start()
    rows = []
    try:
        print(summary())
        print(f"busy loops: {args.busy}")
        print(f"{'pair':<5} {'hidden':<11} {'helper s':>9} {'alone s':>8} "
              f"{'ratio':>6} {'paired':>7}  helper tasks taken back, given up")
        for digits, hidden in cases:
            X, y = load_digit_pair(digits=digits, source=source)
            _fit_seconds(X[:256], y[:256], 1, hidden, None)  # numba's loading
            times = {None: [], 1: []}
            helpers.clear()
            for repeat in range(args.repeats):
                for threads in (None, 1) if repeat % 2 else (1, None):
                    times[threads].append(
                        _fit_seconds(X, y, args.epochs, hidden, threads))
            with_helper, alone = (statistics.median(times[t]) for t in (None, 1))
            paired = statistics.median(a / b for a, b in zip(*times.values()))
            submitted = sum(h.submitted for h in helpers)
            taken = sum(h.taken_back for h in helpers)
            given_up = sum(h.given_up for h in helpers)
            print(f"{digits[0]}-{digits[1]:<3} {str(hidden):<11} {with_helper:>9.3f} "
                  f"{alone:>8.3f} {with_helper / alone:>6.2f} {paired:>7.2f}  "
                  f"{taken}/{submitted}, {given_up} of {len(helpers)} epochs")
            rows.append({"digits": digits, "hidden": hidden, "helper": with_helper,
                         "alone": alone, "paired": paired, "submitted": submitted,
                         "taken_back": taken})
        print(f"load average {load_average()}")
    finally:
        _overlap.Helper.__init__ = made
        for process in busy:
            process.terminate()
    return rows


if __name__ == "__main__":
    main()
