"""``skmlp show``: random training digits, the same ones for the same seed."""

import re

from skmlp import load_mnist_sample


def shown(stdout):
    """The (index, label) rows of show's table."""
    return re.findall(r"^\s*(\d+)\s+(\d)\s*$", stdout, re.M)


def test_show(run_cli, tmp_path, assert_png):
    _, seeded, _ = run_cli("show", "--sample", "--n", "7", "--seed", "3",
                           "--out", tmp_path / "a")
    _, again, _ = run_cli("show", "--sample", "--n", "7", "--seed", "3",
                          "--out", tmp_path / "b")
    _, unseeded, _ = run_cli("show", "--sample", "--n", "7",
                             "--out", tmp_path / "c")
    _, other, _ = run_cli("show", "--sample", "--n", "7",
                          "--out", tmp_path / "d")
    assert len(shown(seeded)) == 7
    assert shown(seeded) == shown(again)
    assert shown(unseeded) != shown(other)  # a new draw on every run
    (x_train, y_train), _ = load_mnist_sample()
    for index, label in shown(seeded):
        assert y_train[int(index)] == int(label)
    assert_png(tmp_path / "a" / "digits.png")


def test_show_more_images_than_there_are(run_cli, tmp_path):
    status, _, stderr = run_cli("show", "--sample", "--n", "5001",
                                "--out", tmp_path / "digits")
    assert status == 2 and "at most 5000 images" in stderr
    assert not (tmp_path / "digits").exists()
