"""Versions belong to storage: views, aliases and saved outputs are checked (PyTorch's rules).

Every case here gave a silently wrong gradient before storage versions: the expected gradients
are derived by hand in the comments, and the cases that must raise are the ones PyTorch refuses.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule import torch as th

MODIFIED = "modified by an in-place operation"


def leaf(values, **kw):
    return cr.tensor(np.asarray(values, dtype=np.float64), requires_grad=True, **kw)


# ---------------------------------------------------------------- the reproducers
def test_write_to_a_weight_whose_transpose_was_saved_raises() -> None:
    W = leaf(np.arange(6.0).reshape(2, 3))
    x = leaf(np.ones((1, 3)))
    out = (x @ W.T).sum()  # the graph keeps W.T, a view of W
    with cr.no_grad():
        W -= 100.0  # what optimizer.step() does
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        out.backward()
    message = str(info.value)
    assert "MmBackward0" in message and "version 1" in message and "version 0" in message


def test_retain_graph_then_step_then_backward_raises_with_linear() -> None:
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(cr.tensor(np.ones((4, 3)))).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_same_pattern_in_the_torch_dialect() -> None:
    model = th.nn.Linear(3, 2)
    opt = th.optim.SGD(model.parameters(), lr=0.1)
    loss = model(th.ones(4, 3)).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda a: a[0:2].__iadd__(10.0), id="slice +="),
        pytest.param(lambda a: a[1:][0:2].__imul__(0.0), id="view of a view"),
        pytest.param(lambda a: a.reshape(2, 2).mul_(0.0), id="reshape mul_"),
        pytest.param(lambda a: a.reshape(2, 2).T.fill_(9.0), id="T fill_"),
        pytest.param(lambda a: cr.expand_dims(a, 0).zero_(), id="expand_dims zero_"),
        pytest.param(lambda a: a.detach().add_(1.0), id="detach add_"),
        pytest.param(lambda a: a.__setitem__(slice(0, 1), 5.0), id="setitem on the base"),
    ],
)
def test_writes_through_aliases_of_a_saved_input_raise(write) -> None:
    w = leaf([1.0, 2.0, 3.0, 4.0])
    a = cr.tensor([1.0, 1.0, 1.0, 1.0])
    y = (w * a).sum()  # mul keeps a for w's gradient
    write(a)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_detached_alias_of_a_saved_intermediate() -> None:
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    z = (y * y).sum()
    d = y.detach()
    d += 1.0
    np.testing.assert_array_equal(y.numpy(), [3.0, 5.0, 7.0])  # one storage
    with pytest.raises(RuntimeError, match=MODIFIED):
        z.backward()


def test_untouched_graph_still_works_after_unrelated_views() -> None:
    # Views alone change nothing: no write, no error, the right gradient (2 * a).
    w = leaf([1.0, 2.0])
    a = cr.tensor([3.0, 4.0])
    y = (w * a).sum()
    _ = a[0:1], a.T, a.reshape(2, 1), a.detach()
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


# ---------------------------------------------------------------- views of leaves
def test_in_place_through_a_view_of_a_leaf_that_requires_grad_raises_at_once() -> None:
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[0:2].add_(1.0)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x.reshape(3).mul_(2.0)
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0])  # nothing was written
    with cr.no_grad():  # allowed, as optimizers do
        x[0:2].add_(1.0)
    np.testing.assert_array_equal(x.numpy(), [2.0, 3.0, 3.0])


def test_broadcast_views_refuse_writes() -> None:
    a = cr.zeros(3)
    e = cr.broadcast_to(a, (2, 3))
    with pytest.raises(RuntimeError, match="clone"):
        e.add_(1.0)
    np.testing.assert_array_equal(a.numpy(), [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- recorded writes through views
def test_recorded_write_through_a_view_updates_base_values_and_gradients() -> None:
    # y = x * 1; y[0:2] += 10 * w  ->  y = [x0 + 10 w0, x1 + 10 w1, x2]
    x = leaf([1.0, 2.0, 3.0])
    w = leaf([1.0, 1.0])
    y = x * 1.0
    v = y[0:2]
    v += w * 10.0
    np.testing.assert_array_equal(y.numpy(), [11.0, 12.0, 3.0])
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.grad.numpy(), [10.0, 20.0])


def test_other_views_of_the_base_see_the_new_history() -> None:
    # b = 0; b[0:2] += w; v2 = b[1:3] was taken before: v2 = [w1, 0], so d(sum(v2 * [1, 10]))/dw = [0, 1]
    w = leaf([2.0, 3.0])
    b = cr.zeros(4)
    v = b[0:2]
    v2 = b[1:3]
    v += w
    assert v2.requires_grad and v2.grad_fn is not None
    (v2 * cr.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 1.0])


def test_write_into_a_transposed_view() -> None:
    # y = x * 1 (2x2); y.T[0] *= 3 scales column 0 of y: d sum(y)/dx = [[3, 1], [3, 1]]
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1.0
    col = y.T[0]
    col *= 3.0
    np.testing.assert_array_equal(y.numpy(), [[3.0, 2.0], [9.0, 4.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.0, 1.0], [3.0, 1.0]])


def test_write_into_a_diagonal_view() -> None:
    # y = x * 1; diag(y) += w: d sum(y * c)/dw = diag(c), d/dx = c
    x = leaf(np.zeros((2, 2)))
    w = leaf([1.0, 2.0])
    c = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1.0
    d = cr.diagonal(y)
    d += w
    np.testing.assert_array_equal(y.numpy(), [[1.0, 0.0], [0.0, 2.0]])
    (y * c).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 4.0])
    np.testing.assert_array_equal(x.grad.numpy(), c.numpy())


def test_index_add_through_getitem_as_python_spells_it() -> None:
    x = leaf([1.0, 2.0, 3.0])
    w = leaf([2.0, 3.0, 4.0])
    y = x * 1.0
    y[0] += w[0]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 0.0, 0.0])


def test_in_place_op_whose_rule_reads_the_old_value() -> None:
    # y = x * 1; y *= w: d sum/dx = w, d sum/dw = x (the old y), as PyTorch computes it.
    x = leaf([1.0, 2.0, 3.0])
    w = leaf([2.0, 3.0, 4.0])
    y = x * 1.0
    y.mul_(w)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])


def test_constant_written_over_a_value_with_history_cuts_the_gradient() -> None:
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2.0
    y.zero_()
    (y * 1.0 + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_in_place_write_is_seen_by_numpy_aliases_of_the_storage() -> None:
    x = leaf([1.0, 2.0])
    y = x * 1.0
    arr = y.numpy()
    y += x
    np.testing.assert_array_equal(arr, [2.0, 4.0])


# ---------------------------------------------------------------- saved outputs
@pytest.mark.parametrize("op", ["exp", "sigmoid", "tanh", "sqrt"])
def test_saved_outputs_are_version_checked(op: str) -> None:
    x = leaf([0.5, 1.0, 2.0])
    y = getattr(cr, op)(x)
    with cr.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=f"output 0 of .*{MODIFIED[:8]}|{MODIFIED}"):
        y.sum().backward()


def test_saved_output_written_through_a_view() -> None:
    x = leaf([0.5, 1.0])
    y = cr.exp(x)
    with cr.no_grad():
        y[0:1].fill_(0.0)
    with pytest.raises(RuntimeError, match="output 0 of ExpBackward0"):
        y.sum().backward()


def test_in_place_write_to_a_saved_output_with_grad_on_raises_like_pytorch() -> None:
    x = leaf([0.5, 1.0])
    y = cr.exp(x)
    y += 1.0
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


# ---------------------------------------------------------------- 0-d gradients
def test_zero_d_grad_stays_an_array_over_accumulation() -> None:
    x = leaf(2.0)
    for _ in range(3):
        (x * x).backward()
    assert isinstance(x.grad.numpy(), np.ndarray) and x.grad.numpy().shape == ()
    assert float(x.grad) == 12.0
    np.asarray(x.grad)
    x.grad += 1.0
    assert float(x.grad) == 13.0
    x.grad.zero_()
    assert float(x.grad) == 0.0


@pytest.mark.parametrize("front", ["native", "torch"])
def test_manual_descent_on_a_scalar(front: str) -> None:
    lib = cr if front == "native" else th
    w = lib.tensor(3.0, requires_grad=True)
    for _ in range(3):
        loss = (w - 1.0) ** 2
        loss.backward()
        with lib.no_grad():
            w -= 0.25 * w.grad
        w.grad.zero_()
    # w <- w - 0.5 (w - 1): 3 -> 2 -> 1.5 -> 1.25
    assert float(w) == pytest.approx(1.25)


@pytest.mark.parametrize("opt_cls", [optim.Adam, optim.AdamW, optim.SGD, optim.RMSprop])
def test_optimizers_on_a_zero_d_parameter_after_accumulation(opt_cls) -> None:
    w = nn.Parameter(cr.tensor(1.0))
    opt = opt_cls([w], lr=0.1)
    for _ in range(2):
        (w * w).backward()  # accumulate twice before the step
    opt.step()
    assert isinstance(w.numpy(), np.ndarray) and w.numpy().shape == ()
    assert float(w) < 1.0


# ---------------------------------------------------------------- deepcopy
def test_deepcopy_of_a_long_history_is_refused_clearly() -> None:
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(y)


def test_deepcopy_of_a_leaf_copies_values_and_flags() -> None:
    x = leaf([1.0, 2.0])
    x.grad = cr.tensor([0.5, 0.5])
    c = copy.deepcopy(x)
    assert c.requires_grad and c.grad is not x.grad
    c.numpy()[0] = 9.0
    assert x.numpy()[0] == 1.0
    np.testing.assert_array_equal(c.grad.numpy(), [0.5, 0.5])


def test_a_view_of_a_value_cut_off_its_inputs_is_still_a_view() -> None:
    # The cut marker (floor's output) and view tracking share a slot: both must keep working.
    x = leaf([1.5, 2.5, 3.5, 4.5])
    f = cr.floor(x)
    v = f.reshape(2, 2).T
    with cr.no_grad():
        v.mul_(2.0)
    np.testing.assert_array_equal(f.numpy(), [2.0, 4.0, 6.0, 8.0])  # every entry doubled
    assert f._version == 1 and v._version == 1
    with pytest.raises(RuntimeError, match="floor"):
        (f * 2.0).sum().backward()
