"""Memory (issue 7, part 3): saved values are released on purpose, without the cyclic GC.

- After ``backward`` (no ``retain_graph``), ``autograd.grad``, a non-persistent tape's
  ``gradient`` and the ``del`` of a persistent tape, every array the graph saved for the backward
  pass is freed by reference counting alone: the tests run with ``gc.disable()`` and watch the
  saved arrays (found through ``grad_fn.saved_data``/``.ans`` and the tape's nodes) with weak
  references.
- No transform and no training step leaves a reference cycle behind (``gc.collect()`` finds
  nothing to collect afterwards).
- Training the digits MLP for 2,000 steps keeps tracemalloc's traced memory flat.
- A 100,000-op chain backpropagates (and is freed) under a recursion limit a recursive engine
  could not live with.
- Forward + backward through the memory_chain benchmark's 200 elementwise ops keeps no more
  arrays than the derivative rules need (3 per 8 ops).
"""

from __future__ import annotations

import contextlib
import gc
import math
import sys
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.core.node import Node

RNG = np.random.default_rng(3)


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Collect what earlier tests left, then keep the cyclic collector off inside the block."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _nodes_of(roots: list[Any]) -> list[Node]:
    """Every node reachable from ``roots`` (tensors, or nodes such as a tape's records)."""
    stack = [r._node if isinstance(r, cr.Tensor) else r for r in roots]
    seen: dict[int, Node] = {}
    while stack:
        node = stack.pop()
        if type(node) is not Node or id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(node.parents)
    return list(seen.values())


def _saved_array_refs(roots: list[Any], held: list[Any]) -> list[weakref.ref]:
    """Weak references to the arrays the graph keeps for its backward pass (inputs saved by the
    rules, outputs kept by ``saves_ans``), leaving out the arrays the test itself holds."""
    held_ids = {id(h._data if isinstance(h, cr.Tensor) else h) for h in held}
    refs: dict[int, weakref.ref] = {}
    for node in _nodes_of(roots):
        kept = list(node.saved_data or ()) + [node.ans]
        for value in kept:
            if isinstance(value, np.ndarray) and id(value) not in held_ids:
                refs.setdefault(id(value), weakref.ref(value))
    return list(refs.values())


def _alive(refs: list[weakref.ref]) -> int:
    return sum(ref() is not None for ref in refs)


def _loss(x: Any, w: Any, target: np.ndarray) -> cr.Tensor:
    """A small graph touching most op families; its intermediates die when it returns."""
    h = cr.tanh(x @ w)
    h = h * cr.exp(-cr.square(h)) + cr.sin(h)
    logits = cr.concatenate([h, cr.sigmoid(h)], axis=1)
    ce = cr.cross_entropy(logits, target)
    reg = cr.norm(w) + cr.logsumexp(h) + cr.max(cr.abs(h)) + cr.sum(cr.reshape(h, (-1,))[::2] ** 3)
    return ce + 0.1 * reg


def _inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return RNG.standard_normal((6, 4)), RNG.standard_normal((4, 3)), RNG.integers(0, 6, size=6)


def _tracked_inputs() -> tuple[cr.Tensor, cr.Tensor, np.ndarray]:
    x, w, target = _inputs()
    return cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True), target


# ---------------------------------------------------------------- release without the cyclic GC
def test_backward_releases_saved_arrays_without_gc() -> None:
    with no_cyclic_gc():
        x, w, target = _tracked_inputs()
        loss = _loss(x, w, target)
        refs = _saved_array_refs([loss], held=[x, w, target])
        assert len(refs) >= 10 and _alive(refs) == len(refs)
        loss.backward()
        assert _alive(refs) == 0
        assert all(node.released for node in _nodes_of([loss]))
        assert x.grad is not None and w.grad is not None


def test_retain_graph_keeps_them_until_the_last_backward() -> None:
    with no_cyclic_gc():
        x, w, target = _tracked_inputs()
        loss = _loss(x, w, target)
        refs = _saved_array_refs([loss], held=[x, w, target])
        loss.backward(retain_graph=True)
        assert _alive(refs) == len(refs)
        loss.backward()
        assert _alive(refs) == 0


