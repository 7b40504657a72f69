"""Hypothesis draws broadcast-compatible shape pairs; every binary op's gradients must have the
inputs' shapes and match finite differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.testing import gradcheck

BINARY = {
    "add": cr.add,
    "sub": cr.subtract,
    "mul": cr.multiply,
    "div": lambda x, y: cr.divide(x, y * y + 1.0),
    "pow": lambda x, y: cr.power(x * x + 0.5, y),
    "arctan2": lambda x, y: cr.arctan2(x, y * y + 0.5),
    "maximum": lambda x, y: cr.maximum(x, y + 10.0),
}


@st.composite
def broadcast_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x, y = (rng.uniform(-1.5, 1.5, size=s) for s in shapes.input_shapes)
    return x, y, shapes.result_shape


@settings(max_examples=25, deadline=None)
@given(pair=broadcast_pair(), name=st.sampled_from(sorted(BINARY)))
def test_binary_ops_under_broadcasting(pair, name) -> None:
    x, y, result_shape = pair
    op = BINARY[name]
    tx = cr.tensor(x, requires_grad=True)
    ty = cr.tensor(y, requires_grad=True)
    out = op(tx, ty)
    assert out.shape == result_shape
    out.sum().backward()
    assert tx.grad.shape == x.shape and ty.grad.shape == y.shape
    assert gradcheck(op, [x, y])


@settings(max_examples=15, deadline=None)
@given(pair=broadcast_pair())
def test_numpy_on_the_left_broadcasts_too(pair) -> None:
    x, y, result_shape = pair
    ty = cr.tensor(y, requires_grad=True)
    out = x * ty
    assert isinstance(out, cr.Tensor) and out.shape == result_shape
    out.sum().backward()
    expected = _sum_to(np.broadcast_to(x, result_shape), y.shape)
    np.testing.assert_allclose(ty.grad.numpy(), expected)


def _sum_to(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = a.ndim - len(shape)
    a = a.sum(axis=tuple(range(lead))) if lead else a
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return a.sum(axis=axes, keepdims=True) if axes else a


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8, np.bool_, np.complex128])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3), (0,), (4, 0, 2)])
def test_broadcast_to_scalar_is_numpys_read_only_view(dtype: Any, shape: tuple[int, ...]) -> None:
    # A scalar's broadcast is built as a strided view directly: it must be what np.broadcast_to
    # gives (shape, strides, read-only, a view that follows its source).
    from chainrule.ops.shape import broadcast_to_p

    x = np.array(3, dtype=dtype)
    ref = np.broadcast_to(x, shape)
    out = broadcast_to_p.impl(x, shape=shape)
    assert out.shape == ref.shape and out.strides == ref.strides and out.dtype == ref.dtype
    assert not out.flags.writeable
    np.testing.assert_array_equal(out, ref)
    x[()] = 1
    np.testing.assert_array_equal(out, np.broadcast_to(x, shape))
    with pytest.raises(ValueError):
        broadcast_to_p.impl(x, shape=shape + (-1,))
