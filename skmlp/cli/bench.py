"""``skmlp bench``: training speed against scikit-learn, PyTorch and the floor.

The measurements are :mod:`skmlp.benchmark`'s (its docstring, shown by
``skmlp bench --help``, says what each implementation is); this module holds
the command's options.  Without PyTorch installed the others still run.
"""

import argparse
import json
from pathlib import Path

from .. import benchmark, benchmark_accuracy
from ._data import load_data
from ._options import (
    CommandError,
    add_data_arguments,
    check_network_size,
    int_at_least,
    layers,
    positive_int,
    seed,
)
from ._paths import check_file


def _summary():
    first = benchmark.__doc__.strip().splitlines()[0]
    summary = first.removeprefix("``skmlp bench``:").strip().rstrip(".")
    return summary[:1].lower() + summary[1:]


def add_parser(commands):
    parser = commands.add_parser(
        "bench", help=_summary(), description=benchmark.__doc__.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    timing = parser.add_argument_group("benchmark")
    timing.add_argument("--setting", choices=[*benchmark.SETTINGS, "both"],
                        default="both",
                        help="the notebook's SGD with momentum, skmlp's defaults "
                             "(Adam, batch 128, cosine schedule) or both "
                             "(default: both)")
    timing.add_argument("--epochs", type=positive_int, default=5, metavar="N",
                        help="epochs per fit (default: 5)")
    timing.add_argument("--repeats", type=positive_int, default=3, metavar="N",
                        help="rounds over the implementations, also of "
                             "--time-to-accuracy (default: 3)")
    timing.add_argument("--dtype", choices=[*benchmark.DTYPES, "both"],
                        default="both", help="floating-point type (default: both)")
    timing.add_argument("--n-samples", type=int_at_least(2), metavar="N",
                        help="use only the first N images of the pair")
    timing.add_argument("--batch-size", type=positive_int, metavar="N",
                        help="mini-batch size (default: the setting's, 1000 "
                             "or 128)")
    timing.add_argument("--hidden", nargs="+", type=layers, metavar="N",
                        help="hidden-layer sizes (default: 500 250)")
    timing.add_argument("--seed", type=seed, default=0, metavar="N",
                        help="seeds every model's initialisation (default: 0)")
    timing.add_argument("--threads", type=positive_int, metavar="N",
                        help="limit every implementation to N BLAS / OpenMP "
                             "threads (default: each library's own)")
    timing.add_argument("--no-torch", action="store_true",
                        help="leave PyTorch out even when it is installed")
    timing.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory fits")
    accuracy = parser.add_argument_group("time to accuracy")
    accuracy.add_argument("--time-to-accuracy", action="store_true",
                          help="instead of the time per epoch, the training time "
                               "until the test accuracy first reaches 99.5 %% "
                               "on 1 vs 5 and 99.0 %% on 4 vs 9, each "
                               "implementation with its defaults")
    accuracy.add_argument("--max-epochs", type=positive_int, default=30,
                          metavar="N", help="epochs at most for scikit-learn and "
                                            "PyTorch (default: 30)")
    add_data_arguments(parser)
    parser.add_argument("--json", metavar="FILE", type=Path,
                        help="also write the results as JSON to FILE")
    parser.set_defaults(run=run)
    return parser


def run(args):
    check_file("--json", args.json)  # fail now rather than after timing
    given = {}
    if args.hidden is not None:  # --hidden 500 250 and --hidden 500,250 alike
        given["hidden_layers"] = tuple(size for sizes in args.hidden
                                       for size in sizes)
        check_network_size(given["hidden_layers"])
    mnist, _ = load_data(args)
    common = dict(seed=args.seed, torch=False if args.no_torch else None,
                  threads=args.threads, mnist=mnist,
                  source="sample" if args.sample else "mnist", **given)
    if args.time_to_accuracy:
        report = benchmark_accuracy.run_time_to_accuracy(
            max_epochs=args.max_epochs, repeats=args.repeats, **common)
        print(benchmark_accuracy.format_accuracy_table(report))
    else:
        settings = (list(benchmark.SETTINGS) if args.setting == "both"
                    else [args.setting])
        report = {"settings": {}}
        for setting in settings:
            report["settings"][setting] = result = benchmark.run_benchmark(
                setting=setting, epochs=args.epochs, repeats=args.repeats,
                dtypes=benchmark.DTYPES if args.dtype == "both" else (args.dtype,),
                n_samples=args.n_samples, batch_size=args.batch_size,
                memory=not args.no_memory, **common,
            )
            if setting != settings[0]:
                print()
            print(benchmark.format_table(result))
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        except OSError as exc:
            raise CommandError(f"cannot write {args.json}: {exc}") from exc
    return 0
