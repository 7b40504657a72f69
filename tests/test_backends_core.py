"""The core's side of array libraries under tensors (core/backend.py, issue 16): which namespace an
op runs in, the mixing error, what a non-NumPy tensor keeps, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import backend
from chainrule.core.backend import MixedLibrariesError, UnsupportedOnLibrary
from chainrule.core.primitive import Primitive, registry

xs = pytest.importorskip("array_api_strict")


def _is_strict(t) -> bool:
    return type(t._data).__module__.startswith("array_api_strict")


def test_numpy_values_take_numpy_itself() -> None:
    assert backend.namespace_of(np.ones(3), 2.0, np.float32(1)) is np
    assert backend.is_plain(np.float64(1.0)) and backend.is_plain(3) and not backend.is_plain(xs.ones(2))


def test_a_strict_tensor_stays_strict_through_forward_and_backward() -> None:
    x = cr.tensor(xs.asarray([0.25, -1.5, 2.0]), requires_grad=True)
    assert _is_strict(x)
    y = cr.exp(x) * x + 1.0  # ufunc forwards (exp, mul, add) take the namespace's functions
    assert _is_strict(y) and y.requires_grad
    y.backward(gradient=cr.tensor(xs.ones(3, dtype=xs.float64)))
    assert _is_strict(x.grad)
    ref = np.array([0.25, -1.5, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(ref) * (1 + ref), rtol=1e-12)


def test_two_libraries_in_one_op_are_an_error_naming_both() -> None:
    s = cr.tensor(xs.asarray([1.0, 2.0]))
    n = cr.tensor(np.array([1.0, 2.0]))
    with pytest.raises(MixedLibrariesError, match=r"mul: .*array_api_strict.*numpy|mul: .*numpy.*array_api_strict"):
        s * n


def test_a_numpy_scalar_mixes_with_any_library() -> None:
    s = cr.tensor(xs.asarray([1.0, 2.0]))
    for c in (2.0, np.float64(2.0), np.array(2.0), cr.tensor(2.0)):
        out = s * c
        assert _is_strict(out)
        np.testing.assert_allclose(out.numpy(), [2.0, 4.0])


def test_a_forward_written_for_numpy_only_refuses_clearly() -> None:
    p = Primitive("numpy_only_doc_test", lambda x: np.sinc(x), nin=1, register=False)
    with pytest.raises(UnsupportedOnLibrary, match="numpy_only_doc_test: not available for array_api_strict"):
        p(cr.tensor(xs.asarray([1.0])))


def test_a_ufunc_outside_the_standard_refuses_clearly() -> None:
    p = Primitive("ldexp_doc_test", np.ldexp, nin=2, register=False)
    with pytest.raises(UnsupportedOnLibrary, match="ldexp_doc_test: .*ldexp is not in the array API"):
        p(cr.tensor(xs.asarray([1.0])), 2)


def test_a_forward_that_takes_xp_gets_the_namespace() -> None:
    seen = []

    def impl(x, xp=np):
        seen.append(xp)
        return xp.abs(x)

    p = Primitive("xp_doc_test", impl, nin=1, register=False)
    p(cr.tensor(np.array([-1.0])))
    p(cr.tensor(xs.asarray([-1.0])))
    assert seen[0] is np and seen[1] is xs


def test_in_place_writes_are_refused_on_other_libraries() -> None:
    s = cr.tensor(xs.asarray([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="in-place operations are supported on NumPy tensors only"):
        s += 1.0


def test_numpy_conversion_and_printing_of_a_strict_tensor() -> None:
    s = cr.tensor(xs.asarray([1.0, 2.0]), requires_grad=True)
    assert isinstance(s.numpy(), np.ndarray) and s.shape == (2,) and len(s) == 2
    assert "requires_grad=True" in repr(s) and "1." in repr(s)
    assert float(cr.tensor(xs.asarray(3.5))) == 3.5


def test_requires_grad_checks_read_other_libraries_dtypes() -> None:
    with pytest.raises(TypeError, match="only floating-point or complex"):
        cr.tensor(xs.asarray([1, 2]), requires_grad=True)
    assert backend.dtype_kind(xs.float32) == "f" and backend.dtype_kind(xs.int64) == "i"


def test_numpy_path_never_consults_the_other_libraries_forward() -> None:
    # NumPy tensors run prim.impl itself; no per-library forward is made for them.
    p = registry["tanh"]
    before = dict(p.xp_impls or {})
    cr.tanh(cr.tensor(np.array([0.5]), requires_grad=True)).sum().backward()
    assert np not in (p.xp_impls or {}) and (p.xp_impls or {}) == before


def test_grad_value_and_grad_and_jvp_on_strict_tensors() -> None:
    # (They read the dtype's kind, which strict dtypes do not have: AttributeError before.)
    a = np.array([0.5, 1.0])
    x = cr.tensor(xs.asarray(a))
    g = cr.grad(lambda t: cr.sum(cr.sin(t) * t))(x)
    assert _is_strict(g)
    np.testing.assert_allclose(g.numpy(), np.sin(a) + a * np.cos(a), rtol=1e-12)
    value, g2 = cr.value_and_grad(lambda t: cr.sum(cr.sin(t) * t))(x)
    np.testing.assert_allclose(float(value), float(np.sum(np.sin(a) * a)), rtol=1e-12)
    out, tangent = cr.jvp(lambda t: cr.sin(t) * t, (x,), (cr.tensor(xs.asarray([1.0, 0.0])),))
    assert _is_strict(out) and _is_strict(tangent)
    np.testing.assert_allclose(tangent.numpy(), [np.sin(0.5) + 0.5 * np.cos(0.5), 0.0], rtol=1e-12)
