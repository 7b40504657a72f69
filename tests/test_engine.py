"""The reverse-mode engine: leaves, grad_fn, backward, autograd.grad, hooks, versions, errors."""

from __future__ import annotations

import gc
import math
import threading
import weakref

import numpy as np
import pytest

import chainrule as cr


def test_seed_first_results() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    (x**2).backward()
    assert x.grad.item() == 6.0

    x1 = cr.tensor(2.0, requires_grad=True)
    x2 = cr.tensor(3.0, requires_grad=True)
    f = x1**2 * (x1 + x2)
    g1, g2 = cr.autograd.grad(f, [x1, x2], create_graph=True)
    assert (g1.item(), g2.item()) == (24.0, 4.0)
    h = [cr.autograd.grad(g, [x1, x2], retain_graph=True, allow_unused=True) for g in (g1, g2)]
    hess = [[0.0 if v is None else v.item() for v in row] for row in h]
    assert hess == [[18.0, 4.0], [4.0, 0.0]]


def test_leaves_and_grad_fn_names() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor([3.0, 4.0])
    y = x * c + 1.0
    assert x.is_leaf and c.is_leaf and not y.is_leaf
    assert y.requires_grad and not c.requires_grad
    assert type(y.grad_fn).__name__ == "Node" and y.grad_fn.name == "AddBackward0"
    assert (x**2).grad_fn.name == "PowBackward0"
    assert "grad_fn=<AddBackward0>" in repr(y)
    assert "requires_grad=True" in repr(x)
    (mul_edge, _), (const_edge, _) = y.grad_fn.next_functions
    assert mul_edge.name == "MulBackward0" and const_edge is None


def test_integer_and_bool_tensors_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match="only floating-point or complex tensors"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        cr.tensor([1, 2]).requires_grad_()
    assert cr.tensor([True]).dtype == np.bool_


def test_unsupported_dtype_is_rejected() -> None:
    with pytest.raises(TypeError, match="unsupported dtype"):
        cr.tensor(["a", "b"])
    with pytest.raises(TypeError, match="unsupported dtype datetime64"):
        cr.tensor(np.array(["2020-01-01"], dtype="datetime64[D]"))


def test_backward_accumulates_into_grad() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, 4 + 3])


def test_fan_out_is_summed_and_broadcasting_undone() -> None:
    x = cr.tensor([[1.0], [2.0]], requires_grad=True)  # (2, 1)
    b = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)  # (3,)
    y = (x * b + x).sum()  # broadcast to (2, 3)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[6.0 + 3.0], [6.0 + 3.0]])
    np.testing.assert_allclose(b.grad.numpy(), [3.0, 3.0, 3.0])
    assert x.grad.shape == x.shape and b.grad.shape == b.shape


def test_gradient_dtype_matches_input() -> None:
    x = cr.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    w = cr.tensor(np.array([0.5, 0.25]), requires_grad=True)  # float64
    (x * w).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64


