"""Taylor mode (``cr.jet``, ``cr.taylor``) against nested reverse mode over the op table, against
JAX's documented semantics, and its errors.

Every op-table entry whose primitives all have a Taylor rule (declared with ``def_jet``, or
``"linear"`` from ``def_linear``) joins the table test: along a random direction ``u`` and with
random output weights ``w``, the k-th term of ``jet`` must equal the k-th derivative in ``t`` of
``sum(w * f(x + t u))`` computed by nesting ``autograd.grad(create_graph=True)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import Primitive, registry
from tests.op_db import OP_DB, OpInfo, Sample, rng_for
from tests.op_entries import elementwise, numpy_more

ELEMENTWISE = {e.name for e in elementwise.ENTRIES} | {e.name for e in numpy_more.ELEMENTWISE}
HIGH, LOW = 8, 4  # orders: every elementwise entry to 8, the other families to 4
# Entries that write in place into a value computed from the input: jet refuses (see
# test_inplace_write_to_a_jet_value_is_refused), so they check that refusal instead.
IN_PLACE = {"setitem_non_leaf"}
# Entries left out, with the reason.
EXCLUDED = {
    # ||x|| at x = 0 has no derivative: the first-order rules return the subgradient 0, Taylor
    # mode gives NaN coefficients (as JAX's jet does), never a finite wrong number.
    "norm_zero_vector": "not differentiable at the sample",
}


def _has_rule(name: str) -> bool:
    prim = registry[name]
    return not prim.differentiable or prim.jet is not None


CASES = [
    (e, s)
    for e in OP_DB
    if e.differentiable and e.name not in EXCLUDED and all(_has_rule(p) for p in e.primitives)
    for s in e.samples(rng_for(e.name))
]
IDS = [f"{e.name}-{s.name or i}" for i, (e, s) in enumerate(CASES)]


def _positions(entry: OpInfo, sample: Sample) -> tuple[int, ...]:
    if entry.grad_args is not None:
        return entry.grad_args
    return tuple(i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f")


def _call(entry: OpInfo, sample: Sample, positions: tuple[int, ...], xs: list) -> object:
    args = list(sample.args)
    for p, x in zip(positions, xs):
        args[p] = x
    args = [a if isinstance(a, cr.Tensor) else cr.tensor(a) for a in args]
    return entry.op(*args, **sample.kwargs)


COMPLEX_PRIMITIVES = {"fft_c2c", "fft_r2c", "fft_c2r", "real", "imag", "conj", "angle"}


def _nested(fun, order: int) -> list[float]:
    """d^k/dt^k fun(t) at t = 0, k = 0..order, by nesting create_graph (zero once constant)."""
    t = cr.tensor(0.0, requires_grad=True)
    y = fun(t)
    out = [float(y)]
    for _ in range(order):
        if not y.requires_grad:
            out.append(0.0)
            y = cr.tensor(0.0)
            continue
        (y,) = cr.autograd.grad(y, [t], create_graph=True, allow_unused=True)
        if y is None:
            y = cr.tensor(0.0)
        out.append(float(y))
    return out


@pytest.mark.parametrize("entry,sample", [pytest.param(e, s, id=i) for (e, s), i in zip(CASES, IDS)])
def test_jet_matches_nested_grad(entry: OpInfo, sample: Sample) -> None:
    order = HIGH if entry.name in ELEMENTWISE else LOW
    positions = _positions(entry, sample)
    xs = [np.asarray(sample.args[p], dtype=np.float64) for p in positions]
    rng = np.random.default_rng(11)
    us = [rng.standard_normal(x.shape) for x in xs]

    def f(*args):
        out = _call(entry, sample, positions, list(args))
        # Several outputs (atleast_2d of two arrays, gradient along every axis): one flat vector.
        if isinstance(out, (tuple, list)):
            out = cr.concatenate([cr.reshape(o, (-1,)) for o in out])
        return out

    series = tuple([u] + [np.zeros_like(u)] * (order - 1) for u in us)
    if set(entry.primitives) & COMPLEX_PRIMITIVES or entry.name.startswith("complex_"):
        # A complex intermediate: Taylor mode refuses it rather than give a zero series.
        with pytest.raises(NotImplementedError, match="complex"):
            cr.jet(f, tuple(xs), series)
        return
    if entry.name in IN_PLACE:
        with pytest.raises(TypeError, match="on a jet value"):
            cr.jet(f, tuple(xs), series)
        return
    y0, terms = cr.jet(f, tuple(xs), series)
    w = rng.standard_normal(np.shape(y0))
    got = [float(np.sum(w * y0.numpy()))] + [float(np.sum(w * t.numpy())) for t in terms]
    for t in terms:
        assert t.shape == y0.shape and t.dtype == y0.dtype

    def along(t):
        return cr.sum(cr.tensor(w) * f(*[cr.tensor(x) + t * cr.tensor(u) for x, u in zip(xs, us)]))

    want = _nested(along, order)
    # float32 steps (astype) round each coefficient the way the nested graph rounds each value
    rtol = 1e-5 if "astype" in entry.primitives or y0.dtype == np.float32 else 1e-8
    for k, (g, r) in enumerate(zip(got, want)):
        assert math.isclose(g, r, rel_tol=rtol, abs_tol=rtol * 0.1 * max(1.0, *map(abs, want))), (
            f"{entry.name}: order {k}: jet {g!r}, nested grad {r!r}"
        )


def test_the_table_covers_every_elementwise_entry() -> None:
    # New elementwise ops join the table test by declaring a Taylor rule; none is left out.
    covered = {e.name for e, _ in CASES}
    missing = sorted(ELEMENTWISE - covered)
    assert not missing, f"elementwise entries without a Taylor rule: {missing}"


# ---------------------------------------------------------------- JAX's documented semantics
def test_faa_di_bruno_example_from_jax_docs() -> None:
    # f(h(z)) with h(z) = z³ at z = 0.5, f = sin: the terms of an input curve, not a direction.
    z = 0.5
    h0, h1, h2 = z**3, 3 * z**2, 6 * z
    f0, (f1, f2) = cr.jet(cr.sin, (h0,), ((h1, h2),))
    assert math.isclose(float(f0), math.sin(h0))
    assert math.isclose(float(f1), math.cos(h0) * h1, rel_tol=1e-12)
    assert math.isclose(float(f2), -math.sin(h0) * h1**2 + math.cos(h0) * h2, rel_tol=1e-12)


def test_input_curve_terms_are_derivatives_not_coefficients() -> None:
    # jet(f, x0, (x1, x2, x3)) = derivatives of f(x(t)) with x(t) = x0 + x1 t + x2 t²/2 + x3 t³/6.
    x0, x1, x2, x3 = 0.3, 0.7, -1.1, 0.4

    def f(x):
        return cr.tanh(x) * cr.exp(x) / (1 + x * x)

    _, terms = cr.jet(f, (x0,), ((x1, x2, x3),))
    want = _nested(lambda t: f(x0 + x1 * t + x2 * t * t / 2 + x3 * t * t * t / 6), 3)
    np.testing.assert_allclose([float(t) for t in terms], want[1:], rtol=1e-10)


def test_vector_function_along_a_direction_matches_hessian_and_jvp() -> None:
    rng = np.random.default_rng(3)
    w = cr.tensor(rng.standard_normal((4, 3)))
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)

    def f(x):
        return cr.sum(cr.tanh(cr.matmul(w, x)) ** 2) + cr.sum(cr.sin(x) * x)

    d0, d1, d2 = cr.taylor(f, cr.tensor(x), 2, v=cr.tensor(v))
    assert math.isclose(float(d0), float(f(cr.tensor(x))), rel_tol=1e-12)
    assert math.isclose(float(d1), float(cr.jvp(f, (cr.tensor(x),), (cr.tensor(v),))[1]), rel_tol=1e-10)
    hess = cr.hessian(f)(cr.tensor(x)).numpy()
    assert math.isclose(float(d2), float(v @ hess @ v), rel_tol=1e-10)


def test_several_inputs_and_container_outputs() -> None:
    def f(x, y):
        return {"p": x * y, "q": (cr.exp(x), y)}

    x0, y0 = np.array([0.5, -1.0]), np.array([2.0, 3.0])
    u, v = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    out, terms = cr.jet(f, (x0, y0), ((u, np.zeros(2)), (v, np.zeros(2))))
    np.testing.assert_allclose(out["p"].numpy(), x0 * y0)
    # (x + t u)(y + t v): first derivative u y + x v, second 2 u v
    np.testing.assert_allclose(terms["p"][0].numpy(), u * y0 + x0 * v)
    np.testing.assert_allclose(terms["p"][1].numpy(), 2 * u * v)
    np.testing.assert_allclose(terms["q"][0][1].numpy(), np.exp(x0) * u ** 2 + np.exp(x0) * 0)
    np.testing.assert_allclose(terms["q"][1][0].numpy(), v)
    np.testing.assert_allclose(terms["q"][1][1].numpy(), np.zeros(2))


def test_constant_output_has_zero_terms() -> None:
    out, terms = cr.jet(lambda x: cr.ones(3), (1.0,), ((1.0, 0.0),))
    np.testing.assert_array_equal(out.numpy(), np.ones(3))
    assert [t.shape for t in terms] == [(3,), (3,)] and all(not np.any(t.numpy()) for t in terms)


def test_taylor_scalar_matches_closed_form_to_order_8() -> None:
    x = 0.5
    got = cr.taylor(lambda x: cr.sin(x) * cr.exp(x), x, 8)
    want = [2 ** (k / 2) * math.exp(x) * math.sin(x + k * math.pi / 4) for k in range(9)]
    np.testing.assert_allclose([float(g) for g in got], want, rtol=1e-12)


def test_taylor_keeps_float32() -> None:
    ds = cr.taylor(cr.exp, cr.tensor(np.float32(0.5)), 3)
    assert all(d.dtype == np.float32 for d in ds)
    np.testing.assert_allclose([float(d) for d in ds], [math.exp(0.5)] * 4, rtol=1e-6)


def test_nondifferentiable_ops_give_constants() -> None:
    # floor and comparisons are piecewise constant: control flow on the primal works
    def f(x):
        return cr.where(x > 0, x * x, -x) + cr.floor(x)

    _, (d1, d2) = cr.jet(f, (np.array([0.5, -0.5]),), ((np.array([1.0, 1.0]), np.zeros(2)),))
    np.testing.assert_allclose(d1.numpy(), [1.0, -1.0])
    np.testing.assert_allclose(d2.numpy(), [2.0, 0.0])


# ---------------------------------------------------------------- errors
# Every registered differentiable primitive has a Taylor rule (test_jet_more checks that); the
# error for one without is shown on a primitive made here, outside the registry.
_NO_RULE_P = Primitive("no_taylor_rule", np.sin, nin=1, register=False).def_partials(lambda ans, x: cr.cos(x))


def test_unsupported_primitive_names_itself() -> None:
    with pytest.raises(NotImplementedError, match=r"'no_taylor_rule' has no Taylor rule \(inputs of shape \(2,\)\)"):
        cr.taylor(lambda x: _NO_RULE_P(x * cr.ones(2)).sum(), 1.5, 2)


def test_inconsistent_orders_are_refused() -> None:
    with pytest.raises(ValueError, match="inconsistent lengths"):
        cr.jet(lambda x, y: x * y, (1.0, 2.0), ((1.0,), (1.0, 0.0)))


def test_term_shape_must_match_its_primal() -> None:
    with pytest.raises(ValueError, match=r"term 1 of argument 0 has shape \(2,\), the primal \(3,\)"):
        cr.jet(cr.sin, (np.zeros(3),), ((np.zeros(2),),))


def test_taylor_of_an_array_needs_a_direction() -> None:
    with pytest.raises(ValueError, match="give a direction v"):
        cr.taylor(cr.sin, cr.tensor([1.0, 2.0]), 2)
    with pytest.raises(ValueError, match="order must be a non-negative integer"):
        cr.taylor(cr.sin, 1.0, -1)


def test_reverse_mode_through_jet_is_refused() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    with pytest.raises(NotImplementedError, match="requires grad"):
        cr.taylor(cr.sin, x, 2)
    with pytest.raises(NotImplementedError, match="reverse mode through jet"):
        cr.taylor(lambda t: t * x, 1.0, 2)
    with pytest.raises(NotImplementedError, match="requires grad"):
        cr.grad(lambda t: cr.taylor(cr.sin, t, 2)[2])(cr.tensor(1.0))
    with pytest.raises(NotImplementedError, match="inside another transform"):
        cr.jvp(lambda t: cr.taylor(cr.sin, t, 2)[2], (cr.tensor(1.0),), (cr.tensor(1.0),))
    with pytest.raises(NotImplementedError, match="inside another transform"), cr.GradientTape():
        cr.taylor(cr.sin, 1.0, 2)


def test_inplace_write_to_a_jet_value_is_refused() -> None:
    def f(x):
        y = x * 2
        y.add_(1.0)
        return y

    with pytest.raises(TypeError, match="add_ on a jet value"):
        cr.taylor(f, 1.0, 2)

    def g(x):
        y = x * 2
        y += x  # out of place, as JAX arrays: y rebinds
        return y

    assert [float(d) for d in cr.taylor(g, 1.0, 2)] == [3.0, 3.0, 0.0]


def test_state_is_restored_after_an_error() -> None:
    with pytest.raises(NotImplementedError):
        cr.taylor(lambda x: _NO_RULE_P(x * cr.ones(2)).sum(), 1.5, 2)
    x = cr.tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert float(x.grad) == 4.0
