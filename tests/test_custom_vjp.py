"""custom_vjp: one node, bwd called once per sweep, every reverse-mode entry point, higher
orders through a rule written with chainrule ops, vmap, and the errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.primitive import Primitive, registry


def _sin_times(counter: dict[str, int] | None = None) -> cr.custom_vjp:
    """f(x, y) = sin(x) * y with its exact rule; counts the calls of fun, fwd and bwd."""
    calls = counter if counter is not None else {}

    @cr.custom_vjp
    def f(x, y):
        calls["fun"] = calls.get("fun", 0) + 1
        return cr.sin(x) * y

    def fwd(x, y):
        calls["fwd"] = calls.get("fwd", 0) + 1
        return f(x, y), (cr.cos(x), cr.sin(x), y)

    def bwd(res, g):
        calls["bwd"] = calls.get("bwd", 0) + 1
        cos_x, sin_x, y = res
        return cos_x * g * y, sin_x * g

    f.defvjp(fwd, bwd)
    return f


def _clip_gradient():
    """JAX's example: the identity whose gradient is clipped to [-1, 1]."""

    @cr.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (cr.clip(g, -1.0, 1.0),))
    return clip_gradient


# ---------------------------------------------------------------- the rule is used, once
def test_the_rule_replaces_the_derivative() -> None:
    clip = _clip_gradient()
    # d(5x)/dx = 5, clipped to 1 by the rule; the plain identity would give 5.
    assert float(cr.grad(lambda x: 5.0 * clip(x))(2.0)) == 1.0
    assert float(cr.grad(lambda x: 5.0 * x)(2.0)) == 5.0
    assert float(cr.grad(lambda x: -0.5 * clip(x))(2.0)) == -0.5


def test_fun_runs_when_nothing_is_differentiated_and_fwd_when_something_is() -> None:
    calls: dict[str, int] = {}
    f = _sin_times(calls)
    f(cr.tensor(0.5), cr.tensor(2.0))
    f(0.5, 2.0)
    with cr.no_grad():
        f(cr.tensor(0.5, requires_grad=True), 2.0)
    assert calls == {"fun": 3}
    calls.clear()
    x = cr.tensor(0.5, requires_grad=True)
    y = f(x, 2.0)
    # fwd calls f (JAX's idiom): inside its own fwd, f computes the plain function.
    assert calls == {"fwd": 1, "fun": 1}
    assert y.requires_grad and y.grad_fn.name == "FBackward"


def test_one_node_and_one_bwd_call_per_sweep() -> None:
    calls: dict[str, int] = {}
    f = _sin_times(calls)
    x = cr.tensor([0.1, 0.2], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    out = f(x, y)
    # The node's parents are the two inputs (through the call's alias nodes), not fwd's ops.
    assert len(out.grad_fn.next_functions) == 2
    assert all(n.name == "AliasBackward0" for n, _ in out.grad_fn.next_functions)
    out.sum().backward(retain_graph=True)
    assert calls["bwd"] == 1
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.1, 0.2]) * [3.0, 4.0])
    np.testing.assert_allclose(y.grad.numpy(), np.sin([0.1, 0.2]))
    out.sum().backward()
    assert calls["bwd"] == 2
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([0.1, 0.2]) * [3.0, 4.0])


