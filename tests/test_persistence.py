"""Saving and loading: joblib and skops round trips, version stamps, damaged
state, atomic writes, and the errors of :func:`skmlp.persistence.load`."""

import builtins
import copy
import errno
import io
import os
import pickle
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import joblib
import numpy as np
import pytest
import skops.io as sio
from conftest import small_classifier as _small
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from skops.io.exceptions import UntrustedTypesFoundException

import skmlp
from skmlp import ScratchMLPClassifier, _atomic, _stamp, persistence, preprocessing
from skmlp._stamp import state_checksum
from skmlp.persistence import TRUSTED_TYPES, InconsistentVersionWarning, load, save

CLASSIFIER = "skmlp.classifier.ScratchMLPClassifier"




@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return _small().fit(X, y)


def _assert_same_model(a, b, X):
    """Bit-identical predictions and weights."""
    pa, pb = a.predict_proba(X), b.predict_proba(X)
    assert pa.dtype == pb.dtype
    assert_array_equal(pa, pb, strict=True)
    assert_array_equal(a.predict(X), b.predict(X), strict=True)
    for Wa, Wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(Wa, Wb, strict=True)


# --------------------------------------------------------------------------
# Round trips


def test_joblib_and_skops_load_identically_in_a_fresh_process(tmp_path, digits):
    """Models saved here predict bit for bit the same in another interpreter."""
    X, y = digits
    images = (X.reshape(-1, 8, 8) * 255).astype(np.uint8)
    labels = np.array(["zero", "one", "two"])[y]
    pipe = make_pipeline(preprocessing.ImageVectorizer(), _small())
    models = {
        "clf.joblib": (_small().fit(X, y), X),
        "strings.joblib.gz": (_small().fit(X, labels), X),
        "clf.skops": (_small().fit(X, labels), X),
        "pipe.joblib": (pipe.fit(images, y), images),
        "pipe.skops": (pipe, images),
    }
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "images.npy", images)
    for name, (model, _) in models.items():
        save(model, tmp_path / name)
    # joblib.dump itself, as users write it, must work too.
    joblib.dump(models["clf.joblib"][0], tmp_path / "plain.joblib")
    models["plain.joblib"] = models["clf.joblib"]

    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import numpy as np
        from skmlp.persistence import load

        folder = Path(sys.argv[1])
        X, images = np.load(folder / "X.npy"), np.load(folder / "images.npy")
        out = {}
        for name in sys.argv[2:]:
            model = load(folder / name)
            data = images if name.startswith("pipe") else X
            out[name + ":proba"] = model.predict_proba(data)
            out[name + ":label"] = model.predict(data).astype(str)
        np.savez(folder / "out.npz", **out)
        """
    )
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), *models],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = np.load(tmp_path / "out.npz")
    for name, (model, data) in models.items():
        assert_array_equal(out[name + ":proba"], model.predict_proba(data), strict=True)
        assert_array_equal(out[name + ":label"], model.predict(data).astype(str))


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
def test_loaded_model_continues_training_identically(tmp_path, digits, suffix):
    """The optimiser state survives: partial_fit after loading = without saving."""
    X, y = digits
    clf = _small().fit(X, y)
    loaded = load(save(clf, tmp_path / f"m{suffix}"))
    _assert_same_model(clf, loaded, X)
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    _assert_same_model(clf, loaded, X)
    assert loaded.n_iter_ == clf.n_iter_ == 4


def test_unfitted_estimator_round_trips(tmp_path):
    clf = ScratchMLPClassifier(hidden_layers=(7, 3), eta=0.5, random_state=3)
    loaded = load(save(clf, tmp_path / "unfitted.skops"))
    assert loaded.get_params() == clf.get_params()
    assert "_skmlp_version" not in vars(pickle.loads(pickle.dumps(clf)))


def test_pickle_records_the_skmlp_version(fitted):
    state = fitted.__getstate__()
    assert state["_skmlp_version"] == skmlp.__version__
    # ... without leaving it on the estimator after loading.
    assert "_skmlp_version" not in vars(pickle.loads(pickle.dumps(fitted)))


@pytest.mark.parametrize("random_state", [0, np.random.RandomState(0)])
def test_copies_and_clones_of_a_fitted_model(digits, random_state):
    X, y = digits
    clf = _small(random_state=random_state).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    for copied in (copy.deepcopy(clf), pickle.loads(pickle.dumps(clf)),
                   joblib.load(buffer)):
        _assert_same_model(clf, copied, X)
    cloned = clone(clf)
    assert not hasattr(cloned, "coefs_")
    assert cloned.get_params().keys() == clf.get_params().keys()
    if isinstance(random_state, int):  # a RandomState has moved on since the fit
        _assert_same_model(clf, cloned.fit(X, y), X)


def test_large_model_pickles_quickly():
    """784-500-250-1 with Adam: 12 MB of arrays, checksummed on save and load."""
    rng = np.random.default_rng(0)
    X, y = rng.random((32, 784)), np.arange(32) % 2
    clf = ScratchMLPClassifier((500, 250), epochs=1, random_state=0).fit(X, y)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        pickle.loads(pickle.dumps(clf))
        times.append(time.perf_counter() - start)
    # About 0.05 s on a 2-core virtual machine (0.025 s without the checksum).
    assert min(times) < 0.5


# --------------------------------------------------------------------------
# skops: only skmlp's own classes need trusting


def _fit_variants(X, y):
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 2.0, len(y))
    yield "default", _small().fit(X, y)
    yield "early_stopping", _small(early_stopping=True, epochs=4).fit(X, y)
    yield "float32+weights", _small().fit(
        X.astype(np.float32), y, sample_weight=weights
    )
    yield "sgd+momentum", _small(solver="sgd", momentum=0.5, eta=0.01).fit(X, y)
    yield "partial_fit", _small().partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize(
    "labels",
    [
        lambda y: y,  # int64
        lambda y: y.astype(np.uint8),
        lambda y: np.array(["zero", "one", "two"])[y],
        lambda y: np.array(["zero", "one", "two"], dtype=object)[y],
        lambda y: y == 0,  # two classes, bool
        lambda y: y.astype(np.float64),  # integral floats
    ],
    ids=["int", "uint8", "str", "object-str", "bool", "float"],
)
def test_skops_needs_to_trust_only_skmlp_classes(digits, labels):
    X, y = digits
    for variant, clf in _fit_variants(X, labels(y)):
        data = sio.dumps(clf)
        assert sio.get_untrusted_types(data=data) == [CLASSIFIER], variant
        loaded = sio.loads(data, trusted=TRUSTED_TYPES)
        _assert_same_model(clf, loaded, X)
        assert loaded.classes_.dtype == clf.classes_.dtype


def test_skops_feature_names_are_plain_data(fitted, digits):
    # What validate_data stores for a DataFrame: an object array of str.
    X, _ = digits
    fitted = pickle.loads(pickle.dumps(fitted))
    fitted.feature_names_in_ = np.array([f"px{i}" for i in range(64)], dtype=object)
    data = sio.dumps(fitted)
    assert sio.get_untrusted_types(data=data) == [CLASSIFIER]
    loaded = sio.loads(data, trusted=TRUSTED_TYPES)
    assert_array_equal(loaded.feature_names_in_, fitted.feature_names_in_)


def test_skops_pipeline_with_image_vectorizer(tmp_path, digits):
    X, y = digits
    images = X.reshape(-1, 8, 8)
    pipe = make_pipeline(preprocessing.ImageVectorizer(), _small()).fit(images, y)
    path = save(pipe, tmp_path / "pipe.skops")
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(TRUSTED_TYPES)
    assert CLASSIFIER in untrusted
    loaded = load(path)  # trusts TRUSTED_TYPES by default
    assert_array_equal(loaded.predict_proba(images), pipe.predict_proba(images))


def test_trusted_types_name_skmlp_classes():
    classes = [
        ScratchMLPClassifier,
        preprocessing.ImageVectorizer,
        preprocessing.DigitPairSelector,
    ]
    assert sorted(TRUSTED_TYPES) == sorted(
        f"{cls.__module__}.{cls.__qualname__}" for cls in classes
    )
    assert skmlp.TRUSTED_TYPES is TRUSTED_TYPES


def test_skops_refuses_types_beyond_the_trusted_ones(tmp_path, digits):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from imblearn.under_sampling import RandomUnderSampler

    X, y = digits
    pipe = imblearn_pipeline.make_pipeline(
        RandomUnderSampler(random_state=0), _small()
    ).fit(X, y)
    path = save(pipe, tmp_path / "sampler.skops")
    with pytest.raises(UntrustedTypesFoundException, match="imblearn.pipeline"):
        load(path)
    with pytest.raises(UntrustedTypesFoundException, match="sampler.skops"):
        load(path, trusted=[])
    extra = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    loaded = load(path, trusted=TRUSTED_TYPES + extra)
    assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_skops_suffix_without_skops_says_what_to_install(tmp_path, monkeypatch, fitted):
    path = save(fitted, tmp_path / "m.skops")
    monkeypatch.setitem(sys.modules, "skops.io", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'skmlp\[skops\]'"):
        save(fitted, tmp_path / "new.skops")
    with pytest.raises(ImportError, match="need the skops package"):
        load(path)
    assert os.listdir(tmp_path) == ["m.skops"]


# --------------------------------------------------------------------------
# Versions and damaged state


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
def test_model_of_another_version_loads_with_a_warning(
    tmp_path, monkeypatch, fitted, digits, suffix
):
    monkeypatch.setattr(skmlp._stamp, "__version__", "0.0.1")
    path = save(fitted, tmp_path / f"old{suffix}")
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning, match="saved by skmlp 0.0.1") as rec:
        loaded = load(path)
    [warning] = [w.message for w in rec if w.category is InconsistentVersionWarning]
    assert warning.original_version == "0.0.1"
    assert warning.current_version == skmlp.__version__
    assert warning.estimator_name == "ScratchMLPClassifier"
    _assert_same_model(fitted, loaded, digits[0])


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
def test_model_of_this_version_loads_silently(tmp_path, fitted, suffix):
    path = save(fitted, tmp_path / f"m{suffix}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(path)


def test_state_without_version_warns_unknown(fitted):
    # As the first versions saved it: no version, no checksum.
    state = fitted.__getstate__()
    del state["_skmlp_version"], state["_skmlp_checksum"]
    clf = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    with pytest.warns(InconsistentVersionWarning, match="saved by skmlp unknown"):
        clf.__setstate__(state)


def _restamped(state):
    """``state`` with a checksum that matches it, as if it had been saved so."""
    state = {k: v for k, v in state.items() if k != "_skmlp_checksum"}
    return {**state, "_skmlp_checksum": _stamp.state_checksum(state)}


def _drop(name):
    return lambda clf: delattr(clf, name)


def _set(name, value):
    return lambda clf: setattr(clf, name, value(clf) if callable(value) else value)


def _poison_weight(clf):
    clf.coefs_[-1][0, 0] = np.nan


DAMAGE = {
    "no coefs_": (_drop("coefs_"), r"fitted attributes \['coefs_'\] are missing"),
    "no classes_": (_drop("classes_"), r"\['classes_'\] are missing"),
    "no parameter": (_drop("eta"), r"parameters \['eta'\] are missing"),
    "coefs_ not a list": (_set("coefs_", "garbage"), "not two lists"),
    "layer missing": (
        _set("intercepts_", lambda c: c.intercepts_[:-1]),
        "equal length",
    ),
    "wrong width": (
        _set("coefs_", lambda c: [c.coefs_[0][:, :2], *c.coefs_[1:]]),
        "layer 0",
    ),
    "int weights": (
        _set("coefs_", lambda c: [W.astype(int) for W in c.coefs_]),
        "float matrix",
    ),
    "nan weight": (_poison_weight, "not all finite"),
    "features": (_set("n_features_in_", 99), "do not chain from n_features_in_=99"),
    "one class": (_set("classes_", lambda c: c.classes_[:1]), "at least 2 labels"),
    "outputs": (_set("classes_", lambda c: c.classes_[:2]), "output unit"),
    "out_activation_": (_set("out_activation_", "sigmoid"), "out_activation_"),
    "n_layers_": (_set("n_layers_", 7), "n_layers_"),
}


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_state_fails_clearly_on_load(tmp_path, fitted, damage, suffix):
    clf = pickle.loads(pickle.dumps(fitted))  # a copy we may damage
    apply, message = DAMAGE[damage]
    apply(clf)
    path = save(clf, tmp_path / f"damaged{suffix}")
    with pytest.raises(ValueError, match="Cannot restore a ScratchMLP") as exc:
        load(path)
    assert "damaged" in str(exc.value) and path.name in str(exc.value)
    with pytest.raises(ValueError, match=message):
        pickle.loads(pickle.dumps(clf))


def test_state_that_is_no_dict_is_a_type_error():
    clf = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    with pytest.raises(TypeError, match="expected a dict"):
        clf.__setstate__([("coefs_", [])])


def test_damaged_state_of_another_version_names_both_versions(fitted, monkeypatch):
    state = fitted.__getstate__()
    state["_skmlp_version"] = "9.9"
    del state["intercepts_"]
    state = _restamped(state)
    clf = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    with (
        pytest.warns(InconsistentVersionWarning),
        pytest.raises(ValueError, match=r"saved by skmlp 9\.9; this is skmlp"),
    ):
        clf.__setstate__(state)


# --------------------------------------------------------------------------
# The checksum: files damaged after saving are refused


def _edited(tmp_path, data, at, value):
    edited = bytearray(data)
    edited[at] = value
    return _write_bytes(tmp_path / "edited.joblib", bytes(edited))


def test_bit_flip_in_a_weight_is_refused(tmp_path, fitted):
    data = save(fitted, tmp_path / "m.joblib").read_bytes()
    weights = fitted.coefs_[0]
    at = data.find(weights.tobytes())
    assert at > 0  # uncompressed: the raw weights are in the file
    at += 5 * weights.itemsize + 7  # top byte of the sixth weight (little-endian)
    path = _edited(tmp_path, data, at, data[at] ^ 0b0100_0000)
    with pytest.raises(ValueError, match="modified or damaged after saving"):
        load(path)


def test_activation_changed_in_the_file_is_refused(tmp_path, fitted):
    data = save(fitted, tmp_path / "m.joblib").read_bytes()
    assert data.count(b"relu") == 1
    path = _write_bytes(tmp_path / "tanh.joblib", data.replace(b"relu", b"tanh"))
    with pytest.raises(ValueError, match="checksum stored with it") as exc:
        load(path)
    assert "tanh.joblib" in str(exc.value)


def test_random_byte_edits_never_load_a_different_model(tmp_path, digits):
    X, y = digits
    clf = _small().fit(X, y)
    data = save(clf, tmp_path / "m.joblib").read_bytes()
    checksum = clf.__getstate__().get("_skmlp_checksum")
    rng = np.random.default_rng(0)
    refused = 0
    for _ in range(40):
        at = int(rng.integers(len(data)))
        path = _edited(tmp_path, data, at, (data[at] + int(rng.integers(1, 256))) % 256)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loaded = load(path)
        except ValueError:
            refused += 1
            continue
        # An edit that loads (one inside pickle's bookkeeping) changed nothing.
        _assert_same_model(clf, loaded, X)
        assert loaded.__getstate__().get("_skmlp_checksum") == checksum, at
    assert refused >= 30


def test_state_without_checksum_loads_with_the_version_warning(fitted, digits):
    state = fitted.__getstate__()
    del state["_skmlp_checksum"]
    state["_skmlp_version"] = "0.0.9"
    clf = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    with pytest.warns(InconsistentVersionWarning, match="saved by skmlp 0.0.9"):
        clf.__setstate__(state)
    _assert_same_model(fitted, clf, digits[0])


def test_unknown_stamp_is_refused(fitted):
    # What a damaged name of the checksum entry looks like.
    state = fitted.__getstate__()
    state["_skmlp_checksuM"] = state.pop("_skmlp_checksum")
    clf = ScratchMLPClassifier.__new__(ScratchMLPClassifier)
    with pytest.raises(ValueError, match=r"unknown entries \['_skmlp_checksuM'\]"):
        clf.__setstate__(state)


def test_checksum_is_canonical():
    matrix = np.arange(6.0).reshape(2, 3)
    state = {"b": [1, 2.5, "x", None, True], "a": matrix, "c": {"k": (1,)}}
    # Same values: keys in another order, Fortran order, NumPy scalars.
    same = {
        "c": {"k": (np.int64(1),)},
        "a": np.asfortranarray(matrix),
        "b": [np.int32(1), np.float64(2.5), np.str_("x"), None, np.True_],
    }
    assert state_checksum(same) == state_checksum(state)
    assert state_checksum(state).startswith("sha256:")


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(a=s["a"].reshape(3, 2)),
        lambda s: s.update(a=s["a"].astype(np.float32)),
        lambda s: s.update(a=np.nextafter(s["a"], np.inf)),
        lambda s: s["b"].__setitem__(4, 1),  # True -> 1
        lambda s: s["b"].__setitem__(0, 1.0),  # 1 -> 1.0
        lambda s: s["b"].__setitem__(2, b"x"),
        lambda s: s.update(b=tuple(s["b"])),
        lambda s: s["c"].update(k=[1]),
        lambda s: s.update(C=s.pop("c")),
        lambda s: s.update(d=None),
        lambda s: s.update(o=np.array(["u", "w"], dtype=object)),
        lambda s: s.update(r=np.random.RandomState(1)),
    ],
)
def test_checksum_covers_every_value(change):
    def state():
        return {
            "a": np.arange(6.0).reshape(2, 3),
            "b": [1, 2.5, "x", None, True],
            "c": {"k": (1,)},
            "o": np.array(["u", "v"], dtype=object),
            "r": np.random.RandomState(0),
        }

    changed = state()
    change(changed)
    assert state_checksum(changed) != state_checksum(state())


# --------------------------------------------------------------------------
# load: clear errors for files that are not models


def _write_bytes(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", [".joblib", ".joblib.gz", ".skops"])
@pytest.mark.parametrize("keep", [0.5, 0.1, 0.0])
def test_truncated_file_fails_clearly(tmp_path, fitted, suffix, keep):
    data = save(fitted, tmp_path / f"full{suffix}").read_bytes()
    path = _write_bytes(tmp_path / f"cut{suffix}", data[: int(len(data) * keep)])
    kind = "skops" if suffix == ".skops" else "joblib"
    with pytest.raises(ValueError, match=f"Cannot load .*cut{suffix} as a {kind} file"):
        load(path)


@pytest.mark.parametrize("suffix", [".joblib", ".pkl", ".skops"])
def test_foreign_file_fails_clearly(tmp_path, suffix):
    path = _write_bytes(tmp_path / f"notes{suffix}", b"label,pixel0\n5,0\n")
    with pytest.raises(ValueError, match=r"notes\.\w+ .*Expected") as exc:
        load(path)
    assert ("zip archive" in str(exc.value)) == (suffix == ".skops")


def test_skops_file_with_joblib_suffix_and_back(tmp_path, fitted):
    skops_bytes = save(fitted, tmp_path / "m.skops").read_bytes()
    joblib_bytes = save(fitted, tmp_path / "m.joblib").read_bytes()
    with pytest.raises(ValueError, match="use the suffix .skops for skops files"):
        load(_write_bytes(tmp_path / "wrong.joblib", skops_bytes))
    with pytest.raises(ValueError, match="such as .joblib, for joblib files"):
        load(_write_bytes(tmp_path / "wrong.skops", joblib_bytes))


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="empty.joblib as a joblib file: the file is"):
        load(_write_bytes(tmp_path / "empty.joblib", b""))
    with pytest.raises(FileNotFoundError, match="missing.joblib"):
        load(tmp_path / "missing.joblib")


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
def test_unreadable_file_is_a_permission_error(tmp_path, monkeypatch, fitted, suffix):
    """Mode 000, simulated: root, as in CI, reads such files anyway."""
    path = save(fitted, tmp_path / f"m{suffix}")
    real_open = builtins.open

    def refusing_open(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and os.fspath(file) == str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(PermissionError, match="permission denied") as exc:
        load(path)
    assert exc.value.filename == str(path)
    assert "damaged" not in str(exc.value)


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root reads mode-000 files"
)
def test_mode_000_file_is_a_permission_error(tmp_path, fitted):
    path = save(fitted, tmp_path / "m.joblib")
    path.chmod(0)
    with pytest.raises(PermissionError, match=re.escape(str(path))):
        load(path)


@pytest.mark.parametrize(
    "trusted, message",
    [
        ("one.Type", r"not the string 'one.Type': pass trusted=\['one.Type'\]"),
        (True, "list of type names, .*got True"),
        ([TRUSTED_TYPES[0], 3], "type names \\(str\\).*got 3 of type int"),
    ],
)
@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
def test_trusted_is_validated_first(tmp_path, fitted, trusted, message, suffix):
    path = save(fitted, tmp_path / f"m{suffix}")
    with pytest.raises(TypeError, match=message):
        load(path, trusted=trusted)
    with pytest.raises(TypeError, match=message):
        load(tmp_path / f"missing{suffix}", trusted=trusted)


def test_trusted_accepts_any_collection_of_names(tmp_path, fitted):
    path = save(fitted, tmp_path / "m.skops")
    for trusted in (tuple(TRUSTED_TYPES), set(TRUSTED_TYPES), iter(TRUSTED_TYPES)):
        assert load(path, trusted=trusted).n_iter_ == fitted.n_iter_


# --------------------------------------------------------------------------
# save: formats, permissions, atomicity


@pytest.mark.parametrize(
    "name, magic",
    [
        ("m.joblib", b"\x80"),  # a plain pickle stream
        ("m.pkl", b"\x80"),
        ("m.joblib.gz", b"\x1f\x8b"),
        ("m.joblib.xz", b"\xfd7zXZ"),
        ("m.joblib.bz2", b"BZh"),
        ("m.SKOPS", b"PK\x03\x04"),  # a zip archive, whatever the case
    ],
)
def test_format_follows_the_suffix(tmp_path, fitted, digits, name, magic):
    path = save(fitted, tmp_path / name)
    assert path == tmp_path / name
    assert path.read_bytes().startswith(magic)
    _assert_same_model(fitted, load(path), digits[0])


def test_compress_argument(tmp_path, fitted):
    path = save(fitted, tmp_path / "m.joblib", compress=("zlib", 3))
    assert path.read_bytes()[:1] == b"x"  # zlib header
    assert load(path).n_iter_ == fitted.n_iter_


def _save_with_umask(obj, path, umask):
    previous = os.umask(umask)
    try:
        return save(obj, path)
    finally:
        os.umask(previous)


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_new_file_gets_ordinary_permissions(tmp_path, fitted, umask, mode):
    path = _save_with_umask(fitted, tmp_path / "m.joblib", umask)
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_replaced_file_keeps_its_permissions(tmp_path, fitted, mode):
    path = save(fitted, tmp_path / "m.joblib")
    path.chmod(mode)
    _save_with_umask(fitted, path, 0o022)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_read_only_target_is_refused(tmp_path, digits):
    X, y = digits
    path = save(_small().fit(X, y), tmp_path / "m.joblib")
    before = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="m.joblib: the file is read-only") as exc:
        save(_small(random_state=1).fit(X, y), path)
    assert exc.value.filename == str(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


def test_longest_legal_file_name(tmp_path, fitted, digits):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    name = "m" * (min(limit, 255) - len(".joblib")) + ".joblib"
    path = save(fitted, tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    _assert_same_model(fitted, load(path), digits[0])


def test_empty_path_and_directories_are_refused(tmp_path, monkeypatch, fitted):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="empty path"):
        save(fitted, "")
    for target in (".", tmp_path, "sub"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(IsADirectoryError, match="it is a directory") as exc:
            save(fitted, target)
        assert exc.value.filename == str(target)
    with pytest.raises(ValueError, match="ending in a separator"):
        save(fitted, "new/")
    assert os.listdir(tmp_path) == ["sub"] and os.listdir(tmp_path / "sub") == []


@pytest.mark.parametrize(
    "name", ["model.skops.gz", "model.skops.joblib", "model.SKOPS.xz"]
)
def test_names_that_say_skops_must_end_in_skops(tmp_path, fitted, name):
    with pytest.raises(ValueError, match=r"Use model\.skops .*model\.joblib\.gz"):
        save(fitted, tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_into_missing_directory(tmp_path, fitted):
    with pytest.raises(FileNotFoundError, match="directory .*nowhere does not exist"):
        save(fitted, tmp_path / "nowhere" / "m.joblib")


def _interrupting_writer(exception):
    """A _write that writes half of the real bytes, then fails."""
    real_write = persistence._write

    def write(obj, fh, path, compress):
        import io

        buffer = io.BytesIO()
        real_write(obj, buffer, path, compress)
        data = buffer.getvalue()
        fh.write(data[: len(data) // 2])
        fh.flush()
        raise exception

    return write


@pytest.mark.parametrize("suffix", [".joblib", ".skops"])
@pytest.mark.parametrize(
    "exception", [KeyboardInterrupt(), OSError(28, "No space left on device")]
)
def test_interrupted_save_keeps_the_previous_file(
    tmp_path, monkeypatch, digits, suffix, exception
):
    X, y = digits
    old, new = _small().fit(X, y), _small(random_state=1).fit(X, y)
    path = save(old, tmp_path / f"model{suffix}")
    before = path.read_bytes()
    monkeypatch.setattr(persistence, "_write", _interrupting_writer(exception))
    with pytest.raises(type(exception)):
        save(new, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind
    monkeypatch.undo()
    _assert_same_model(old, load(path), X)


def test_interrupted_first_save_leaves_no_file(tmp_path, monkeypatch, fitted):
    writer = _interrupting_writer(KeyboardInterrupt())
    monkeypatch.setattr(persistence, "_write", writer)
    with pytest.raises(KeyboardInterrupt):
        save(fitted, tmp_path / "model.joblib")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_save_keeps_the_file_and_the_next_save_cleans_up(tmp_path, digits):
    """A process killed mid-write (no cleanup runs) cannot damage the target, and
    the temporary file it leaves is removed by the next save of that target."""
    X, y = digits
    old = _small().fit(X, y)
    path = save(old, tmp_path / "model.joblib")
    before = path.read_bytes()
    script = textwrap.dedent(
        """
        import io, os, signal, sys
        import numpy as np
        from skmlp import ScratchMLPClassifier, persistence

        real_write = persistence._write

        def write(obj, fh, path, compress):
            buffer = io.BytesIO()
            real_write(obj, buffer, path, compress)
            fh.write(buffer.getvalue()[:1000])
            fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        persistence._write = write
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(30, 64)), np.arange(30) % 2
        clf = ScratchMLPClassifier(hidden_layers=(8,), epochs=1).fit(X, y)
        persistence.save(clf, sys.argv[1])
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stderr=subprocess.PIPE
    )
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, stderr.decode()
    assert path.read_bytes() == before
    _assert_same_model(old, load(path), X)

    # Hidden, short, and named after the target and the killed process ...
    [left] = [name for name in os.listdir(tmp_path) if name != path.name]
    assert left.startswith(".model.joblib.") and len(left) < 80
    assert str(child.pid) in left
    # ... and removed by the next save of the target.
    save(old, path)
    assert os.listdir(tmp_path) == [path.name]
    _assert_same_model(old, load(path), X)

    # Not removed: the file of a writer that still runs (pid 1), another target's.
    prefix = _atomic.temporary_prefix(path)
    assert left.startswith(prefix)
    running = f"{prefix}1.0123abcd.skmlp-tmp"
    other = f"{_atomic.temporary_prefix(tmp_path / 'other.joblib')}{child.pid}"
    other += ".0123abcd.skmlp-tmp"
    for name in (running, other):
        (tmp_path / name).write_bytes(b"partial")
    save(old, path)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, running, other])
