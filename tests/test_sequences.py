"""A list (or tuple) holding tensors is stacked and differentiated through, never a constant.

The sweep calls every public function with a list of two tracked tensors where it accepts the
stacked tensor, and checks value and gradient against the stacked call; an op that does not take
lists must refuse them with a TypeError or ValueError instead.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr


def test_the_issue_reproducers() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    cr.mean([x, x]).backward()
    assert float(x.grad) == 1.0
    x.grad = None
    cr.norm([x, 0.0]).backward()
    assert float(x.grad) == 1.0  # d|(x, 0)|/dx = x / |x| = 1


def test_nested_lists_and_ragged_ones() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    cr.sum([[x, x * 2.0], [x, x]]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])
    with pytest.raises(ValueError, match="different shapes"):
        cr.sum([x, cr.tensor(1.0)])


def _public_functions() -> list[str]:
    names = []
    for name in sorted(getattr(cr, "__all__", dir(cr))):
        obj = getattr(cr, name, None)
        if inspect.isfunction(obj) and not name.startswith("_"):
            names.append(name)
    return names


# tensor() builds a new leaf from values (PyTorch's torch.tensor does too, and warns); dropout
# draws a new mask per call, so two calls cannot be compared.
NOT_SWEPT = {"tensor": "builds a leaf from values", "dropout": "random"}


@pytest.mark.parametrize("name", _public_functions())
def test_sweep_public_functions_with_a_list_of_tensors(name: str) -> None:
    if name in NOT_SWEPT:
        pytest.skip(NOT_SWEPT[name])
    fn = getattr(cr, name)
    a0, b0 = np.array([0.3, 0.7]), np.array([0.4, 0.2])

    def run(make_input):
        a = cr.tensor(a0, requires_grad=True)
        b = cr.tensor(b0, requires_grad=True)
        out = fn(make_input(a, b))
        return a, b, out

    try:
        a, b, out = run(lambda a, b: cr.stack([a, b]))
    except Exception:  # noqa: BLE001 - the op needs other arguments: not a one-input op
        pytest.skip(f"{name} does not take one stacked tensor")
    if not isinstance(out, cr.Tensor) or not out.requires_grad or out.dtype.kind != "f":
        pytest.skip(f"{name} gives no differentiable tensor")
    out.sum().backward()
    want = (out.numpy().copy(), a.grad.numpy().copy(), b.grad.numpy().copy())
    try:
        a, b, got = run(lambda a, b: [a, b])
    except (TypeError, ValueError) as exc:
        assert name in str(exc) or "list" in str(exc)
        return
    assert isinstance(got, cr.Tensor) and got.requires_grad, f"{name}([a, b]) dropped the history"
    got.sum().backward()
    np.testing.assert_allclose(got.numpy(), want[0])
    np.testing.assert_allclose(a.grad.numpy(), want[1])
    np.testing.assert_allclose(b.grad.numpy(), want[2])
