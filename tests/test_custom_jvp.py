"""custom_jvp: forward mode uses the rule, reverse mode transposes it (grad, jacrev, hessian,
backward, tapes), JAX's log1pexp example, nesting, vmap, and the errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import chainrule as cr


def _log1pexp():
    """JAX's example: log(1 + e^x) with a rule that does not overflow."""

    @cr.custom_jvp
    def log1pexp(x):
        return cr.log(1.0 + cr.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,), (x_dot,) = primals, tangents
        ans = log1pexp(x)
        return ans, (1.0 - 1.0 / (1.0 + cr.exp(x))) * x_dot

    return log1pexp


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def test_log1pexp_gradient_is_one_not_nan() -> None:
    f = _log1pexp()
    plain = lambda x: cr.log(1.0 + cr.exp(x))  # noqa: E731
    # float32, as in JAX's guide: exp(100) overflows, the plain gradient is inf/inf.
    x32 = cr.tensor(100.0, dtype="float32")
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(float(cr.grad(plain)(x32)))
        g = cr.grad(f)(x32)  # (the value itself is inf in float32; its gradient is not)
        assert float(g) == 1.0 and g.dtype == np.float32
        # float64 overflows later.
        assert float(cr.grad(f)(1000.0)) == 1.0
        assert float(cr.jvp(f, (1000.0,), (1.0,))[1]) == 1.0
    np.testing.assert_allclose(float(cr.grad(f)(0.3)), _sigmoid(0.3))


def test_forward_mode_uses_the_rule() -> None:
    calls = {"rule": 0}

    @cr.custom_jvp
    def f(x):
        return cr.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        calls["rule"] += 1
        (x,), (t,) = primals, tangents
        return f(x), 2.0 * cr.cos(x) * t  # twice the true derivative: shows which one is used

    y, t = cr.jvp(f, (0.5,), (1.0,))
    assert calls["rule"] == 1
    np.testing.assert_allclose([float(y), float(t)], [np.sin(0.5), 2 * np.cos(0.5)])
    np.testing.assert_allclose(cr.jacfwd(f)(cr.tensor([0.5, 1.0])).numpy(), np.diag(2 * np.cos([0.5, 1.0])))
    x = cr.Variable(0.5)
    with cr.ForwardAccumulator(x, cr.constant(3.0)) as acc:
        out = f(x) * 1.0
    np.testing.assert_allclose(float(acc.jvp(out)), 6 * np.cos(0.5))
    # Reverse mode transposes the same rule.
    np.testing.assert_allclose(float(cr.grad(f)(0.5)), 2 * np.cos(0.5))
    calls["rule"] = 0
    f(cr.tensor(0.5))
    f(0.5)
    assert calls["rule"] == 0  # nothing differentiated: only fun runs


def test_reverse_mode_entry_points_transpose_the_rule() -> None:
    f = _log1pexp()
    x0 = np.array([-2.0, 0.0, 3.0])
    want = _sigmoid(x0)
    x = cr.tensor(x0, requires_grad=True)
    f(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), want)
    (g,) = cr.autograd.grad(f(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), want)
    np.testing.assert_allclose(cr.jacrev(f)(cr.tensor(x0)).numpy(), np.diag(want))
    v = cr.Variable(x0)
    with cr.GradientTape() as tape:
        out = f(v)
    np.testing.assert_allclose(tape.gradient(out, v).numpy(), want)
    _, back = cr.vjp(f, cr.tensor(x0))
    np.testing.assert_allclose(back(cr.tensor([1.0, 2.0, 3.0]))[0].numpy(), want * [1, 2, 3])


def test_hessian_hvp_and_higher_orders() -> None:
    f = _log1pexp()
    x0 = np.array([-1.0, 0.5])
    s = _sigmoid(x0)
    d2 = s * (1 - s)
    np.testing.assert_allclose(cr.hessian(lambda v: f(v).sum())(cr.tensor(x0)).numpy(), np.diag(d2))
    np.testing.assert_allclose(cr.jacfwd(cr.jacfwd(f))(cr.tensor(x0)).numpy().diagonal().diagonal(), d2)
    np.testing.assert_allclose(cr.jacfwd(cr.jacrev(f))(cr.tensor(x0)).numpy().diagonal().diagonal(), d2)
    np.testing.assert_allclose(cr.jacrev(cr.jacfwd(f))(cr.tensor(x0)).numpy().diagonal().diagonal(), d2)
    np.testing.assert_allclose(cr.hvp(lambda v: f(v).sum(), (cr.tensor(x0),), (cr.ones(2),)).numpy(), d2)
    np.testing.assert_allclose(float(cr.grad(cr.grad(cr.grad(f)))(0.5)), d2[1] * (1 - 2 * s[1]))
    x = cr.tensor(0.5, requires_grad=True)
    (g,) = cr.autograd.grad(f(x), x, create_graph=True)
    (gg,) = cr.autograd.grad(g, x)
    np.testing.assert_allclose(float(gg), d2[1])


