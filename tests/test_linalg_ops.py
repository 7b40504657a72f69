"""Focused tests for ops/linalg.py: error messages, dtypes, the cost of matmul's backward, JVP
rules against finite differences (the op table checks the VJPs), and slogdet's sign."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops import linalg
from chainrule.ops.linalg import (
    cholesky_p,
    det_p,
    diagonal_p,
    diagonal_scatter_p,
    einsum_p,
    inv_p,
    logabsdet_p,
    matmul_p,
    solve_p,
)  # fmt: skip

RNG = np.random.default_rng(1234)


def _impl(prim: Any, args: list[Any], params: dict[str, Any]) -> np.ndarray:
    return np.asarray(prim.impl(*args, **params), dtype=np.float64)


def check_jvp_rules(prim: Any, args: list[Any], tangents: list[Any], params: dict[str, Any] | None = None,
                    rtol: float = 1e-6, atol: float = 1e-8) -> None:  # fmt: skip
    """The JVP rules (summed over the inputs with a tangent) against central differences of the
    forward, on raw arrays and on Tensors (where the result must be a recorded Tensor)."""
    params = params or {}
    args = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in args]
    eps = 1e-6
    plus = [a + eps * t if t is not None else a for a, t in zip(args, tangents)]
    minus = [a - eps * t if t is not None else a for a, t in zip(args, tangents)]
    numerical = (_impl(prim, plus, params) - _impl(prim, minus, params)) / (2 * eps)

    for as_tensor in (False, True):
        wrap = (lambda v: cr.tensor(v, requires_grad=v.dtype.kind == "f")) if as_tensor else (lambda v: v)
        xs = [wrap(a) for a in args]
        ans = prim.impl(*args, **params)
        total = None
        for rule, t in zip(prim.jvp_rules, tangents):
            if t is None or rule is None:
                continue
            out = rule(wrap(np.asarray(t)), ans, *xs, **params)
            if out is None:
                continue
            total = out if total is None else total + out
        assert total is not None
        if as_tensor:
            assert isinstance(total, cr.Tensor) and total.requires_grad
            total = total.numpy()
        np.testing.assert_allclose(np.asarray(total), numerical, rtol=rtol, atol=atol)


def _r(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def _well(*shape: int) -> np.ndarray:
    return 0.3 * RNG.standard_normal(shape) + 2.0 * np.eye(shape[-1])


# ---------------------------------------------------------------- errors
def test_matmul_not_aligned_message() -> None:
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3, 4\) and \(5, 2\) are not aligned: 4 \(dim 1\) != 5 \(dim 0\)$"):
        cr.matmul(cr.ones((3, 4)), cr.ones((5, 2)))
    with pytest.raises(ValueError, match=r"matmul: shapes \(3,\) and \(4,\) are not aligned: 3 \(dim 0\) != 4 \(dim 0\)"):
        cr.ones(3) @ cr.ones(4)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(2, 5, 2\) are not aligned: 4 \(dim 2\) != 5 \(dim 1\)"):
        cr.ones((2, 3, 4)) @ cr.ones((2, 5, 2))


def test_matmul_batch_and_scalar_errors() -> None:
    with pytest.raises(ValueError, match=r"batch dimensions \(2,\) and \(3,\).*do not broadcast"):
        cr.matmul(cr.ones((2, 3, 4)), cr.ones((3, 4, 2)))
    with pytest.raises(ValueError, match="at least one dimension"):
        cr.matmul(cr.tensor(2.0), cr.ones(3))


def test_einsum_rejects_what_it_does_not_support() -> None:
    x = cr.ones((2, 3))
    # ('...' is supported; NumPy too refuses an output that has nowhere to put its dimensions.)
    with pytest.raises(ValueError, match=r"under '\.\.\.' \(\(2,\)\) but the output 'i' has no '\.\.\.'"):
        cr.einsum("...i->i", x)
    with pytest.raises(ValueError, match=r"name 2 operand\(s\) but 1 were given"):
        cr.einsum("ij,jk->ik", x)
    with pytest.raises(ValueError, match=r"dimension 'j' has size 3 in one place and 2"):
        cr.einsum("ij,jk->ik", x, cr.ones((2, 2)))
    with pytest.raises(ValueError, match=r"operand 0 has 2 dimension"):
        cr.einsum("ijk->i", x)
    with pytest.raises(ValueError, match=r"output subscript 'z'"):
        cr.einsum("ij->z", x)
    with pytest.raises(ValueError, match="repeat"):
        cr.einsum("ij->ii", x)
    with pytest.raises(ValueError, match="invalid subscript"):
        cr.einsum("i1->i", x)
    with pytest.raises(TypeError, match="subscripts string"):
        cr.einsum(x, x)


def test_matrix_function_errors() -> None:
    with pytest.raises(ValueError, match=r"inv: expected a square matrix .* got shape \(2, 3\)"):
        cr.inv(cr.ones((2, 3)))
    with pytest.raises(TypeError, match="det: expected a float32 or float64 matrix, got int64"):
        cr.det(cr.tensor([[1, 2], [3, 4]]))
    with pytest.raises(ValueError, match=r"solve: a has shape \(2, 2\) but b has shape \(3,\)"):
        cr.solve(cr.eye(2), cr.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match="cholesky"):
        cr.cholesky(cr.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(np.linalg.LinAlgError, match="inv"):
        cr.inv(cr.zeros((2, 2)))
    with pytest.raises(ValueError, match="axis1 and axis2 must differ"):
        cr.diagonal(cr.ones((2, 2)), 0, 1, 1)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        cr.trace(cr.ones(3))


# ---------------------------------------------------------------- dtypes, methods, cost
def test_matmul_float32_stays_float32() -> None:
    x = cr.tensor(_r(5, 4).astype(np.float32), requires_grad=True)
    w = cr.tensor(_r(4, 3).astype(np.float32), requires_grad=True)
    y = x @ w
    assert y.dtype == np.float32
    cr.sum(y * y).backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    expected_w = x.numpy().T @ (2 * y.numpy())
    np.testing.assert_allclose(w.grad.numpy(), expected_w, rtol=1e-5)


def test_matmul_backward_is_two_matmuls_on_views(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[np.ndarray, np.ndarray]] = []
    real = matmul_p.impl

    def counting(a: Any, b: Any) -> Any:
        calls.append((a, b))
        return real(a, b)

    x_data, w_data = _r(6, 4).astype(np.float32), _r(4, 3).astype(np.float32)
    x = cr.tensor(x_data, requires_grad=True)
    w = cr.tensor(w_data, requires_grad=True)
    monkeypatch.setattr(matmul_p, "impl", counting)
    y = x @ w
    cr.sum(y).backward()
    assert len(calls) == 3  # one forward, g @ w.T and x.T @ g
    transposed = [b for a, b in calls[1:2]] + [a for a, b in calls[2:3]]
    # The transposes handed to NumPy are views of the saved inputs, not copies.
    assert np.shares_memory(transposed[0], w._data) and np.shares_memory(transposed[1], x._data)


def test_tensor_methods_and_mixed_operands() -> None:
    a = cr.tensor(_r(3, 3), requires_grad=True)
    np.testing.assert_allclose((a @ a).numpy(), a.numpy() @ a.numpy())
    np.testing.assert_allclose(([[1.0, 2.0, 3.0]] @ a).numpy(), np.array([[1.0, 2.0, 3.0]]) @ a.numpy())
    np.testing.assert_allclose(a.dot(a).numpy(), a.numpy().dot(a.numpy()))
    np.testing.assert_allclose(a.trace().numpy(), np.trace(a.numpy()))
    np.testing.assert_allclose(a.diagonal(1).numpy(), np.diagonal(a.numpy(), 1))
    out = np.ones((2, 3)) @ a
    assert isinstance(out, cr.Tensor) and out.requires_grad


def test_slogdet_sign_has_no_gradient() -> None:
    x = cr.tensor(np.array([[[-2.0, 0.0], [0.0, 3.0]], [[1.0, 0.5], [0.2, 2.0]]]), requires_grad=True)
    sign, logabs = cr.slogdet(x)
    np.testing.assert_array_equal(sign.numpy(), [-1.0, 1.0])
    assert not sign.requires_grad
    np.testing.assert_allclose(logabs.numpy(), np.log(np.abs(np.linalg.det(x.numpy()))))
    cr.sum(logabs).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.swapaxes(np.linalg.inv(x.numpy()), -1, -2))


def test_solve_matches_inverse_gradient() -> None:
    a_data, b_data = _well(3, 3), _r(3)
    a = cr.tensor(a_data, requires_grad=True)
    b = cr.tensor(b_data, requires_grad=True)
    cr.sum(cr.solve(a, b)).backward()
    a2 = cr.tensor(a_data, requires_grad=True)
    b2 = cr.tensor(b_data, requires_grad=True)
    cr.sum(cr.inv(a2) @ b2).backward()
    np.testing.assert_allclose(a.grad.numpy(), a2.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), b2.grad.numpy(), rtol=1e-10)


def test_einsum_hessian_of_quadratic_form() -> None:
    m = _r(3, 3)
    x = cr.tensor(_r(3), requires_grad=True)
    f = cr.einsum("i,ij,j->", x, cr.tensor(m), x)
    (g,) = cr.autograd.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), (m + m.T) @ x.numpy())
    rows = [cr.autograd.grad(cr.sum(g * cr.tensor(np.eye(3)[i])), x, retain_graph=True)[0].numpy()
            for i in range(3)]
    np.testing.assert_allclose(np.array(rows), m + m.T)


# ---------------------------------------------------------------- JVP rules
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 2)),
                                   ((2, 2, 3), (3,)), ((3,), (2, 3, 2)), ((2, 1, 2, 3), (3, 3, 2))])  # fmt: skip
def test_matmul_jvp(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    check_jvp_rules(matmul_p, [_r(*sa), _r(*sb)], [_r(*sa), _r(*sb)])


@pytest.mark.parametrize("subscripts,shapes", [("ij,jk->ik", [(2, 3), (3, 2)]), ("ii,i->i", [(3, 3), (3,)]),
                                               ("ij,k->ik", [(2, 3), (2,)]), ("iij,->j", [(2, 2, 3), ()])])  # fmt: skip
def test_einsum_jvp(subscripts: str, shapes: list[tuple[int, ...]]) -> None:
    args = [_r(*s) for s in shapes]
    check_jvp_rules(einsum_p, args, [_r(*s) for s in shapes], {"subscripts": subscripts})


def test_diagonal_jvps() -> None:
    params = {"offset": 1, "axis1": 2, "axis2": 0}
    check_jvp_rules(diagonal_p, [_r(3, 2, 4)], [_r(3, 2, 4)], params)
    g = diagonal_p.impl(_r(3, 2, 4), **params)
    check_jvp_rules(diagonal_scatter_p, [g], [_r(*g.shape)], {"shape": (3, 2, 4), **params})


@pytest.mark.parametrize("prim", [inv_p, det_p, logabsdet_p])
def test_matrix_function_jvps(prim: Any) -> None:
    check_jvp_rules(prim, [_well(3, 3)], [_r(3, 3)])
    check_jvp_rules(prim, [_well(2, 2, 2)], [_r(2, 2, 2)])


@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (1, 3, 2))])
def test_solve_jvp(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    check_jvp_rules(solve_p, [_well(*sa), _r(*sb)], [_r(*sa), _r(*sb)])
    check_jvp_rules(solve_p, [_well(*sa), _r(*sb)], [None, _r(*sb)])


def test_cholesky_jvp_with_symmetric_tangent() -> None:
    b = _r(3, 3)
    spd = b @ b.T + np.eye(3)
    t = _r(3, 3)
    check_jvp_rules(cholesky_p, [spd], [t + t.T])


def test_jvp_and_vjp_are_adjoint_for_cholesky() -> None:
    b = _r(2, 3, 3)
    spd = b @ np.swapaxes(b, -1, -2) + np.eye(3)
    ans = cholesky_p.impl(spd)
    u, v = _r(2, 3, 3), _r(2, 3, 3)
    lhs = np.sum(u * cholesky_p.jvp_rules[0](v, ans, spd))
    rhs = np.sum(cholesky_p.vjp_rules[0](u, ans, spd) * v)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_module_exports() -> None:
    for name in linalg.__all__:
        assert getattr(cr, name) is getattr(linalg, name)


def test_slogdet_under_vmap_with_a_trailing_batch_axis() -> None:
    from chainrule.transforms import vmap

    a = np.stack([_well(3, 3) * (-1) ** k for k in range(4)], axis=-1)  # (3, 3, 4)
    sign, logabs = vmap(cr.slogdet, in_axes=2)(cr.tensor(a))
    ref_sign, ref_logabs = np.linalg.slogdet(np.moveaxis(a, -1, 0))
    np.testing.assert_array_equal(sign.numpy(), ref_sign)
    np.testing.assert_allclose(logabs.numpy(), ref_logabs, rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3), (1, 1)])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (-2, -1), (0, -1)])
def test_diagonal_scatter_matrix_every_offset(shape: tuple[int, int], axes: tuple[int, int]) -> None:
    # A matrix's diagonal is written through a strided flat view: every offset and both axis
    # orders must put g exactly where np.diagonal reads it back, with zeros everywhere else.
    a1, a2 = axes
    for offset in range(-shape[0] - 1, shape[1] + 2):
        length = np.diagonal(np.zeros(shape), offset, a1, a2).shape[-1]
        g = RNG.standard_normal(length) + 1.0
        if length == 0:
            continue
        out = diagonal_scatter_p.impl(g, shape=shape, offset=offset, axis1=a1, axis2=a2)
        assert out.shape == shape and out.dtype == g.dtype
        np.testing.assert_array_equal(np.diagonal(out, offset, a1, a2), g)
        mask = np.ones(shape, dtype=bool)
        idx = np.arange(length)
        rows = idx + max(-offset, 0)
        cols = idx + max(offset, 0)
        if (a1 % 2, a2 % 2) == (1, 0):
            rows, cols = cols, rows
        mask[rows, cols] = False
        assert not np.any(out[mask])
    with pytest.raises((ValueError, IndexError)):
        diagonal_scatter_p.impl(np.ones(7), shape=shape, offset=0, axis1=a1, axis2=a2)
