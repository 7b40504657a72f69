"""The rule vocabulary of ``Primitive``: partials, one rule for both modes, linear ops and
batching kinds declared where a primitive is born (issue 11, point 3)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import BATCHING_KINDS, Primitive, registry
from chainrule.testing import gradcheck, gradgradcheck
from chainrule.transforms import jacfwd, jvp, vmap
from chainrule.transforms.batching import FALLBACK_USED
from chainrule.transforms.batching_rules import KINDS, RULES, fallback_primitives, rule_of
from tests.op_db import OP_DB, rng_for


@pytest.fixture
def fresh() -> Iterator[list[str]]:
    """Names of test primitives, removed from the registry afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        registry.pop(name, None)


def _prim(fresh: list[str], name: str, impl, nin: int, **kwargs) -> Primitive:  # type: ignore[no-untyped-def]
    fresh.append(name)
    return Primitive(name, impl, nin=nin, **kwargs)


# ---------------------------------------------------------------- def_partials
def test_partials_give_both_rules_at_every_order(fresh: list[str]) -> None:
    # f(x, y) = x**2 * sin(y): partials 2 x sin(y) and x**2 cos(y), written with primitives.
    f_p = _prim(fresh, "vocab_x2siny", lambda x, y: x * x * np.sin(y), 2)
    f_p.def_partials(lambda ans, x, y: 2 * x * cr.sin(y), lambda ans, x, y: x * x * cr.cos(y))
    assert f_p.vjp_rules[0] is f_p.jvp_rules[0] and f_p.vjp_rules[1] is f_p.jvp_rules[1]
    xs = [np.array([0.3, -1.2, 2.0]), np.array([[0.5], [1.7]])]  # broadcasting (2, 3)
    assert gradcheck(lambda x, y: f_p(x, y), xs, check_forward=True)
    assert gradgradcheck(lambda x, y: f_p(x, y), xs)


def test_partials_pass_params_to_a_partial_that_takes_them(fresh: list[str]) -> None:
    scale_p = _prim(fresh, "vocab_scale", lambda x, *, k: k * x * x, 1)
    scale_p.def_partials(lambda ans, x, k: 2 * k * x)
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    scale_p(x, k=3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, -12.0])
    _, t = jvp(lambda x: scale_p(x, k=3.0), (cr.tensor([1.0, -2.0]),), (cr.tensor([1.0, 1.0]),))
    np.testing.assert_array_equal(t.numpy(), [6.0, -12.0])


def test_constant_partials_pass_or_negate_the_seed_without_arithmetic(fresh: list[str]) -> None:
    diff_p = _prim(fresh, "vocab_diff", np.subtract, 2, saves=()).def_partials(1, -1)
    g = np.array([1.0, np.inf, -0.0])
    assert diff_p.vjp_rules[0](g, None, None, None) is g
    np.testing.assert_array_equal(diff_p.vjp_rules[1](g, None, None, None), -g)
    # A constant other than +-1 multiplies (0 * inf is nan, as the hand-written rule g * 0 was).
    zero_p = _prim(fresh, "vocab_zero", np.sign, 1, saves=()).def_partials(0)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(zero_p.vjp_rules[0](g, None, None), [0.0, np.nan, -0.0])
    assert gradcheck(lambda x, y: diff_p(x, y), [np.array([1.0, 2.0]), np.array(3.0)], check_forward=True)


def test_partials_refuse_a_wrong_count_or_a_non_function(fresh: list[str]) -> None:
    p = _prim(fresh, "vocab_bad", np.add, 2)
    with pytest.raises(ValueError, match="vocab_bad: expected 2 partials, got 1"):
        p.def_partials(lambda ans, x, y: 1.0)
    with pytest.raises(TypeError, match="vocab_bad: a partial is a function"):
        p.def_partials(np.ones(3), 1)
    with pytest.raises(TypeError, match="vocab_bad: a partial is a function"):
        p.def_partials(True, 1)