def test_every_reverse_entry_point_agrees_with_the_math() -> None:
    f = _sin_times()
    x0, y0 = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    want_x, want_y = np.cos(x0) * y0, np.sin(x0)
    gx, gy = cr.grad(lambda x, y: f(x, y).sum(), argnums=(0, 1))(x0, y0)
    np.testing.assert_allclose(gx.numpy(), want_x)
    np.testing.assert_allclose(gy.numpy(), want_y)
    x = cr.tensor(x0, requires_grad=True)
    y = cr.tensor(y0, requires_grad=True)
    ax, ay = cr.autograd.grad(f(x, y).sum(), [x, y])
    np.testing.assert_allclose(ax.numpy(), want_x)
    np.testing.assert_allclose(ay.numpy(), want_y)
    _, back = cr.vjp(f, cr.tensor(x0), cr.tensor(y0))
    vx, vy = back(cr.tensor([1.0, 2.0]))
    np.testing.assert_allclose(vx.numpy(), want_x * [1.0, 2.0])
    np.testing.assert_allclose(vy.numpy(), want_y * [1.0, 2.0])
    jac = cr.jacrev(f)(cr.tensor(x0), cr.tensor(y0))
    np.testing.assert_allclose(jac.numpy(), np.diag(want_x))
    xv, yv = cr.Variable(x0), cr.Variable(y0)
    with cr.GradientTape(persistent=True) as tape:
        out = f(xv, yv)
    np.testing.assert_allclose(tape.gradient(out, xv).numpy(), want_x)
    np.testing.assert_allclose(tape.gradient(out, yv).numpy(), want_y)
    np.testing.assert_allclose(tape.jacobian(out, xv).numpy(), np.diag(want_x))
    c = cr.constant(x0)
    with cr.GradientTape() as tape:
        tape.watch(c)
        out = f(c, y0)
    np.testing.assert_allclose(tape.gradient(out, c).numpy(), want_x)


# ---------------------------------------------------------------- higher orders
def _cube():
    @cr.custom_vjp
    def cube(x):
        return x * x * x

    # The residual 3x^2 is computed in fwd: its history is what the second derivative follows.
    cube.defvjp(lambda x: (cube(x), 3.0 * x * x), lambda r, g: (r * g,))
    return cube


def test_second_and_third_order_through_the_rule() -> None:
    cube = _cube()
    assert float(cr.grad(cube)(2.0)) == 12.0
    assert float(cr.grad(cr.grad(cube))(2.0)) == 12.0  # 6x
    assert float(cr.grad(cr.grad(cr.grad(cube)))(2.0)) == 6.0
    x = cr.tensor(2.0, requires_grad=True)
    (dx,) = cr.autograd.grad(cube(x), x, create_graph=True)
    (ddx,) = cr.autograd.grad(dx, x)
    assert (float(dx), float(ddx)) == (12.0, 12.0)
    x.grad = None
    cube(x).backward(create_graph=True)
    g1 = x.grad
    x.grad = None
    g1.backward()
    assert float(x.grad) == 12.0
    np.testing.assert_allclose(cr.hessian(lambda v: cube(v).sum())(cr.tensor([1.0, -2.0])).numpy(),
                               np.diag([6.0, -12.0]))  # fmt: skip


def test_second_order_follows_residuals_made_in_fwd() -> None:
    f = _sin_times()
    # d2/dx2 [sin(x) y] = -sin(x) y: it comes only from the residual cos(x) made in fwd.
    np.testing.assert_allclose(float(cr.grad(cr.grad(f))(0.7, 3.0)), -np.sin(0.7) * 3.0)
    # d2/dxdy = cos(x): through the residual y.
    np.testing.assert_allclose(float(cr.grad(cr.grad(f), argnums=1)(0.7, 3.0)), np.cos(0.7))
    with cr.GradientTape() as outer:
        x = cr.Variable(0.7)
        with cr.GradientTape() as inner:
            out = f(x, 3.0)
        dx = inner.gradient(out, x)
    np.testing.assert_allclose(float(outer.gradient(dx, x)), -np.sin(0.7) * 3.0)


# ---------------------------------------------------------------- vmap
def _norm_sq(shapes: list[tuple[int, ...]] | None = None):
    """sum(x**2) with its rule; records the shapes bwd sees (one example each under vmap)."""

    @cr.custom_vjp
    def norm_sq(x):
        return cr.sum(x * x)

    def bwd(x, g):
        if shapes is not None:
            shapes.append((tuple(x.shape), tuple(g.shape)))
        return (2.0 * x * g,)

    norm_sq.defvjp(lambda x: (norm_sq(x), x), bwd)
    return norm_sq


