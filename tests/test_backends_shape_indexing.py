"""Shape and indexing ops on other array libraries (issue 16): array-api-strict and Dask.

Each case runs on NumPy tensors and on the other library's, and the two must agree on the value
and on the vector-Jacobian product with a fixed random cotangent (``backward(gradient=w)``, so no
reduction is involved). On Dask, the forward and the backward must stay lazy: nothing is computed
until ``.numpy()``. The index forms the array API standard leaves out (integer arrays mixed with
slices, several integer arrays, boolean masks, repeats) are among the cases.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.indexing import index_add_p

xs = pytest.importorskip("array_api_strict")
da = pytest.importorskip("dask.array")

RNG = np.random.default_rng(16)
X = RNG.standard_normal((4, 6))
MASK = RNG.standard_normal((4, 6)) > 0

CASES = {
    "reshape": lambda x: cr.reshape(x, (3, 8)),
    "transpose": lambda x: cr.transpose(x),
    "permute": lambda x: cr.permute(cr.expand_dims(x, 1), 2, 0, 1),
    "broadcast_to": lambda x: cr.broadcast_to(x, (2, 4, 6)),
    "sum_to": lambda x: cr.sum_to(x, (1, 6)),
    "pad": lambda x: cr.pad(x, ((1, 2), (0, 1)), constant_values=1.5),
    "concatenate": lambda x: cr.concatenate([x, x * 2.0, x], axis=1),
    "stack": lambda x: cr.stack([x, x * 3.0], axis=1),
    "split": lambda x: cr.concatenate([p * (i + 1.0) for i, p in enumerate(cr.split(x, [1, 3]))]),
    "flip": lambda x: cr.flip(x, 1),
    "roll": lambda x: cr.roll(x, (1, -2), (0, 1)),
    "tile": lambda x: cr.tile(x, (2, 1)),
    "repeat_counts": lambda x: cr.repeat(x, [1, 0, 2, 1], axis=0),
    "squeeze": lambda x: cr.squeeze(cr.expand_dims(x, 0)),
    "astype": lambda x: cr.astype(x, "float32"),
    "r_": lambda x: cr.r_[cr.reshape(x, (-1,)), 0.5, 0:3],
    "getitem_basic": lambda x: x[1:, ::-2],
    "getitem_none": lambda x: x[None, 2, :, None],
    "getitem_int_axis": lambda x: x[:, [0, 0, 5]],
    "getitem_int_2d": lambda x: x[np.array([[1, 1], [3, 0]])],
    "getitem_int_and_slice": lambda x: x[[1, 1, 3], 2:4],
    "getitem_pairs": lambda x: x[[0, 3, 0], [1, 1, -1]],
    "getitem_mask": lambda x: x[MASK],
    "getitem_row_mask": lambda x: x[np.array([True, False, True, True]), ::2],
    "take": lambda x: cr.take(x, [5, 5, 0, -1]),
    "take_along_axis": lambda x: cr.take_along_axis(x, np.array([[0, 2], [1, 1], [5, 5], [0, 3]]), axis=1),
    "index_put": lambda x: cr.index_put(x, (slice(None), 1), x[:, 2] * 2.0),
    "index_put_pairs": lambda x: cr.index_put(x, ([0, 2], [1, 3]), x[1, :2]),
    "index_put_mask": lambda x: cr.index_put(x, MASK, 0.0),
}


def _strict(a: np.ndarray):
    return xs.asarray(a)


def _dask(a: np.ndarray):
    return da.from_array(a, chunks=2)


def _value_and_vjp(f, convert):
    x = cr.tensor(convert(X), requires_grad=True)
    y = f(x)
    dtype = np.float32 if "float32" in str(y._data.dtype) else np.float64  # (y.numpy() computes)
    w = np.random.default_rng(0).standard_normal(y.shape).astype(dtype)
    y.backward(cr.tensor(convert(w)))
    return x, y


@pytest.mark.parametrize("name", sorted(CASES))
def test_strict_matches_numpy(name: str) -> None:
    f = CASES[name]
    xn, yn = _value_and_vjp(f, np.asarray)
    x, y = _value_and_vjp(f, _strict)
    assert type(y._data).__module__.startswith("array_api_strict")
    assert type(x.grad._data).__module__.startswith("array_api_strict")
    np.testing.assert_allclose(y.numpy(), yn.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), xn.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(CASES))
def test_dask_stays_lazy_and_matches_numpy(name: str) -> None:
    from dask.callbacks import Callback

    f = CASES[name]
    xn, yn = _value_and_vjp(f, np.asarray)
    computed: list[int] = []
    with Callback(start=lambda dsk: computed.append(1)):
        x, y = _value_and_vjp(f, _dask)
    assert not computed, "the forward or the backward computed a Dask graph"
    assert isinstance(y._data, da.Array) and isinstance(x.grad._data, da.Array)
    np.testing.assert_allclose(y.numpy(), yn.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), xn.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_scatter_add_sums_repeats_in_numpy_order() -> None:
    # Values of very different sizes: another summation order would round differently.
    g = np.array([1e16, 1.0, -1e16, 1.0, 3.0, 2.5])
    index = (np.array([2, 2, 2, 2, 0, 0]),)
    expected = np.zeros(4)
    np.add.at(expected, index, g)
    out = index_add_p(cr.tensor(xs.asarray(g)), index=index, shape=(4,))
    np.testing.assert_array_equal(out.numpy(), expected)


def test_index_from_another_library_is_a_static_setting() -> None:
    x = cr.tensor(xs.asarray(X), requires_grad=True)
    idx = cr.tensor(xs.asarray(np.array([3, 0, 3])))
    y = x[idx]
    np.testing.assert_array_equal(y.numpy(), X[[3, 0, 3]])
    y.backward(cr.tensor(xs.ones((3, 6), dtype=xs.float64)))
    expected = np.zeros_like(X)
    np.add.at(expected, [3, 0, 3], 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_out_of_bounds_index_names_the_op_on_strict() -> None:
    x = cr.tensor(xs.asarray(X))
    with pytest.raises(IndexError, match=r"getitem: .*\(4, 6\).*out of bounds"):
        x[:, [0, 6]]
    with pytest.raises(IndexError, match=r"getitem: .*\(4, 6\)"):
        x[[0, 1], [0, 9]]


def test_pad_keeps_an_integer_dtype_on_strict() -> None:
    x = cr.tensor(xs.asarray(np.array([1, 2], dtype=np.int64)))
    y = cr.pad(x, (1, 1), constant_values=7)
    assert y._data.dtype == xs.int64
    np.testing.assert_array_equal(y.numpy(), [7, 1, 2, 7])


def test_index_put_casts_the_values_to_the_tensor_dtype_on_strict() -> None:
    x = cr.tensor(xs.asarray(X), requires_grad=True)
    v = cr.tensor(xs.asarray(np.array([1.5, 2.5], dtype=np.float32)))
    y = cr.index_put(x, ([0, 1], [2, 2]), v)
    expected = X.copy()
    expected[[0, 1], [2, 2]] = [1.5, 2.5]
    assert y._data.dtype == xs.float64
    np.testing.assert_array_equal(y.numpy(), expected)


def test_raw_arrays_of_another_library_stay_in_it() -> None:
    # Composites read raw (non-Tensor) inputs through as_operand, which kept only NumPy's.
    raw = xs.asarray(X)
    for out in (cr.tril(raw), cr.flipud(raw), cr.atleast_3d(raw), cr.append(raw, raw, axis=0)):
        assert type(out._data).__module__.startswith("array_api_strict")
    np.testing.assert_array_equal(cr.tril(raw).numpy(), np.tril(X))
    np.testing.assert_array_equal(cr.append(raw, raw, axis=0).numpy(), np.append(X, X, axis=0))
