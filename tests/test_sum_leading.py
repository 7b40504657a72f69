"""A bias gradient's sum over leading axes (``ops.shape.sum_leading``), which eager backward
passes and jitted replays share: a BLAS matrix-vector product with ones for contiguous float32 and
float64 arrays, NumPy's reduction for everything else. And the one-pass class-label check."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.nn import check_class_labels
from chainrule.ops.shape import sum_leading

rng = np.random.default_rng(7)


@pytest.mark.parametrize("shape,lead", [((128, 256), 1), ((5, 3, 4), 1), ((2, 1, 3), 2), ((4, 5, 6), 2),
                                        ((1, 7), 1), ((3, 4, 0), 1), ((0, 3), 1), ((6, 2, 1, 3), 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_leading_is_the_sum_over_leading_axes(shape, lead, dtype) -> None:
    x = rng.normal(size=shape).astype(dtype)
    got = sum_leading(x, lead)
    want = np.add.reduce(x, axis=tuple(range(lead)))
    assert got.shape == want.shape and got.dtype == want.dtype
    # Rounding only (the BLAS's summation order): within the error bound of a recursive sum of
    # n terms, n * eps * sum(|x|), for each output.
    n = max(1, int(np.prod(shape[:lead])))
    bound = 2 * n * np.finfo(dtype).eps * np.add.reduce(np.abs(x), axis=tuple(range(lead)))
    assert np.all(np.abs(got.astype(np.float64) - want) <= bound)
    # A fresh array of its own: the engine hands it to .grad without a copy.
    assert got.base is None and got.flags.writeable and not np.shares_memory(got, x)


@pytest.mark.parametrize("x", [
    np.arange(24, dtype=np.int64).reshape(6, 4),  # (integers: NumPy's reduction)
    np.asfortranarray(rng.normal(size=(6, 4))),  # (not C-contiguous)
    rng.normal(size=(6, 8))[:, ::2],  # (strided)
    (rng.normal(size=(6, 4)) + 1j).astype(np.complex128),
], ids=["int", "fortran", "strided", "complex"])
def test_sum_leading_falls_back_to_numpy_exactly(x) -> None:
    np.testing.assert_array_equal(sum_leading(x, 1), np.add.reduce(x, axis=(0,)))


def test_eager_and_jitted_bias_gradients_agree_to_the_bit() -> None:
    x = cr.tensor(rng.normal(size=(64, 32)).astype(np.float32))
    b = cr.tensor(rng.normal(size=32).astype(np.float32))

    def f(x, b):
        return cr.grad(lambda b: cr.sum(cr.tanh(x + b) ** 2))(b)

    np.testing.assert_array_equal(cr.jit(f)(x, b).numpy(), f(x, b).numpy())


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint64", ">i8", "<i4"])
def test_class_labels_are_checked_in_every_integer_dtype(dtype) -> None:
    ok = np.array([0, 3, 9, 2], dtype=dtype)
    check_class_labels(ok, (4, 10), 1)  # in range: nothing raised
    for bad in ([0, 10, 1, 2], [0, 1, 2, 127 if np.dtype(dtype).itemsize == 1 else 1000]):
        with pytest.raises(IndexError, match=r"class index \d+ is out of range for 10 classes"):
            check_class_labels(np.array(bad, dtype=dtype), (4, 10), 1)
    if np.dtype(dtype).kind == "i":
        lowest = int(np.iinfo(np.dtype(dtype)).min)
        for bad in ([0, -1, 1, 2], [lowest, 0, 1, 2]):
            with pytest.raises(IndexError, match=rf"class index {bad[0] if bad[0] < 0 else -1} is out of range"):
                check_class_labels(np.array(bad, dtype=dtype), (4, 10), 1)