def test_autograd_grad_releases_saved_arrays_without_gc() -> None:
    with no_cyclic_gc():
        x, w, target = _tracked_inputs()
        loss = _loss(x, w, target)
        refs = _saved_array_refs([loss], held=[x, w, target])
        gx, gw = cr.autograd.grad(loss, [x, w])
        assert _alive(refs) == 0 and gx.shape == x.shape and gw.shape == w.shape


def test_create_graph_graphs_are_freed_when_their_results_die() -> None:
    with no_cyclic_gc():
        x, w, target = _tracked_inputs()
        loss = _loss(x, w, target)
        first = _saved_array_refs([loss], held=[x, w, target])
        (gw,) = cr.autograd.grad(loss, [w], create_graph=True)
        assert _alive(first) == len(first)  # create_graph retains the graph
        both = _saved_array_refs([gw], held=[x, w, target, gw])
        node_refs = [weakref.ref(n) for n in _nodes_of([loss, gw])]
        assert len(both) > len(first)  # the backward pass was recorded, and keeps values too
        cr.sum(gw * gw).backward()  # a second-order step (a gradient penalty)
        # That backward released every node it went through, in both graphs; the nodes of the
        # first graph it did not reach still hold theirs, until the results die.
        assert _alive(both) < len(first)
        del loss, gw
        assert _alive(first) == 0 and _alive(both) == 0
        assert sum(r() is not None for r in node_refs) == 0


def test_non_persistent_tape_releases_after_gradient() -> None:
    with no_cyclic_gc():
        xv, wv, target = _inputs()
        x, w = cr.Variable(xv), cr.Variable(wv)
        with cr.GradientTape() as tape:
            loss = _loss(x, w, target)
        refs = _saved_array_refs(list(tape._nodes), held=[x, w, target])
        assert len(refs) >= 10 and _alive(refs) == len(refs)
        gx, gw = tape.gradient(loss, [x, w])
        assert _alive(refs) == 0, "the outputs are still alive: only the tape's release frees them"
        assert gx.shape == x.shape and gw.shape == w.shape
        with pytest.raises(RuntimeError, match="non-persistent"):
            tape.gradient(loss, [x, w])


def test_persistent_tape_releases_when_deleted() -> None:
    with no_cyclic_gc():
        xv, wv, target = _inputs()
        x, w = cr.Variable(xv), cr.Variable(wv)
        with cr.GradientTape(persistent=True) as tape:
            loss = _loss(x, w, target)
        refs = _saved_array_refs(list(tape._nodes), held=[x, w, target])
        first = tape.gradient(loss, w)
        second = tape.gradient(loss, w)
        np.testing.assert_array_equal(first.numpy(), second.numpy())
        assert _alive(refs) == len(refs)
        tape_ref = weakref.ref(tape)
        del tape
        assert tape_ref() is None
        assert _alive(refs) == 0
        assert loss.grad_fn.released


def test_nested_tapes_release_after_the_outer_gradient() -> None:
    with no_cyclic_gc():
        xv, wv, target = _inputs()
        x, w = cr.Variable(xv), cr.Variable(wv)
        with cr.GradientTape() as outer:
            with cr.GradientTape() as inner:
                loss = _loss(x, w, target)
            gw = inner.gradient(loss, w)
            penalty = cr.sum(gw * gw)
        refs = _saved_array_refs(list(outer._nodes), held=[x, w, target, loss, gw, penalty])
        assert len(refs) >= 10 and _alive(refs) == len(refs)
        outer.gradient(penalty, w)
        assert _alive(refs) == 0


def test_a_graph_dies_with_its_outputs_without_gc() -> None:
    with no_cyclic_gc():
        x, w, target = _tracked_inputs()
        loss = _loss(x, w, target)
        refs = _saved_array_refs([loss], held=[x, w, target])
        node_refs = [weakref.ref(n) for n in _nodes_of([loss])]
        del loss
        assert _alive(refs) == 0 and sum(r() is not None for r in node_refs) == 0


