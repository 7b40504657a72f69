"""Threads (issue 7, part 4): grad mode, tapes, anomaly mode, forward accumulators and vmap levels
are per thread; four threads training four models at once get exactly the results of training
them one after another.

Threads are made to interleave on purpose: they meet at a barrier between the steps of each op
sequence (after a forward pass and before its backward pass, inside an open tape, inside
``no_grad``...), so every test runs one thread's work in the middle of another's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import data, nn, optim

TIMEOUT_S = 60


def run_together(workers: list[Callable[[Callable[[], None]], Any]]) -> list[Any]:
    """Run each ``worker(sync)`` in its own thread; ``sync()`` waits for all the others.

    Returns the workers' results in order; re-raises the first exception of any of them.
    """
    barrier = threading.Barrier(len(workers), timeout=TIMEOUT_S)
    results: list[Any] = [None] * len(workers)
    errors: list[BaseException] = []

    def sync() -> None:
        barrier.wait()

    def main(i: int) -> None:
        try:
            results[i] = workers[i](sync)
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            errors.append(error)
            barrier.abort()  # release the others instead of deadlocking them

    threads = [threading.Thread(target=main, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S * 4)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    if errors:
        real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
        raise (real or errors)[0]
    return results


def run_one_after_another(workers: list[Callable[[Callable[[], None]], Any]]) -> list[Any]:
    return [worker(lambda: None) for worker in workers]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Four Python threads on two cores: keep OpenBLAS from spinning threads of its own."""
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - installed with scikit-learn (test extras)
        yield
        return
    with threadpoolctl.threadpool_limits(1):
        yield


# ---------------------------------------------------------------- grad mode
def test_no_grad_in_one_thread_does_not_stop_recording_in_another() -> None:
    def inside_no_grad(sync):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        with cr.no_grad():
            sync()  # the other thread records now
            sync()
            seen.append((x * 2).requires_grad)
            seen.append(cr.is_grad_enabled())
        seen.append((x * 2).requires_grad)
        return seen

    def recording(sync):
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        sync()
        y = cr.sin(x) * x  # while the other thread is inside no_grad
        enabled = cr.is_grad_enabled()
        sync()
        y.sum().backward()
        return y.requires_grad, enabled, x.grad is not None

    assert run_together([inside_no_grad, recording]) == [[False, False, True], (True, True, True)]


def test_set_grad_enabled_as_a_call_is_per_thread() -> None:
    def switch_off(sync):
        cr.set_grad_enabled(False)  # no `with`: stays off in this thread until switched back
        sync()
        sync()
        off = cr.is_grad_enabled()
        cr.set_grad_enabled(True)
        return off

    def watch(sync):
        sync()
        enabled = cr.is_grad_enabled()
        y = cr.tensor(3.0, requires_grad=True) ** 2
        sync()
        return enabled, y.requires_grad

    assert run_together([switch_off, watch]) == [False, (True, True)]
    assert cr.is_grad_enabled()


# ---------------------------------------------------------------- tapes
def test_a_tape_records_only_its_own_threads_ops_on_a_shared_variable() -> None:
    shared = cr.Variable([0.5, 1.5], name="shared")

    def taped(sync):
        with cr.GradientTape() as tape:
            y = cr.sin(shared)
            sync()  # the other thread now computes on `shared`, with and without a tape
            sync()
            z = cr.sum(y * shared)
        recorded = sorted(node.prim.name for node in tape._nodes)
        g = tape.gradient(z, shared)
        return recorded, g.numpy()

    def other(sync):
        sync()
        untaped = cr.exp(shared) * 3.0  # no tape in this thread: not recorded anywhere
        with cr.GradientTape() as mine:
            w = cr.sum(shared**3)
        sync()
        return untaped.grad_fn is None, mine.gradient(w, shared).numpy()

    (recorded, g), (untracked, g_other) = run_together([taped, other])
    s = np.array([0.5, 1.5])
    assert recorded == ["mul", "sin", "sum"]  # none of the other thread's exp, mul, pow, sum
    np.testing.assert_allclose(g, np.cos(s) * s + np.sin(s))
    assert untracked
    np.testing.assert_allclose(g_other, 3 * s**2)


