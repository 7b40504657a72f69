"""vmap: every op of the table batched against a loop, nesting, axes, and the composition with
grad, jvp, jacrev/jacfwd and tapes."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.tape import GradientTape, Variable
from chainrule.transforms import grad, hessian, jacfwd, jacrev, jvp, value_and_grad, vmap
from chainrule.transforms.batching import BatchedTensor
from chainrule.transforms.batching_rules import fallback_primitives
from tests.op_db import OP_DB, OpInfo, Sample, rng_for

# Entries that read a batched value's data with NumPy in their public function (a change in
# the op family is needed; the reason says which).
PENDING: dict[str, str] = {}

CASES = [(e, s) for e in OP_DB for s in e.samples(rng_for(e.name))]
PARAMS = [
    pytest.param(
        e, s, id=f"{e.name}-{s.name or i}",
        marks=[pytest.mark.xfail(strict=True, reason=PENDING[e.name])] if e.name in PENDING else [],
    )
    for i, (e, s) in enumerate(CASES)
]  # fmt: skip


def _examples(a: np.ndarray, n: int) -> np.ndarray:
    """``n`` examples around ``a`` (floats perturbed, other dtypes repeated)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return np.stack([a * (1.0 - 0.05 * k) + 0.01 * k for k in range(n)])
    return np.stack([a] * n)


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize("entry,sample", PARAMS)
def test_vmap_matches_a_loop(entry: OpInfo, sample: Sample) -> None:
    n = 3
    batches = [_examples(a, n) for a in sample.args]
    out = vmap(lambda *xs: entry.op(*xs, **sample.kwargs))(*[cr.tensor(b) for b in batches])
    outs = _as_list(out)
    for k in range(n):
        ref = _as_list(entry.op(*[cr.tensor(b[k]) for b in batches], **sample.kwargs))
        for o, r in zip(outs, ref):
            assert type(o) is cr.Tensor
            assert o.shape == (n,) + r.shape and o.dtype == r.dtype
            np.testing.assert_allclose(o.numpy()[k], r.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "entry,sample",
    [p for p in PARAMS if len(p.values[1].args) >= 2],  # type: ignore[attr-defined]
)
def test_vmap_over_one_argument_only(entry: OpInfo, sample: Sample) -> None:
    # The first argument batched along its last axis, the others shared by every example.
    n = 2
    first = _examples(sample.args[0], n)
    first = np.moveaxis(first, 0, -1)
    rest = [cr.tensor(a) for a in sample.args[1:]]
    axes = (-1,) + (None,) * len(rest)
    out = vmap(lambda *xs: entry.op(*xs, **sample.kwargs), in_axes=axes, out_axes=-1)(
        cr.tensor(first), *rest
    )
    for k in range(n):
        ref = _as_list(entry.op(cr.tensor(first[..., k]), *rest, **sample.kwargs))
        for o, r in zip(_as_list(out), ref):
            np.testing.assert_allclose(o.numpy()[..., k], r.numpy(), rtol=1e-10, atol=1e-12)


def test_the_primitives_without_a_batching_rule_are_known() -> None:
    # These run as a loop over the examples under vmap (docs: transforms/batching_rules.py).
    # A new primitive lands here until it gets a rule; keep this list short.
    assert fallback_primitives() == []


def test_advanced_indices_split_by_a_slice_use_the_loop() -> None:
    from chainrule.transforms.batching import FALLBACK_USED

    x = np.arange(24.0).reshape(4, 2, 3)
    out = vmap(lambda t: t[[0, 1], :, [2, 0]])(cr.tensor(np.stack([x, -x])))
    np.testing.assert_array_equal(out.numpy(), np.stack([x[[0, 1], :, [2, 0]], -x[[0, 1], :, [2, 0]]]))
    assert "getitem" in FALLBACK_USED


# ---------------------------------------------------------------- axes and structure
def test_in_axes_out_axes_and_pytrees() -> None:
    x = np.arange(12.0).reshape(3, 4)
    w = np.array([1.0, -1.0, 2.0])

    def f(pair, scale):
        a, b = pair["a"], pair["b"]
        return {"sum": cr.sum(a * b) * scale, "prod": a * scale}

    out = vmap(f, in_axes=({"a": 1, "b": 1}, None), out_axes={"sum": 0, "prod": 1})(
        {"a": cr.tensor(x), "b": cr.tensor(x)}, 2.0
    )
    assert set(out) == {"sum", "prod"}
    np.testing.assert_allclose(out["sum"].numpy(), 2 * (x * x).sum(axis=0))
    np.testing.assert_allclose(out["prod"].numpy(), 2 * x)
    assert out["prod"].shape == (3, 4)
    out = vmap(lambda r, c: r * c, in_axes=(1, None), out_axes=1)(cr.tensor(x), cr.tensor(w))
    np.testing.assert_allclose(out.numpy(), x * w[:, None])


