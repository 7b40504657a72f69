"""Moving tensors between array libraries (ops/backends.py, issue 16): ``cr.asarray(t, like=...)``
and ``t.to(...)``. The move is differentiable, as PyTorch's ``.to(device)``: the gradient flows
back converted to the source library. The libraries here are NumPy, array-api-strict and Dask
(the local threaded scheduler); CuPy's moves are in test_backends_cupy.py."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.backend import MixedLibrariesError
from chainrule.testing import gradcheck

xs = pytest.importorskip("array_api_strict")
da = pytest.importorskip("dask.array")


def _lib(t) -> str:
    return type(t._data).__module__.split(".")[0]


A = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]])


# ---------------------------------------------------------------- the API
def test_asarray_without_like_keeps_the_library() -> None:
    t = cr.tensor(A)
    assert cr.asarray(t) is t
    assert cr.asarray(t, like=np.zeros(1)) is t and t.to("numpy") is t and t.to(np) is t
    lazy = da.from_array(A, chunks=1)
    d = cr.asarray(lazy)
    assert _lib(d) == "dask" and d._data is lazy  # kept, not computed nor copied
    s = cr.asarray([1, 2], dtype="float32")
    assert s.dtype == np.float32 and _lib(s) == "numpy"


@pytest.mark.parametrize(
    "like, library",
    [("dask", "dask"), ("array_api_strict", "array_api_strict"), ("array-api-strict", "array_api_strict"),
     ("numpy", "numpy"), (np, "numpy"), (xs, "array_api_strict"), (da, "dask")],
)  # fmt: skip
def test_like_names_modules_arrays_and_tensors(like, library) -> None:
    t = cr.tensor(A)
    for target in (like, {"dask": da.zeros(2), "array_api_strict": xs.zeros(2), "numpy": np.zeros(2)}[library]):
        out = cr.asarray(t, like=target)
        assert _lib(out) == library
        np.testing.assert_array_equal(out.numpy(), A)
        assert _lib(cr.asarray(t, like=cr.tensor(target) if not isinstance(target, (str, type(np))) else target)) == library


def test_the_method_and_copy() -> None:
    t = cr.tensor(A)
    c = cr.asarray(t, copy=True)
    assert c is not t and not np.shares_memory(c.numpy(), t.numpy())
    np.testing.assert_array_equal(c.numpy(), A)
    assert t.to("numpy", copy=True) is not t
    with pytest.raises(ValueError, match="asarray: moving a numpy tensor to dask copies its data, and copy=False"):
        cr.asarray(t, like="dask", copy=False)
    assert cr.asarray(t, like="numpy", copy=False) is t


def test_unknown_libraries_are_refused_with_the_choices() -> None:
    t = cr.tensor(A)
    with pytest.raises(ValueError, match=r"Tensor.to: unknown array library 'jax'; .*'numpy', 'dask', 'cupy', 'array_api_strict'"):
        t.to("jax")
    with pytest.raises(TypeError, match="asarray: like= takes a tensor or an array of the target library"):
        cr.asarray(t, like=3.0)


def test_dask_chunks_follow_like_or_the_argument() -> None:
    t = cr.tensor(A)
    assert t.to("dask", chunks=(1, 3))._data.chunks == ((1, 1), (3,))
    like = da.zeros(A.shape, chunks=(2, 1))
    assert cr.asarray(t, like=like)._data.chunks == ((2,), (1, 1, 1))
    d = cr.tensor(da.from_array(A, chunks=(1, 3)))
    assert d.to("dask", chunks=(2, 1))._data.chunks == ((2,), (1, 1, 1))  # a rechunk


def test_chainrule_numpy_asarray_takes_like() -> None:
    out = cnp.asarray([1.0, 2.0], like=da.zeros(2))
    assert _lib(out) == "dask"
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.0])
    back = cnp.asarray(out, like=np.zeros(1))
    assert _lib(back) == "numpy"


# ---------------------------------------------------------------- gradients across the move
def _via(library):
    def f(x):
        y = cr.asarray(x, like=library)
        z = cr.sin(y) * y + y * y * 0.5
        return cr.asarray(z, like="numpy")

    return f


@pytest.mark.parametrize("library", ["array_api_strict", "dask"])
def test_gradcheck_through_a_round_trip(library) -> None:
    assert gradcheck(_via(library), [A.copy()])


@pytest.mark.parametrize("library", ["array_api_strict", "dask"])
def test_the_gradient_comes_back_in_the_source_library(library) -> None:
    x = cr.tensor(A, requires_grad=True)
    y = cr.asarray(x, like=library)
    assert _lib(y) == library and y.requires_grad
    z = y * y * 3.0
    z.backward(gradient=cr.asarray(cr.tensor(np.ones_like(A)), like=library))
    assert _lib(x.grad) == "numpy"
    np.testing.assert_allclose(x.grad.numpy(), 6.0 * A, rtol=1e-13)


def test_a_dask_leaf_gets_a_lazy_gradient_with_its_own_chunks() -> None:
    leaf = cr.tensor(da.from_array(A, chunks=(1, 3)), requires_grad=True)
    n = cr.asarray(leaf, like=np)  # computes the (tiny) forward
    assert _lib(n) == "numpy"
    (cr.sum(n * n)).backward()
    assert _lib(leaf.grad) == "dask" and leaf.grad._data.chunks == ((1, 1), (3,))
    np.testing.assert_allclose(leaf.grad.numpy(), 2.0 * A, rtol=1e-13)


def test_second_order_through_a_move() -> None:
    f = _via("dask")
    x = cr.tensor(np.array(0.8), requires_grad=True)
    d2 = cr.grad(cr.grad(lambda t: f(t)))(x)
    # f = x sin x + x^2/2: f'' = 2 cos x - x sin x + 1
    np.testing.assert_allclose(d2.numpy(), 2 * np.cos(0.8) - 0.8 * np.sin(0.8) + 1, rtol=1e-12)


def test_integer_tensors_move_without_a_graph() -> None:
    i = cr.tensor(np.array([1, 2, 3]))
    s = i.to("array_api_strict")
    assert _lib(s) == "array_api_strict" and not s.requires_grad
    np.testing.assert_array_equal(s.numpy(), [1, 2, 3])


# ---------------------------------------------------------------- no shared memory, no hidden moves
@pytest.mark.parametrize("library", ["array_api_strict", "dask"])
def test_a_move_copies_so_writes_to_the_numpy_tensor_do_not_leak(library) -> None:
    t = cr.tensor(A)
    moved = t.to(library)
    t.add_(100.0)  # in place on the NumPy tensor, after the move
    np.testing.assert_array_equal(moved.numpy(), A)
    back = moved.to("numpy")
    back.add_(1.0)
    np.testing.assert_array_equal(moved.numpy(), A)
    np.testing.assert_array_equal(back.numpy(), A + 1.0)


def test_mixing_needs_an_explicit_move_and_the_error_says_how() -> None:
    d = cr.tensor(da.from_array(A, chunks=1))
    n = cr.tensor(A)
    with pytest.raises(MixedLibrariesError, match=r"dask .* numpy .*cr\.asarray\(t, like=other\)"):
        d * n
    np.testing.assert_allclose((d * cr.asarray(n, like=d)).numpy(), A * A)


def test_moving_a_numpy_tensor_inside_a_transform_is_refused() -> None:
    with pytest.raises(NotImplementedError, match="to_library: moving a NumPy tensor to dask inside a transform"):
        cr.jvp(lambda t: t.to("dask") * 2.0, (cr.tensor(A),), (cr.tensor(A),))
