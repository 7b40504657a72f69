"""What the dialect does not provide: one error type, and module ``__getattr__`` hooks that
name the missing PyTorch attribute instead of failing somewhere deeper.

``NotSupportedError`` is both a ``NotImplementedError`` (what it means) and an
``AttributeError`` (so ``hasattr(torch, "name")`` and ``getattr(torch, "name", default)`` keep
working as they do for a name PyTorch lacks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["NotSupportedError", "missing_attribute", "unsupported"]

_DOC = "see docs/dialects/torch.md for what the dialect covers"


class NotSupportedError(NotImplementedError, AttributeError):
    """A PyTorch name or feature that ``chainrule.torch`` does not provide.

    >>> from chainrule import torch
    >>> try:
    ...     torch.no_such_function
    ... except NotImplementedError as exc:
    ...     print(exc)
    torch.no_such_function is not supported by chainrule.torch (the PyTorch dialect); see docs/dialects/torch.md for what the dialect covers
    """


def missing_attribute(module: str) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``module`` (PyTorch's dotted name) that raises
    ``NotSupportedError`` naming the attribute."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            # Python's own probes (__path__, __wrapped__, ...) get a plain AttributeError.
            raise AttributeError(f"module '{module}' has no attribute '{name}'")
        raise NotSupportedError(f"{module}.{name} is not supported by chainrule.torch (the PyTorch dialect); {_DOC}")

    return __getattr__


def unsupported(name: str, why: str = "") -> NotSupportedError:
    """The error for a PyTorch feature the dialect does not provide (``why`` says what to do)."""
    text = f"{name} is not supported by chainrule.torch (the PyTorch dialect)"
    return NotSupportedError(f"{text}: {why}" if why else f"{text}; {_DOC}")
