"""``python -m skmlp`` and the ``skmlp`` script: the ``skmlp`` command.

:func:`entry` imports the command line (numpy, scikit-learn: a second or
more) under a SIGINT handler of its own, so that Ctrl-C while it loads ends
quietly with status 130, as Ctrl-C during the work does, instead of a
traceback.
"""

import os
import signal
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT


def _quit_interrupted():
    print("skmlp: interrupted", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Half-imported modules are left behind: leave at once, cleaning nothing.
    os._exit(EXIT_INTERRUPTED)


def entry():
    """Run ``skmlp`` with ``sys.argv`` and return its exit status."""
    received = []

    def interrupt(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    # The flag, not only the exception: a KeyboardInterrupt raised where
    # Python ignores exceptions (a callback of the import machinery) is lost.
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:  # nohup and background jobs ignore it
        signal.signal(signal.SIGINT, interrupt)
    try:
        from .cli import main
    except KeyboardInterrupt:
        _quit_interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        _quit_interrupted()
    try:
        return main()
    except KeyboardInterrupt:  # after main has returned, on the way out
        _quit_interrupted()


if __name__ == "__main__":
    raise SystemExit(entry())
