"""Training from memmapped arrays: skmlp.streaming."""

import gc
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.format import open_memmap
from sklearn.datasets import load_digits, make_regression
from sklearn.linear_model import LogisticRegression, SGDRegressor

from skmlp import ScratchMLPClassifier
from skmlp.streaming import fit_memmap, iter_chunks

PROC_STATUS = Path("/proc/self/status")


def _rows(n):
    """X whose single column is the row number, so chunks show which rows."""
    return np.arange(n).reshape(-1, 1), np.arange(n)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(n_class=3, return_X_y=True)
    return (X / 16).astype(np.float32), y


def _small_net(**params):
    return ScratchMLPClassifier(hidden_layers=(16,), eta=0.01, random_state=0, **params)


# ------------------------------------------------------------------ chunks


@pytest.mark.parametrize("block_size", [None, 10, 7])
def test_each_epoch_reads_every_row_once(block_size):
    X, y = _rows(103)
    chunks = list(iter_chunks(X, y, chunk_size=20, block_size=block_size,
                              random_state=0))
    seen = np.concatenate([X_chunk[:, 0] for X_chunk, _ in chunks])
    np.testing.assert_array_equal(np.sort(seen), np.arange(103))
    for X_chunk, y_chunk in chunks:
        np.testing.assert_array_equal(X_chunk[:, 0], y_chunk)  # rows stay paired
        assert len(X_chunk) <= 20
        # Blocks of a chunk are read in file order.
        assert np.all(np.diff(X_chunk[:, 0]) > 0)


def test_chunk_order_is_shuffled_and_seeded():
    X, y = _rows(1000)

    def first_rows(**kwargs):
        return [int(c[0, 0]) for c, _ in iter_chunks(X, y, chunk_size=100, **kwargs)]

    assert first_rows(shuffle=False) == list(range(0, 1000, 100))
    shuffled = first_rows(random_state=0)
    assert shuffled != list(range(0, 1000, 100))
    assert sorted(shuffled) == list(range(0, 1000, 100))
    assert first_rows(random_state=0) == shuffled
    assert first_rows(random_state=1) != shuffled


def test_small_blocks_mix_rows_from_far_apart():
    X, y = _rows(1000)
    chunk, _ = next(iter_chunks(X, y, chunk_size=100, block_size=10, random_state=0))
    # Ten blocks of ten from all over the file, not one run of 100 rows.
    assert np.ptp(chunk[:, 0]) > 500
    assert len(np.unique(chunk[:, 0] // 10)) == 10


def test_contiguous_chunks_of_a_memmap_are_views(tmp_path):
    X, y = _rows(50)
    np.save(tmp_path / "X.npy", X)
    X_chunk, _ = next(iter_chunks(tmp_path / "X.npy", y, chunk_size=10))
    assert isinstance(X_chunk, np.memmap)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_size": 0}, "chunk_size must be a positive integer"),
        ({"chunk_size": 10, "block_size": 11}, "must not exceed chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size must be a positive integer"),
    ],
)
def test_iter_chunks_rejects_bad_sizes(kwargs, message):
    X, y = _rows(20)
    with pytest.raises(ValueError, match=message):
        next(iter_chunks(X, y, **kwargs))


def test_iter_chunks_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same number of rows"):
        next(iter_chunks(np.zeros((5, 2)), np.zeros(4), chunk_size=2))


# --------------------------------------------------------------- fit_memmap


def test_one_chunk_per_epoch_is_plain_partial_fit(digits):
    X, y = digits
    streamed = fit_memmap(_small_net(), X, y, epochs=3, chunk_size=len(X))
    direct = _small_net()
    for _ in range(3):
        direct.partial_fit(X, y, classes=np.unique(y))
    assert streamed.n_iter_ == direct.n_iter_ == 3
    for W_streamed, W_direct in zip(streamed.coefs_, direct.coefs_, strict=True):
        np.testing.assert_array_equal(W_streamed, W_direct)