def _cycles_left_by(fn: Callable[[], Any]) -> int:
    """How many objects ``fn`` left in reference cycles (what only the cyclic GC could free)."""
    with no_cyclic_gc():
        fn()  # warm caches, lazy imports
        gc.collect()
        fn()
        return gc.collect()


def _training_step() -> Callable[[], float]:
    from chainrule import nn, optim

    model = nn.Sequential(nn.Linear(4, 8, generator=0), nn.ReLU(), nn.Linear(8, 3, generator=1))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    x, y = cr.tensor(RNG.standard_normal((5, 4))), cr.tensor(np.array([0, 1, 2, 1, 0]))

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return float(loss)

    return step


_F = lambda a: cr.sum(cr.sin(a) * a + cr.exp(-a))  # noqa: E731


@pytest.mark.parametrize(
    "name,fn",
    [
        ("backward", lambda: _loss(*_tracked_inputs()).backward()),
        ("autograd.grad create_graph", lambda: _second_order()),
        ("grad", lambda: cr.grad(_F)(cr.tensor([0.3, 0.5]))),
        ("value_and_grad", lambda: cr.value_and_grad(_F)(cr.tensor([0.3, 0.5]))),
        ("jacrev", lambda: cr.jacrev(lambda a: cr.sin(a) * a)(cr.tensor([0.3, 0.5]))),
        ("jacfwd", lambda: cr.jacfwd(lambda a: cr.sin(a) * a)(cr.tensor([0.3, 0.5]))),
        ("hessian", lambda: cr.hessian(_F)(cr.tensor([0.3, 0.5]))),
        ("hvp", lambda: cr.hvp(_F, (cr.tensor([0.3, 0.5]),), (cr.tensor([1.0, 0.0]),))),
        ("jvp", lambda: cr.jvp(_F, (cr.tensor([0.3, 0.5]),), (cr.tensor([1.0, 0.0]),))),
        ("vmap(grad)", lambda: cr.vmap(cr.grad(_F))(cr.tensor(RNG.standard_normal((3, 2))))),
        ("persistent tape", lambda: _tape_round_trip(persistent=True)),
        ("tape jacobian", lambda: _tape_round_trip(persistent=False, jacobian=True)),
        ("training step", _training_step()),
    ],
)  # fmt: skip
def test_no_reference_cycles_are_left_behind(name: str, fn: Callable[[], Any]) -> None:
    assert _cycles_left_by(fn) == 0, f"{name} left objects that only the cyclic GC can free"


def _second_order() -> Any:
    x = cr.tensor([0.3, 0.5], requires_grad=True)
    (g,) = cr.autograd.grad(_F(x), x, create_graph=True)
    cr.sum(g * g).backward()
    return x.grad


def _tape_round_trip(persistent: bool, jacobian: bool = False) -> Any:
    v = cr.Variable([0.3, 0.5])
    with cr.GradientTape(persistent=persistent) as tape:
        y = cr.sin(v) * v
    if jacobian:
        return tape.jacobian(y, v)
    return tape.gradient(y, v), tape.gradient(cr.sum(y), v)


# ---------------------------------------------------------------- a long training run stays flat
def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - installed with scikit-learn (test extras)
        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(1)


