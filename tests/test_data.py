"""chainrule.data: datasets, the DataLoader, the split helper, the digits and the IDX/MNIST reader.

The IDX files are built byte by byte here (in tmp_path); nothing is downloaded.
"""

from __future__ import annotations

import gzip
import struct
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data


# ---------------------------------------------------------------- datasets and loading
def test_tensor_dataset_rows_and_length_checks():
    ds = data.TensorDataset(np.arange(12.0).reshape(6, 2), cr.tensor(np.arange(6)))
    assert len(ds) == 6
    x, y = ds[4]
    np.testing.assert_array_equal(x, [8.0, 9.0])
    assert y == 4
    with pytest.raises(ValueError, match="same first dimension"):
        data.TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        data.TensorDataset()


def test_loader_batches_in_order_with_and_without_drop_last():
    ds = data.TensorDataset(np.arange(10.0).reshape(10, 1), np.arange(10))
    loader = data.DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert isinstance(x, cr.Tensor) and x.shape == (4, 1) and not x.requires_grad
    dropped = data.DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(y) for _, y in dropped] == [4, 4]
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="len"):
        data.DataLoader(5)


def test_seeded_shuffling_repeats_across_loaders_and_changes_across_epochs():
    ds = data.TensorDataset(np.arange(50))

    def epochs(loader, n):
        return [np.concatenate([b[0].numpy() for b in loader]) for _ in range(n)]

    first = epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=3), 3)
    second = epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=3), 3)
    other = epochs(data.DataLoader(ds, batch_size=8, shuffle=True, seed=4), 1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # a new order every epoch
    assert not np.array_equal(first[0], other[0])
    for order in first:
        assert sorted(order.tolist()) == list(range(50))  # every sample exactly once
    assert not np.array_equal(first[0], np.arange(50))


def test_unseeded_shuffling_follows_chainrule_random_seed():
    ds = data.TensorDataset(np.arange(20))
    cr.random.seed(5)
    a = [b[0].tolist() for b in data.DataLoader(ds, batch_size=5, shuffle=True)]
    cr.random.seed(5)
    b = [b[0].tolist() for b in data.DataLoader(ds, batch_size=5, shuffle=True)]
    assert a == b


class Pairs(data.Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(2, float(i)), "y": i * 10}


def test_custom_datasets_are_collated_sample_by_sample():
    batches = list(data.DataLoader(Pairs(), batch_size=2))
    assert len(batches) == 3
    assert batches[0]["x"].shape == (2, 2)
    assert batches[2]["y"].tolist() == [40]
    summed = list(data.DataLoader(Pairs(), batch_size=5, collate_fn=lambda s: sum(d["y"] for d in s)))
    assert summed == [100]
    with pytest.raises(NotImplementedError):
        len(data.Dataset())


def test_train_test_split_is_deterministic_complete_and_stratified():
    x = np.arange(100).reshape(100, 1)
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    parts = data.train_test_split(x, y, test_size=0.2, seed=1, stratify=y)
    x_tr, x_te, y_tr, y_te = parts
    again = data.train_test_split(x, y, test_size=0.2, seed=1, stratify=y)
    for a, b in zip(parts, again):
        np.testing.assert_array_equal(a, b)
    assert len(x_te) == 20 and len(x_tr) == 80
    assert sorted(np.concatenate([x_tr, x_te]).ravel().tolist()) == list(range(100))
    np.testing.assert_array_equal(y[x_te.ravel()], y_te)  # rows stay paired
    assert np.bincount(y_te).tolist() == [10, 6, 4]
    plain = data.train_test_split(x, test_size=0.25, seed=0)
    assert len(plain) == 2 and len(plain[1]) == 25
    other = data.train_test_split(x, test_size=0.25, seed=1)
    assert not np.array_equal(plain[1], other[1])
    with pytest.raises(ValueError, match="test_size"):
        data.train_test_split(x, test_size=1.5)
    with pytest.raises(ValueError, match="same first dimension"):
        data.train_test_split(x, y[:10])


# ---------------------------------------------------------------- digits
def test_load_digits_scales_images_and_labels():
    images, labels = data.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert sorted(set(labels.tolist())) == list(range(10))
    flat, _ = data.load_digits(flatten=True, dtype=np.float64)
    assert flat.shape == (1797, 64) and flat.dtype == np.float64
    np.testing.assert_allclose(flat.reshape(1797, 8, 8), images, atol=1e-7)


def test_load_digits_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install chainrule\[train\]"):
        data.load_digits()


# ---------------------------------------------------------------- IDX / MNIST
def idx_bytes(type_code, shape, payload):
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def write(path, raw, compress=False):
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def test_read_idx_plain_and_gzipped_files_built_byte_by_byte(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(0x08, images.shape, images.tobytes())
    np.testing.assert_array_equal(data.read_idx(write(tmp_path / "a", raw)), images)
    np.testing.assert_array_equal(data.read_idx(write(tmp_path / "a.gz", raw, compress=True)), images)
    values = np.array([1.5, -2.25], dtype=">f4")
    floats = data.read_idx(write(tmp_path / "f", idx_bytes(0x0D, (2,), values.tobytes())))
    assert floats.dtype == np.float32 and floats.tolist() == [1.5, -2.25]
    ints = np.array([[70000, -3]], dtype=">i4")
    got = data.read_idx(write(tmp_path / "i", idx_bytes(0x0C, (1, 2), ints.tobytes())))
    assert got.tolist() == [[70000, -3]]


def test_write_idx_round_trips_every_type(tmp_path):
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        arr = (np.arange(6) - 2).astype(dtype).reshape(3, 2)
        for compress in (False, True):
            path = tmp_path / f"x-{np.dtype(dtype).name}-{compress}"
            data.write_idx(path, arr, compress=compress)
            back = data.read_idx(path)
            assert back.dtype == arr.dtype
            np.testing.assert_array_equal(back, arr)
    with pytest.raises(TypeError, match="IDX cannot hold"):
        data.write_idx(tmp_path / "bad", np.zeros(2, dtype=np.int64))


def test_read_idx_rejects_corrupt_files_clearly(tmp_path):
    with pytest.raises(data.IDXFormatError, match="not an IDX file"):
        data.read_idx(write(tmp_path / "text", b"hello world"))
    truncated = idx_bytes(0x08, (2, 3), bytes(5))
    with pytest.raises(data.IDXFormatError, match=r"truncated or corrupt"):
        data.read_idx(write(tmp_path / "short", truncated))
    with pytest.raises(data.IDXFormatError, match="truncated header"):
        data.read_idx(write(tmp_path / "head", bytes([0, 0, 8, 3, 0, 0])))
    with pytest.raises(data.IDXFormatError, match="cannot read"):
        data.read_idx(write(tmp_path / "gz", b"\x1f\x8b not really gzip"))


def make_mnist(folder, n_train=6, n_test=4, compress=False, side=28):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, side, side), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, side, side), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for key, arr in arrays.items():
        code = 0x08
        name = data.MNIST_FILES[key] + (".gz" if compress else "")
        write(folder / name, idx_bytes(code, arr.shape, arr.tobytes()), compress=compress)
    return arrays


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzipped"])
def test_load_mnist_reads_the_four_files(tmp_path, compress):
    arrays = make_mnist(tmp_path / "mnist", compress=compress)
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path / "mnist")
    assert x_train.shape == (6, 28, 28) and x_train.dtype == np.float32
    np.testing.assert_allclose(x_train, arrays["train_images"] / 255.0, rtol=1e-6)
    assert y_train.dtype == np.int64 and y_train.tolist() == [0, 1, 2, 3, 4, 5]
    assert x_test.shape == (4, 28, 28) and y_test.tolist() == [0, 1, 2, 3]


def test_load_mnist_says_which_files_are_expected_where(tmp_path):
    folder = tmp_path / "mnist"
    make_mnist(folder)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(folder)
    message = str(info.value)
    assert "missing t10k-labels-idx1-ubyte" in message
    assert str(folder.resolve()) in message
    for name in data.MNIST_FILES.values():
        assert name in message
    with pytest.raises(FileNotFoundError, match="not a folder"):
        data.load_mnist(tmp_path / "nowhere")


def test_load_mnist_checks_counts_and_labels(tmp_path):
    folder = tmp_path / "mnist"
    make_mnist(folder)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    write(folder / "train-labels-idx1-ubyte", idx_bytes(0x08, labels.shape, labels.tobytes()))
    with pytest.raises(data.IDXFormatError, match="6 images but .* 3 labels"):
        data.load_mnist(folder)
    labels = np.array([1, 2, 3, 4, 5, 12], dtype=np.uint8)
    write(folder / "train-labels-idx1-ubyte", idx_bytes(0x08, labels.shape, labels.tobytes()))
    with pytest.raises(data.IDXFormatError, match="outside 0..9"):
        data.load_mnist(folder)
