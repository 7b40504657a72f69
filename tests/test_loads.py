"""Loads are bounded and say what is wrong: hostile .npz and IDX files built here byte by byte.

Every file is crafted in tmp_path with zipfile, gzip and struct. The checks: a loader refuses
with chainrule's own error naming the file (never a MemoryError, a raw NumPy error or a hang),
and it decides before reading or inflating the data (peak memory stays far below the data).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import signal
import struct
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

from chainrule import data, nn
from chainrule import torch as ctorch
from chainrule.cli import main

MB = 1 << 20
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo") or sys.platform == "win32", reason="needs os.mkfifo")


def npy_header(shape, descr="<f8", fortran_order=False):
    """The bytes NumPy writes before an array's data, for any claimed shape."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": fortran_order, "shape": shape})
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return path


@contextlib.contextmanager
def peak_memory():
    """Yields a one-item list that holds, after the block, the peak traced allocation in bytes."""
    result = [0]
    tracemalloc.start()
    try:
        yield result
    finally:
        result[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@contextlib.contextmanager
def deadline(seconds=5.0):
    """Turns a call that blocks (opening a FIFO nobody writes to) into a TimeoutError."""

    def on_alarm(signum, frame):
        raise TimeoutError(f"the call blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- .npz: sizes
@pytest.mark.parametrize("loader", [nn.load, ctorch.load], ids=["nn.load", "torch.load"])
def test_a_header_claiming_a_trillion_floats_is_refused_before_allocating(tmp_path, loader):
    path = write_zip(tmp_path / "claims.npz", {"w.npy": npy_header((10**12,)) + bytes(8)})
    assert path.stat().st_size < 400
    with pytest.raises(nn.StateFileError) as info:
        loader(path)
    message = str(info.value)
    assert "claims.npz" in message and "'w.npy'" in message
    assert "(1000000000000,)" in message and "max_bytes" in message
    # Under a limit that would allow it, the header still disagrees with the member's 8 bytes.
    with pytest.raises(nn.StateFileError, match=r"claims\.npz.*holds 8 bytes after the header"):
        loader(path, max_bytes=10**13)


@pytest.mark.parametrize("loader", [nn.load, ctorch.load], ids=["nn.load", "torch.load"])
def test_a_compressed_member_inflating_past_max_bytes_is_refused_without_inflating(tmp_path, loader):
    zeros = np.zeros(2 * MB, np.float64)  # 16 MiB of data, a few KiB compressed
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, w=zeros)
    assert path.stat().st_size < 100_000
    with peak_memory() as peak, pytest.raises(nn.StateFileError) as info:
        loader(path, max_bytes=MB)
    assert "bomb.npz" in str(info.value) and "max_bytes=1,048,576" in str(info.value)
    assert peak[0] < MB  # decided from the sizes the archive declares, not by inflating it
    np.testing.assert_array_equal(nn.load(path, max_bytes=20 * MB)["w"], zeros)


def test_the_default_limit_is_two_gib_of_declared_uncompressed_data(tmp_path):
    assert nn.serialization.DEFAULT_MAX_BYTES == 2 * 1024**3
    payload = npy_header((4,)) + np.arange(4.0).tobytes()
    raw = bytearray(write_zip(tmp_path / "w.npz", {"w.npy": payload}).read_bytes())
    # Make the archive declare 3 GiB for the member (local header and central directory).
    claimed = struct.pack("<I", 3 * 1024**3)
    local, central = raw.index(b"PK\x03\x04"), raw.index(b"PK\x01\x02")
    raw[local + 22 : local + 26] = claimed
    raw[central + 24 : central + 28] = claimed
    (tmp_path / "w.npz").write_bytes(bytes(raw))
    with pytest.raises(nn.StateFileError, match=r"w\.npz: its arrays take 3,221,225,472 bytes.*max_bytes=2,147,483,648"):
        nn.load(tmp_path / "w.npz")


def test_torch_load_does_not_copy_the_arrays_a_second_time(tmp_path):
    weights = np.arange(2 * MB, dtype=np.float64)  # 16 MiB
    ctorch.save({"w": ctorch.tensor(weights)}, tmp_path / "big.pt")
    with peak_memory() as peak:
        state = ctorch.load(tmp_path / "big.pt")
    np.testing.assert_array_equal(state["w"].numpy(), weights)
    assert peak[0] < 1.5 * weights.nbytes  # one array plus read buffers, not two arrays


def test_fortran_ordered_and_big_endian_arrays_read_back_exactly(tmp_path):
    matrix = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    swapped = np.arange(5, dtype=">i4")
    np.savez(tmp_path / "orders.npz", m=matrix, s=swapped, t=np.array(["a", "bc"]))
    state = nn.load(tmp_path / "orders.npz")
    np.testing.assert_array_equal(state["m"], matrix)
    assert state["s"].dtype == np.dtype("int32") and state["s"].tolist() == [0, 1, 2, 3, 4]
    assert state["t"].tolist() == ["a", "bc"]


# ---------------------------------------------------------------- .npz: foreign and damaged files
@pytest.mark.parametrize("loader", [nn.load, ctorch.load], ids=["nn.load", "torch.load"])
def test_a_pytorch_checkpoint_is_named_and_the_conversion_explained(tmp_path, loader):
    path = write_zip(tmp_path / "model.pt", {
        "archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3\n",
        "archive/byteorder": b"little", "archive/data/0": bytes(16),
    })  # fmt: skip
    with pytest.raises(nn.StateFileError) as info:
        loader(path)
    message = str(info.value)
    assert "model.pt" in message and "PyTorch checkpoint" in message
    assert "numpy.savez" in message and ".numpy()" in message
    # PyTorch's legacy format is a bare pickle stream: named as such, and never unpickled.
    (tmp_path / "legacy.pt").write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    with pytest.raises(nn.StateFileError, match=r"legacy\.pt: it is a Python pickle.*numpy\.savez"):
        loader(tmp_path / "legacy.pt")


def test_members_that_are_not_npy_arrays_are_refused_not_returned_as_bytes(tmp_path):
    path = write_zip(tmp_path / "mixed.npz", {"w.npy": npy_header((1,)) + bytes(8), "notes.txt": b"hello"})
    with pytest.raises(nn.StateFileError, match=r"mixed\.npz.*'notes\.txt', which is not a \.npy array"):
        nn.load(path)
    path = write_zip(tmp_path / "fake.npz", {"w.npy": b"not an array at all"})
    with pytest.raises(nn.StateFileError, match=r"fake\.npz.*'w\.npy' is not a \.npy array"):
        nn.load(path)


def test_a_damaged_zip_is_called_a_damaged_zip_not_pickled_objects(tmp_path):
    good = nn.save({"w": np.arange(40.0)}, tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) - 30])
    (tmp_path / "garbled.npz").write_bytes(b"PK\x07\x08" + bytes(range(200)))
    for name in ("cut.npz", "garbled.npz"):
        with pytest.raises(nn.StateFileError) as info:
            nn.load(tmp_path / name)
        message = str(info.value)
        assert name in message and "not a valid .npz (zip) archive" in message
        assert "pickle" not in message