def test_non_scalar_backward_needs_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"only for scalar outputs.*shape \(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2,\)"):
        y.backward(cr.ones(3))
    y.backward(cr.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_on_tensor_without_history() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor(1.0).backward()


def test_second_backward_without_retain_graph_raises() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.sin(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.exp(x)
    y.backward(retain_graph=True)
    y.backward()
    assert math.isclose(x.grad.item(), 2 * math.exp(2.0))


def test_long_chain_has_no_recursion_limit() -> None:
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert math.isclose(x.grad.item(), 1.00001**100_000, rel_tol=1e-9)


def test_fourth_derivative_through_create_graph() -> None:
    x = cr.tensor(0.7, requires_grad=True)
    y = cr.sin(x) * cr.exp(x)
    derivs = []
    for _ in range(4):
        (y,) = cr.autograd.grad(y, x, create_graph=True)
        derivs.append(y.item())
    # d^n/dx^n [sin x e^x] = 2^{n/2} e^x sin(x + n pi/4)
    expected = [2 ** (n / 2) * math.exp(0.7) * math.sin(0.7 + n * math.pi / 4) for n in range(1, 5)]
    np.testing.assert_allclose(derivs, expected, rtol=1e-12)


def test_backward_create_graph_gives_differentiable_grad() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    (x**3).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.item() == 27.0
    (g2,) = cr.autograd.grad(g, x)
    assert g2.item() == 18.0


def test_autograd_grad_unused_input() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    z = cr.tensor(1.0, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = cr.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
    assert gx.item() == 2.0 and gz is None
    _, gz0 = cr.autograd.grad(y, [x, z], materialize_grads=True)
    assert gz0.item() == 0.0


def test_autograd_grad_does_not_touch_dot_grad() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    cr.autograd.grad(x * 3, x)
    assert x.grad is None


def test_autograd_grad_with_respect_to_intermediate() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    a = x * 3
    y = a * a
    (ga,) = cr.autograd.grad(y, a)
    assert ga.item() == 2 * 6.0


def test_retain_grad_and_hooks() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    a = x * 3
    a.retain_grad()
    seen = []
    a.register_hook(lambda g: seen.append(g.item()))
    handle = x.register_hook(lambda g: g * 10)
    (a * a).backward()
    assert a.grad.item() == 12.0 and seen == [12.0]
    assert x.grad.item() == 360.0
    handle.remove()
    x.grad = None
    (x * 1.0).backward()
    assert x.grad.item() == 1.0


def test_detach_and_requires_grad_() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = cr.tensor([1.0]).requires_grad_()
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad = False


def test_no_grad_and_enable_grad_contexts_and_decorators() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad

    @cr.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert cr.is_grad_enabled()
    with cr.set_grad_enabled(False):
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()


def test_grad_mode_is_thread_local() -> None:
    seen = {}

    def other() -> None:
        seen["enabled"] = cr.is_grad_enabled()

    with cr.no_grad():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen["enabled"] is True


def test_recording_follows_each_threads_own_grad_mode() -> None:
    # bind reads a process-wide list of threads with grad mode off before the thread-local flag:
    # a thread in no_grad must not stop another from recording, nor be recorded itself.
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    seen = {}
    entered = threading.Event()
    release = threading.Event()

    def off() -> None:
        with cr.no_grad():
            seen["off"] = (x * 2).requires_grad
            entered.set()
            release.wait(10)
        seen["after"] = (x * 2).requires_grad

    t = threading.Thread(target=off)
    t.start()
    entered.wait(10)
    y = x * 3  # another thread is in no_grad right now
    release.set()
    t.join()
    assert y.requires_grad and y.grad_fn is not None
    assert seen == {"off": False, "after": True}
    with cr.no_grad():
        z = x * 3
        other = {}
        th = threading.Thread(target=lambda: other.setdefault("r", (x * 2).requires_grad))
        th.start()
        th.join()
    assert not z.requires_grad and other["r"] is True
    assert (x * 3).requires_grad


def test_in_place_on_leaf_requiring_grad_raises() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operation"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place operation"):
        w *= 2
    with cr.no_grad():
        w.sub_(cr.tensor([0.5, 0.5]))
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5])


def test_in_place_change_of_saved_tensor_detected_at_backward() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (cr.sin(w)).sum()
    with cr.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation: input 0 of SinBackward0"):
        y.backward()


def test_in_place_on_non_leaf_is_recorded() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    a += 1.0
    a.mul_(3.0)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_saved_values_are_freed_after_backward_without_gc() -> None:
    gc.disable()
    try:
        x = cr.tensor(np.linspace(0, 1, 1000), requires_grad=True)
        a = x * 2.0
        b = cr.sin(a)  # sin keeps its input for cos(a) in the backward pass
        ref = weakref.ref(a._data)
        del a
        assert ref() is not None, "the graph must keep what sin's rule needs"
        y = b.sum()
        y.backward()
        assert ref() is None, "backward without retain_graph must release saved arrays"
    finally:
        gc.enable()


