"""One Adam step over the default network's parameters, three ways.

- ``compiled``: the fast engine's ``apply_updates`` (one numba loop per array);
- ``numpy in place``: the same step as whole-array NumPy operations with no
  temporaries (``out=``), the best NumPy form measured (eleven passes);
- ``reference``: ``skmlp.nn.reference.adam_update``, the textbook form with
  its temporaries, plus ``p += change``.

Each is timed over ``--steps`` steps, ``--repeats`` times, on one BLAS thread,
in the same process and in turn, so that the ratios hold on a busy machine.
The arrays are those of 784-500-250-1 (517,001 values) in float32.

Usage::

    python benchmarks/adam_update.py [--steps 300] [--repeats 5] [--dtype float64]
"""

import argparse
import math
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skmlp.nn import fast, reference

SIZES = (784, 500, 250, 1)
B1, B2, EPS = 0.9, 0.999, 1e-8


def numpy_in_place(state, params, grads, eta):
    """The step as NumPy operations into existing arrays; ``grads`` overwritten."""
    state["t"] += 1
    t = state["t"]
    eta_t = eta * math.sqrt(1 - B2**t) / (1 - B1**t)
    for p, g, m, v in zip(params, grads, state["m"], state["v"], strict=True):
        m *= B1
        m += (1 - B1) * g
        np.square(g, out=g)
        v *= B2
        g *= 1 - B2
        v += g
        np.sqrt(v, out=g)
        g += EPS
        np.divide(m, g, out=g)
        g *= eta_t
        p -= g


def reference_step(state, params, grads, eta):
    for p, change in zip(params, reference.adam_update(params, grads, state, eta),
                         strict=True):
        p += change


def compiled(state, params, grads, eta):
    fast.apply_updates("adam", state, params, grads, eta, 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    net = reference.Network(SIZES)
    coefs, intercepts = reference.init_params(net, "auto", rng, args.dtype)
    params = coefs + intercepts
    grads = [rng.normal(scale=1e-3, size=p.shape).astype(args.dtype) for p in params]
    ways = {"compiled": compiled, "numpy in place": numpy_in_place,
            "reference": reference_step}
    times = {name: [] for name in ways}
    with threadpool_limits(1):
        compiled(reference.init_optimizer("adam", params), params,
                 [g.copy() for g in grads], 1e-3)  # compile (or load) first
        for _ in range(args.repeats):
            for name, step in ways.items():
                state = reference.init_optimizer("adam", params)
                work = [g.copy() for g in grads]
                start = time.perf_counter()
                for _ in range(args.steps):
                    # numpy_in_place overwrites the gradients it gets.
                    step(state, params, work if name != "numpy in place"
                         else [w.copy() for w in work], 1e-3)
                times[name].append((time.perf_counter() - start) / args.steps)
    # The copies numpy_in_place needs are timed separately and taken off.
    start = time.perf_counter()
    for _ in range(args.steps):
        _ = [w.copy() for w in grads]
    copies = (time.perf_counter() - start) / args.steps
    times["numpy in place"] = [t - copies for t in times["numpy in place"]]
    n = sum(p.size for p in params)
    print(f"One Adam step over {n:,} {args.dtype} values, median of "
          f"{args.repeats} x {args.steps} steps, one BLAS thread:\n")
    print("| update | ms a step | / compiled |")
    print("| --- | ---: | ---: |")
    base = np.median(times["compiled"])
    for name, values in times.items():
        median = np.median(values)
        print(f"| {name} | {median * 1e3:.3f} | {median / base:.2f} |")


if __name__ == "__main__":
    main()