def test_stop_recording_and_nested_tapes_per_thread() -> None:
    def nested(sync):
        x = cr.Variable(1.5)
        with cr.GradientTape() as outer:
            with cr.GradientTape() as inner:
                y = x**4
                sync()
            d = inner.gradient(y, x)
            with outer.stop_recording():
                sync()
                ignored = x * 100.0
        return float(outer.gradient(d, x)), ignored.grad_fn is None

    def flat(sync):
        x = cr.Variable(2.0)
        with cr.GradientTape(persistent=True) as tape:
            sync()
            y = x**3
            sync()
        return float(tape.gradient(y, x)), len(tape._nodes)

    (second, ignored), (first, n) = run_together([nested, flat])
    assert second == pytest.approx(12 * 1.5**2) and ignored
    assert first == 12.0 and n == 1


# ---------------------------------------------------------------- anomaly mode
def test_anomaly_mode_on_in_one_thread_only() -> None:
    def checking(sync):
        with cr.autograd.detect_anomaly():
            sync()  # the other thread makes NaNs now, silently
            sync()
            with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match="'log'"):
                cr.log(cr.tensor([-1.0]))
            x = cr.tensor([0.0], requires_grad=True)
            y = cr.sum(cr.sqrt(x))
            with np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match="SqrtBackward0"):
                y.backward()
        return cr.autograd.is_anomaly_enabled()

    def silent(sync):
        sync()
        with np.errstate(invalid="ignore", divide="ignore"):
            bad = cr.log(cr.tensor([-1.0]))
            x = cr.tensor([0.0], requires_grad=True)
            cr.sum(cr.sqrt(x)).backward()
        enabled = cr.autograd.is_anomaly_enabled()
        sync()
        return bool(np.isnan(bad.numpy()[0])), float(x.grad.numpy()[0]), enabled

    assert run_together([checking, silent]) == [False, (True, np.inf, False)]


# ---------------------------------------------------------------- transforms
def test_forward_mode_vmap_and_jacobians_in_four_threads() -> None:
    def make(k: int) -> Callable[[Callable[[], None]], Any]:
        def work(sync):
            def f(x):
                y = cr.tanh(x)
                sync()  # every thread is inside its transform (accumulator, vmap level) now
                return cr.sum(y * cr.exp(-x * x))

            x = cr.tensor(np.linspace(-1, 1, 4) * (k + 1))
            out = []
            for _ in range(3):
                _, t = cr.jvp(f, (x,), (cr.tensor(np.ones(4)),))
                batched = cr.vmap(cr.grad(f))(cr.stack([x, -x]))
                h = cr.hessian(f)(x)
                out.append((t.numpy(), batched.numpy(), h.numpy()))
            return out

        return work

    workers = [make(k) for k in range(4)]
    together = run_together(workers)
    alone = run_one_after_another(workers)
    for a, b in zip(together, alone):
        for step_a, step_b in zip(a, b):
            for u, v in zip(step_a, step_b):
                np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------- four models, four threads
_IMAGES, _LABELS = None, None


def _digits(n: int = 320) -> tuple[np.ndarray, np.ndarray]:
    global _IMAGES, _LABELS
    if _IMAGES is None:
        images, labels = data.load_digits(flatten=True, dtype=np.float64)
        _IMAGES, _LABELS = images[:n], labels[:n]
    return _IMAGES, _LABELS


STEPS = 25


def _torch_style(seed: int) -> Callable[[Callable[[], None]], Any]:
    """nn.Sequential + Adam + backward, batches from a seeded shuffling DataLoader."""

    def work(sync):
        images, labels = _digits()
        model = nn.Sequential(nn.Linear(64, 32, generator=seed), nn.Tanh(), nn.Linear(32, 10, generator=seed + 1))
        opt = optim.Adam(model.parameters(), lr=1e-2)
        loss_fn = nn.CrossEntropyLoss()
        loader = data.DataLoader(data.TensorDataset(images, labels), batch_size=32, shuffle=True, seed=seed)
        losses = []

        def epochs():
            while True:  # each pass draws a new order from the loader's seeded generator
                yield from loader

        batches = epochs()
        for _ in range(STEPS):
            x, y = next(batches)
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            sync()  # the graph is recorded; the others run whole steps of theirs now
            loss.backward()
            sync()
            opt.step()
            losses.append(float(loss))
        return losses, [p.numpy().copy() for p in model.parameters()]

    return work


