"""Epoch time of ``engine='reference'`` next to ``engine='fast'``.

Default settings of ScratchMLPClassifier (784-500-250-1, Adam, batches of
128) on MNIST 1 vs 5, one BLAS thread, ``epochs=2``; the engines take turns,
round after round, so that a change in the machine's load hits both alike.
Prints the fit time per epoch of each round and the median ratio.  MNIST
comes from ``load_mnist``'s sources (e.g. ``SKMLP_MNIST``).
"""

import argparse
import statistics
import time

from threadpoolctl import threadpool_limits

from skmlp import ScratchMLPClassifier
from skmlp._machine import summary
from skmlp.benchmark import load_digit_pair


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    X, y = load_digit_pair(digits=(1, 5), dtype=args.dtype)
    print(summary(), f"| {X.shape[0]} images, {args.dtype}, {args.threads} thread(s)")
    ratios = []
    for repeat in range(args.repeats):
        seconds = {}
        for engine in ("fast", "reference"):
            clf = ScratchMLPClassifier(epochs=args.epochs, random_state=repeat,
                                       engine=engine)
            with threadpool_limits(args.threads):
                start = time.perf_counter()
                clf.fit(X, y)
                seconds[engine] = (time.perf_counter() - start) / clf.n_iter_
        ratios.append(seconds["reference"] / seconds["fast"])
        print(f"round {repeat + 1}: fast {seconds['fast']:.3f} s / epoch, "
              f"reference {seconds['reference']:.3f} s / epoch, "
              f"x {ratios[-1]:.2f}")
    print(f"reference / fast: median x {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
