"""Replay-only rewrites of ``cr.jit`` (jit_program.py): each gives eager mode's values, and each
stands down when its conditions do not hold.

These tests hold the NumPy replay to eager mode's bits, so they run with the fused Numba loops
switched off (``CHAINRULE_JIT_KERNELS=0``); the loops have their own tests, test_jit_kernels.py."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr

rng = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _numpy_replay(monkeypatch):
    monkeypatch.setenv("CHAINRULE_JIT_KERNELS", "0")


def _t(a):
    return cr.tensor(np.asarray(a))


# ---------------------------------------------------------------- cross-entropy: loss and gradient in one step
def _ce_value_and_grad(reduction, axis):
    def f(w, x, y):
        return cr.value_and_grad(lambda w: cr.cross_entropy(x @ w, y, axis=axis, reduction=reduction))(w)

    return f


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_value_and_grad_is_one_step_with_eager_bits(reduction, dtype) -> None:
    w = rng.normal(size=(5, 4)).astype(dtype)
    x = rng.normal(size=(6, 5)).astype(dtype)
    y = rng.integers(0, 4, size=6)
    f = _ce_value_and_grad(reduction, -1)
    lowered = cr.jit(f).lower(_t(w), _t(x), _t(y))
    assert f"cross_entropy_and_grad[axis=1, reduction={reduction!r}]" in lowered.source()
    assert "softmax_xent_grad" not in lowered.source()
    jf = cr.jit(f)
    for _ in range(2):
        y = rng.integers(0, 4, size=6)
        (loss, g), (e_loss, e_g) = jf(_t(w), _t(x), _t(y)), f(_t(w), _t(x), _t(y))
        # the same NumPy calls as the two eager steps: the same bits
        np.testing.assert_array_equal(np.asarray(loss), np.asarray(e_loss))
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e_g))
        assert np.asarray(g).dtype == dtype and np.asarray(loss).dtype == dtype


def test_cross_entropy_pair_on_a_middle_class_axis_and_non_finite_logits() -> None:
    x = rng.normal(size=(3, 4, 5))
    y = rng.integers(0, 4, size=(3, 5))

    def f(v, y):
        return cr.value_and_grad(lambda v: cr.cross_entropy(v, y, axis=1))(v)

    jf = cr.jit(f)
    assert "cross_entropy_and_grad[axis=1" in jf.lower(_t(x), _t(y)).source()
    for v in (x, np.where(np.arange(5) == 2, np.inf, x)):  # (an infinite logit: NaN where eager has it)
        (loss, g), (e_loss, e_g) = jf(_t(v), _t(y)), f(_t(v), _t(y))
        np.testing.assert_array_equal(np.asarray(loss), np.asarray(e_loss))
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e_g))
    big = x.copy()
    big[0, :, 0] = [np.inf, 1.0, 2.0, 3.0]
    (loss, g), (e_loss, e_g) = jf(_t(big), _t(y)), f(_t(big), _t(y))
    np.testing.assert_array_equal(np.asarray(g), np.asarray(e_g))
    two_d = rng.normal(size=(4, 3))
    two_d[1, 2] = np.inf
    f2 = _ce_value_and_grad("mean", -1)
    w, xx = np.eye(3), two_d
    (loss, g), (e_loss, e_g) = cr.jit(f2)(_t(w), _t(xx), _t([0, 1, 2, 0])), f2(_t(w), _t(xx), _t([0, 1, 2, 0]))
    np.testing.assert_array_equal(np.asarray(loss), np.asarray(e_loss))
    np.testing.assert_array_equal(np.asarray(g), np.asarray(e_g))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_pair_on_classifier_logits_with_non_finite_rows(reduction) -> None:
    # The (batch, classes) fast path reads the shift's finiteness from the loss: every kind of
    # non-finite row (+inf, all -inf, NaN) and a finite batch whose loss sum overflows must
    # still give eager mode's bits, loss and gradient.
    def f(v, y):
        return cr.value_and_grad(lambda v: cr.sum(cr.cross_entropy(v, y, reduction=reduction)))(v)

    jf = cr.jit(f)
    y = np.array([0, 1, 2, 0, 1])
    base = rng.normal(size=(5, 3)).astype(np.float32)
    assert "cross_entropy_and_grad[axis=1" in jf.lower(_t(base), _t(y)).source()
    plus, minus, nan, huge = base.copy(), base.copy(), base.copy(), base.copy()
    plus[1, 2] = np.inf
    minus[3] = -np.inf
    nan[0, 1] = np.nan
    huge[:, 0] = np.float32(3e38)  # (finite shift; each row's loss is near 3e38, their sum is inf)
    huge[:, 1] = np.float32(-3e38)
    for v in (base, plus, minus, nan, huge):
        (loss, g), (e_loss, e_g) = jf(_t(v), _t(y)), f(_t(v), _t(y))
        np.testing.assert_array_equal(np.asarray(loss), np.asarray(e_loss))
        np.testing.assert_array_equal(np.asarray(g), np.asarray(e_g))


def test_loss_alone_keeps_its_own_step() -> None:
    f = cr.jit(lambda v, y: cr.cross_entropy(v, y))
    src = f.lower(_t(rng.normal(size=(3, 4))), _t([0, 1, 2])).source()
    assert "cross_entropy(" in src and "and_grad" not in src


# ---------------------------------------------------------------- relu, transposes, bias sums
def test_relu_replays_as_maximum_against_zeros_in_its_dead_input() -> None:
    def f(x, w):
        return cr.relu(x @ w + 1.0) * 2.0

    x = rng.normal(size=(80, 64))
    w = rng.normal(size=(64, 64))
    src = cr.jit(f).lower(_t(x), _t(w)).source()
    assert "maximum(" in src and "relu(" not in src
    line = next(ln for ln in src.splitlines() if "maximum(" in ln)
    assert "out=" in line  # (the add's buffer, dead after it)
    np.testing.assert_array_equal(cr.jit(f)(_t(x), _t(w)).numpy(), f(_t(x), _t(w)).numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_special_values_and_gradient_match_eager(dtype) -> None:
    v = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -1.5, 2.5, 1e-45], dtype=dtype)

    def f(x):
        return cr.value_and_grad(lambda x: cr.sum(cr.relu(x) * 3.0))(x)

    (val, g), (e_val, e_g) = cr.jit(f)(_t(v)), f(_t(v))
    np.testing.assert_array_equal(np.asarray(val), np.asarray(e_val))
    np.testing.assert_array_equal(np.asarray(g), np.asarray(e_g))
    r, e = cr.jit(cr.relu)(_t(v)).numpy(), cr.relu(_t(v)).numpy()
    np.testing.assert_array_equal(r, e)
    np.testing.assert_array_equal(np.signbit(r), np.signbit(e))  # (-0.0 stays what eager gives)
    assert r.dtype == dtype


def test_relu_of_an_input_is_not_written_in_place() -> None:
    x = rng.normal(size=(100, 64))
    keep = x.copy()
    out = cr.jit(cr.relu)(cr.tensor(x))
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_array_equal(out.numpy(), np.maximum(keep, 0))


def test_int_relu_keeps_its_own_step() -> None:
    f = cr.jit(cr.relu)
    src = f.lower(_t(np.array([-1, 2]))).source()
    assert "relu(" in src
    np.testing.assert_array_equal(f(_t(np.array([-1, 2]))).numpy(), [0, 2])


def test_transpose_read_only_by_matmul_is_folded_into_it() -> None:
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))

    def f(a, b):
        return cr.matmul(cr.transpose(a), b), cr.matmul(b, cr.transpose(cr.matmul(cr.transpose(a), b)))

    src = cr.jit(f).lower(_t(a), _t(b)).source()
    assert "matmul_tn(" in src and "transpose" not in src
    for got, want in zip(cr.jit(f)(_t(a), _t(b)), f(_t(a), _t(b))):
        np.testing.assert_array_equal(got.numpy(), want.numpy())

    def g(a, b):  # the transpose is returned too: it stays
        at = cr.transpose(a)
        return cr.matmul(at, b), at

    src = cr.jit(g).lower(_t(a), _t(b)).source()
    assert "transpose(" in src and "matmul_tn" not in src
    got = cr.jit(g)(_t(a), _t(b))
    np.testing.assert_array_equal(got[1].numpy(), a.T)


def test_bias_gradient_sum_is_one_step() -> None:
    def f(x, b):
        return cr.grad(lambda b: cr.sum(cr.sin(x + b)))(b)

    x, b = rng.normal(size=(6, 3)), rng.normal(size=3)
    src = cr.jit(f).lower(_t(x), _t(b)).source()
    assert "sum_leading[axis=(0,)]" in src and "sum_to" not in src
    np.testing.assert_array_equal(cr.jit(f)(_t(x), _t(b)).numpy(), f(_t(x), _t(b)).numpy())


# ---------------------------------------------------------------- the step size folded into the loss gradient
def _mlp_loss(p, x, y):
    h = cr.relu(cr.matmul(x, p[0]) + p[1])
    return cr.cross_entropy(cr.matmul(h, p[2]) + p[3], y)


def _mlp_data(dtype):
    params = [rng.normal(size=(8, 16)) / 3, np.zeros(16), rng.normal(size=(16, 5)) / 4, np.zeros(5)]
    params = [cr.tensor(p.astype(dtype)) for p in params]
    return params, cr.tensor(rng.normal(size=(12, 8)).astype(dtype)), cr.tensor(rng.integers(0, 5, size=12))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_step_size_folds_into_the_gradient_scale(dtype) -> None:
    lr = dtype(0.05)

    def step(p, x, y):
        loss, g = cr.value_and_grad(_mlp_loss)(p, x, y)
        return loss, [w - lr * gi for w, gi in zip(p, g)]

    params, x, y = _mlp_data(dtype)
    lowered = cr.jit(step).lower(params, x, y)
    assert not _SCALAR_MUL.search(lowered.source().split("cross_entropy_and_grad")[1])  # (no lr * g left)
    assert "mul" in lowered.as_text()  # (the program itself keeps them)
    jstep = cr.jit(step)
    p_e, p_j = params, params
    tol = 2e-6 if dtype == np.float32 else 1e-14
    for _ in range(3):
        le, p_e = step(p_e, x, y)
        lj, p_j = jstep(p_j, x, y)
        np.testing.assert_allclose(lj.numpy(), le.numpy(), rtol=tol)
        for a, b in zip(p_j, p_e):
            assert a.numpy().dtype == dtype
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)


_SCALAR_MUL = re.compile(r"mul\((c\d+, v|v\d+, c)")


def _no_fold(step, dtype=np.float64):
    params, x, y = _mlp_data(dtype)
    lowered = cr.jit(step).lower(params, x, y)
    after = lowered.source().split("cross_entropy_and_grad")[1]
    got, want = cr.jit(step)(params, x, y), step(params, x, y)
    for a, b in zip(cr.tree_flatten(got)[0] if hasattr(cr, "tree_flatten") else _leaves(got), _leaves(want)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    return after


def _leaves(tree):
    from chainrule.transforms.pytree import flatten

    return flatten(tree)[0]


def test_no_fold_when_step_sizes_differ() -> None:
    def step(p, x, y):
        loss, g = cr.value_and_grad(_mlp_loss)(p, x, y)
        return loss, [w - (0.1 if i else 0.2) * gi for i, (w, gi) in enumerate(zip(p, g))]

    assert _SCALAR_MUL.search(_no_fold(step))


def test_no_fold_when_a_gradient_is_returned() -> None:
    def step(p, x, y):
        loss, g = cr.value_and_grad(_mlp_loss)(p, x, y)
        return loss, [w - 0.1 * gi for w, gi in zip(p, g)], g[3]

    assert _SCALAR_MUL.search(_no_fold(step))


def test_no_fold_when_a_gradient_is_used_nonlinearly() -> None:
    def step(p, x, y):  # (a per-parameter norm: g * g is not linear in the gradient)
        loss, g = cr.value_and_grad(_mlp_loss)(p, x, y)
        return loss, [w - 0.1 * gi - 0.01 * cr.sum(gi * gi) for w, gi in zip(p, g)]

    assert _SCALAR_MUL.search(_no_fold(step))


def test_no_fold_when_a_gradient_meets_an_unscaled_value() -> None:
    def step(p, x, y):  # (g + w is affine in g: a scale on g does not scale it)
        loss, g = cr.value_and_grad(_mlp_loss)(p, x, y)
        return loss, [w - 0.1 * (gi + w) for w, gi in zip(p, g)]

    assert _SCALAR_MUL.search(_no_fold(step))


# ---------------------------------------------------------------- the plain-call signature
def test_plain_calls_find_their_program_and_others_still_go_their_way() -> None:
    traces = []

    def f(p, x):
        traces.append(1)
        return cr.sum(p[0] * x) + cr.sum(p[1])

    jf = cr.jit(f)
    p = [cr.tensor([1.0, 2.0]), cr.tensor([3.0])]
    x = np.array([4.0, 5.0])
    assert float(jf(p, x)) == 17.0 and float(jf(p, x)) == 17.0 and len(traces) == 1
    assert float(jf(tuple(p), x)) == 17.0 and len(traces) == 2  # (a tuple is another structure)
    assert float(jf(p, np.array([1.0, 1.0, 1.0])[:2])) == 6.0 and len(traces) == 2
    assert float(jf(p, x.astype(np.float32))) == 17.0 and len(traces) == 3  # (another dtype)
    with cr.no_grad():
        assert float(jf(p, x)) == 17.0 and len(traces) == 4  # (grad mode is in the signature)
    # a tensor that requires grad: replayed through bind, so the gradient flows
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    out = jf([w, p[1]], x)
    out.backward()
    np.testing.assert_array_equal(w.grad.numpy(), x)
    assert cr.grad(lambda w: jf([w, p[1]], x))(cr.tensor([0.0, 0.0])).numpy().tolist() == [4.0, 5.0]
    jf.clear_cache()
    assert float(jf(p, x)) == 17.0 and len(traces) == 5


def test_two_losses_each_fold_their_own_step_size() -> None:
    def step(p, x, y, y2):  # (two models, two losses, two step sizes: each gradient keeps its own)
        loss_a, ga = cr.value_and_grad(_mlp_loss)(p[:4], x, y)
        loss_b, gb = cr.value_and_grad(_mlp_loss)(p[4:], x, y2)
        return loss_a + loss_b, [w - 0.1 * g for w, g in zip(p[:4], ga)] + [w - 0.3 * g for w, g in zip(p[4:], gb)]

    params, x, y = _mlp_data(np.float64)
    params = params + [cr.tensor(p.numpy() * 0.5) for p in params]
    args = (params, x, y, cr.tensor(y.numpy()[::-1].copy()))
    src = cr.jit(step).lower(*args).source()
    assert src.count("cross_entropy_and_grad") == 2 and not _SCALAR_MUL.search(src.split("cross_entropy_and_grad")[2])
    got, want = cr.jit(step)(*args), step(*args)
    for a, b in zip(_leaves(got), _leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-13, atol=1e-15)
