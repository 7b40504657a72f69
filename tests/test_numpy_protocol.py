"""NumPy functions on chainrule tensors (``__array_function__``): ``np.mean(t, axis=0)`` runs
chainrule's mean, and a NumPy function that would silently drop a derivative raises instead."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

X = np.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.5]])


def test_np_mean_with_axis_is_chainrules_mean_and_differentiable() -> None:
    # Before __array_function__, NumPy called x.mean(axis=0, dtype=None, out=None), which the
    # method does not take: a TypeError about an unexpected 'dtype' keyword.
    x = cr.tensor(X, requires_grad=True)
    y = np.mean(x**2, axis=0)
    assert isinstance(y, cr.Tensor) and y.grad_fn is not None
    np.testing.assert_allclose(y.numpy(), np.mean(X**2, axis=0))
    cr.sum(y).backward()
    # d/dx of sum_j mean_i x_ij^2 = 2 x / (number of rows)
    np.testing.assert_allclose(x.grad.numpy(), 2 * X / 2)


def test_np_mean_inside_a_tape_keeps_the_gradient() -> None:
    # The autodiff guide's pattern, natively: a NumPy reduction between two recorded ops.
    x = cr.Variable([[1.0, 2.0], [3.0, 4.0]])
    with cr.GradientTape() as tape:
        y = cr.mean(np.mean(x**2, axis=0), axis=0)
    # y = (1/4) sum x^2, so dy/dx = x / 2
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0.5, 1.0], [1.5, 2.0]])


@pytest.mark.parametrize(
    "name, np_call",
    [
        ("sum", lambda a: np.sum(a, axis=1, keepdims=True)),
        ("mean_dtype", lambda a: np.mean(a, dtype=np.float64)),
        ("prod", lambda a: np.prod(a, axis=0)),
        ("max", lambda a: np.max(a, axis=1)),
        ("amin", lambda a: np.amin(a)),
        ("var", lambda a: np.var(a, axis=0, ddof=1)),
        ("std", lambda a: np.std(a)),
        ("cumsum", lambda a: np.cumsum(a, axis=1)),
        ("reshape", lambda a: np.reshape(a, (3, 2))),
        ("reshape_kw", lambda a: np.reshape(a, shape=(-1,))),
        ("ravel", lambda a: np.ravel(a)),
        ("transpose", lambda a: np.transpose(a)),
        ("expand_dims", lambda a: np.expand_dims(a, 0)),
        ("swapaxes", lambda a: np.swapaxes(a, 0, 1)),
        ("moveaxis", lambda a: np.moveaxis(a, 0, -1)),
        ("broadcast_to", lambda a: np.broadcast_to(a, (2, 2, 3))),
        ("tile", lambda a: np.tile(a, (1, 2))),
        ("flip", lambda a: np.flip(a, 1)),
        ("roll", lambda a: np.roll(a, 1, axis=1)),
        ("concatenate", lambda a: np.concatenate([a, 2 * a], axis=1)),
        ("stack", lambda a: np.stack([a, a * a], axis=0)),
        ("where", lambda a: np.where(a > 0, a, 0.5 * a)),
        ("clip", lambda a: np.clip(a, -1.0, 2.0)),
        ("take", lambda a: np.take(a, [2, 0], axis=1)),
        ("dot", lambda a: np.dot(a, np.ones((3, 2)))),
        ("outer", lambda a: np.outer(a[0], a[1])),
        ("einsum", lambda a: np.einsum("ij,ij->i", a, a)),
        ("trace", lambda a: np.trace(a)),
        ("diagonal", lambda a: np.diagonal(a)),
        ("norm", lambda a: np.linalg.norm(a, axis=1)),
    ],
)
def test_supported_numpy_functions_match_numpy_and_are_differentiable(name: str, np_call) -> None:
    x = cr.tensor(X, requires_grad=True)
    out = np_call(x)
    assert isinstance(out, cr.Tensor), f"np {name} gave {type(out).__name__}"
    np.testing.assert_allclose(out.numpy(), np_call(X), rtol=1e-12)
    assert out.grad_fn is not None
    assert cr.testing.gradcheck(lambda t: np_call(t), [cr.tensor(X)])


def test_square_matrix_functions() -> None:
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    x = cr.tensor(a, requires_grad=True)
    np.testing.assert_allclose(np.linalg.inv(x).numpy(), np.linalg.inv(a))
    np.testing.assert_allclose(np.linalg.det(x).numpy(), np.linalg.det(a))
    np.testing.assert_allclose(np.linalg.solve(x, np.ones(2)).numpy(), np.linalg.solve(a, np.ones(2)))
    np.linalg.det(x).backward()
    # d det(A) / dA = det(A) * inv(A).T
    np.testing.assert_allclose(x.grad.numpy(), np.linalg.det(a) * np.linalg.inv(a).T)


def test_dtype_keyword_casts_before_reducing() -> None:
    x = cr.tensor(X, requires_grad=True)
    y = np.mean(x, axis=0, dtype=np.float32)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), X.mean(axis=0).astype(np.float32))


def test_functions_without_a_counterpart_raise_on_a_tensor_with_a_derivative() -> None:
    x = cr.tensor(X, requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.unwrap .*carries a derivative.*no chainrule counterpart"):
        np.unwrap(x)
    with pytest.raises(TypeError, match=r"numpy\.mean: out= is not supported"):
        np.mean(x, axis=0, out=np.zeros(3))
    # ... and under a tape, for a watched constant, a trainable Variable or a recorded result
    c = cr.constant(X)
    v = cr.Variable(X)
    with cr.GradientTape() as tape:
        tape.watch(c)
        with pytest.raises(TypeError, match="numpy.unwrap"):
            np.unwrap(c)
        with pytest.raises(TypeError, match="numpy.unwrap"):
            np.unwrap(v)
        with pytest.raises(TypeError, match="numpy.unwrap"):
            np.unwrap(v * 2)
    # ... and for a value carrying a forward-mode tangent
    with cr.ForwardAccumulator(c, cr.ones_like(c)):
        with pytest.raises(TypeError, match="numpy.unwrap"):
            np.unwrap(c)


def test_without_a_derivative_numpy_runs_on_the_values() -> None:
    x = cr.tensor(X)
    out = np.unwrap(x)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.unwrap(X))
    # out= is refused even without a derivative (an in-place write autograd would not see;
    # tests/test_numpy_out.py)
    # a Variable outside any tape carries nothing
    np.testing.assert_array_equal(np.unwrap(cr.Variable(X)), np.unwrap(X))


def test_results_without_a_derivative_are_fine_on_any_tensor() -> None:
    x = cr.tensor(X, requires_grad=True)
    assert np.allclose(x, X) and np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    np.testing.assert_array_equal(np.isclose(x, 1.0), np.isclose(X, 1.0))
    assert int(np.argmax(x)) == 4 and np.argmax(x, axis=1).tolist() == [0, 1]
    np.testing.assert_array_equal(np.zeros_like(x).numpy(), np.zeros_like(X))
    np.testing.assert_array_equal(np.round(x).numpy(), np.round(X))
    assert np.round(x).grad_fn is None


def test_vmap_dispatches_numpy_functions_per_example() -> None:
    x = cr.tensor(X)
    out = cr.vmap(lambda row: np.mean(row * row, axis=0))(x)
    np.testing.assert_allclose(out.numpy(), np.mean(X * X, axis=1))
