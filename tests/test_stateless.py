"""chainrule.nn.functional_call and stack_module_state: a module as a function of its
parameters, under grad, vmap and jvp."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def _linear(seed: int = 0) -> nn.Linear:
    return nn.Linear(3, 2, generator=seed)


def test_functional_call_uses_the_given_values_for_one_call_only() -> None:
    layer = _linear()
    w = np.arange(6.0).reshape(2, 3)
    b = np.array([1.0, -1.0])
    x = np.array([[1.0, 2.0, 3.0]])
    out = nn.functional_call(layer, {"weight": cr.tensor(w), "bias": cr.tensor(b)}, (cr.tensor(x),))
    np.testing.assert_allclose(out.numpy(), x @ w.T + b)
    # Only the weight given: the module's own bias; a single non-tuple argument; tuple of dicts.
    out = nn.functional_call(layer, {"weight": cr.tensor(w)}, cr.tensor(x))
    np.testing.assert_allclose(out.numpy(), x @ w.T + layer.bias.numpy())
    out = nn.functional_call(layer, ({"weight": cr.tensor(w)}, {"bias": cr.tensor(b)}), (cr.tensor(x),))
    np.testing.assert_allclose(out.numpy(), x @ w.T + b)
    # The module is unchanged afterwards.
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.shape == (2, 3)
    assert not np.array_equal(layer.weight.numpy(), w)


def test_functional_call_is_restored_after_an_error() -> None:
    layer = _linear()
    before = layer.weight
    with pytest.raises(ValueError):
        nn.functional_call(layer, {"weight": cr.ones(2, 3)}, (cr.ones(1, 5),))  # wrong input width
    assert layer.weight is before


def test_functional_call_nested_names_buffers_and_strict() -> None:
    model = nn.Sequential(nn.Linear(2, 2, generator=0), nn.BatchNorm1d(2))
    model.eval()
    values = {"0.weight": cr.eye(2), "0.bias": cr.zeros(2), "1.running_mean": cr.tensor([1.0, 2.0]),
              "1.running_var": cr.ones(2)}  # fmt: skip
    out = nn.functional_call(model, values, (cr.tensor([[3.0, 5.0]]),))
    gamma, beta = model[1].weight.numpy(), model[1].bias.numpy()
    np.testing.assert_allclose(out.numpy(), (np.array([[3.0, 5.0]]) - [1.0, 2.0]) / np.sqrt(1 + 1e-5) * gamma + beta)
    with pytest.raises(RuntimeError, match="missing"):
        nn.functional_call(model, {"0.weight": cr.eye(2)}, (cr.ones(1, 2),), strict=True)
    with pytest.raises(AttributeError, match="no sub-module '7'"):
        nn.functional_call(model, {"7.weight": cr.eye(2)}, (cr.ones(1, 2),))
    with pytest.raises(ValueError, match="more than one"):
        nn.functional_call(model, ({"0.bias": cr.zeros(2)}, {"0.bias": cr.zeros(2)}), (cr.ones(1, 2),))
    with pytest.raises(TypeError, match="dict"):
        nn.functional_call(model, [cr.zeros(2)], (cr.ones(1, 2),))


def test_tied_weights_are_replaced_together() -> None:
    model = nn.Sequential(nn.Linear(2, 2, generator=0), nn.Linear(2, 2, generator=1))
    model[1].weight = model[0].weight
    x = cr.tensor([[1.0, 2.0]])
    given = {"0.weight": cr.eye(2) * 2.0}
    tied = nn.functional_call(model, given, (x,)).numpy()
    untied = nn.functional_call(model, given, (x,), tie_weights=False).numpy()
    b0, b1, w = model[0].bias.numpy(), model[1].bias.numpy(), model[0].weight.numpy()
    np.testing.assert_allclose(tied, ((x.numpy() * 2 + b0) * 2) + b1)
    np.testing.assert_allclose(untied, (x.numpy() * 2 + b0) @ w.T + b1)


def test_gradients_per_example_and_jvp_through_functional_call() -> None:
    layer = _linear()
    params = {k: v.detach() for k, v in layer.named_parameters()}
    xs = cr.tensor(np.random.default_rng(0).standard_normal((4, 3)))

    def loss(p, x):
        return (nn.functional_call(layer, p, (x,)) ** 2).sum()

    per_example = cr.vmap(cr.grad(loss), (None, 0))(params, xs)
    w, b = params["weight"].numpy(), params["bias"].numpy()
    for i, x in enumerate(xs.numpy()):
        y = w @ x + b  # loss = |y|^2: dW = 2 y x^T, db = 2 y
        np.testing.assert_allclose(per_example["weight"].numpy()[i], 2 * np.outer(y, x))
        np.testing.assert_allclose(per_example["bias"].numpy()[i], 2 * y)
    tangents = {"weight": cr.ones(2, 3), "bias": cr.zeros(2)}
    _, t = cr.jvp(lambda p: nn.functional_call(layer, p, (xs,)), (params,), (tangents,))
    np.testing.assert_allclose(t.numpy(), np.repeat(xs.numpy().sum(1, keepdims=True), 2, axis=1))


def test_stack_module_state() -> None:
    models = [_linear(seed) for seed in range(3)]
    params, buffers = nn.stack_module_state(models)
    assert buffers == {}
    assert params["weight"].shape == (3, 2, 3) and params["bias"].shape == (3, 2)
    for i, m in enumerate(models):
        np.testing.assert_array_equal(params["weight"].numpy()[i], m.weight.numpy())
    assert params["weight"].requires_grad and params["weight"].is_leaf
    # An ensemble as one vmapped call.
    x = cr.ones(1, 3)
    out = cr.vmap(lambda p: nn.functional_call(models[0], p, (x,)))(params)
    for i, m in enumerate(models):
        np.testing.assert_allclose(out.numpy()[i], m(x).numpy())
    bn = [nn.BatchNorm1d(2), nn.BatchNorm1d(2)]
    _, buffers = nn.stack_module_state(bn)
    assert buffers["running_mean"].shape == (2, 2)
    with pytest.raises(RuntimeError, match="at least one"):
        nn.stack_module_state([])
    with pytest.raises(RuntimeError, match="same class"):
        nn.stack_module_state([_linear(), nn.ReLU()])
