"""Forward mode against reverse mode over the whole op table.

For every differentiable entry and sample: with random u and v, ⟨v, J u⟩ computed by ``jvp``
equals ⟨Jᵀ v, u⟩ computed by ``vjp``; the Jacobians of ``jacfwd`` and ``jacrev`` agree with each
other and with central finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import numerical_jacobian
from chainrule.transforms import jacfwd, jacrev, jvp, tree_flatten, vjp
from tests.op_db import OP_DB, OpInfo, Sample, rng_for

# Entries whose forward-mode check needs a change outside the transforms, with the reason.
PENDING: dict[str, str] = {}

CASES = [
    (e, s)
    for e in OP_DB
    if e.differentiable and e.check_jvp
    for s in e.samples(rng_for(e.name))
]
IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(CASES)]


def _marks(entry: OpInfo) -> list[pytest.MarkDecorator]:
    if entry.name in PENDING:
        return [pytest.mark.xfail(strict=True, reason=PENDING[entry.name])]
    return []


PARAMS = [pytest.param(e, s, id=i, marks=_marks(e)) for (e, s), i in zip(CASES, IDS)]


def _positions(entry: OpInfo, sample: Sample) -> tuple[int, ...]:
    if entry.grad_args is not None:
        return entry.grad_args
    return tuple(i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f")


def _function(entry: OpInfo, sample: Sample):
    positions = _positions(entry, sample)

    def f(*xs):
        args = list(sample.args)
        for p, x in zip(positions, xs):
            args[p] = x
        args = [a if isinstance(a, cr.Tensor) else cr.tensor(a) for a in args]
        return entry.op(*args, **sample.kwargs)

    xs = [np.asarray(sample.args[p], dtype=np.float64) for p in positions]
    return f, xs


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("entry,sample", PARAMS)
def test_jvp_agrees_with_vjp(entry: OpInfo, sample: Sample) -> None:
    f, xs = _function(entry, sample)
    rng = np.random.default_rng(7)
    us = [rng.standard_normal(x.shape) for x in xs]
    out, tangent = jvp(f, tuple(cr.tensor(x) for x in xs), tuple(cr.tensor(u) for u in us))
    outs, tangents = _as_list(out), _as_list(tangent)
    for o, t in zip(outs, tangents):
        assert t.shape == o.shape and t.dtype == o.dtype
    vs = [rng.standard_normal(o.shape) for o in outs]
    out2, pullback = vjp(f, *[cr.tensor(x) for x in xs])
    cts = [cr.tensor(v.astype(o.dtype)) for v, o in zip(vs, outs)]
    grads = pullback(type(out2)(cts) if isinstance(out2, (tuple, list)) else cts[0])
    for g, x in zip(grads, xs):
        assert g.shape == x.shape
    lhs = sum(float(np.sum(v * t.numpy())) for v, t in zip(vs, tangents))
    rhs = sum(float(np.sum(g.numpy() * u)) for g, u in zip(grads, us))
    float32 = any(o.dtype == np.float32 for o in outs) or "astype" in entry.primitives
    tol = 1e-6 if float32 else 1e-9
    assert np.isclose(lhs, rhs, rtol=tol, atol=tol * (1 + abs(rhs))), (lhs, rhs)


@pytest.mark.parametrize("entry,sample", PARAMS)
def test_jacfwd_equals_jacrev_and_finite_differences(entry: OpInfo, sample: Sample) -> None:
    f, xs = _function(entry, sample)
    nums = tuple(range(len(xs)))
    fwd = jacfwd(f, argnums=nums)(*[cr.tensor(x) for x in xs])
    rev = jacrev(f, argnums=nums)(*[cr.tensor(x) for x in xs])
    fwd_leaves, fwd_def = tree_flatten(fwd)
    rev_leaves, rev_def = tree_flatten(rev)
    assert fwd_def == rev_def
    for a, b in zip(fwd_leaves, rev_leaves):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-11)
    numeric = numerical_jacobian(f, xs)
    outs = _as_list(f(*[cr.tensor(x) for x in xs]))
    for k, o in enumerate(outs):
        for i, x in enumerate(xs):
            jac = fwd_leaves[k * len(xs) + i].numpy()
            assert jac.shape == tuple(o.shape) + x.shape
            np.testing.assert_allclose(jac.reshape(numeric[k][i].shape), numeric[k][i],
                                       rtol=entry.rtol, atol=entry.atol)  # fmt: skip


def test_the_table_has_differentiable_entries() -> None:
    # Guards against the generated tests above silently parametrizing over nothing.
    assert len(CASES) > 100
    assert {"matmul", "sum", "getitem", "exp"} <= {p for e, _ in CASES for p in e.primitives}