def test_vmap_of_a_custom_vjp_function_and_of_its_gradient() -> None:
    shapes: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    f = _norm_sq(shapes)
    xs = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(cr.vmap(f)(xs).numpy(), (xs**2).sum(axis=1))
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(xs).numpy(), 2 * xs)
    assert shapes == [((2,), ())]  # bwd ran once, on one example's shapes
    np.testing.assert_allclose(cr.vmap(cr.vmap(cr.grad(f)))(xs.reshape(3, 1, 2)).numpy(), 2 * xs.reshape(3, 1, 2))
    # Per-example gradients of a batched call, then a plain backward through the whole batch.
    x = cr.tensor(xs, requires_grad=True)
    cr.vmap(f)(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xs)


def test_vmap_with_an_unbatched_argument_sums_its_cotangent() -> None:
    f = _sin_times()
    xs = np.array([0.1, 0.2, 0.3])
    y = cr.tensor(2.0, requires_grad=True)
    out = cr.vmap(f, in_axes=(0, None))(cr.tensor(xs), y)
    out.sum().backward()
    np.testing.assert_allclose(float(y.grad), np.sin(xs).sum())
    gx, gy = cr.vmap(cr.grad(f, argnums=(0, 1)), in_axes=(0, None))(cr.tensor(xs), 2.0)
    np.testing.assert_allclose(gx.numpy(), 2.0 * np.cos(xs))
    np.testing.assert_allclose(gy.numpy(), np.sin(xs))


def test_vmap_of_jacrev_and_hessian() -> None:
    f = _norm_sq()
    xs = np.array([[1.0, 2.0], [3.0, -1.0]])
    np.testing.assert_allclose(cr.vmap(cr.jacrev(f))(xs).numpy(), 2 * xs)
    np.testing.assert_allclose(cr.vmap(cr.hessian(f))(xs).numpy(), np.broadcast_to(2 * np.eye(2), (2, 2, 2)))


def test_fwd_closing_over_a_batched_value() -> None:
    # fwd reads a value batched by an outer vmap that is not an argument of the call.
    @cr.custom_vjp
    def scale(x):
        return x * 2.0

    scale.defvjp(lambda x: (x * 2.0, None), lambda _, g: (2.0 * g,))

    def per_example(c, x):
        return cr.sum(scale(x) * c)

    cs = np.array([1.0, 3.0])
    g = cr.vmap(cr.grad(per_example, argnums=1), in_axes=(0, None))(cs, cr.tensor([1.0, 1.0]))
    np.testing.assert_allclose(g.numpy(), [[2.0, 2.0], [6.0, 6.0]])


# ---------------------------------------------------------------- outputs and arguments
def test_several_outputs_share_one_node_and_one_bwd_call() -> None:
    calls = {"bwd": 0}

    @cr.custom_vjp
    def sincos(x):
        return cr.sin(x), cr.cos(x)

    def bwd(x, g):
        calls["bwd"] += 1
        gs, gc = g
        return (cr.cos(x) * gs - cr.sin(x) * gc,)

    sincos.defvjp(lambda x: (sincos(x), x), bwd)
    x = cr.tensor([0.4, 1.1], requires_grad=True)
    s, c = sincos(x)
    (s * 2.0 + c * 3.0).sum().backward()
    assert calls["bwd"] == 1
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([0.4, 1.1]) - 3 * np.sin([0.4, 1.1]))
    # Only one output used: the other's cotangent arrives as zeros.
    np.testing.assert_allclose(cr.grad(lambda v: sincos(v)[1].sum())(cr.tensor([0.4])).numpy(), -np.sin([0.4]))
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda v: sincos(v)[0] + sincos(v)[1]))(cr.tensor([0.4, 1.1])).numpy(),
                               np.cos([0.4, 1.1]) - np.sin([0.4, 1.1]))  # fmt: skip


