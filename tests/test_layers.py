"""The package's imports go one way: data -> preprocessing -> estimator ->
engines, with plotting, persistence, the benchmark and the command line on
top.  Read from the import statements of the source, not by running it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "skmlp"

# What each layer may import of skmlp (besides itself and the package's
# ``__version__``).  The lowest first.
LAYERS = {
    "engines": ("nn",),
    "low": ("exceptions", "_atomic", "_stamp", "_machine", "_concurrency"),
    "data": ("datasets", "preprocessing", "_deskew", "data"),
    "estimator": ("classifier", "_validation", "_training", "_predicting",
                  "_callbacks", "_classifier_state", "gradient_check"),
    "top": ("plotting", "persistence", "distributed", "streaming", "benchmark",
            "benchmark_accuracy", "_bench_trainers", "callbacks", "_layer_plot", "cli",
            "__main__"),
}
MAY_IMPORT = {
    "engines": {"engines"},
    "low": {"low"},
    "data": {"low", "data"},
    "estimator": {"low", "data", "estimator", "engines"},
    "top": {"low", "data", "estimator", "engines", "top"},
}


def _layer(module):
    first = module.split(".")[0]
    for layer, names in LAYERS.items():
        if first in names:
            return layer
    raise AssertionError(f"skmlp.{module} is in no layer: add it to LAYERS")


def _imports(path):
    """The skmlp modules (relative to the package) that ``path`` imports."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - (node.level - 1)])
            target = base + (node.module.split(".") if node.module else [])
            if target:
                found.add(".".join(target))
            else:  # from . import a, b: the package's own modules
                found.update(alias.name for alias in node.names
                             if alias.name != "__version__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "skmlp."):
            found.add(node.module.removeprefix("skmlp."))
        elif isinstance(node, ast.Import):
            found.update(alias.name.removeprefix("skmlp.") for alias in node.names
                         if alias.name.startswith("skmlp."))
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py")
                 if p.relative_to(PACKAGE).parts != ("__init__.py",))


@pytest.mark.parametrize("path", SOURCES,
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_one_way(path):
    module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    layer = _layer(module)
    wrong = sorted(target for target in _imports(path)
                   if _layer(target) not in MAY_IMPORT[layer])
    assert not wrong, f"skmlp.{module} ({layer}) imports {wrong}"


def test_the_engines_need_nothing_but_numpy_scipy_threadpoolctl_and_numba():
    # numba compiles the fast engine's optimiser updates and sparse products only.
    allowed = {"numpy", "scipy", "threadpoolctl", "math", "copy", "contextlib",
               "dataclasses", "functools", "itertools", "threading", "types",
               "concurrent", "os", "time"}
    compiled = {"_fast_updates.py": {"numba"}, "_sparse_products.py": {"numba"}}
    for path in (PACKAGE / "nn").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(
                    node, "level", 0):
                names = ([alias.name for alias in node.names]
                         if isinstance(node, ast.Import) else [node.module])
                for name in names:
                    assert name.split(".")[0] in allowed | compiled.get(
                        path.name, set()), (path.name, name)
    reference = (PACKAGE / "nn" / "reference.py").read_text()
    assert not [name for name in ("scipy", "threadpoolctl", "numba")
                if name in reference]


def test_the_reference_engine_is_short_and_no_module_is_long():
    lines = {p.relative_to(PACKAGE): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert lines[Path("nn/reference.py")] <= 300
    assert max(lines.values()) <= 500, max(lines.items(), key=lambda kv: kv[1])
