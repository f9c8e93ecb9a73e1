"""skmlp.benchmark at a tiny size: it runs every implementation, and its report
holds what it promises (the command, ``skmlp bench``, is tested in
test_cli_bench.py).  No timing is asserted: the figures depend on the machine;
the benchmark itself is for comparing them."""

import numpy as np
import pytest

from skmlp import ScratchMLPClassifier, benchmark, load_mnist_sample

TINY = dict(epochs=1, repeats=2, n_samples=120, batch_size=50,
            hidden_layers=(24, 12), source="sample", warmup=False)


def _rows(report):
    return {(row["implementation"], row["dtype"]): row for row in report["results"]}


def test_load_digit_pair_selects_and_scales():
    X, y = benchmark.load_digit_pair(n_samples=300, dtype="float64", source="sample")
    assert X.shape == (300, 784) and X.dtype == np.float64 and X.flags.c_contiguous
    assert set(np.unique(y)) == {0, 1}
    # ImageVectorizer's 'max': every non-blank image reaches 1 exactly.
    assert X.min() == 0 and np.all(X.max(axis=1) == 1)


def test_load_digit_pair_takes_mnist_already_loaded():
    # source='mnist' would read the full MNIST; the images given win.
    X, y = benchmark.load_digit_pair(n_samples=300, mnist=load_mnist_sample())
    X_sample, y_sample = benchmark.load_digit_pair(n_samples=300, source="sample")
    np.testing.assert_array_equal(X, X_sample)
    np.testing.assert_array_equal(y, y_sample)


def test_load_digit_pair_reads_full_mnist(mnist_full_path):
    X, y = benchmark.load_digit_pair(dtype="float32", path=mnist_full_path)
    # MNIST's training set has 6742 ones and 5421 fives.
    assert X.shape == (6742 + 5421, 784) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [6742, 5421]


def test_run_benchmark_reports_every_implementation():
    report = benchmark.run_benchmark(**TINY, dtypes=("float32", "float64"),
                                     torch=False, memory=False)
    rows = _rows(report)
    assert set(rows) == {(name, dtype) for name in ("floor", "skmlp", "sklearn")
                         for dtype in ("float32", "float64")}
    for (name, dtype), row in rows.items():
        assert len(row["epoch_seconds"]) == TINY["repeats"]
        assert row["seconds_per_epoch"] == np.median(row["epoch_seconds"]) > 0
        # The median over rounds of the ratio within each round.
        skmlp = rows["skmlp", dtype]["epoch_seconds"]
        assert row["ratio_to_skmlp"] == pytest.approx(
            np.median(np.divide(row["epoch_seconds"], skmlp)))
        assert row["predict_images_per_second"] > 0
        assert row["peak_memory_mb"] is None
        if name == "floor":
            assert row["train_accuracy"] is None
        else:
            assert 0 <= row["train_accuracy"] <= 1
    assert rows["skmlp", "float32"]["ratio_to_skmlp"] == 1
    for dtype in ("float32", "float64"):
        assert set(report["ratios"][dtype]) == {"skmlp/floor", "skmlp/sklearn"}
        assert report["ratios"][dtype]["skmlp/floor"] == pytest.approx(np.median(
            np.divide(rows["skmlp", dtype]["epoch_seconds"],
                      rows["floor", dtype]["epoch_seconds"])))
    config = report["config"]
    assert config["n_samples"] == 120 and config["n_features"] == 784
    assert config["hidden_layers"] == (24, 12)
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["cpu"]
    assert machine["blas"] and all(pool["num_threads"] >= 1 for pool in machine["blas"])


def test_peak_memory_is_measured_per_implementation():
    report = benchmark.run_benchmark(**{**TINY, "repeats": 1}, dtypes=("float32",),
                                     torch=False, memory=True)
    assert report["memory_method"] == benchmark.memory_method()
    peaks = {row["implementation"]: row["peak_memory_mb"] for row in report["results"]}
    # Each fit allocates at least its weights: 784 x 24 float32 is 73 kB.
    assert all(peak > 784 * 24 * 4 / 2**20 for peak in peaks.values()), peaks


