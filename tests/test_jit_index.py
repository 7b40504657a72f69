"""cr.jit with indices made from traced values: read at every call, not baked into the program.

An integer index (a tensor argument, a value computed inside the function, an int Variable) is
an input of the getitem/index_put op, as JAX's gather/scatter take a traced index; a boolean mask
made from traced values is refused at trace time (JAX's NonConcreteBooleanIndexError).
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf
from chainrule.transforms.jit import ConcretizationError


def _close(got, want) -> None:
    np.testing.assert_allclose(np.asarray(got.numpy()), np.asarray(want), rtol=1e-12, atol=1e-12)
    assert tuple(got.shape) == np.shape(want)


X = np.array([10.0, 11.0, 12.0, 13.0])


def test_index_argument_changes_between_calls() -> None:
    f = cr.jit(lambda x, i: x[i])
    x = cr.tensor(X)
    for i in (0, 2, 3, -1):
        _close(f(x, cr.tensor(i)), X[i])
    for i in ([3, 1], [0, 0]):
        _close(f(x, cr.tensor(i)), X[i])
    assert f.cache_size() == 2  # (one program per index shape, not per value)
    text = f.lower(x, cr.tensor(2)).as_text()
    assert "<input 1>" in text and "2" not in text.split("=", 2)[-1].split("]")[0]


def test_index_from_argmax_of_a_traced_value() -> None:
    f = cr.jit(lambda x: x[cr.argmax(-x)])
    _close(f(cr.tensor(X)), X.min())
    y = np.array([3.0, 1.0, 2.0, 0.5])
    _close(f(cr.tensor(y)), 0.5)
    # Computed and used in one program, with the gradient flowing to the chosen entry only.
    g = cr.jit(cr.grad(lambda x: x[cr.argmax(x)] ** 2))
    _close(g(cr.tensor(X)), [0.0, 0.0, 0.0, 26.0])
    _close(g(cr.tensor(y)), [6.0, 0.0, 0.0, 0.0])


def test_take_and_take_along_axis_with_traced_indices() -> None:
    m = np.arange(12.0).reshape(3, 4)
    t = cr.jit(lambda x, i: cr.take(x, i))
    _close(t(cr.tensor(m), cr.tensor([0, 1])), np.take(m, [0, 1]))
    _close(t(cr.tensor(m), cr.tensor([11, 5])), np.take(m, [11, 5]))
    t1 = cr.jit(lambda x, i: cr.take(x, i, axis=1))
    _close(t1(cr.tensor(m), cr.tensor([3, 0])), np.take(m, [3, 0], axis=1))
    _close(t1(cr.tensor(m), cr.tensor([1, 1])), np.take(m, [1, 1], axis=1))
    ta = cr.jit(lambda x, i: cr.take_along_axis(x, i, axis=1))
    for idx in ([[0], [1], [2]], [[3], [0], [1]]):
        _close(ta(cr.tensor(m), cr.tensor(idx)), np.take_along_axis(m, np.array(idx), axis=1))
    # Gradients: the scatter-add back goes to this call's indices.
    g = cr.jit(cr.grad(lambda x, i: cr.sum(cr.take_along_axis(x, i, axis=1) ** 2)))
    for idx in ([[0], [1], [2]], [[3], [3], [0]]):
        want = np.zeros_like(m)
        np.put_along_axis(want, np.array(idx), 2 * np.take_along_axis(m, np.array(idx), axis=1), axis=1)
        _close(g(cr.tensor(m), cr.tensor(idx)), want)


def test_cross_entropy_picks_with_traced_labels() -> None:
    logits = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])

    def loss(z, y):
        lp = cr.log_softmax(z, axis=1)
        return -cr.mean(cr.take_along_axis(lp, y[:, None], axis=1))

    j = cr.jit(cr.value_and_grad(loss))
    for labels in ([0, 2], [1, 1], [2, 0]):
        v, g = j(cr.tensor(logits), cr.tensor(labels))
        ev, eg = cr.value_and_grad(loss)(cr.tensor(logits), cr.tensor(labels))
        _close(v, ev.numpy())
        _close(g, eg.numpy())


def test_setitem_with_a_traced_index() -> None:
    def f(x, i):
        y = x * 1.0
        y[i] = 0.0
        return y

    jf = cr.jit(f)
    for i in (1, 3):
        want = X.copy()
        want[i] = 0.0
        _close(jf(cr.tensor(X), cr.tensor(i)), want)
    put = cr.jit(lambda x, i, v: cr.index_put(x, i, v))
    _close(put(cr.tensor(X), cr.tensor([0, 2]), cr.tensor([1.0, 2.0])), [1.0, 11.0, 2.0, 13.0])
    _close(put(cr.tensor(X), cr.tensor([3, 1]), cr.tensor([1.0, 2.0])), [10.0, 2.0, 12.0, 1.0])


def test_grad_of_a_jitted_function_with_a_traced_index() -> None:
    # Replayed through bind (the outer grad sees each primitive): the index is still this call's.
    f = cr.jit(lambda x, i: cr.sum(x[i] ** 2))
    g = cr.grad(f)
    _close(g(cr.tensor(X), cr.tensor([0, 0])), [40.0, 0.0, 0.0, 0.0])
    _close(g(cr.tensor(X), cr.tensor([3, 1])), [0.0, 22.0, 0.0, 26.0])


def test_int_variable_as_index_is_read_at_every_call() -> None:
    v = tf.Variable(1)
    f = cr.jit(lambda x: x[v])
    _close(f(cr.tensor(X)), 11.0)
    v.assign(3)
    _close(f(cr.tensor(X)), 13.0)


def test_a_constant_index_stays_a_constant() -> None:
    idx = cr.tensor([2, 0])  # closed over, neither an argument nor state
    f = cr.jit(lambda x: x[idx])
    _close(f(cr.tensor(X)), X[[2, 0]])
    assert "<input" not in f.lower(cr.tensor(X)).as_text()


def test_boolean_mask_from_traced_values_is_a_clear_error() -> None:
    f = cr.jit(lambda x, m: x[m])
    with pytest.raises(ConcretizationError, match=r"boolean mask made from argument 1 .*cr\.where"):
        f(cr.tensor(X), cr.tensor([True, False, True, False]))
    g = cr.jit(lambda x: x[x > 11.0])
    with pytest.raises(ConcretizationError, match="NonConcreteBooleanIndexError"):
        g(cr.tensor(X))

    def zero_negatives(x):
        y = x * 1.0
        y[x < 11.0] = 0.0
        return y

    with pytest.raises(ConcretizationError, match="boolean mask"):
        cr.jit(zero_negatives)(cr.tensor(X))
    # What works instead: where, or a static mask.
    w = cr.jit(lambda x: cr.where(x > 11.0, x, 0.0))
    _close(w(cr.tensor(X)), np.where(X > 11.0, X, 0.0))
    s = cr.jit(lambda x, m: x[np.array(m)], static_argnums=1)
    _close(s(cr.tensor(X), (True, False, True, False)), X[[0, 2]])
    # A mask closed over as a constant is a constant.
    mask = cr.tensor([False, True, True, False])
    _close(cr.jit(lambda x: x[mask])(cr.tensor(X)), X[[1, 2]])


def test_index_inside_cond_branch_and_loop_body() -> None:
    f = cr.jit(lambda p, x, i: cr.cond(p > 0, lambda v: v[i] * 2.0, lambda v: -v[i], x))
    _close(f(cr.tensor(1.0), cr.tensor(X), cr.tensor(1)), 22.0)
    _close(f(cr.tensor(-1.0), cr.tensor(X), cr.tensor(3)), -13.0)
    _close(f(cr.tensor(1.0), cr.tensor(X), cr.tensor(2)), 24.0)
    g = cr.jit(lambda x, idx: cr.fori_loop(0, 2, lambda k, s: s + x[idx[k]], cr.tensor(0.0)))
    _close(g(cr.tensor(X), cr.tensor([0, 3])), 23.0)
    _close(g(cr.tensor(X), cr.tensor([2, 2])), 24.0)