def test_training_the_digits_mlp_for_2000_steps_keeps_traced_memory_flat() -> None:
    from chainrule import data, nn, optim

    images, labels = data.load_digits(flatten=True, dtype=np.float32)
    model = nn.Sequential(
        nn.Linear(64, 256, generator=0), nn.ReLU(),
        nn.Linear(256, 128, generator=1), nn.ReLU(),
        nn.Linear(128, 10, generator=2),
    ).to(np.float32)  # fmt: skip
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = data.DataLoader(data.TensorDataset(images, labels), batch_size=16, shuffle=True, seed=0)

    def batches() -> Iterator[Any]:
        while True:  # epoch after epoch: each pass draws a new order
            yield from loader

    steps, warm_up, every = 2000, 200, 100
    losses = np.empty(steps)
    traced: dict[int, int] = {}
    stream = batches()
    # The cyclic GC stays off: a cycle made per step would show up as growth here. One BLAS
    # thread: the suite runs two workers on two cores, and OpenBLAS threads spinning against each
    # other make these small products several times slower.
    with no_cyclic_gc(), _one_blas_thread():
        tracemalloc.start()
        try:
            for step in range(1, steps + 1):
                x, y = next(stream)
                opt.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                opt.step()
                losses[step - 1] = float(loss)
                if step % every == 0:
                    del loss
                    traced[step] = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert losses[-100:].mean() < 0.2 * losses[:100].mean(), "the model must actually train"
    growth = traced[steps] - traced[warm_up]
    late_growth = traced[steps] - traced[steps // 2]
    peak_growth = max(traced[s] for s in traced if s >= warm_up) - traced[warm_up]
    # Interpreter and NumPy free lists fill up in the first few hundred steps (bounded, about
    # 200 KiB here); a leak of one small array or one node per step would exceed these bounds.
    assert growth < 1 << 20, f"traced memory grew by {growth / 1024:.0f} KiB after warm-up"
    assert peak_growth < 1 << 20
    assert late_growth < 256 << 10, f"still growing in the second half: {late_growth / 1024:.0f} KiB"


# ---------------------------------------------------------------- no recursion in long chains
@contextlib.contextmanager
def shallow_recursion_limit(headroom: int = 120) -> Iterator[None]:
    """Allow only ``headroom`` more frames than the caller has: any recursion over a long chain
    (in the engine, or in freeing the graph) would hit RecursionError at once."""
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + headroom)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


LONG = 100_000
FACTOR = 1.00001


def _long_chain(x: cr.Tensor, n: int = LONG) -> cr.Tensor:
    y = x
    for i in range(n):
        y = y * FACTOR if i % 2 else y + 0.5
    return y


