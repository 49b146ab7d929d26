"""Data sets: built-in offline sets and the data.npz convention with its errors."""

import numpy as np
import pytest

from lrf_edge.data import digits, fit_to, load_data
from lrf_edge.errors import LrfError


def test_mnist5k_is_a_fixed_real_split(mnist):
    assert mnist.x_train.shape == (4000, 28, 28, 1) and mnist.x_test.shape == (1000, 28, 28, 1)
    assert 0.0 <= mnist.x_train.min() and mnist.x_train.max() <= 1.0
    assert set(np.unique(mnist.y_test)) == set(range(10))  # shuffled, not sorted by class
    again = load_data("mnist5k")
    np.testing.assert_array_equal(again.y_test, mnist.y_test)


def test_digits():
    d = digits()
    assert d.x_train.shape == (1437, 8, 8, 1) and d.x_test.shape == (360, 8, 8, 1)


def test_npz_round_trip_and_autoencoder_without_labels(tmp_path):
    x = np.random.default_rng(0).random((10, 4)).astype("f4")
    np.savez(tmp_path / "ae.npz", x_train=x, x_test=x[:3])
    d = load_data(str(tmp_path / "ae.npz"))
    assert d.y_train is None and d.input_shape == (4,)


@pytest.mark.parametrize("arrays, message", [
    ({"x_train": np.zeros((4, 2))}, "lacks x_test"),
    ({"x_train": np.zeros((4, 2)), "x_test": np.zeros((2, 2)), "y_train": np.zeros(3)},
     "y_train has 3 rows but x_train has 4"),
    ({"x_train": np.zeros((4, 2)), "x_test": np.zeros((2, 3))},
     "x_train samples are \\(2,\\) but x_test samples are \\(3,\\)"),
])
def test_bad_npz_files_are_named(tmp_path, arrays, message):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(LrfError, match=message):
        load_data(str(tmp_path / "d.npz"))


def test_missing_or_unreadable_data(tmp_path):
    with pytest.raises(LrfError, match="does not exist .*mnist5k"):
        load_data(str(tmp_path / "none.npz"))
    (tmp_path / "junk.npz").write_text("junk")
    with pytest.raises(LrfError, match="not a readable .npz"):
        load_data(str(tmp_path / "junk.npz"))


def test_fit_to_reshapes_same_size_and_refuses_other_sizes(mnist):
    flat = fit_to(mnist, (784,))
    assert flat.x_train.shape == (4000, 784)
    with pytest.raises(LrfError, match="shape \\(28, 28, 1\\) but the model expects \\(64,\\)"):
        fit_to(mnist, (64,))


def test_time_series_sets_from_the_pinned_aeon_wheel(tmp_path, monkeypatch):
    from lrf_edge.data import load_data
    from lrf_edge.timeseries import parse_ts, wheel_path
    if not wheel_path().is_file():
        pytest.skip("the aeon wheel is not in the cache (scripts/setup.sh downloads it)")
    bm, jv = load_data("basicmotions"), load_data("japanesevowels")
    assert (bm.x_train.shape, bm.x_test.shape) == ((40, 100, 6), (40, 100, 6))
    assert (jv.x_train.shape, jv.x_test.shape) == ((270, 25, 12), (370, 25, 12))
    assert sorted(set(bm.y_train)) == [0, 1, 2, 3] and jv.y_test.max() == 8
    x, y = parse_ts("@classLabel true b a\n@data\n1,2,3:4,5,6:a\n7,8,9:1,2,3:b\n")
    assert x.shape == (2, 3, 2) and x[0, :, 1].tolist() == [4, 5, 6] and y.tolist() == [1, 0]
    monkeypatch.setenv("LRF_EDGE_CACHE", str(tmp_path))
    with pytest.raises(LrfError, match="setup.sh"):
        load_data("basicmotions")
