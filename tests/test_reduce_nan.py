"""max/min (and amax/amin) over data that holds a NaN: the result is NaN and the gradient goes to
the NaN entries, as PyTorch's ``max()`` does (``torch.tensor([1., nan, 0.]).max()`` gives the
gradient ``[0, 1, 0]``), not NaN everywhere. Several NaNs share it evenly, like tied values.

Not in the op table: central differences through a NaN are NaN, so gradcheck cannot judge these.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import torch
from chainrule.transforms import hessian, jvp

NAN = math.nan
REDUCTIONS = [cr.max, cr.min, cr.amax, cr.amin, lambda x, **kw: x.max(**kw), lambda x, **kw: x.min(**kw)]
NAMES = ["max", "min", "amax", "amin", "max_method", "min_method"]


def _grad(f, data, **kw):
    x = cr.tensor(data, requires_grad=True)
    y = f(x, **kw)
    assert np.isnan(y.numpy()).any()
    cr.sum(y).backward()
    return x.grad.numpy()


@pytest.mark.parametrize("f", REDUCTIONS, ids=NAMES)
def test_the_gradient_goes_to_the_nan(f) -> None:
    np.testing.assert_array_equal(_grad(f, [1.0, NAN, 0.0]), [0.0, 1.0, 0.0])


@pytest.mark.parametrize("f", REDUCTIONS, ids=NAMES)
def test_several_nans_share_the_gradient(f) -> None:
    np.testing.assert_array_equal(_grad(f, [NAN, 2.0, NAN, -1.0]), [0.5, 0.0, 0.5, 0.0])


@pytest.mark.parametrize("f", REDUCTIONS, ids=NAMES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_with_an_axis_only_the_groups_with_a_nan_change(f, keepdims: bool) -> None:
    data = np.array([[1.0, NAN, 0.0], [3.0, -2.0, 5.0], [NAN, 4.0, NAN]])
    got = _grad(f, data, axis=1, keepdims=keepdims)
    # Row 1 has no NaN: its extreme (5 for max, -2 for min) gets the whole gradient.
    row1 = [0.0, 0.0, 1.0] if f(cr.tensor([0.0, 1.0])).item() == 1.0 else [0.0, 1.0, 0.0]
    np.testing.assert_array_equal(got, [[0.0, 1.0, 0.0], row1, [0.5, 0.0, 0.5]])
    # Over axis 0, column 0 and column 2 hold NaNs; column 1 holds one too.
    got0 = _grad(f, data, axis=0, keepdims=keepdims)
    np.testing.assert_array_equal(got0, [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]])


def test_jvp_takes_the_tangent_of_the_nan_entry() -> None:
    x = np.array([[1.0, NAN, 0.0], [3.0, -2.0, 5.0]])
    t = np.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
    _, tangent = jvp(lambda a: cr.max(a, axis=1), (cr.tensor(x),), (cr.tensor(t),))
    np.testing.assert_array_equal(tangent.numpy(), [20.0, 60.0])
    _, tangent = jvp(cr.min, (cr.tensor(x),), (cr.tensor(t),))
    np.testing.assert_array_equal(tangent.numpy(), 20.0)


def test_second_order_is_zero_not_nan() -> None:
    # max is piecewise linear: away from ties its Hessian is zero, and the NaN entry's share is
    # a constant like any other.
    x = cr.tensor([1.0, NAN, 0.0])
    np.testing.assert_array_equal(hessian(cr.max)(x).numpy(), np.zeros((3, 3)))
    leaf = cr.tensor([1.0, NAN, 0.0], requires_grad=True)
    (g,) = cr.autograd.grad(cr.max(leaf) * 2.0, leaf, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), [0.0, 2.0, 0.0])


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_torch_dialect_full_reductions(name: str) -> None:
    x = torch.tensor([1.0, NAN, 0.0], requires_grad=True)
    getattr(torch, name)(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0])


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_torch_dialect_amax_with_dim(name: str) -> None:
    x = torch.tensor([[1.0, NAN, 0.0, NAN], [1.0, 2.0, 3.0, 3.0]], requires_grad=True)
    getattr(torch, name)(x, dim=1).sum().backward()
    # Row 1 ties (3, 3 for amax; the single 1 for amin) share as amax/amin do.
    row1 = [0.0, 0.0, 0.5, 0.5] if name == "amax" else [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.0, 0.5], row1])


@pytest.mark.parametrize("name", ["max", "min"])
def test_torch_dialect_max_with_dim_picks_the_first_nan(name: str) -> None:
    # torch.max(x, dim) returns the index of the first NaN, and the gradient goes there.
    x = torch.tensor([[1.0, NAN, 0.0, NAN]], requires_grad=True)
    out = getattr(torch, name)(x, 1)
    assert out.indices.tolist() == [1]
    out.values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0, 0.0]])