@posix_only
@pytest.mark.parametrize("loader", [nn.load, ctorch.load], ids=["nn.load", "torch.load"])
def test_a_fifo_is_refused_without_blocking(tmp_path, loader):
    os.mkfifo(tmp_path / "pipe.npz")
    with deadline(), pytest.raises(nn.StateFileError, match=r"pipe\.npz is a FIFO \(named pipe\), not a file"):
        loader(tmp_path / "pipe.npz")


@pytest.mark.parametrize("loader", [nn.load, ctorch.load], ids=["nn.load", "torch.load"])
def test_a_directory_is_refused(tmp_path, loader):
    (tmp_path / "ckpt.npz").mkdir()
    with pytest.raises(IsADirectoryError, match=r"ckpt\.npz is a directory"):
        loader(tmp_path / "ckpt.npz")


def test_a_file_object_that_cannot_seek_is_refused_clearly(tmp_path):
    class Pipe(io.RawIOBase):
        def readable(self):
            return True

        def seekable(self):
            return False

    with pytest.raises(nn.StateFileError, match="cannot seek"):
        nn.load(Pipe())


# ---------------------------------------------------------------- torch.save / torch.load
def test_torch_save_and_load_through_bytesio():
    buffer = io.BytesIO()
    state = {"w": ctorch.tensor([[1.0, 2.0]]), "b": ctorch.tensor([3], dtype=ctorch.int32), "nested": {"x": ctorch.ones(2)}}
    buffer.write(b"leading bytes that are not part of the archive")
    start = buffer.tell()
    ctorch.save(state, buffer)
    buffer.seek(start)
    back = ctorch.load(buffer)
    assert set(back) == {"w", "b", "nested"}
    assert back["w"].dtype == ctorch.float32 and back["w"].tolist() == [[1.0, 2.0]]
    assert back["b"].dtype == ctorch.int32 and back["b"].tolist() == [3]
    assert back["nested"]["x"].tolist() == [1.0, 1.0]
    model = ctorch.nn.Linear(3, 2)
    buffer = io.BytesIO()
    ctorch.save(model.state_dict(), buffer)
    other = ctorch.nn.Linear(3, 2)
    other.load_state_dict(ctorch.load(io.BytesIO(buffer.getvalue())))
    np.testing.assert_array_equal(other.weight.detach().numpy(), model.weight.detach().numpy())


