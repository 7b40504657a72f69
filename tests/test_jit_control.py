"""cond, switch and fori_loop inside cr.jit: branches and bodies traced once into sub-programs.

Every check compares with what the function computes without jit (eager values and gradients,
or the same loop unrolled by hand), on the values the program was traced with and on others.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import callback
from chainrule.transforms.jit import ConcretizationError


def _close(a, b) -> None:
    a = a.numpy() if isinstance(a, cr.Tensor) else np.asarray(a)
    b = b.numpy() if isinstance(b, cr.Tensor) else np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _ops(lowered, name: str) -> int:
    return sum(1 for eq in lowered.program.eqns if eq.prim.name == name)


# ---------------------------------------------------------------- cond: one branch runs
def test_cond_runs_only_the_chosen_branch_at_every_call() -> None:
    calls: list[str] = []

    def branch(tag, scale):
        def fn(v):
            callback(lambda a: calls.append(tag), v)
            return v * scale

        return fn

    f = cr.jit(lambda p, v: cr.cond(p > 0, branch("true", 2.0), branch("false", -1.0), v))
    x = cr.tensor([1.0, 2.0])
    _close(f(cr.tensor(1.0), x), x * 2.0)
    assert calls == ["true"]
    calls.clear()
    _close(f(cr.tensor(-1.0), x), -x)
    _close(f(cr.tensor(-3.0), x), -x)
    _close(f(cr.tensor(5.0), x), x * 2.0)
    assert calls == ["false", "false", "true"]
    assert f.cache_size() == 1
    # One op in the program, whose branches are sub-programs.
    lowered = f.lower(cr.tensor(1.0), x)
    assert _ops(lowered, "cond") == 1
    assert [eq.prim.name for eq in lowered.program.eqns] == ["greater", "cond"]


def test_the_other_branch_cannot_poison_the_value_or_the_gradient() -> None:
    def f(x):
        return cr.cond(x > 0, lambda v: cr.sqrt(v), lambda v: v * 0.0, x)

    x = cr.tensor(-4.0)
    _close(cr.jit(f)(x), cr.tensor(-0.0))
    # where() runs both sides: sqrt's derivative at -4 is NaN and 0 * NaN is NaN.
    with np.errstate(invalid="ignore"):
        g_where = cr.grad(lambda x: cr.where(x > 0, cr.sqrt(x), x * 0.0))(x)
    assert np.isnan(g_where.item())
    for g in (cr.jit(cr.grad(f)), cr.grad(cr.jit(f)), cr.grad(f)):
        _close(g(x), cr.tensor(0.0))
    _close(cr.jit(cr.grad(f))(cr.tensor(4.0)), cr.tensor(0.25))


def test_an_error_in_the_other_branch_does_not_happen_at_replay() -> None:
    def f(a):
        return cr.cond(cr.abs(cr.linalg.det(a)) > 1e-12, lambda m: cr.linalg.inv(m), lambda m: m * 0.0, a)

    jf = cr.jit(f)
    _close(jf(cr.tensor([[2.0, 0.0], [0.0, 4.0]])), cr.tensor([[0.5, 0.0], [0.0, 0.25]]))
    singular = cr.tensor([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError):
        cr.linalg.inv(singular)
    _close(jf(singular), singular * 0.0)
    _close(cr.grad(lambda a: cr.sum(jf(a)))(singular), cr.zeros((2, 2)))


# ---------------------------------------------------------------- cond: derivatives
def _cond_fn(p, x, w):
    return cr.sum(cr.cond(p > 0, lambda v: cr.sin(v) * w, lambda v: v * v * w + cr.exp(v), x))


@pytest.mark.parametrize("p", [1.0, -1.0])
def test_cond_gradients_first_and_second_order(p) -> None:
    P, x, w = cr.tensor(p), cr.tensor([0.3, 0.7]), cr.tensor(1.7)
    want = cr.grad(_cond_fn, argnums=(1, 2))(P, x, w)
    for got in (cr.jit(cr.grad(_cond_fn, argnums=(1, 2)))(P, x, w),
                cr.grad(cr.jit(_cond_fn), argnums=(1, 2))(P, x, w)):  # fmt: skip
        _close(got[0], want[0])
        _close(got[1], want[1])

    def hvp(f):
        return lambda x: cr.sum(cr.grad(f, argnums=1)(P, x, w) * cr.tensor([1.0, -2.0]))

    want2 = cr.grad(hvp(_cond_fn))(x)
    _close(cr.jit(cr.grad(hvp(_cond_fn)))(x), want2)
    _close(cr.grad(hvp(cr.jit(_cond_fn)))(x), want2)
    # Other values than the traced ones, same program.
    jg = cr.jit(cr.grad(_cond_fn, argnums=1))
    for q in (2.0, -2.0):
        x2 = cr.tensor([1.1, -0.4])
        _close(jg(cr.tensor(q), x2, w), cr.grad(_cond_fn, argnums=1)(cr.tensor(q), x2, w))
    assert jg.cache_size() == 1


def test_values_the_branches_close_over_are_inputs_and_get_gradients() -> None:
    state = cr.tensor(3.0, requires_grad=True)

    def f(p, x, y):
        # y (an argument) and state (a tensor that requires grad) are closed over.
        return cr.cond(p > 0, lambda v: v * y + state, lambda v: v - y * state, x)

    jf = cr.jit(f)
    p, x, y = cr.tensor(1.0), cr.tensor(2.0), cr.tensor(5.0)
    _close(jf(p, x, y).detach(), cr.tensor(13.0))
    _close(jf(cr.tensor(-1.0), x, y).detach(), cr.tensor(-13.0))
    with cr.no_grad():
        state.add_(1.0)
    _close(jf(p, x, y).detach(), cr.tensor(14.0))
    for q in (1.0, -1.0):
        want = cr.grad(f, argnums=(1, 2))(cr.tensor(q), x, y)
        got = cr.jit(cr.grad(f, argnums=(1, 2)))(cr.tensor(q), x, y)
        _close(got[0], want[0])
        _close(got[1], want[1])


def test_cond_with_pytrees_and_integer_outputs() -> None:
    def f(p, d):
        return cr.cond(p, lambda t: {"n": t["k"] + 1, "v": (t["x"] * 2.0, t["x"].astype(np.float32))},
                       lambda t: {"n": t["k"] * 3, "v": (-t["x"], cr.zeros(2, dtype=np.float32))}, d)  # fmt: skip

    d = {"k": cr.tensor(4), "x": cr.tensor([1.0, 2.0])}
    jf = cr.jit(f)
    for p in (True, False):
        got, want = jf(cr.tensor(p), d), f(cr.tensor(p), d)
        _close(got["n"], want["n"])
        _close(got["v"][0], want["v"][0])
        _close(got["v"][1], want["v"][1])
    g = cr.jit(cr.grad(lambda x, p: cr.sum(f(p, {"k": cr.tensor(4), "x": x})["v"][1] * 3.0)))
    _close(g(cr.tensor([1.0, 2.0]), cr.tensor(True)), cr.tensor([3.0, 3.0]))
    _close(g(cr.tensor([1.0, 2.0]), cr.tensor(False)), cr.tensor([0.0, 0.0]))


def test_cond_mismatched_branches_and_bad_predicates_raise_clearly() -> None:
    x = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"different shapes/dtypes for output 0: false_fun gives \(\) "):
        cr.jit(lambda p, v: cr.cond(p > 0, lambda u: u, lambda u: cr.sum(u), v))(cr.tensor(1.0), x)
    with pytest.raises(TypeError, match="float32"):
        cr.jit(lambda p, v: cr.cond(p > 0, lambda u: u, lambda u: u.astype(np.float32), v))(cr.tensor(1.0), x)
    with pytest.raises(TypeError, match="different structures"):
        cr.jit(lambda p, v: cr.cond(p > 0, lambda u: (u, u), lambda u: u, v))(cr.tensor(1.0), x)
    with pytest.raises(ValueError, match=r"cond: the predicate must be a scalar, got shape \(2,\)"):
        cr.jit(lambda v: cr.cond(v > 0, lambda u: u, lambda u: -u, v))(x)
    with pytest.raises(TypeError, match="switch: the index must be an integer"):
        cr.jit(lambda i, v: cr.switch(i, [lambda u: u, lambda u: -u], v))(cr.tensor(0.5), x)


def test_cond_outside_jit_calls_one_branch() -> None:
    seen = []

    def branch(tag):
        def fn(v):
            seen.append(tag)
            return v + 1.0

        return fn

    assert cr.cond(cr.tensor(True), branch("t"), branch("f"), cr.tensor(1.0)).item() == 2.0
    assert cr.cond(False, branch("t"), branch("f"), cr.tensor(1.0)).item() == 2.0
    assert seen == ["t", "f"]


def test_switch_picks_clamps_and_differentiates() -> None:
    fns = [lambda v: v + 1.0, lambda v: cr.sin(v) * 10.0, lambda v: v * v]

    def f(i, x):
        return cr.switch(i, fns, x)

    jf = cr.jit(f)
    jg = cr.jit(cr.grad(f, argnums=1))
    x = cr.tensor(0.5)
    for i in (-3, 0, 1, 2, 9):
        want_i = min(max(i, 0), 2)
        _close(jf(cr.tensor(i), x), fns[want_i](x))
        _close(jg(cr.tensor(i), x), cr.grad(fns[want_i])(x))
        _close(cr.grad(jf, argnums=1)(cr.tensor(i), x), cr.grad(fns[want_i])(x))
    assert jf.cache_size() == 1 and _ops(jf.lower(cr.tensor(0), x), "switch") == 1
    # A concrete index calls its branch (clamped, as in JAX).
    _close(cr.switch(5, fns, x), fns[2](x))


def test_batched_predicate_selects_like_jax() -> None:
    f = lambda p, x: cr.cond(p > 0, lambda v: v * 2.0, lambda v: cr.sin(v), x)  # noqa: E731
    P = cr.tensor([1.0, -1.0, 2.0])
    X = cr.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    want = cr.stack([f(P[k], X[k]) for k in range(3)])
    _close(cr.vmap(f)(P, X), want)
    _close(cr.vmap(cr.jit(f))(P, X), want)
    _close(cr.jit(cr.vmap(f))(P, X), want)


# ---------------------------------------------------------------- fori_loop
W = np.array([[0.5, -0.3], [0.2, 0.9]])


def _body(i, c):
    h = cr.tanh(c["h"] @ cr.tensor(W) + 0.1 * i)
    return {"h": h, "s": c["s"] + cr.sum(h * h)}


def _loop(x, n):
    out = cr.fori_loop(0, n, _body, {"h": x, "s": cr.tensor(0.0)})
    return out["s"] + cr.sum(out["h"])


def _unrolled(x, n):
    c = {"h": x, "s": cr.tensor(0.0)}
    for i in range(n):
        c = _body(i, c)
    return c["s"] + cr.sum(c["h"])


@pytest.mark.parametrize("n", [1, 2, 5])
def test_fori_loop_equals_the_unrolled_loop_values_and_gradients(n) -> None:
    x = cr.tensor([0.3, -0.4])
    jl = cr.jit(_loop, static_argnums=1)
    _close(jl(x, n), _unrolled(x, n))
    want = cr.grad(_unrolled)(x, n)
    _close(cr.jit(cr.grad(_loop), static_argnums=1)(x, n), want)
    _close(cr.grad(jl)(x, n), want)
    x2 = cr.tensor([-1.2, 0.8])
    _close(jl(x2, n), _unrolled(x2, n))
    _close(cr.grad(jl)(x2, n), cr.grad(_unrolled)(x2, n))

    def hvp(f):
        return lambda x: cr.sum(cr.grad(f)(x, n) * cr.tensor([1.0, 2.0]))

    want2 = cr.grad(hvp(_unrolled))(x)
    _close(cr.jit(cr.grad(hvp(_loop)))(x), want2)
    _close(cr.grad(hvp(jl))(x), want2)


def test_the_program_does_not_grow_with_the_trip_count() -> None:
    x = cr.tensor([0.3, -0.4])
    sizes = {n: len(cr.jit(_loop, static_argnums=1).lower(x, n).as_text().splitlines()) for n in (2, 5, 40)}
    assert len(set(sizes.values())) == 1, sizes
    grads = {n: len(cr.jit(cr.grad(_loop), static_argnums=1).lower(x, n).as_text().splitlines())
             for n in (2, 40)}  # fmt: skip
    assert len(set(grads.values())) == 1, grads
    unrolled = [len(cr.jit(_unrolled, static_argnums=1).lower(x, n).as_text().splitlines()) for n in (2, 5)]
    assert unrolled[1] > unrolled[0]
    lowered = cr.jit(_loop, static_argnums=1).lower(x, 40)
    assert _ops(lowered, "fori_loop") == 1
    text = lowered.as_text()
    assert "fori_loop[" in text and "lower=0, trips=40" in text and "body=" in text


def test_gradient_reaches_what_the_body_closes_over() -> None:
    def loss(w, x):
        return cr.sum(cr.fori_loop(1, 4, lambda i, h: cr.tanh(h @ w) * i, x))

    def unrolled(w, x):
        h = x
        for i in range(1, 4):
            h = cr.tanh(h @ w) * i
        return cr.sum(h)

    w, x = cr.tensor(W), cr.tensor([0.3, -0.4])
    want = cr.grad(unrolled, argnums=(0, 1))(w, x)
    for got in (cr.jit(cr.grad(loss, argnums=(0, 1)))(w, x), cr.grad(cr.jit(loss), argnums=(0, 1))(w, x)):
        _close(got[0], want[0])
        _close(got[1], want[1])
    assert _ops(cr.jit(loss).lower(w, x), "fori_loop") == 1


def test_integer_carry_and_callbacks_in_the_body() -> None:
    calls = []

    def body(i, c):
        k, v = c
        callback(lambda a: calls.append(int(a)), i)
        return k + 2, v * 1.5 + i

    f = cr.jit(lambda v: cr.fori_loop(3, 7, body, (0, v)))
    k, v = f(cr.tensor(2.0))
    want = cr.tensor(2.0)
    for i in range(3, 7):
        want = want * 1.5 + i
    assert k.item() == 8 and k.dtype == np.int64
    _close(v, want)
    assert calls == [3, 4, 5, 6]
    _close(cr.jit(cr.grad(lambda v: f(v)[1]))(cr.tensor(2.0)), cr.tensor(1.5**4))


def test_a_body_that_indexes_with_the_loop_index_stays_one_loop() -> None:
    # xs[i]: the index is an input of the getitem op, read at every step (not xs[0] each time).
    f = cr.jit(lambda xs: cr.fori_loop(0, 4, lambda i, s: s + xs[i] * xs[i], cr.tensor(0.0)))
    xs = cr.tensor([1.0, 2.0, 3.0, 4.0])
    _close(f(xs), cr.tensor(30.0))
    _close(f(xs * 2.0), cr.tensor(120.0))
    assert _ops(f.lower(xs), "fori_loop") == 1
    _close(cr.jit(cr.grad(lambda xs: f(xs)))(xs), 2.0 * xs)
    # The same with an index computed from i (a reverse loop).
    g = cr.jit(lambda xs: cr.fori_loop(0, 4, lambda i, s: s * 10.0 + xs[3 - i], cr.tensor(0.0)))
    _close(g(xs), cr.tensor(4321.0))
    _close(g(xs + 1.0), cr.tensor(5432.0))
    assert _ops(g.lower(xs), "fori_loop") == 1


def test_a_body_that_needs_the_index_value_in_settings_is_unrolled() -> None:
    # A mask made from i decides the shape of what it selects: the loop is unrolled (i concrete).
    def body(i, s):
        return s + cr.sum(xs_[cr.arange(4) <= i])

    xs_ = cr.tensor([1.0, 2.0, 3.0, 4.0])
    f = cr.jit(lambda s: cr.fori_loop(0, 4, body, s))
    _close(f(cr.tensor(0.0)), cr.tensor(1.0 + 3.0 + 6.0 + 10.0))
    assert _ops(f.lower(cr.tensor(0.0)), "fori_loop") == 0


def test_fori_loop_errors_and_edge_cases() -> None:
    x = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match=r"carry leaf 0 is \(\) int64 but the body returned \(\) float64"):
        cr.jit(lambda v: cr.fori_loop(0, 3, lambda i, c: (c[0] + 0.5, c[1]), (0, v)))(x)
    with pytest.raises(TypeError, match="must return the carry's structure"):
        cr.jit(lambda v: cr.fori_loop(0, 3, lambda i, c: (c, c), v))(x)
    with pytest.raises(TypeError, match="the upper bound must be an int"):
        cr.fori_loop(0, 2.5, lambda i, c: c, x)
    with pytest.raises(ConcretizationError, match="upper bound is a traced tensor"):
        cr.jit(lambda n, v: cr.fori_loop(0, n, lambda i, u: u, v))(cr.tensor(3), x)
    # No trips: the initial value.
    _close(cr.jit(lambda v: cr.fori_loop(5, 5, lambda i, u: u * 2.0, v))(x), x)
    # Static bounds given as tensors outside jit are fine.
    _close(cr.fori_loop(cr.tensor(0), cr.tensor(2), lambda i, u: u * 2.0, x), x * 4.0)


def test_nested_control_flow() -> None:
    def h(x):
        return cr.fori_loop(0, 6, lambda i, v: cr.cond(cr.sum(v) > 1.0, lambda u: u * 0.5,
                                                           lambda u: cr.sin(u) * 3.0, v), x)  # fmt: skip

    def k(p, x):
        return cr.cond(p > 0, lambda v: cr.fori_loop(0, 3, lambda i, u: u * u, v), lambda v: v, x)

    x = cr.tensor([0.2, 0.1])
    _close(cr.jit(h)(x), h(x))
    _close(cr.jit(cr.grad(lambda x: cr.sum(h(x))))(x), cr.grad(lambda x: cr.sum(h(x)))(x))
    text = cr.jit(h).lower(x).as_text()
    assert text.count("cond[") == 1 and text.count("fori_loop[") == 1
    for p in (1.0, -1.0):
        P = cr.tensor(p)
        _close(cr.jit(k)(P, x), k(P, x))
        _close(cr.grad(cr.jit(lambda x, P=P: cr.sum(k(P, x))))(x), cr.grad(lambda x, P=P: cr.sum(k(P, x)))(x))


def test_loops_under_vmap_and_forward_mode() -> None:
    loop = lambda x: cr.fori_loop(0, 3, lambda i, v: cr.sin(v) + i, x)  # noqa: E731
    X = cr.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    want = cr.stack([loop(X[k]) for k in range(3)])
    _close(cr.vmap(loop)(X), want)
    _close(cr.vmap(cr.jit(loop))(X), want)
    _close(cr.jit(cr.vmap(loop))(X), want)
    g = cr.vmap(cr.grad(lambda x: cr.sum(loop(x))))(X)
    _close(cr.vmap(cr.grad(lambda x: cr.sum(cr.jit(loop)(x))))(X), g)
    t = cr.ones_like(X)
    want_t = cr.jvp(loop, (X,), (t,))[1]
    _close(cr.jvp(cr.jit(loop), (X,), (t,))[1], want_t)
    _close(cr.jit(lambda X: cr.jvp(loop, (X,), (t,))[1])(X), want_t)


def test_tf_function_and_a_tape_through_a_loop() -> None:
    import chainrule.tf as tf

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(cr.fori_loop(0, 3, lambda i, v: tf.sin(v) * 2.0, x))
        return tape.gradient(y, x)

    x = tf.constant([0.1, 0.2], dtype=tf.float64)
    want = step(x)
    _close(tf.function(step)(x), want)
    _close(tf.function(step)(x + 0.5), step(x + 0.5))


def test_viz_shows_the_sub_programs() -> None:
    f = cr.jit(lambda p, x: cr.cond(p > 0, lambda v: v * 2.0, lambda v: -v, x))
    graph = f.lower(cr.tensor(1.0), cr.tensor([1.0, 2.0])).to_graph()
    (node,) = [n for n in graph.nodes if n.kind == "op" and n.op.startswith("cond")]
    assert node.op.splitlines()[:2] == ["cond[", "  branches=("]
    assert "= neg" in node.op and "= mul" in node.op
    drawing = f.lower(cr.tensor(1.0), cr.tensor([1.0, 2.0])).draw(engine="matplotlib")
    assert "branches=(" in drawing.dot


# ---------------------------------------------------------------- state written inside control flow
def test_state_write_in_a_cond_branch_is_a_clear_error_and_leaves_state_alone() -> None:
    from chainrule import tf

    v = tf.Variable(0.0, dtype=tf.float64)

    def f(p, x):
        def writes(x):
            v.assign_add(x)
            return x * 2.0

        return cr.cond(p > 0, writes, lambda x: x - 1.0, x)

    with pytest.raises(NotImplementedError, match=r"cond branch writes state: it writes a \w*Variable"):
        cr.jit(f)(cr.tensor(1.0), cr.tensor(3.0))
    assert v.numpy() == 0.0  # (tracing wrote it once; the failed trace undid it)
    # The same with an in-place update of a parameter, and in a switch.
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def g(i, x):
        def bump(x):
            with cr.no_grad():
                w.add_(x)
            return x

        return cr.switch(i, [bump, lambda x: x * 0.0], x)

    with pytest.raises(NotImplementedError, match="switch branch writes state"):
        cr.jit(g)(cr.tensor(0), cr.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    # What works: the new value from cond, written outside it, at every call.
    h = cr.jit(lambda p, x: v.assign(cr.cond(p > 0, lambda u: v + u, lambda u: v * 1.0, x)))
    for p, want in ((1.0, 3.0), (-1.0, 3.0), (1.0, 6.0)):
        h(cr.tensor(p), cr.tensor(3.0))
        assert v.numpy() == want


def test_state_write_in_a_loop_body_happens_at_every_step_and_call() -> None:
    from chainrule import tf

    acc = tf.Variable(0.0, dtype=tf.float64)

    def f(x):
        def body(i, c):
            acc.assign_add(c)
            return c + 1.0

        return cr.fori_loop(0, 3, body, x)

    jf = cr.jit(f)
    _close(jf(cr.tensor(1.0)), cr.tensor(4.0))
    assert acc.numpy() == 1.0 + 2.0 + 3.0
    _close(jf(cr.tensor(10.0)), cr.tensor(13.0))
    assert acc.numpy() == 6.0 + 10.0 + 11.0 + 12.0
    # A parameter updated in place in the body (an SGD step per iteration) as well.
    w = cr.tensor([1.0, -1.0], requires_grad=True)

    def train(x):
        def step(i, c):
            with cr.no_grad():
                w.sub_(0.1 * x * w)
            return c + cr.sum(w.detach())

        return cr.fori_loop(0, 2, step, cr.tensor(0.0))

    jt = cr.jit(train)
    eager_w = np.array([1.0, -1.0])
    for x in ([1.0, 2.0], [0.5, 0.5]):
        out = jt(cr.tensor(x))
        want = 0.0
        for _ in range(2):
            eager_w = eager_w - 0.1 * np.array(x) * eager_w
            want += eager_w.sum()
        np.testing.assert_allclose(w.numpy(), eager_w, rtol=1e-12)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
