"""Why is my gradient None? One test per cause, for tensors, tapes and autograd.grad's error."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.tape import GradientTape, Variable, constant
from chainrule.viz import why_none
from chainrule.viz.why_none import CAUSES


def leaf(value: float = 2.0) -> cr.Tensor:
    return cr.tensor(value, requires_grad=True)


# ---------------------------------------------------------------- source never watched
def test_constant_source() -> None:
    x = cr.tensor(2.0)
    y = leaf()
    d = why_none(x * y, x)
    assert d.cause == "no_requires_grad" and "requires_grad=True" in d.message


def test_trainable_false_variable_on_a_tape() -> None:
    a = Variable(-2.0, trainable=False, name="a")
    b = Variable(1.5, name="b")
    with GradientTape() as tape:
        y = (a + b) ** 2 + 2 * a * b
    assert tape.gradient(y, [a, b])[0] is None
    d = why_none(tape, y, a)
    assert d.cause == "not_trainable"
    assert "'a'" in d.message and "tape.watch" in d.message


def test_constant_on_a_tape_and_arithmetic_on_a_variable_outside_it() -> None:
    a = Variable(-2.0)
    b = Variable(1.5) + 1.0  # seed 004: "the type changed to a constant"
    with GradientTape() as tape:
        y = (a + b) ** 2 + 2 * a * b
    assert tape.gradient(y, [a, b])[1] is None
    d = why_none(tape, y, b)
    assert d.cause == "not_watched" and "Variable(1.5) + 1.0" in d.message
    assert why_none(tape, y, constant(3.0)).cause == "not_watched"


def test_watch_accessed_variables_false() -> None:
    a, b = Variable(-2.0), Variable(1.5, name="b")
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = (a + b) ** 2
    assert tape.gradient(y, b) is None
    d = why_none(tape, y, b)
    assert d.cause == "not_watched" and "watch_accessed_variables=False" in d.message


def test_intermediate_computed_before_the_tape() -> None:
    x = leaf()
    pre = x * 3
    with GradientTape() as tape:
        y = Variable(1.0) * 2.0
    d = why_none(tape, y, pre)
    assert d.cause == "computed_outside_tape"


def test_variable_without_a_tape() -> None:
    v = Variable(1.0, name="v")
    assert why_none(leaf() * 2, v).cause == "not_watched"


# ---------------------------------------------------------------- the target does not depend on it
def test_unused_source() -> None:
    x, y = leaf(), leaf(3.0)
    d = why_none(y * 2, x)
    assert d.cause == "unused" and "does not depend" in d.message
    with pytest.raises(RuntimeError, match="Why: the target does not depend"):
        cr.autograd.grad(y * 2, [x])


def test_unused_variable_on_a_tape() -> None:
    a, b = Variable(1.0), Variable(2.0, name="b")
    with GradientTape() as tape:
        y = a * 3.0
    assert why_none(tape, y, b).cause == "unused"


# ---------------------------------------------------------------- non-differentiable ops
def test_argmax_on_the_path() -> None:
    v = cr.tensor([1.0, 5.0, 2.0], requires_grad=True)
    w = leaf()
    d = why_none(w * cr.argmax(v), v)
    assert d.cause == "nondifferentiable" and "argmax" in d.message


def test_comparison_on_the_path() -> None:
    x, w = leaf(), leaf(3.0)
    d = why_none(w * (x > 1.0), x)
    assert d.cause == "nondifferentiable" and "comparison" in d.message


def test_integer_cast_on_the_path() -> None:
    x, w = leaf(2.5), leaf(3.0)
    d = why_none(w * x.astype("int64"), x)
    assert d.cause == "nondifferentiable" and "integer cast" in d.message


def test_floor_on_the_path() -> None:
    x, w = leaf(2.5), leaf(3.0)
    d = why_none(w * cr.floor(x), x)
    assert d.cause == "nondifferentiable" and "floor" in d.message


def test_target_is_the_result_of_argmax() -> None:
    v = cr.tensor([1.0, 5.0, 2.0], requires_grad=True)
    d = why_none(cr.argmax(v), v)
    assert d.cause == "nondifferentiable" and "int64" in d.message


def test_integer_source() -> None:
    d = why_none(leaf() * 2, cr.tensor(3))
    assert d.cause == "integer_dtype"


# ---------------------------------------------------------------- the value left the graph
def test_numpy_on_the_path() -> None:
    x, w = leaf(), leaf(3.0)
    d = why_none(w * x.numpy(), x)
    assert d.cause == "left_graph" and ".numpy()" in d.message


def test_float_on_the_path() -> None:
    x, w = leaf(2.25), leaf(3.0)
    d = why_none(w * float(x), x)
    assert d.cause == "left_graph" and "float(x)" in d.message


def test_target_or_source_that_left_the_graph() -> None:
    x = leaf()
    assert why_none(float(x * 2), x).cause == "target_not_tensor"
    assert why_none(x * 2, x.numpy()).cause == "not_a_tensor"


# ---------------------------------------------------------------- detach / stop_gradient / stop_recording
def test_detach_on_the_path() -> None:
    x, w = leaf(), leaf(3.0)
    d = why_none(w * x.detach(), x)
    assert d.cause == "detached" and "detach()" in d.message


def test_detached_target() -> None:
    x = leaf()
    assert why_none(x.detach(), x).cause == "detached"


def test_detach_inside_a_tape() -> None:
    x, w = Variable(2.0, name="x"), Variable(1.0)
    with GradientTape(persistent=True) as tape:
        y = x * 3.0
        loss = y.detach() * w
    assert tape.gradient(loss, x) is None
    d = why_none(tape, loss, x)
    assert d.cause == "detached" and "stops after mul" in d.message


def test_stop_recording_on_the_path() -> None:
    x, w = Variable(2.0, name="x"), Variable(1.0)
    with GradientTape(persistent=True) as tape:
        y = x * 3.0
        with tape.stop_recording():
            z = y + 1.0
        loss = z * w
    assert tape.gradient(loss, x) is None
    d = why_none(tape, loss, x)
    assert d.cause == "stop_recording" and "stop_recording()" in d.message


def test_no_grad_target() -> None:
    x = leaf()
    with cr.no_grad():
        y = x * 2
    d = why_none(y, x)
    assert d.cause == "target_no_history" and "no_grad()" in d.message


# ---------------------------------------------------------------- in-place assign, used tape
def test_assign_on_the_path() -> None:
    x, v = Variable(2.0, name="x"), Variable(0.0, name="v")
    with GradientTape(persistent=True) as tape:
        y = x * 3.0
        v.assign(y)
        loss = v * v
    assert tape.gradient(loss, x) is None
    d = why_none(tape, loss, x)
    assert d.cause == "assigned" and "'v'" in d.message and "assign" in d.message


def test_tape_already_used() -> None:
    x = Variable(2.0)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = 2 * x
        f = y**2
    tape.gradient(f, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(f, y)
    d = why_none(tape, f, y)
    assert d.cause == "tape_used" and "persistent=True" in d.message


# ---------------------------------------------------------------- not a None at all
def test_non_leaf_grad_and_connected() -> None:
    x = leaf()
    h = x * 2
    y = h * 3
    y.backward(retain_graph=True)
    assert h.grad is None
    assert why_none(y, h).cause == "non_leaf"
    assert why_none(y, x).cause == "connected"


def test_every_cause_is_documented_and_calls_are_checked() -> None:
    import importlib

    module = importlib.import_module("chainrule.viz.why_none")  # the package re-exports the function
    for cause in CAUSES:
        assert f"``{cause}``" in module.__doc__
    with pytest.raises(TypeError):
        why_none(leaf())
