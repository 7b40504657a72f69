"""chainrule.torch's autograd.Function and utils.checkpoint, name maps over chainrule.custom_vjp
and chainrule.checkpoint, run side by side with PyTorch (the same code on both modules)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from chainrule import torch as cr_torch
from chainrule.torch.autograd.function import once_differentiable as cr_once_differentiable
from chainrule.torch.utils.checkpoint import checkpoint as cr_checkpoint
from chainrule.torch.utils.checkpoint import checkpoint_sequential as cr_checkpoint_sequential


def _real_torch() -> Any:
    return pytest.importorskip("torch")


def _both() -> list[Any]:
    return [cr_torch, _real_torch()]


def _np(x: Any) -> np.ndarray:
    return np.array(x.detach().numpy())


# ---------------------------------------------------------------- PyTorch's tutorial
def _legendre_class(torch: Any) -> Any:
    class LegendrePolynomial3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):  # noqa: A002 - the tutorial's name
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors  # noqa: A001
            return grad_output * 1.5 * (5 * input**2 - 1)

    return LegendrePolynomial3


def _tutorial(torch: Any, steps: int) -> tuple[list[float], list[float], str]:
    """beginner_source/examples_autograd/polynomial_custom_function.py, its loop shortened."""
    P3 = _legendre_class(torch).apply  # noqa: N806 - the tutorial's name
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float)
    y = torch.sin(x)
    a = torch.full((), 0.0, dtype=torch.float, requires_grad=True)
    b = torch.full((), -1.0, dtype=torch.float, requires_grad=True)
    c = torch.full((), 0.0, dtype=torch.float, requires_grad=True)
    d = torch.full((), 0.3, dtype=torch.float, requires_grad=True)
    learning_rate = 5e-6
    losses = []
    for t in range(steps):
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, [a.item(), b.item(), c.item(), d.item()], repr(y_pred)[-40:]


def test_the_legendre_tutorial_trains_as_in_pytorch() -> None:
    ours = _tutorial(cr_torch, 500)
    theirs = _tutorial(_real_torch(), 500)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-6)
    assert ours[0][-1] < ours[0][0]  # it learns
    assert ours[2].endswith("grad_fn=<AddBackward0>)") and theirs[2].endswith("grad_fn=<AddBackward0>)")


def _legendre_double_backward(torch: Any) -> tuple[str, np.ndarray, np.ndarray, int]:
    calls = {"n": 0}
    base = _legendre_class(torch)

    class Counted(base):  # type: ignore[misc, valid-type]
        @staticmethod
        def backward(ctx, grad_output):
            calls["n"] += 1
            return base.backward(ctx, grad_output)

    x = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    y = Counted.apply(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    return repr(y), _np(g), _np(gg), calls["n"]


def test_node_name_one_backward_call_and_double_backward_match_pytorch() -> None:
    (r0, g0, gg0, n0), (r1, g1, gg1, n1) = [_legendre_double_backward(torch) for torch in _both()]
    assert r0 == r1 == "tensor([-0.4375, 17.0000], dtype=torch.float64, grad_fn=<CountedBackward>)"
    np.testing.assert_allclose(g0, g1)
    np.testing.assert_allclose(gg0, gg1)  # 15 x, through the recorded backward
    assert n0 == n1 == 1


def _ctx_features(torch: Any) -> tuple[Any, ...]:
    record: dict[str, Any] = {}

    class Split(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, k):
            record["needs"] = ctx.needs_input_grad
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, w)
            ctx.k = k
            return x * w * k, idx

        @staticmethod
        def backward(ctx, g_out, g_idx):
            x, w = ctx.saved_tensors
            record["g_idx"] = g_idx.tolist()
            return g_out * w * ctx.k, (g_out * x * ctx.k).sum(), None

    x = torch.tensor([1.0, 3.0, 2.0], requires_grad=True)
    w = torch.tensor(2.0)
    out, idx = Split.apply(x, w, 4.0)
    out.sum().backward()
    return record["needs"], idx.item(), idx.requires_grad, record["g_idx"], _np(x.grad)


def test_ctx_features_match_pytorch() -> None:
    seen = [_ctx_features(torch) for torch in _both()]
    assert seen[0][:4] == seen[1][:4] == ((True, False, False), 1, False, 0)
    np.testing.assert_allclose(seen[0][4], seen[1][4])


def test_setup_context_form_and_broadcast_and_dtype_of_gradients() -> None:
    seen = []
    for torch in _both():

        class Scale(torch.autograd.Function):
            @staticmethod
            def forward(x, s):
                return x * s

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(*inputs)

            @staticmethod
            def backward(ctx, g):
                x, s = ctx.saved_tensors
                # The gradient of s has x's broadcast shape and dtype float64: PyTorch sums it
                # to s's shape and casts it to s's dtype.
                return g * s, (g * x).double()

        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        s = torch.tensor([0.5, -1.0], requires_grad=True)
        Scale.apply(x, s).sum().backward()
        seen.append((_np(x.grad), _np(s.grad), str(s.grad.dtype)))
    np.testing.assert_allclose(seen[0][0], seen[1][0])
    np.testing.assert_allclose(seen[0][1], [4.0, 6.0])
    np.testing.assert_allclose(seen[0][1], seen[1][1])
    assert seen[0][2] == seen[1][2] == "torch.float32"


def _bad_backward_message(torch: Any, case: str) -> str:
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, n):
            return x * n

        @staticmethod
        def backward(ctx, g):
            if case == "too_many":
                return g, None, g
            if case == "too_few":
                return (g,)
            if case == "bad_shape":
                return torch.ones(3), None
            return g, g

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        Bad.apply(x, 2).sum().backward()
    return str(info.value)


@pytest.mark.parametrize("case", ["too_many", "too_few", "bad_shape", "non_tensor"])
def test_backward_errors_match_pytorch(case: str) -> None:
    ours, theirs = (_bad_backward_message(torch, case) for torch in _both())
    assert ours == theirs


def test_once_differentiable_refuses_double_backward_like_pytorch() -> None:
    for torch, once in ((cr_torch, cr_once_differentiable), (_real_torch(), None)):
        once = once or torch.autograd.function.once_differentiable

        class Square(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = torch.tensor([1.0, 3.0], requires_grad=True)
        (g,) = torch.autograd.grad(Square.apply(x).sum(), x)
        np.testing.assert_allclose(_np(g), [2.0, 6.0])
        v = torch.ones(2, requires_grad=True)
        (g,) = torch.autograd.grad(Square.apply(x), x, grad_outputs=v, create_graph=True)
        with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with @once_differentiable"):
            g.sum().backward()
        # autograd.grad with respect to x: PyTorch says x was not used (its error node hangs off
        # detached copies); chainrule names once_differentiable. An error either way.
        (g,) = torch.autograd.grad(Square.apply(x), x, grad_outputs=v, create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable|appears to not have been used"):
            torch.autograd.grad(g.sum(), x)


def test_no_grad_instantiation_and_forward_mode() -> None:
    P3 = _legendre_class(cr_torch)  # noqa: N806
    x = cr_torch.tensor([0.5], requires_grad=True)
    with cr_torch.no_grad():
        assert not P3.apply(x).requires_grad
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        fn = P3()
    with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method"):
        fn(x)
    with pytest.raises(TypeError, match="forward-mode"):
        cr_torch.func.jvp(P3.apply, (x.detach(),), (cr_torch.ones(1),))


def test_vmap_of_the_gradient_of_a_function() -> None:
    P3 = _legendre_class(cr_torch).apply  # noqa: N806
    xs = cr_torch.tensor([0.5, 2.0, -1.0])
    g = cr_torch.func.vmap(cr_torch.func.grad(lambda v: P3(v)))(xs)
    np.testing.assert_allclose(_np(g), 1.5 * (5 * _np(xs) ** 2 - 1), rtol=1e-6)


# ---------------------------------------------------------------- torch.utils.checkpoint
def _mlp(torch: Any) -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    )


def test_checkpoint_gives_pytorchs_gradients() -> None:
    grads = []
    for torch, ckpt in ((cr_torch, cr_checkpoint), (_real_torch(), None)):
        ckpt = ckpt or torch.utils.checkpoint.checkpoint
        net = _mlp(torch)
        state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        grads.append(state)
    # Same initial weights in both (the dialect reproduces PyTorch's stream), then the gradients.
    for k in grads[0]:
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-6)
    results = []
    for torch, ckpt in ((cr_torch, cr_checkpoint), (_real_torch(), None)):
        ckpt = ckpt or torch.utils.checkpoint.checkpoint
        net = _mlp(torch)
        x = torch.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
        out = ckpt(net, x, use_reentrant=False).sum()
        out.backward()
        results.append((_np(x.grad), _np(net[0].weight.grad)))
        plain = _mlp(torch)
        x2 = torch.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
        plain(x2).sum().backward()
        np.testing.assert_allclose(_np(x2.grad), results[-1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-7)


def test_checkpoint_replays_dropout_and_warns_without_use_reentrant() -> None:
    torch = cr_torch
    drop = torch.nn.Dropout(p=0.5)
    x = torch.tensor(np.linspace(1.0, 2.0, 40), requires_grad=True)
    torch.manual_seed(5)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        y = cr_checkpoint(lambda v: (drop(v) * v).sum(), x)
    y.backward()
    torch.manual_seed(5)
    mask = _np(drop(torch.ones(40)))  # the same draw as the forward's: 0 or 2
    np.testing.assert_allclose(_np(x.grad), 2 * mask * _np(x))
    assert 0 < (mask == 0).sum() < 40
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr_checkpoint(torch.sin, x, use_reentrant=True)


def test_checkpoint_sequential_matches_the_plain_model() -> None:
    net = _mlp(cr_torch)
    x = cr_torch.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    cr_checkpoint_sequential(net, 2, x, use_reentrant=False).sum().backward()
    ckpt = _np(net[0].weight.grad)
    net.zero_grad()
    net(x).sum().backward()
    np.testing.assert_allclose(ckpt, _np(net[0].weight.grad), rtol=1e-6)


def test_set_materialize_grads_false_is_accepted() -> None:
    seen = []

    class TwoOut(cr_torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb)
            return ga * 2 + (0 if gb is None else gb * 3)

    x = cr_torch.tensor([1.0, 2.0], requires_grad=True)
    a, _ = TwoOut.apply(x)
    a.sum().backward()
    np.testing.assert_array_equal(_np(x.grad), [2.0, 2.0])
    # PyTorch passes None for the unused output; the dialect passes zeros (documented).
    np.testing.assert_array_equal(_np(seen[0]), [0.0, 0.0])
    assert cr_torch.autograd.function.FunctionCtx is not None


# ---------------------------------------------------------------- forward mode: the jvp staticmethod
def _exp_fn_class(torch: Any) -> Any:
    """The forward-AD tutorial's Function: exp, its result kept on ctx for jvp."""

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = torch.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, g_in):
            g_out = g_in * ctx.result
            del ctx.result
            return g_out

    return Fn


