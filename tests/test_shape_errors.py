"""Shape and reduction ops: the errors they raise (op, shapes, what to do), the recorded paths the
op table's forward check does not reach, and conventions finite differences cannot check."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call,kind,fragment",
    [
        (lambda: cr.squeeze(cr.zeros((1, 3)), axis=1), ValueError, r"cannot squeeze axis 1 of a tensor of shape \(1, 3\)"),
        (lambda: cr.squeeze(cr.zeros((1, 3)), axis=2), ValueError, "out of range"),
        (lambda: cr.concatenate([cr.zeros((2, 2)), cr.zeros((2, 3))]), ValueError, "differ outside axis 0"),
        (lambda: cr.concatenate([cr.zeros(2), cr.zeros((2, 1))]), ValueError, "same number of dimensions"),
        (lambda: cr.concatenate([cr.tensor(1.0), cr.tensor(2.0)]), ValueError, "use stack"),
        (lambda: cr.concatenate([]), ValueError, "at least one"),
        (lambda: cr.concatenate(cr.zeros((2, 2))), TypeError, "sequence"),
        (lambda: cr.stack([cr.zeros(2), cr.zeros(3)]), ValueError, "same shape"),
        (lambda: cr.stack([cr.zeros(2)], axis=2), ValueError, "out of range"),
        (lambda: cr.split(cr.zeros(5), 2), ValueError, "equal sections"),
        (lambda: cr.split(cr.zeros(5), 0), ValueError, "positive"),
        (lambda: cr.pad(cr.zeros(2), -1), ValueError, "non-negative"),
        (lambda: cr.pad(cr.zeros((2, 2)), ((1, 1), (1, 1), (1, 1))), ValueError, "does not fit"),
        (lambda: cr.pad(cr.zeros(2), 1, mode="reflect"), ValueError, "constant"),
        (lambda: cr.pad(cr.zeros(2), 1.5), TypeError, "integers"),
        (lambda: cr.tile(cr.zeros(2), -1), ValueError, "non-negative"),
        (lambda: cr.repeat(cr.zeros(3), [1, 2]), ValueError, "one non-negative count per element"),
        (lambda: cr.repeat(cr.zeros(3), -2), ValueError, "non-negative"),
        (lambda: cr.roll(cr.zeros((2, 2)), (1, 2), axis=(0, 1, 1)), ValueError, "same length"),
        (lambda: cr.roll(cr.zeros((2, 2)), (1, 2)), ValueError, "matching sequence of axes"),
        (lambda: cr.swapaxes(cr.zeros((2, 2)), 0, 2), ValueError, "out of range"),
        (lambda: cr.moveaxis(cr.zeros((2, 2)), (0, 1), 0), ValueError, "differ in length"),
        (lambda: cr.flip(cr.zeros((2, 2)), (0, 0)), ValueError, "repeated axis"),
        (lambda: cr.mean(cr.zeros((2, 2)), axis=2), ValueError, "mean: axis 2 is out of range"),
        (lambda: cr.prod(cr.zeros((2, 2)), axis=(1, -1)), ValueError, "repeated axis"),
        (lambda: cr.max(cr.zeros((0, 3))), ValueError, "empty axis"),
        (lambda: cr.min(cr.zeros((2, 0)), axis=1), ValueError, "empty axis"),
        (lambda: cr.var(cr.zeros(3), ddof=-1), TypeError, "ddof"),
        (lambda: cr.norm(cr.zeros(3), ord=3), ValueError, "unsupported ord"),
        (lambda: cr.norm(cr.zeros((2, 2)), ord="fro", axis=0), ValueError, "two axes"),
        (lambda: cr.cumsum(cr.zeros((2, 2)), axis=2), ValueError, "out of range"),
        (lambda: cr.cumprod(cr.zeros(2), axis=0.5), TypeError, "axis must be an int"),
    ],
)
def test_errors_name_the_op_and_the_shapes(call, kind, fragment) -> None:
    with pytest.raises(kind, match=fragment):
        call()


def test_error_messages_start_with_the_op_name() -> None:
    with pytest.raises(ValueError, match=r"^concatenate: "):
        cr.concatenate([cr.zeros((2, 2)), cr.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"^squeeze: "):
        cr.squeeze(cr.zeros((2, 3)), 0)


# ---------------------------------------------------------------- recorded paths
@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_concatenate_tree_matches_numpy_and_routes_every_gradient(count: int) -> None:
    rng = np.random.default_rng(count)
    arrays = [rng.standard_normal((2, int(n))) for n in rng.integers(1, 4, size=count)]
    xs = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = cr.concatenate(xs, axis=1)
    expected = np.concatenate(arrays, axis=1)
    np.testing.assert_array_equal(out.numpy(), expected)
    weights = rng.standard_normal(expected.shape)
    (out * cr.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(np.concatenate([x.grad.numpy() for x in xs], axis=1), weights)


def test_stack_of_scalars_records_and_unrecorded_stack_is_one_numpy_call() -> None:
    xs = [cr.tensor(float(i), requires_grad=True) for i in range(5)]
    y = cr.stack(xs)
    np.testing.assert_array_equal(y.numpy(), np.arange(5.0))
    (y * cr.arange(5.0)).sum().backward()
    assert [x.grad.item() for x in xs] == [0.0, 1.0, 2.0, 3.0, 4.0]
    plain = cr.stack([cr.ones(2), np.zeros(2)])
    assert plain.grad_fn is None and plain.shape == (2, 2)


def test_split_parts_are_tensors_with_the_right_shapes() -> None:
    parts = cr.split(cr.arange(10.0).reshape(2, 5), [1, -1], axis=1)
    assert [p.shape for p in parts] == [(2, 1), (2, 3), (2, 1)]
    np.testing.assert_array_equal(parts[1].numpy(), [[1, 2, 3], [6, 7, 8]])


def test_tensor_methods_use_numpy_names_and_torch_permute_unsqueeze() -> None:
    x = cr.zeros((2, 1, 3))
    assert x.squeeze().shape == (2, 3)
    assert x.permute(2, 0, 1).shape == (3, 2, 1)
    assert x.unsqueeze(0).shape == (1, 2, 1, 3)
    assert x.swapaxes(0, 2).shape == (3, 1, 2)
    assert x.tile(2).shape == (2, 1, 6)
    assert x.flip(0, 2).shape == (2, 1, 3)


# ---------------------------------------------------------------- reduction conventions
def test_max_and_min_share_the_gradient_evenly_among_ties() -> None:
    x = cr.tensor([[2.0, 5.0, 5.0, 5.0], [1.0, 1.0, 3.0, 0.0]], requires_grad=True)
    cr.max(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1 / 3, 1 / 3, 1 / 3], [0, 0, 1, 0]])
    y = cr.tensor([1.0, 1.0, 4.0], requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 0.5, 0.0])


def test_norm_gradient_is_zero_at_the_zero_vector() -> None:
    x = cr.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    cr.norm(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])
    z = cr.zeros(3, requires_grad=True)
    z.norm().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0.0, 0.0, 0.0])


def test_prod_and_cumprod_gradients_are_exact_at_zeros() -> None:
    x = cr.tensor([2.0, 0.0, 3.0, 0.5], requires_grad=True)
    x.prod().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 3.0, 0.0, 0.0])
    y = cr.tensor([2.0, 0.0, 3.0], requires_grad=True)
    y.cumprod().sum().backward()
    # d/dy of [y0, y0 y1, y0 y1 y2] summed, at y1 = 0.
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 2.0 + 6.0, 0.0])
    assert np.all(np.isfinite(y.grad.numpy()))


def test_logsumexp_is_stable_and_handles_minus_infinity() -> None:
    x = cr.tensor([1e4, 1e4 + math.log(3.0)], requires_grad=True)
    out = cr.logsumexp(x)
    np.testing.assert_allclose(out.item(), 1e4 + math.log(4.0), rtol=1e-14)
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.25, 0.75])
    y = cr.tensor([-np.inf, 0.0])
    assert cr.logsumexp(y).item() == 0.0
    assert cr.logsumexp(cr.tensor([-np.inf, -np.inf])).item() == -np.inf


def test_var_and_std_follow_numpy_ddof() -> None:
    data = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    x = cr.tensor(data)
    np.testing.assert_allclose(cr.var(x, axis=1).numpy(), np.var(data, axis=1))
    np.testing.assert_allclose(x.std(axis=0, ddof=1).numpy(), np.std(data, axis=0, ddof=1))