def test_nested_vmap_is_an_outer_product_of_loops() -> None:
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([10.0, 20.0])
    out = vmap(lambda x: vmap(lambda y: x * y + cr.sin(x))(cr.tensor(b)))(cr.tensor(a))
    np.testing.assert_allclose(out.numpy(), a[:, None] * b[None, :] + np.sin(a)[:, None])
    m = np.arange(24.0).reshape(2, 3, 4)
    out = vmap(vmap(lambda row: cr.sum(row * row), in_axes=1), in_axes=0)(cr.tensor(m))
    np.testing.assert_allclose(out.numpy(), (m * m).sum(axis=1))


def test_outputs_that_do_not_depend_on_the_batch_are_repeated() -> None:
    out = vmap(lambda x: cr.tensor(5.0))(cr.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(out.numpy(), [5.0, 5.0, 5.0])


def test_vmap_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="no argument is batched"):
        vmap(lambda x: x, in_axes=None)(cr.tensor([1.0]))
    with pytest.raises(ValueError, match="disagree on the batch size"):
        vmap(lambda x, y: x + y)(cr.ones(3), cr.ones(4))
    with pytest.raises(ValueError, match="out of range"):
        vmap(lambda x: x, in_axes=2)(cr.ones((2, 3)))
    with pytest.raises(ValueError, match="one entry per argument"):
        vmap(lambda x, y: x, in_axes=(0,))(cr.ones(2), cr.ones(2))
    with pytest.raises(TypeError, match="ints or None"):
        vmap(lambda x: x, in_axes="0")(cr.ones(2))
    with pytest.raises(TypeError, match="vmap"):
        vmap(lambda x: float(x))(cr.ones(2))


def test_a_batched_value_reports_one_example_and_cannot_escape() -> None:
    seen = {}

    def f(x):
        seen["x"] = x
        assert isinstance(x, BatchedTensor)
        assert x.shape == (4,) and x.ndim == 1 and x.size == 4 and x.dtype == np.float64
        return x * 2

    vmap(f)(cr.ones((3, 4)))
    with pytest.raises(TypeError, match="batched by vmap"):
        seen["x"].numpy()
    with pytest.raises(TypeError, match="batched by vmap"):
        _ = seen["x"] + 1.0


def test_checks_on_values_see_every_example() -> None:
    labels = np.array([[0, 2], [1, 5]])
    logits = np.zeros((2, 2, 3))
    with pytest.raises(IndexError, match="out of range"):
        vmap(cr.cross_entropy)(cr.tensor(logits), cr.tensor(labels))
    ok = vmap(cr.cross_entropy)(cr.tensor(logits), cr.tensor(np.minimum(labels, 2)))
    np.testing.assert_allclose(ok.numpy(), np.log(3.0) * np.ones(2))


def test_in_place_writes_inside_vmap() -> None:
    def f(x):
        y = x * 1.0
        y[0] = x[1] * 10
        y += 1
        return y

    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(vmap(f)(cr.tensor(x)).numpy(), [[21.0, 3.0], [41.0, 5.0]])


# ---------------------------------------------------------------- with the other transforms
def _loss(w, x, y):
    return cr.sum((cr.tanh(x @ w) - y) ** 2)


def test_per_example_gradients_with_shared_parameters() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2))
    xs = rng.standard_normal((5, 3))
    ys = rng.standard_normal((5, 2))
    per_example = vmap(grad(_loss), in_axes=(None, 0, 0))(cr.tensor(w), cr.tensor(xs), cr.tensor(ys))
    assert per_example.shape == (5, 3, 2)
    for k in range(5):
        ref = grad(_loss)(cr.tensor(w), cr.tensor(xs[k]), cr.tensor(ys[k]))
        np.testing.assert_allclose(per_example.numpy()[k], ref.numpy(), rtol=1e-12)
    values, grads = vmap(value_and_grad(_loss), in_axes=(None, 0, 0))(cr.tensor(w), cr.tensor(xs), cr.tensor(ys))
    assert values.shape == (5,) and grads.shape == (5, 3, 2)


def test_gradient_of_a_function_that_closes_over_a_batched_value() -> None:
    xs = np.array([1.0, 2.0, 3.0])
    # d/dc (c * x) = x for each example, even though c itself is not batched.
    out = vmap(lambda x: grad(lambda c: c * x * c)(2.0))(cr.tensor(xs))
    np.testing.assert_allclose(out.numpy(), 4.0 * xs)


