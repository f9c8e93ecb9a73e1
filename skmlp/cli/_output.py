"""What every command shares on its way out: folders, JSON, tables, figures."""

import json
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

from .._machine import machine_info
from ._options import CommandError
from ._paths import check_out_folder, probe_writable


def check_out(args):
    """Before any work: create ``--out`` if given and check that it is
    writable (the default folder is created by :func:`output_dir`)."""
    if args.out is not None:
        check_out_folder("--out", args.out, keep=False)


def output_dir(args):
    """Create and return ``--out``, or a new ./skmlp-runs/<date>_<time>."""
    if args.out is not None:
        return check_out_folder("--out", args.out)
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
        try:
            probe_writable(folder)
        except OSError as exc:
            raise CommandError(f"cannot write in {folder}: {exc.strerror}; "
                               "choose another folder with --out") from exc
        return folder
    raise CommandError("no free folder name in ./skmlp-runs; use --out")


class Outputs:
    """A run's files, written one by one: one that fails does not stop the
    others, and the failures are reported together at the end."""

    def __init__(self):
        self.written, self.lost = [], []

    def write(self, path, writer, *args, **kwargs):
        """``writer(path, *args, **kwargs)``; an OSError is recorded, not raised."""
        try:
            writer(path, *args, **kwargs)
        except OSError as exc:
            self.lost.append(f"{path} ({exc.strerror or exc})")
        else:
            self.written.append(path)

    def report(self):
        """Print what was written; raise a one-line CommandError naming what
        was lost, if anything."""
        if self.written:
            print("Wrote " + ", ".join(str(path) for path in self.written))
        if self.lost:
            raise CommandError("could not write " + "; ".join(self.lost))


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