def test_graph_is_freed_when_outputs_die_without_gc() -> None:
    gc.disable()
    try:
        x = cr.tensor(np.ones(100), requires_grad=True)
        y = cr.tanh(x * 2.0)
        node_ref = weakref.ref(y.grad_fn)
        del y
        assert node_ref() is None
    finally:
        gc.enable()


def test_numpy_interop() -> None:
    x = cr.tensor([0.1, 0.2], requires_grad=True)
    y = np.sin(x)
    z = np.array([2.0, 3.0]) * y
    assert isinstance(z, cr.Tensor) and z.requires_grad
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 * np.cos(0.1), 3 * np.cos(0.2)])
    m = cr.tensor([[2.0, 0.0], [0.0, 3.0]])
    vals, _ = np.linalg.eig(m)
    np.testing.assert_allclose(sorted(vals), [2.0, 3.0])
    assert np.asarray(m).shape == (2, 2)
    with pytest.raises(TypeError, match="not differentiable"):
        np.add.reduce(x)


def test_operators_and_comparisons() -> None:
    x = cr.tensor([1.0, 4.0, 9.0])
    assert (x // 2).tolist() == [0.0, 2.0, 4.0]
    assert (x % 2).tolist() == [1.0, 0.0, 1.0]
    assert (-x).tolist() == [-1.0, -4.0, -9.0]
    assert abs(cr.tensor(-2.0)).item() == 2.0
    assert (x > 3).dtype == np.bool_ and (x > 3).tolist() == [False, True, True]
    assert (2 ** cr.tensor(3.0)).item() == 8.0
    assert (1 / cr.tensor(4.0)).item() == 0.25
    assert (x == 4.0).tolist() == [False, True, False]


def test_broadcast_mismatch_error_names_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"add: .*\(2,\).*\(3,\)"):
        cr.tensor([1.0, 2.0]) + cr.tensor([1.0, 2.0, 3.0])


def test_tensor_facts() -> None:
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and t.dtype == np.float64
    assert t.T.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert t.astype("float32").dtype == np.float32
    assert cr.tensor(5.0).item() == 5.0
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    assert f"{cr.tensor(6.0)}" == "6.0"  # f-strings show the value, as the TF seeds print it
    assert f"{cr.tensor(6.0):.1f}" == "6.0"


def test_creation_functions() -> None:
    assert cr.zeros(2, 3).shape == (2, 3) and cr.ones((4,)).tolist() == [1.0] * 4
    assert cr.full((2,), 7).dtype == np.int64 and cr.full((2,), 7.0).dtype == np.float64
    assert cr.eye(3).numpy().trace() == 3.0
    assert cr.arange(3).tolist() == [0, 1, 2] and cr.arange(0.0, 1.0, 0.5).tolist() == [0.0, 0.5]
    assert cr.linspace(0, 1, 5).shape == (5,)
    like = cr.zeros_like(cr.tensor(np.ones((2, 2), dtype=np.float32)))
    assert like.dtype == np.float32 and like.shape == (2, 2)
    assert cr.ones_like(cr.tensor([1, 2])).tolist() == [1, 1]
    with pytest.raises(ValueError, match="negative dimension"):
        cr.zeros(-1, 2)


def test_random_module_is_seeded() -> None:
    cr.random.seed(7)
    a = cr.random.normal(size=(3,))
    b = cr.random.uniform(size=2)
    i = cr.random.randint(0, 10, size=4)
    p = cr.random.permutation(5)
    cr.random.seed(7)
    assert cr.random.normal(size=(3,)).tolist() == a.tolist()
    assert cr.random.uniform(size=2).tolist() == b.tolist()
    assert cr.random.randint(0, 10, size=4).tolist() == i.tolist()
    assert sorted(cr.random.permutation(5).tolist()) == sorted(p.tolist()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="negative"):
        cr.random.normal(size=(-1,))


