"""skmlp._machine: the record of the machine and software beside every result."""

import json
import os

import numpy as np
import pytest
import sklearn
from threadpoolctl import threadpool_limits

import skmlp
from skmlp import _machine


def test_machine_info_names_the_machine_and_the_versions():
    info = _machine.machine_info()
    assert json.loads(json.dumps(info)) == info  # JSON as it is
    assert info["cores"] == os.cpu_count() and info["cpu"]
    versions = info["versions"]
    assert versions["skmlp"] == skmlp.__version__
    assert versions["numpy"] == np.__version__
    assert versions["scikit-learn"] == sklearn.__version__
    assert {"python", "scipy", "threadpoolctl"} <= set(versions)


def test_blas_info_follows_the_thread_limit():
    if not _machine.blas_info():
        pytest.skip("no BLAS seen by threadpoolctl")
    with threadpool_limits(1, user_api="blas"):
        assert {pool["num_threads"] for pool in _machine.blas_info()} == {1}
    assert all(pool["internal_api"] for pool in _machine.blas_info())


def test_cpu_model_without_proc_cpuinfo(monkeypatch):
    def unreadable(self, *args, **kwargs):
        raise OSError("no such file")

    monkeypatch.setattr(_machine.Path, "read_text", unreadable)
    monkeypatch.setattr(_machine.platform, "processor", lambda: "")
    assert _machine.cpu_model() is None
    # machine_info falls back to the architecture.
    assert _machine.machine_info()["cpu"] == _machine.platform.machine()


def test_a_library_that_cannot_be_imported_is_left_out(monkeypatch):
    monkeypatch.setitem(_machine._LIBRARIES, "not-a-library", "skmlp_no_such_module")
    assert "not-a-library" not in _machine.versions()


def test_summary_is_one_line_of_the_record():
    info = _machine.machine_info()
    line = _machine.summary(info)
    assert "\n" not in line
    assert line.startswith(f"{info['cpu']}, {info['cores']} cores")
    assert f"NumPy {np.__version__}" in line and f"skmlp {skmlp.__version__}" in line
    no_blas = {**info, "blas": [], "load_average": None}
    assert _machine.summary(no_blas).endswith("BLAS none seen")
