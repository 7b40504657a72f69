"""The interpreter stack (core/stack.py): transforms plug into bind by pushing interpreters."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import stack
from chainrule.core.modes import state
from chainrule.tape import GradientTape
from chainrule.transforms.batching import BatchLevel
from chainrule.transforms.forward import ForwardAccumulator


class Counting(stack.Interpreter):
    """Sees every op bound while it is on the stack, and passes it one level down."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def process_primitive(self, prim, args, params):
        self.seen.append(prim.name)
        return stack.bind_below(self, prim, args, params)


def test_empty_stack_is_the_fast_path() -> None:
    assert stack.current() == () and state.busy is False
    x = cr.tensor(2.0, requires_grad=True)
    (x * x).backward()
    assert float(x.grad) == 4.0


def test_an_interpreter_sees_each_op_once_and_leaves_values_alone() -> None:
    counter = Counting()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    stack.push(counter)
    try:
        y = cr.sum(cr.sin(x) * x)
    finally:
        stack.pop(counter)
    assert counter.seen == ["sin", "mul", "sum"]
    assert stack.current() == ()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([1.0, 2.0]) * [1.0, 2.0] + np.sin([1.0, 2.0]))


def test_rules_of_a_transform_run_one_level_down() -> None:
    # An accumulator's JVP rules run under the interpreters below it: a counter pushed first
    # sees the primal op and the tangent computation, one pushed after sees the primal op only.
    below, above = Counting(), Counting()
    x = cr.Variable(0.5)
    stack.push(below)
    try:
        with ForwardAccumulator(x, cr.constant(1.0)) as acc:
            stack.push(above)
            try:
                y = cr.sin(x)
            finally:
                stack.pop(above)
    finally:
        stack.pop(below)
    assert above.seen == ["sin"]
    assert below.seen[0] == "sin" and len(below.seen) > 1  # cos(x) * dx, as ops
    assert float(acc.jvp(y)) == pytest.approx(np.cos(0.5))


def test_rank_orders_the_stack_whatever_the_push_order() -> None:
    seen = []

    def record():
        seen.append(tuple(type(i).__name__ for i in stack.current()))
        return cr.tensor(1.0)

    def inner(row):
        with cr.GradientTape() as tape, cr.autograd.detect_anomaly():
            record()
            tape.watch(row)
            return cr.sum(row * row)

    cr.vmap(inner)(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
    # The tape and anomaly mode were entered inside the vmap, yet sit under its level.
    assert seen == [("GradientTape", "_AnomalyMode", "BatchLevel")]
    assert stack.current() == ()


def test_push_and_pop_keep_the_busy_flag() -> None:
    counter = Counting()
    stack.push(counter)
    assert state.busy and stack.current() == (counter,)
    with stack.run_with(()):
        assert not state.busy
    assert state.busy
    stack.pop(counter)
    assert not state.busy


def test_reverse_over_forward_tape_outside_accumulator() -> None:
    x = cr.Variable(0.7)
    with cr.GradientTape() as tape:
        with ForwardAccumulator(x, cr.constant(1.0)) as acc:
            y = x**3
        dy = acc.jvp(y)
    # d/dx of (3 x^2) = 6 x: the tape, entered first, recorded the tangent computation.
    assert float(tape.gradient(dy, x)) == pytest.approx(6 * 0.7)


def test_forward_over_reverse_tape_inside_accumulator() -> None:
    x = cr.Variable(0.7)
    with ForwardAccumulator(x, cr.constant(1.0)) as acc:
        with cr.GradientTape() as tape:
            y = x**3
        g = tape.gradient(y, x)
    assert float(g) == pytest.approx(3 * 0.7**2)
    assert float(acc.jvp(g)) == pytest.approx(6 * 0.7)


def test_two_tapes_share_one_node_per_op() -> None:
    a, b = cr.constant(2.0), cr.constant(5.0)
    with cr.GradientTape() as outer:
        outer.watch(a)
        with cr.GradientTape() as inner:
            inner.watch(b)
            y = a * b
    assert float(outer.gradient(y, a)) == 5.0
    assert float(inner.gradient(y, b)) == 2.0


def test_tensor_rules_follow_the_stack() -> None:
    assert not stack.needs_tensor_rules()
    with ForwardAccumulator(cr.Variable(1.0), cr.constant(1.0)):
        assert stack.needs_tensor_rules()
    tape = GradientTape()
    with tape:
        assert not stack.needs_tensor_rules()
    level = BatchLevel(3, True)
    assert level.tensor_rules


def test_anomaly_mode_is_an_interpreter_that_observes_backward() -> None:
    assert not cr.autograd.is_anomaly_enabled()
    with cr.autograd.detect_anomaly():
        assert cr.autograd.is_anomaly_enabled()
        assert [type(i).__name__ for i in stack.backward_observers()] == ["_AnomalyMode"]
        with cr.autograd.detect_anomaly(False):
            assert not cr.autograd.is_anomaly_enabled()
        assert cr.autograd.is_anomaly_enabled()
    assert stack.current() == ()


def test_each_thread_has_its_own_stack() -> None:
    seen = {}

    def worker() -> None:
        seen["stack"] = stack.current()

    counter = Counting()
    stack.push(counter)
    try:
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    finally:
        stack.pop(counter)
    assert seen["stack"] == ()


def test_an_error_inside_an_interpreter_leaves_the_stack_as_it_was() -> None:
    x = cr.Variable(1.0)
    with pytest.raises(ValueError), cr.GradientTape():
        cr.reshape(x, (3, 2))
    assert stack.current() == ()


def test_clone_keeps_the_tangent_of_a_forward_tracked_value() -> None:
    # clone() of a value followed only by forward mode copied the data and lost the tangent (0
    # instead of 1): a silently wrong derivative.
    _, tangent = cr.jvp(lambda x: x.clone() * 2, (cr.tensor(3.0),), (cr.tensor(1.0),))
    assert float(tangent) == 2.0
    x = cr.Variable(2.0)
    with ForwardAccumulator(x, cr.constant(1.0)) as acc:
        y = x.clone()
    assert float(acc.jvp(y)) == 1.0
    with cr.GradientTape() as tape:
        tape.watch(x)
        z = x.clone() * x
    assert float(tape.gradient(z, x)) == 4.0