def test_dict_outputs_integer_outputs_and_mixed_dtypes() -> None:
    @cr.custom_vjp
    def f(x):
        return {"double": x * 2.0, "count": cr.tensor(np.int64(x.shape[0])), "half": (x * 0.5).astype("float32")}

    def bwd(_, g):
        assert g["count"] is None and g["half"].dtype == np.float32
        return (g["double"] * 2.0 + g["half"].astype("float64") * 0.5,)

    f.defvjp(lambda x: (f(x), None), bwd)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    out = f(x)
    assert out["count"].dtype == np.int64 and not out["count"].requires_grad
    assert out["half"].dtype == np.float32 and out["double"].dtype == np.float64
    (out["double"].sum() + out["half"].sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.5, 2.5])


def test_container_arguments_none_cotangents_and_nondiff_argnums() -> None:
    @functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
    def apply(fn, params):
        return fn(params["w"]) * params["b"]

    def fwd(fn, params):
        return apply(fn, params), params

    def bwd(fn, params, g):
        # JAX's contract: nondiff arguments first; None means a zero cotangent.
        return ({"w": g * params["b"] * 10.0, "b": None},)

    apply.defvjp(fwd, bwd)
    w = cr.tensor(1.5, requires_grad=True)
    b = cr.tensor(2.0, requires_grad=True)
    apply(cr.sin, {"w": w, "b": b}).backward()
    assert float(w.grad) == 20.0 and b.grad is None
    g = cr.grad(lambda p: apply(cr.sin, p))({"w": 1.5, "b": 2.0})
    assert float(g["w"]) == 20.0 and float(g["b"]) == 0.0


def test_keyword_arguments_and_methods() -> None:
    class Layer:
        scale = 3.0

        @cr.custom_vjp
        def forward(self, x, bias=1.0):
            return x * self.scale + bias

    Layer.forward.defvjp(lambda self, x, bias=1.0: (self.forward(x, bias), self.scale),
                         lambda s, g: (None, g * s, None))  # fmt: skip
    layer = Layer()
    assert float(cr.grad(lambda x: layer.forward(x, bias=2.0))(1.0)) == 3.0
    assert float(layer.forward(cr.tensor(1.0), bias=2.0)) == 5.0


def test_writing_into_the_output_leaves_inputs_and_residuals_alone() -> None:
    @cr.custom_vjp
    def ident(x):
        return x

    ident.defvjp(lambda x: (x, x), lambda x, g: (g * x,))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = ident(x)
    with cr.no_grad():
        y += 10.0
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])


# ---------------------------------------------------------------- errors
def test_forward_mode_raises_a_type_error_as_in_jax() -> None:
    f = _sin_times()
    with pytest.raises(TypeError, match=r"can't apply forward-mode autodiff \(jvp\) to a custom_vjp function: 'f'"):
        cr.jvp(lambda x: f(x, 2.0), (0.3,), (1.0,))
    with pytest.raises(TypeError, match="custom_vjp"):
        cr.jacfwd(lambda x: f(x, 2.0))(cr.tensor([0.3]))
    x = cr.Variable(0.3)
    with pytest.raises(TypeError, match="custom_vjp"), cr.ForwardAccumulator(x, cr.constant(1.0)):
        f(x, 2.0)


def _doubling_identity(counter: dict[str, int]) -> cr.custom_vjp:
    """The identity whose reverse rule triples and whose forward rule doubles: each mode's
    answer tells which rule produced it."""

    @cr.custom_vjp
    def f(x):
        return x * 1.0

    f.defvjp(lambda x: (f(x), None), lambda _, g: (3.0 * g,))

    @f.defjvp
    def f_jvp(primals, tangents):
        counter["jvp"] = counter.get("jvp", 0) + 1
        (x,), (t,) = primals, tangents
        return f(x), 2.0 * t

    return f


