"""softmax and log_softmax over an empty axis: an empty result and an empty gradient, as in
PyTorch (``torch.softmax(torch.zeros(3, 0), 1)`` has shape (3, 0)), in the native API, in
``nn.functional`` and in both dialects. Before, the stabilising shift (a max over the empty
axis) raised NumPy's "zero-size array to reduction operation maximum"."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf, torch
from chainrule.nn import functional as F
from chainrule.transforms import jvp

CASES = [((0,), -1), ((0,), 0), ((3, 0), -1), ((3, 0), 1), ((2, 0, 4), 1)]
NATIVE = {
    "softmax": cr.softmax,
    "log_softmax": cr.log_softmax,
    "F.softmax": lambda x, a: F.softmax(x, a),
    "F.log_softmax": lambda x, a: F.log_softmax(x, a),
    "method": lambda x, a: x.softmax(a),
}


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("name", list(NATIVE))
def test_native_result_and_gradient_are_empty(name: str, shape: tuple[int, ...], axis: int) -> None:
    x = cr.zeros(shape, requires_grad=True)
    y = NATIVE[name](x, axis)
    assert y.shape == shape and y.dtype == np.float64
    assert y.requires_grad
    cr.sum(y).backward()
    assert x.grad is not None and x.grad.shape == shape
    (g,) = cr.autograd.grad(cr.sum(NATIVE[name](x, axis) * 2.0), x, create_graph=True)
    assert g.shape == shape


@pytest.mark.parametrize(("shape", "axis"), CASES)
def test_forward_mode_gives_an_empty_tangent(shape: tuple[int, ...], axis: int) -> None:
    primal, tangent = jvp(lambda a: cr.softmax(a, axis), (cr.zeros(shape),), (cr.ones(shape),))
    assert primal.shape == shape and tangent.shape == shape


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_torch_dialect(name: str, shape: tuple[int, ...], axis: int) -> None:
    x = torch.zeros(*shape, requires_grad=True)
    for y in (getattr(torch, name)(x, dim=axis), getattr(torch.nn.functional, name)(x, dim=axis)):
        assert tuple(y.shape) == shape and y.dtype == torch.float32
        y.sum().backward()
        assert tuple(x.grad.shape) == shape


@pytest.mark.parametrize(("shape", "axis"), CASES)
def test_tf_dialect(shape: tuple[int, ...], axis: int) -> None:
    v = tf.Variable(np.zeros(shape, np.float32))
    with tf.GradientTape() as tape:
        y = tf.nn.softmax(v, axis=axis)
        z = tf.nn.log_softmax(v, axis=axis)
        k = tf.keras.activations.softmax(v, axis=axis)
        total = tf.reduce_sum(y) + tf.reduce_sum(z) + tf.reduce_sum(k)
    assert tuple(y.shape) == shape and tuple(z.shape) == shape and tuple(k.shape) == shape
    assert tuple(tape.gradient(total, v).shape) == shape
