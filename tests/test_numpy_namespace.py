"""chainrule.numpy: NumPy's names, signatures and semantics over chainrule's ops."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule.numpy import _resolve


def test_re_exports_native_ops_and_differentiates_through_them():
    g = cr.grad(lambda x: np.sum(np.sin(x) * np.exp(x)))(numpy.array([0.1, -0.4]))
    x = numpy.array([0.1, -0.4])
    numpy.testing.assert_allclose(g._data, numpy.cos(x) * numpy.exp(x) + numpy.sin(x) * numpy.exp(x))


def test_ufunc_aliases_come_from_the_protocol_table():
    # absolute / negative / true_divide / remainder are NumPy ufunc names the native API lacks.
    x = cr.tensor([-2.0, 3.0], requires_grad=True)
    y = np.sum(np.absolute(x)) + np.sum(np.negative(x)) + np.sum(np.true_divide(x, 2.0))
    y.backward()
    numpy.testing.assert_allclose(x.grad._data, [-1 - 1 + 0.5, 1 - 1 + 0.5])
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        np.absolute(x, where=True)


def test_clip_takes_numpy_keywords():
    x = cr.tensor([-1.0, 0.5, 3.0], requires_grad=True)
    y = np.clip(x, a_min=0.0, a_max=1.0)
    numpy.testing.assert_allclose(y._data, [0.0, 0.5, 1.0])
    y.sum().backward()
    numpy.testing.assert_allclose(x.grad._data, [0.0, 1.0, 0.0])
    numpy.testing.assert_allclose(np.clip(x, 0.0, 1.0)._data, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("call", [
    lambda x: np.sum(x, out=numpy.zeros(())),
    lambda x: np.sin(x, out=numpy.zeros(2)),
    lambda x: np.tanh(x, out=numpy.zeros(2)),
    lambda x: np.linalg.norm(x, out=numpy.zeros(())),
])  # fmt: skip
def test_out_is_refused_clearly(call):
    with pytest.raises(TypeError, match="out= is not supported"):
        call(cr.tensor([1.0, 2.0]))


def test_unsupported_keyword_names_the_function():
    with pytest.raises(TypeError, match=r"chainrule\.numpy\.sum does not support initial= yet"):
        np.sum(cr.tensor([1.0]), initial=1.0)


def test_one_argument_where_is_nonzero_and_three_argument_where_differentiates():
    (idx,) = np.where([True, False, True])
    assert idx.tolist() == [0, 2]
    (idx,) = np.where(cr.tensor([0.0, 2.0, 0.0]))
    assert idx.tolist() == [1]
    g = cr.grad(lambda x: np.sum(np.where(x > 0, x**2, 3.0 * x)))(numpy.array([-1.0, 2.0]))
    numpy.testing.assert_allclose(g._data, [3.0, 4.0])
    with pytest.raises(TypeError, match="either only the condition"):
        np.where([True], 1.0)


def test_array_of_a_nested_list_holding_tensors_is_differentiable():
    def f(x):
        m = np.array([[x, 2.0 * x], [x**2, 1.0]])
        return np.sum(m * numpy.array([[1.0, 10.0], [100.0, 1000.0]]))

    # d/dx (x + 20 x + 100 x^2) = 21 + 200 x
    assert float(cr.grad(f)(0.5)) == pytest.approx(121.0)
    assert float(cr.jvp(f, (0.5,), (1.0,))[1]) == pytest.approx(121.0)


def test_array_of_a_tensor_copies_but_keeps_the_history():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array(x)
    assert y is not x and y._data is not x._data and y.requires_grad
    # forward mode sees through the copy too (a plain copy would give a zero tangent)
    assert float(cr.jvp(lambda t: np.array(t), (3.0,), (1.0,))[1]) == 1.0
    assert np.asarray(x) is x


def test_array_dtype_and_ndmin():
    a = np.array([1, 2], dtype=np.float32, ndmin=3)
    assert a.dtype == numpy.float32 and a.shape == (1, 1, 2)
    with pytest.raises(TypeError, match="complex"):
        np.array([1.0], dtype=numpy.complex128)


def test_ravel_as_function_and_method():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert np.ravel(x).shape == (4,)
    y = x.ravel()
    assert y.shape == (4,)
    (y * cr.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    numpy.testing.assert_allclose(x.grad._data, [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="order='F'"):
        x.ravel("F")


def test_constants_dtypes_and_nondifferentiable_helpers_are_numpys():
    assert np.pi == numpy.pi and np.e == numpy.e and np.inf == numpy.inf and np.newaxis is None
    assert np.float64 is numpy.float64 and np.int32 is numpy.int32
    x = cr.tensor(numpy.ones((2, 3)), requires_grad=True)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert np.isscalar(1.0) and not np.isscalar(x)
    assert np.allclose(x, numpy.ones((2, 3)))
    assert np.argsort(cr.tensor([3.0, 1.0, 2.0])).tolist() == [1, 2, 0]
    z = np.zeros_like(x)
    assert z.shape == (2, 3) and not z.requires_grad and float(z.sum()) == 0.0


def test_creation_functions_take_numpys_positional_arguments():
    assert np.zeros((2, 3), np.float32).dtype == numpy.float32
    assert np.ones(3).shape == (3,)
    numpy.testing.assert_array_equal(np.eye(2, 3, 1)._data, numpy.eye(2, 3, 1))
    numpy.testing.assert_array_equal(np.identity(2)._data, numpy.eye(2))


def test_make_diagonal_inverts_diagonal():
    d = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = np.make_diagonal(d)
    assert m.shape == (2, 2, 2)
    numpy.testing.assert_array_equal(np.diagonal(m, axis1=-2, axis2=-1)._data, d._data)
    with pytest.raises(NotImplementedError, match="axis1"):
        np.make_diagonal(d, axis1=0, axis2=1)


def test_a_numpy_name_chainrule_lacks_says_so():
    with pytest.raises(AttributeError, match=r"chainrule\.numpy has no bartlett yet"):
        np.bartlett  # noqa: B018
    with pytest.raises(AttributeError, match=r"chainrule\.numpy\.linalg has no tensorinv yet"):
        np.linalg.tensorinv  # noqa: B018
    with pytest.raises(AttributeError, match="nor has numpy"):
        np.no_such_numpy_function  # noqa: B018
    assert not hasattr(np, "no_such_numpy_function")


def test_linalg_resolves_to_native_ops_with_numpy_signatures():
    a = numpy.array([[2.0, 1.0], [1.0, 3.0]])
    assert float(np.linalg.det(a)) == pytest.approx(5.0)
    numpy.testing.assert_allclose(np.linalg.inv(a)._data, numpy.linalg.inv(a))
    numpy.testing.assert_allclose(np.linalg.norm(cr.tensor(a), axis=0)._data, numpy.linalg.norm(a, axis=0))
    g = cr.grad(lambda m: np.linalg.det(m))(a)  # d det / dA = det(A) inv(A)^T
    numpy.testing.assert_allclose(g._data, 5.0 * numpy.linalg.inv(a).T)


def test_random_is_numpys_and_shares_its_seed():
    np.random.seed(3)
    first = np.random.randn(3)
    numpy.random.seed(3)
    assert isinstance(first, numpy.ndarray)
    numpy.testing.assert_array_equal(first, numpy.random.randn(3))


def test_native_ops_added_later_appear_without_editing_the_namespace(monkeypatch):
    # The rule reads the native API when a name is first asked for: a new native op with a NumPy
    # name (here a stand-in for numpy's `bartlett`) shows up by itself.
    def bartlett(m):
        return cr.ones(m)

    monkeypatch.setattr(cr, "bartlett", bartlett, raising=False)
    try:
        assert np.bartlett(3).shape == (3,)
    finally:
        np.__dict__.pop("bartlett", None)  # the resolved name is cached in the module


def test_rows_added_to_the_protocol_table_appear_too(monkeypatch):
    from chainrule.ops import numpy_protocol

    monkeypatch.setitem(numpy_protocol.ARRAY_FUNCTIONS, numpy.hanning, lambda m: cr.full((m,), 7.0))
    try:
        assert float(np.hanning(2)[0]) == 7.0
    finally:
        np.__dict__.pop("hanning", None)


def test_dir_lists_what_resolves():
    names = dir(np)
    assert {"sum", "sin", "array", "absolute", "pi", "clip"} <= set(names)
    assert "bartlett" not in names and "random" in names
    assert not [n for n in names if n.startswith("_") and n != "__version__"] and "Any" not in names


def test_names_not_taken_from_the_native_namespace():
    # chainrule.random is chainrule's, chainrule.empty PyTorch-style: neither is NumPy's.
    assert np.random is not cr.random
    assert "empty" in _resolve._NOT_FROM_NATIVE and np.empty((2,)).shape == (2,)



def test_sequence_functions_take_a_single_array_as_its_rows(monkeypatch):
    # NumPy reads one array as the sequence of its slices along axis 0 (np.vstack(a)); a native
    # op that takes only lists gets the rows.
    def vstack(tup):
        if not isinstance(tup, (list, tuple)):
            raise TypeError("vstack: expects a sequence")
        return cr.concatenate([cr.reshape(t, (1, -1)) if t.ndim < 2 else t for t in tup], 0)

    monkeypatch.setattr(cr, "vstack", vstack, raising=False)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    try:
        y = np.vstack(x)
        assert y.shape == (2, 1)  # NumPy: rows of shape () each become (1, 1)
        (y[:, 0] * cr.tensor([3.0, 4.0])).sum().backward()
        numpy.testing.assert_array_equal(x.grad._data, [3.0, 4.0])
        with pytest.raises(ValueError, match="0-d"):
            np.vstack(cr.tensor(1.0))
    finally:
        np.__dict__.pop("vstack", None)
