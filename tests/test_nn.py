"""chainrule.nn: Parameter, Module mechanics, every layer and loss gradchecked, initialisers."""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.testing import gradcheck, gradgradcheck


# ---------------------------------------------------------------- helpers
@contextlib.contextmanager
def swapped_parameters(module, names, tensors):
    """Temporarily make ``module``'s parameters the given tensors (the gradcheck inputs)."""
    saved = []
    for name, tensor in zip(names, tensors):
        owner = module
        *path, leaf = name.split(".")
        for part in path:
            owner = owner._modules[part]
        saved.append((owner, leaf, owner._parameters[leaf]))
        owner._parameters[leaf] = tensor
    try:
        yield
    finally:
        for owner, leaf, value in saved:
            owner._parameters[leaf] = value


def check_module(module, x, second_order=False, atol=1e-5):
    """Gradcheck ``module(x)`` with respect to the input and every parameter."""
    names = [name for name, _ in module.named_parameters()]
    values = [p.numpy().copy() for _, p in module.named_parameters()]

    def f(inp, *params):
        with swapped_parameters(module, names, params):
            return module(inp)

    assert gradcheck(f, [x, *values], atol=atol)
    if second_order:
        assert gradgradcheck(f, [x, *values], atol=atol)


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_that_requires_grad_and_prints_its_kind():
    p = nn.Parameter(cr.zeros(2, 3))
    assert isinstance(p, cr.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    text = repr(p)
    assert text.startswith("Parameter containing:\ntensor(")
    assert "requires_grad=True" in text


def test_parameter_shares_the_array_of_a_tensor_and_copies_other_data():
    t = cr.ones(3)
    p = nn.Parameter(t)
    assert p.numpy() is t.numpy()
    data = np.ones(3)
    q = nn.Parameter(data)
    data[0] = 5.0
    assert q.numpy()[0] == 1.0


def test_parameter_rejects_integer_data_with_a_clear_message():
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.arange(3))
    frozen = nn.Parameter(np.arange(3), requires_grad=False)
    assert not frozen.requires_grad


def test_ops_on_parameters_give_plain_tensors_with_history():
    p = nn.Parameter(cr.ones(2))
    y = p * 2
    assert type(y) is cr.Tensor
    assert y.grad_fn is not None


# ---------------------------------------------------------------- Module mechanics
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 4, generator=0)
        self.scale = nn.Parameter(cr.ones(4))
        self.act = nn.Tanh()
        self.second = nn.Linear(4, 2, generator=1)
        self.register_buffer("calls", cr.zeros(1))
        self.register_buffer("scratch", cr.zeros(2), persistent=False)
        self.note = "not registered"

    def forward(self, x):
        return self.second(self.act(self.first(x) * self.scale))


def test_parameters_are_registered_in_assignment_order_with_dotted_names():
    m = Block()
    names = [name for name, _ in m.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "second.weight", "second.bias"]
    assert len(list(m.parameters())) == 5
    assert [name for name, _ in m.named_children()] == ["first", "act", "second"]
    assert [name for name, _ in m.named_modules()] == ["", "first", "act", "second"]
    assert m.note == "not registered"
    assert m.num_parameters() == 4 + 3 * 4 + 4 + 4 * 2 + 2