def test_everything_torch_save_accepts_loads_back(tmp_path):
    state = {
        "name": "mlp", "tags": ["a", "bc"], "epoch": 7, "lr": 0.5, "flag": True,
        "stack": [ctorch.tensor([1.0, 2.0]), ctorch.tensor([3.0, 4.0])], "groups": [{"lr": 0.1}],
    }  # fmt: skip
    ctorch.save(state, tmp_path / "ckpt.pt")
    back = ctorch.load(tmp_path / "ckpt.pt")
    assert back["name"] == "mlp" and back["tags"] == ["a", "bc"]
    assert int(back["epoch"]) == 7 and float(back["lr"]) == 0.5 and bool(back["flag"]) is True
    assert back["stack"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert float(back["groups"]["0"]["lr"]) == 0.1


def test_save_refuses_lists_it_could_not_give_back(tmp_path):
    with pytest.raises(TypeError, match=r"'ragged' is a list whose items have different shapes"):
        ctorch.save({"ragged": [ctorch.ones(2), ctorch.ones(3)]}, tmp_path / "r.pt")
    with pytest.raises(TypeError, match=r"'mixed' mixes strings with other values"):
        nn.save({"mixed": [1, "a"]}, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- load_state_dict
@pytest.mark.parametrize("linear", [nn.Linear, ctorch.nn.Linear], ids=["native", "torch"])
def test_load_state_dict_names_a_none_value(linear):
    layer = linear(2, 3)
    state = dict(layer.state_dict())
    state["bias"] = None
    with pytest.raises(RuntimeError) as info:
        layer.load_state_dict(state)
    message = str(info.value)
    assert "the value for 'bias' is None" in message and "shape (3,)" in message and "strict=False" in message


# ---------------------------------------------------------------- IDX
def idx_bytes(type_code, shape, payload):
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_idx_declaring_more_data_than_the_file_holds_is_refused(tmp_path):
    short = tmp_path / "short-idx3-ubyte"
    short.write_bytes(idx_bytes(0x08, (60000, 28, 28), bytes(100)))
    with pytest.raises(data.IDXFormatError, match=r"short-idx3-ubyte.*47,040,000 bytes of data.*holds 100 bytes"):
        data.read_idx(short)


def test_idx_file_size_is_checked_before_the_data_is_read(tmp_path):
    long = tmp_path / "long-idx1-ubyte"
    long.write_bytes(idx_bytes(0x08, (10,), bytes(16 * MB)))
    with peak_memory() as peak, pytest.raises(data.IDXFormatError, match=r"long-idx1-ubyte.*10 bytes of data"):
        data.read_idx(long)
    assert peak[0] < MB


def test_a_gzip_bomb_is_refused_without_being_inflated(tmp_path):
    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(bomb, "wb") as handle:
        handle.write(idx_bytes(0x08, (32 * MB,), b""))
        for _ in range(32):
            handle.write(bytes(MB))
    assert bomb.stat().st_size < 100_000
    with peak_memory() as peak, pytest.raises(data.IDXFormatError, match=r"bomb-idx1-ubyte\.gz.*max_bytes=1,000,000"):
        data.read_idx(bomb, max_bytes=1_000_000)
    assert peak[0] < MB
    # A header that declares little in front of a stream that inflates to a lot: the stream is
    # read one byte past the declared size, not to its end.
    liar = tmp_path / "liar-idx1-ubyte.gz"
    with gzip.open(liar, "wb") as handle:
        handle.write(idx_bytes(0x08, (1000,), b""))
        for _ in range(32):
            handle.write(bytes(MB))
    with peak_memory() as peak, pytest.raises(data.IDXFormatError, match=r"liar-idx1-ubyte\.gz.*truncated or corrupt"):
        data.read_idx(liar)
    assert peak[0] < MB


def test_idx_dimensions_whose_product_overflows_int64_are_refused(tmp_path):
    # 2**31 * 2**31 * 4 = 2**64, which wraps to 0 in int64 and would match an empty payload.
    path = tmp_path / "wrap-idx3-ubyte"
    path.write_bytes(idx_bytes(0x08, (2**31, 2**31, 4), b""))
    with pytest.raises(data.IDXFormatError, match=r"wrap-idx3-ubyte.*18,446,744,073,709,551,616 bytes.*max_bytes"):
        data.read_idx(path)


@posix_only
def test_idx_fifo_and_directory_are_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe-idx1-ubyte")
    with deadline(), pytest.raises(data.IDXFormatError, match=r"pipe-idx1-ubyte is a FIFO"):
        data.read_idx(tmp_path / "pipe-idx1-ubyte")


def write_mnist(folder, train=None, test=None, train_labels=None, test_labels=None):
    """The four MNIST files with 3 training and 2 test images unless given."""
    folder.mkdir(exist_ok=True)
    arrays = {
        "train_images": np.zeros((3, 28, 28), np.uint8) if train is None else train,
        "train_labels": np.array([1, 2, 3], np.uint8) if train_labels is None else train_labels,
        "test_images": np.zeros((2, 28, 28), np.uint8) if test is None else test,
        "test_labels": np.array([4, 5], np.uint8) if test_labels is None else test_labels,
    }
    for key, array in arrays.items():
        data.write_idx(folder / data.MNIST_FILES[key], array)
    return folder


def test_mnist_labels_must_be_uint8_class_indices(tmp_path):
    folder = write_mnist(tmp_path / "m", train_labels=np.array([1.5, 2.0, 3.0], np.float32))
    with pytest.raises(data.IDXFormatError, match=r"train-labels-idx1-ubyte should hold one uint8 class index.*float32"):
        data.load_mnist(folder)
    folder = write_mnist(tmp_path / "m2", test_labels=np.array([[4], [5]], np.uint8))
    with pytest.raises(data.IDXFormatError, match=r"t10k-labels-idx1-ubyte should hold one uint8.*\(2, 1\)"):
        data.load_mnist(folder)


def test_mnist_empty_split_and_wrong_image_size_are_named(tmp_path):
    folder = write_mnist(tmp_path / "empty", test=np.zeros((0, 28, 28), np.uint8), test_labels=np.zeros(0, np.uint8))
    with pytest.raises(data.IDXFormatError, match=r"t10k-images-idx3-ubyte holds no images \(the test split is empty\)"):
        data.load_mnist(folder)
    folder = write_mnist(tmp_path / "small", train=np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(data.IDXFormatError, match=r"train-images-idx3-ubyte should hold \(N, 28, 28\) images.*\(3, 8, 8\)"):
        data.load_mnist(folder)


def test_mnist_entry_that_is_a_directory_is_named_not_reported_missing(tmp_path):
    folder = write_mnist(tmp_path / "m")
    os.unlink(folder / data.MNIST_FILES["test_images"])
    (folder / data.MNIST_FILES["test_images"]).mkdir()
    with pytest.raises(data.IDXFormatError, match=r"t10k-images-idx3-ubyte is a directory, not a file"):
        data.load_mnist(folder)


@pytest.mark.parametrize("case", ["empty test split", "8x8 images", "float labels", "overflowing header"])
def test_train_mnist_reports_bad_data_in_one_line(tmp_path, capsys, case):
    folder = tmp_path / "mnist"
    if case == "empty test split":
        write_mnist(folder, test=np.zeros((0, 28, 28), np.uint8), test_labels=np.zeros(0, np.uint8))
        culprit = "t10k-images-idx3-ubyte"
    elif case == "8x8 images":
        write_mnist(folder, train=np.zeros((3, 8, 8), np.uint8))
        culprit = "train-images-idx3-ubyte"
    elif case == "float labels":
        write_mnist(folder, train_labels=np.array([1.0, 2.0, 3.0]))
        culprit = "train-labels-idx1-ubyte"
    else:
        write_mnist(folder)
        (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(0x0E, (2**32 - 1,) * 3, b""))
        culprit = "train-images-idx3-ubyte"
    code = main(["train", "mnist", "--data", str(folder), "--epochs", "1", "--out", str(tmp_path / "out"), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule train: ") and culprit in lines[0], captured.err
    assert "Traceback" not in captured.err and not (tmp_path / "out").exists()
