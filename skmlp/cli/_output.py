"""What every command shares on its way out: folders, JSON, tables, figures."""

import json
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

from .._machine import machine_info
from ._options import EXIT_USAGE, CommandError


def output_dir(args):
    """Create and return ``--out``, or a new ./skmlp-runs/<date>_<time>."""
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"argument --out: cannot create {args.out}: "
                               f"{exc.strerror}", EXIT_USAGE) from exc
        return args.out
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(1, 100):
        folder = Path("skmlp-runs") / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue  # two runs within the same second
        except OSError as exc:
            raise CommandError(f"cannot create {folder}: {exc.strerror}; "
                               "choose another folder with --out") from exc
        return folder
    raise CommandError("no free folder name in ./skmlp-runs; use --out")


def run_record(command, **content):
    """The JSON record of a run: the command, its arguments, ``content`` and
    the machine it ran on."""
    return {"command": command, "argv": sys.argv[1:], **content,
            "environment": machine_info()}


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def write_json(path, content):
    path.write_text(json.dumps(content, indent=2, default=_jsonable) + "\n")


def figure(**kwargs):
    """A matplotlib Figure not managed by pyplot: no GUI, nothing left open."""
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kwargs)


def table(headers, rows):
    """Rows as a text table with right-aligned columns."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in
                               zip(row, widths, strict=True))
                     for row in [headers, *rows])


def percent(value):
    return "" if value is None else f"{100 * value:.2f} %"


def pair_name(pair):
    return f"{pair[0]}-{pair[1]}"
