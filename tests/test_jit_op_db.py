"""cr.jit against eager mode on every op-table entry: values, gradients, second derivatives.

Each check traces on the sample's values and then replays on *other* values of the same shapes
(the sample scaled by 0.97), so a value baked into the program by mistake shows up as a mismatch.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from tests.test_op_db import CASES, DIFF_CASES, DIFF_IDS, IDS, _closure

SECOND = [c for c in DIFF_CASES if c[0].second_order]
SECOND_IDS = [i for i, c in zip(DIFF_IDS, DIFF_CASES) if c[0].second_order]


def _other(xs: list[np.ndarray]) -> list[np.ndarray]:
    return [x * 0.97 if x.dtype.kind == "f" else x for x in xs]


def _leaves(out):
    return out if isinstance(out, (tuple, list)) else [out]


def _eager_or_skip(fn, xs):
    try:
        return fn(*[cr.tensor(x) for x in xs])
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        pytest.skip(f"the op does not accept the perturbed sample: {exc}")


def _assert_same(got, want) -> None:
    got, want = _leaves(got), _leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g.numpy()), np.asarray(w.numpy())
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def _forward_closure(entry, sample):
    """f(*all args) for the forward check: every array argument traced."""

    def f(*args):
        return entry.op(*args, **sample.kwargs)

    return f, [np.asarray(a) for a in sample.args]


@pytest.mark.parametrize("entry,sample", CASES, ids=IDS)
def test_jit_forward_equals_eager(entry, sample) -> None:
    f, xs = _forward_closure(entry, sample)
    jf = cr.jit(f)
    _assert_same(jf(*[cr.tensor(x) for x in xs]), f(*[cr.tensor(x) for x in xs]))
    ys = _other(xs)
    want = _eager_or_skip(f, ys)
    _assert_same(jf(*[cr.tensor(y) for y in ys]), want)
    assert jf.cache_size() == 1


def _scalar(f):
    def s(*xs):
        total = 0.0
        for o in _leaves(f(*xs)):
            if o.dtype.kind == "f":
                total = total + cr.sum(o * o)
        return total

    return s


def _all_traced(entry, sample):
    """Gradients with respect to the float arguments, with *every* array argument traced (class
    indices, masks): the program must follow them too, not bake the first call's values."""
    positions = [i for i, a in enumerate(sample.args) if np.asarray(a).dtype.kind == "f"]
    if entry.grad_args is not None:
        positions = list(entry.grad_args)
    n = len(sample.args)

    def f(*args):
        return entry.op(*args, **sample.kwargs)

    def s(*args):
        return _scalar(f)(*args)

    return cr.grad(s, argnums=tuple(positions)), [np.asarray(a) for a in sample.args], n


@pytest.mark.parametrize("entry,sample", [c for c in DIFF_CASES if any(np.asarray(a).dtype.kind != "f" for a in c[1].args)],
                         ids=[i for i, c in zip(DIFF_IDS, DIFF_CASES) if any(np.asarray(a).dtype.kind != "f" for a in c[1].args)])
def test_jit_grad_follows_integer_arguments(entry, sample) -> None:
    g, xs, _ = _all_traced(entry, sample)
    jg = cr.jit(g)
    _assert_same(jg(*[cr.tensor(x) for x in xs]), g(*[cr.tensor(x) for x in xs]))
    # Other float values, and the integer arguments permuted where that keeps them valid.
    ys = [x * 0.97 if x.dtype.kind == "f" else (x[::-1].copy() if x.ndim else x) for x in xs]
    want = _eager_or_skip(g, ys)
    _assert_same(jg(*[cr.tensor(y) for y in ys]), want)


@pytest.mark.parametrize("entry,sample", DIFF_CASES, ids=DIFF_IDS)
def test_jit_grad_equals_eager(entry, sample) -> None:
    f, xs = _closure(entry, sample)
    g = cr.grad(_scalar(f), argnums=tuple(range(len(xs))))
    jg = cr.jit(g)
    _assert_same(jg(*[cr.tensor(x) for x in xs]), g(*[cr.tensor(x) for x in xs]))
    ys = _other(xs)
    want = _eager_or_skip(g, ys)
    _assert_same(jg(*[cr.tensor(y) for y in ys]), want)


@pytest.mark.parametrize("entry,sample", SECOND, ids=SECOND_IDS)
def test_jit_second_order_equals_eager(entry, sample) -> None:
    f, xs = _closure(entry, sample)
    n = len(xs)
    g = cr.grad(_scalar(f), argnums=tuple(range(n)))

    def s2(*a):
        return sum(cr.sum(gi * gi) for gi in g(*a))

    h = cr.grad(s2, argnums=tuple(range(n)))
    jh = cr.jit(h)
    _assert_same(jh(*[cr.tensor(x) for x in xs]), h(*[cr.tensor(x) for x in xs]))
    ys = _other(xs)
    want = _eager_or_skip(h, ys)
    _assert_same(jh(*[cr.tensor(y) for y in ys]), want)


@pytest.mark.parametrize("entry,sample", DIFF_CASES[::7], ids=DIFF_IDS[::7])
def test_grad_of_jit_equals_eager(entry, sample) -> None:
    f, xs = _closure(entry, sample)
    s = _scalar(f)
    g = cr.grad(s, argnums=tuple(range(len(xs))))
    gj = cr.grad(cr.jit(s), argnums=tuple(range(len(xs))))
    _assert_same(gj(*[cr.tensor(x) for x in xs]), g(*[cr.tensor(x) for x in xs]))
    ys = _other(xs)
    want = _eager_or_skip(g, ys)
    _assert_same(gj(*[cr.tensor(y) for y in ys]), want)