def test_a_shared_parameter_is_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_assignment_rules_give_clear_errors():
    m = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = cr.ones(4)
    with pytest.raises(TypeError, match="buffer 'calls'"):
        m.calls = np.zeros(1)
    m.scale = None
    assert "scale" not in dict(m.named_parameters())

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cr.zeros(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = m.missing
    with pytest.raises(ValueError, match="without '.'"):
        m.register_buffer("a.b", cr.zeros(1))


def test_reassigning_a_name_moves_it_between_kinds():
    m = nn.Module()
    m.thing = nn.Parameter(cr.zeros(1))
    m.thing = nn.ReLU()
    assert list(m.named_parameters()) == [] and list(m.named_children())[0][0] == "thing"
    del m.thing
    assert list(m.named_children()) == []


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(cr.zeros(1))


def test_zero_grad_sets_grads_to_none_or_zeros():
    m = Block()
    m(cr.ones(2, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    assert all(mod.training for mod in model.modules())
    assert model.eval() is model
    assert not any(mod.training for mod in model.modules())
    model.train()
    assert all(mod.training for mod in model.modules())
    with pytest.raises(TypeError):
        model.train("yes")


def test_state_dict_holds_parameters_and_persistent_buffers_sharing_memory():
    m = Block()
    sd = m.state_dict()
    assert list(sd) == ["scale", "calls", "first.weight", "first.bias", "second.weight", "second.bias"]
    assert all(not t.requires_grad for t in sd.values())
    assert np.shares_memory(sd["first.weight"].numpy(), m.first.weight.numpy())


def test_load_state_dict_round_trips_and_rejects_mismatches_without_changing_anything():
    a, b = Block(), Block()
    with cr.no_grad():
        b.scale.mul_(3.0)
    result = a.load_state_dict(b.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (_, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
    version = a.scale._version

    before = {k: v.numpy().copy() for k, v in a.state_dict().items()}
    bad = {k: v.numpy() for k, v in Block().state_dict().items()}
    bad["first.weight"] = np.zeros((5, 3))
    del bad["second.bias"]
    bad["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as info:
        a.load_state_dict(bad)
    message = str(info.value)
    assert "size mismatch for 'first.weight'" in message and "(5, 3)" in message and "(4, 3)" in message
    assert "missing key(s)" in message and "'second.bias'" in message
    assert "unexpected key(s)" in message and "'extra'" in message
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert a.scale._version == version

    del bad["extra"]
    bad["first.weight"] = np.zeros((4, 3))
    result = a.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["second.bias"]
    assert not a.first.weight.numpy().any()
    with pytest.raises(RuntimeError, match="size mismatch"):
        a.load_state_dict({"first.weight": np.zeros(3)}, strict=False)
    with pytest.raises(TypeError, match="mapping"):
        a.load_state_dict([1, 2])


def test_module_repr_matches_the_familiar_layout():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1, bias=False), nn.Sigmoid()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=3, out_features=1, bias=False)\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Conv2d(1, 2, 3, stride=2, padding=1)) == (
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    )
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"


def test_module_to_float32_converts_parameters_and_buffers():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).to(np.float32)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert model[1].running_mean.dtype == np.float32
    assert model[1].num_batches_tracked.dtype == np.int64
    assert model(cr.ones(3, 2, dtype="float32")).dtype == np.float32
    with pytest.raises(TypeError):
        model.to(np.int32)


def test_sequential_indexing_slicing_and_length():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(model) == 3
    assert isinstance(model[-1], nn.Linear) and model[-1] is model[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    assert list(model) == [model[0], model[1], model[2]]
    with pytest.raises(IndexError, match="out of range"):
        model[3]
    with pytest.raises(TypeError):
        nn.Sequential(nn.ReLU(), "relu")
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]


# ---------------------------------------------------------------- layers
def test_linear_follows_pytorch_shapes_and_initial_range():
    layer = nn.Linear(50, 7, generator=3)
    assert layer.weight.shape == (7, 50) and layer.bias.shape == (7,)
    bound = 1 / math.sqrt(50)
    for p in layer.parameters():
        assert np.abs(p.numpy()).max() <= bound
    # Uniform on [-b, b] has standard deviation b/sqrt(3): check the draw is not degenerate.
    assert abs(layer.weight.numpy().std() - bound / math.sqrt(3)) < 0.1 * bound
    x = rng().normal(size=(4, 50))
    np.testing.assert_allclose(layer(cr.tensor(x)).numpy(), x @ layer.weight.numpy().T + layer.bias.numpy())
    assert nn.Linear(3, 2, bias=False).bias is None
    with pytest.raises(ValueError, match="last dimension 50"):
        layer(cr.ones(2, 3))
    with pytest.raises(ValueError, match="positive integer"):
        nn.Linear(0, 3)


def test_layers_are_reproducible_with_the_same_generator_seed():
    a, b = nn.Linear(4, 3, generator=7), nn.Linear(4, 3, generator=7)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    cr.random.seed(11)
    c = nn.Linear(4, 3)
    cr.random.seed(11)
    d = nn.Linear(4, 3)
    np.testing.assert_array_equal(c.weight.numpy(), d.weight.numpy())


def test_linear_gradcheck_first_and_second_order():
    check_module(nn.Linear(3, 2, generator=0), rng().normal(size=(2, 3)), second_order=True)


def test_conv2d_gradcheck_and_forward_against_a_direct_loop():
    conv = nn.Conv2d(2, 2, 2, stride=1, padding=1, generator=0)
    x = rng().normal(size=(1, 2, 3, 3))
    out = conv(cr.tensor(x)).numpy()
    w, b = conv.weight.numpy(), conv.bias.numpy()
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros((1, 2, 4, 4))
    for o in range(2):
        for i in range(4):
            for j in range(4):
                expected[0, o, i, j] = (padded[0, :, i : i + 2, j : j + 2] * w[o]).sum() + b[o]
    np.testing.assert_allclose(out, expected, atol=1e-12)
    check_module(nn.Conv2d(1, 2, 2, generator=1), rng(1).normal(size=(1, 1, 3, 3)))
    with pytest.raises(ValueError, match="NCHW"):
        conv(cr.ones(2, 3, 3))


def test_pooling_flatten_and_their_gradients():
    x = rng(2).permutation(16).reshape(1, 1, 4, 4).astype(np.float64)
    out = nn.MaxPool2d(2)(cr.tensor(x)).numpy()
    np.testing.assert_array_equal(out[0, 0], x[0, 0].reshape(2, 2, 2, 2).max(axis=(1, 3)))
    check_module(nn.MaxPool2d(2), x)
    check_module(nn.AvgPool2d(2), x)
    check_module(nn.Flatten(), rng().normal(size=(2, 2, 2)))
    assert nn.Flatten()(cr.zeros(5, 2, 3, 4)).shape == (5, 24)
    assert nn.Flatten(0)(cr.zeros(5, 2)).shape == (10,)


@pytest.mark.parametrize(
    "module", [nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.GELU(), nn.Softmax(dim=1), nn.LogSoftmax(dim=0),
               nn.LeakyReLU(0.2), nn.Identity()],
    ids=lambda m: type(m).__name__,
)  # fmt: skip
def test_activation_modules_match_numpy_and_gradcheck(module):
    x = np.array([[-1.3, 0.4, 2.1], [0.7, -0.2, -2.5]])
    check_module(module, x)
    y = module(cr.tensor(x)).numpy()
    name = type(module).__name__
    reference = {
        "ReLU": np.maximum(x, 0),
        "Tanh": np.tanh(x),
        "Sigmoid": 1 / (1 + np.exp(-x)),
        "GELU": 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
        "Softmax": np.exp(x) / np.exp(x).sum(axis=1, keepdims=True),
        "LogSoftmax": x - np.log(np.exp(x).sum(axis=0, keepdims=True)),
        "LeakyReLU": np.where(x > 0, x, 0.2 * x),
        "Identity": x,
    }[name]
    np.testing.assert_allclose(y, reference, rtol=1e-12, atol=1e-12)


def test_dropout_zeroes_and_rescales_in_training_and_is_identity_in_eval():
    layer = nn.Dropout(0.25, generator=0)
    x = cr.ones(1000)
    y = layer(x).numpy()
    kept = y != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)

    drop = nn.Dropout(0.5)

    def f(inp):
        drop.generator = np.random.default_rng(3)  # the same mask on every evaluation
        return drop(inp)

    assert gradcheck(f, [rng().normal(size=(2, 3))])


def test_batchnorm1d_training_statistics_running_averages_and_eval_mode():
    bn = nn.BatchNorm1d(3)
    x = rng(4).normal(loc=2.0, scale=3.0, size=(8, 3))
    y = bn(cr.tensor(x)).numpy()
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * x.var(axis=0, ddof=1))
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    z = bn(cr.tensor(x)).numpy()
    expected = (x - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + 1e-5)
    np.testing.assert_allclose(z, expected, atol=1e-12)
    assert int(bn.num_batches_tracked) == 1
    # (N, C, L) input normalises over the batch and length axes.
    x3 = rng(5).normal(size=(4, 2, 3))
    y3 = nn.BatchNorm1d(2)(cr.tensor(x3)).numpy()
    np.testing.assert_allclose(y3.mean(axis=(0, 2)), 0, atol=1e-12)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        bn(cr.ones(4, 2))