def test_reverse_mode_never_differentiates_the_rules_primal_part() -> None:
    # A rule whose tangent coefficient is finite where the coefficient's own derivative is not:
    # d/dx sqrt(x) at 0 would be inf; the rule says the tangent is t * 0.5 / sqrt(x + 1) instead.
    @cr.custom_jvp
    def f(x):
        return cr.sqrt(x + 1.0)

    f.defjvp(lambda p, t: (f(p[0]), t[0] * 0.5 / cr.sqrt(p[0] + 1.0)))
    assert float(cr.grad(f)(0.0)) == 0.5


def test_vmap_of_the_gradient_and_of_jvp() -> None:
    f = _log1pexp()
    xs = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(xs).numpy(), _sigmoid(xs))
    np.testing.assert_allclose(cr.vmap(f)(xs).numpy(), np.log1p(np.exp(xs)))
    t = cr.vmap(lambda x: cr.jvp(f, (x,), (2.0,))[1])(cr.tensor(xs))
    np.testing.assert_allclose(t.numpy(), 2 * _sigmoid(xs))

    @cr.custom_jvp
    def total(x):
        return cr.sum(x * x)

    total.defjvp(lambda p, t: (total(p[0]), cr.sum(2.0 * p[0] * t[0])))
    rows = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(cr.vmap(cr.grad(total))(rows).numpy(), 2 * rows)


def test_several_arguments_and_outputs_defjvps_and_nondiff_argnums() -> None:
    @cr.custom_jvp
    def polar(r, theta):
        return r * cr.cos(theta), r * cr.sin(theta)

    @polar.defjvp
    def polar_jvp(primals, tangents):
        r, th = primals
        dr, dth = tangents
        out = polar(r, th)
        return out, (dr * cr.cos(th) - r * cr.sin(th) * dth, dr * cr.sin(th) + r * cr.cos(th) * dth)

    gr, gth = cr.grad(lambda r, th: polar(r, th)[0] + 2.0 * polar(r, th)[1], argnums=(0, 1))(2.0, 0.3)
    np.testing.assert_allclose([float(gr), float(gth)],
                               [np.cos(0.3) + 2 * np.sin(0.3), -2 * np.sin(0.3) + 4 * np.cos(0.3)])  # fmt: skip
    _, (tx, ty) = cr.jvp(polar, (2.0, 0.3), (0.0, 1.0))
    np.testing.assert_allclose([float(tx), float(ty)], [-2 * np.sin(0.3), 2 * np.cos(0.3)])

    @cr.custom_jvp
    def mul(x, y):
        return x * y

    mul.defjvps(lambda t, ans, x, y: 10.0 * t * y, lambda t, ans, x, y: x * t)
    gx, gy = cr.grad(mul, argnums=(0, 1))(2.0, 3.0)
    assert (float(gx), float(gy)) == (30.0, 2.0)

    @functools.partial(cr.custom_jvp, nondiff_argnums=(0,))
    def power(n, x):
        return x**n

    power.defjvp(lambda n, p, t: (power(n, p[0]), n * p[0] ** (n - 1) * t[0]))
    assert float(cr.grad(power, argnums=1)(3, 2.0)) == 12.0
    assert float(cr.jvp(lambda x: power(3, x), (2.0,), (1.0,))[1]) == 12.0


def test_closed_over_values_are_refused_in_both_modes() -> None:
    c = cr.Variable(2.0)

    @cr.custom_jvp
    def f(x):
        return x * c

    f.defjvp(lambda p, t: (f(p[0]), t[0] * c))
    x = cr.Variable(1.0)
    with pytest.raises(TypeError, match="closed-over value: 'f'"), \
            cr.ForwardAccumulator([x, c], [cr.constant(1.0), cr.constant(1.0)]):
        f(x)
    # Only the closed-over value followed: the rule does not apply, fun is differentiated as written.
    with cr.ForwardAccumulator(c, cr.constant(1.0)) as acc:
        out = f(cr.constant(5.0))
    assert float(acc.jvp(out)) == 5.0
    w = cr.tensor(2.0, requires_grad=True)

    @cr.custom_jvp
    def g(x):
        return x * w

    g.defjvp(lambda p, t: (g(p[0]), t[0] * w))
    with pytest.raises(RuntimeError, match="'g': fwd used a tensor that is being differentiated"):
        g(cr.tensor(1.0, requires_grad=True))


def test_rule_errors_are_named() -> None:
    @cr.custom_jvp
    def f(x):
        return x * 2.0

    with pytest.raises(AttributeError, match="No JVP defined for custom_jvp function f using defjvp"):
        f(1.0)
    f.defjvp(lambda p, t: (p[0] * 2.0, cr.ones(3)))
    with pytest.raises(ValueError, match=r"'f': the JVP rule returned a tangent of shape \(3,\) for an output of shape \(\)"):
        cr.jvp(f, (1.0,), (1.0,))
    with pytest.raises(ValueError, match=r"'f': the JVP rule returned a tangent of shape \(3,\)"):
        cr.grad(f)(1.0)
    f.defjvp(lambda p, t: p[0] * 2.0)
    with pytest.raises(TypeError, match="'f': the JVP rule must return a pair"):
        cr.jvp(f, (1.0,), (1.0,))