def test_a_forward_rule_given_with_defjvp_serves_forward_mode() -> None:
    calls: dict[str, int] = {}
    f = _doubling_identity(calls)
    y, t = cr.jvp(f, (cr.tensor([0.5, -1.0]),), (cr.tensor([1.0, 4.0]),))
    np.testing.assert_allclose(y.numpy(), [0.5, -1.0])
    np.testing.assert_allclose(t.numpy(), [2.0, 8.0])
    assert calls["jvp"] == 1
    np.testing.assert_allclose(cr.jacfwd(f)(cr.tensor([0.5, -1.0])).numpy(), 2.0 * np.eye(2))
    # Reverse mode keeps fwd/bwd.
    np.testing.assert_allclose(cr.jacrev(f)(cr.tensor([0.5, -1.0])).numpy(), 3.0 * np.eye(2))
    # The exact rules of sin(x) * y agree with the math in both modes.
    g = _sin_times()
    g.defjvp(lambda p, t: (g(*p), cr.cos(p[0]) * t[0] * p[1] + cr.sin(p[0]) * t[1]))
    _, ty = cr.jvp(g, (cr.tensor(0.3), cr.tensor(2.0)), (cr.tensor(1.0), cr.tensor(0.5)))
    assert abs(float(ty) - (np.cos(0.3) * 2.0 + np.sin(0.3) * 0.5)) < 1e-12


def test_forward_rule_with_reverse_mode_following_too() -> None:
    """Both modes on one call: the output gets the forward rule's tangent and a reverse-mode
    node that uses bwd; the tangent, computed from tracked values, is itself differentiable."""
    calls: dict[str, int] = {}
    f = _doubling_identity(calls)
    x = cr.Variable([1.0, 2.0])
    with cr.GradientTape() as tape, cr.ForwardAccumulator(x, cr.constant([1.0, 1.0])) as acc:
        y = f(x) * x
    np.testing.assert_allclose(acc.jvp(y).numpy(), [2.0 * 1.0 + 1.0, 2.0 * 2.0 + 2.0])
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [3.0 * 1.0 + 1.0, 3.0 * 2.0 + 2.0])


def test_forward_rule_closing_over_a_followed_value_is_an_error() -> None:
    w = cr.Variable(2.0)

    @cr.custom_vjp
    def f(x):
        return x * w

    f.defvjp(lambda x: (f(x), None), lambda _, g: (g * 2.0,))
    f.defjvp(lambda p, t: (f(*p), t[0] * 2.0))
    with pytest.raises(TypeError, match="custom_vjp function with respect to a closed-over value"):
        with cr.ForwardAccumulator(w, cr.constant(1.0)) as acc:
            acc.watch(cr.Variable(1.0), cr.constant(1.0))
            x = cr.Variable(1.0)
            acc.watch(x, cr.constant(1.0))
            f(x)
    with pytest.raises(TypeError, match="the rule must be a function"):
        f.defjvp(3)


def _with_bwd(bwd, fwd=None):
    @cr.custom_vjp
    def scaled(x, w):
        return x * w

    scaled.defvjp(fwd or (lambda x, w: (x * w, (x, w))), bwd)
    return scaled


def test_wrong_number_of_cotangents_is_named() -> None:
    f = _with_bwd(lambda r, g: (g,))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"'scaled': bwd returned 1 cotangent\(s\), but 'scaled' has 2 differentiable argument\(s\) \('x', 'w'\)"):
        f(x, 3.0).sum().backward()
    f = _with_bwd(lambda r, g: g * r[1])
    with pytest.raises(TypeError, match="must return a tuple with one cotangent per differentiable argument"):
        f(x, 3.0).sum().backward()