def _mul_fn_class(torch: Any) -> Any:
    """PyTorch's documented setup_context form: save_for_forward, a non-tensor argument, two
    outputs."""

    class MulScale(torch.autograd.Function):
        @staticmethod
        def forward(x, y, z):
            return x * y * z, x + y

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, z = inputs
            ctx.save_for_backward(x, y)
            ctx.save_for_forward(x, y)
            ctx.z = z

        @staticmethod
        def backward(ctx, g, h):
            x, y = ctx.saved_tensors
            return g * y * ctx.z + h, g * x * ctx.z + h, None

        @staticmethod
        def jvp(ctx, x_t, y_t, z_t):
            assert z_t is None
            x, y = ctx.saved_tensors
            return ctx.z * (y * x_t + x * y_t), x_t + y_t

    return MulScale


def test_forward_ad_through_a_function_with_jvp_matches_pytorch() -> None:
    results = []
    for torch in _both():
        import importlib

        fwAD = importlib.import_module(f"{torch.__name__}.autograd.forward_ad")  # noqa: N806 - PyTorch's name
        Fn, Mul = _exp_fn_class(torch), _mul_fn_class(torch)  # noqa: N806
        primal = torch.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=torch.float64, requires_grad=True)
        tangent = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=torch.float64)
        y = torch.tensor([3.0, -2.0])
        with fwAD.dual_level():
            out = Fn.apply(fwAD.make_dual(primal, tangent))
            jvp = fwAD.unpack_dual(out).tangent
            a, b = Mul.apply(fwAD.make_dual(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0])), y, 3)
            ta, tb = fwAD.unpack_dual(a).tangent, fwAD.unpack_dual(b).tangent
        assert out.requires_grad  # reverse mode follows the call too
        _, func_t = torch.func.jvp(lambda x, m=Mul, y=y: m.apply(x, y, 3)[0], (torch.tensor([1.0, 2.0]),),
                                   (torch.tensor([0.0, 1.0]),))  # fmt: skip
        ok = torch.autograd.gradcheck(Fn.apply, (primal.detach().requires_grad_(),), check_forward_ad=True,
                                      check_backward_ad=False, check_undefined_grad=False)  # fmt: skip
        results.append((_np(jvp), _np(ta), None if tb is None else _np(tb), _np(func_t), ok))
    (c_jvp, c_ta, c_tb, c_ft, c_ok), (t_jvp, t_ta, t_tb, t_ft, t_ok) = results
    np.testing.assert_allclose(c_jvp, t_jvp, rtol=1e-12)
    np.testing.assert_allclose(c_jvp, np.exp([[0.5, -1.0], [2.0, 0.25]]) * [[1.0, 2.0], [-1.0, 0.5]], rtol=1e-12)
    np.testing.assert_allclose(c_ta, t_ta)
    np.testing.assert_allclose(c_ta, [9.0, 0.0])
    np.testing.assert_allclose(c_tb, t_tb)
    np.testing.assert_allclose(c_tb, [1.0, 0.0])
    np.testing.assert_allclose(c_ft, t_ft)
    assert c_ok is True and t_ok is True


def test_a_wrong_jvp_fails_gradcheck_and_no_jvp_still_refuses_forward_mode() -> None:
    for torch in _both():

        class Bad(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x**2

            @staticmethod
            def backward(ctx, g):
                raise AssertionError("not used")

            @staticmethod
            def jvp(ctx, t):
                return 3.0 * t  # wrong: the derivative is 2x

        x = torch.tensor([0.3, 0.7], dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(Bad.apply, (x,), check_forward_ad=True, check_backward_ad=False,
                                        check_undefined_grad=False, raise_exception=False) is False  # fmt: skip