def test_a_partial_reading_an_input_the_node_does_not_keep_fails_loudly(fresh: list[str]) -> None:
    # The memory declaration must cover what the partial reads: keeping nothing while the
    # partial reads x is an error at backward, never a silently wrong number.
    sq_p = _prim(fresh, "vocab_bad_saves", np.square, 1, saves=()).def_partials(lambda ans, x: 2 * x)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError):
        sq_p(x).sum().backward()


# ---------------------------------------------------------------- def_chain
def test_chain_rule_serves_both_modes(fresh: list[str]) -> None:
    ln_p = _prim(fresh, "vocab_ln", np.log, 1).def_chain(lambda s, ans, x: s / x)
    assert ln_p.vjp_rules == ln_p.jvp_rules
    assert gradcheck(lambda x: ln_p(x), [np.array([0.5, 2.0, 3.0])], check_forward=True)
    assert gradgradcheck(lambda x: ln_p(x), [np.array([0.5, 2.0, 3.0])])
    with pytest.raises(ValueError, match="vocab_ln: expected 1 rules, got 2"):
        ln_p.def_chain(None, None)


# ---------------------------------------------------------------- def_linear
def test_linear_jvp_is_the_op_on_the_tangent(fresh: list[str]) -> None:
    # One input with params, and a bilinear op (the tangent in each place in turn).
    roll2_p = _prim(fresh, "vocab_roll", lambda x, *, shift: np.roll(x, shift), 1, saves=())
    roll2_p.def_vjp(lambda g, ans, x, shift: roll2_p(g, shift=-shift)).def_linear()
    outer_p = _prim(fresh, "vocab_outer", np.multiply.outer, 2)
    outer_p.def_vjp(lambda g, ans, a, b: cr.matmul(g, b), lambda g, ans, a, b: cr.matmul(a, g))
    outer_p.def_linear()
    x = np.array([1.0, 2.0, 3.0])
    assert gradcheck(lambda x: roll2_p(x, shift=1), [x], check_forward=True)
    a, b = np.array([1.0, -2.0]), np.array([0.5, 3.0, 4.0])
    assert gradcheck(lambda a, b: outer_p(a, b), [a, b], check_forward=True)
    jac_a, jac_b = jacfwd(lambda a, b: outer_p(a, b), argnums=(0, 1))(cr.tensor(a), cr.tensor(b))
    np.testing.assert_array_equal(jac_a.numpy(), np.einsum("ik,j->ijk", np.eye(2), b))
    np.testing.assert_array_equal(jac_b.numpy(), np.einsum("i,jk->ijk", a, np.eye(3)))


# ---------------------------------------------------------------- batching kinds
def test_batching_kinds_have_one_rule_each() -> None:
    assert set(KINDS) == set(BATCHING_KINDS)


def test_every_library_primitive_declares_its_batching_where_it_is_born() -> None:
    # Either a kind (its generic rule lives in batching_rules.py) or a rule of its own.
    undeclared = sorted(name for name, p in registry.items() if rule_of(p) is None)
    assert undeclared == []
    assert {name for name, p in registry.items() if p.batching == ("elementwise",)} >= {
        "add", "mul", "exp", "where", "clip", "astype", "equal", "elu",
    }  # fmt: skip
    assert registry["sum"].batching == ("axis", "axis")
    assert registry["diagonal"].batching == ("axis", "axis1", "axis2")
    assert callable(registry["matmul"].batching)
    assert RULES.get("mul") is KINDS["elementwise"] and RULES["matmul"] is registry["matmul"].batching


