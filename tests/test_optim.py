"""chainrule.optim: every optimizer checked step by step against its written update formula.

The reference updates below are written out element by element from the formulas (PyTorch's
documented algorithms), independently of the vectorised implementations they check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.core import dispatch

# A tiny least-squares problem: loss(w) = sum((X w - y)^2), gradient 2 Xᵀ(X w - y).
X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.3]])
Y = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.3, -0.7])
STEPS = 6


def grad_of(w):
    r = [sum(X[i, j] * w[j] for j in range(2)) - Y[i] for i in range(3)]
    return [2.0 * sum(X[i, j] * r[i] for i in range(3)) for j in range(2)]


def run_chainrule(make_optimizer, steps=STEPS):
    w = cr.tensor(W0.copy(), requires_grad=True)
    opt = make_optimizer([w])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((cr.tensor(X) @ w - cr.tensor(Y)) ** 2).sum()
        loss.backward()
        opt.step()
        trajectory.append(w.numpy().copy())
    return np.array(trajectory)


def reference_sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    w = list(W0)
    buf = None
    out = []
    for _ in range(STEPS):
        g = grad_of(w)
        g = [g[j] + weight_decay * w[j] for j in range(2)]
        if momentum:
            if buf is None:
                buf = list(g)
            else:
                buf = [momentum * buf[j] + (1 - dampening) * g[j] for j in range(2)]
            d = [g[j] + momentum * buf[j] for j in range(2)] if nesterov else list(buf)
        else:
            d = g
        w = [w[j] - lr * d[j] for j in range(2)]
        out.append(list(w))
    return np.array(out)


def reference_adam(lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    w = list(W0)
    m = [0.0, 0.0]
    v = [0.0, 0.0]
    vmax = [0.0, 0.0]
    out = []
    for t in range(1, STEPS + 1):
        g = grad_of(w)
        if decoupled:
            w = [w[j] * (1 - lr * weight_decay) for j in range(2)]
        else:
            g = [g[j] + weight_decay * w[j] for j in range(2)]
        m = [beta1 * m[j] + (1 - beta1) * g[j] for j in range(2)]
        v = [beta2 * v[j] + (1 - beta2) * g[j] ** 2 for j in range(2)]
        m_hat = [m[j] / (1 - beta1**t) for j in range(2)]
        if amsgrad:
            vmax = [max(vmax[j], v[j]) for j in range(2)]
            v_used = vmax
        else:
            v_used = v
        v_hat = [v_used[j] / (1 - beta2**t) for j in range(2)]
        w = [w[j] - lr * m_hat[j] / (math.sqrt(v_hat[j]) + eps) for j in range(2)]
        out.append(list(w))
    return np.array(out)


def reference_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    w = list(W0)
    s = [0.0, 0.0]
    gbar = [0.0, 0.0]
    buf = [0.0, 0.0]
    out = []
    for _ in range(STEPS):
        g = grad_of(w)
        g = [g[j] + weight_decay * w[j] for j in range(2)]
        s = [alpha * s[j] + (1 - alpha) * g[j] ** 2 for j in range(2)]
        if centered:
            gbar = [alpha * gbar[j] + (1 - alpha) * g[j] for j in range(2)]
            avg = [math.sqrt(s[j] - gbar[j] ** 2) + eps for j in range(2)]
        else:
            avg = [math.sqrt(s[j]) + eps for j in range(2)]
        if momentum > 0:
            buf = [momentum * buf[j] + g[j] / avg[j] for j in range(2)]
            w = [w[j] - lr * buf[j] for j in range(2)]
        else:
            w = [w[j] - lr * g[j] / avg[j] for j in range(2)]
        out.append(list(w))
    return np.array(out)


SGD_CASES = [
    {"lr": 0.05},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.8, "dampening": 0.3},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1},
]


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_sgd_matches_its_update_formula_step_by_step(kwargs):
    got = run_chainrule(lambda ps: optim.SGD(ps, **kwargs))
    np.testing.assert_allclose(got, reference_sgd(**kwargs), rtol=1e-12, atol=1e-14)


ADAM_CASES = [
    {"lr": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6},
    {"lr": 0.1, "weight_decay": 0.2},
    {"lr": 0.1, "amsgrad": True},
]


def _adam_reference_kwargs(kwargs):
    ref = {k: v for k, v in kwargs.items() if k != "betas"}
    if "betas" in kwargs:
        ref["beta1"], ref["beta2"] = kwargs["betas"]
    return ref


@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_adam_matches_its_update_formula_step_by_step(kwargs):
    got = run_chainrule(lambda ps: optim.Adam(ps, **kwargs))
    np.testing.assert_allclose(got, reference_adam(**_adam_reference_kwargs(kwargs)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [{"lr": 0.1}, {"lr": 0.1, "weight_decay": 0.5, "amsgrad": True}],
                         ids=["default-decay", "decay-amsgrad"])  # fmt: skip
def test_adamw_decouples_weight_decay(kwargs):
    got = run_chainrule(lambda ps: optim.AdamW(ps, **kwargs))
    ref = _adam_reference_kwargs(kwargs)
    ref.setdefault("weight_decay", 1e-2)
    np.testing.assert_allclose(got, reference_adam(decoupled=True, **ref), rtol=1e-12, atol=1e-14)
    # Decoupled decay differs from L2 added to the gradient.
    coupled = reference_adam(**ref)
    assert not np.allclose(got, coupled)


RMSPROP_CASES = [
    {"lr": 0.01},
    {"lr": 0.01, "alpha": 0.9, "centered": True},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "weight_decay": 0.1, "momentum": 0.5, "centered": True},
]


@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_rmsprop_matches_its_update_formula_step_by_step(kwargs):
    got = run_chainrule(lambda ps: optim.RMSprop(ps, **kwargs))
    np.testing.assert_allclose(got, reference_rmsprop(**kwargs), rtol=1e-12, atol=1e-14)


def test_first_sgd_step_by_hand():
    # Written out: grad at W0 is 2 Xᵀ(X W0 - Y); one plain step moves W0 by -lr * grad.
    residual = X @ W0 - Y
    grad = 2 * X.T @ residual
    got = run_chainrule(lambda ps: optim.SGD(ps, lr=0.01), steps=1)[0]
    np.testing.assert_allclose(got, W0 - 0.01 * grad, rtol=1e-14)


OPTIMIZERS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.AdamW(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.1),
]


@pytest.mark.parametrize("make", OPTIMIZERS, ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_updates_are_in_place_unrecorded_and_bump_the_version(make, monkeypatch):
    model = nn.Linear(3, 2, generator=0)
    opt = make(model.parameters())
    model(cr.ones(4, 3)).sum().backward()
    arrays = [p.numpy() for p in model.parameters()]
    versions = [p._version for p in model.parameters()]
    before = [a.copy() for a in arrays]
    recorded = []
    original = dispatch._record
    monkeypatch.setattr(dispatch, "_record", lambda *a, **k: recorded.append(a[0].name) or original(*a, **k))
    assert cr.is_grad_enabled()
    opt.step()  # outside no_grad: the optimizer must not record anything nor raise
    assert recorded == []
    for p, array, old, version in zip(model.parameters(), arrays, before, versions):
        assert p.grad_fn is None and p.is_leaf and p.requires_grad
        assert p.numpy() is array  # same buffer, updated in place
        assert not np.array_equal(array, old)
        assert p._version == version + 1
    assert cr.is_grad_enabled()


def test_parameters_without_gradients_are_left_alone():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    np.testing.assert_array_equal(b.numpy(), [3.0])
    assert b._version == 0
    assert a in opt.state and b not in opt.state and opt.state[a]["step"] == 1
    assert not np.array_equal(a.numpy(), [1.0, 2.0])


def test_parameter_groups_use_their_own_settings():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a * 1.0 + b * 1.0).sum().backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), [0.9])
    np.testing.assert_allclose(b.numpy(), [0.5])
    with pytest.raises(ValueError, match="more than one group"):
        opt.add_param_group({"params": [a]})


def test_zero_grad_and_closure():
    w = cr.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 4.0
    np.testing.assert_allclose(w.numpy(), [1.0])
    opt.zero_grad()
    assert w.grad is None
    (w * w).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1, -float("inf")])
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop])
def test_non_finite_or_negative_learning_rates_are_rejected(cls, bad):
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="learning rate"):
        cls([w], lr=bad)
    with pytest.raises(ValueError, match="learning rate"):
        cls([{"params": [w], "lr": bad}], lr=0.1)


def test_invalid_settings_and_parameters_are_reported():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="beta1"):
        optim.Adam([w], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([w], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of tensors"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD([np.ones(2)], lr=0.1)


def test_state_dict_round_trip_through_a_file_continues_identically(tmp_path):
    def fresh():
        return nn.Sequential(nn.Linear(3, 4, generator=1), nn.Tanh(), nn.Linear(4, 1, generator=2))

    x, y = cr.tensor(np.linspace(-1, 1, 15).reshape(5, 3)), cr.tensor(np.arange(5.0).reshape(5, 1))

    def step(model, opt):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    for make in OPTIMIZERS:
        a = fresh()
        opt_a = make(a.parameters())
        for _ in range(3):
            step(a, opt_a)
        path = nn.save({"model": a, "optimizer": opt_a}, tmp_path / "ckpt.npz")
        state = nn.load(path)
        b = fresh()
        b.load_state_dict(state["model"])
        opt_b = make(b.parameters())
        opt_b.load_state_dict(state["optimizer"])
        assert opt_b.state_dict()["param_groups"] == opt_a.state_dict()["param_groups"]
        for _ in range(2):
            step(a, opt_a)
            step(b, opt_b)
        for pa, pb in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(pa.numpy(), pb.numpy())


def test_load_state_dict_rejects_mismatches_with_clear_messages():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    state = opt.state_dict()
    bad = {"state": {0: {**state["state"][0], "exp_avg": np.zeros(3)}}, "param_groups": state["param_groups"]}
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(3,\)"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="parameter group"):
        opt.load_state_dict({"state": {}, "param_groups": state["param_groups"] * 2})
    tampered = {"state": {}, "param_groups": [{**state["param_groups"][0], "lr": float("nan")}]}
    with pytest.raises(ValueError, match="learning rate"):
        opt.load_state_dict(tampered)
    with pytest.raises(ValueError, match="only 1 parameter"):
        opt.load_state_dict({"state": {5: {"step": 1}}, "param_groups": state["param_groups"]})


# ---------------------------------------------------------------- schedules
def _lrs(scheduler, epochs):
    out = []
    for _ in range(epochs):
        out.append(scheduler.get_last_lr()[0])
        scheduler.step()
    return out


def _opt(lr=0.8):
    return optim.SGD([cr.tensor([0.0], requires_grad=True)], lr=lr)


def test_step_exponential_and_cosine_schedules_follow_their_formulas():
    np.testing.assert_allclose(_lrs(optim.StepLR(_opt(), step_size=3, gamma=0.5), 8),
                               [0.8 * 0.5 ** (e // 3) for e in range(8)])  # fmt: skip
    np.testing.assert_allclose(_lrs(optim.ExponentialLR(_opt(), gamma=0.9), 6), [0.8 * 0.9**e for e in range(6)])
    cosine = _lrs(optim.CosineAnnealingLR(_opt(), T_max=4, eta_min=0.1), 5)
    np.testing.assert_allclose(cosine, [0.1 + 0.7 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)])
    assert cosine[-1] == pytest.approx(0.1)


def test_schedules_drive_the_optimizer_and_every_group():
    a = cr.tensor([0.0], requires_grad=True)
    b = cr.tensor([0.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    sched = optim.ExponentialLR(opt, gamma=0.5)
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.5]
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.5]
    saved = sched.state_dict()
    sched.step()
    sched.load_state_dict(saved)
    assert sched.last_epoch == 1
    with pytest.raises(ValueError, match="step_size"):
        optim.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        optim.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="gamma"):
        optim.ExponentialLR(opt, gamma=float("nan"))