def test_grad_of_vmap_and_vmap_of_hessian() -> None:
    xs = np.array([[0.5, -1.0], [2.0, 0.3]])
    g = grad(lambda x: cr.sum(vmap(lambda r: cr.sum(cr.sin(r) * r))(x)))(cr.tensor(xs))
    np.testing.assert_allclose(g.numpy(), np.cos(xs) * xs + np.sin(xs))
    h = vmap(hessian(lambda r: cr.sum(r ** 3)))(cr.tensor(xs))
    assert h.shape == (2, 2, 2)
    for k in range(2):
        np.testing.assert_allclose(h.numpy()[k], np.diag(6 * xs[k]))
    jr = vmap(jacrev(lambda r: r * r))(cr.tensor(xs))
    jf = vmap(jacfwd(lambda r: r * r))(cr.tensor(xs))
    np.testing.assert_allclose(jr.numpy(), jf.numpy())
    np.testing.assert_allclose(jr.numpy()[1], np.diag(2 * xs[1]))


def test_jvp_inside_and_outside_vmap() -> None:
    xs = np.array([0.1, 0.7, 1.3])
    vs = np.array([1.0, 2.0, -1.0])
    _, t = vmap(lambda x, v: jvp(cr.exp, (x,), (v,)))(cr.tensor(xs), cr.tensor(vs))
    np.testing.assert_allclose(t.numpy(), np.exp(xs) * vs)
    _, t = jvp(vmap(cr.exp), (cr.tensor(xs),), (cr.tensor(vs),))
    np.testing.assert_allclose(t.numpy(), np.exp(xs) * vs)


def test_tape_around_vmap() -> None:
    w = Variable([1.0, -2.0])
    xs = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with GradientTape() as tape:
        out = cr.sum(vmap(lambda x: cr.sum(x * w) ** 2)(xs))
    g = tape.gradient(out, w)
    dots = xs.numpy() @ w.numpy()
    np.testing.assert_allclose(g.numpy(), (2 * dots[:, None] * xs.numpy()).sum(axis=0))


def test_detach_and_clone_inside_vmap_keep_every_example() -> None:
    xs = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(vmap(lambda x: x.detach() * 2)(xs).numpy(), [[2.0, 4.0], [6.0, 8.0]])
    np.testing.assert_array_equal(vmap(lambda x: x.clone() + 1)(xs).numpy(), [[2.0, 3.0], [4.0, 5.0]])
    # clone stays in the graph, detach leaves it: d/dx sum(clone(x)^2) = 2x, d/dx sum(detach(x) x) = x
    np.testing.assert_allclose(grad(lambda a: vmap(lambda r: (r.clone() ** 2).sum())(a).sum())(xs).numpy(),
                               2 * xs.numpy())  # fmt: skip
    np.testing.assert_allclose(grad(lambda a: vmap(lambda r: (r.detach() * r).sum())(a).sum())(xs).numpy(),
                               xs.numpy())  # fmt: skip


def test_jvp_along_a_cotangent_pulled_back_inside_vmap() -> None:
    # The neural-tangent-kernel pattern: inside vmap over x2, a cotangent pulled back through
    # f(W, x1) (it varies along the vmap level, W does not) is the direction of a jvp of
    # f(W, x2). Expected: J(x1) J(x2)^T, J(x) = d tanh(W x)/dW.
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((3, 3)))
    x1s = cr.tensor(rng.standard_normal((2, 3)))
    x2s = cr.tensor(rng.standard_normal((4, 3)))

    def ntk(x1: cr.Tensor, x2: cr.Tensor) -> cr.Tensor:
        _, pull = cr.vjp(lambda m: cr.tanh(m @ x1), w)

        def column(v: cr.Tensor) -> cr.Tensor:
            (direction,) = pull(v)
            return jvp(lambda m: cr.tanh(m @ x2), (w,), (direction,))[1]

        return vmap(column)(cr.eye(3))

    def jac(x: np.ndarray) -> np.ndarray:  # d tanh(W x)_i / dW_ij = (1 - tanh^2)_i x_j
        d = 1 - np.tanh(w.numpy() @ x) ** 2
        return np.einsum("i,ik,j->ikj", d, np.eye(3), x).reshape(3, 9)

    expected = np.array([[jac(a) @ jac(b).T for b in x2s.numpy()] for a in x1s.numpy()])
    np.testing.assert_allclose(vmap(vmap(ntk, (None, 0)), (0, None))(x1s, x2s).numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(vmap(ntk, (None, 0))(x1s[0], x2s).numpy(), expected[0], atol=1e-12)


def test_a_subclass_of_batched_tensor_is_a_batched_value() -> None:
    # A dialect re-classes batched values to add method names; the transforms still see them.
    class Named(BatchedTensor):
        __slots__ = ()

        def twice(self):
            return self * 2

    def f(x):
        x.__class__ = Named
        return x.twice().sum()

    xs = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(vmap(f)(xs).numpy(), [6.0, 14.0])
    np.testing.assert_array_equal(grad(lambda a: vmap(f)(a).sum())(xs).numpy(), np.full((2, 2), 2.0))
