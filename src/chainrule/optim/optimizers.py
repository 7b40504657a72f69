"""SGD, Adam, AdamW and RMSprop, with the update rules PyTorch documents.

Each ``_update`` works on the parameter's NumPy array in place (``grad`` is a NumPy array too);
the base class runs it under ``no_grad`` and bumps the parameter's version.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.optim.optimizer import Optimizer, check_range

__all__ = ["SGD", "Adam", "AdamW", "RMSprop"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    With g = grad + weight_decay·p, and b the momentum buffer (b = g at the first step)::

        b = momentum·b + (1 - dampening)·g
        d = g + momentum·b  (nesterov)   or   d = b  (plain momentum)   or   d = g  (none)
        p = p - lr·d

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()
    ...     opt.step()
    >>> w
    tensor([-0.9], dtype=float64, requires_grad=True)
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:  # fmt: skip
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "nesterov": bool(nesterov), "weight_decay": weight_decay}  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["momentum"] = check_range(group["momentum"], "momentum", "SGD")
        group["dampening"] = check_range(group["dampening"], "dampening", "SGD")
        group["weight_decay"] = check_range(group["weight_decay"], "weight_decay", "SGD")
        group["nesterov"] = bool(group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = grad + wd * param if wd else grad
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g)
            else:
                buf *= momentum
                buf += (1.0 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        param -= lr * g


class Adam(Optimizer):
    """Adam: moment estimates with bias correction.

    With g = grad + weight_decay·p and t the step count (from 1)::

        m = β1·m + (1 - β1)·g
        v = β2·v + (1 - β2)·g²
        (amsgrad: v̂ = max(v̂, v), used in place of v below)
        p = p - lr/(1 - β1ᵗ) · m / (sqrt(v)/sqrt(1 - β2ᵗ) + eps)

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(float(w), 6)
    0.9
    """

    _decoupled = False

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:  # fmt: skip
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": bool(amsgrad)}  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        name = type(self).__name__
        betas = tuple(group["betas"])
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {group['betas']!r}")
        group["betas"] = (check_range(betas[0], "beta1", name, 0.0, 1.0, high_open=True),
                          check_range(betas[1], "beta2", name, 0.0, 1.0, high_open=True))  # fmt: skip
        group["eps"] = check_range(group["eps"], "eps", name)
        group["weight_decay"] = check_range(group["weight_decay"], "weight_decay", name)
        group["amsgrad"] = bool(group["amsgrad"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        if wd:
            if self._decoupled:
                param *= 1.0 - lr * wd
            else:
                grad = grad + wd * param
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # One scratch array and in-place NumPy calls: no temporaries the size of the parameter.
        scratch = np.multiply(grad, 1.0 - beta1, out=np.empty_like(grad))  # (an array even when 0-d)
        m *= beta1
        m += scratch
        np.multiply(grad, grad, out=scratch)
        scratch *= 1.0 - beta2
        v *= beta2
        v += scratch
        if group["amsgrad"]:
            vmax = state.setdefault("max_exp_avg_sq", np.zeros_like(param))
            np.maximum(vmax, v, out=vmax)
            v = vmax
        np.sqrt(v, out=scratch)
        scratch *= 1.0 / math.sqrt(1.0 - beta2**t)
        scratch += eps
        np.divide(m, scratch, out=scratch)
        scratch *= lr / (1.0 - beta1**t)
        param -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay: p = p·(1 - lr·weight_decay) before the Adam step
    (which then sees the plain gradient).

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * 0).sum().backward()
    >>> opt.step()
    >>> round(float(w), 6)
    0.95
    """

    _decoupled = True

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root-mean-square of it.

    With g = grad + weight_decay·p::

        s = α·s + (1 - α)·g²
        a = sqrt(s - ḡ²) + eps with ḡ = α·ḡ + (1 - α)·g  (centered)   or   a = sqrt(s) + eps
        b = momentum·b + g/a, p = p - lr·b  (momentum > 0)   or   p = p - lr·g/a

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> round(float(w), 4)
    0.9
    """

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:  # fmt: skip
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": bool(centered)}  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        super()._validate(group)
        group["alpha"] = check_range(group["alpha"], "alpha", "RMSprop", 0.0, 1.0)
        group["eps"] = check_range(group["eps"], "eps", "RMSprop")
        group["weight_decay"] = check_range(group["weight_decay"], "weight_decay", "RMSprop")
        group["momentum"] = check_range(group["momentum"], "momentum", "RMSprop")
        group["centered"] = bool(group["centered"])

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum = group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        g = grad + wd * param if wd else grad
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1.0 - alpha) * (g * g)
        if group["centered"]:
            grad_avg = state.setdefault("grad_avg", np.zeros_like(param))
            grad_avg *= alpha
            grad_avg += (1.0 - alpha) * g
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(param))
            buf *= momentum
            buf += g / avg
            param -= lr * buf
        else:
            param -= lr * (g / avg)