def test_a_primitive_without_batching_is_listed_and_loops(fresh: list[str]) -> None:
    # What makes test_vmap's pinned list of fallback primitives able to fail.
    bare = _prim(fresh, "vocab_bare", np.exp, 1)
    assert fallback_primitives() == ["vocab_bare"]
    assert RULES.get("vocab_bare") is None and "vocab_bare" not in RULES
    FALLBACK_USED.discard("vocab_bare")
    out = vmap(lambda x: bare(x))(cr.tensor([[0.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_allclose(out.numpy(), np.exp([[0.0, 1.0], [2.0, 3.0]]))
    assert "vocab_bare" in FALLBACK_USED
    bare.def_batching("elementwise")
    assert fallback_primitives() == []


def test_a_declared_kind_batches_without_the_loop(fresh: list[str]) -> None:
    total_p = _prim(fresh, "vocab_total", lambda x, *, axis: np.sum(x, axis=axis), 1,
                    batching="axis")  # fmt: skip
    cube_p = _prim(fresh, "vocab_cube", lambda x, y: x**3 + y, 2, batching="elementwise")
    xs = np.arange(24.0).reshape(2, 3, 4)
    out = vmap(lambda x: total_p(cube_p(x, np.ones(4)), axis=0))(cr.tensor(xs))
    np.testing.assert_array_equal(out.numpy(), np.stack([np.sum(x**3 + 1, axis=0) for x in xs]))
    assert not {"vocab_total", "vocab_cube"} & FALLBACK_USED


def test_a_one_axis_def_batch_rule_still_works(fresh: list[str]) -> None:
    # JAX's form (one batch axis per argument, anywhere), for users' primitives; the library's
    # own primitives no longer use it, so this keeps that path of vmap exercised.
    seen: list[tuple[int | None, ...]] = []

    def rule(args, dims, *, axis):  # type: ignore[no-untyped-def]
        seen.append(tuple(dims))
        (x,), (d,) = args, dims
        return cr.cumsum(x, axis=axis + 1 if d is not None and d <= axis else axis), d

    csum_p = _prim(fresh, "vocab_csum", lambda x, *, axis: np.cumsum(x, axis=axis), 1).def_batch(rule)
    xs = np.arange(24.0).reshape(2, 3, 4)
    out = vmap(lambda x: csum_p(x, axis=1), in_axes=1)(cr.tensor(xs))
    np.testing.assert_array_equal(out.numpy(), np.stack([np.cumsum(xs[:, k], axis=1) for k in range(3)]))
    assert seen and fallback_primitives() == []


def test_batching_declarations_are_checked(fresh: list[str]) -> None:
    with pytest.raises(ValueError, match="vocab_k1: unknown batching kind 'reduction'"):
        _prim(fresh, "vocab_k1", np.sum, 1, batching="reduction")
    p = _prim(fresh, "vocab_k2", np.sum, 1)
    with pytest.raises(ValueError, match="vocab_k2: only the 'axis' batching kind takes param names"):
        p.def_batching("elementwise", "axis")
    with pytest.raises(ValueError, match="vocab_k2: a batching rule of its own takes no axis params"):
        p.def_batching(lambda *a: None, "axis")
    assert p.def_batching("axis", "dim").batching == ("axis", "dim")


# ---------------------------------------------------------------- memory declarations
_MULTI = [
    (e, s)
    for e in OP_DB
    if e.differentiable
    for s in e.samples(rng_for(e.name))
    if sum(np.asarray(a).dtype.kind == "f" for a in s.args) >= 2 and e.grad_args is None
]


@pytest.mark.parametrize("entry,sample", _MULTI, ids=[f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(_MULTI)])
def test_each_input_alone_gets_the_gradient_it_gets_with_all(entry, sample) -> None:  # type: ignore[no-untyped-def]
    # A node keeps only what the rules of its tracked inputs read (Primitive.reads, else saves):
    # tracking one input at a time checks those declarations against what the rules read.
    positions = [i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f"]
    w = None
    full = None
    for only in [None, *positions]:
        args = [cr.tensor(a, requires_grad=(i in positions if only is None else i == only))
                for i, a in enumerate(sample.args)]  # fmt: skip
        out = entry.op(*args, **sample.kwargs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if w is None:
            w = [np.random.default_rng(1).standard_normal(o.shape) for o in outs]
        loss = sum(cr.sum(o * wi) for o, wi in zip(outs, w))
        if only is None:
            full = cr.autograd.grad(loss, [args[i] for i in positions], allow_unused=True)
            continue
        if not loss.requires_grad:
            assert full[positions.index(only)] is None
            continue
        (alone,) = cr.autograd.grad(loss, [args[only]], allow_unused=True)
        expected = full[positions.index(only)]
        if expected is None:
            assert alone is None
        else:
            np.testing.assert_array_equal(alone.numpy(), expected.numpy())
