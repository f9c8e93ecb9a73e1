"""Checking, before any work starts, every path a command will write.

A run that trains for an hour and then cannot write its results has wasted
the hour; so each command checks its ``--out`` folder and its output files
(``--save``, ``--json``) first, and a path that cannot be written is a usage
error (exit status 2) in one line.  Checking cannot promise that writing will
succeed later (the disk may fill up); what fails then is reported by the
command in one line, after writing what it can.
"""

import contextlib
import os
import stat
import tempfile

from ._options import EXIT_USAGE, CommandError

# Suffixes of the model files skmlp.persistence.save writes.
MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")
COMPRESSION_SUFFIXES = (".z", ".gz", ".bz2", ".xz", ".lzma")
SKOPS_SUFFIX = ".skops"

# persistence.save writes ".<name>.<12 hex digits>.tmp" first, then renames it.
_TEMPORARY_NAME_EXTRA = len("..") + 12 + len(".tmp")


def _usage_error(option, message):
    return CommandError(f"argument {option}: {message}", EXIT_USAGE)


def _reason(exc):
    return exc.strerror or str(exc)


def probe_writable(folder):
    """Create and remove a temporary file in ``folder``; OSError if it cannot."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".skmlp-probe-")
    os.close(fd)
    os.unlink(name)


def _check_writable(option, folder, what):
    try:
        probe_writable(folder)
    except OSError as exc:
        raise _usage_error(option, f"cannot write in {what} {folder}: "
                                   f"{_reason(exc)}; choose another folder") from exc


def _kind(option, path):
    """'folder', 'file' or None (absent); a usage error if ``path`` cannot
    even be looked up (a name too long, a file where a folder should be)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _usage_error(option, f"{_short(path)}: {_reason(exc)}") from exc
    return "folder" if stat.S_ISDIR(mode) else "file"


def _short(path):
    text = str(path)
    return text if len(text) <= 60 else f"{text[:40]}...{text[-15:]}"


def check_out_folder(option, folder, *, keep=True):
    """Create ``folder`` (and its parents) if needed and check that it is
    writable; with ``keep=False``, remove again the folders it created, so
    that a command failing later leaves no empty folder behind."""
    if _kind(option, folder) == "file":
        raise _usage_error(option, f"{_short(folder)} exists and is not a folder")
    missing = [path for path in (folder, *folder.parents)
               if _kind(option, path) is None]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _usage_error(option, f"cannot create {_short(folder)}: "
                                   f"{_reason(exc)}") from exc
    try:
        _check_writable(option, folder, "the folder")
    finally:
        if not keep:
            for path in missing:  # the deepest first
                with contextlib.suppress(OSError):
                    path.rmdir()
    return folder


def _name_max(folder):
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255  # what nearly every file system allows


def _check_location(option, path):
    folder = path.parent
    kind = _kind(option, folder)
    if kind != "folder":
        what = "does not exist" if kind is None else "is not a folder"
        raise _usage_error(option, f"the folder {_short(folder)} {what}")
    name_max = _name_max(folder)
    if len(os.fsencode(path.name)) > name_max:
        raise _usage_error(option, f"the file name {_short(path.name)} is too long: "
                                   f"{len(os.fsencode(path.name))} bytes, at most "
                                   f"{name_max} here")
    if _kind(option, path) == "folder":
        raise _usage_error(option, f"{_short(path)} is a folder; name a file in it")


def _check_name_length(option, path, extra):
    name_max = _name_max(path.parent)
    length = len(os.fsencode(path.name))
    if length + extra > name_max:
        raise _usage_error(option, f"the file name {_short(path.name)} is too long: "
                                   f"{length} bytes, at most {name_max - extra} "
                                   "here")


def check_file(option, path, *, extra_name=0):
    """Check that the file ``path`` can be written: its folder exists and is
    writable, it is not a folder, and its name is not too long (with
    ``extra_name`` bytes more for a temporary file written first)."""
    if path is None:
        return
    _check_location(option, path)
    _check_name_length(option, path, extra_name)
    _check_writable(option, path.parent, "the folder")


def check_model_file(option, path):
    """:func:`check_file`, and the suffix must name a format of
    :func:`skmlp.persistence.save` (.skops needs skops installed)."""
    if path is None:
        return
    _check_location(option, path)
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes.pop()
        known = bool(suffixes) and suffixes[-1] in MODEL_SUFFIXES
    else:
        known = bool(suffixes) and suffixes[-1] in (*MODEL_SUFFIXES, SKOPS_SUFFIX)
    if not known:
        raise _usage_error(option, f"{_short(path.name)} names no model format: use "
                                   "a .joblib file (compressed as .joblib.gz, .xz, "
                                   ".bz2 or .lzma) or a .skops file")
    if suffixes[-1] == SKOPS_SUFFIX:
        import importlib.util

        if importlib.util.find_spec("skops") is None:
            raise _usage_error(option, "a .skops file needs skops (pip install "
                                       "skops); or use a .joblib file")
    check_file(option, path, extra_name=_TEMPORARY_NAME_EXTRA)