def test_wrong_shape_and_dtype_of_a_cotangent_are_named() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    f = _with_bwd(lambda r, g: (g * r[1], cr.sum(g * r[0]) * cr.ones(3)))
    w = cr.tensor([3.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"'scaled': bwd returned a cotangent of shape \(3,\) for argument 1 \('w'\), which has shape \(2,\)"):
        f(x, w).sum().backward()
    f = _with_bwd(lambda r, g: ((g * r[1]).astype("float32"), None))
    with pytest.raises(ValueError, match=r"dtype float32 for argument 0 \('x'\), which has dtype float64"):
        f(x, w).sum().backward()


def test_fwd_must_return_a_pair_and_defvjp_is_required() -> None:
    f = _with_bwd(lambda r, g: (g, g), fwd=lambda x, w: x * w)
    with pytest.raises(TypeError, match="'scaled': fwd must return a pair"):
        f(cr.tensor(1.0, requires_grad=True), 2.0)

    @cr.custom_vjp
    def bare(x):
        return x

    with pytest.raises(AttributeError, match="No VJP defined for custom_vjp function bare using defvjp"):
        bare(1.0)


def test_a_closed_over_tracked_tensor_is_an_error_not_a_lost_gradient() -> None:
    w = cr.tensor(3.0, requires_grad=True)

    @cr.custom_vjp
    def uses_w(x):
        return x * w

    uses_w.defvjp(lambda x: (x * w, None), lambda _, g: (g * 3.0,))
    with pytest.raises(RuntimeError, match="'uses_w': fwd used a tensor that is being differentiated but is not one of its arguments"):
        uses_w(cr.tensor(1.0, requires_grad=True))
    # A constant closed over (not differentiated) is fine.
    c = cr.tensor(3.0)
    uses_c = cr.custom_vjp(lambda x: x * c)
    uses_c.defvjp(lambda x: (x * c, None), lambda _, g: (g * 3.0,))
    assert float(cr.grad(uses_c)(1.0)) == 3.0


def test_a_residual_modified_in_place_is_an_error() -> None:
    f = _with_bwd(lambda r, g: (g * r[1], g * r[0]))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0])
    out = f(x, w)
    w.add_(1.0)
    with pytest.raises(RuntimeError, match=r"'scaled': residual 1 .* modified by an in-place operation"):
        out.sum().backward()


def test_runtime_primitives_stay_out_of_the_registry() -> None:
    before = set(registry)
    p = Primitive("custom_vjp_call", lambda x: x, nin=1, register=False)
    q = Primitive("custom_vjp_call", lambda x: x, nin=1, register=False)
    assert p is not q and set(registry) == before
    _sin_times()(cr.tensor(0.5, requires_grad=True), 2.0).backward()
    assert set(registry) == before


def test_closed_over_true_collects_the_tensors_fwd_reads() -> None:
    w = cr.tensor([2.0, 3.0], requires_grad=True)
    seen = []

    def fwd(x):
        return cr.sum(x * w), (x, w)

    def bwd(res, g, tensors):
        x, w_ = res
        seen.append(tensors)
        # Ten times the true cotangent of the closed-over w, so the test sees which one arrives.
        return (g * w_,), [10.0 * g * x]

    f = cr.custom_vjp(lambda x: cr.sum(x * w), closed_over=True)
    f.defvjp(fwd, bwd)
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    f(x).backward()
    assert len(seen) == 1 and len(seen[0]) == 1 and seen[0][0] is w
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])
    np.testing.assert_array_equal(w.grad.numpy(), [10.0, -10.0])
    # Under vmap each example's cotangent of the closed-over tensor is summed over the batch.
    w.grad = None
    cr.vmap(f)(cr.tensor([[1.0, 0.0], [0.0, 2.0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [10.0, 20.0])


def test_a_gradient_tensor_reused_and_changed_between_sweeps_is_read_again() -> None:
    @cr.custom_vjp
    def triple(x):
        return x * 3.0

    triple.defvjp(lambda x: (x * 3.0, None), lambda _, g: (g * 3.0,))
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = triple(x)
    seed = cr.tensor([1.0, 1.0])
    y.backward(seed, retain_graph=True)
    with cr.no_grad():
        seed.mul_(2.0)
    y.backward(seed)
    np.testing.assert_array_equal(x.grad.numpy(), [9.0, 9.0])  # 3 * 1 + 3 * 2


def test_the_node_does_not_keep_its_inputs_alive() -> None:
    import gc
    import weakref

    clip = _clip_gradient()
    w = cr.tensor(np.ones(1000), requires_grad=True)
    h = w * 2.0  # mul by a constant keeps nothing: h's array lives only as long as h
    ref = weakref.ref(h.numpy())
    out = clip(h)
    del h
    gc.collect()
    assert ref() is None  # the call's node kept the shape of its input, not its values
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full(1000, 2.0))  # clip(1) = 1, times dh/dw = 2