def test_batchnorm1d_gradcheck_in_training_and_eval():
    bn = nn.BatchNorm1d(2)
    with cr.no_grad():
        bn.weight.copy_(cr.tensor([1.5, 0.5]))
        bn.bias.copy_(cr.tensor([0.1, -0.2]))
    x = rng(6).normal(size=(4, 2))
    check_module(bn, x)
    bn.eval()
    check_module(bn, x)


# ---------------------------------------------------------------- losses
def _loss_check(loss_module, pred, target):
    target_t = cr.tensor(target)
    assert gradcheck(lambda p: loss_module(p, target_t), [pred])


def test_mse_and_l1_losses_values_reductions_and_gradients():
    pred, target = rng().normal(size=(3, 2)), rng(1).normal(size=(3, 2))
    diff = pred - target
    for reduction, fn in (("mean", np.mean), ("sum", np.sum), ("none", lambda a: a)):
        mse = nn.MSELoss(reduction=reduction)(cr.tensor(pred), cr.tensor(target)).numpy()
        l1 = nn.L1Loss(reduction=reduction)(cr.tensor(pred), cr.tensor(target)).numpy()
        np.testing.assert_allclose(mse, fn(diff**2))
        np.testing.assert_allclose(l1, fn(np.abs(diff)))
        _loss_check(nn.MSELoss(reduction=reduction), pred, target)
        _loss_check(nn.L1Loss(reduction=reduction), pred, target)
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="shape"):
        F.l1_loss(cr.ones(3), cr.ones(3, 1))


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_cross_entropy_with_indices_and_with_probabilities():
    logits = rng(2).normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    probs = rng(3).dirichlet(np.ones(3), size=4)
    logp = _log_softmax(logits)
    loss = nn.CrossEntropyLoss()
    np.testing.assert_allclose(float(loss(cr.tensor(logits), cr.tensor(labels))), -logp[np.arange(4), labels].mean())
    np.testing.assert_allclose(float(loss(cr.tensor(logits), cr.tensor(probs))), -(probs * logp).sum(axis=1).mean())
    per_sample = nn.CrossEntropyLoss(reduction="none")(cr.tensor(logits), cr.tensor(labels)).numpy()
    np.testing.assert_allclose(per_sample, -logp[np.arange(4), labels])
    _loss_check(loss, logits, labels)
    _loss_check(loss, logits, probs)
    _loss_check(nn.CrossEntropyLoss(reduction="sum"), logits, labels)


