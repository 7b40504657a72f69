"""cr.jit: the cache and retracing, side effects, the control-flow error, cond/fori_loop, the
passes, composition with the transforms, state, and the dialects' tf.function / torch.compile."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import callback
from chainrule.transforms.jit import ConcretizationError


def _f(x):
    return cr.sum(cr.tanh(cr.sin(x) * 2.0 + 1.0))


# ---------------------------------------------------------------- cache and retracing
def test_traces_once_per_signature_not_per_value() -> None:
    traces = []

    @cr.jit
    def f(x):
        traces.append(tuple(x.shape))
        return x * 2.0

    for v in ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]):
        np.testing.assert_array_equal(f(cr.tensor(v)).numpy(), np.array(v) * 2.0)
    assert traces == [(2,)] and f.cache_size() == 1
    f(cr.tensor([1.0, 2.0, 3.0]))  # new shape
    f(cr.tensor([1.0, 2.0], dtype="float32"))  # new dtype
    f(np.array([1.0, 2.0]))  # an ndarray of a known signature: no new trace
    assert traces == [(2,), (3,), (2,)] and f.cache_size() == 3
    assert f(cr.tensor([1.0, 2.0], dtype="float32")).dtype == np.float32


def test_python_values_and_static_args_key_the_cache() -> None:
    traces = []

    def f(x, n, scale):
        traces.append((n, scale))
        out = x
        for _ in range(n):  # Python control flow on a static value is fine
            out = out * scale
        return out

    jf = cr.jit(f, static_argnums=1)
    x = cr.tensor([1.0, 2.0])
    np.testing.assert_allclose(jf(x, 3, 2.0).numpy(), [8.0, 16.0])
    np.testing.assert_allclose(jf(x, 3, 2.0).numpy(), [8.0, 16.0])
    np.testing.assert_allclose(jf(x, 2, 2.0).numpy(), [4.0, 8.0])
    np.testing.assert_allclose(jf(x, 2, 3.0).numpy(), [9.0, 18.0])  # a Python number: part of the key
    assert traces == [(3, 2.0), (2, 2.0), (2, 3.0)] and jf.cache_size() == 3
    with pytest.raises(TypeError, match="static argument 1 .* must be hashable"):
        cr.jit(f, static_argnums=1)(x, [1], 2.0)


def test_pytrees_in_and_out() -> None:
    @cr.jit
    def f(params, x):
        return {"y": params["w"] * x + params["b"], "n": 3, "pair": (x, x * 0.5)}

    out = f({"w": cr.tensor(2.0), "b": cr.tensor(1.0)}, cr.tensor([1.0, 2.0]))
    assert out["n"] == 3
    np.testing.assert_allclose(out["y"].numpy(), [3.0, 5.0])
    np.testing.assert_allclose(out["pair"][1].numpy(), [0.5, 1.0])


def test_output_structures_are_rebuilt_at_every_call() -> None:
    # (the output's structure is compiled into a builder at the first call: each later call
    # must give the same containers, fresh ones, with the static leaves and the array kinds)
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")

    @cr.jit
    def f(ps, x):
        return (cr.sum(x), [p * 2.0 for p in ps], (x + 1.0, 7),
                Pair(x, [x * 3.0]), {"k": [], "t": ()}, [(x,), [x, x]])  # fmt: skip

    ps = [cr.tensor([1.0]), cr.tensor([2.0, 3.0])]
    outs = [f(ps, cr.tensor([1.0, 2.0])) for _ in range(3)]
    for out in outs:
        s, doubled, (y, seven), pair, empty, nested = out
        assert type(out) is tuple and type(doubled) is list and type(pair) is Pair and seven == 7
        assert empty == {"k": [], "t": ()} and type(nested[0]) is tuple and type(nested[1]) is list
        np.testing.assert_allclose(s.numpy(), 3.0)
        np.testing.assert_allclose(doubled[1].numpy(), [4.0, 6.0])
        np.testing.assert_allclose(y.numpy(), [2.0, 3.0])
        np.testing.assert_allclose(pair.b[0].numpy(), [3.0, 6.0])
        assert all(isinstance(t, cr.Tensor) for t in (s, *doubled, y, pair.a, nested[1][1]))
    assert outs[0][1] is not outs[1][1] and outs[0][4]["k"] is not outs[1][4]["k"]


# ---------------------------------------------------------------- side effects
def test_python_side_effects_run_at_trace_time_only(capsys) -> None:
    @cr.jit
    def f(x):
        print("tracing f")
        callback(lambda v: print("value", v.tolist()), x)
        return x + 1.0

    f(cr.tensor([1.0]))
    f(cr.tensor([2.0]))
    out = capsys.readouterr().out
    assert out.count("tracing f") == 1
    assert "value [1.0]" in out and "value [2.0]" in out


# ---------------------------------------------------------------- the control-flow error
def test_python_control_flow_on_a_traced_value_names_the_line() -> None:
    def f(x):
        if x > 0:  # the offending line
            return x
        return -x

    with pytest.raises(ConcretizationError) as info:
        cr.jit(f)(cr.tensor(1.0))
    message = str(info.value)
    assert "test_jit.py" in message and "if x > 0:" in message
    assert "static_argnums" in message and "cr.where" in message and "cr.cond" in message
    for conversion in (float, int, lambda t: t.item(), lambda t: t.numpy(), np.asarray):
        with pytest.raises(ConcretizationError):
            cr.jit(lambda x, c=conversion: cr.tensor(c(x)))(cr.tensor(1.0))
    # The fix the message suggests.
    g = cr.jit(f, static_argnums=0)
    assert float(g(2.0)) == 2.0 and float(g(-3.0)) == 3.0


def test_escaped_tracer_raises_when_used() -> None:
    box = []

    @cr.jit
    def f(x):
        y = x * 2.0
        box.append(y)
        return y

    f(cr.tensor([1.0]))
    with pytest.raises(RuntimeError, match="escaped its trace"):
        box[0] + 1.0


# ---------------------------------------------------------------- cond and fori_loop
def test_cond_traces_both_branches_and_selects() -> None:
    def f(p, x):
        return cr.cond(p > 0, lambda v: cr.sum(v * v), lambda v: cr.sum(cr.sin(v)), x)

    jf = cr.jit(f)
    x = cr.tensor([0.5, 1.5])
    for p in (1.0, -1.0, 2.0):
        np.testing.assert_allclose(jf(cr.tensor(p), x).numpy(), f(cr.tensor(p), x).numpy())
    assert jf.cache_size() == 1
    g = cr.jit(cr.grad(f, argnums=1))
    np.testing.assert_allclose(g(cr.tensor(1.0), x).numpy(), 2 * x.numpy())
    np.testing.assert_allclose(g(cr.tensor(-1.0), x).numpy(), np.cos(x.numpy()))
    with pytest.raises(TypeError, match="different shapes"):
        cr.jit(lambda p, v: cr.cond(p > 0, lambda u: u, lambda u: cr.sum(u), v))(cr.tensor(1.0), x)


def test_fori_loop_unrolls_and_differentiates() -> None:
    def f(x):
        return cr.sum(cr.fori_loop(0, 4, lambda i, v: cr.sin(v) * (i + 1.0), x))

    x = cr.tensor([0.3, 0.7])
    np.testing.assert_allclose(cr.jit(f)(x).numpy(), f(x).numpy())
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x).numpy(), cr.grad(f)(x).numpy())
    with pytest.raises(ConcretizationError, match="upper bound is a traced tensor"):
        cr.jit(lambda n, v: cr.fori_loop(0, n, lambda i, u: u, v))(cr.tensor(3), x)


# ---------------------------------------------------------------- the program and its passes
def test_lower_prints_the_program_and_the_passes_remove_ops() -> None:
    lowered = cr.jit(cr.grad(_f)).lower(cr.tensor([0.1, 0.2]))
    before, after = lowered.as_text(optimized=False), lowered.as_text()
    assert before.startswith("{ lambda ; a:f64[2]. let") and "sin" in after and "cos" in after
    removed = lowered.removed()
    # The seed of the backward pass is a constant one (simplify) and the forward value is not
    # returned by grad (dce).
    assert removed["simplify"] >= 1 and removed["dce"] >= 1
    assert len(after.splitlines()) < len(before.splitlines())
    assert "= sin(v" in lowered.source() and "return (" in lowered.source()


def test_cse_merges_repeated_work() -> None:
    lowered = cr.jit(lambda x: cr.sin(x) + cr.sin(x)).lower(cr.tensor([1.0]))
    assert lowered.as_text(optimized=False).count("sin") == 2
    assert lowered.as_text().count("sin") == 1 and lowered.removed()["cse"] == 1


def test_multiplication_by_zero_is_kept() -> None:
    # 0 * inf is NaN in eager mode: the program must give the same.
    f = cr.jit(lambda x: x * 0.0)
    assert "mul" in f.lower(cr.tensor([1.0])).as_text()
    with np.errstate(invalid="ignore"):
        assert np.isnan(f(cr.tensor([np.inf])).numpy()[0])


def test_buffer_reuse_never_clobbers_a_live_view() -> None:
    # Large arrays take the out= path; a reshape (a view) of a value that dies must survive.
    def f(x):
        a = cr.exp(x)
        v = cr.reshape(a, (100, 50))
        b = cr.sin(a)  # a's last use: its buffer is a candidate for reuse
        return cr.sum(cr.reshape(b, (100, 50)) * v)

    x = cr.tensor(np.linspace(-1, 1, 5000))
    jf = cr.jit(f)
    np.testing.assert_allclose(jf(x).numpy(), f(x).numpy())
    np.testing.assert_allclose(jf(x * 0.5).numpy(), f(x * 0.5).numpy())
    g = cr.jit(cr.grad(f))
    np.testing.assert_allclose(g(x).numpy(), cr.grad(f)(x).numpy())
    assert "out=" in cr.jit(lambda x: cr.sin(cr.exp(x)) + 1.0).lower(x).source()


def test_inputs_are_not_written() -> None:
    x = np.linspace(-1, 1, 8000)
    keep = x.copy()
    f = cr.jit(lambda v: cr.sin(v) + v)
    f(x)
    f(x)
    np.testing.assert_array_equal(x, keep)


# ---------------------------------------------------------------- composition
def test_grad_value_and_grad_and_second_order_inside_jit() -> None:
    x = cr.tensor([0.2, -0.4])
    np.testing.assert_allclose(cr.jit(cr.grad(_f))(x).numpy(), cr.grad(_f)(x).numpy())
    v, g = cr.jit(cr.value_and_grad(_f))(x)
    np.testing.assert_allclose(v.numpy(), _f(x).numpy())
    np.testing.assert_allclose(g.numpy(), cr.grad(_f)(x).numpy())
    h = cr.jit(cr.hessian(_f))
    np.testing.assert_allclose(h(x).numpy(), cr.hessian(_f)(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(h(x * 2.0).numpy(), cr.hessian(_f)(x * 2.0).numpy(), rtol=1e-12)


def test_transforms_of_a_jitted_function() -> None:
    jf = cr.jit(_f)
    x = cr.tensor([0.2, -0.4])
    jf(x)  # traced already: the next calls replay through bind for the outer transforms
    np.testing.assert_allclose(cr.grad(jf)(x).numpy(), cr.grad(_f)(x).numpy())
    np.testing.assert_allclose(cr.grad(cr.grad(lambda v: jf(v * v)))(cr.tensor(0.3)).numpy(),
                               cr.grad(cr.grad(lambda v: _f(v * v)))(cr.tensor(0.3)).numpy())  # fmt: skip
    xs = cr.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    np.testing.assert_allclose(cr.vmap(jf)(xs).numpy(), cr.vmap(_f)(xs).numpy())
    np.testing.assert_allclose(cr.jit(cr.vmap(_f))(xs).numpy(), cr.vmap(_f)(xs).numpy())
    np.testing.assert_allclose(cr.jit(cr.vmap(cr.grad(_f)))(xs).numpy(), cr.vmap(cr.grad(_f))(xs).numpy())
    _, t = cr.jvp(jf, (x,), (cr.tensor([1.0, 0.0]),))
    _, t_eager = cr.jvp(_f, (x,), (cr.tensor([1.0, 0.0]),))
    np.testing.assert_allclose(t.numpy(), t_eager.numpy())
    leaf = cr.tensor([0.2, -0.4], requires_grad=True)
    jf(leaf).backward()
    np.testing.assert_allclose(leaf.grad.numpy(), cr.grad(_f)(x).numpy())


def test_jit_inside_jit_is_inlined() -> None:
    inner = cr.jit(lambda v: cr.sin(v) * 2.0)
    outer = cr.jit(lambda v: cr.sum(inner(v) + v))
    text = outer.lower(cr.tensor([1.0])).as_text()
    assert "sin" in text and "callback" not in text
    np.testing.assert_allclose(outer(cr.tensor([0.5])).numpy(), np.sin(0.5) * 2 + 0.5)


def test_mlp_step_returns_new_params() -> None:
    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.standard_normal((4, 3))), cr.tensor(np.zeros(3))]
    X, y = cr.tensor(rng.standard_normal((5, 4))), cr.tensor(np.array([0, 1, 2, 1, 0]))

    def loss(p, xb, yb):
        return cr.cross_entropy(cr.matmul(xb, p[0]) + p[1], yb)

    def step(p, xb, yb):
        value, grads = cr.value_and_grad(loss)(p, xb, yb)
        return value, [w - 0.1 * g for w, g in zip(p, grads)]

    jstep = cr.jit(step)
    p_e, p_j = params, params
    for _ in range(3):
        le, p_e = step(p_e, X, y)
        lj, p_j = jstep(p_j, X, y)
        np.testing.assert_allclose(lj.numpy(), le.numpy(), rtol=1e-12)
        for a, b in zip(p_j, p_e):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    # Other labels: the program follows them.
    y2 = cr.tensor(np.array([2, 2, 0, 0, 1]))
    np.testing.assert_allclose(jstep(params, X, y2)[0].numpy(), step(params, X, y2)[0].numpy(), rtol=1e-12)
    assert jstep.cache_size() == 1


# ---------------------------------------------------------------- state
def test_closed_over_state_is_read_at_every_call() -> None:
    w = cr.Variable([1.0, 2.0])
    f = cr.jit(lambda x: cr.sum(x * w * 2.0))
    assert float(f(cr.tensor([1.0, 1.0]))) == 6.0
    w.assign([3.0, 3.0])
    assert float(f(cr.tensor([1.0, 1.0]))) == 12.0
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    g = cr.jit(lambda x: cr.sum(x * p))
    g(cr.tensor([1.0, 1.0]))
    out = g(cr.tensor([2.0, 3.0]))
    out.backward()
    np.testing.assert_allclose(p.grad.numpy(), [2.0, 3.0])


def test_in_place_writes_on_traced_values_are_functional() -> None:
    def f(x):
        y = x * 1.5
        y[0] = 10.0
        y += x
        return y

    x = np.array([1.0, 2.0, 3.0])
    jf = cr.jit(f)
    np.testing.assert_allclose(jf(cr.tensor(x)).numpy(), f(cr.tensor(x)).numpy())
    np.testing.assert_allclose(jf(cr.tensor(x * 2)).numpy(), f(cr.tensor(x * 2)).numpy())


def test_custom_vjp_runs_eagerly_under_jit() -> None:
    @cr.custom_vjp
    def clip(x):
        return x * 1.0

    clip.defvjp(lambda x: (x * 1.0, None), lambda res, g: (cr.clip(g, -0.1, 0.1),))
    f = cr.jit(lambda x: cr.sum(clip(x) * 3.0))
    for v in ([1.0, 2.0], [3.0, 5.0]):
        assert float(f(cr.tensor(v))) == 3.0 * sum(v)
    np.testing.assert_allclose(cr.jit(cr.grad(lambda x: cr.sum(clip(x) * 3.0)))(cr.tensor([1.0, 2.0])).numpy(), [0.1, 0.1])


# ---------------------------------------------------------------- dialects
def test_tf_function_traces_and_tf_print_runs_every_call(capsys) -> None:
    from chainrule import tf

    stream = io.StringIO()

    @tf.function(jit_compile=True)
    def f(x):
        print("tracing")
        tf.print("x =", x, output_stream=stream)
        return tf.reduce_sum(x * x)

    assert float(f(tf.constant([1.0, 2.0]))) == 5.0
    assert float(f(tf.constant([3.0, 4.0]))) == 25.0
    assert f.experimental_get_tracing_count() == 1
    f(tf.constant([1.0, 2.0, 3.0]))  # new shape: retraces, as TensorFlow does
    assert f.experimental_get_tracing_count() == 2
    assert capsys.readouterr().out.count("tracing") == 2
    assert stream.getvalue().splitlines() == ["x = [1 2]", "x = [3 4]", "x = [1 2 3]"]
    assert type(f(tf.constant([1.0, 2.0]))).__name__ == "EagerTensor"
    assert "reduce_sum" in str(f.get_concrete_function(tf.constant([1.0]))) or "sum" in f.get_concrete_function(
        tf.constant([1.0])).as_text()


def test_tf_function_with_a_tape_and_a_signature() -> None:
    from chainrule import tf

    @tf.function(input_signature=[tf.TensorSpec([None])])
    def f(x):
        return tf.reduce_sum(tf.sin(x))

    v = tf.Variable([0.5, 1.0])
    with tf.GradientTape() as tape:
        y = f(v)
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), np.cos([0.5, 1.0]), rtol=1e-6)
    with pytest.raises(TypeError, match="TensorSpec wants float32"):
        f(tf.constant([1, 2]))


def test_torch_compile_a_module_and_backward() -> None:
    from chainrule import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    compiled = torch.compile(model, mode="max-autotune", fullgraph=True)
    x = torch.randn(4, 3)
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy())
    compiled(x).sum().backward()
    grad_compiled = model.weight.grad.numpy().copy()
    model.weight.grad = None
    model(x).sum().backward()
    np.testing.assert_allclose(grad_compiled, model.weight.grad.numpy())
    assert type(compiled(x)).__name__ == "Tensor" and compiled.weight is model.weight

    @torch.compile
    def f(a):
        return torch.sin(a) * 2

    np.testing.assert_allclose(f(torch.tensor([1.0])).numpy(), np.sin([1.0]) * 2, rtol=1e-6)
    assert sys.modules["chainrule.torch"].compile(f, disable=True) is f


def test_viz_draws_the_program_before_and_after_the_passes() -> None:
    from chainrule import viz

    lowered = cr.jit(cr.grad(_f)).lower(cr.tensor([0.1, 0.2]))
    before, after = lowered.to_graph(optimized=False), lowered.to_graph()
    ops = [n for n in after.nodes if n.kind == "op"]
    assert len(ops) == len(lowered.program.eqns) < len([n for n in before.nodes if n.kind == "op"])
    assert {n.op for n in ops} >= {"sin", "cos", "tanh"} and after.outputs
    d = viz.draw(lowered, engine="matplotlib")
    assert d.svg.lstrip().startswith("<?xml")
    titled = lowered.draw(engine="matplotlib")
    assert "after the passes" in titled.title and "dce -" in titled.title
    assert "as traced" in lowered.draw(optimized=False, engine="matplotlib").title


def test_in_place_write_into_closed_over_state_raises() -> None:
    w = cr.tensor([1.0, 2.0])
    g = cr.jit(lambda x: (w.add_(x), cr.sum(w))[1])
    with pytest.raises(TypeError, match="in-place write into a tensor the function closes over"):
        g(cr.tensor([1.0, 1.0]))


def test_detach_of_a_slice_follows_the_value() -> None:
    # detach() of a slice of a traced value is a view whose base is the whole array: it was
    # taken for a constant, so replays returned the first call's values.
    f = cr.jit(lambda x: (x * 2)[1:].detach() + 1)
    np.testing.assert_allclose(np.asarray(f(np.array([1.0, 2.0, 3.0]))), [5.0, 7.0])
    np.testing.assert_allclose(np.asarray(f(np.array([0.0, 10.0, 20.0]))), [21.0, 41.0])


@pytest.mark.parametrize("name", ["def", "x²", "a b; import os", "1st", ""])
def test_any_function_name_gives_a_valid_program(name: str) -> None:
    # The function's name is the only outside text in the generated source: keywords, non-ASCII
    # letters and punctuation must give a plain identifier, never a syntax error or code.
    def f(x):
        return x * 2

    f.__name__ = name
    np.testing.assert_allclose(np.asarray(cr.jit(f)(np.array([1.0, 2.0]))), [2.0, 4.0])