def _tape_style(seed: int) -> Callable[[Callable[[], None]], Any]:
    """Variables + GradientTape + hand-written SGD with assign_sub."""

    def work(sync):
        images, labels = _digits()
        rng = np.random.default_rng(seed)
        w1 = cr.Variable(rng.normal(0, 0.1, (64, 24)), name="w1")
        b1 = cr.Variable(np.zeros(24), name="b1")
        w2 = cr.Variable(rng.normal(0, 0.1, (24, 10)), name="w2")
        params = [w1, b1, w2]
        losses = []
        for step in range(STEPS):
            rows = slice((step * 32) % 288, (step * 32) % 288 + 32)
            x, y = cr.constant(images[rows]), labels[rows]
            with cr.GradientTape() as tape:
                h = cr.relu(x @ w1 + b1)
                sync()  # the tape is open while the other threads record
                loss = cr.cross_entropy(h @ w2, y)
            sync()
            grads = tape.gradient(loss, params)
            for p, g in zip(params, grads):
                p.assign_sub(0.5 * g.numpy())
            losses.append(float(loss))
        return losses, [p.numpy() for p in params]

    return work


def _functional_style(seed: int) -> Callable[[Callable[[], None]], Any]:
    """A pytree of parameters, value_and_grad, updates under no_grad, evaluation under no_grad."""

    def work(sync):
        images, labels = _digits()
        rng = np.random.default_rng(seed)
        params = {"w": cr.tensor(rng.normal(0, 0.1, (64, 10))), "b": cr.tensor(np.zeros(10))}

        def loss_fn(p, x, y):
            return cr.cross_entropy(x @ p["w"] + p["b"], y) + 1e-3 * cr.sum(p["w"] * p["w"])

        step_fn = cr.value_and_grad(loss_fn)
        losses, accuracies = [], []
        for step in range(STEPS):
            rows = slice((step * 40) % 280, (step * 40) % 280 + 40)
            x, y = cr.tensor(images[rows]), labels[rows]
            sync()
            value, grads = step_fn(params, x, y)
            sync()
            with cr.no_grad():
                params = {k: params[k] - 0.3 * grads[k] for k in params}
                logits = cr.tensor(images) @ params["w"] + params["b"]
                assert not logits.requires_grad
                accuracies.append(float(np.mean(np.argmax(logits.numpy(), axis=1) == labels)))
            losses.append(float(value))
        return losses, accuracies, [params["w"].numpy(), params["b"].numpy()]

    return work


def _anomaly_style(seed: int) -> Callable[[Callable[[], None]], Any]:
    """SGD with momentum under anomaly mode (finite everywhere, so it never fires), with a
    gradient penalty that needs create_graph."""

    def work(sync):
        images, labels = _digits()
        model = nn.Sequential(nn.Linear(64, 16, generator=seed), nn.ReLU(), nn.Linear(16, 10, generator=seed + 1))
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses = []
        with cr.autograd.detect_anomaly():
            for step in range(STEPS):
                rows = slice((step * 16) % 304, (step * 16) % 304 + 16)
                x = cr.tensor(images[rows], requires_grad=True)
                opt.zero_grad()
                loss = cr.cross_entropy(model(x), labels[rows])
                (gx,) = cr.autograd.grad(loss, x, create_graph=True)
                sync()
                total = loss + 0.1 * cr.sum(gx * gx)
                total.backward()
                sync()
                opt.step()
                losses.append(float(total))
        return losses, [p.numpy().copy() for p in model.parameters()]

    return work


def test_four_threads_training_four_models_match_training_them_one_after_another() -> None:
    def workers() -> list[Callable[[Callable[[], None]], Any]]:
        return [_torch_style(1), _tape_style(2), _functional_style(3), _anomaly_style(4)]

    with one_blas_thread():
        alone = run_one_after_another(workers())
        together = run_together(workers())
    for name, a, b in zip(["nn+Adam", "tape+SGD", "value_and_grad", "anomaly+SGD"], alone, together):
        assert len(a) == len(b)
        for part_a, part_b in zip(a, b):
            if isinstance(part_a, list) and part_a and isinstance(part_a[0], np.ndarray):
                assert all(np.array_equal(u, v) for u, v in zip(part_a, part_b)), f"{name}: parameters differ"
            else:
                assert part_a == part_b, f"{name}: losses differ"
    # The runs trained (so equality is about real work, not about nothing happening).
    for result in alone:
        losses = result[0]
        assert losses[-1] < 0.8 * losses[0]
    assert alone[2][1][-1] > 0.5  # value_and_grad model's accuracy on the 320 images