def test_cross_entropy_gradient_is_softmax_minus_target_over_n():
    logits = rng(7).normal(size=(5, 4))
    labels = np.array([3, 0, 1, 1, 2])
    z = cr.tensor(logits, requires_grad=True)
    nn.CrossEntropyLoss()(z, cr.tensor(labels)).backward()
    expected = (np.exp(_log_softmax(logits)) - np.eye(4)[labels]) / 5
    np.testing.assert_allclose(z.grad.numpy(), expected, atol=1e-12)


def test_bce_with_logits_values_and_gradient():
    logits = np.array([-30.0, -1.0, 0.0, 2.0, 40.0])
    target = np.array([0.0, 1.0, 0.5, 1.0, 0.0])
    expected = np.logaddexp(0, logits) - target * logits  # log(1+e^x) - t·x, stable
    got = nn.BCEWithLogitsLoss(reduction="none")(cr.tensor(logits), cr.tensor(target)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.isfinite(got).all()
    _loss_check(nn.BCEWithLogitsLoss(), rng().normal(size=(3,)), np.array([0.0, 1.0, 1.0]))


def test_functional_forms_agree_with_modules():
    x = cr.tensor(rng().normal(size=(2, 3)))
    np.testing.assert_array_equal(F.relu(x).numpy(), nn.ReLU()(x).numpy())
    np.testing.assert_allclose(F.softmax(x, dim=0).numpy(), nn.Softmax(dim=0)(x).numpy())
    onehot = F.one_hot(cr.tensor([2, 0]), 3).numpy()
    np.testing.assert_array_equal(onehot, [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(IndexError, match="out of range"):
        F.one_hot(cr.tensor([3]), 3)


# ---------------------------------------------------------------- a whole model
def test_mlp_gradients_through_every_layer_kind():
    model = nn.Sequential(nn.Linear(3, 4, generator=0), nn.Tanh(), nn.BatchNorm1d(4), nn.Linear(4, 2, generator=1))
    check_module(model, rng(8).normal(size=(5, 3)))


def test_small_cnn_gradcheck():
    model = nn.Sequential(nn.Conv2d(1, 2, 2, generator=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2, 2, generator=1))  # fmt: skip
    check_module(model, rng(9).normal(size=(1, 1, 3, 3)), atol=1e-4)


# ---------------------------------------------------------------- init
def test_initialisers_draw_from_the_documented_ranges_and_are_seeded():
    w = cr.zeros(300, 200)
    fan_in, fan_out = 200, 300
    init.xavier_uniform_(w, generator=0)
    bound = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.95 * bound
    init.xavier_normal_(w, generator=0)
    assert abs(w.numpy().std() - math.sqrt(2 / (fan_in + fan_out))) < 0.02 * math.sqrt(2 / (fan_in + fan_out))
    init.kaiming_uniform_(w, nonlinearity="relu", generator=0)
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / fan_in)
    init.kaiming_normal_(w, nonlinearity="relu", mode="fan_out", generator=0)
    assert abs(w.numpy().std() - math.sqrt(2 / fan_out)) < 0.02 * math.sqrt(2 / fan_out)
    init.he_normal_(w, generator=0)
    assert abs(w.numpy().std() - math.sqrt(2 / fan_in)) < 0.02 * math.sqrt(2 / fan_in)
    init.glorot_uniform_(w, generator=1)
    first = w.numpy().copy()
    init.glorot_uniform_(w, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(w.numpy(), first)
    init.zeros_(w)
    assert not w.numpy().any()
    assert init.fan_in_and_fan_out(cr.zeros(6, 2, 3, 3)) == (18, 54)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(cr.zeros(3))
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")


def test_init_on_a_parameter_is_not_recorded_and_bumps_the_version():
    p = nn.Parameter(cr.zeros(3, 3))
    version = p._version
    init.he_uniform_(p, generator=0)
    assert p.grad_fn is None and p.is_leaf and p._version == version + 1
    assert p.numpy().any()
