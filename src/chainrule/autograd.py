"""PyTorch-style functional autograd: ``grad``, ``backward``, grad-mode switches, anomaly mode."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from chainrule.core.entry import grad
from chainrule.core.modes import enable_grad, no_grad, set_grad_enabled, state
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
        self._saved.append(state.anomaly)
        state.anomaly = self._enabled
        state.refresh()
        return self

    def __exit__(self, *exc: object) -> None:
        state.anomaly = self._saved.pop()
        state.refresh()

    def __call__(self, fn: F) -> F:
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(enabled):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def set_detect_anomaly(mode: bool) -> None:
    """Turn anomaly mode on or off for this thread."""
    state.anomaly = bool(mode)
    state.refresh()


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread."""
    return state.anomaly
