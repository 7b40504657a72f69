"""The rule vocabulary of ``Primitive``: partials, one rule for both modes, linear ops and
batching kinds declared where a primitive is born (issue 11, point 3)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import Primitive, registry
from chainrule.testing import gradcheck, gradgradcheck
from chainrule.transforms import jacfwd, jvp


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


def test_batching_declarations_are_checked(fresh: list[str]) -> None:
    with pytest.raises(ValueError, match="vocab_k1: unknown batching kind 'reduction'"):
        _prim(fresh, "vocab_k1", np.sum, 1, batching="reduction")
    p = _prim(fresh, "vocab_k2", np.sum, 1)
    with pytest.raises(ValueError, match="vocab_k2: only the 'axis' batching kind takes param names"):
        p.def_batching("elementwise", "axis")
    with pytest.raises(ValueError, match="vocab_k2: a batching rule of its own takes no axis params"):
        p.def_batching(lambda *a: None, "axis")
    assert p.def_batching("axis", "dim").batching == ("axis", "dim")
