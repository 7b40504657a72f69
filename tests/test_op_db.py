"""Tests generated from the op table: forward, first and second order, shapes, dtypes, agreement
of the front doors, and coverage of the primitive registry."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import registry
from chainrule.testing import GradcheckError, gradcheck, gradgradcheck, numerical_jacobian
from tests.op_db import OP_DB, OpInfo, rng_for

CASES = [(e, s) for e in OP_DB for s in e.samples(rng_for(e.name))]
IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(CASES)]
DIFF_CASES = [(e, s) for e, s in CASES if e.differentiable]
DIFF_IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(DIFF_CASES)]


def _grad_positions(entry: OpInfo, sample) -> tuple[int, ...]:
    if entry.grad_args is not None:
        return entry.grad_args
    return tuple(i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f")


def _closure(entry: OpInfo, sample):
    """f(*differentiable args) with the other args fixed as constants."""
    positions = _grad_positions(entry, sample)

    def f(*xs):
        args = list(sample.args)
        for p, x in zip(positions, xs):
            args[p] = x
        args = [a if isinstance(a, cr.Tensor) else cr.tensor(a) for a in args]
        return entry.op(*args, **sample.kwargs)

    return f, [np.asarray(sample.args[p], dtype=np.float64) for p in positions]


@pytest.mark.parametrize("entry,sample", CASES, ids=IDS)
def test_forward_matches_reference(entry: OpInfo, sample) -> None:
    if entry.ref is None:
        pytest.skip(f"{entry.name} has no NumPy reference (its forward is checked by its own test)")
    out = entry.op(*[cr.tensor(a) for a in sample.args], **sample.kwargs)
    outs = out if isinstance(out, (tuple, list)) else [out]
    refs = entry.ref(*sample.args, **sample.kwargs)
    refs = refs if isinstance(refs, (tuple, list)) else [refs]
    for o, r in zip(outs, refs):
        assert isinstance(o, cr.Tensor)
        np.testing.assert_allclose(o.numpy(), np.asarray(r), rtol=1e-10, atol=1e-12)
        assert o.shape == np.shape(r)


@pytest.mark.parametrize("entry,sample", DIFF_CASES, ids=DIFF_IDS)
def test_gradcheck_first_order(entry: OpInfo, sample) -> None:
    f, xs = _closure(entry, sample)
    assert gradcheck(f, xs, atol=entry.atol, rtol=entry.rtol)


@pytest.mark.parametrize("entry,sample", [c for c in DIFF_CASES if c[0].second_order],
                         ids=[i for i, c in zip(DIFF_IDS, DIFF_CASES) if c[0].second_order])
def test_gradgradcheck_second_order(entry: OpInfo, sample) -> None:
    f, xs = _closure(entry, sample)
    assert gradgradcheck(f, xs, atol=entry.atol, rtol=entry.rtol)


@pytest.mark.parametrize("entry,sample", DIFF_CASES, ids=DIFF_IDS)
def test_backward_and_autograd_grad_agree(entry: OpInfo, sample) -> None:
    f, xs = _closure(entry, sample)
    leaves = [cr.tensor(x, requires_grad=True) for x in xs]
    out = f(*leaves)
    outs = out if isinstance(out, (tuple, list)) else [out]
    total = sum(cr.sum(o * o) for o in outs)
    grads = cr.autograd.grad(total, leaves, retain_graph=True, allow_unused=True)
    total.backward()
    for leaf, g in zip(leaves, grads):
        if g is None:
            assert leaf.grad is None
            continue
        assert g.shape == leaf.shape and g.dtype == leaf.dtype
        np.testing.assert_allclose(leaf.grad.numpy(), g.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("entry,sample", DIFF_CASES, ids=DIFF_IDS)
def test_float32_gradients_keep_dtype_and_agree(entry: OpInfo, sample) -> None:
    f, xs = _closure(entry, sample)
    leaves32 = [cr.tensor(x.astype(np.float32), requires_grad=True) for x in xs]
    leaves64 = [cr.tensor(x, requires_grad=True) for x in xs]
    g32 = cr.autograd.grad(cr.sum(f(*leaves32)), leaves32, allow_unused=True)
    g64 = cr.autograd.grad(cr.sum(f(*leaves64)), leaves64, allow_unused=True)
    for a, b, leaf in zip(g32, g64, leaves32):
        if a is None:
            assert b is None
            continue
        assert a.dtype == np.float32 and a.shape == leaf.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("entry,sample", [c for c in CASES if not c[0].differentiable],
                         ids=[i for i, c in zip(IDS, CASES) if not c[0].differentiable])
def test_nondifferentiable_ops_carry_no_gradient(entry: OpInfo, sample) -> None:
    args = [cr.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in sample.args]
    out = entry.op(*args, **sample.kwargs)
    assert not out.requires_grad
    assert out.grad_fn is None


def test_every_registered_primitive_has_an_entry() -> None:
    covered = {p for e in OP_DB for p in e.primitives}
    missing = sorted(set(registry) - covered)
    assert not missing, f"primitives without an op_db entry: {missing}"
    unknown = sorted(covered - set(registry))
    assert not unknown, f"op_db entries name primitives that are not registered: {unknown}"


def test_checker_rejects_a_wrong_rule() -> None:
    wrong = cr.Primitive("wrong_sin_for_test", np.sin, nin=1)
    try:
        wrong.def_vjp(lambda g, ans, x: g * np.cos(x) * 1.01)  # 1% off
        wrong.def_jvp(lambda t, ans, x: t * np.cos(x))
        with pytest.raises(GradcheckError, match="Jacobian mismatch"):
            gradcheck(lambda x: wrong(x), [np.array([0.3, 1.1])])
    finally:
        del registry["wrong_sin_for_test"]


def test_checker_rejects_a_rule_wrong_by_one_part_in_ten_thousand() -> None:
    # Wrong the same way in both modes, so forward and reverse agree with each other: only finite
    # differences can tell, and only with tolerances well below 1e-4.
    wrong = cr.Primitive("slightly_wrong_sin_for_test", np.sin, nin=1)
    try:
        wrong.def_vjp(lambda g, ans, x: g * np.cos(x) * (1 + 1e-4))
        wrong.def_jvp(lambda t, ans, x: t * np.cos(x) * (1 + 1e-4))
        f, x = (lambda x: wrong(x)), np.array([0.3, 1.1, -2.0])
        ones = cr.tensor(np.ones(3))
        _, tangent = cr.jvp(f, (cr.tensor(x),), (ones,))
        _, pullback = cr.vjp(f, cr.tensor(x))
        np.testing.assert_allclose(tangent.numpy(), pullback(ones)[0].numpy(), rtol=1e-15)
        # The reverse rule: rejected by gradcheck's defaults, accepted by the old ones.
        assert gradcheck(f, [x], atol=1e-5, rtol=1e-4)
        with pytest.raises(GradcheckError, match="Jacobian mismatch"):
            gradcheck(f, [x])
        # The forward rule, as test_op_db_jvp checks it: jacfwd against finite differences.
        fwd = cr.jacfwd(f)(cr.tensor(x)).numpy()
        num = numerical_jacobian(f, [x])[0][0]
        np.testing.assert_allclose(fwd, num, atol=1e-5, rtol=1e-4)
        with pytest.raises(AssertionError, match="Not equal to tolerance"):
            np.testing.assert_allclose(fwd, num, atol=OpInfo.atol, rtol=OpInfo.rtol)
    finally:
        del registry["slightly_wrong_sin_for_test"]


def test_square_matmul_samples_catch_a_missing_transpose() -> None:
    # matmul's VJPs without their transposes: with non-square operands the products fail on
    # shapes, but with square ones they run, so only the values (the matmul_square entry) show it.
    wrong = cr.Primitive("matmul_missing_transpose_for_test", np.matmul, nin=2)
    try:
        wrong.def_vjp(lambda g, ans, a, b: cr.matmul(g, b), lambda g, ans, a, b: cr.matmul(a, g))
        entry = next(e for e in OP_DB if e.name == "matmul_square")
        (sample,) = entry.samples(rng_for(entry.name))
        assert gradcheck(cr.matmul, list(sample.args))
        with pytest.raises(GradcheckError, match="Jacobian mismatch"):
            gradcheck(lambda a, b: wrong(a, b), list(sample.args))
        rect = next(e for e in OP_DB if e.name == "matmul_mat_mat")
        (sample,) = rect.samples(rng_for(rect.name))
        with pytest.raises(ValueError, match="matmul"):
            gradcheck(lambda a, b: wrong(a, b), list(sample.args))
    finally:
        del registry["matmul_missing_transpose_for_test"]


def test_checker_rejects_a_wrong_second_derivative() -> None:
    # Right first derivative computed with raw arrays: its own derivative is then missing.
    wrong = cr.Primitive("wrong_square_for_test", np.square, nin=1)
    try:
        wrong.def_vjp(lambda g, ans, x: g * 2 * (x._data if isinstance(x, cr.Tensor) else x))
        wrong.def_jvp(lambda t, ans, x: t * 2 * x)
        assert gradcheck(lambda x: wrong(x), [np.array([0.3, 1.1])])
        with pytest.raises(GradcheckError):
            gradgradcheck(lambda x: wrong(x), [np.array([0.3, 1.1])])
    finally:
        del registry["wrong_square_for_test"]


def test_forward_checker_rejects_a_wrong_jvp_rule() -> None:
    # Right VJP, JVP 1% off: only the forward-mode check sees it.
    wrong = cr.Primitive("wrong_jvp_sin_for_test", np.sin, nin=1)
    try:
        wrong.def_vjp(lambda g, ans, x: g * cr.cos(x))
        wrong.def_jvp(lambda t, ans, x: t * cr.cos(x) * 1.01)
        assert gradcheck(lambda x: wrong(x), [np.array([0.3, 1.1])])
        with pytest.raises(GradcheckError, match="forward-mode Jacobian mismatch"):
            gradcheck(lambda x: wrong(x), [np.array([0.3, 1.1])], check_forward=True)
        assert not gradcheck(lambda x: wrong(x), [np.array([0.3, 1.1])], check_forward=True,
                             check_backward=False, raise_exception=False)  # fmt: skip
        with pytest.raises(ValueError, match="nothing to check"):
            gradcheck(lambda x: wrong(x), [np.array([0.3])], check_backward=False)
    finally:
        del registry["wrong_jvp_sin_for_test"]
