"""PyTorch-style functional autograd: ``grad``, ``backward``, grad-mode switches, anomaly mode."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from chainrule.core.entry import grad
from chainrule.core.modes import enable_grad, no_grad, set_grad_enabled, state
from chainrule.core.node import Node
from chainrule.core.stack import Interpreter, bind_below, pop, push
from chainrule.core.tensor import Tensor

__all__ = ["grad", "backward", "no_grad", "enable_grad", "set_grad_enabled", "detect_anomaly",
           "set_detect_anomaly", "is_anomaly_enabled"]  # fmt: skip

F = TypeVar("F", bound=Callable[..., Any])


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> cr.autograd.backward(x * x)
    >>> x.grad
    tensor(4., dtype=float64)
    """
    if isinstance(tensors, Tensor):
        tensors, grad_tensors = [tensors], [grad_tensors]
    elif grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    last = len(tensors) - 1
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        keep = retain_graph if retain_graph is not None else (create_graph or i < last)
        t.backward(g, retain_graph=keep, create_graph=create_graph, inputs=inputs)


# ---------------------------------------------------------------- anomaly mode
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class _AnomalyMode(Interpreter):
    """Anomaly mode as an interpreter: it checks every forward value, remembers where each node
    was recorded, and checks every cotangent of a backward pass."""

    # Above tapes and accumulators (it sees the nodes they record), below vmap levels (it checks
    # the batched bases, not one example's placeholder).
    rank = 1
    observes_backward = True

    def process_primitive(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        out = bind_below(self, prim, args, params)
        if isinstance(out, Tensor):
            datas = [a._data if isinstance(a, Tensor) else a for a in args]
            _check_forward_finite(prim, datas, out._data)
            node = out._node
            if node is not None and node.trace is None:
                node.trace = _user_frame()
        return out

    def observe_backward(self, node: Node, index: int, cotangent: Any) -> None:
        data = cotangent._data if isinstance(cotangent, Tensor) else cotangent
        if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
            where = f" (recorded at {node.trace[0]}:{node.trace[1]})" if node.trace else ""
            raise FloatingPointError(
                f"anomaly detected: the backward of {node.prim.grad_fn_name} produced NaN or Inf in "
                f"the gradient of its input {index} (shape {data.shape}){where}. Check the op's "
                "domain for the values that reached it (sqrt or log at 0, division by 0)."
            )


def _check_forward_finite(prim: Any, datas: list[Any], out: np.ndarray) -> None:
    if out.dtype.kind in "fc" and not np.all(np.isfinite(out)):
        inputs_ok = all(
            not (isinstance(d, np.ndarray) and d.dtype.kind in "fc") or np.all(np.isfinite(d))
            for d in datas
        )
        if inputs_ok:
            shapes = ", ".join(str(np.shape(d)) for d in datas)
            where = _user_frame()
            raise FloatingPointError(
                f"anomaly detected: the forward of '{prim.name}' produced NaN or Inf from finite "
                f"inputs of shapes {shapes} (at {where[0]}:{where[1]}). Check the op's domain "
                "(log of 0, division by 0, overflow)."
            )


def _user_frame() -> tuple[str, int]:
    """The innermost stack frame outside chainrule's own package: where the user called the op."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR):
            return filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


class detect_anomaly:
    """Raise as soon as a forward or backward value becomes NaN or ±Inf.

    The error names the op, the shapes and the line of your code where the op was recorded.
    Works as a context manager and as a decorator; it is thread-local, and off by default (when
    off it costs nothing: the engine's fast path does not look at it).

    >>> import chainrule as cr
    >>> x = cr.tensor(0.0, requires_grad=True)
    >>> with cr.autograd.detect_anomaly():
    ...     y = cr.sqrt(x)
    ...     y.backward()
    Traceback (most recent call last):
    ...
    FloatingPointError: anomaly detected: the backward of SqrtBackward0 produced NaN or Inf ...
    """

    def __init__(self, check_nan: bool = True) -> None:
        self._enabled = bool(check_nan)
        self._saved: list[bool] = []

    def __enter__(self) -> detect_anomaly:
        self._saved.append(is_anomaly_enabled())
        set_detect_anomaly(self._enabled)
        return self

    def __exit__(self, *exc: object) -> None:
        set_detect_anomaly(self._saved.pop())

    def __call__(self, fn: F) -> F:
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(enabled):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly mode on or off for this thread."""
    if mode and not is_anomaly_enabled():
        push(_AnomalyMode())
    elif not mode:
        for interp in state.stack:
            if isinstance(interp, _AnomalyMode):
                pop(interp)


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread."""
    return any(isinstance(interp, _AnomalyMode) for interp in state.stack)
