"""Every examples/plot_*.py runs to its end in quick mode, in its own process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


def _environment():
    # The examples import this checkout's skmlp, whatever is installed; they
    # read MNIST from SKMLP_MNIST when it is set, else fall back on the sample.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "SKMLP_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg",
            "PYTHONPATH": path}


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(example, tmp_path):
    result = subprocess.run(
        [sys.executable, str(example)], cwd=tmp_path, env=_environment(),
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (
        f"{example.name} failed (exit status {result.returncode}):\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    assert "Traceback" not in result.stderr
