"""The APIs of PyTorch's autograd, tensor, polynomial-fitting and torch.func tutorials, used the
way those tutorials use them, on chainrule.torch.

Each scenario below is written once against a ``torch``-like namespace (``lib``) and run with the
dialect; its results are checked against values derived by hand. Where PyTorch is installed, the
same scenario also runs with real PyTorch (only the namespace changes, as in the tutorials only
the import lines change) and the two results are compared at float32 tolerance; those tests skip
cleanly without PyTorch.

The tutorials themselves are not part of the repository; docs/dialects/torch.md says per
tutorial what runs, what is skipped and why.
"""

from __future__ import annotations

import functools
import math
import re
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule.torch.autograd.forward_ad as cr_fwAD
import chainrule.torch.nn.functional as cr_F
from chainrule import torch as cr_torch
from chainrule.torch import func as cr_func
from chainrule.torch import functorch as cr_functorch
from chainrule.torch import nn as cr_nn
from chainrule.torch.utils.benchmark import Measurement, Timer, select_unit


def _dialect() -> types.SimpleNamespace:
    return types.SimpleNamespace(torch=cr_torch, nn=cr_nn, F=cr_F, func=cr_func, fwAD=cr_fwAD,
                                 functorch=cr_functorch)  # fmt: skip


def _real() -> types.SimpleNamespace:
    torch = pytest.importorskip("torch")
    functorch = pytest.importorskip("functorch")
    import torch.autograd.forward_ad as fwAD
    import torch.func as func
    import torch.nn.functional as F

    return types.SimpleNamespace(torch=torch, nn=torch.nn, F=F, func=func, fwAD=fwAD, functorch=functorch)


def _np(x: Any) -> np.ndarray:
    return np.array(x.detach().numpy() if hasattr(x, "detach") else x)


# ---------------------------------------------------------------------- scenarios
# Each takes the namespace and returns named results (arrays, numbers or strings).


def blitz_autograd(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch = lib.torch
    torch.manual_seed(0)
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()
    a = torch.randn(2, 2)
    a = (a * 3) / (a - 1)
    flags = [a.requires_grad]
    a.requires_grad_(True)
    flags.append(a.requires_grad)
    v = torch.randn(3, requires_grad=True)
    w = v * 2
    doublings = 1
    while w.data.norm() < 1000:
        w = w * 2
        doublings += 1
    w.backward(torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float))
    with torch.no_grad():
        flags.append((v**2).requires_grad)
    return {"repr_x": repr(x), "repr_y": repr(y), "y_grad_fn": _node_name(y), "out": out, "x_grad": x.grad,
            "flags": flags, "doublings": doublings, "v": v, "v_grad": v.grad,
            "sum_grad_fn": _node_name((a * a).sum())}  # fmt: skip


def _node_name(t: Any) -> str:
    """A tensor's node name in either library (a property here, a method in PyTorch)."""
    name = t.grad_fn.name
    return name if isinstance(name, str) else type(t.grad_fn).__name__


def basics_autograd(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch = lib.torch
    torch.manual_seed(0)
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = lib.F.binary_cross_entropy_with_logits(z, y)
    names = (_node_name(z), _node_name(loss))
    loss.backward()
    with torch.no_grad():
        tracked = (torch.matmul(x, w) + b).requires_grad
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    return {"names": names, "z": z, "loss": loss, "w_grad": w.grad, "b_grad": b.grad, "tracked": tracked,
            "detached": z.detach().requires_grad, "first": first, "second": second, "zeroed": inp.grad,
            "repr_first": str(first)}  # fmt: skip


def tensors(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch = lib.torch
    torch.manual_seed(0)
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    x_np = torch.from_numpy(np.array(data))
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    shape = (2, 3)
    t = torch.rand(3, 4)
    facts = f"{t.shape} {t.dtype} {t.device} {x_ones.dtype} {x_np.dtype}"
    moved = torch.cuda.is_available() & (torch.device("cuda").index is not None)
    tensor = torch.ones(4, 4)
    rows = f"{tensor[0]} {tensor[:, 0]} {tensor[..., -1]}"
    tensor[:, 1] = 0
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    y3 = torch.rand_like(tensor)
    returned = torch.matmul(tensor, tensor.T, out=y3)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    agg = tensor.sum().item()
    tensor.add_(5)
    ones = torch.ones(5)
    n = ones.numpy()
    ones.add_(1)
    arr = np.ones(5)
    shared = torch.from_numpy(arr)
    np.add(arr, 1, out=arr)
    return {"facts": facts, "moved": moved, "rows": rows, "t1_shape": tuple(t1.shape), "y3": y3,
            "out_is_y3": returned is y3, "z3": z3, "agg": (agg, type(agg).__name__), "tensor": tensor, "n": n,
            "shared": shared, "x_rand": x_rand, "rand": torch.rand(shape), "repr_shared": f"{shared}"}  # fmt: skip


def _poly_data(torch: Any) -> tuple[Any, Any]:
    x = torch.linspace(-math.pi, math.pi, 200)
    return x, torch.sin(x)


def polynomial_autograd(lib: types.SimpleNamespace, steps: int = 30) -> dict[str, Any]:
    torch = lib.torch
    torch.manual_seed(0)
    dtype = torch.float
    torch.set_default_device("cpu")
    x, y = _poly_data(torch)
    a, b, c, d = (torch.randn((), dtype=dtype, requires_grad=True) for _ in range(4))
    start = [p.item() for p in (a, b, c, d)]
    first_grads = None
    for _ in range(steps):
        loss = (a + b * x + c * x**2 + d * x**3 - y).pow(2).sum()
        loss.backward()
        if first_grads is None:
            first_grads = [p.grad.item() for p in (a, b, c, d)]
        with torch.no_grad():
            for p in (a, b, c, d):
                p -= 1e-5 * p.grad
                p.grad = None
    refused = None
    try:
        a.grad = 0.0
    except TypeError as exc:
        refused = str(exc)
    return {"start": start, "first_grads": first_grads, "final": [p.item() for p in (a, b, c, d)],
            "loss": loss.item(), "refused": refused}  # fmt: skip


def polynomial_nn(lib: types.SimpleNamespace, steps: int = 30, use_optim: bool = False) -> dict[str, Any]:
    torch = lib.torch
    torch.manual_seed(0)
    x, y = _poly_data(torch)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5) if use_optim else None
    start = [q.detach().clone() for q in model.parameters()]
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(xx), y)
        losses.append(loss.item())
        if optimizer is None:
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for param in model.parameters():
                    param -= 1e-5 * param.grad
        else:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    layer = model[0]
    coeffs = [layer.bias.item()] + [layer.weight[:, i].item() for i in range(3)]
    return {"start": start, "losses": losses, "coeffs": coeffs, "loss_node": _node_name(loss), "xx": xx}


