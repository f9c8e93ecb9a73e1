"""The order of the gallery: the notebook's own story first, then the rest."""

from pathlib import Path

# The notebook end to end, why it collapsed, its grid search, every pair, and
# then what goes beyond it; an example not listed comes after these, by name.
FIRST = [
    "plot_notebook_1_vs_5.py",
    "plot_uniform_init_collapse.py",
    "plot_grid_search.py",
    "plot_pair_difficulty.py",
    "plot_streaming.py",
]


class NotebookOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        return (FIRST.index(name) if name in FIRST else len(FIRST), name)

    def __repr__(self):
        # sphinx-gallery's cache compares configurations by their repr.
        return f"{type(self).__name__}()"
