"""``torch.cuda`` on a machine without CUDA: chainrule computes on the CPU only.

The queries answer as PyTorch's do on a CPU-only build (``is_available()`` is False,
``device_count()`` is 0), and seeding is silently ignored as PyTorch documents; anything that
would need a GPU raises.

>>> from chainrule import torch
>>> torch.cuda.is_available(), torch.cuda.device_count()
(False, 0)
"""

from __future__ import annotations

from typing import Any

from chainrule.torch._unsupported import missing_attribute, unsupported

__all__ = ["is_available", "device_count", "is_initialized", "manual_seed", "manual_seed_all",
           "seed", "seed_all", "current_device", "synchronize", "empty_cache"]  # fmt: skip


def is_available() -> bool:
    """False: chainrule has no GPU backend."""
    return False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def is_initialized() -> bool:
    """False: CUDA is never initialised."""
    return False


def manual_seed(seed: int) -> None:
    """Ignored without CUDA, as in PyTorch (seed the CPU stream with ``torch.manual_seed``)."""


def manual_seed_all(seed: int) -> None:
    """Ignored without CUDA, as in PyTorch."""


def seed() -> None:
    """Ignored without CUDA, as in PyTorch."""


def seed_all() -> None:
    """Ignored without CUDA, as in PyTorch."""


def empty_cache() -> None:
    """Nothing to free without CUDA (PyTorch does nothing either)."""


def current_device() -> int:
    """Refused: there is no CUDA device."""
    raise unsupported("torch.cuda.current_device", "there is no CUDA device; chainrule computes on the CPU")


def synchronize(device: Any = None) -> None:
    """Refused: there is no CUDA device."""
    raise unsupported("torch.cuda.synchronize", "there is no CUDA device; chainrule computes on the CPU")


__getattr__ = missing_attribute("torch.cuda")