def dynamic_net(lib: types.SimpleNamespace, steps: int = 20) -> dict[str, Any]:
    torch = lib.torch
    torch.manual_seed(0)
    orders = [5, 4, 6, 4, 5] * 4  # the tutorial draws these at random; fixed here

    class DynamicNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name in "abcde":
                setattr(self, name, torch.nn.Parameter(torch.randn(())))

        def forward(self, x, top):
            y = self.a + self.b * x + self.c * x**2 + self.d * x**3
            for exp in range(4, top):
                y = y + self.e * x**exp
            return y

    x, y = _poly_data(torch)
    model = DynamicNet()
    start = {n: getattr(model, n).item() for n in "abcde"}
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    first_e_grad = None
    for top in orders[:steps]:
        loss = torch.nn.MSELoss(reduction="sum")(model(x, top), y)
        optimizer.zero_grad()
        loss.backward()
        if first_e_grad is None:
            first_e_grad = model.e.grad.item()
        optimizer.step()
    return {"start": start, "first_e_grad": first_e_grad, "final": {n: getattr(model, n).item() for n in "abcde"}}


def forward_ad(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch, fwAD, nn = lib.torch, lib.fwAD, lib.nn
    torch.manual_seed(0)
    primal = torch.randn(4, 4)
    tangent = torch.randn(4, 4)
    plain = torch.randn(4, 4)
    with fwAD.dual_level():
        dual = fwAD.make_dual(primal, tangent)
        same_tangent = fwAD.unpack_dual(dual).tangent is tangent
        shares = np.shares_memory(dual.detach().numpy(), primal.numpy())
        out = dual**2 + plain**2
        jvp = fwAD.unpack_dual(out).tangent
        unpacked = fwAD.unpack_dual(out)
        primal_tangent = fwAD.unpack_dual(unpacked.primal).tangent
    after = fwAD.unpack_dual(out).tangent
    model = nn.Linear(5, 3)
    inp = torch.randn(6, 5)
    params = {name: p for name, p in model.named_parameters()}
    tangents = {name: torch.rand_like(p) for name, p in params.items()}
    with fwAD.dual_level():
        for name, p in params.items():
            delattr(model, name)
            setattr(model, name, fwAD.make_dual(p, tangents[name]))
        module_jvp = fwAD.unpack_dual(model(inp)).tangent
    fresh = nn.Linear(5, 3)
    with fwAD.dual_level():
        duals = {name: fwAD.make_dual(p, tangents[name]) for name, p in params.items()}
        call_jvp = fwAD.unpack_dual(lib.func.functional_call(fresh, duals, inp)).tangent
    errors = []
    try:
        fwAD.make_dual(primal, tangent)
    except RuntimeError as exc:
        errors.append(str(exc))
    with fwAD.dual_level():
        try:
            fwAD.make_dual(primal, torch.randn(3))
        except RuntimeError as exc:
            errors.append(str(exc))
    return {"same_tangent": same_tangent, "shares": shares, "primal": primal, "tangent": tangent, "jvp": jvp,
            "unpacked_primal": unpacked.primal, "primal_tangent": primal_tangent, "after": after,
            "module_jvp": module_jvp, "call_jvp": call_jvp, "inp": inp, "tangents": tangents, "errors": errors}  # fmt: skip


def functorch_jvp(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch, ft = lib.torch, lib.functorch
    torch.manual_seed(0)
    p0, t0, p1, t1 = (torch.randn(3, 3) for _ in range(4))

    def fn(x, y):
        return x**2 + y**2

    with pytest.warns(FutureWarning, match="`functorch.jvp` is deprecated"):
        out, tan = ft.jvp(fn, (p0, p1), (t0, t1))
    y = torch.randn(3, 3)
    with pytest.warns(FutureWarning):
        out2, tan2 = ft.jvp(functools.partial(fn, y=y), (p0,), (t0,))
    model = lib.nn.Linear(4, 2)
    inp = torch.randn(5, 4)
    tangents = tuple(torch.rand_like(p) for p in model.parameters())
    with pytest.warns(FutureWarning, match="make_functional_with_buffers"):
        func, params, buffers = ft.make_functional_with_buffers(model)
    with pytest.warns(FutureWarning):
        model_out, jvp_out = ft.jvp(lambda params: func(params, buffers, inp), (params,), (tangents,))
    return {"p0": p0, "t0": t0, "p1": p1, "t1": t1, "out": out, "tan": tan, "tan2": tan2, "out2": out2, "y": y,
            "inp": inp, "tangents": tangents, "model_out": model_out, "jvp_out": jvp_out,
            "weight": model.weight, "bias": model.bias}  # fmt: skip


def _predict(F: Any, weight: Any, bias: Any, x: Any) -> Any:
    return F.linear(x, weight, bias).tanh()


def jacobians(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch, F, func = lib.torch, lib.F, lib.func
    torch.manual_seed(0)
    D = 6
    weight, bias, x = torch.randn(D, D), torch.randn(D), torch.randn(D)
    predict = functools.partial(_predict, F)
    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D)
    rows = torch.stack([torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0] for vec in unit_vectors])
    _, vjp_fn = func.vjp(functools.partial(predict, weight, bias), x)
    (ft_jacobian,) = func.vmap(vjp_fn)(unit_vectors)
    rev = func.jacrev(predict, argnums=2)(weight, bias, x)
    fwd = func.jacfwd(predict, argnums=2)(weight, bias, x)
    jw, jb = func.jacrev(predict, argnums=(0, 1))(weight, bias, x)
    hess = func.hessian(predict, argnums=2)(weight, bias, x)
    hess_ff = func.jacfwd(func.jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
    xs = torch.randn(4, D)
    batch_jac = func.vmap(func.jacrev(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, xs)
    summed = func.jacrev(lambda w, b, v: predict(w, b, v).sum(0), argnums=2)(weight, bias, xs).movedim(1, 0)
    batch_hess = func.vmap(func.hessian(predict, argnums=2), in_dims=(None, None, 0))(weight, bias, xs)
    v, t = torch.randn(8), torch.randn(8)

    def f(u):
        return u.sin().sum()

    hvp = func.jvp(func.grad(f), (v,), (t,))[1]
    _, pull = func.vjp(func.grad(f), v)
    return {"weight": weight, "bias": bias, "x": x, "xs": xs, "rows": rows, "vmapped": ft_jacobian, "rev": rev,
            "fwd": fwd, "jw": jw, "jb": jb, "hess": hess, "hess_ff": hess_ff, "batch_jac": batch_jac,
            "summed": summed, "batch_hess": batch_hess, "v": v, "t": t, "hvp": hvp, "hvp_revrev": pull(t)[0]}  # fmt: skip


def _small_cnn(lib: types.SimpleNamespace) -> Any:
    nn, F, torch = lib.nn, lib.F, lib.torch

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 3, 3, 1)
            self.conv2 = nn.Conv2d(3, 4, 3, 1)
            self.fc1 = nn.Linear(4 * 3 * 3, 8)
            self.fc2 = nn.Linear(8, 5)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return F.log_softmax(self.fc2(x), dim=1)

    return SmallCNN()


def per_sample_grads(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch, F, func = lib.torch, lib.F, lib.func
    torch.manual_seed(0)
    batch = 5
    data = torch.randn(batch, 1, 10, 10, device="cpu")
    targets = torch.randint(5, (batch,), device="cpu")
    model = _small_cnn(lib).to(device="cpu")
    predictions = model(data)
    loss = F.nll_loss(predictions, targets)
    loss.backward()

    def compute_grad(sample, target):
        prediction = model(sample.unsqueeze(0))
        return torch.autograd.grad(F.nll_loss(prediction, target.unsqueeze(0)), list(model.parameters()))

    loop = [torch.stack(shards) for shards in zip(*[compute_grad(data[i], targets[i]) for i in range(batch)])]
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        predictions = func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
        return F.nll_loss(predictions, target.unsqueeze(0))

    vmapped = func.vmap(func.grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)
    return {"predictions": predictions, "targets": targets, "loss": loss, "loss_node": _node_name(loss),
            "fc2_bias_grad": model.fc2.bias.grad, "loop": loop, "vmapped": list(vmapped.values()),
            "names": list(vmapped)}  # fmt: skip


def ntk(lib: types.SimpleNamespace) -> dict[str, Any]:
    torch, func = lib.torch, lib.func
    torch.manual_seed(0)
    net = lib.nn.Linear(4, 3)
    params = {k: v.detach() for k, v in net.named_parameters()}
    x1, x2 = torch.randn(3, 4), torch.randn(2, 4)

    def fnet_single(params, x):
        return func.functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    def contraction(x1, x2):
        jac1 = [j.flatten(2) for j in func.vmap(func.jacrev(fnet_single), (None, 0))(params, x1).values()]
        jac2 = [j.flatten(2) for j in func.vmap(func.jacrev(fnet_single), (None, 0))(params, x2).values()]
        return torch.stack([torch.einsum("Naf,Mbf->NMab", a, b) for a, b in zip(jac1, jac2)]).sum(0)

    def ntk_vps(x1, x2):
        def get_ntk(x1, x2):
            output, vjp_fn = func.vjp(lambda p: fnet_single(p, x1), params)

            def get_ntk_slice(vec):
                vjps = vjp_fn(vec)
                return func.jvp(lambda p: fnet_single(p, x2), (params,), vjps)[1]

            basis = torch.eye(output.numel(), dtype=output.dtype, device=output.device).view(output.numel(), -1)
            return func.vmap(get_ntk_slice)(basis)

        return func.vmap(func.vmap(get_ntk, (None, 0)), (0, None))(x1, x2)

    full = contraction(x1, x2)
    return {"x1": x1, "x2": x2, "full": full, "vps": ntk_vps(x1, x2), "trace": torch.einsum("NMKK->NM", full)}


SCENARIOS: dict[str, Callable[[types.SimpleNamespace], dict[str, Any]]] = {
    "blitz_autograd": blitz_autograd, "basics_autograd": basics_autograd, "tensors": tensors,
    "polynomial_autograd": polynomial_autograd, "polynomial_nn": polynomial_nn,
    "polynomial_optim": functools.partial(polynomial_nn, use_optim=True), "dynamic_net": dynamic_net,
    "forward_ad": forward_ad, "functorch_jvp": functorch_jvp, "jacobians": jacobians,
    "per_sample_grads": per_sample_grads, "ntk": ntk,
}  # fmt: skip


@functools.cache
def _run(name: str) -> dict[str, Any]:
    return SCENARIOS[name](_dialect())


# ---------------------------------------------------------------------- checks by hand
def test_blitz_autograd_by_hand() -> None:
    r = _run("blitz_autograd")
    assert r["repr_x"] == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    assert r["repr_y"] == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    assert r["y_grad_fn"] == "AddBackward0" and r["sum_grad_fn"] == "SumBackward0"
    # out = mean(3 (x + 2)^2) = 27 at x = 1; d out / dx = 6 (x + 2) / 4 = 4.5
    assert r["out"].item() == 27.0
    np.testing.assert_array_equal(_np(r["x_grad"]), np.full((2, 2), 4.5))
    assert r["flags"] == [False, True, False]
    # w = v * 2^k with the first k where |v| 2^k >= 1000; the gradient is v's weights times 2^k
    v = _np(r["v"]).astype(np.float64)
    k = r["doublings"]
    assert np.linalg.norm(v) * 2 ** (k - 1) < 1000 <= np.linalg.norm(v) * 2**k * (1 + 1e-6)
    np.testing.assert_allclose(_np(r["v_grad"]), np.array([0.1, 1.0, 0.0001]) * 2.0**k, rtol=1e-6)


def test_basics_autograd_by_hand() -> None:
    r = _run("basics_autograd")
    assert r["names"] == ("AddBackward0", "BinaryCrossEntropyWithLogitsBackward0")
    z = _np(r["z"]).astype(np.float64)
    # loss = mean(log(1 + exp(z))) with targets 0; d loss / dz = sigmoid(z) / 3
    np.testing.assert_allclose(r["loss"].item(), np.mean(np.log1p(np.exp(z))), rtol=1e-6)
    dz = 1 / (1 + np.exp(-z)) / 3
    np.testing.assert_allclose(_np(r["b_grad"]), dz, rtol=1e-6)
    np.testing.assert_allclose(_np(r["w_grad"]), np.outer(np.ones(5), dz), rtol=1e-6)
    assert r["tracked"] is False and r["detached"] is False
    # d sum((eye + 1)^2) = 2 (eye + 1): 4 on the diagonal, 2 elsewhere; backward accumulates
    once = 2 * (np.eye(4, 5) + 1)
    np.testing.assert_array_equal(_np(r["first"]), once)
    np.testing.assert_array_equal(_np(r["second"]), 2 * once)
    np.testing.assert_array_equal(_np(r["zeroed"]), once)
    assert r["repr_first"].startswith("tensor([[4., 2., 2., 2., 2.],")


def test_tensors_by_hand() -> None:
    r = _run("tensors")
    assert r["facts"] == "torch.Size([3, 4]) torch.float32 cpu torch.int64 torch.int64"
    assert r["moved"] is False
    assert r["rows"] == "tensor([1., 1., 1., 1.]) tensor([1., 1., 1., 1.]) tensor([1., 1., 1., 1.])"
    assert r["t1_shape"] == (4, 12)
    ones_with_zero_column = np.ones((4, 4))
    ones_with_zero_column[:, 1] = 0
    np.testing.assert_array_equal(_np(r["y3"]), np.full((4, 4), 3.0))  # rows have three ones
    assert r["out_is_y3"]
    np.testing.assert_array_equal(_np(r["z3"]), ones_with_zero_column)
    assert r["agg"] == (12.0, "float")
    np.testing.assert_array_equal(_np(r["tensor"]), ones_with_zero_column + 5)
    np.testing.assert_array_equal(r["n"], np.full(5, 2.0))  # .numpy() shares memory
    np.testing.assert_array_equal(_np(r["shared"]), np.full(5, 2.0))  # from_numpy shares memory
    assert r["repr_shared"] == "tensor([2., 2., 2., 2., 2.], dtype=torch.float64)"
    assert r["x_rand"].dtype == cr_torch.float32 and r["x_rand"].shape == (2, 2)


def _poly_grads(coeffs: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of sum((a + b x + c x^2 + d x^3 - y)^2) with respect to (a, b, c, d)."""
    powers = np.stack([x**k for k in range(4)])
    residual = coeffs @ powers - y
    return 2 * powers @ residual


def test_polynomial_autograd_by_hand() -> None:
    r = _run("polynomial_autograd")
    x = np.linspace(-np.pi, np.pi, 200)
    y = np.sin(x)
    coeffs = np.array(r["start"], dtype=np.float64)
    np.testing.assert_allclose(r["first_grads"], _poly_grads(coeffs, x, y), rtol=1e-4)
    for _ in range(30):
        coeffs = coeffs - 1e-5 * _poly_grads(coeffs, x, y)
    np.testing.assert_allclose(r["final"], coeffs, rtol=1e-4, atol=1e-6)
    # Assigning a number to .grad is refused as in PyTorch 2.13 (the tutorial's own last line).
    assert r["refused"] == "assigned grad expected to be a Tensor or None but got grad of type float"


@pytest.mark.parametrize("name", ["polynomial_nn", "polynomial_optim"])
def test_polynomial_nn_by_hand(name: str) -> None:
    r = _run(name)
    x = np.linspace(-np.pi, np.pi, 200)
    y = np.sin(x)
    w, b = (_np(t).astype(np.float64) for t in r["start"])
    coeffs = np.array([b[0], *w[0]])
    for step in range(30):
        np.testing.assert_allclose(r["losses"][step], np.sum((coeffs @ np.stack([x**k for k in range(4)]) - y) ** 2), rtol=1e-4)
        coeffs = coeffs - 1e-5 * _poly_grads(coeffs, x, y)
    np.testing.assert_allclose(r["coeffs"], coeffs, rtol=1e-4, atol=1e-6)
    assert r["loss_node"] == "MseLossBackward0"
    np.testing.assert_allclose(_np(r["xx"]), np.stack([x, x**2, x**3], 1), rtol=1e-5, atol=1e-6)


def test_dynamic_net_by_hand() -> None:
    r = _run("dynamic_net")
    x = np.linspace(-np.pi, np.pi, 200)
    y = np.sin(x)
    p = dict(r["start"])
    velocity = dict.fromkeys("abcde", 0.0)
    seen: set[str] = set()
    orders = [5, 4, 6, 4, 5] * 4
    for step, top in enumerate(orders[:20]):
        terms = {n: x**k for k, n in enumerate("abcd")}
        terms["e"] = sum((x**k for k in range(4, top)), np.zeros_like(x))  # e is reused per order
        pred = sum(p[n] * terms[n] for n in "abcde")
        grads = {n: float(np.sum(2 * (pred - y) * terms[n])) for n in "abcde"}
        if step == 0:
            np.testing.assert_allclose(r["first_e_grad"], grads["e"], rtol=1e-4)
        for n in "abcde":  # SGD with momentum 0.9: v = g first, then v = 0.9 v + g; p -= lr v
            if n == "e" and top == 4:
                continue  # e unused: its gradient is None and SGD leaves it (and its momentum) alone
            velocity[n] = grads[n] if n not in seen else 0.9 * velocity[n] + grads[n]
            seen.add(n)
            p[n] -= 1e-8 * velocity[n]
    np.testing.assert_allclose([r["final"][n] for n in "abcde"], [p[n] for n in "abcde"], rtol=1e-4, atol=1e-7)


def test_forward_ad_by_hand() -> None:
    r = _run("forward_ad")
    assert r["same_tangent"] and r["shares"]
    # d(x^2 + y^2) along (t, 0) = 2 x t
    np.testing.assert_allclose(_np(r["jvp"]), 2 * _np(r["primal"]) * _np(r["tangent"]), rtol=1e-6)
    assert r["primal_tangent"] is None and r["after"] is None
    # Linear(x) = x W^T + b along (tW, tb): x tW^T + tb, by delattr/setattr or functional_call
    expected = _np(r["inp"]) @ _np(r["tangents"]["weight"]).T + _np(r["tangents"]["bias"])
    np.testing.assert_allclose(_np(r["module_jvp"]), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(r["call_jvp"]), expected, rtol=1e-5, atol=1e-6)
    assert "no level exists" in r["errors"][0]
    assert "different size" in r["errors"][1]


def test_functorch_jvp_by_hand() -> None:
    r = _run("functorch_jvp")
    p0, t0, p1, t1 = (_np(r[k]) for k in ("p0", "t0", "p1", "t1"))
    np.testing.assert_allclose(_np(r["out"]), p0**2 + p1**2, rtol=1e-6)
    np.testing.assert_allclose(_np(r["tan"]), 2 * p0 * t0 + 2 * p1 * t1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(r["tan2"]), 2 * p0 * t0, rtol=1e-6)
    np.testing.assert_allclose(_np(r["out2"]), p0**2 + _np(r["y"]) ** 2, rtol=1e-6)
    tw, tb = (_np(t) for t in r["tangents"])
    np.testing.assert_allclose(_np(r["model_out"]), _np(r["inp"]) @ _np(r["weight"]).T + _np(r["bias"]), rtol=1e-5)
    np.testing.assert_allclose(_np(r["jvp_out"]), _np(r["inp"]) @ tw.T + tb, rtol=1e-5, atol=1e-6)


def test_jacobians_by_hand() -> None:
    r = _run("jacobians")
    w, b, x = (_np(r[k]).astype(np.float64) for k in ("weight", "bias", "x"))
    h = np.tanh(w @ x + b)
    d = 1 - h**2
    jac = d[:, None] * w  # d tanh(Wx + b) / dx
    for key in ("rows", "vmapped", "rev", "fwd"):
        np.testing.assert_allclose(_np(r[key]), jac, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(r["jw"]), np.einsum("i,ij,k->ijk", d, np.eye(len(b)), x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(r["jb"]), np.diag(d), rtol=1e-5, atol=1e-6)
    # d^2 tanh(u_i) / dx dx = -2 tanh(u_i) (1 - tanh(u_i)^2) w_i w_i^T
    hess = np.einsum("i,ij,ik->ijk", -2 * h * d, w, w)
    np.testing.assert_allclose(_np(r["hess"]), hess, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_np(r["hess_ff"]), hess, rtol=1e-4, atol=1e-5)
    xs = _np(r["xs"]).astype(np.float64)
    hs = np.tanh(xs @ w.T + b)
    batch_jac = (1 - hs**2)[:, :, None] * w[None]
    np.testing.assert_allclose(_np(r["batch_jac"]), batch_jac, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(r["summed"]), batch_jac, rtol=1e-5, atol=1e-6)
    assert tuple(r["batch_hess"].shape) == (4, 6, 6, 6)
    np.testing.assert_allclose(_np(r["batch_hess"])[2], np.einsum("i,ij,ik->ijk", -2 * hs[2] * (1 - hs[2] ** 2), w, w),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    # The Hessian of sum(sin(v)) is diag(-sin(v)); both Hessian-vector products agree with it.
    expected = -np.sin(_np(r["v"])) * _np(r["t"])
    np.testing.assert_allclose(_np(r["hvp"]), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(r["hvp_revrev"]), expected, rtol=1e-5, atol=1e-6)


def test_per_sample_grads_by_hand() -> None:
    r = _run("per_sample_grads")
    logp = _np(r["predictions"]).astype(np.float64)
    t = _np(r["targets"])
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0, rtol=1e-5)  # log_softmax rows
    np.testing.assert_allclose(r["loss"].item(), -logp[np.arange(len(t)), t].mean(), rtol=1e-6)
    assert r["loss_node"] == "NllLossBackward0"
    # d loss / d fc2.bias = mean over the batch of softmax - one_hot
    expected = (np.exp(logp) - np.eye(5)[t]).mean(0)
    np.testing.assert_allclose(_np(r["fc2_bias_grad"]), expected, rtol=1e-4, atol=1e-6)
    assert r["names"] == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
                          "fc2.weight", "fc2.bias"]  # fmt: skip
    for looped, mapped in zip(r["loop"], r["vmapped"]):
        assert tuple(looped.shape) == tuple(mapped.shape)
        np.testing.assert_allclose(_np(mapped), _np(looped), rtol=1e-4, atol=1e-6)
    # Per-sample bias gradients of the last layer: softmax - one_hot per sample
    np.testing.assert_allclose(_np(r["vmapped"][-1]), np.exp(logp) - np.eye(5)[t], rtol=1e-4, atol=1e-6)


def test_ntk_by_hand() -> None:
    r = _run("ntk")
    # For f(x) = W x + b the Jacobian with respect to (W, b) gives NTK(x1, x2) = (x1 . x2 + 1) I.
    x1, x2 = _np(r["x1"]).astype(np.float64), _np(r["x2"]).astype(np.float64)
    expected = (x1 @ x2.T + 1)[:, :, None, None] * np.eye(3)
    np.testing.assert_allclose(_np(r["full"]), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(r["vps"]), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(r["trace"]), 3 * (x1 @ x2.T + 1), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- the same with PyTorch
def _compare(ours: Any, theirs: Any, where: str) -> None:
    if isinstance(ours, dict):
        assert list(ours) == list(theirs), where
        for key in ours:
            _compare(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _compare(a, b, f"{where}[{i}]")
    elif isinstance(ours, str):
        theirs_text = re.sub(r" at 0x[0-9a-f]+", "", theirs)
        assert re.sub(r" at 0x[0-9a-f]+", "", ours) == theirs_text, where
    elif ours is None or isinstance(ours, (bool, np.bool_)):
        assert ours == theirs, where
    elif isinstance(ours, (int, float)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6, err_msg=where)
    else:
        a, b = _np(ours), _np(theirs)
        assert a.shape == b.shape and a.dtype == b.dtype, where
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=where)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_results_as_pytorch(name: str) -> None:
    real = _real()
    ours = _run(name)
    theirs = SCENARIOS[name](real)
    _compare(ours, theirs, name)


# ---------------------------------------------------------------------- the rest of the surface
def test_gradcheck_with_forward_ad_and_custom_functions() -> None:
    x = cr_torch.randn(3, 3, dtype=cr_torch.double, requires_grad=True)
    assert cr_torch.autograd.gradcheck(cr_torch.exp, (x,), check_forward_ad=True, check_backward_ad=False,
                                       check_undefined_grad=False, check_batched_grad=False)  # fmt: skip
    assert cr_torch.autograd.gradcheck(lambda a, b: a * b, (x, cr_torch.ones(3, 3, dtype=cr_torch.double)))
    with pytest.raises(ValueError, match="require gradient"):
        cr_torch.autograd.gradcheck(cr_torch.exp, (x.detach(),))

    class Exp(cr_torch.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = cr_torch.exp(foo)
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    # A custom Function is checked in reverse mode; forward mode through it is refused
    # (chainrule.custom_vjp has no forward rule), the tutorial's jvp staticmethod is not used.
    assert cr_torch.autograd.gradcheck(Exp.apply, (x,))
    with pytest.raises(TypeError, match="forward-mode"):
        cr_torch.autograd.gradcheck(Exp.apply, (x,), check_forward_ad=True, check_backward_ad=False)


def test_devices_backends_compile_and_missing_names() -> None:
    t = cr_torch
    assert t.cuda.is_available() is False and t.cuda.device_count() == 0
    assert t.accelerator.is_available() is False and t.accelerator.current_accelerator() is None
    assert repr(t.device("cuda")) == "device(type='cuda')" and t.device("cuda:1").index == 1
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        t.device("gpu")
    with pytest.raises(RuntimeError, match="CPU"):
        t.zeros(2).to("cuda")
    with pytest.raises(RuntimeError, match="CPU"):
        t.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CPU"):
        t.set_default_device("cuda")
    t.set_default_device("cpu")
    assert t.get_default_device() == t.device("cpu")
    assert t.zeros(2).to(t.device("cpu")).device == "cpu"
    t.backends.cudnn.deterministic = True
    t.backends.cuda.matmul.allow_tf32 = False
    assert t.backends.mps.is_available() is False
    t.cuda.manual_seed(0)  # ignored without CUDA, as in PyTorch

    def f(x):
        return x * 2

    # torch.compile gives a compiled callable (cr.jit underneath) computing what f computes.
    compiled = t.compile(f)
    assert compiled is not f and callable(compiled)
    assert t.compile(mode="max-autotune")(f)(t.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert compiled(t.tensor(3.0)).item() == 6.0
    assert t.compile(f, disable=True) is f
    for missing in (lambda: t.no_such_name, lambda: t.nn.functional.no_such_name, lambda: t.zeros(1).no_such_method,
                    lambda: t.func.no_such_transform, lambda: t.cuda.Stream):  # fmt: skip
        with pytest.raises(NotImplementedError, match="not supported by chainrule.torch"):
            missing()
    assert not hasattr(t, "no_such_name") and t.vmap is t.func.vmap


def test_size_and_out_arguments() -> None:
    t = cr_torch
    x = t.randn(size=(), requires_grad=True)
    assert x.shape == () and x.requires_grad and t.zeros(size=(2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="not both"):
        t.ones(2, size=(2,))
    out = t.zeros(2, 2)
    assert t.mul(t.ones(2, 2), 3, out=out) is out and out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        t.mul(t.ones(2, requires_grad=True), 2, out=t.zeros(2))
    with pytest.raises(RuntimeError, match="does not resize"):
        t.add(t.ones(2), 1, out=t.zeros(3))
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.div(t.ones(2), 3, out=t.zeros(2, dtype=t.int64))
    with pytest.raises(RuntimeError, match="size"):
        x.grad = t.zeros(2)


def test_vmap_arguments_and_methods_on_batched_values() -> None:
    t, func = cr_torch, cr_func
    xs = t.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert func.vmap(lambda r: r.unsqueeze(0).sum(dim=1).squeeze(0))(xs).tolist() == [3.0, 7.0]
    assert func.vmap(lambda r: r.pow(2).sum(dim=0, keepdim=True))(xs).tolist() == [[5.0], [25.0]]
    assert func.vmap(lambda r, s: r * s, in_dims=(0, None))(xs, t.tensor(10.0)).tolist() == [[10.0, 20.0], [30.0, 40.0]]
    assert func.vmap(lambda r: r.view(2, 1).t().flatten())(xs).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    shapes = []
    func.vmap(lambda r: shapes.append(r.shape) or r)(xs)
    assert shapes == [t.Size([2])] and repr(shapes[0]) == "torch.Size([2])"

    def update(r):
        r = r.clone()
        r.add_(1, alpha=2)
        r[0] = 0.0
        return r

    assert func.vmap(update)(xs).tolist() == [[0.0, 4.0], [0.0, 6.0]]
    assert func.vmap(lambda r: r * 2, randomness="same")(xs).shape == (2, 2)
    with pytest.raises(NotImplementedError, match="randomness='different'"):
        func.vmap(lambda r: r, randomness="different")
    with pytest.raises(TypeError):
        func.vmap(lambda r: r.item())(xs)


def test_stack_module_state_with_vmap_over_an_ensemble() -> None:
    t, nn, func = cr_torch, cr_nn, cr_func
    t.manual_seed(0)
    models = [nn.Linear(3, 2) for _ in range(4)]
    params, buffers = func.stack_module_state(models)
    x = t.randn(5, 3)
    out = func.vmap(lambda p, b: func.functional_call(models[0], (p, b), (x,)))(params, buffers)
    for i, m in enumerate(models):
        np.testing.assert_allclose(_np(out[i]), _np(m(x)), rtol=1e-6)


def test_grad_fn_names_follow_the_call() -> None:
    # Names printed by torch 2.13.0 for the same calls.
    t, F = cr_torch, cr_F
    x = t.randn(3, 4, requires_grad=True)
    v = t.randn(4, requires_grad=True)
    img = t.randn(1, 2, 4, 4, requires_grad=True)
    names = {
        "MseLossBackward0": F.mse_loss(x, t.zeros(3, 4)), "SoftmaxBackward0": F.softmax(x, dim=1),
        "NllLossBackward0": F.cross_entropy(x, t.tensor([0, 1, 2])),
        "AddmmBackward0": F.linear(x, t.ones(2, 4), t.ones(2)), "ConvolutionBackward0": F.conv2d(img, t.ones(1, 2, 3, 3)),
        "MaxPool2DWithIndicesBackward0": F.max_pool2d(img, 2), "SumBackward1": x.sum(0), "MeanBackward1": x.mean(1),
        "DotBackward0": v @ v, "MvBackward0": x @ v, "TBackward0": x.t(), "SelectBackward0": x[0],
        "SliceBackward0": x[:, 1:3], "UnsqueezeBackward0": x.unsqueeze(0), "CloneBackward0": x.clone(),
        "StackBackward0": t.stack([v, v]), "MaxBackward0": x.max(1).values, "LinalgVectorNormBackward0": x.norm(),
    }  # fmt: skip
    for expected, result in names.items():
        assert result.grad_fn.name == expected
        assert repr(result.grad_fn).startswith(f"<{expected} object at 0x")
    assert F.mse_loss(x, t.zeros(3, 4)).grad_fn.next_functions[0][0] is not None
    loss = F.mse_loss(x, t.zeros(3, 4))
    assert loss.grad_fn == loss.grad_fn and "MseLossBackward0" in repr(loss)
    loss.backward()
    np.testing.assert_allclose(_np(x.grad), 2 * _np(x) / 12, rtol=1e-6)


def test_functional_layers_by_hand() -> None:
    t, F = cr_torch, cr_F
    a = t.arange(16.0).view(1, 1, 4, 4)
    assert F.max_pool2d(a, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert F.avg_pool2d(a[0], 2).tolist() == [[[2.5, 4.5], [10.5, 12.5]]]  # unbatched (C, H, W)
    k = t.tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
    # each output is a[i, j] - a[i + 1, j + 1] = -5
    assert F.conv2d(a, k, t.tensor([1.0])).tolist() == [[[[-4.0] * 3] * 3]]
    assert F.conv2d(a, t.ones(1, 1, 3, 3), padding="same").shape == (1, 1, 4, 4)
    assert F.conv2d(a, t.ones(1, 1, 3, 3), padding="same")[0, 0, 0, 0].item() == 0 + 1 + 4 + 5
    with pytest.raises(NotImplementedError, match="even kernel"):
        F.conv2d(a, k, padding="same")
    logp = t.log_softmax(t.tensor([[1.0, 2.0, 3.0]]), dim=1)
    np.testing.assert_allclose(F.nll_loss(logp, t.tensor([2])).item(), -_np(logp)[0, 2], rtol=1e-6)
    np.testing.assert_allclose(_np(F.softplus(t.tensor([0.0, 30.0]))), [math.log(2.0), 30.0], rtol=1e-6)
    np.testing.assert_allclose(_np(F.silu(t.tensor([1.0]))), [1 / (1 + math.exp(-1))], rtol=1e-6)
    np.testing.assert_allclose(_np(F.elu(t.tensor([-1.0, 2.0]))), [math.exp(-1) - 1, 2.0], rtol=1e-6)
    np.testing.assert_allclose(_np(F.logsigmoid(t.tensor([0.0]))), [-math.log(2.0)], rtol=1e-6)
    with pytest.raises(NotImplementedError, match="dilation"):
        F.conv2d(a, k, dilation=2)
    with pytest.raises(NotImplementedError, match="weight"):
        F.nll_loss(logp, t.tensor([2]), weight=t.ones(3))


def test_timer_measurement_prints_as_pytorch() -> None:
    m = Timer(stmt="x + 1", globals={"x": cr_torch.ones(3)}).timeit(20)
    assert m.number_per_run == 20 and len(m.times) == 1 and m.times[0] > 0
    lines = repr(m).splitlines()
    assert re.fullmatch(r"<torch\.utils\.benchmark\.utils\.common\.Measurement object at 0x[0-9a-f]+>", lines[0])
    assert lines[1] == "x + 1"
    assert re.fullmatch(r"  \d+\.\d\d (ns|us|ms|s)", lines[2])
    assert lines[3] == "  1 measurement, 20 runs , 1 thread"
    assert select_unit(5e-4) == ("us", 1e-6) and select_unit(0.02) == ("ms", 1e-3)
    several = Measurement(10, [0.01, 0.02, 0.03, 0.04], stmt="f()", label="L", sub_label="S", description="D")
    assert str(several).splitlines()[1:] == ["L: S", "D", "  Median: 2.50 ms", "  IQR:    1.50 ms (1.75 to 3.25)",
                                             "  4 measurements, 10 runs per measurement, 1 thread"]  # fmt: skip


def test_timer_output_layout_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.benchmark import Timer as TorchTimer

    for number in (1, 7):
        ours = repr(Timer(stmt="x * 2", globals={"x": cr_torch.ones(2)}).timeit(number)).splitlines()
        theirs = repr(TorchTimer(stmt="x * 2", globals={"x": torch.ones(2)}).timeit(number)).splitlines()
        assert len(ours) == len(theirs)
        assert ours[0].split(" at ")[0] == theirs[0].split(" at ")[0]
        assert ours[1] == theirs[1] and ours[3] == theirs[3]
