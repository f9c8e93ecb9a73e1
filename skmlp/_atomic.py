"""Replacing a file atomically: write beside it, sync, rename over it.

Whatever happens during :func:`replace_file` (an exception, Ctrl-C, a crash, a
``kill -9``), the target holds either its previous content or the complete new
one.  The temporary file is hidden, has a short name whatever the target's
length (names are limited to 255 bytes), and is named after the target and the
writing process, so that the next save of the same target removes those that
killed processes left behind.
"""

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
from pathlib import Path

_TMP_SUFFIX = ".skmlp-tmp"


def replace_file(path, write):
    """Write ``path`` atomically: ``write(fh)`` fills a temporary binary file.

    A file that is replaced keeps its permission bits; a new one gets the usual
    mode of new files (0o666 less the umask).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        If ``path`` is empty or ends with a separator.
    IsADirectoryError
        If ``path`` is a directory.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    PermissionError
        If ``path`` is read-only, or its directory cannot be written.
    """
    path, mode = _checked_target(path)
    directory = path.parent
    prefix = temporary_prefix(path)
    remove_stale_temporaries(directory, prefix)
    tmp = directory / f"{prefix}{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
    # O_EXCL: never reuse a file someone else owns; mode 0o666 lets the umask
    # give a new file the same permissions as any other new file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(tmp, flags, 0o666)
    except PermissionError as exc:
        raise PermissionError(
            exc.errno,
            f"Cannot save to {path}: no permission to create files in {directory}",
            str(path),
        ) from exc
    try:
        if mode is not None:
            os.chmod(tmp, mode)  # the replaced file's bits, not the umask's
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Also on KeyboardInterrupt: drop the partial file, keep the old one.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)
    return path


def _checked_target(path):
    """``path`` as a Path, and the mode of the file it replaces (or None)."""
    raw = os.fspath(path)
    if raw in ("", b""):
        raise ValueError(
            "Cannot save to an empty path; name a file, such as 'model.joblib'."
        )
    path = Path(raw)
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR,
            f"Cannot save to {path}: it is a directory; name a file in it, such "
            f"as {path / 'model.joblib'}",
            str(path),
        )
    if isinstance(raw, str) and raw.endswith(("/", os.sep)):
        raise ValueError(
            f"Cannot save to {raw!r}: a path ending in a separator names a "
            "directory; name a file, such as "
            f"{raw.rstrip('/' + os.sep) or '.'}{os.sep}model.joblib."
        )
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"Cannot save to {path}: the directory {directory} does not exist."
        )
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return path, None
    # Checked by hand: rename would replace a read-only file without asking,
    # and os.access says yes to root whatever the mode.
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise PermissionError(
            errno.EACCES,
            f"Cannot save over {path}: the file is read-only. Make it writable "
            "(e.g. chmod u+w) if you mean to replace it, or save to another name",
            str(path),
        )
    return path, mode


def temporary_prefix(path):
    """Start of the names of the temporary files for ``path``.

    A few characters of the target's name help a reader; a digest of the whole
    name (and of the host, for folders shared between machines) ties the file
    to its target.
    """
    key = f"{socket.gethostname()}\0{path.name}".encode("utf-8", "surrogateescape")
    digest = hashlib.sha256(key).hexdigest()[:12]
    return f".{path.name[:24]}.{digest}."


def remove_stale_temporaries(directory, prefix):
    """Remove the temporary files of ``prefix`` whose writing process is gone.

    Their names carry the writer's process id; a file whose writer no longer
    runs was left by a crash or a ``kill -9``.  POSIX only: elsewhere nothing
    tells whether a process runs without disturbing it.
    """
    if os.name != "posix":
        return
    pattern = re.compile(
        re.escape(prefix) + r"(\d{1,10})\.[0-9a-f]{8}" + re.escape(_TMP_SUFFIX)
    )
    with contextlib.suppress(OSError):
        for entry in os.listdir(directory):
            match = pattern.fullmatch(entry)
            if match and not _process_runs(int(match[1])):
                with contextlib.suppress(OSError):
                    os.unlink(Path(directory) / entry)


def _process_runs(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True  # it exists, but belongs to someone else
    return True


def _fsync_directory(directory):
    # Makes the rename itself durable on POSIX; Windows cannot open folders.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
