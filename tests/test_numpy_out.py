"""NumPy functions called on Tensors with ``out=``: a clear TypeError, never a RecursionError.

``np.exp(a, out=b)`` with Tensors used to recurse until Python gave up (NumPy hands the Tensor
``out`` back to ``__array_ufunc__``); other NumPy functions given ``out=`` either raised an
unrelated message or silently wrote around autograd.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf, torch

ASSIGN = r"out= is not supported.*Assign the result instead, e\.g\. "


def _pair(requires_grad: bool = False) -> tuple[cr.Tensor, cr.Tensor]:
    return cr.tensor([1.0, 2.0], requires_grad=requires_grad), cr.zeros(2)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_ufunc_into_a_tensor_is_refused(requires_grad: bool) -> None:
    a, b = _pair(requires_grad)
    with pytest.raises(TypeError, match=r"numpy\.exp: " + ASSIGN + r"y = np\.exp\(x\)"):
        np.exp(a, out=b)
    np.testing.assert_array_equal(b.numpy(), [0.0, 0.0])


def test_binary_ufunc_and_tuple_out() -> None:
    a, b = _pair()
    with pytest.raises(TypeError, match=r"numpy\.add: " + ASSIGN + r"y = np\.add\(x1, x2\)"):
        np.add(a, a, out=(b,))
    with pytest.raises(TypeError, match=r"numpy\.add: " + ASSIGN):
        np.add(a.numpy(), a.numpy(), b)  # out given positionally


def test_ufunc_methods_with_out() -> None:
    a, b = _pair()
    with pytest.raises(TypeError, match=r"numpy\.add\.accumulate: " + ASSIGN + r"y = np\.add\.accumulate\(x\)"):
        np.add.accumulate(a, out=b)


def test_ufunc_from_a_tensor_into_an_array_is_refused_too() -> None:
    a, _ = _pair()
    target = np.zeros(2)
    with pytest.raises(TypeError, match=r"numpy\.sin: " + ASSIGN):
        np.sin(a, out=target)
    np.testing.assert_array_equal(target, [0.0, 0.0])


@pytest.mark.parametrize(
    "call",
    [
        lambda a, o: np.sum(a, out=o[0:1].reshape(())),
        lambda a, o: np.mean(a, out=o[0:1].reshape(())),
        lambda a, o: np.cumsum(a, out=o),
        lambda a, o: np.cumsum(a, 0, None, o),  # out given positionally
        lambda a, o: np.clip(a, 0.0, 1.5, out=o),
        lambda a, o: np.concatenate([a[:1], a[1:]], out=o),
    ],
    ids=["sum", "mean", "cumsum", "cumsum-positional", "clip", "concatenate"],
)
@pytest.mark.parametrize("out_kind", ["array", "tensor"])
def test_array_functions_with_out_are_refused(call, out_kind: str) -> None:
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    o = np.zeros(2) if out_kind == "array" else cr.zeros(2)
    with pytest.raises(TypeError, match=r"numpy\.\w+: " + ASSIGN + r"y = np\.\w+\(\.\.\.\)"):
        call(a, o)
    np.testing.assert_array_equal(np.asarray(o), [0.0, 0.0])


def test_without_out_numpy_functions_behave_as_before() -> None:
    a = cr.tensor([1.0, 2.0])
    np.testing.assert_array_equal(np.concatenate([a, a]), [1.0, 2.0, 1.0, 2.0])
    np.testing.assert_array_equal(np.clip(a, 0.0, 1.5), [1.0, 1.5])
    assert np.allclose(a, [1.0, 2.0])
    y = np.exp(a)
    assert isinstance(y, cr.Tensor)
    np.testing.assert_allclose(y.numpy(), np.exp([1.0, 2.0]))


def test_dialects_refuse_out_too() -> None:
    with pytest.raises(TypeError, match=r"numpy\.exp: " + ASSIGN):
        np.exp(torch.tensor([1.0]), out=torch.zeros(1))
    # The tf dialect computes NumPy calls on the values, as TensorFlow does: out= into an ndarray
    # is TensorFlow's behaviour too.
    out = np.zeros(1, np.float32)
    np.exp(tf.constant([1.0]), out=out)
    np.testing.assert_allclose(out, np.exp([1.0]), rtol=1e-6)