def test_from_numpy_shares_memory_both_ways() -> None:
    a = np.ones(3, dtype=np.float32)
    t = cr.from_numpy(a)
    assert t.dtype == np.float32 and t.numpy() is a
    np.add(a, 1, out=a)
    np.testing.assert_array_equal(t.numpy(), [2.0, 2.0, 2.0])
    t.add_(1.0)
    np.testing.assert_array_equal(a, [3.0, 3.0, 3.0])
    with pytest.raises(TypeError, match="ndarray"):
        cr.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError, match="unsupported dtype"):
        cr.from_numpy(np.array(["a"]))
    with pytest.raises(TypeError, match="byte order"):
        cr.from_numpy(np.ones(2, dtype=">f8"))


def _random_graph(rng: np.random.Generator, leaves: list, n_ops: int) -> tuple:
    """A random DAG over ``leaves``: unary and binary ops on random earlier values (fan-out,
    diamonds, a value used twice by one op, constants, a stop-gradient branch)."""
    values = list(leaves)
    unary = [cr.sin, cr.tanh, cr.exp, lambda v: v * v, lambda v: -v, lambda v: cr.sum(v) + v,
             lambda v: v.detach() * 2.0 + v]
    binary = [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a - 0.5 * b,
              lambda a, b: cr.where(a > b, a, b)]
    for _ in range(n_ops):
        if rng.random() < 0.5:
            op = unary[rng.integers(len(unary))]
            values.append(op(values[rng.integers(len(values))]) * 0.5)
        else:
            op = binary[rng.integers(len(binary))]
            a, b = rng.integers(len(values), size=2)
            values.append(op(values[a], values[b]) * 0.5)
    return values


@pytest.mark.parametrize("seed", range(12))
def test_backward_equals_autograd_grad_on_random_graphs(seed: int) -> None:
    # .backward() takes the plain sweep (which counts down dependencies in its rule loop and hands
    # the last ready parent straight on); autograd.grad takes the general one. They must agree
    # bit for bit, also with retain_grad and hooks on intermediate nodes.
    def build(watch: bool) -> tuple:
        r = np.random.default_rng(seed + 100)
        leaves = [cr.tensor(r.normal(size=3), requires_grad=True) for _ in range(3)]
        values = _random_graph(np.random.default_rng(seed + 200), leaves, 25)
        watched = []
        if watch:
            for v in values[3::5]:
                if v.requires_grad and v.grad_fn is not None:
                    v.retain_grad()
                    watched.append(v)
            values[-2].register_hook(lambda g: g * 3.0) if values[-2].grad_fn is not None else None
        return leaves, cr.sum(values[-1]) + cr.sum(values[-2]) * 0.25, watched

    leaves, loss, _ = build(False)
    expected = cr.autograd.grad(loss, leaves, allow_unused=True)
    leaves2, loss2, _ = build(False)
    loss2.backward()
    for e, leaf in zip(expected, leaves2):
        if e is None:
            assert leaf.grad is None
        else:
            np.testing.assert_array_equal(leaf.grad.numpy(), e.numpy())
    # With hooks and retained intermediates: both paths see the same hooked cotangents (two
    # builds: autograd.grad also fills a retained .grad, as PyTorch's does).
    leaves4, loss4, watched4 = build(True)
    expected3 = cr.autograd.grad(loss4, leaves4 + watched4, allow_unused=True)
    leaves3, loss3, watched3 = build(True)
    loss3.backward()
    for e, leaf in zip(expected3[:3], leaves3):
        if e is None:
            assert leaf.grad is None
        else:
            np.testing.assert_array_equal(leaf.grad.numpy(), e.numpy())
    for e, v in zip(expected3[3:], watched3):
        if e is not None:
            np.testing.assert_array_equal(v.grad.numpy(), e.numpy())


def test_retain_grad_alone_is_seen_by_the_plain_sweep() -> None:
    # retain_grad() without a hook: the sweep tests node.hooks only, so retain_grad must make it
    # a list (see Node.hooks); a regression here loses .grad of the intermediate.
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.sin(x)
    y.retain_grad()
    assert y.grad_fn.hooks == []
    cr.sum(y * y).backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * np.sin([1.0, 2.0]))
