"""checkpoint / remat: the forward keeps only the inputs, the backward recomputes; the gradients
are those of the plain function at every order and under every transform."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import chainrule as cr

RNG = np.random.default_rng(7)
W1 = RNG.normal(size=(4, 6)) * 0.5
W2 = RNG.normal(size=(6, 4)) * 0.5


def _net(checkpointed: bool, params: tuple[cr.Tensor, cr.Tensor], blocks: int = 3):
    """A residual MLP whose blocks close over their weights (the usual way to checkpoint)."""
    w1, w2 = params

    def block(h):
        return h + cr.tanh(h @ w1) @ w2

    step = cr.checkpoint(block) if checkpointed else block

    def net(x):
        h = x
        for _ in range(blocks):
            h = step(h)
        return cr.sum(h * h)

    return net


def _params() -> tuple[cr.Tensor, cr.Tensor]:
    return cr.tensor(W1, requires_grad=True), cr.tensor(W2, requires_grad=True)


X = RNG.normal(size=(3, 4))


def test_first_order_gradients_match_for_inputs_and_closed_over_weights() -> None:
    results = []
    for checkpointed in (False, True):
        params = _params()
        x = cr.tensor(X, requires_grad=True)
        _net(checkpointed, params)(x).backward()
        results.append([x.grad.numpy(), params[0].grad.numpy(), params[1].grad.numpy()])
    for plain, ckpt in zip(*results):
        np.testing.assert_allclose(ckpt, plain, rtol=1e-12, atol=1e-12)


def test_the_function_runs_again_in_the_backward_pass_only() -> None:
    calls = {"n": 0}

    def f(x):
        calls["n"] += 1
        return cr.sin(cr.sin(x))

    g = cr.checkpoint(f)
    x = cr.tensor(0.5, requires_grad=True)
    y = g(x)
    assert calls["n"] == 1
    y.backward()
    assert calls["n"] == 2
    np.testing.assert_allclose(float(x.grad), np.cos(np.sin(0.5)) * np.cos(0.5))
    g(cr.tensor(0.5))  # nothing differentiated: one plain call, no recomputation to prepare
    with cr.no_grad():
        g(x)
    assert calls["n"] == 4


def test_second_order_hessian_and_hvp_match() -> None:
    outs = []
    for checkpointed in (False, True):
        params = _params()
        net = _net(checkpointed, params)
        x = cr.tensor(X, requires_grad=True)
        (gx,) = cr.autograd.grad(net(x), x, create_graph=True)
        (gw,) = cr.autograd.grad(cr.sum(gx * gx), params[0])
        hess = cr.hessian(lambda v, net=net: net(cr.reshape(v, (3, 4))))(cr.tensor(X.reshape(12)))
        hv = cr.hvp(net, (cr.tensor(X),), (cr.ones((3, 4)),))
        jac = cr.jacrev(cr.grad(net))(cr.tensor(X))
        outs.append([gx.numpy(), gw.numpy(), hess.numpy(), hv.numpy(), jac.numpy()])
    for plain, ckpt in zip(*outs):
        np.testing.assert_allclose(ckpt, plain, rtol=1e-10, atol=1e-10)


def test_tapes_and_vmap() -> None:
    outs = []
    for checkpointed in (False, True):
        v1, v2 = cr.Variable(W1), cr.Variable(W2)
        net = _net(checkpointed, (v1, v2))
        with cr.GradientTape() as tape:
            y = net(cr.constant(X))
        per_example = cr.vmap(cr.grad(net))(cr.tensor(X.reshape(3, 1, 4)))
        outs.append([tape.gradient(y, v1).numpy(), per_example.numpy()])
    for plain, ckpt in zip(*outs):
        np.testing.assert_allclose(ckpt, plain, rtol=1e-12, atol=1e-12)


def _traced_growth(fn) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        keep = fn()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del keep
    return after - before


def test_the_forward_keeps_only_the_inputs() -> None:
    n = 200_000
    x = cr.tensor(RNG.normal(size=n), requires_grad=True)

    def chain(v):
        # Each sin keeps its input for the backward pass: x (which exists) and 3 new arrays.
        return cr.sin(cr.sin(cr.sin(cr.sin(v))))

    array = n * 8
    plain = _traced_growth(lambda: chain(x)) / array
    ckpt = _traced_growth(lambda: cr.checkpoint(chain)(x)) / array
    # Plain: the output plus 3 saved arrays; checkpointed: the output only.
    assert 3.9 < plain < 4.1 and 0.9 < ckpt < 1.1, (plain, ckpt)
    y = cr.checkpoint(chain)(x)
    y.sum().backward()
    s1 = np.sin(x.numpy())
    s2 = np.sin(s1)
    s3 = np.sin(s2)
    np.testing.assert_allclose(x.grad.numpy(), np.cos(s3) * np.cos(s2) * np.cos(s1) * np.cos(x.numpy()))


def test_random_numbers_repeat_in_the_recomputation() -> None:
    def noisy(v):
        return cr.sum(cr.dropout(v, p=0.5) * v)

    x = cr.tensor(np.linspace(1.0, 2.0, 50), requires_grad=True)
    cr.random.seed(3)
    y = cr.checkpoint(noisy)(x)
    y.backward()
    cr.random.seed(3)
    mask = cr.dropout(cr.ones(50), p=0.5).numpy()  # the same draw as the forward's
    np.testing.assert_allclose(x.grad.numpy(), 2 * mask * x.numpy())
    assert 0 < (mask == 0).sum() < 50


def test_retain_graph_and_a_second_backward() -> None:
    x = cr.tensor([0.3, 0.9], requires_grad=True)
    y = cr.checkpoint(lambda v: cr.sum(cr.exp(v) * v))(x)
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_an_input_changed_in_place_before_the_backward_is_an_error() -> None:
    x = cr.tensor([0.3, 0.9], requires_grad=True)
    h = x * 1.0
    y = cr.checkpoint(lambda v: cr.sum(cr.sin(v)))(h)
    with cr.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"checkpoint\(<lambda>\): a tensor the checkpointed call read .* modified by an in-place operation"):
        y.backward()


def test_a_function_that_changes_its_path_is_an_error() -> None:
    state = {"calls": 0}

    def moody(v):
        state["calls"] += 1
        return cr.sin(v) if state["calls"] == 1 else cr.cos(v)

    x = cr.tensor(0.5, requires_grad=True)
    y = cr.checkpoint(moody)(x)
    with pytest.raises(RuntimeError, match=r"checkpoint\(moody\): recomputing the function .* took a different path"):
        y.backward()


def test_remat_static_argnums_and_policy() -> None:
    assert cr.remat is cr.checkpoint
    f = cr.remat(lambda v, n: v**n, static_argnums=(1,))
    assert float(cr.grad(f)(2.0, 3)) == 12.0
    with pytest.raises(NotImplementedError, match="policy"):
        cr.checkpoint(lambda v: v, policy=lambda *a: True)
    with pytest.raises(TypeError, match="expected a function"):
        cr.checkpoint(3)


def test_custom_rules_inside_a_checkpointed_call() -> None:
    @cr.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (cr.clip(g, -1.0, 1.0),))

    @cr.custom_jvp
    def log1pexp(x):
        return cr.log(1.0 + cr.exp(x))

    log1pexp.defjvp(lambda p, t: (log1pexp(p[0]), (1.0 - 1.0 / (1.0 + cr.exp(p[0]))) * t[0]))

    def f(x):
        return cr.sum(5.0 * clip_gradient(cr.sin(x)) + log1pexp(x))

    x0 = np.array([0.3, -0.8])
    want = np.cos(x0) * 1.0 + 1.0 / (1.0 + np.exp(-x0))  # the clipped 5 is 1, times cos
    for g in (cr.grad(f)(cr.tensor(x0)), cr.grad(cr.checkpoint(f))(cr.tensor(x0))):
        np.testing.assert_allclose(g.numpy(), want)
