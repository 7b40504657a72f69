"""hessian differentiates its inner gradient with respect to the outer Jacobian's own inputs (no
identity op between them). These cases check that this gives what the general composition
``jacrev(jacrev(f))`` gives, bit for bit, wherever inputs could mix: closures over traced values,
several arguments (the same tensor passed twice), containers, aux values, vmap, and a hessian
inside another transform."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.transforms.batching as batching
from chainrule.transforms import BatchedTensor, hessian, jacrev, tree_flatten, vmap


def _rng(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.standard_normal((n, n)), rng.standard_normal(n)


def _same(a, b) -> None:
    a_leaves, _ = tree_flatten(a)
    b_leaves, _ = tree_flatten(b)
    assert len(a_leaves) == len(b_leaves)
    for p, q in zip(a_leaves, b_leaves):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))


def test_benchmark_function_equals_the_general_composition() -> None:
    A, x = _rng(5)
    At = cr.tensor(A)

    def f(v):
        return cr.sum(cr.sin(v) * v**2) + cr.matmul(v, cr.matmul(At, v))

    h = hessian(f)(cr.tensor(x))
    _same(h, jacrev(jacrev(f))(cr.tensor(x)))
    s, c = np.sin(x), np.cos(x)
    np.testing.assert_allclose(h.numpy(), A + A.T + np.diag(-x * x * s + 4 * x * c + 2 * s), rtol=1e-12)


def test_the_same_tensor_as_two_arguments() -> None:
    _, x = _rng(4)
    t = cr.tensor(x)

    def f(a, b):
        return cr.sum(a**3 * b) + cr.sum(cr.sin(a * b))

    _same(hessian(f)(t, t), jacrev(jacrev(f))(t, t))
    _same(hessian(f, argnums=1)(t, t), jacrev(jacrev(f, argnums=1), argnums=1)(t, t))
    both = hessian(f, argnums=(0, 1))(t, t)
    _same(both, jacrev(jacrev(f, argnums=(0, 1)), argnums=(0, 1))(t, t))
    # d2/da db of a**3 b + sin(ab) is not the second derivative in one variable: mixing the two
    # inputs would give the (0, 0) block here.
    assert not np.array_equal(both[0][1].numpy(), both[0][0].numpy())


def test_containers_and_aux() -> None:
    _, x = _rng(3)

    def f(p):
        return cr.sum(p["w"] ** 2 * p["b"][0]) + cr.sum(cr.exp(p["b"][0]))

    p = {"w": cr.tensor(x), "b": [cr.tensor(x[::-1].copy())]}
    _same(hessian(f)(p), jacrev(jacrev(f))(p))
    h, aux = hessian(lambda p: (f(p), "aux"), has_aux=True)(p)
    assert aux == "aux"
    _same(h, jacrev(jacrev(f))(p))


def test_inside_a_transform_that_traces_the_closure() -> None:
    # The Hessian in x of sum(x**3 * y), differentiated again in y through a closure: the
    # inner inputs must stay apart from y, the outer grad's input.
    _, x = _rng(3)

    def outer(y, composed):
        def f(v):
            return cr.sum(v**3 * y) + cr.sum(v * y**2)

        h = jacrev(jacrev(f))(cr.tensor(x)) if composed else hessian(f)(cr.tensor(x))
        return cr.sum(h * h)

    y = cr.tensor(np.array([0.5, -1.0, 2.0]))
    g = cr.grad(lambda y: outer(y, False))(y)
    _same(g, cr.grad(lambda y: outer(y, True))(y))
    # sum over the diagonal (6 x y)**2: gradient 72 x**2 y.
    np.testing.assert_allclose(g.numpy(), 72 * x**2 * y.numpy(), rtol=1e-12)


def test_under_vmap() -> None:
    A, x = _rng(4)
    xs = cr.tensor(np.stack([x, 2 * x, -x]))
    At = cr.tensor(A)

    def f(v):
        return cr.sum(cr.cos(v) * v) + cr.matmul(v, cr.matmul(At, v))

    _same(vmap(hessian(f))(xs), vmap(jacrev(jacrev(f)))(xs))


def test_the_outer_sweep_visits_no_identity_node() -> None:
    # The gain itself: the outer (batched) sweep no longer passes through the inner input's copy,
    # the reshape that jacrev puts between an outer input and the function, whose rule reshapes
    # the batched cotangent.
    _, x = _rng(4)
    seen: list[str] = []
    original = batching.BatchLevel.process_primitive

    def spy(level, prim, args, params):
        if any(isinstance(a, BatchedTensor) for a in args):
            seen.append(prim.name)
        return original(level, prim, args, params)

    batching.BatchLevel.process_primitive = spy
    try:
        hessian(lambda v: cr.sum(cr.sin(v) * v))(cr.tensor(x))
        plain = list(seen)
        seen.clear()
        jacrev(jacrev(lambda v: cr.sum(cr.sin(v) * v)))(cr.tensor(x))
    finally:
        batching.BatchLevel.process_primitive = original
    assert seen.count("reshape") == plain.count("reshape") + 1, (plain, seen)


@pytest.mark.parametrize("argnums", [0, (0,)])
def test_argnums_forms(argnums) -> None:
    _, x = _rng(3)
    f = lambda v: cr.sum(v**4)  # noqa: E731
    _same(hessian(f, argnums=argnums)(cr.tensor(x)), jacrev(jacrev(f, argnums), argnums)(cr.tensor(x)))

