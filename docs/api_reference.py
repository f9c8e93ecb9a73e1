"""Write the API reference page (``api.rst``) from the package itself.

The reference lists ``skmlp.__all__`` first, then every public module
(no part of its dotted name starts with ``_``) with the names of its own
``__all__`` that the package does not export already. A module without
``__all__`` shows its docstring only: ``__all__`` is how a module declares its
public names. autosummary then writes one page per class and function, so a
name added to an ``__all__`` appears in the reference by itself.
"""

import importlib
import inspect
import pkgutil

import skmlp

INTRO = """\
.. This file is written by docs/api_reference.py at every build; edit that.

.. _api:

=============
API reference
=============

Every public name of skmlp, one page each, generated from the docstrings.
The names most code needs are importable from ``skmlp`` itself; the modules
below hold the rest. The :ref:`user_guide` explains how the pieces fit
together.
"""


def public_modules(package=skmlp):
    """Names of the public modules of ``package``, in alphabetical order."""
    names = []
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        parts = info.name.split(".")[1:]
        if any(part.startswith("_") for part in parts):
            continue
        names.append(info.name)
    return sorted(names)


def _kind(obj):
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def _autosummary(module, names):
    lines = [f".. currentmodule:: {module}", "", ".. autosummary::"]
    lines += ["   :toctree: generated", "   :nosignatures:", ""]
    lines += [f"   {name}" for name in names]
    return lines + [""]


def _heading(text, char):
    return [text, char * len(text), ""]


def api_page():
    """Return the reST text of the API reference."""
    top = [name for name in skmlp.__all__ if not name.startswith("_")]
    exported = {id(getattr(skmlp, name)): name for name in top}
    lines = [INTRO]
    lines += _heading("``skmlp``", "=")
    by_kind = {"class": [], "function": [], "data": []}
    for name in top:
        by_kind[_kind(getattr(skmlp, name))].append(name)
    for kind, title in [
        ("class", "Estimators, transformers and warnings"),
        ("function", "Functions"),
        ("data", "Constants"),
    ]:
        if by_kind[kind]:
            lines += _heading(title, "-")
            lines += _autosummary("skmlp", sorted(by_kind[kind], key=str.lower))
    lines += _heading("Modules", "=")
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        lines += _heading(f"``{module_name}``", "-")
        lines += [f".. automodule:: {module_name}", "   :no-members:", ""]
        names = list(getattr(module, "__all__", []))
        own = [n for n in names if id(getattr(module, n)) not in exported]
        also = [n for n in names if id(getattr(module, n)) in exported]
        if also:
            refs = ", ".join(f":obj:`skmlp.{exported[id(getattr(module, n))]}`"
                             for n in also)
            lines += [f"Also exported by the package: {refs}.", ""]
        if own:
            lines += _autosummary(module_name, own)
    return "\n".join(lines) + "\n"


def write_api_page(path):
    """Write the API reference to ``path`` unless it already holds that text."""
    text = api_page()
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        # Rewriting an unchanged file would make Sphinx rebuild it every time.
        path.write_text(text, encoding="utf-8")
