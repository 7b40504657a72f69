"""Values, gradients, Jacobians and Hessians of composite functions: chainrule against PyTorch.

Every case in ``cases.py`` is computed twice, once with chainrule's native API and once with
PyTorch, at the same float64 inputs. The tests compare

- the values (proving the two functions are the same function);
- the gradient: ``cr.grad`` and ``cr.autograd.grad`` (scalar outputs) or a ``cr.vjp`` with a
  random cotangent (vector outputs) against ``torch.autograd.grad``;
- the full Jacobian: ``cr.jacrev`` and ``cr.jacfwd`` against
  ``torch.autograd.functional.jacobian``;
- the Hessian of the scalar cases: ``cr.hessian`` (reverse-over-reverse) and
  ``cr.jacfwd(cr.jacrev(f))`` (forward-over-reverse) against ``torch.autograd.functional.hessian``.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import chainrule as cr  # noqa: E402
from chainrule.core.primitive import registry  # noqa: E402
from tests.crosscheck.cases import CASES, Case  # noqa: E402


# ---------------------------------------------------------------- the checks
def _build(case: Case) -> tuple[list[np.ndarray], Any, Any]:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    inputs, f_cr, f_torch = case.build(rng)
    return [np.asarray(x, dtype=np.float64) for x in inputs], f_cr, f_torch


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    assert isinstance(x, cr.Tensor), f"expected a chainrule Tensor, got {type(x).__name__}"
    return x.numpy()


def _close(actual: Any, expected: Any, case: Case, what: str) -> None:
    a, e = _np(actual), _np(expected)
    assert a.shape == e.shape, f"{case.name}: {what} has shape {a.shape}, PyTorch gives {e.shape}"
    assert a.dtype == np.float64, f"{case.name}: {what} has dtype {a.dtype}"
    np.testing.assert_allclose(a, e, rtol=case.rtol, atol=case.atol, err_msg=f"{case.name}: {what}")


def _torch_leaves(inputs: list[np.ndarray]) -> list[Any]:
    return [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]


def _cr_args(inputs: list[np.ndarray]) -> list[Any]:
    return [cr.tensor(x) for x in inputs]


def _argnums(inputs: list[np.ndarray]) -> tuple[int, ...]:
    return tuple(range(len(inputs)))


def check_value(case: Case) -> None:
    inputs, f_cr, f_torch = _build(case)
    _close(f_cr(*_cr_args(inputs)), f_torch(*_torch_leaves(inputs)), case, "value")


def check_gradient(case: Case) -> None:
    inputs, f_cr, f_torch = _build(case)
    leaves = _torch_leaves(inputs)
    out_t = f_torch(*leaves)
    if out_t.ndim == 0:
        expected = torch.autograd.grad(out_t, leaves)
        by_transform = cr.grad(f_cr, argnums=_argnums(inputs))(*_cr_args(inputs))
        cr_leaves = [cr.tensor(x, requires_grad=True) for x in inputs]
        by_autograd = cr.autograd.grad(f_cr(*cr_leaves), cr_leaves)
        for i, e in enumerate(expected):
            _close(by_transform[i], e, case, f"cr.grad w.r.t. input {i}")
            _close(by_autograd[i], e, case, f"cr.autograd.grad w.r.t. input {i}")
    else:
        cot = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
        expected = torch.autograd.grad(out_t, leaves, grad_outputs=torch.from_numpy(cot))
        _, pullback = cr.vjp(f_cr, *_cr_args(inputs))
        got = pullback(cr.tensor(cot))
        for i, e in enumerate(expected):
            _close(got[i], e, case, f"vjp w.r.t. input {i}")


def check_jacobian(case: Case) -> None:
    inputs, f_cr, f_torch = _build(case)
    expected = torch.autograd.functional.jacobian(f_torch, tuple(_torch_leaves(inputs)))
    nums = _argnums(inputs)
    for how, jac in (("jacrev", cr.jacrev), ("jacfwd", cr.jacfwd)):
        got = jac(f_cr, argnums=nums)(*_cr_args(inputs))
        assert len(got) == len(expected)
        for i, e in enumerate(expected):
            _close(got[i], e, case, f"{how} w.r.t. input {i}")


def check_hessian(case: Case) -> None:
    inputs, f_cr, f_torch = _build(case)
    expected = torch.autograd.functional.hessian(f_torch, tuple(_torch_leaves(inputs)))
    nums = _argnums(inputs)
    rev_rev = cr.hessian(f_cr, argnums=nums)(*_cr_args(inputs))
    fwd_rev = cr.jacfwd(cr.jacrev(f_cr, argnums=nums), argnums=nums)(*_cr_args(inputs))
    for how, got in (("hessian", rev_rev), ("jacfwd(jacrev)", fwd_rev)):
        for i in range(len(inputs)):
            for j in range(len(inputs)):
                _close(got[i][j], expected[i][j], case, f"{how} block ({i}, {j})")


# ---------------------------------------------------------------- the cases
def _params(cases: list[Case], derivative: bool) -> list[Any]:
    out = []
    for c in cases:
        marks = [pytest.mark.xfail(reason=c.xfail, strict=True)] if derivative and c.xfail else []
        out.append(pytest.param(c, id=c.name, marks=marks))
    return out


def test_enough_distinct_cases() -> None:
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    assert len([c for c in CASES if not c.xfail]) >= 50, f"only {len(CASES)} cross-check cases"
    assert len([c for c in CASES if c.hessian]) >= 30


@pytest.mark.parametrize("case", _params(CASES, derivative=False))
def test_value(case: Case) -> None:
    check_value(case)


@pytest.mark.parametrize("case", _params(CASES, derivative=True))
def test_gradient(case: Case) -> None:
    check_gradient(case)


@pytest.mark.parametrize("case", _params(CASES, derivative=True))
def test_jacobian(case: Case) -> None:
    check_jacobian(case)


@pytest.mark.parametrize("case", _params([c for c in CASES if c.hessian], derivative=True))
def test_hessian(case: Case) -> None:
    check_hessian(case)


# ---------------------------------------------------------------- the checks catch small errors
def _sin_case(f_cr: Any) -> Case:
    def build(rng: np.random.Generator) -> Any:
        return [rng.uniform(-1.0, 1.0, 3)], f_cr, lambda x: torch.sum(torch.sin(x) ** 2)

    return Case("crosscheck_self_test", build, hessian=True)


def test_checks_reject_a_derivative_off_by_one_part_in_a_million() -> None:
    wrong = cr.Primitive("crosscheck_wrong_sin", np.sin, nin=1)
    try:
        wrong.def_vjp(lambda g, ans, x: g * cr.cos(x) * (1 + 1e-6))
        wrong.def_jvp(lambda t, ans, x: t * cr.cos(x))
        case = _sin_case(lambda x: cr.sum(wrong(x) ** 2))
        check_value(case)
        with pytest.raises(AssertionError, match="cr.grad"):
            check_gradient(case)
        with pytest.raises(AssertionError, match="jacrev"):
            check_jacobian(case)
    finally:
        del registry["crosscheck_wrong_sin"]


def test_checks_reject_a_wrong_second_derivative() -> None:
    # sin's first derivative is right, but cos (used by its rule) has a slightly wrong one.
    wrong_cos = cr.Primitive("crosscheck_wrong_cos", np.cos, nin=1)
    sin = cr.Primitive("crosscheck_sin", np.sin, nin=1)
    try:
        wrong_cos.def_vjp(lambda g, ans, x: -g * cr.sin(x) * (1 + 1e-6))
        wrong_cos.def_jvp(lambda t, ans, x: -t * cr.sin(x) * (1 + 1e-6))
        sin.def_vjp(lambda g, ans, x: g * wrong_cos(x))
        sin.def_jvp(lambda t, ans, x: t * wrong_cos(x))
        case = _sin_case(lambda x: cr.sum(sin(x) ** 2))
        check_gradient(case)
        check_jacobian(case)
        with pytest.raises(AssertionError, match="hessian"):
            check_hessian(case)
    finally:
        del registry["crosscheck_wrong_cos"]
        del registry["crosscheck_sin"]
