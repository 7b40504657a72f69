"""chainrule.torch: the PyTorch dialect.

Expected values marked "from torch 2.13.0" were printed by real PyTorch (CPU) for the same code;
they are literals here so that the suite needs no PyTorch.
"""

from __future__ import annotations

import ast
import copy
import importlib
import pathlib
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import torch
from chainrule.torch import nn, optim
from chainrule.torch.autograd.functional import hessian, jacobian

PACKAGE = pathlib.Path(torch.__file__).parent


# ---------------------------------------------------------------------- a naming layer only
ALLOWED_NATIVE = {"chainrule", "chainrule.nn", "chainrule.optim", "chainrule.autograd",
                  "chainrule.transforms", "chainrule.data"}  # fmt: skip


def _violations(source: str) -> list[str]:
    """Imports of chainrule outside the public native API (and attribute reaches into
    ``cr.core``/``cr.ops``) in one module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append(f"relative import from level {node.level}")
                continue
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in ("cr", "chainrule", "_cr") and node.attr in ("core", "ops"):
                found.append(f"{node.value.id}.{node.attr}")
        for name in names:
            if not name.startswith("chainrule") or name.startswith("chainrule.torch"):
                continue
            if name in ALLOWED_NATIVE:
                continue
            # ``from M import N``: M is a public module and N one of its public names.
            module, _, attr = name.rpartition(".")
            if module in ALLOWED_NATIVE and attr in getattr(importlib.import_module(module), "__all__", ()):
                continue
            found.append(name)
    return found


def test_dialect_imports_only_the_public_native_api():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 10
    for path in files:
        assert _violations(path.read_text()) == [], path.name
    # The check itself catches the forbidden forms.
    assert _violations("from chainrule.core.engine import grad") == ["chainrule.core.engine", "chainrule.core.engine.grad"]
    assert _violations("import chainrule.ops.unary") == ["chainrule.ops.unary"]
    assert _violations("from chainrule.transforms import batching") == ["chainrule.transforms.batching"]
    assert _violations("from chainrule.transforms import vmap\nfrom chainrule import nn") == []
    assert _violations("from chainrule.viz import capture") != []
    assert _violations("import chainrule as cr\ncr.core.tensor") == ["cr.core"]


def test_import_forms():
    import chainrule.torch.nn.functional as F
    from chainrule.torch.autograd import functional as AF

    assert F.cross_entropy is nn.functional.cross_entropy
    assert AF.jacobian is torch.autograd.functional.jacobian
    assert nn.parameter.Parameter is nn.Parameter
    assert torch.func.vmap and torch.optim.SGD and torch.nn.Linear
    assert repr(torch.float32) == "torch.float32" and torch.float is torch.float32
    assert torch.double is torch.float64 and torch.long is torch.int64


# ---------------------------------------------------------------------- dtypes
def test_default_dtypes():
    assert torch.tensor([1.0, 2.0]).dtype == torch.float32
    assert torch.tensor(3.0).dtype == torch.float32
    assert torch.tensor([1, 2]).dtype == torch.int64
    assert torch.tensor([True]).dtype == torch.bool
    assert torch.zeros(2).dtype == torch.float32 and torch.ones(2, 3).dtype == torch.float32
    assert torch.rand(2).dtype == torch.float32 and torch.randn(2).dtype == torch.float32
    assert torch.tensor(np.zeros(2)).dtype == torch.float64  # NumPy arrays keep their dtype
    assert torch.tensor([1, 2], dtype=torch.float64).dtype == torch.float64
    assert torch.arange(3).dtype == torch.int64 and torch.arange(0, 1, 0.5).dtype == torch.float32
    assert torch.linspace(0, 1, 3).dtype == torch.float32
    assert torch.full((2,), 7).dtype == torch.int64 and torch.full((2,), 7.0).dtype == torch.float32
    assert torch.zeros(2).numpy().dtype == np.float32


def test_set_default_dtype():
    torch.set_default_dtype(torch.float64)
    try:
        assert torch.tensor([1.5]).dtype == torch.float64
        assert repr(torch.tensor([1.5])) == "tensor([1.5000])"
        assert repr(torch.tensor([1.5], dtype=torch.float32)) == "tensor([1.5000], dtype=torch.float32)"
    finally:
        torch.set_default_dtype(torch.float32)
    assert torch.get_default_dtype() == torch.float32


def test_pytorch_type_promotion():
    assert (torch.arange(4) / 2).dtype == torch.float32  # int / int -> default float
    assert (torch.arange(4) * 0.5).dtype == torch.float32
    assert (torch.tensor([1.0]) * np.float64(2.0)).dtype == torch.float32  # NumPy scalars are weak
    assert (torch.tensor([1.0]) + torch.tensor(1.5, dtype=torch.float64)).dtype == torch.float32
    assert (torch.tensor([1.0]) + torch.tensor([1.5], dtype=torch.float64)).dtype == torch.float64
    assert (torch.tensor([1, 2], dtype=torch.int32) + 5).dtype == torch.int32
    assert (torch.tensor([True]) + 1).dtype == torch.int64
    assert torch.exp(torch.tensor([0, 1])).dtype == torch.float32


def test_dtype_objects_work_with_numpy():
    assert np.zeros(2, dtype=torch.float32).dtype == np.float32
    assert torch.float32 == np.float32 and torch.float32 != torch.float64
    x = torch.ones(2)
    # Native code reads x.dtype / x.size / x.shape: they still behave like NumPy's.
    assert np.dtype(x.dtype) == np.float32 and x.size == 2 and x.shape == (2,)


def test_size():
    x = torch.zeros(4, 3)
    assert repr(x.shape) == "torch.Size([4, 3])" and str(x.size()) == "torch.Size([4, 3])"
    assert x.size(1) == 3 and x.size(-1) == 3 and x.shape[0] == 4 and x.dim() == 2
    assert x.numel() == 12 and x.shape.numel() == 12
    assert repr(x.shape[1:]) == "torch.Size([3])"
    with pytest.raises(IndexError):
        x.size(2)


# ---------------------------------------------------------------------- printing
PRINTED = [  # (code, repr) from torch 2.13.0
    (lambda: torch.tensor(6.), 'tensor(6.)'),
    (lambda: torch.tensor([1., 2.]), 'tensor([1., 2.])'),
    (lambda: torch.tensor([0.5, 0.2], requires_grad=True), 'tensor([0.5000, 0.2000], requires_grad=True)'),
    (lambda: torch.tensor([1, 2, 3]), 'tensor([1, 2, 3])'),
    (lambda: torch.tensor([True, False]), 'tensor([ True, False])'),
    (lambda: torch.tensor([1, 2], dtype=torch.int32), 'tensor([1, 2], dtype=torch.int32)'),
    (lambda: torch.tensor([1.5, 2.], dtype=torch.float64), 'tensor([1.5000, 2.0000], dtype=torch.float64)'),
    (lambda: torch.tensor([]), 'tensor([])'),
    (lambda: torch.zeros(0, 3, dtype=torch.int64), 'tensor([], size=(0, 3), dtype=torch.int64)'),
    (lambda: torch.tensor([1e-5, 1.]), 'tensor([1.0000e-05, 1.0000e+00])'),
    (lambda: torch.tensor([1e9, 1.]), 'tensor([1.0000e+09, 1.0000e+00])'),
    (lambda: torch.tensor([float('nan'), 1.5, float('inf')]), 'tensor([   nan, 1.5000,    inf])'),
    (lambda: torch.tensor([-0.5, 2.25, -100.125]), 'tensor([  -0.5000,    2.2500, -100.1250])'),
    (lambda: torch.arange(12).reshape(2, 2, 3), 'tensor([[[ 0,  1,  2],\n         [ 3,  4,  5]],\n\n        [[ 6,  7,  8],\n         [ 9, 10, 11]]])'),
    (lambda: torch.arange(2000.), 'tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])'),
    (lambda: torch.arange(1200).reshape(40, 30) * 1.5, 'tensor([[0.0000e+00, 1.5000e+00, 3.0000e+00,  ..., 4.0500e+01, 4.2000e+01,\n         4.3500e+01],\n        [4.5000e+01, 4.6500e+01, 4.8000e+01,  ..., 8.5500e+01, 8.7000e+01,\n         8.8500e+01],\n        [9.0000e+01, 9.1500e+01, 9.3000e+01,  ..., 1.3050e+02, 1.3200e+02,\n         1.3350e+02],\n        ...,\n        [1.6650e+03, 1.6665e+03, 1.6680e+03,  ..., 1.7055e+03, 1.7070e+03,\n         1.7085e+03],\n        [1.7100e+03, 1.7115e+03, 1.7130e+03,  ..., 1.7505e+03, 1.7520e+03,\n         1.7535e+03],\n        [1.7550e+03, 1.7565e+03, 1.7580e+03,  ..., 1.7955e+03, 1.7970e+03,\n         1.7985e+03]])'),
    (lambda: torch.linspace(0, 1, 30), 'tensor([0.0000, 0.0345, 0.0690, 0.1034, 0.1379, 0.1724, 0.2069, 0.2414, 0.2759,\n        0.3103, 0.3448, 0.3793, 0.4138, 0.4483, 0.4828, 0.5172, 0.5517, 0.5862,\n        0.6207, 0.6552, 0.6897, 0.7241, 0.7586, 0.7931, 0.8276, 0.8621, 0.8966,\n        0.9310, 0.9655, 1.0000])'),
    (lambda: torch.tensor([3.14159265, 2.71828], dtype=torch.float64), 'tensor([3.1416, 2.7183], dtype=torch.float64)'),
    (lambda: torch.ones(2, 2, dtype=torch.float64, requires_grad=True), 'tensor([[1., 1.],\n        [1., 1.]], dtype=torch.float64, requires_grad=True)'),
    (lambda: torch.tensor([[1., 5.], [7., 2.]]).max(1), 'torch.return_types.max(\nvalues=tensor([5., 7.]),\nindices=tensor([1, 0]))'),
    (lambda: torch.zeros(4, 3).shape, 'torch.Size([4, 3])'),
    (lambda: torch.float64, 'torch.float64'),
    (lambda: torch.arange(5) / 2, 'tensor([0.0000, 0.5000, 1.0000, 1.5000, 2.0000])'),
    (lambda: torch.tensor([1., 2.]) + torch.tensor(1.5, dtype=torch.float64), 'tensor([2.5000, 3.5000])'),
    (lambda: torch.tensor([[1.5]], dtype=torch.float64) * torch.ones(2), 'tensor([[1.5000, 1.5000]], dtype=torch.float64)'),
    (lambda: torch.nn.Parameter(torch.tensor([[1., 2.], [3., 4.]])), 'Parameter containing:\ntensor([[1., 2.],\n        [3., 4.]], requires_grad=True)'),
    (lambda: torch.tensor([[1e8, 2.], [3., 4.]]), 'tensor([[1.0000e+08, 2.0000e+00],\n        [3.0000e+00, 4.0000e+00]])'),
    (lambda: torch.tensor([12.5, 3.125e-3]), 'tensor([1.2500e+01, 3.1250e-03])'),
]


@pytest.mark.parametrize("make, expected", PRINTED)
def test_printing_matches_pytorch(make, expected):
    assert repr(make()) == expected


def test_printing_autograd_suffixes():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    f = 2 * x**3 + 3 * y**2 + torch.tensor(1.0)
    assert repr(f) == "tensor(44., grad_fn=<AddBackward0>)"  # seed 002, cell 8
    assert re.fullmatch(r"<PowBackward0 object at 0x[0-9a-f]+>", repr((x**2).grad_fn))
    assert repr((x * y).grad_fn).startswith("<MulBackward0 object at 0x")
    assert str(torch.zeros(2, 2, requires_grad=True) @ torch.ones(2, 2)).endswith("grad_fn=<MmBackward0>)")
    assert str(torch.zeros(3, requires_grad=True).sum()) == "tensor(0., grad_fn=<SumBackward0>)"
    with torch.no_grad():
        assert repr(x * 2) == "tensor(4.)"
    # A suffix that does not fit goes on its own line (from torch 2.13.0).
    wide = torch.tensor(np.full((2, 5), 0.123456))
    assert repr(wide.requires_grad_()) == (
        "tensor([[0.1235, 0.1235, 0.1235, 0.1235, 0.1235],\n"
        "        [0.1235, 0.1235, 0.1235, 0.1235, 0.1235]], dtype=torch.float64,\n"
        "       requires_grad=True)"
    )


def test_formatting_and_numpy():
    x = torch.tensor(3.0, requires_grad=True)
    y = x**2
    y.backward()
    assert f"{x.grad:.1f}" == "6.0" and repr(x.grad) == "tensor(6.)"
    assert repr(x.grad.numpy()) == "array(6., dtype=float32)"  # seed 001
    assert x.grad.item() == 6.0 and torch.tensor([2, 3]).tolist() == [2, 3]
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().shape == ()


# ---------------------------------------------------------------------- random streams
def test_rand_reproduces_pytorch_seed_42():
    torch.manual_seed(42)
    # from torch 2.13.0: torch.manual_seed(42); torch.rand(4)
    expected = [0.8822692632675171, 0.9150039553642273, 0.38286375999450684, 0.9593056440353394]
    assert torch.rand(4).tolist() == expected
    torch.manual_seed(42)
    assert torch.rand(3, dtype=torch.float64).tolist() == [0.05815448596142969, 0.06291016742457756, 0.12358607277440903]
    assert torch.initial_seed() == 42


def test_randn_reproduces_pytorch():
    torch.manual_seed(0)  # from torch 2.13.0 (fewer than 16 values: exact)
    assert torch.randn(5).tolist() == [1.5409960746765137, -0.293428897857666, -2.1787893772125244,
                                       0.5684312582015991, -1.0845223665237427]  # fmt: skip
    torch.manual_seed(0)
    assert torch.randn(2, 3).tolist()[1] == [0.5684312582015991, -1.0845223665237427, -1.3985954523086548]
    torch.manual_seed(0)  # float64, 16 or more values: the blocked transform, exact
    first = torch.randn(17, dtype=torch.float64).tolist()
    second = torch.randn(17, dtype=torch.float64).tolist()
    assert first[:3] == [-2.310411800234176, -0.6332746088675096, -1.2609246557194385]
    assert second[-2:] == [-0.7636636594872875, 1.3249432931154599]
    torch.manual_seed(0)  # float32, 16 or more: PyTorch's vectorised float32 transform, exact
    assert torch.randn(20).tolist()[:4] == [-1.1258398294448853, -1.152360200881958,
                                            -0.2505785822868347, -0.4338788092136383]  # fmt: skip
    torch.manual_seed(3)  # from torch 2.13.0: torch.manual_seed(3); (torch.randn(100, 3) * 1000)[[0, 16, 99]]
    big = (torch.randn(100, 3) * 1000)[[0, 16, 99]]
    assert [[f"{v:.4f}" for v in row] for row in big.tolist()] == [
        ["-76.6443", "359.8815", "-782.0168"],
        ["-455.4240", "2212.4182", "-376.9857"],
        ["-536.6589", "693.5699", "207.0812"],
    ]


def test_randn_keeps_the_second_normal_for_the_next_call():
    torch.manual_seed(0)
    a, b = torch.randn(1), torch.randn(1)
    torch.manual_seed(0)
    assert torch.randn(2).tolist() == [a.item(), b.item()]


def test_randint_and_like_functions():
    torch.manual_seed(7)  # from torch 2.13.0
    assert torch.randint(0, 100, (6,)).tolist() == [15, 92, 21, 86, 83, 47]
    assert torch.rand(2).tolist() == [0.20708602666854858, 0.6297363638877869]
    torch.manual_seed(3)
    assert torch.rand_like(torch.zeros(2)).tolist() == [0.004263520240783691, 0.10556936264038086]
    assert torch.randn_like(torch.zeros(3, dtype=torch.float64)).tolist() == [
        -0.393966936974241, 1.676201457688815, 0.7625263899704082]  # fmt: skip


def test_generators_are_independent():
    g = torch.Generator().manual_seed(42)
    torch.manual_seed(0)
    assert torch.rand(1, generator=g).item() == pytest.approx(0.8822692632675171)
    torch.manual_seed(0)
    state = torch.get_rng_state()
    a = torch.rand(3)
    torch.set_rng_state(state)
    assert torch.equal(torch.rand(3), a)


# ---------------------------------------------------------------------- autograd
def test_backward_and_grad():
    x = torch.tensor(2.0, requires_grad=True)
    y = torch.tensor(3.0, requires_grad=True)
    f = 2 * x**3 + 3 * y**2 + torch.tensor(1.0)
    f.backward()
    assert x.grad.item() == 24.0 and y.grad.item() == 18.0
    assert type(x.grad) is torch.Tensor and x.is_leaf and not f.is_leaf


def test_retain_grad_detach_requires_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y**2).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    p = torch.zeros(2)
    assert p.requires_grad_() is p and p.requires_grad
    with torch.no_grad():
        assert not (x * 2).requires_grad
        with torch.enable_grad():
            assert (x * 2).requires_grad
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()


def test_autograd_grad_higher_order():
    x = torch.tensor(3.0, requires_grad=True)
    (dx,) = torch.autograd.grad(x**3, x, create_graph=True)
    assert repr(dx) == "tensor(27., grad_fn=<MulBackward0>)"
    (ddx,) = torch.autograd.grad(dx, x)
    assert ddx.item() == 18.0


def test_inplace_methods():
    p = torch.zeros(2, 2)
    assert p.add_(torch.ones(2, 2)) is p and p.tolist() == [[1, 1], [1, 1]]
    p.sub_(torch.ones(2, 2), alpha=2).mul_(3).div_(2)
    assert p.tolist() == [[-1.5, -1.5], [-1.5, -1.5]]
    p.subtract_(1).zero_()
    assert p.sum().item() == 0
    p.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert p.tolist() == [[1, 2], [3, 4]]
    # In-place on a non-leaf is recorded: the gradient flows through it.
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.mul_(3)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------- PyTorch's error behaviours
def test_second_backward_without_retain_graph_raises():
    x = torch.tensor(2.0, requires_grad=True)
    y = x**3
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    z = x**3
    z.backward(retain_graph=True)
    z.backward()
    assert x.grad.item() == 12.0 + 12.0 + 12.0


def test_backward_on_a_non_scalar_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(torch.ones(2))
    assert x.grad.tolist() == [2.0, 2.0]


def test_inplace_on_a_leaf_that_requires_grad_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: x.add_(1.0), lambda: x.mul_(2.0), lambda: x.zero_(), lambda: x.copy_(torch.ones(2))):
        with pytest.raises(RuntimeError, match="leaf .* requires grad .* in-place"):
            op()
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 5.0
    with torch.no_grad():
        x.mul_(3.0)
        x[1] = 0.0
    assert x.tolist() == [3.0, 0.0] and x.requires_grad


def test_unused_input_to_autograd_grad_raises_without_allow_unused():
    x = torch.tensor(1.0, requires_grad=True)
    z = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="not have been used in the graph.*allow_unused=True"):
        torch.autograd.grad(x * 2, [x, z])
    gx, gz = torch.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None


# ---------------------------------------------------------------------- methods with PyTorch's arguments
def test_reductions_with_dim():
    m = torch.tensor([[1.0, 2.0], [3.0, 5.0]])
    assert m.sum(dim=0).tolist() == [4, 7] and m.sum(1, keepdim=True).shape == (2, 1)
    assert torch.mean(m, dim=1).tolist() == [1.5, 4.0]
    assert m.var().item() == pytest.approx(2.9166667)  # unbiased by default
    assert m.var(dim=1, correction=0).tolist() == [0.25, 1.0]
    assert m.std(unbiased=False).item() == pytest.approx(np.std([1, 2, 3, 5]))
    assert torch.softmax(torch.tensor([0.0, 0.0]), dim=0).tolist() == [0.5, 0.5]
    assert torch.cat([torch.zeros(2, 1), torch.ones(2, 1)], dim=1).tolist() == [[0, 1], [0, 1]]
    with pytest.raises(RuntimeError, match="floating point"):
        torch.arange(3).mean()


def test_max_with_dim_returns_values_and_indices():
    x = torch.tensor([[1.0, 5.0], [7.0, 7.0]], requires_grad=True)
    out = x.max(dim=1)
    values, indices = out
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert out.values is values and out.indices is indices
    assert repr(torch.tensor([[1.0, 5.0], [7.0, 2.0]]).max(1)) == (  # from torch 2.13.0
        "torch.return_types.max(\nvalues=tensor([5., 7.]),\nindices=tensor([1, 0]))"
    )
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]  # the gradient goes to the index only
    assert torch.max(x).item() == 7.0 and torch.max(x, torch.zeros(2, 2)).shape == (2, 2)


def test_shape_methods():
    x = torch.arange(6.0)
    assert x.view(2, 3).shape == (2, 3) and x.reshape(-1, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert torch.tensor([1, 2]).repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    m = x.view(2, 3)
    assert m.T.shape == (3, 2) and m.t().shape == (3, 2) and m.transpose(0, 1).shape == (3, 2)
    assert repr(nn.Parameter(torch.zeros(2, 3)).T).endswith("grad_fn=<PermuteBackward0>)")
    assert torch.zeros(2, 3, 4).permute(2, 0, 1).shape == (4, 2, 3)
    assert torch.zeros(2, 1, 3).squeeze(0).shape == (2, 1, 3)  # not of size 1: kept, as PyTorch
    assert torch.zeros(3).unsqueeze(0).shape == (1, 3)
    assert torch.tensor([[1.0], [2.0]]).expand(2, 3).tolist() == [[1, 1, 1], [2, 2, 2]]
    assert torch.tensor([1.0, 2.0]).to(torch.float64).dtype == torch.float64
    assert torch.tensor([1.7]).long().dtype == torch.int64 and torch.zeros(1).type() == "torch.FloatTensor"
    assert [p.shape[0] for p in torch.arange(5).split(2)] == [2, 2, 1]


def test_parameter_and_setitem_under_no_grad():
    # seed 002, cells 5-7
    param = nn.parameter.Parameter(torch.zeros(10, 5))
    assert param.requires_grad and isinstance(param, torch.Tensor) and isinstance(param, cr.nn.Parameter)
    param.requires_grad_(False)
    with torch.no_grad():
        param[0, 0] = 1
    assert repr(param[0, 0]) == "tensor(1.)"
    with torch.no_grad():
        out = param.add_(torch.ones_like(param))
    assert out is param and str(out).startswith("Parameter containing:\ntensor([[2., 1., 1., 1., 1.],")
    assert copy.deepcopy(param).tolist() == param.tolist()


# ---------------------------------------------------------------------- nn and optim
def test_linear_initialisation_follows_pytorch():
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)  # from torch 2.13.0
    assert layer.weight.tolist() == [[-0.004322517663240433, 0.3097158372402191, -0.4751853346824646],
                                     [-0.4248946011066437, -0.2223689705133438, 0.15482072532176971]]  # fmt: skip
    assert layer.bias.tolist() == [-0.011439144611358643, 0.45777493715286255]
    assert layer.weight.dtype == torch.float32 and isinstance(layer.weight, nn.Parameter)
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 2)
    assert conv.bias.tolist() == [-0.19257718324661255]


def test_module_subclass_and_sequential_training():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(3, 4)
            self.scale = nn.Parameter(torch.ones(2))
            self.out = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))

        def forward(self, x):
            return self.out(self.hidden(x)) * self.scale

    torch.manual_seed(0)
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["scale", "hidden.weight", "hidden.bias", "out.1.weight", "out.1.bias"]  # PyTorch's order
    x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
    opt = optim.Adam(net.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert type(loss) is torch.Tensor and losses[-1] < 0.5 * losses[0]


def test_sgd_momentum_matches_pytorch():
    # from torch 2.13.0: Sequential(Linear(3, 4), ReLU(), Linear(4, 2)) after manual_seed(0),
    # SGD(lr=0.1, momentum=0.9), five steps of CrossEntropyLoss on randn(8, 3) / randint(0, 2, (8,)).
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xb, yb = torch.randn(8, 3), torch.randint(0, 2, (8,))
    printed = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(xb), yb)
        loss.backward()
        opt.step()
        printed.append(f"{loss.item():.4f}")
    assert printed == ["0.7541", "0.7321", "0.6950", "0.6515", "0.6096"]
    assert str(model[0].weight) == (
        "Parameter containing:\n"
        "tensor([[-0.0043,  0.3097, -0.4752],\n"
        "        [-0.4054, -0.2039,  0.1328],\n"
        "        [-0.0201,  0.4872,  0.0147],\n"
        "        [ 0.0819, -0.1221, -0.0969]], requires_grad=True)"
    )


def test_cross_entropy_indices_and_probabilities():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    F = nn.functional
    assert repr(F.cross_entropy(logits, torch.tensor([0, 1]))) == "tensor(0.2395)"  # from torch 2.13.0
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert repr(F.cross_entropy(logits, probs)) == "tensor(0.2395)"
    assert F.cross_entropy(logits, torch.tensor([0, 1]), reduction="none").shape == (2,)
    assert repr(F.mse_loss(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))) == "tensor(2.)"
    assert repr(nn.MSELoss()(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))) == "tensor(2.)"


def test_seed001_softmax_layer_gradients():
    # seed 001, cells 95-98 (randn(4, 3) has fewer than 16 values: PyTorch's exact stream)
    x = [[-2.0, 2.0, 2.0, -2.0], [2.1, 1.0, 1.5, -1.0]]
    y = [[1.0, 0.0, 0.0], [0.0, 1.0, 0]]
    torch.manual_seed(0)
    w = torch.randn(4, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(torch.matmul(torch.tensor(x), w) + b, torch.tensor(y))
    loss.backward()
    assert repr(w.shape) == "torch.Size([4, 3])" and repr(w.grad.shape) == "torch.Size([4, 3])"
    assert f"{loss.item():.4f}" == "3.3176"  # from torch 2.13.0
    assert repr(b.grad) == "tensor([ 0.0653, -0.1419,  0.0766])"
    with pytest.raises(RuntimeError):
        loss.backward()


# ---------------------------------------------------------------------- function transforms
def test_autograd_functional():
    x = torch.tensor([1.0, 2.0])
    assert repr(jacobian(lambda v: v**2, x)) == "tensor([[2., 0.],\n        [0., 4.]])"
    assert repr(hessian(lambda v: (v**3).sum(), x)) == "tensor([[ 6.,  0.],\n        [ 0., 12.]])"
    blocks = jacobian(lambda a, b: (a * b, a + b), (x, torch.tensor([3.0, 4.0])))
    assert len(blocks) == 2 and len(blocks[0]) == 2 and blocks[0][1].tolist() == [[1, 0], [0, 2]]
    h = hessian(lambda a, b: (a * b**2).sum(), (x, torch.tensor([3.0, 4.0])))
    assert h[0][1].tolist() == [[6, 0], [0, 8]] and h[1][1].tolist() == [[2, 0], [0, 4]]
    out, vjp = torch.autograd.functional.vjp(lambda v: v**2, x, torch.ones(2))
    assert vjp.tolist() == [2, 4] and type(out) is torch.Tensor


def test_func_transforms():
    from chainrule.torch import func

    x = torch.tensor([1.0, 2.0])
    assert repr(func.grad(lambda v: (v**3).sum())(x)) == "tensor([ 3., 12.])"
    assert func.grad(func.grad(lambda v: v**3))(torch.tensor(2.0)).item() == 12.0
    assert func.jacrev(torch.sin)(x).shape == (2, 2) and torch.allclose(func.jacfwd(torch.sin)(x), func.jacrev(torch.sin)(x))
    assert func.hessian(lambda v: (v**3).sum())(x).tolist() == [[6, 0], [0, 12]]
    assert func.vmap(torch.dot)(torch.ones(3, 2), torch.ones(3, 2)).tolist() == [2, 2, 2]
    assert func.vmap(lambda r: torch.sum(r * r, dim=0))(torch.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist() == [5, 25]
    g, v = func.grad_and_value(lambda t: (t**2).sum())(x)
    assert g.tolist() == [2, 4] and v.item() == 5.0
    # The function sees dialect tensors: PyTorch-style methods work inside grad.
    assert func.grad(lambda t: t.sum(dim=0))(x).tolist() == [1, 1]


def test_autograd_functional_detaches_unless_create_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    assert jacobian(lambda v: v**2, x).grad_fn is None
    assert hessian(lambda v: (v**3).sum(), x).grad_fn is None
    j = jacobian(lambda v: v**2, x, create_graph=True)
    assert j.grad_fn is not None
    (g,) = torch.autograd.grad(j.sum(), x)
    assert g.tolist() == [2.0, 2.0]


def test_set_printoptions():
    torch.set_printoptions(precision=2)
    try:
        assert repr(torch.tensor([1.2345, 2.0])) == "tensor([1.23, 2.00])"
        torch.set_printoptions(sci_mode=True)
        assert repr(torch.tensor([1.5, 2.0])) == "tensor([1.50e+00, 2.00e+00])"
    finally:
        torch.set_printoptions(profile="default")
    assert repr(torch.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"


def test_every_tensor_result_is_a_dialect_tensor():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    results = [np.sin(x), x.diagonal(), x.astype(np.float64), x.broadcast_to((2, 2, 2)),
               x.movedim(0, 1), x.expand_dims(0), x[0], x.T, x @ x, -x, abs(x), x.detach(),
               x.clone(), x.sum(dim=0), x.max(dim=0).values, torch.autograd.grad(x.sum(), x)[0]]  # fmt: skip
    for r in results:
        assert type(r) is torch.Tensor, r
    assert [type(t) for t in x] == [torch.Tensor, torch.Tensor]


def test_save_load_and_module_list(tmp_path):
    torch.manual_seed(0)
    layers = nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 4 and isinstance(layers[1], nn.ReLU)
    path = tmp_path / "model.pt"
    torch.save(layers.state_dict(), path)
    state = torch.load(path)
    assert sorted(state) == ["0.bias", "0.weight", "2.bias", "2.weight"] and type(state["0.weight"]) is torch.Tensor
    other = nn.ModuleList([nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)])
    assert repr(other.load_state_dict(state)) == "<All keys matched successfully>"
    assert torch.equal(other[0].weight, layers[0].weight)


def test_shape_mismatches_raise_runtime_error():
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(4,\)"):
        torch.ones(2, 3) + torch.ones(4)
    with pytest.raises(RuntimeError, match="matmul"):
        torch.matmul(torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(RuntimeError):
        torch.ones(6).view(4, 2)
    x = torch.ones(3)
    with pytest.raises(RuntimeError):
        x += torch.ones(2)
