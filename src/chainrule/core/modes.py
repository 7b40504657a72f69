"""Thread-local autodiff state: grad mode and the interpreter stack.

Everything that changes how `bind` records lives here, in one `threading.local`, so that two
threads never see each other's tapes or grad mode.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "state",
    "BUSY_THREADS",
    "GRAD_OFF_THREADS",
]

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    """Per-thread recording state (read on every op, so kept as plain attributes)."""

    def __init__(self) -> None:
        self._grad: bool = True
        # The interpreter stack (core/stack.py), bottom first: tapes, forward accumulators,
        # anomaly mode and vmap levels that see every op bound in this thread.
        self.stack: tuple[Any, ...] = ()
        # bool(stack), kept beside it: bind reads it on every op.
        self.busy: bool = False
        # Whether this thread holds an entry in BUSY_THREADS.
        self.counted: bool = False

    @property
    def grad_enabled(self) -> bool:
        """Whether ops are recorded in this thread (``bind`` reads GRAD_OFF_THREADS first)."""
        return self._grad

    @grad_enabled.setter
    def grad_enabled(self, on: bool) -> None:
        on = bool(on)
        if on is not self._grad:
            if on:
                GRAD_OFF_THREADS.pop()
            else:
                GRAD_OFF_THREADS.append(None)
            self._grad = on


state = _State()

#: One entry per thread whose interpreter stack is (or was just) non-empty; empty when no thread
#: has one. ``bind`` tests this list before reading ``state.busy``: a thread-local read costs
#: about three times a global's, and ``bind`` runs once per op. Invariant: a thread whose
#: ``state.busy`` is true has an entry (``core.stack.set_stack`` keeps it; a thread may keep its
#: entry while its stack is briefly emptied, which only costs it the thread-local read). A list,
#: because ``append`` and ``pop`` are atomic under the GIL.
BUSY_THREADS: list[None] = []

#: One entry per thread whose grad mode is off, kept by ``state.grad_enabled``'s setter: while it
#: is empty, recording is on in every thread and ``bind`` need not read the thread-local flag
#: (same reasoning as BUSY_THREADS; a thread that ends with grad mode off leaves its entry,
#: which only costs the other threads that read).
GRAD_OFF_THREADS: list[None] = []


class _GradMode:
    """Context manager and decorator that sets grad mode for the current thread."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = bool(enabled)
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(state.grad_enabled)
        state.grad_enabled = self._enabled

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._saved.pop()

    def __call__(self, fn: F) -> F:
        enabled = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(enabled):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Disable recording of operations in this thread.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> with cr.no_grad():
    ...     y = x * 3
    >>> y.requires_grad
    False
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Enable recording of operations (inside a `no_grad` block, for example).

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> with cr.no_grad(), cr.enable_grad():
    ...     (x * 3).requires_grad
    True
    """

    def __init__(self) -> None:
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """Set grad mode on or off; usable as a function, a context manager or a decorator.

    >>> import chainrule as cr
    >>> with cr.set_grad_enabled(False):
    ...     cr.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        # Like torch.set_grad_enabled, calling it also sets the mode right away;
        # __exit__ restores the previous one when used with `with`.
        self._saved.append(state.grad_enabled)
        state.grad_enabled = bool(mode)

    def __enter__(self) -> None:
        # The mode is already set by __init__; nothing more to save.
        pass


def is_grad_enabled() -> bool:
    """True when operations are being recorded in this thread."""
    return state.grad_enabled