def test_torch_is_benchmarked_when_installed():
    pytest.importorskip("torch")
    report = benchmark.run_benchmark(**{**TINY, "repeats": 1}, dtypes=("float32",),
                                     torch=True, memory=False)
    rows = _rows(report)
    assert ("torch", "float32") in rows
    assert 0 <= rows["torch", "float32"]["train_accuracy"] <= 1
    assert "skmlp/torch" in report["ratios"]["float32"]
    assert report["machine"]["torch"]


def test_default_setting_adds_the_adam_floor():
    report = benchmark.run_benchmark(**{**TINY, "batch_size": None},
                                     setting="default", dtypes=("float32",),
                                     torch=False, memory=False)
    rows = _rows(report)
    assert set(rows) == {(name, "float32") for name in
                         ("floor", "adam-floor", "skmlp", "sklearn")}
    config = report["config"]
    assert config["setting"] == "default" and config["solver"] == "adam"
    assert config["batch_size"] == 128 and config["learning_rate"] == "cosine"
    assert config["sklearn_learning_rate_init"] == config["eta"] == 1e-3
    assert set(report["ratios"]["float32"]) == {
        "skmlp/floor", "skmlp/adam-floor", "skmlp/sklearn"}
    assert rows["adam-floor", "float32"]["train_accuracy"] is None
    assert "setting 'default' (Adam" in benchmark.format_table(report)


def test_default_setting_trains_with_adam(monkeypatch):
    # Each implementation is built with the setting's optimiser.
    from sklearn.neural_network import MLPClassifier

    from skmlp import _bench_trainers

    X, y = benchmark.load_digit_pair(n_samples=60, source="sample")
    config = {"epochs": 1, "batch_size": 20, "hidden_layers": (6,), "seed": 0,
              "setting": "default"}
    _, skmlp_model = _bench_trainers.TRAINERS["skmlp"][0](X, y, config)
    _, sklearn_model = _bench_trainers.TRAINERS["sklearn"][0](X, y, config)
    assert isinstance(skmlp_model, ScratchMLPClassifier)
    assert skmlp_model.get_params()["solver"] == "adam"
    assert skmlp_model.learning_rate == "cosine" and skmlp_model.eta == 1e-3
    assert isinstance(sklearn_model, MLPClassifier)
    assert sklearn_model.solver == "adam" and sklearn_model.alpha == 0
    assert sklearn_model.learning_rate_init == 1e-3
    assert sklearn_model.batch_size == 20
    notebook = {**config, "setting": "notebook"}
    assert _bench_trainers.TRAINERS["skmlp"][0](X, y, notebook)[1].solver == "sgd"


def test_adam_floor_moves_the_moments():
    from skmlp._bench_trainers import _Floor

    X, _ = benchmark.load_digit_pair(n_samples=40, source="sample")
    floor = _Floor([784, 6, 1], 20, X.dtype, 0)
    weights = [W.copy() for W in floor.coefs]
    floor.epoch(X, adam=True)
    # Three arrays per layer (the weights' copy and two moments), each
    # added the two batches' gradients; the products' weights stay put.
    assert [len(arrays) for arrays in floor.adam_arrays] == [3, 3]
    for W, before, arrays in zip(floor.coefs, weights, floor.adam_arrays,
                                 strict=True):
        np.testing.assert_array_equal(W, before)
        for array in arrays:
            assert array.shape == W.shape and np.abs(array).max() > 0
        np.testing.assert_array_equal(arrays[0], arrays[1])


def test_time_to_accuracy_warms_each_implementation_up_first(monkeypatch):
    # A short untimed fit of each first, so that what a process pays once
    # (numba loading the compiled updates) is not counted as training time.
    from skmlp import benchmark_accuracy

    calls = []
    for name, epochs in list(benchmark_accuracy.EPOCHS.items()):
        def spy(X, y, config, name=name, epochs=epochs):
            calls.append((name, len(X), sorted(set(y))))
            return epochs(X, y, config)
        monkeypatch.setitem(benchmark_accuracy.EPOCHS, name, spy)
    benchmark_accuracy.run_time_to_accuracy(
        targets={(1, 5): 0.9}, max_epochs=1, hidden_layers=(8,), torch=False,
        source="sample", threads=1)
    assert calls == [("skmlp", 256, [0, 1]), ("sklearn", 256, [0, 1]),
                     ("skmlp", 1000, [0, 1]), ("sklearn", 1000, [0, 1])]


