"""benchmarks/helper_thread.py in one round on the MNIST sample."""

import pytest
from conftest import load_benchmark

from skmlp.nn import _blas, _overlap


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("helper_thread")


def test_one_round_times_both_and_counts_the_helper_s_tasks(bench, monkeypatch,
                                                            capsys):
    # A machine with a core to spare, whatever this one is doing.
    monkeypatch.setattr(_overlap, "_cores", lambda: 2)
    monkeypatch.setattr(_overlap, "_others_busy", lambda cores: False)
    real_threads = _blas.blas_threads
    monkeypatch.setattr(_blas, "blas_threads", lambda: max(2, real_threads()))
    init = _overlap.Helper.__init__
    rows = bench.main(["--sample", "--repeats", "1"])
    assert _overlap.Helper.__init__ is init, "the counting hook must be undone"
    assert [(row["digits"], row["hidden"]) for row in rows] == [
        ((1, 5), (500, 250)), ((4, 9), (500, 250)), ((1, 5), (800, 400))]
    for row in rows:
        assert row["helper"] > 0 and row["alone"] > 0
        assert row["submitted"] > 0, "the fits with the helper used none"
        assert 0 <= row["taken_back"] <= row["submitted"]
    assert "taken back" in capsys.readouterr().out