def test_100k_op_chain_backward_without_recursion() -> None:
    x = cr.tensor(0.5, requires_grad=True)
    y = _long_chain(x)
    with shallow_recursion_limit():
        y.backward()
    assert math.isclose(x.grad.item(), FACTOR ** (LONG // 2), rel_tol=1e-9)


def test_100k_op_chain_autograd_grad_and_tape_without_recursion() -> None:
    x = cr.tensor(0.5, requires_grad=True)
    y = _long_chain(x)
    with shallow_recursion_limit():
        (g,) = cr.autograd.grad(y, x)
    assert math.isclose(g.item(), FACTOR ** (LONG // 2), rel_tol=1e-9)
    v = cr.Variable(0.5)
    with cr.GradientTape() as tape:
        y = _long_chain(v)
    with shallow_recursion_limit():
        g = tape.gradient(y, v)
    assert math.isclose(g.item(), FACTOR ** (LONG // 2), rel_tol=1e-9)


def test_100k_op_chain_is_freed_without_recursion_or_gc() -> None:
    with no_cyclic_gc():
        x = cr.tensor(0.5, requires_grad=True)
        y = _long_chain(x)
        deepest = y.grad_fn
        while type(deepest.parents[0]) is Node:
            deepest = deepest.parents[0]
        deepest_ref = weakref.ref(deepest)
        del deepest
        with shallow_recursion_limit():
            del y
        assert deepest_ref() is None


def test_long_chain_second_order_and_forward_mode_without_recursion() -> None:
    n = 20_000
    x = cr.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * FACTOR
    y = y * y  # d²/dx² of (c x)² = 2 c²
    with shallow_recursion_limit():
        (g,) = cr.autograd.grad(y, x, create_graph=True)
        (h,) = cr.autograd.grad(g, x)
        _, t = cr.jvp(lambda a: _long_chain(a, n), (cr.tensor(0.5),), (cr.tensor(1.0),))
    assert math.isclose(h.item(), 2 * FACTOR ** (2 * n), rel_tol=1e-9)
    assert math.isclose(t.item(), FACTOR ** (n // 2), rel_tol=1e-9)


# ---------------------------------------------------------------- what the chain benchmark keeps
CYCLE = ("sin", "mul_c", "add_c", "tanh", "square", "neg", "exp", "cos")  # benchmarks/memory_chain.py
N_OPS = 200
KEPT_PER_CYCLE = 3  # sin's input, tanh's output (= square's input), exp's output (= cos's input)


def _chain_peak(size: int) -> tuple[int, np.ndarray]:
    """Peak traced bytes of forward + backward through the chain (above the input), and the
    gradient; the output stays alive through the backward pass, as in the benchmark."""
    table = {
        "sin": cr.sin, "mul_c": lambda y: y * 0.9, "add_c": lambda y: y + 0.1, "tanh": cr.tanh,
        "square": lambda y: y * y, "neg": lambda y: -y, "exp": cr.exp, "cos": cr.cos,
    }  # fmt: skip
    x = cr.tensor(np.random.default_rng(0).uniform(-1, 1, size), requires_grad=True)
    with no_cyclic_gc():
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            y = x
            for i in range(N_OPS):
                y = table[CYCLE[i % len(CYCLE)]](y)
            cr.sum(y).backward()
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
    return peak, x.grad.numpy()


def _numpy_chain_gradient(x: np.ndarray) -> np.ndarray:
    forward = {"sin": np.sin, "mul_c": lambda y: y * 0.9, "add_c": lambda y: y + 0.1, "tanh": np.tanh,
               "square": lambda y: y * y, "neg": np.negative, "exp": np.exp, "cos": np.cos}  # fmt: skip
    local = {"sin": lambda y, o: np.cos(y), "mul_c": lambda y, o: 0.9, "add_c": lambda y, o: 1.0,
             "tanh": lambda y, o: 1 - o * o, "square": lambda y, o: 2 * y, "neg": lambda y, o: -1.0,
             "exp": lambda y, o: o, "cos": lambda y, o: -np.sin(y)}  # fmt: skip
    derivatives = []
    y = x
    for i in range(N_OPS):
        name = CYCLE[i % len(CYCLE)]
        out = forward[name](y)
        derivatives.append(local[name](y, out))
        y = out
    g = np.ones_like(x)
    for d in reversed(derivatives):
        g = g * d
    return g


def test_multiplying_by_a_constant_keeps_nothing() -> None:
    # x * 0.9's derivative reads only the constant (Primitive(reads=...)); keeping x would cost
    # the chain one more array per 8 ops (100 instead of 75 for 200 ops).
    x = cr.tensor(np.ones(3), requires_grad=True)
    h = cr.sin(x)
    node = (h * 0.9).grad_fn
    assert node.saved_data[0] is None and node.ans is None


def test_chain_peak_is_what_the_rules_must_keep() -> None:
    size = 10_000
    array = size * 8
    peak, grad = _chain_peak(size)
    np.testing.assert_allclose(grad, _numpy_chain_gradient(np.random.default_rng(0).uniform(-1, 1, size)),
                               rtol=1e-10, atol=1e-14)  # fmt: skip
    bookkeeping, _ = _chain_peak(1)  # the nodes, tensors and tuples of the graph, no real data
    kept = KEPT_PER_CYCLE * N_OPS // len(CYCLE)  # 75 arrays the rules read in the backward pass
    # + the chain's output (alive while backward runs) + a rule's working set: the incoming
    # cotangent and the result (NumPy by hand's peak in the benchmark: 78 arrays). A sweep that
    # keeps the last node's locals alive into the next one peaks one array higher.
    # (Half an array of slack: the graph's bookkeeping, measured on a one-element chain, is a
    # few kB off at this size.)
    bound = (kept + 1 + 2 + 0.5) * array + bookkeeping
    assert peak <= bound, f"peak {peak / array:.1f} arrays; the rules need at most {bound / array:.1f}"
