"""``python -m skmlp``: the ``skmlp`` command."""

from .cli import main

raise SystemExit(main())