def test_time_to_accuracy_reports_each_pair_and_implementation():
    from skmlp import benchmark_accuracy

    report = benchmark_accuracy.run_time_to_accuracy(
        targets={(1, 5): 0.9, (4, 9): 1.01}, max_epochs=2, hidden_layers=(8,),
        torch=False, source="sample", threads=1)
    rows = {(row["pair"], row["implementation"]): row for row in report["results"]}
    assert set(rows) == {(pair, name) for pair in ("1-5", "4-9")
                         for name in ("skmlp", "sklearn")}
    for (_, name), row in rows.items():
        curve = row["accuracy_curve"]
        assert len(curve) == len(row["seconds_curve"]) >= 1
        assert np.all(np.diff(row["seconds_curve"]) > 0)
        assert row["best_accuracy"] == max(curve)
        if row["epochs"] is None:  # never reached: every epoch ran
            assert row["seconds"] is None and max(curve) < row["target"]
            # skmlp runs its default epochs, whose schedule they set.
            assert len(curve) == (ScratchMLPClassifier().epochs if name == "skmlp"
                                  else 2)
        else:  # stopped at the first epoch at the target
            assert curve[-1] >= row["target"] > max(curve[:-1], default=0)
            assert row["seconds"] == row["seconds_curve"][-1]
            assert row["epochs"] == len(curve)
    assert rows["4-9", "skmlp"]["seconds"] is None  # 101 % is out of reach
    assert rows["1-5", "skmlp"]["epochs"] is not None
    table = benchmark_accuracy.format_accuracy_table(report)
    assert "1-5" in table and "4-9" in table and "skmlp" in table


def test_time_to_accuracy_in_rounds_takes_medians(monkeypatch):
    # Each round times every implementation again; the seconds are the
    # median, and the ratio to scikit-learn the median of each round's.
    from skmlp import benchmark_accuracy

    seconds = {"skmlp": iter([1.0, 3.0, 2.0]), "sklearn": iter([2.0, 4.0, 10.0])}

    def fixed(name):
        def epochs(X, y, config):
            if len(X) == 256:  # the untimed warm-up
                yield 0.0, lambda X: np.zeros(len(X), int)
                return
            yield next(seconds[name]), lambda X: np.zeros(len(X), int)
        return epochs

    for name in ("skmlp", "sklearn"):
        monkeypatch.setitem(benchmark_accuracy.EPOCHS, name, fixed(name))
    report = benchmark_accuracy.run_time_to_accuracy(
        targets={(1, 5): 0.0}, torch=False, source="sample", threads=1, repeats=3)
    rows = {row["implementation"]: row for row in report["results"]}
    assert rows["skmlp"]["seconds_rounds"] == [1.0, 3.0, 2.0]
    assert rows["skmlp"]["seconds"] == 2.0 and rows["sklearn"]["seconds"] == 4.0
    assert rows["skmlp"]["ratio_to_sklearn"] == 0.5  # median of 0.5, 0.75, 0.2
    assert rows["sklearn"]["ratio_to_sklearn"] == 1.0
    table = benchmark_accuracy.format_accuracy_table(report)
    assert "median of 3 rounds" in table and "0.50" in table


def test_time_to_accuracy_scores_the_weights_of_each_epoch():
    # skmlp's epochs are scored afterwards, from copies: the last epoch's
    # copy must give the fitted model's own test accuracy.
    from skmlp import benchmark_accuracy

    mnist = load_mnist_sample()
    X, y, X_test, y_test = benchmark_accuracy._pair(mnist, (4, 9), np.float32)
    config = {"seed": 0, "hidden_layers": (8,), "max_epochs": 2}
    epochs = list(benchmark_accuracy._skmlp_epochs(X, y, config))
    accuracies = [np.mean(predict(X_test) == y_test) for _, predict in epochs]
    clf = ScratchMLPClassifier(random_state=0, hidden_layers=(8,)).fit(X, y)
    assert len(epochs) == clf.n_iter_
    assert accuracies[-1] == clf.score(X_test, y_test)
    assert len(set(accuracies)) > 1  # not one model scored n times
