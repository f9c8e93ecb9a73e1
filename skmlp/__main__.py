"""``python -m skmlp`` and the ``skmlp`` script: the ``skmlp`` command.

:func:`entry` imports the command line (numpy, scikit-learn: a second or
more) inside a ``try``, so that Ctrl-C while it loads ends quietly with status
130, as Ctrl-C during the work does, instead of a traceback.
"""

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT


def entry():
    """Run ``skmlp`` with ``sys.argv`` and return its exit status."""
    try:
        from .cli import main

        return main()
    except KeyboardInterrupt:  # before main handles it, or while it returns
        print("skmlp: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(entry())
