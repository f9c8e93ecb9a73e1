"""Sphinx configuration of skmlp's documentation.

Build it with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(after ``pip install -e ".[docs]"``): warnings are errors, numpydoc validates
the docstrings of the public API, and sphinx-gallery runs every example of
``examples/`` in quick mode.
"""

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document the checkout being built, not another skmlp on the path.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))

# The gallery runs each example in its quick mode (seconds, not minutes) and
# draws without a display; set SKMLP_EXAMPLES_QUICK=0 for the full runs.
os.environ.setdefault("SKMLP_EXAMPLES_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from api_reference import write_api_page  # noqa: E402

import skmlp  # noqa: E402

project = "skmlp"
author = "the skmlp developers"
copyright = "the skmlp developers, BSD-3-Clause"
version = release = skmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_inv", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "code"

# -- API reference -----------------------------------------------------------
# api.rst is written from skmlp.__all__ and each public module's __all__ at
# every build, so a new public name gets its page without editing the docs.
write_api_page(DOCS / "api.rst")

autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
# "fit()" in a page's table of contents, not "ScratchMLPClassifier.fit()".
toc_object_entries_show_parents = "hide"

# -- numpydoc ----------------------------------------------------------------
# The class template lists the members itself; numpydoc's own tables of
# methods would document every method twice.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
# Every check of numpydoc is on, except the ones skmlp's docstring style (the
# one of scikit-learn) does not follow:
#   ES01  an extended summary: short functions say all in their summary line.
#   SA01  a See Also section: cross-references go in the user guide.
#   EX01  an Examples section: the examples are the gallery's scripts.
#   RT02  a bare type on the Returns line: like scikit-learn, returns are
#         named (``X_new : ndarray``, ``self : object``).
#   GL08  a docstring on every object: scikit-learn's generated
#         ``set_*_request`` methods of an estimator have none of skmlp's.
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "RT02"}
numpydoc_validation_exclude = {
    # Constants (UPPER_CASE names) are documented by a ``#:`` comment, which
    # has no room for numpydoc's sections nor its closing-quotes rule.
    r"\.[A-Z][A-Z0-9_]*$",
    # The engines' functions are their modules' internals, shown for readers of
    # the source: their docstrings say what each computes in the lecture's
    # notation, not numpydoc's sections (the estimator is the API).
    r"^skmlp\.nn\.",
}


def _defined_outside_skmlp(obj):
    """Whether ``obj`` (a member of a class) comes from another package."""
    obj = getattr(obj, "fget", obj)  # a property's getter
    module = getattr(obj, "__module__", None) or ""
    return not (module == "skmlp" or module.startswith("skmlp."))


def _skip_inherited(app, what, name, obj, skip, options):
    # The members a class inherits from scikit-learn (get_params, set_params,
    # score, the metadata-routing setters) or from Python's exceptions are
    # documented there; their docstrings point into scikit-learn's own pages.
    if what == "class" and _defined_outside_skmlp(obj):
        return True
    return None


def _list_inherited(app, what, name, obj, options, lines):
    # Name what _skip_inherited leaves out, with the class it comes from.
    if what != "class" or not name.startswith("skmlp."):
        return
    inherited = {}
    for attr in sorted(dir(obj)):
        if attr.startswith("_") or not callable(getattr(obj, attr, None)):
            continue
        member = getattr(obj, attr)
        owner = next((k for k in obj.__mro__ if attr in vars(k)), None)
        if owner is None or owner.__module__ == "builtins":
            continue
        if owner is obj:
            # Added to the class by scikit-learn (metadata routing's setters).
            if not _defined_outside_skmlp(member):
                continue
            where = f"``{member.__module__.split('._')[0]}``"
        elif _defined_outside_skmlp(owner):
            public = owner.__module__.split("._")[0]
            where = f":class:`~{public}.{owner.__qualname__}`"
        else:
            continue
        inherited.setdefault(where, []).append(attr)
    if inherited:
        lines += ["", ".. rubric:: Inherited methods", ""]
        for where, attrs in inherited.items():
            names = ", ".join(f"``{attr}``" for attr in attrs)
            lines += [f"- from {where}: {names}"]
        lines.append("")


QUICK_NOTE = """
.. note::

   This page shows a quick run of the example (``SKMLP_EXAMPLES_QUICK=1``:
   fewer images, epochs or pairs), so its figures show the method rather than
   the final numbers. Run the script or the notebook without that variable for
   the full run.

"""


def _note_quick_mode(app, docname, source):
    # Put the note under the title of each example's page.
    if os.environ.get("SKMLP_EXAMPLES_QUICK") != "1":
        return
    if not docname.startswith("auto_examples/plot_"):
        return
    text = source[0]
    title = re.search(r"^(=+)\n(.+)\n\1\n|^(.+)\n(=+)\n", text, flags=re.M)
    if title:
        source[0] = text[: title.end()] + QUICK_NOTE + text[title.end():]


def _formulas_as_literal_blocks(app, what, name, obj, options, lines):
    # The engines' module docstrings write their formulas as indented ASCII
    # blocks, as one reads them in the source; show them in a fixed font
    # (a literal block) rather than as quoted, reflowed text.
    if what != "module" or not name.startswith("skmlp.nn."):
        return
    out = []
    for i, line in enumerate(lines):
        starts_block = (
            i >= 2 and line.startswith("    ") and not lines[i - 1].strip()
            and lines[i - 2].strip() and not lines[i - 2].startswith(" ")
            and not lines[i - 2].rstrip().endswith("::")
        )
        if starts_block:
            out[-1:] = ["", "::", ""]
        out.append(line)
    lines[:] = out


def setup(app):
    app.connect("autodoc-skip-member", _skip_inherited)
    app.connect("autodoc-process-docstring", _list_inherited)
    app.connect("autodoc-process-docstring", _formulas_as_literal_blocks)
    app.connect("source-read", _note_quick_mode)


# A reference to a skmlp name that does not exist is an error; references to
# other packages resolve only with their inventories (see intersphinx below).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!skmlp\.).*")]

# -- intersphinx -------------------------------------------------------------
# Links into the documentation of Python and the scientific stack need their
# inventories, which are downloaded. The build must pass offline (and with -W),
# so they are fetched only when SKMLP_DOCS_INTERSPHINX=1 is set.
intersphinx_mapping = {}
if os.environ.get("SKMLP_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/latest", None),
    }
    intersphinx_timeout = 30

# -- sphinx-gallery ----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "gallery_order.NotebookOrder",
    "doc_module": ("skmlp",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skmlp": None},
    # A failing example fails the build instead of rendering its traceback.
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "download_all_examples": True,
    "min_reported_time": 1,
    "remove_config_comments": True,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skmlp {release}"
html_static_path = ["_static"]
html_css_files = ["skmlp.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": [], "changelog": []}

# -- copybutton --------------------------------------------------------------
# Copy commands without their prompt (``$ `` or ``>>> ``) nor their output.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = False