def test_fit_memmap_is_partial_fit_over_iter_chunks(digits):
    # Gathered chunks go through a reused buffer; the fresh arrays of
    # iter_chunks are the oracle that the buffer holds the right rows.
    X, y = digits
    streamed = fit_memmap(_small_net(), X, y, epochs=2, chunk_size=100,
                          block_size=25, random_state=0)
    manual, rng = _small_net(), np.random.RandomState(0)
    for _ in range(2):
        for X_chunk, y_chunk in iter_chunks(X, y, chunk_size=100, block_size=25,
                                            random_state=rng):
            manual.partial_fit(X_chunk, y_chunk, classes=np.unique(y))
    assert streamed.n_iter_ == manual.n_iter_ == 2 * -(-len(X) // 100)
    for W_streamed, W_manual in zip(streamed.coefs_, manual.coefs_, strict=True):
        np.testing.assert_array_equal(W_streamed, W_manual)


def test_fit_memmap_learns_from_a_saved_file(digits, tmp_path):
    X, y = digits
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    calls = []
    clf = fit_memmap(
        _small_net(), tmp_path / "X.npy", tmp_path / "y.npy", epochs=4,
        chunk_size=128, block_size=32, random_state=0,
        callback=lambda est, epoch, chunk: calls.append((epoch, chunk, est.n_iter_)),
    )
    n_chunks = -(-len(X) // 128)
    assert calls == [
        (epoch, chunk, epoch * n_chunks + chunk + 1)
        for epoch in range(4) for chunk in range(n_chunks)
    ]
    assert clf.score(X, y) > 0.95
    # Same seeds, same network: the path and the in-memory array agree.
    again = fit_memmap(_small_net(), X, y, epochs=4, chunk_size=128, block_size=32,
                       random_state=0)
    for W_file, W_array in zip(clf.coefs_, again.coefs_, strict=True):
        np.testing.assert_array_equal(W_file, W_array)


def test_classes_are_read_from_all_of_y():
    # Sorted labels, read in order: the first chunk holds only class 0, yet
    # partial_fit must be told about all three classes on that first call.
    X, y = load_digits(n_class=3, return_X_y=True)
    order = np.argsort(y, kind="stable")
    clf = fit_memmap(_small_net(), X[order] / 16, y[order], chunk_size=100,
                     shuffle=False)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_a_fitted_classifier_goes_on_training(digits):
    X, y = digits
    clf = fit_memmap(_small_net(), X, y, chunk_size=200)
    n_iter, first_W = clf.n_iter_, clf.coefs_[0].copy()
    fit_memmap(clf, X, y, chunk_size=200)
    assert clf.n_iter_ == 2 * n_iter
    assert not np.array_equal(clf.coefs_[0], first_W)


def test_transform_is_applied_to_each_chunk():
    images, y = load_digits(n_class=2, return_X_y=True)
    images = images.reshape(-1, 8, 8).astype(np.uint8)
    shapes = []

    def flatten(chunk):
        shapes.append(chunk.shape[1:])
        return chunk.reshape(len(chunk), -1) / 16

    clf = fit_memmap(_small_net(), images, y, epochs=3, chunk_size=90,
                     transform=flatten)
    assert set(shapes) == {(8, 8)}
    assert clf.n_features_in_ == 64
    assert clf.score(images.reshape(len(images), -1) / 16, y) > 0.9


def test_regressors_get_no_classes_argument():
    X, y = make_regression(n_samples=1000, n_features=10, noise=1.0, random_state=0)
    reg = fit_memmap(SGDRegressor(random_state=0), X, y, epochs=3, chunk_size=300,
                     random_state=0)
    assert reg.score(X, y) > 0.9


def test_ctrl_c_stops_fit_memmap_at_once(digits, monkeypatch):
    """Ctrl-C in the 3rd chunk: no later chunk is trained on, the interruption
    reaches the caller, and the classifier keeps its 2 completed chunks."""
    import skmlp.nn.fast
    from skmlp import TrainingInterrupted

    X, y = digits
    real_epoch, calls = skmlp.nn.fast.train_epoch, []

    def train_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(skmlp.nn.fast, "train_epoch", train_epoch)
    seen = []
    clf = _small_net()
    with pytest.raises(KeyboardInterrupt), pytest.warns(TrainingInterrupted):
        fit_memmap(clf, X, y, epochs=3, chunk_size=100, random_state=0,
                   callback=lambda est, epoch, chunk: seen.append((epoch, chunk)))
    assert len(calls) == 3  # of 18 chunks over the 3 epochs
    assert seen == [(0, 0), (0, 1)]
    assert clf.n_iter_ == 2 and clf.predict(X).shape == y.shape


def test_fit_memmap_needs_partial_fit(digits):
    X, y = digits
    with pytest.raises(TypeError, match="no partial_fit"):
        fit_memmap(LogisticRegression(), X, y)


# ------------------------------------------------------ larger than memory


def _rss_anon_bytes():
    match = re.search(r"^RssAnon:\s+(\d+) kB", PROC_STATUS.read_text(), re.MULTILINE)
    return int(match.group(1)) * 1024


class _PeakAnonMemory:
    """Poll RssAnon every millisecond in a thread and keep the peak."""

    def __init__(self):
        self.peak = self.baseline = _rss_anon_bytes()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def sample(self):
        self.peak = max(self.peak, _rss_anon_bytes())
        self.samples += 1

    def _poll(self):
        while not self._stop.wait(0.001):
            self.sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def increase(self):
        return self.peak - self.baseline


def _write_synthetic_npy(folder, n_samples, n_features, chunk_size=4000):
    """A float32 X.npy and a y.npy written piece by piece, never whole in memory.

    The label is the sign of a fixed linear function of the features, so the
    network has something to learn.
    """
    rng = np.random.default_rng(0)
    direction = rng.standard_normal(n_features).astype(np.float32)
    X = open_memmap(folder / "X.npy", mode="w+", dtype=np.float32,
                    shape=(n_samples, n_features))
    y = open_memmap(folder / "y.npy", mode="w+", dtype=np.int8, shape=(n_samples,))
    for start in range(0, n_samples, chunk_size):
        stop = min(start + chunk_size, n_samples)
        block = rng.standard_normal((stop - start, n_features), dtype=np.float32)
        X[start:stop] = block
        y[start:stop] = block @ direction > 0
    X.flush()
    y.flush()
    del X, y
    return direction


@pytest.mark.skipif(
    not PROC_STATUS.exists() or "RssAnon" not in PROC_STATUS.read_text(),
    reason="needs RssAnon in /proc/self/status (Linux) to measure memory",
)
@pytest.mark.timeout(120)
def test_training_memory_stays_far_below_the_file_size(tmp_path):
    n_samples, n_features = 64_000, 784
    direction = _write_synthetic_npy(tmp_path, n_samples, n_features)
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    y = np.load(tmp_path / "y.npy", mmap_mode="r")
    file_size = X.nbytes  # 200.7 MB
    clf = ScratchMLPClassifier(hidden_layers=(32,), solver="adam", eta=0.001,
                               batch_size=256, random_state=0)
    gc.collect()

    with _PeakAnonMemory() as memory:
        fit_memmap(clf, X, y, epochs=2, chunk_size=4096, block_size=1024,
                   random_state=0, callback=lambda *_: memory.sample())
    print(f"\npeak RssAnon increase while training on a {file_size / 2**20:.0f} MiB "
          f"memmap: {memory.increase / 2**20:.1f} MiB "
          f"({memory.samples} samples)")
    assert memory.samples > 2 * 16  # the callback alone samples 2 x 16 chunks
    assert memory.increase < 0.25 * file_size

    # The network did learn the rule from the streamed rows.
    rng = np.random.default_rng(1)
    X_test = rng.standard_normal((2000, n_features), dtype=np.float32)
    assert clf.score(X_test, (X_test @ direction > 0).astype(np.int8)) > 0.9

    # The probe does see memory: reading half the file into RAM shows up.
    gc.collect()
    with _PeakAnonMemory() as control:
        in_memory = np.array(X[: n_samples // 2])
    assert control.increase > 0.9 * in_memory.nbytes
