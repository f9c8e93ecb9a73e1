"""The documentation builds with warnings as errors, and what it built is whole.

One Sphinx build per session (the gallery runs every example in quick mode),
then checks on its output: a page with figures for every example, a page for
every public name, a notebook for every example, no broken internal link, and
one generated notebook executed end to end.
"""

import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import skmlp

for _module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
    pytest.importorskip(
        _module, reason=f'{_module} is not installed: pip install -e ".[docs]"'
    )

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


def _environment():
    return {**os.environ, "SKMLP_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg"}


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the HTML site once; return its folder."""
    out = tmp_path_factory.mktemp("docs") / "html"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(ROOT / "docs"), str(out)],
        cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=900,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, (
        f"the documentation build failed (exit status {result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    )
    print(f"documentation built in {seconds:.1f} s")
    return out


class _Page(HTMLParser):
    """The ids, links and image sources of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if attrs.get("href") is not None and tag in ("a", "link"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def _parse(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_has_a_page_with_its_figures(site, example):
    html = site / "auto_examples" / f"{example.stem}.html"
    assert html.is_file(), f"no page for {example.name}"
    figures = [src for src in _parse(html).images
               if re.search(rf"sphx_glr_{example.stem}_\d+\.png$", src)]
    assert figures, f"{html.name} shows none of the figures of {example.name}"
    for src in figures:
        assert (html.parent / unquote(src)).is_file(), f"{src} is missing"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_has_a_notebook(site, example):
    notebooks = list((site / "_downloads").glob(f"*/{example.stem}.ipynb"))
    assert notebooks, f"no notebook generated for {example.name}"
    page = _parse(site / "auto_examples" / f"{example.stem}.html")
    assert any(href.endswith(f"/{example.stem}.ipynb") for href in page.hrefs), (
        f"the page of {example.name} does not offer its notebook"
    )


PUBLIC = [name for name in skmlp.__all__ if not name.startswith("_")]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_has_an_api_page(site, name):
    html = site / "generated" / f"skmlp.{name}.html"
    assert html.is_file(), f"no API page for skmlp.{name}"
    assert f"skmlp.{name}" in _parse(html).ids, f"{html.name} does not document it"
    assert f"generated/skmlp.{name}.html" in _parse(site / "api.html").hrefs


def test_class_pages_document_their_methods(site):
    ids = _parse(site / "generated" / "skmlp.ScratchMLPClassifier.html").ids
    for method in ("fit", "partial_fit", "predict", "predict_proba"):
        assert f"skmlp.ScratchMLPClassifier.{method}" in ids


def test_no_internal_link_is_broken(site):
    # _static holds the theme's files, among them HTML templates, not pages.
    pages = {path: _parse(path) for path in site.rglob("*.html")
             if "_static" not in path.relative_to(site).parts}
    assert len(pages) > 20
    broken = []
    for path, page in pages.items():
        for href in page.hrefs:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href in ("", "#"):
                continue  # another site, or the top of this page
            target = path
            if parts.path:
                target = (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(site)}: {href}"
            if not target.exists():
                broken.append(f"{where} (no such file)")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken[:50])


def test_a_generated_notebook_runs(site, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # The shortest of the examples in quick mode.
    (path,) = (site / "_downloads").glob("*/plot_streaming.ipynb")
    notebook = nbformat.read(path, as_version=4)
    monkeypatch.setenv("SKMLP_EXAMPLES_QUICK", "1")
    # The kernel draws inline, as in Jupyter, only when no backend is forced.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    assert any("image/png" in out.get("data", {}) for out in outputs), (
        "the notebook drew no figure"
    )
