"""Structured seeds of the Jacobian transforms (transforms/structured.py) against the dense basis.

Over the whole op table, ``jacrev``, ``jacfwd`` and the Hessians (reverse-over-reverse and
forward-over-reverse) computed with the identity kept symbolic equal the ones computed with the
materialised identity (``structured.disabled()``) to 1e-12. The unit tests below check that each
structured rule is really taken (not silently left to the dense path) and that ops without a rule
fall back to dense, correctly.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import structured
from chainrule.transforms.structured import APPLIED, DENSIFIED, RULES, DiagonalBatch
from tests.op_db import OP_DB, OpInfo, Sample, rng_for

CASES = [
    (e, s)
    for e in OP_DB
    if e.differentiable and e.check_jvp
    for s in e.samples(rng_for(e.name))
]
IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(CASES)]
SECOND = [(e, s) for e, s in CASES if e.second_order]
SECOND_IDS = [i for i, (e, _) in zip(IDS, CASES) if e.second_order]

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _positions(entry: OpInfo, sample: Sample) -> tuple[int, ...]:
    if entry.grad_args is not None:
        return entry.grad_args
    return tuple(i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f")


def _one_input(entry: OpInfo, sample: Sample, p: int):
    """The op as a function of its argument ``p`` alone (the others fixed): one input, so that
    ``jacfwd`` seeds a structured batch too."""

    def f(x):
        args = [a if isinstance(a, cr.Tensor) else cr.tensor(a) for a in sample.args]
        args[p] = x
        return entry.op(*args, **sample.kwargs)

    return f, np.asarray(sample.args[p], dtype=np.float64)


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _same(a, b) -> None:
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert tuple(x.shape) == tuple(y.shape) and x.dtype == y.dtype
        np.testing.assert_allclose(x.numpy(), y.numpy(), **TOL)


def _both(transform, f, x):
    got = transform(f)(x)
    with structured.disabled():
        want = transform(f)(x)
    return got, want


@pytest.mark.parametrize("entry,sample", CASES, ids=IDS)
def test_jacobians_structured_equal_dense(entry: OpInfo, sample: Sample) -> None:
    for p in _positions(entry, sample):
        f, x = _one_input(entry, sample, p)
        for transform in (cr.jacrev, cr.jacfwd):
            _same(*_both(transform, f, cr.tensor(x)))


@pytest.mark.parametrize("entry,sample", SECOND, ids=SECOND_IDS)
def test_hessians_structured_equal_dense(entry: OpInfo, sample: Sample) -> None:
    for p in _positions(entry, sample):
        f, x = _one_input(entry, sample, p)
        weights = [np.random.default_rng(7).standard_normal(tuple(o.shape))
                   for o in _leaves(f(cr.tensor(x)))]  # fmt: skip

        def scalar(v, f=f, weights=weights):
            return sum(cr.sum(o * w) for o, w in zip(_leaves(f(v)), weights))

        for transform in (cr.hessian, lambda g: cr.jacfwd(cr.jacrev(g))):
            _same(*_both(transform, scalar, cr.tensor(x)))


# ---------------------------------------------------------------- the rules are taken
def _rng(n: int = 5):
    rng = np.random.default_rng(3)
    return rng.standard_normal((n, n)), rng.standard_normal(n)


def _counts(fn):
    """Run ``fn`` and return (its result, structured rules applied, ops made dense)."""
    applied, densified = APPLIED.copy(), DENSIFIED.copy()
    out = fn()
    return out, APPLIED - applied, DENSIFIED - densified


def test_jacrev_of_the_benchmark_function_never_densifies_the_matmul() -> None:
    W, x = _rng(6)
    Wt = cr.tensor(W)

    def f(v):
        return cr.tanh(cr.matmul(Wt, v)) + cr.sin(v)

    t = np.tanh(W @ x)
    closed = (1 - t * t)[:, None] * W + np.diag(np.cos(x))
    for transform in (cr.jacrev, cr.jacfwd):
        J, applied, densified = _counts(lambda transform=transform: transform(f)(cr.tensor(x)))
        np.testing.assert_allclose(J.numpy(), closed, **TOL)
        assert applied["matmul"] >= 1 and applied["mul"] >= 1
        # Only the final sum (diagonal + dense) needs the dense identity.
        assert set(densified) <= {"add"}, densified


def test_hessian_of_the_benchmark_function_is_structured() -> None:
    A, x = _rng(6)
    At = cr.tensor(A)

    def f(v):
        return cr.sum(cr.sin(v) * v ** 2) + cr.matmul(v, cr.matmul(At, v))

    s, c = np.sin(x), np.cos(x)
    closed = A + A.T + np.diag(-x * x * s + 4 * x * c + 2 * s)
    for transform in (cr.hessian, lambda g: cr.jacfwd(cr.jacrev(g))):
        H, applied, densified = _counts(lambda transform=transform: transform(f)(cr.tensor(x)))
        np.testing.assert_allclose(H.numpy(), closed, **TOL)
        assert applied["matmul"] >= 1
        assert "matmul" not in densified and "mul" not in densified, densified


# Each rule, taken by a small function whose Jacobian is known in closed form.
_W, _x = _rng(4)
RULE_CASES = {
    "mul": (lambda v: v * cr.tensor(_x), np.diag(_x)),
    "div": (lambda v: v / cr.tensor(_x), np.diag(1 / _x)),
    "add": (lambda v: v * 2.0 + v * 3.0, 5 * np.eye(4)),
    "neg": (lambda v: -v, -np.eye(4)),
    "sum": (lambda v: cr.sum(v * v), 2 * _x),
    "sum_to": (lambda v: v + cr.tensor(np.zeros((1, 4))), np.eye(4)[None]),
    "reshape": (lambda v: cr.reshape(v, (2, 2)) * 2.0, 2 * np.eye(4).reshape(2, 2, 4)),
    "broadcast_to": (lambda v: cr.broadcast_to(v, (4,)) * 1.0, np.eye(4)),
    "astype": (lambda v: v.astype(np.float32).astype(np.float64), np.eye(4)),
    "transpose": (lambda v: cr.transpose(v) * 2.0, 2 * np.eye(4)),
    "matmul": (lambda v: cr.matmul(cr.tensor(_W), v), _W),
}


def test_every_rule_has_a_case() -> None:
    assert set(RULE_CASES) == set(RULES)


@pytest.mark.parametrize("name", sorted(RULE_CASES))
def test_rule_is_taken_and_exact(name: str) -> None:
    f, closed = RULE_CASES[name]
    taken = 0
    for transform in (cr.jacrev, cr.jacfwd):
        J, applied, _ = _counts(lambda transform=transform: transform(f)(cr.tensor(_x)))
        np.testing.assert_allclose(J.numpy(), np.reshape(closed, J.shape), **TOL)
        with structured.disabled():
            dense = transform(f)(cr.tensor(_x))
        np.testing.assert_allclose(J.numpy(), dense.numpy(), **TOL)
        taken += applied[name]
    # Reverse mode runs the op's adjoint and forward mode the op itself on the basis: one of
    # them must reach the rule under test.
    assert taken >= 1


def test_an_op_without_a_rule_falls_back_to_dense_correctly() -> None:
    def f(v):
        return cr.cumsum(v, axis=0) * 2.0

    # Forward mode pushes the basis through cumsum itself, which has no structured rule.
    J, _, densified = _counts(lambda: cr.jacfwd(f)(cr.tensor(_x)))
    assert densified["cumsum"] >= 1
    np.testing.assert_allclose(J.numpy(), 2 * np.tril(np.ones((4, 4))), **TOL)


def test_non_finite_factors_leave_the_product_to_the_dense_path() -> None:
    # sqrt'(0) is infinite: the materialised basis makes 0 * inf = NaN off the diagonal, and the
    # structured path must give the same answer (not a different one that only looks cleaner).
    x = cr.tensor([0.0, 1.0])
    got, want = _both(cr.jacrev, cr.sqrt, x)
    np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want.numpy()))
    np.testing.assert_allclose(got.numpy(), want.numpy(), equal_nan=True)
    got, want = _both(cr.jacrev, lambda v: v / cr.tensor([0.0, 2.0]), x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), equal_nan=True)
    got, want = _both(cr.jacrev, lambda v: cr.matmul(cr.tensor([[np.inf, 1.0], [0.0, 1.0]]), v), x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), equal_nan=True)


def test_structured_seed_only_without_other_levels() -> None:
    # Inside a user vmap the basis is dense (one batching level of its own is what the rules
    # handle); the answer is the same.
    W, x = _rng(4)
    xs = np.stack([x, 2 * x])

    def f(v):
        return cr.tanh(cr.matmul(cr.tensor(W), v))

    got = cr.vmap(cr.jacrev(f))(cr.tensor(xs))
    for i in range(2):
        t = np.tanh(W @ xs[i])
        np.testing.assert_allclose(got.numpy()[i], (1 - t * t)[:, None] * W, **TOL)


def test_third_order_through_structured_seeds() -> None:
    x = np.array([0.3, -0.7, 1.1])

    def f(v):
        return cr.sum(cr.sin(v) * cr.sum(v))

    T = cr.jacrev(cr.hessian(f))(cr.tensor(x))
    with structured.disabled():
        D = cr.jacrev(cr.hessian(f))(cr.tensor(x))
    np.testing.assert_allclose(T.numpy(), D.numpy(), **TOL)


def test_diagonal_batch_reads_as_its_dense_batch() -> None:
    from chainrule.transforms.batching import pop_level, push_level

    level = push_level(3, user=False)
    try:
        b = structured.identity_batch((2, 3), np.float64, (level.id,))
        assert isinstance(b, DiagonalBatch) and b.shape == (2, 3) and b.dtype == np.float64
        dense = b._base.numpy()
    finally:
        pop_level(level)
    np.testing.assert_array_equal(dense, np.eye(6).reshape(6, 2, 3))
