"""Every examples/plot_*.py runs to its end in quick mode, in its own process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("plot_*.py"))
SHARED_MNIST = Path("/work/shared/data/mnist.npz")


def _environment():
    env = {**os.environ, "SKMLP_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg"}
    if not env.get("SKMLP_MNIST") and SHARED_MNIST.is_file():
        # Without it the examples try a download before using the sample.
        env["SKMLP_MNIST"] = str(SHARED_MNIST)
    return env


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
